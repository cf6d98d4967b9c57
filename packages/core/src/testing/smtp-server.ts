/**
 * A real SMTP server on loopback for tests (`smtp-server`), which parses what it receives
 * (`mailparser`) and keeps the raw message. Some recipients are refused the way real servers refuse
 * them: `gone@…` 550 5.1.1 (no such user), `busy@…` 451 4.2.1, `policy@…` 554 5.7.1; while `outage` is
 * on, every MAIL FROM gets 451 4.3.2. With `auth`, only that user may log in.
 */
import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll } from "vitest";
import { keepConnectionErrors } from "./smtp-senders.ts";

export interface TestSmtpServer {
  port: number;
  /** Every message received, parsed, in order. */
  received: ParsedMail[];
  /** The same messages as they came over the wire, with the user who sent them. */
  raws: { user: string | undefined; raw: Buffer }[];
  /** Every RCPT TO, accepted or not. */
  recipients: string[];
  /** While true, MAIL FROM is answered 451. */
  outage: boolean;
  close(): Promise<void>;
}

const refusal = (message: string, responseCode: number) =>
  Object.assign(new Error(message), { responseCode });

export async function startTestSmtpServer(options: { auth?: { user: string; pass: string } } = {}) {
  const state: TestSmtpServer = {
    port: 0,
    received: [],
    raws: [],
    recipients: [],
    outage: false,
    close: async () => {},
  };
  const server = new SMTPServer({
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        return callback(null, { user: auth.username });
      }
      callback(refusal("535 authentication failed", 535));
    },
    onMailFrom(_address, _session, callback) {
      if (state.outage) return callback(refusal("4.3.2 service unavailable", 451));
      callback();
    },
    onRcptTo(address, _session, callback) {
      state.recipients.push(address.address);
      const local = address.address.split("@")[0]!.toLowerCase();
      if (local === "gone")
        return callback(refusal(`5.1.1 <${address.address}>: no such user (user unknown)`, 550));
      if (local === "busy") return callback(refusal("4.2.1 mailbox busy, try later", 451));
      if (local === "policy") return callback(refusal("5.7.1 message refused by policy", 554));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        state.raws.push({ user: session.user as string | undefined, raw });
        simpleParser(raw)
          .then((mail) => {
            state.received.push(mail);
            callback();
          })
          .catch(callback);
      });
    },
  });
  keepConnectionErrors(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

/** One server for a test file: started before its tests, closed after. */
export function useTestSmtpServer(options: { auth?: { user: string; pass: string } } = {}) {
  let server: TestSmtpServer | undefined;
  beforeAll(async () => {
    server = await startTestSmtpServer(options);
  });
  afterAll(async () => {
    await server?.close();
  });
  return {
    get server(): TestSmtpServer {
      if (!server) throw new Error("the test SMTP server starts in beforeAll");
      return server;
    },
  };
}
