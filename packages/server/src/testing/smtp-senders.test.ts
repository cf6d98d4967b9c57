/**
 * The test SMTP servers survive a sender that dies in the middle of a message, as the multi-process
 * test's killed worker does: the reset connection is kept as an error, never thrown in the test process.
 */
import net from "node:net";
import { startProviderLogServer } from "@omneural/core/testing/provider-log";
import { startTestSmtpServer } from "@omneural/core/testing/smtp-server";
import { describe, expect, it } from "vitest";
import { startDeliverySink } from "./role-processes.ts";

/** Starts a message, then resets the connection (RST, as when the sending process is killed). */
async function dieMidMessage(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString("utf8");
  });
  const waitFor = async (code: string) => {
    const deadline = Date.now() + 5000;
    while (!received.includes(`\n${code}`) && !received.startsWith(code)) {
      if (Date.now() > deadline) throw new Error(`no ${code} from the server; it said: ${received}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    received = "";
  };
  await waitFor("220");
  for (const [line, code] of [
    ["EHLO worker.test", "250"],
    ["MAIL FROM:<news@acme.example>", "250"],
    ["RCPT TO:<ada@example.com>", "250"],
    ["DATA", "354"],
  ] as const) {
    socket.write(`${line}\r\n`);
    await waitFor(code);
  }
  socket.write("Subject: half a message\r\n\r\nHello");
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.resetAndDestroy();
}

async function errorsArrive(errors: Error[]) {
  const deadline = Date.now() + 5000;
  while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return errors;
}

describe("a sender killed mid-message", () => {
  it("is kept as a connection error by the delivery sink, which goes on accepting", async () => {
    const sink = await startDeliverySink();
    try {
      await dieMidMessage(sink.port);
      const errors = await errorsArrive(sink.connectionErrors);
      expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(["ECONNRESET"]);
      expect(sink.accepted).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  it("does not crash the parsing test server or the provider-log server", async () => {
    for (const start of [startTestSmtpServer, startProviderLogServer]) {
      const server = await start();
      const uncaught: unknown[] = [];
      const record = (error: unknown) => uncaught.push(error);
      process.on("uncaughtException", record);
      try {
        await dieMidMessage(server.port);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(uncaught).toEqual([]);
      } finally {
        process.off("uncaughtException", record);
        await server.close();
      }
    }
  });
});
