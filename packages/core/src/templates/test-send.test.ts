import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { EmailChannel } from "../delivery/channel.ts";
import { createDevInboxEmailChannel } from "../delivery/dev-inbox.ts";
import { insertSuppression } from "../delivery/dispatch.repository.ts";
import { setSender } from "../delivery/sender.service.ts";
import { createSmtpChannel } from "../delivery/smtp-channel.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createTemplate } from "./template.service.ts";
import { sendTestMessage } from "./test-send.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A real SMTP server on loopback: it refuses gone@ for good and busy@ for now. */
const received: ParsedMail[] = [];
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onRcptTo(address, _session, callback) {
    if (address.address.startsWith("gone@")) {
      return callback(Object.assign(new Error("5.1.1 no such user"), { responseCode: 550 }));
    }
    if (address.address.startsWith("busy@")) {
      return callback(Object.assign(new Error("4.2.1 mailbox busy"), { responseCode: 451 }));
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

let smtp: EmailChannel;
let ws: WorkspaceContext;
let welcome: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  smtp = createSmtpChannel({ host: "127.0.0.1", port: (server.server.address() as AddressInfo).port });
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  await setSender(db, ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    postalAddress: "1 High St, Springfield",
  });
  welcome = (
    await createTemplate(db, ws, {
      name: "Welcome",
      channel: "email",
      content: {
        subject: "Hello {{ firstName }}",
        html: "<html><body><p>Hi {{ firstName }}</p></body></html>",
      },
    })
  ).id;
});
afterAll(async () => {
  await smtp.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function testSendsOf(workspaceId: string) {
  const { rows } = await database.handle.pool.query(
    "select recipient, outcome from template_test_sends where workspace_id = $1 order by sent_at, id",
    [workspaceId],
  );
  return rows;
}

describe("sendTestMessage", () => {
  it("delivers over SMTP with [Test] before the subject, the sender identity and the postal address", async () => {
    const outcome = await sendTestMessage(
      database.handle.db,
      ws,
      welcome,
      { to: "qa@acme.example" },
      {
        email: smtp,
        actor: "key-1",
      },
    );
    expect(outcome).toMatchObject({
      kind: "sent",
      value: { channel: "email", to: "qa@acme.example", subject: "[Test] Hello Ada", provider: "smtp" },
    });
    const mail = received.at(-1)!;
    expect(mail.subject).toBe("[Test] Hello Ada");
    expect(mail.from?.text).toBe('"Acme" <news@acme.example>');
    expect(mail.html).toContain(
      '1 High St, Springfield<br><a href="https://example.com/unsubscribe-link-preview" style="color:#666">Unsubscribe</a></div></body>',
    );
    expect(mail.text).toContain("1 High St, Springfield");
  });

  it("refuses a suppressed address", async () => {
    const db = database.handle.db;
    await insertSuppression(db, {
      workspaceId: ws.id,
      channel: "email",
      address: "bounced@acme.example",
      reason: "hard bounce",
      source: "bounce",
      messageId: null,
    });
    const outcome = await sendTestMessage(db, ws, welcome, { to: "Bounced@acme.example" }, { email: smtp });
    expect(outcome).toEqual({
      kind: "refused",
      field: "to",
      reason: "bounced@acme.example is suppressed on email: hard bounce",
    });
  });

  it("refuses what the provider refuses, and reports a temporary failure as unavailable", async () => {
    const db = database.handle.db;
    const gone = await sendTestMessage(db, ws, welcome, { to: "gone@acme.example" }, { email: smtp });
    expect(gone).toMatchObject({ kind: "refused", reason: expect.stringContaining("smtp refused it") });
    const busy = await sendTestMessage(db, ws, welcome, { to: "busy@acme.example" }, { email: smtp });
    expect(busy).toMatchObject({ kind: "provider_unavailable" });
    // Both were attempts: logged with the provider's answer, and counted by the rate limit.
    const log = await testSendsOf(ws.id);
    expect(log.slice(-2)).toEqual([
      { recipient: "gone@acme.example", outcome: expect.stringContaining("no such user") },
      { recipient: "busy@acme.example", outcome: expect.stringContaining("mailbox busy") },
    ]);
  });

  it("limits test sends per workspace over a sliding window and says when the next one may go", async () => {
    const db = database.handle.db;
    const other = await newWorkspaceContext(db);
    await setSender(db, other, { fromAddress: "hi@globex.example", postalAddress: "2 Low Rd" });
    const template = await createTemplate(db, other, {
      name: "Burst",
      channel: "email",
      content: { subject: "Hi", html: "<p>Hi</p>" },
    });
    const deps = (now: Date) => ({
      email: createDevInboxEmailChannel(db),
      limits: [{ count: 2, windowMs: 60_000 }],
      now,
    });
    const send = (seconds: number) =>
      sendTestMessage(db, other, template.id, { to: "qa@globex.example" }, deps(at(seconds)));
    expect((await send(0)).kind).toBe("sent");
    expect((await send(10)).kind).toBe("sent");
    expect(await send(20)).toEqual({
      kind: "rate_limited",
      reason: "at most 2 test sends per minute per workspace",
      retryAfterSeconds: 40,
    });
    // A refused request is not a send and takes no slot.
    const noContent = await createTemplate(db, other, { name: "Empty", channel: "email" });
    expect(
      (await sendTestMessage(db, other, noContent.id, { to: "qa@globex.example" }, deps(at(25)))).kind,
    ).toBe("refused");
    // The first send leaves the window at 60 s.
    expect((await send(60)).kind).toBe("sent");
    expect(await testSendsOf(other.id)).toHaveLength(3);
  });
});
