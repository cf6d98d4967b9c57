import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import {
  createDevInboxEmailChannel,
  createDevInboxSmsChannel,
  createDevInboxWebhookChannel,
} from "./dev-inbox.ts";
import { dispatchBatch, dispatchEmailBatch } from "./dispatcher.ts";
import { CircuitBreaker } from "./guards.ts";
import { setDeliveryPolicy } from "./policy.service.ts";
import { setSender } from "./sender.service.ts";
import { createSmtpChannel } from "./smtp-channel.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const MINUTE = 60_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

/** A real SMTP server that answers 451 while its `outage` is on. */
const mailbox = useTestSmtpServer();

let ws: WorkspaceContext;
let templateId: string;

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  templateId = (
    await createTemplate(db, ws, {
      name: "Hello",
      channel: "email",
      content: {
        subject: "Hi {{ firstName | default: 'there' }}",
        html: "<p>Hello {{ firstName | default: 'there' }}</p>",
      },
    })
  ).id;
});

const oneSend = (): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "hello" } },
    { id: "hello", type: "send", channel: "email", templateId, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
});

/** A list of contacts with these first names and emails, enrolled and stepped: one queued email each. */
async function queuedEmails(people: { firstName: string; email: string; consent?: string }[]) {
  const db = database.handle.db;
  const listId = crypto.randomUUID();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${`list ${listId}`}, 'list')`.execute(
    db,
  );
  for (const p of people) {
    const id = crypto.randomUUID();
    await sql`
      insert into contacts (workspace_id, id, email, first_name, email_consent)
      values (${ws.id}, ${id}, ${p.email}, ${p.firstName}, ${p.consent ?? "subscribed"})`.execute(db);
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
      db,
    );
  }
  const campaign = await launchGraph(db, ws, listId, oneSend(), T0);
  await drain(db, ws.id, campaign.id, { now: T0 });
  return campaign.id;
}

async function statuses(campaignId: string) {
  const { rows } = await sql<{ status: string; reason: string | null; attempts: number }>`
    select status, reason, attempts from messages where campaign_id = ${campaignId} order by queued_at, id`.execute(
    database.handle.db,
  );
  return rows;
}

describe("dispatchEmailBatch", () => {
  it("refuses to send marketing email before the workspace has a postal address, and says why", async () => {
    const campaignId = await queuedEmails([{ firstName: "Nell", email: "nell@example.com" }]);
    const r = await dispatchEmailBatch(database.handle.db, {
      links: TEST_LINKS,
      email: createDevInboxEmailChannel(database.handle.db),
      now: at(MINUTE),
    });
    expect(r).toMatchObject({ claimed: 1, failed: 1 });
    const [row] = await statuses(campaignId);
    expect(row!.status).toBe("failed");
    expect(row!.reason).toContain("postal address");
    await setSender(database.handle.db, ws, {
      fromName: "Acme",
      fromAddress: "news@acme.example",
      postalAddress: "1 High Street, Springfield",
    });
  });

  it("renders and delivers to the dev inbox, with the postal address in the footer", async () => {
    const campaignId = await queuedEmails([{ firstName: "Ada", email: "ada@example.com" }]);
    const r = await dispatchEmailBatch(database.handle.db, {
      links: TEST_LINKS,
      email: createDevInboxEmailChannel(database.handle.db),
      now: at(MINUTE),
    });
    expect(r).toMatchObject({ sent: 1 });
    const [row] = await statuses(campaignId);
    expect(row!.status).toBe("sent");
    const { rows } = await sql<{ subject: string; content: { html: string; text: string } }>`
      select subject, content from outbox where recipient = 'ada@example.com'`.execute(database.handle.db);
    expect(rows[0]!.subject).toBe("Hi Ada");
    expect(rows[0]!.content.html).toContain("Hello Ada");
    expect(rows[0]!.content.html).toContain("1 High Street, Springfield");
    expect(rows[0]!.content.text).toContain("1 High Street, Springfield");
  });

  it("skips a member who opted out after the send was queued, with the reason", async () => {
    const campaignId = await queuedEmails([{ firstName: "Lou", email: "lou@example.com" }]);
    await sql`update contacts set email_consent = 'unsubscribed' where email = 'lou@example.com'`.execute(
      database.handle.db,
    );
    await dispatchEmailBatch(database.handle.db, {
      links: TEST_LINKS,
      email: createDevInboxEmailChannel(database.handle.db),
      now: at(MINUTE),
    });
    expect(await statuses(campaignId)).toEqual([
      { status: "skipped", reason: "email consent is unsubscribed", attempts: 1 },
    ]);
  });

  it("sends every message exactly once after an SMTP outage, retrying with backoff", async () => {
    const people = Array.from({ length: 5 }, (_, i) => ({
      firstName: `P${i}`,
      email: `outage${i}@example.com`,
    }));
    const campaignId = await queuedEmails(people);
    const smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
    const before = mailbox.server.received.length;
    try {
      mailbox.server.outage = true;
      const down = await dispatchEmailBatch(database.handle.db, {
        links: TEST_LINKS,
        email: smtp,
        now: at(MINUTE),
        random: () => 0.5,
      });
      expect(down).toMatchObject({ claimed: 5, retried: 5 });
      // Not due again until the backoff has passed.
      expect(
        (
          await dispatchEmailBatch(database.handle.db, {
            links: TEST_LINKS,
            email: smtp,
            now: at(MINUTE + 1000),
          })
        ).claimed,
      ).toBe(0);
      const second = await dispatchEmailBatch(database.handle.db, {
        links: TEST_LINKS,
        email: smtp,
        now: at(3 * MINUTE),
        random: () => 0.5,
      });
      expect(second).toMatchObject({ claimed: 5, retried: 5 });
      mailbox.server.outage = false;
      const up = await dispatchEmailBatch(database.handle.db, {
        links: TEST_LINKS,
        email: smtp,
        now: at(10 * MINUTE),
        random: () => 0.5,
      });
      expect(up).toMatchObject({ claimed: 5, sent: 5 });
      expect(
        (
          await dispatchEmailBatch(database.handle.db, {
            links: TEST_LINKS,
            email: smtp,
            now: at(60 * MINUTE),
          })
        ).claimed,
      ).toBe(0);
    } finally {
      mailbox.server.outage = false;
      await smtp.close();
    }
    expect(mailbox.server.received.length - before).toBe(5);
    const recipients = mailbox.server.received
      .slice(before)
      .map((m) => (m.to as { value: { address: string }[] }).value[0]!.address);
    expect(new Set(recipients).size).toBe(5);
    expect((await statuses(campaignId)).map((s) => `${s.status}/${s.attempts}`)).toEqual(
      Array(5).fill("sent/3"),
    );
  });

  it("marks a send whose process died mid-send unknown for SMTP, and resends it for the dev inbox", async () => {
    const db = database.handle.db;
    const smtpCampaign = await queuedEmails([{ firstName: "Kim", email: "kim@example.com" }]);
    // A dispatcher leased the row and died before recording the outcome.
    await sql`update messages set status = 'sending', attempts = 1, lease_until = ${at(MINUTE)}
              where campaign_id = ${smtpCampaign}`.execute(db);
    const smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
    try {
      const r = await dispatchEmailBatch(db, { links: TEST_LINKS, email: smtp, now: at(5 * MINUTE) });
      expect(r).toMatchObject({ expired: 1, claimed: 0 });
    } finally {
      await smtp.close();
    }
    const [unknown] = await statuses(smtpCampaign);
    expect(unknown!.status).toBe("unknown");
    expect(unknown!.reason).toContain("may or may not have accepted it");

    const inboxCampaign = await queuedEmails([{ firstName: "Jo", email: "jo@example.com" }]);
    await sql`update messages set status = 'sending', attempts = 1, lease_until = ${at(MINUTE)}
              where campaign_id = ${inboxCampaign}`.execute(db);
    const r = await dispatchEmailBatch(db, {
      links: TEST_LINKS,
      email: createDevInboxEmailChannel(db),
      now: at(5 * MINUTE),
    });
    expect(r).toMatchObject({ expired: 1, sent: 1 });
  });

  it("defers a message outside the recipient's sending hours to the next allowed moment, local to them", async () => {
    const db = database.handle.db;
    await setDeliveryPolicy(db, ws, "email", {
      allowedHours: { from: "09:00", to: "17:00" },
      frequencyCap: null,
    });
    try {
      const campaignId = await queuedEmails([{ firstName: "Tomo", email: "tomo@example.com" }]);
      await sql`update contacts set timezone = 'Asia/Tokyo' where email = 'tomo@example.com'`.execute(db);
      // 10:00 UTC is 19:00 in Tokyo: held until 09:00 there, 00:00 UTC the next day; no attempt used.
      const held = await dispatchEmailBatch(db, {
        links: TEST_LINKS,
        email: createDevInboxEmailChannel(db),
        now: at(MINUTE),
      });
      expect(held).toMatchObject({ claimed: 1, deferred: 1, sent: 0 });
      const [row] = await statuses(campaignId);
      expect(row).toMatchObject({ status: "queued", attempts: 0 });
      expect(row!.reason).toContain("Asia/Tokyo");
      expect(row!.reason).toContain("2026-03-03T00:00:00.000Z");
      expect(
        (
          await dispatchEmailBatch(db, {
            links: TEST_LINKS,
            email: createDevInboxEmailChannel(db),
            now: at(13 * 60 * MINUTE),
          })
        ).claimed,
      ).toBe(0);
      const sent = await dispatchEmailBatch(db, {
        links: TEST_LINKS,
        email: createDevInboxEmailChannel(db),
        now: at(14 * 60 * MINUTE),
      });
      expect(sent).toMatchObject({ sent: 1 });
    } finally {
      await setDeliveryPolicy(db, ws, "email", { allowedHours: null, frequencyCap: null });
    }
  });

  it("caps sends per contact across campaigns: defers or skips, per the workspace's setting", async () => {
    const db = database.handle.db;
    const inbox = createDevInboxEmailChannel(db);
    await setDeliveryPolicy(db, ws, "email", {
      allowedHours: null,
      frequencyCap: { count: 2, days: 7, action: "defer" },
    });
    try {
      const person = { firstName: "Cap", email: "cap@example.com" };
      const first = await queuedEmails([person]);
      await dispatchEmailBatch(db, { links: TEST_LINKS, email: inbox, now: at(MINUTE) });
      // The same contact in further campaigns: the cap counts across all of them.
      const contactId = (
        await sql<{ id: string }>`select contact_id as id from messages where campaign_id = ${first}`.execute(
          db,
        )
      ).rows[0]!.id;
      const again = async () => {
        const listId = crypto.randomUUID();
        await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${`cap ${listId}`}, 'list')`.execute(
          db,
        );
        await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${contactId})`.execute(
          db,
        );
        const campaign = await launchGraph(db, ws, listId, oneSend(), T0);
        await drain(db, ws.id, campaign.id, { now: T0 });
        return campaign.id;
      };
      const second = await again();
      expect(
        await dispatchEmailBatch(db, { links: TEST_LINKS, email: inbox, now: at(2 * MINUTE) }),
      ).toMatchObject({ sent: 1 });
      const third = await again();
      const held = await dispatchEmailBatch(db, { links: TEST_LINKS, email: inbox, now: at(3 * MINUTE) });
      expect(held).toMatchObject({ deferred: 1, sent: 0 });
      const [row] = await statuses(third);
      expect(row!.reason).toContain("frequency cap: 2 sent in the last 7 days");
      expect((await statuses(second))[0]!.status).toBe("sent");

      await setDeliveryPolicy(db, ws, "email", {
        allowedHours: null,
        frequencyCap: { count: 2, days: 7, action: "skip" },
      });
      const fourth = await again();
      await dispatchEmailBatch(db, { links: TEST_LINKS, email: inbox, now: at(4 * MINUTE) });
      expect((await statuses(fourth))[0]!.status).toBe("skipped");
      // Eight days on, the deferred one goes.
      const later = await dispatchEmailBatch(db, {
        links: TEST_LINKS,
        email: inbox,
        now: at(8 * 24 * 60 * MINUTE),
      });
      expect(later).toMatchObject({ sent: 1 });
      expect((await statuses(third))[0]!.status).toBe("sent");
    } finally {
      await setDeliveryPolicy(db, ws, "email", { allowedHours: null, frequencyCap: null });
    }
  });

  it("sends SMS only with explicit consent and a sender number, with the opt-out line on the first message", async () => {
    const db = database.handle.db;
    const sms = (
      await createTemplate(db, ws, {
        name: "Text",
        channel: "sms",
        content: { body: "Hi {{ firstName }}, sale today" },
      })
    ).id;
    const listId = crypto.randomUUID();
    await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, 'sms list', 'list')`.execute(
      db,
    );
    const people = [
      { phone: "+14155550101", consent: "subscribed", name: "Sam" },
      { phone: "+14155550102", consent: "never_asked", name: "Nia" },
    ];
    for (const p of people) {
      const id = crypto.randomUUID();
      await sql`insert into contacts (workspace_id, id, phone, first_name, sms_consent)
                values (${ws.id}, ${id}, ${p.phone}, ${p.name}, ${p.consent})`.execute(db);
      await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
        db,
      );
    }
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "t1" } },
        { id: "t1", type: "send", channel: "sms", templateId: sms, outlets: { next: "w" } },
        { id: "w", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "t2" } },
        { id: "t2", type: "send", channel: "sms", templateId: sms, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const channels = { email: createDevInboxEmailChannel(db), sms: createDevInboxSmsChannel(db) };
    // 10:00 UTC in a UTC workspace is inside the default 08:00–21:00 SMS hours.
    const noNumber = await dispatchBatch(db, "sms", { links: TEST_LINKS, channels, now: at(MINUTE) });
    expect(noNumber).toMatchObject({ failed: 1, skipped: 1 });
    const rows = await sql<{ status: string; reason: string }>`
      select status, reason from messages where campaign_id = ${campaign.id} order by status`.execute(db);
    expect(rows.rows).toEqual([
      { status: "failed", reason: expect.stringContaining("no SMS sender number") },
      { status: "skipped", reason: "SMS consent is never_asked" },
    ]);

    await setSender(db, ws, {
      fromName: "Acme",
      fromAddress: "news@acme.example",
      postalAddress: "1 High Street, Springfield",
      smsFrom: "+14155550100",
    });
    await sql`update messages set status = 'queued', reason = null where campaign_id = ${campaign.id} and status = 'failed'`.execute(
      db,
    );
    expect(
      await dispatchBatch(db, "sms", { links: TEST_LINKS, channels, now: at(2 * MINUTE) }),
    ).toMatchObject({ sent: 1 });
    await drain(db, ws.id, campaign.id, { now: at(24 * 60 * MINUTE) });
    expect(
      await dispatchBatch(db, "sms", { links: TEST_LINKS, channels, now: at(24 * 60 * MINUTE) }),
    ).toMatchObject({
      sent: 1,
    });
    const bodies = await sql<{ body: string }>`
      select content ->> 'body' as body from outbox where channel = 'sms' and recipient = '+14155550101' order by created_at`.execute(
      db,
    );
    expect(bodies.rows.map((r) => r.body)).toEqual([
      "Hi Sam, sale today\nReply STOP to opt out",
      "Hi Sam, sale today",
    ]);
  });

  it("calls a webhook node's URL with the campaign, node and contact", async () => {
    const db = database.handle.db;
    const listId = crypto.randomUUID();
    await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, 'hook list', 'list')`.execute(
      db,
    );
    const contactId = crypto.randomUUID();
    await sql`insert into contacts (workspace_id, id, email, attributes)
      values (${ws.id}, ${contactId}, 'hooked@example.com', '{"owner":"Grace"}')`.execute(db);
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${contactId})`.execute(
      db,
    );
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "crm" } },
        {
          id: "crm",
          type: "webhook",
          url: "https://crm.example/hooks/omneural",
          body: {
            stage: "lead",
            greeting: "Hello {{ firstName | default: 'there' }} at {{ email }}",
            deal: { owner: "{{ attributes.owner }}", amount: 42 },
          },
          outlets: { next: "done" },
        },
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const channels = { email: createDevInboxEmailChannel(db), webhook: createDevInboxWebhookChannel(db) };
    expect(
      await dispatchBatch(db, "webhook", { links: TEST_LINKS, channels, now: at(MINUTE) }),
    ).toMatchObject({ sent: 1 });
    const { rows } = await sql<{ recipient: string; content: Record<string, unknown> }>`
      select recipient, content from outbox where channel = 'webhook'`.execute(db);
    expect(rows[0]!.recipient).toBe("https://crm.example/hooks/omneural");
    expect(rows[0]!.content).toMatchObject({
      stage: "lead",
      // Text values with Liquid are rendered for the member; others are sent as they are.
      greeting: "Hello there at hooked@example.com",
      deal: { owner: "Grace", amount: 42 },
      campaignId: campaign.id,
      nodeId: "crm",
      contact: { id: contactId, email: "hooked@example.com" },
    });
  });

  it("stops calling a failing provider once its circuit breaker opens, and defers the rest without using attempts", async () => {
    const people = Array.from({ length: 6 }, (_, i) => ({
      firstName: `B${i}`,
      email: `breaker${i}@example.com`,
    }));
    const campaignId = await queuedEmails(people);
    const smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
    const breaker = new CircuitBreaker(2, 60_000);
    const channels = { email: smtp };
    const before = mailbox.server.received.length;
    try {
      mailbox.server.outage = true;
      const down = await dispatchBatch(database.handle.db, "email", {
        links: TEST_LINKS,
        channels,
        guards: { email: { breaker } },
        now: at(MINUTE),
        concurrency: 1,
        random: () => 0.5,
      });
      // Two real attempts open the breaker; the other four never reach the provider.
      expect(down).toMatchObject({ claimed: 6, retried: 2, deferred: 4 });
      const rows = await statuses(campaignId);
      expect(rows.filter((r) => r.reason?.includes("circuit breaker"))).toHaveLength(4);
      expect(rows.filter((r) => r.attempts === 0)).toHaveLength(4);
      mailbox.server.outage = false;
      // After the pause, one trial goes; when it succeeds, the rest follow.
      const trial = await dispatchBatch(database.handle.db, "email", {
        links: TEST_LINKS,
        channels,
        guards: { email: { breaker } },
        now: at(2 * MINUTE + 60_000),
        concurrency: 1,
        random: () => 0.5,
      });
      expect(trial.sent).toBeGreaterThanOrEqual(1);
      await dispatchBatch(database.handle.db, "email", {
        links: TEST_LINKS,
        channels,
        guards: { email: { breaker } },
        now: at(30 * MINUTE),
        concurrency: 1,
      });
    } finally {
      mailbox.server.outage = false;
      await smtp.close();
    }
    expect((await statuses(campaignId)).every((r) => r.status === "sent")).toBe(true);
    expect(mailbox.server.received.length - before).toBe(6);
  });
});
