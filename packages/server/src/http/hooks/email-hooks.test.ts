/**
 * Email bounces and complaints end to end: emails go out to a real SMTP server, the provider's feedback
 * comes back to the workspace's hook URL in each format, and later sends to a bad address are skipped.
 */
import { randomBytes } from "node:crypto";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { EmailChannel } from "@omneural/core/delivery/channel";
import { createDevInboxEmailChannel } from "@omneural/core/delivery/dev-inbox";
import { dispatchBatch } from "@omneural/core/delivery/dispatcher";
import { setSender } from "@omneural/core/delivery/sender.service";
import { createSmtpChannel } from "@omneural/core/delivery/smtp-channel";
import { createTemplate } from "@omneural/core/templates/template.service";
import { queueOneSend, TEST_LINKS } from "@omneural/core/testing/campaigns";
import { useTestSmtpServer } from "@omneural/core/testing/smtp-server";
import { sql } from "kysely";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";
import { buildApp } from "../app.ts";

const t = useTestApp();
const smtp = useTestSmtpServer();
const T0 = new Date("2026-03-02T16:00:00Z");
const DAY = 86_400_000;

let wsA: WorkspaceContext;
let wsB: WorkspaceContext;
let hookA = "";
let hookB = "";

beforeAll(async () => {
  wsA = { id: t.a.id, defaultCountry: "US", defaultTimezone: "America/New_York" };
  wsB = { id: t.b.id, defaultCountry: "GB", defaultTimezone: "Europe/London" };
  const sender = { fromAddress: "news@acme.example", postalAddress: "1 High Street, Springfield" };
  await setSender(t.database.handle.db, wsA, sender);
  await setSender(t.database.handle.db, wsB, sender);
  hookA = new URL((await t.asA({ method: "GET", url: "/api/v1/workspace/hooks" })).json().emailFeedback)
    .pathname;
  hookB = new URL((await t.asB({ method: "GET", url: "/api/v1/workspace/hooks" })).json().emailFeedback)
    .pathname;
});

const db = () => t.database.handle.db;

async function newContact(ws: WorkspaceContext, email: string) {
  const { rows } = await sql<{ id: string }>`
    insert into contacts (workspace_id, id, email, first_name, email_consent)
    values (${ws.id}, gen_random_uuid(), ${email}, 'Ada', 'subscribed') returning id`.execute(db());
  return rows[0]!.id;
}

const newEmail = (name = "ada") => `${name}.${randomBytes(4).toString("hex")}@example.com`;

interface LedgerRow {
  id: string;
  contact_id: string;
  status: string;
  reason: string | null;
  provider_message_id: string | null;
  delivery_status: string | null;
  delivery_reason: string | null;
}

/** Sends one email campaign to `contactIds` (over SMTP unless another channel is given). */
async function sendEmail(ws: WorkspaceContext, contactIds: string[], at = T0, channel?: EmailChannel) {
  const template = await createTemplate(db(), ws, {
    name: `email ${randomBytes(4).toString("hex")}`,
    channel: "email",
    content: { subject: "Spring sale", html: "<p>Hello</p>" },
  });
  const campaign = await queueOneSend(
    db(),
    ws,
    contactIds,
    { channel: "email", templateId: template.id },
    at,
  );
  const email =
    channel ??
    createSmtpChannel({ host: "127.0.0.1", port: smtp.server.port, messageIdDomain: "acme.example" });
  try {
    await dispatchBatch(db(), "email", {
      links: TEST_LINKS,
      channels: { email },
      now: new Date(at.getTime() + 60_000),
    });
  } finally {
    if (!channel) await email.close();
  }
  const { rows } = await sql<LedgerRow>`
    select id, contact_id, status, reason, provider_message_id, delivery_status, delivery_reason from messages
    where workspace_id = ${ws.id} and campaign_id = ${campaign.id} order by contact_id`.execute(db());
  return rows;
}

const ledgerRow = async (id: string) =>
  (
    await sql<LedgerRow>`
    select id, contact_id, status, reason, provider_message_id, delivery_status, delivery_reason
    from messages where id = ${id}`.execute(db())
  ).rows[0]!;

const contactOf = async (ws: WorkspaceContext, id: string) =>
  (
    await sql<{ email_consent: string }>`
      select email_consent from contacts where workspace_id = ${ws.id} and id = ${id}`.execute(db())
  ).rows[0]!;

const suppressionsOf = async (ws: WorkspaceContext, address: string) =>
  (
    await sql<{ source: string; reason: string; message_id: string | null }>`
      select source, reason, message_id from suppressions
      where workspace_id = ${ws.id} and channel = 'email' and address = ${address}`.execute(db())
  ).rows;

const post = (path: string, payload: unknown, contentType = "application/json") =>
  t.anonymous({
    method: "POST",
    url: path,
    headers: { "content-type": contentType },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });

const recordedFor = (contactId: string) => t.responses.recorded.filter((r) => r.contactId === contactId);

describe("GET /api/v1/workspace/hooks", () => {
  it("gives each workspace its own URLs under PUBLIC_URL", async () => {
    const response = await t.asA({ method: "GET", url: "/api/v1/workspace/hooks" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      twilioInbound: "http://omneural.test/hooks/twilio/inbound",
      twilioStatus: "http://omneural.test/hooks/twilio/status",
      emailFeedback: expect.stringMatching(/^http:\/\/omneural\.test\/hooks\/email\/[A-Za-z0-9_-]{43}$/),
    });
    expect(hookA).not.toBe(hookB);
    expect((await t.anonymous({ method: "GET", url: "/api/v1/workspace/hooks" })).statusCode).toBe(401);
  });
});

describe("POST /hooks/email/:token: the generic format", () => {
  it("suppresses a hard-bounced address, marks the contact bounced, records the bounce on its message; later sends are skipped", async () => {
    const address = newEmail("gone");
    const contactId = await newContact(wsA, address);
    const [row] = await sendEmail(wsA, [contactId]);
    const received = smtp.server.received.find((m) => m.to && JSON.stringify(m.to).includes(address))!;
    expect(row!.provider_message_id).toBe(received.messageId);

    const response = await post(hookA, {
      events: [
        {
          type: "bounce",
          email: address.toUpperCase(),
          bounceType: "hard",
          messageId: received.messageId,
          reason: "550 5.1.1 user unknown",
          occurredAt: "2026-03-02T16:05:00Z",
        },
      ],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      format: "generic",
      received: 1,
      suppressed: 1,
      recorded: 1,
      unmatched: 0,
    });

    expect(await suppressionsOf(wsA, address)).toEqual([
      { source: "bounce", reason: "hard bounce (generic): 550 5.1.1 user unknown", message_id: row!.id },
    ]);
    expect(await contactOf(wsA, contactId)).toEqual({ email_consent: "bounced" });
    const { rows: ledger } = await sql`
      select status, previous_status, source, actor from consent_changes
      where workspace_id = ${wsA.id} and contact_id = ${contactId}`.execute(db());
    expect(ledger).toEqual([
      { status: "bounced", previous_status: "subscribed", source: "bounce", actor: "generic" },
    ]);
    expect(await ledgerRow(row!.id)).toMatchObject({
      status: "sent",
      delivery_status: "bounced",
      delivery_reason: "hard: 550 5.1.1 user unknown",
    });
    expect(recordedFor(contactId)).toMatchObject([
      {
        kind: "bounced",
        workspaceId: wsA.id,
        messageId: row!.id,
        at: new Date("2026-03-02T16:05:00Z"),
        properties: { email: address, bounceType: "hard", provider: "generic" },
      },
    ]);

    // Even if the contact is marked subscribed again (an import, an API call), the suppression holds.
    await sql`update contacts set email_consent = 'subscribed' where id = ${contactId}`.execute(db());
    const [later] = await sendEmail(wsA, [contactId], new Date(T0.getTime() + DAY));
    expect(later).toMatchObject({
      status: "skipped",
      reason: expect.stringContaining(`${address} is suppressed`),
    });
  });

  it("records a soft bounce and suppresses nothing: later sends go out", async () => {
    const address = newEmail("full");
    const contactId = await newContact(wsA, address);
    const [row] = await sendEmail(wsA, [contactId]);
    const response = await post(hookA, {
      events: [
        { type: "bounce", email: address, bounceType: "soft", messageId: row!.id, reason: "mailbox full" },
      ],
    });
    expect(response.json()).toMatchObject({ received: 1, suppressed: 0, recorded: 1 });
    expect(await suppressionsOf(wsA, address)).toEqual([]);
    expect(await contactOf(wsA, contactId)).toEqual({ email_consent: "subscribed" });
    expect(recordedFor(contactId)).toMatchObject([
      { kind: "bounced", messageId: row!.id, properties: { bounceType: "soft", reason: "mailbox full" } },
    ]);
    const [later] = await sendEmail(wsA, [contactId], new Date(T0.getTime() + DAY));
    expect(later).toMatchObject({ status: "sent" });
  });

  it("attributes a complaint without a message id to the most recent email to the address", async () => {
    const address = newEmail("angry");
    const contactId = await newContact(wsA, address);
    await sendEmail(wsA, [contactId], T0);
    const [latest] = await sendEmail(wsA, [contactId], new Date(T0.getTime() + 3_600_000));
    const response = await post(hookA, { events: [{ type: "complaint", email: address }] });
    expect(response.json()).toMatchObject({ suppressed: 1, recorded: 1 });
    expect(recordedFor(contactId)).toMatchObject([{ kind: "complained", messageId: latest!.id }]);
    expect(await contactOf(wsA, contactId)).toEqual({ email_consent: "complained" });
    expect(await suppressionsOf(wsA, address)).toMatchObject([{ source: "complaint" }]);
    // A later hard bounce does not turn the complaint into a bounce.
    await post(hookA, { events: [{ type: "bounce", email: address, bounceType: "hard" }] });
    expect(await contactOf(wsA, contactId)).toEqual({ email_consent: "complained" });
  });

  it("finds a dev-inbox email by the Message-ID it carries", async () => {
    const address = newEmail();
    const contactId = await newContact(wsA, address);
    const [row] = await sendEmail(wsA, [contactId], T0, createDevInboxEmailChannel(db()));
    const { rows } = await sql<{ message_id: string }>`
      select headers ->> 'Message-ID' as message_id from outbox where message_id = ${row!.id}`.execute(db());
    await post(hookA, {
      events: [{ type: "bounce", email: address, bounceType: "soft", messageId: rows[0]!.message_id }],
    });
    expect(recordedFor(contactId)).toMatchObject([{ kind: "bounced", messageId: row!.id }]);
  });
});

describe("POST /hooks/email/:token: Amazon SES through SNS", () => {
  const sns = (message: unknown) =>
    JSON.stringify({
      Type: "Notification",
      MessageId: crypto.randomUUID(),
      TopicArn: "arn:aws:sns:us-east-1:123456789012:ses-feedback",
      Message: JSON.stringify(message),
      Timestamp: "2026-03-02T16:06:00.000Z",
    });

  it("takes bounce and complaint notifications, posted as text/plain as SNS does", async () => {
    const gone = newEmail("gone");
    const angry = newEmail("angry");
    const goneId = await newContact(wsA, gone);
    const angryId = await newContact(wsA, angry);
    const rows = await sendEmail(wsA, [goneId, angryId]);
    const goneRow = rows.find((r) => r.contact_id === goneId)!;
    const mail = (row: LedgerRow) => ({
      messageId: "010001234567-ses-id",
      commonHeaders: { messageId: row.provider_message_id },
    });
    const bounce = await post(
      hookA,
      sns({
        notificationType: "Bounce",
        bounce: {
          bounceType: "Permanent",
          bounceSubType: "General",
          bouncedRecipients: [
            { emailAddress: gone, status: "5.1.1", diagnosticCode: "smtp; 550 5.1.1 user unknown" },
          ],
          timestamp: "2026-03-02T16:05:00.000Z",
          feedbackId: "feedback-1",
        },
        mail: mail(goneRow),
      }),
      "text/plain; charset=UTF-8",
    );
    expect(bounce.statusCode).toBe(200);
    expect(bounce.json()).toMatchObject({ format: "ses", received: 1, suppressed: 1 });
    expect(recordedFor(goneId)).toMatchObject([{ kind: "bounced", messageId: goneRow.id }]);
    expect(await suppressionsOf(wsA, gone)).toMatchObject([
      { source: "bounce", reason: "hard bounce (ses): Permanent/General: smtp; 550 5.1.1 user unknown" },
    ]);

    const complaint = await post(
      hookA,
      sns({
        notificationType: "Complaint",
        complaint: {
          complainedRecipients: [{ emailAddress: angry }],
          complaintFeedbackType: "abuse",
          timestamp: "2026-03-02T16:05:00.000Z",
          feedbackId: "feedback-2",
        },
        mail: mail(rows.find((r) => r.contact_id === angryId)!),
      }),
      "text/plain; charset=UTF-8",
    );
    expect(complaint.json()).toMatchObject({ received: 1, suppressed: 1 });
    expect(await contactOf(wsA, angryId)).toEqual({ email_consent: "complained" });
  });

  it("logs a subscription confirmation's SubscribeURL for the operator and fetches nothing", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const app = await buildApp({ deps: t.app.deps, logger });
    try {
      const subscribeUrl = "http://127.0.0.1:9/?Action=ConfirmSubscription&Token=EXAMPLE";
      const response = await app.inject({
        method: "POST",
        url: hookA,
        headers: { "content-type": "text/plain; charset=UTF-8" },
        payload: JSON.stringify({
          Type: "SubscriptionConfirmation",
          TopicArn: "arn:aws:sns:us-east-1:123456789012:ses-feedback",
          SubscribeURL: subscribeUrl,
          Token: "EXAMPLE",
        }),
      });
      expect(response.statusCode).toBe(200);
      expect(lines.map((l) => JSON.parse(l)).find((l) => l.subscribeUrl)).toMatchObject({
        level: 40,
        workspaceId: wsA.id,
        subscribeUrl,
      });
    } finally {
      await app.close();
    }
  });
});

describe("POST /hooks/email/:token: SendGrid's Event Webhook", () => {
  it("takes bounces, spam reports and deliveries by their smtp-id, once each however often SendGrid retries", async () => {
    const gone = newEmail("gone");
    const spam = newEmail("spam");
    const fine = newEmail("fine");
    const ids = [await newContact(wsA, gone), await newContact(wsA, spam), await newContact(wsA, fine)];
    const rows = await sendEmail(wsA, ids);
    const rowOf = (id: string) => rows.find((r) => r.contact_id === id)!;
    const events = [
      { email: gone, timestamp: 1772467500, event: "processed", sg_event_id: "p1" },
      {
        email: gone,
        timestamp: 1772467500,
        "smtp-id": rowOf(ids[0]!).provider_message_id,
        event: "bounce",
        type: "bounce",
        status: "5.1.1",
        reason: "550 5.1.1 user unknown",
        sg_event_id: "b1",
      },
      {
        email: spam,
        timestamp: 1772467500,
        "smtp-id": rowOf(ids[1]!).provider_message_id,
        event: "spamreport",
        sg_event_id: "s1",
      },
      {
        email: fine,
        timestamp: 1772467500,
        "smtp-id": rowOf(ids[2]!).provider_message_id,
        event: "delivered",
        sg_event_id: "d1",
      },
      { email: fine, timestamp: 1772467600, event: "open", sg_event_id: "o1" },
    ];
    const first = await post(hookA, events);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      format: "sendgrid",
      received: 3,
      suppressed: 2,
      recorded: 3,
      unmatched: 0,
    });
    await post(hookA, events);

    expect(await contactOf(wsA, ids[0]!)).toEqual({ email_consent: "bounced" });
    expect(await contactOf(wsA, ids[1]!)).toEqual({ email_consent: "complained" });
    expect(await contactOf(wsA, ids[2]!)).toEqual({ email_consent: "subscribed" });
    expect(await ledgerRow(rowOf(ids[2]!).id)).toMatchObject({ delivery_status: "delivered" });
    const kinds = ids.map((id) => recordedFor(id).map((r) => [r.kind, r.messageId]));
    expect(kinds).toEqual([
      [
        ["bounced", rowOf(ids[0]!).id],
        ["bounced", rowOf(ids[0]!).id],
      ],
      [
        ["complained", rowOf(ids[1]!).id],
        ["complained", rowOf(ids[1]!).id],
      ],
      [
        ["delivered", rowOf(ids[2]!).id],
        ["delivered", rowOf(ids[2]!).id],
      ],
    ]);
    // The retry carries the same response ids, so the writer keeps one of each.
    for (const id of ids) expect(new Set(recordedFor(id).map((r) => r.id)).size).toBe(1);
    await t.responses.flush();
    const { rows: events_ } = await sql<{ type: string }>`
      select type from events where workspace_id = ${wsA.id} and contact_id = any(${ids}::uuid[]) order by type`.execute(
      db(),
    );
    expect(events_.map((e) => e.type)).toEqual([
      "message.bounced",
      "message.complained",
      "message.delivered",
    ]);
  });
});

describe("POST /hooks/email/:token: bad input and isolation", () => {
  it("answers 400 naming what is wrong, 413 over 1 MB, and 404 for a forged token", async () => {
    const malformed = await post(hookA, { events: [{ type: "bounce", email: "nobody" }] });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({
      code: "VALIDATION_FAILED",
      errors: [
        { field: "events[0].bounceType", message: 'must be "hard" or "soft" for a bounce' },
        { field: "events[0].email", message: expect.stringContaining("is not an email address") },
      ],
    });
    expect((await post(hookA, { hello: "world" })).statusCode).toBe(400);
    expect((await post(hookA, "{not json")).statusCode).toBe(400);
    expect((await post(hookA, "{not json", "text/plain")).json()).toMatchObject({ code: "INVALID_JSON" });
    expect((await post(hookA, "", "application/json")).statusCode).toBe(400);
    expect((await post(hookA, "<xml/>", "application/xml")).statusCode).toBe(415);

    const big = { events: [{ type: "complaint", email: "a@example.com", reason: "x".repeat(1024 * 1024) }] };
    expect((await post(hookA, big)).statusCode).toBe(413);

    const forged = `${hookA.slice(0, -2)}${hookA.endsWith("AA") ? "BB" : "AA"}`;
    const refused = await post(forged, { events: [{ type: "complaint", email: "a@example.com" }] });
    expect(refused.statusCode).toBe(404);
    expect((await post("/hooks/email/not-a-token", { events: [] })).statusCode).toBe(404);
  });

  it("another workspace's hook changes nothing of this workspace's contacts, messages or suppressions", async () => {
    const address = newEmail("shared");
    const contactId = await newContact(wsA, address);
    const [row] = await sendEmail(wsA, [contactId]);
    const before = t.responses.recorded.length;
    const response = await post(hookB, {
      events: [{ type: "bounce", email: address, bounceType: "hard", messageId: row!.provider_message_id }],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ recorded: 0, unmatched: 1 });
    expect(await contactOf(wsA, contactId)).toEqual({ email_consent: "subscribed" });
    expect(await suppressionsOf(wsA, address)).toEqual([]);
    expect(await ledgerRow(row!.id)).toMatchObject({ delivery_status: null });
    expect(t.responses.recorded.slice(before).filter((r) => r.workspaceId === wsA.id)).toEqual([]);
    // B's own list now holds the address: B's provider said it bounced.
    expect(await suppressionsOf(wsB, address)).toHaveLength(1);
  });
});
