import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { EmailChannel } from "../delivery/channel.ts";
import { createDevInboxEmailChannel } from "../delivery/dev-inbox.ts";
import { insertSuppression } from "../delivery/dispatch.repository.ts";
import { setSender } from "../delivery/sender.service.ts";
import { createSmtpChannel } from "../delivery/smtp-channel.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import { createTemplate } from "./template.service.ts";
import { sendTestMessage } from "./test-send.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A real SMTP server on loopback: it refuses gone@ for good and busy@ for now. */
const mailbox = useTestSmtpServer();

let smtp: EmailChannel;
let ws: WorkspaceContext;
let welcome: string;

beforeAll(async () => {
  smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
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
      channel: "email",
      to: "qa@acme.example",
      subject: "[Test] Hello Ada",
      provider: "smtp",
    });
    const mail = mailbox.server.received.at(-1)!;
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
    await expect(
      sendTestMessage(db, ws, welcome, { to: "Bounced@acme.example" }, { email: smtp }),
    ).rejects.toMatchObject({
      code: "TEST_SEND_REFUSED",
      message: "bounced@acme.example is suppressed on email: hard bounce",
      extra: { errors: [{ field: "to" }] },
    });
  });

  it("refuses what the provider refuses, and reports a temporary failure as unavailable", async () => {
    const db = database.handle.db;
    await expect(
      sendTestMessage(db, ws, welcome, { to: "gone@acme.example" }, { email: smtp }),
    ).rejects.toMatchObject({
      code: "TEST_SEND_REFUSED",
      message: expect.stringContaining("smtp refused it"),
    });
    await expect(
      sendTestMessage(db, ws, welcome, { to: "busy@acme.example" }, { email: smtp }),
    ).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE", status: 503 });
    // Both were attempts: logged with the provider's answer, and counted by the rate limit.
    const log = await testSendsOf(ws.id);
    expect(log.slice(-2)).toEqual([
      { recipient: "gone@acme.example", outcome: expect.stringContaining("no such user") },
      { recipient: "busy@acme.example", outcome: expect.stringContaining("mailbox busy") },
    ]);
  });

  it("suppresses an address the provider refuses for good, and does not try it again", async () => {
    const db = database.handle.db;
    const to = "gone@globex.example";
    await expect(sendTestMessage(db, ws, welcome, { to }, { email: smtp })).rejects.toMatchObject({
      code: "TEST_SEND_REFUSED",
      message: expect.stringContaining(`${to} is now suppressed on email`),
      extra: { errors: [{ field: "to" }] },
    });
    const { rows } = await database.handle.pool.query(
      "select channel, reason, source, message_id from suppressions where workspace_id = $1 and address = $2",
      [ws.id, to],
    );
    expect(rows).toEqual([
      { channel: "email", reason: expect.stringContaining("5.1.1"), source: "provider", message_id: null },
    ]);
    const tried = mailbox.server.recipients.filter((r) => r === to).length;
    expect(tried).toBe(1);
    await expect(sendTestMessage(db, ws, welcome, { to }, { email: smtp })).rejects.toMatchObject({
      message: expect.stringContaining(`${to} is suppressed on email`),
    });
    expect(mailbox.server.recipients.filter((r) => r === to)).toHaveLength(tried);
    // A temporary refusal suppresses nothing.
    const busy = await database.handle.pool.query(
      "select 1 from suppressions where workspace_id = $1 and address = 'busy@acme.example'",
      [ws.id],
    );
    expect(busy.rows).toEqual([]);
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
    expect((await send(0)).to).toBe("qa@globex.example");
    expect((await send(10)).to).toBe("qa@globex.example");
    await expect(send(20)).rejects.toMatchObject({
      code: "RATE_LIMITED",
      message: "at most 2 test sends per minute per workspace",
      extra: { retryAfterSeconds: 40 },
    });
    // A refused request is not a send and takes no slot.
    const noContent = await createTemplate(db, other, { name: "Empty", channel: "email" });
    await expect(
      sendTestMessage(db, other, noContent.id, { to: "qa@globex.example" }, deps(at(25))),
    ).rejects.toMatchObject({ code: "TEST_SEND_REFUSED" });
    // The first send leaves the window at 60 s.
    expect((await send(60)).to).toBe("qa@globex.example");
    expect(await testSendsOf(other.id)).toHaveLength(3);
  });
});
