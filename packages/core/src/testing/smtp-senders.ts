/**
 * What the test SMTP servers share about their senders (no vitest here: the benchmarks use it too).
 */
import type { SMTPServer } from "smtp-server";

/**
 * A sender that goes away in the middle of a message (a worker killed mid-send, a timed-out client)
 * resets its connection; `smtp-server` re-emits that on the server as "error", and an "error" nobody
 * listens to is thrown, which would crash the test process and fail a run that went as it should.
 * Connection errors are kept instead, for a test that wants to see them.
 */
export function keepConnectionErrors(server: SMTPServer): Error[] {
  const errors: Error[] = [];
  server.on("error", (error: Error) => {
    errors.push(error);
  });
  return errors;
}
