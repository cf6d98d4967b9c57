import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import { messageIdFor, type OutgoingEmail } from "./channel.ts";
import { createSmtpChannel } from "./smtp-channel.ts";

const smtp = useTestSmtpServer();

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
    const channel = createSmtpChannel({ host: "127.0.0.1", port: smtp.server.port });
    try {
      const result = await channel.send(email("ada@example.com"));
      expect(result.kind).toBe("sent");
      const mail = smtp.server.received.find((m) => m.subject === "Spring is here");
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
    const channel = createSmtpChannel({ host: "127.0.0.1", port: smtp.server.port });
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
