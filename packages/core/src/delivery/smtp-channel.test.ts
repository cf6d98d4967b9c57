import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageIdFor, type OutgoingEmail } from "./channel.ts";
import { createSmtpChannel } from "./smtp-channel.ts";

/** A real SMTP server on loopback: it parses what it receives and answers as each recipient asks. */
const received: ParsedMail[] = [];
let port = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onRcptTo(address, _session, callback) {
    if (address.address.startsWith("gone@")) {
      const error = Object.assign(new Error("5.1.1 no such user"), { responseCode: 550 });
      return callback(error);
    }
    if (address.address.startsWith("busy@")) {
      const error = Object.assign(new Error("4.2.1 mailbox busy, try later"), { responseCode: 451 });
      return callback(error);
    }
    callback();
  },
  onData(stream, _session, callback) {
    simpleParser(stream)
      .then((mail) => {
        received.push(mail);
        callback();
      })
      .catch(callback);
  },
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const email = (to: string, key = `c:${to}:s1:1:1`): OutgoingEmail => ({
  workspaceId: "00000000-0000-4000-8000-000000000001",
  messageId: null,
  idempotencyKey: key,
  from: { name: 'Acme "Shop"', address: "news@acme.example" },
  to: { name: "Ada", address: to },
  subject: "Spring is here",
  html: "<p>Hello <b>Ada</b></p>",
  text: "Hello Ada",
  unsubscribe: { url: "https://t.acme.example/u/abc", mailto: "unsubscribe+abc@acme.example" },
});

describe("createSmtpChannel", () => {
  it("delivers with RFC 8058 one-click unsubscribe and a Message-ID derived from the idempotency key", async () => {
    const channel = createSmtpChannel({ host: "127.0.0.1", port });
    try {
      const result = await channel.send(email("ada@example.com"));
      expect(result.kind).toBe("sent");
      const mail = received.find((m) => m.subject === "Spring is here");
      expect(mail).toBeDefined();
      expect(mail!.messageId).toBe(messageIdFor("c:ada@example.com:s1:1:1", "acme.example"));
      const raw = mail!.headerLines.map((h) => h.line);
      expect(raw).toContain("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
      // mailparser groups the List-* headers under "list".
      const list = mail!.headers.get("list") as { unsubscribe: { url: string; mail?: string } };
      expect(list.unsubscribe.url).toBe("https://t.acme.example/u/abc");
      expect(list.unsubscribe.mail).toBe("unsubscribe+abc@acme.example");
      expect(mail!.from!.value[0]).toEqual({ name: 'Acme "Shop"', address: "news@acme.example" });
      expect(mail!.html).toContain("<b>Ada</b>");
      expect(mail!.text?.trim()).toBe("Hello Ada");
    } finally {
      await channel.close();
    }
  });

  it("reports a 5xx rejection as permanent and a 4xx as retryable", async () => {
    const channel = createSmtpChannel({ host: "127.0.0.1", port });
    try {
      const gone = await channel.send(email("gone@example.com"));
      expect(gone).toMatchObject({ kind: "permanent" });
      expect(gone.kind === "permanent" && gone.reason).toContain("no such user");
      const busy = await channel.send(email("busy@example.com"));
      expect(busy).toMatchObject({ kind: "retryable" });
    } finally {
      await channel.close();
    }
  });

  it("reports a server that is down as retryable", async () => {
    const closed = new SMTPServer({ logger: false });
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const channel = createSmtpChannel({ host: "127.0.0.1", port: deadPort, timeoutMs: 2000 });
    try {
      expect(await channel.send(email("ada@example.com"))).toMatchObject({ kind: "retryable" });
    } finally {
      await channel.close();
    }
  });
});
