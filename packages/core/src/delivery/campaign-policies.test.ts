import type { CampaignCreate, WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { openDatabase } from "../db/database.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, publishGraph, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import { campaignChannelPolicy, throughputDecision } from "./campaign-policies.ts";
import { createDevInboxEmailChannel } from "./dev-inbox.ts";
import { dispatchEmailBatch } from "./dispatcher.ts";
import type { ChannelPolicy } from "./policies.ts";
import { setDeliveryPolicy } from "./policy.service.ts";
import { setSender } from "./sender.service.ts";
import { createSmtpChannel } from "./smtp-channel.ts";

const database = useTestDatabase();
const mailbox = useTestSmtpServer();

// A Monday, 20:00 UTC.
const T0 = new Date("2026-03-02T20:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;
let templateId: string;

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  templateId = (
    await createTemplate(db, ws, {
      name: "Hello",
      channel: "email",
      content: { subject: "Hello", html: "<p>Hello</p>" },
    })
  ).id;
  await setSender(db, ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    postalAddress: "1 High Street, Springfield",
  });
});

/** New contacts with these emails (in UTC, the workspace's zone). */
async function contacts(emails: string[]): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    insert into contacts (workspace_id, id, email, email_consent)
    select ${ws.id}, gen_random_uuid(), e, 'subscribed' from unnest(${emails}::text[]) with ordinality as u(e, n)
    order by n
    returning id`.execute(database.handle.db);
  return rows.map((r) => r.id);
}

/** A campaign entry → send email → exit with these settings over these contacts, launched and stepped at T0. */
async function queueWithSettings(
  contactIds: string[],
  settings: Pick<CampaignCreate, "policies" | "holdoutPercent" | "goal">,
): Promise<string> {
  const db = database.handle.db;
  const listId = crypto.randomUUID();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${listId}, 'list')`.execute(
    db,
  );
  await sql`
    insert into list_members (workspace_id, list_id, contact_id)
    select ${ws.id}, ${listId}, id from unnest(${contactIds}::uuid[]) as c(id)`.execute(db);
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "send" } },
      { id: "send", type: "send", channel: "email", templateId, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  const { workflowId } = await publishGraph(db, ws, graph);
  const campaign = await createCampaign(db, ws, {
    name: `campaign ${crypto.randomUUID()}`,
    audienceId: listId,
    workflowId,
    ...settings,
  });
  await launchCampaign(db, ws, campaign.id, T0);
  await drain(db, ws.id, campaign.id, { now: T0 });
  return campaign.id;
}

async function ledger(campaignId: string) {
  const { rows } = await sql<{
    contact_id: string;
    status: string;
    reason: string | null;
    attempts: number;
    next_attempt_at: Date | null;
    sent_at: Date | null;
  }>`
    select contact_id, status, reason, attempts, next_attempt_at, sent_at from messages
    where workspace_id = ${ws.id} and campaign_id = ${campaignId} order by queued_at, id`.execute(
    database.handle.db,
  );
  return rows;
}

describe("campaignChannelPolicy", () => {
  const workspace: ChannelPolicy = {
    allowedHours: { from: "08:00", to: "21:00" },
    frequencyCap: { count: 3, days: 7, action: "defer" },
  };

  it.each([
    ["no campaign policies", undefined, workspace],
    ["an empty policy object", {}, workspace],
    ["null quiet hours: the workspace's", { quietHours: null }, workspace],
    [
      "the campaign's hours",
      { quietHours: { from: "10:00", to: "12:00" } },
      { ...workspace, allowedHours: { from: "10:00", to: "12:00" } },
    ],
    ["cap applied", { frequencyCap: "apply" as const }, workspace],
    ["cap exempt", { frequencyCap: "exempt" as const }, { ...workspace, frequencyCap: null }],
  ])("%s", (_name, campaign, expected) => {
    expect(campaignChannelPolicy(workspace, campaign)).toEqual(expected);
  });
});

describe("throughputDecision", () => {
  const now = new Date("2026-03-02T12:00:00Z");
  const ago = (minutes: number) => new Date(now.getTime() - minutes * MINUTE);
  const later = (minutes: number) => new Date(now.getTime() + minutes * MINUTE).toISOString();

  it.each([
    { name: "room for all", limit: 5, recent: [], due: 3, admit: 3, deferred: [] },
    {
      name: "fills the room, the rest wait for the hour to pass",
      limit: 2,
      recent: [],
      due: 4,
      admit: 2,
      deferred: [later(60), later(60)],
    },
    {
      name: "the oldest send in the window frees the first slot",
      limit: 3,
      recent: [ago(50), ago(10), ago(30)],
      due: 4,
      admit: 0,
      deferred: [later(10), later(30), later(50), later(70)],
    },
    {
      name: "sends older than an hour do not count",
      limit: 2,
      recent: [ago(61), ago(90), ago(20)],
      due: 2,
      admit: 1,
      deferred: [later(40)],
    },
    {
      name: "a limit lowered below what was already sent",
      limit: 1,
      recent: [ago(40), ago(20)],
      due: 1,
      admit: 0,
      deferred: [later(40)],
    },
  ])("$name", ({ limit, recent, due, admit, deferred }) => {
    const decision = throughputDecision(limit, recent, due, now);
    expect(decision.admit).toBe(admit);
    expect(decision.deferUntil.map((d) => d.toISOString())).toEqual(deferred);
  });
});

describe("campaign policies at dispatch", () => {
  it("uses the campaign's sending hours instead of the workspace's, local to the recipient", async () => {
    const db = database.handle.db;
    const inbox = createDevInboxEmailChannel(db);
    await setDeliveryPolicy(db, ws, "email", {
      allowedHours: { from: "09:00", to: "17:00" },
      frequencyCap: null,
    });
    try {
      const [a, b, c] = await contacts(["qh-a@example.com", "qh-b@example.com", "qh-c@example.com"]);
      // 20:00 UTC: outside the workspace's hours, inside the evening campaign's.
      const evening = await queueWithSettings([a!], {
        policies: { quietHours: { from: "18:00", to: "22:00" } },
      });
      const workspaceHours = await queueWithSettings([b!], { policies: { quietHours: null } });
      const morning = await queueWithSettings([c!], {
        policies: { quietHours: { from: "06:00", to: "08:00" } },
      });
      await sql`update contacts set timezone = 'Asia/Tokyo' where id = ${c!}`.execute(db);

      const r = await dispatchEmailBatch(db, { links: TEST_LINKS, email: inbox, now: at(MINUTE) });
      expect(r).toMatchObject({ claimed: 3, sent: 1, deferred: 2 });
      expect((await ledger(evening))[0]).toMatchObject({ status: "sent" });
      const [held] = await ledger(workspaceHours);
      expect(held).toMatchObject({ status: "queued", attempts: 0 });
      expect(held!.reason).toContain("sending hours are 09:00–17:00");
      expect(held!.next_attempt_at?.toISOString()).toBe("2026-03-03T09:00:00.000Z");
      // 20:01 UTC is 05:01 in Tokyo: held until 06:00 there, 21:00 UTC.
      const [early] = await ledger(morning);
      expect(early!.reason).toContain("sending hours are 06:00–08:00");
      expect(early!.reason).toContain("Asia/Tokyo");
      expect(early!.next_attempt_at?.toISOString()).toBe("2026-03-02T21:00:00.000Z");
    } finally {
      await setDeliveryPolicy(db, ws, "email", { allowedHours: null, frequencyCap: null });
    }
  });

  it("neither holds nor counts an exempt campaign's sends against the frequency cap", async () => {
    const db = database.handle.db;
    const inbox = createDevInboxEmailChannel(db);
    await setDeliveryPolicy(db, ws, "email", {
      allowedHours: null,
      frequencyCap: { count: 1, days: 7, action: "defer" },
    });
    try {
      const [contact] = await contacts(["cap-exempt@example.com"]);
      const exempt = { policies: { frequencyCap: "exempt" as const } };
      const applied = { policies: { frequencyCap: "apply" as const } };
      const dispatch = (minutes: number) =>
        dispatchEmailBatch(db, { links: TEST_LINKS, email: inbox, now: at(minutes * MINUTE) });

      const receipt = await queueWithSettings([contact!], exempt);
      expect(await dispatch(1)).toMatchObject({ sent: 1 });
      // The receipt did not count: the marketing email still fits under the cap of one.
      const newsletter = await queueWithSettings([contact!], applied);
      expect(await dispatch(2)).toMatchObject({ sent: 1 });
      // The cap is reached; a second receipt is not held by it.
      const secondReceipt = await queueWithSettings([contact!], exempt);
      expect(await dispatch(3)).toMatchObject({ sent: 1 });
      // A second newsletter is: one counted send (the first newsletter), not three.
      const secondNewsletter = await queueWithSettings([contact!], {});
      expect(await dispatch(4)).toMatchObject({ sent: 0, deferred: 1 });

      for (const id of [receipt, newsletter, secondReceipt]) {
        expect((await ledger(id))[0]!.status).toBe("sent");
      }
      const [held] = await ledger(secondNewsletter);
      expect(held!.status).toBe("queued");
      expect(held!.reason).toContain("frequency cap: 1 sent in the last 7 days (at most 1)");
    } finally {
      await setDeliveryPolicy(db, ws, "email", { allowedHours: null, frequencyCap: null });
    }
  });

  it("keeps two dispatchers to a campaign's throughput limit per rolling hour, deferring the rest, sending each once", async () => {
    const db = database.handle.db;
    const emails = Array.from({ length: 25 }, (_, i) => `tp${i}@example.com`);
    const limited = await queueWithSettings(await contacts(emails), {
      policies: { throughputPerHour: { email: 10 } },
    });
    // Another campaign's rows in the same batches are not held by it.
    const free = await queueWithSettings(await contacts(["tp-free@example.com"]), {});
    // Two dispatcher processes: their own pools and SMTP connections, claiming small batches at once.
    const other = openDatabase(database.url, { poolSize: 4, applicationName: "omneural-test-2" });
    const processes = [
      { db, smtp: createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port }) },
      { db: other.db, smtp: createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port }) },
    ];
    const runBoth = (now: Date) =>
      Promise.all(
        processes.map(async (p) => {
          let sent = 0;
          for (;;) {
            const r = await dispatchEmailBatch(p.db, { links: TEST_LINKS, email: p.smtp, now, batchSize: 4 });
            sent += r.sent;
            if (r.claimed === 0 && r.deferred === 0) return sent;
          }
        }),
      );
    const before = mailbox.server.received.length;
    const sentIn = (rows: Awaited<ReturnType<typeof ledger>>) => rows.filter((r) => r.status === "sent");
    try {
      await runBoth(at(MINUTE));
      let rows = await ledger(limited);
      expect(sentIn(rows)).toHaveLength(10);
      expect((await ledger(free))[0]!.status).toBe("sent");
      const waiting = rows.filter((r) => r.status === "queued");
      expect(waiting).toHaveLength(15);
      for (const row of waiting) {
        expect(row.reason).toBe("campaign throughput limit: 10/h");
        expect(row.attempts).toBe(0);
        expect(row.next_attempt_at!.getTime()).toBeGreaterThanOrEqual(at(MINUTE + HOUR).getTime());
      }

      // Within the hour nothing more goes, however often the dispatchers look.
      await runBoth(at(30 * MINUTE));
      await runBoth(at(MINUTE + HOUR - 1000));
      expect(sentIn(await ledger(limited))).toHaveLength(10);

      await runBoth(at(2 * MINUTE + HOUR));
      expect(sentIn(await ledger(limited))).toHaveLength(20);
      await runBoth(at(3 * MINUTE + 2 * HOUR));
      rows = await ledger(limited);
      expect(sentIn(rows)).toHaveLength(25);
      expect(rows.every((r) => r.attempts === 1)).toBe(true);

      // At most 10 in any hour: every send's window (its hour back) holds at most 10 sends.
      const times = rows.map((r) => r.sent_at!.getTime());
      for (const t of times)
        expect(times.filter((u) => u > t - HOUR && u <= t).length).toBeLessThanOrEqual(10);
    } finally {
      for (const p of processes) await p.smtp.close();
      await other.close();
    }
    const recipients = mailbox.server.received
      .slice(before)
      .map((m) => (m.to as { value: { address: string }[] }).value[0]!.address)
      // (an earlier test's row held by quiet hours comes due meanwhile)
      .filter((address) => address.startsWith("tp"));
    expect(recipients).toHaveLength(26);
    expect(new Set(recipients)).toEqual(new Set([...emails, "tp-free@example.com"]));
  });
});
