import type { CampaignCreate, WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { changeListMembers, createAudience } from "../audiences/audience.service.ts";
import { patchContact, upsertContact, type WorkspaceContext } from "../contacts/contact.service.ts";
import type { EmailChannel, OutgoingEmail } from "../delivery/channel.ts";
import { dispatchEmailBatch } from "../delivery/dispatcher.ts";
import { setSender } from "../delivery/sender.service.ts";
import { insertEvents } from "../events/event.repository.ts";
import { recordEvents } from "../events/event.service.ts";
import { writeResponses } from "../responses/response.service.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, publishGraph, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { runQueuedJobs } from "../testing/jobs.ts";
import { createCampaign, getCampaign, launchCampaign } from "./campaign.service.ts";
import { entryDecision, runCampaignEntryJob } from "./entry.ts";
import { holdoutSql } from "./holdout.ts";

const database = useTestDatabase();
const db = () => database.handle.db;
const T0 = new Date("2026-03-02T10:00:00Z");
const DAY = 86_400_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const ACTOR = { source: "api", id: null } as const;

let ws: WorkspaceContext;
let graph: WorkflowGraph;
let workflowId: string;
let everyone: string;
const sent: OutgoingEmail[] = [];
const inbox: EmailChannel = {
  provider: "test",
  acceptsIdempotencyKey: true,
  async send(email) {
    sent.push(email);
    return { kind: "sent", providerMessageId: `test-${sent.length}` };
  },
  async close() {},
};

beforeAll(async () => {
  ws = await newWorkspaceContext(db());
  await setSender(db(), ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    postalAddress: "1 High Street, Springfield",
  });
  const template = await createTemplate(db(), ws, {
    name: "welcome",
    channel: "email",
    content: {
      subject: "Your plan: {{ event.plan }}",
      html: "<p>Hello {{ firstName | default: 'there' }}</p>",
      // Members who entered otherwise (and events without the property) get the default.
      defaults: { "event.plan": "none" },
    },
  });
  graph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "hello" } },
      { id: "hello", type: "send", channel: "email", templateId: template.id, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  workflowId = (await publishGraph(db(), ws, graph)).workflowId;
  everyone = (
    await createAudience(db(), ws, {
      name: "Everyone",
      definition: { kind: "field", field: "createdAt", type: "date", condition: { op: "exists" } },
    })
  ).id;
});

async function contact(email: string, attributes: Record<string, unknown> = {}) {
  return (await upsertContact(db(), ws, { email, attributes }, ACTOR)).contact.id;
}

async function campaign(settings: Partial<CampaignCreate> & { audienceId: string }, now = T0) {
  const created = await createCampaign(db(), ws, { name: `c ${uuidv7()}`, workflowId, ...settings }, now);
  return created.id;
}

async function enrollment(campaignId: string, contactId: string) {
  const { rows } = await sql<{
    state: string;
    iteration: number;
    holdout: boolean;
    trigger_event: {
      id: string;
      type: string;
      properties: Record<string, unknown>;
      occurredAt: string;
    } | null;
  }>`
    select state, iteration, holdout, trigger_event from enrollments
    where workspace_id = ${ws.id} and campaign_id = ${campaignId} and contact_id = ${contactId}`.execute(
    db(),
  );
  return rows[0];
}

async function keysOf(campaignId: string, contactId: string) {
  const { rows } = await sql<{ idempotency_key: string }>`
    select idempotency_key from messages
    where workspace_id = ${ws.id} and campaign_id = ${campaignId} and contact_id = ${contactId}
    order by queued_at, idempotency_key`.execute(db());
  return rows.map((r) => r.idempotency_key);
}

/** Stores events (no job queued) and runs the entry job over them at `now`, as the worker would. */
async function arrive(events: { contactId: string; type: string; properties?: object }[], now: Date) {
  const rows = events.map((e) => ({
    id: uuidv7(),
    contactId: e.contactId,
    type: e.type,
    properties: { ...e.properties },
    occurredAt: now,
  }));
  await insertEvents(db(), ws.id, rows);
  await runCampaignEntryJob(db(), { workspaceId: ws.id, events: rows.map((r) => r.id) }, now);
  return rows.map((r) => r.id);
}

describe("entryDecision", () => {
  const finished = (state: string, daysAgo: number) => ({
    state,
    enrolledAt: at(-daysAgo * DAY),
    iteration: 1,
  });
  it.each([
    { existing: undefined, mode: "never", expected: "enroll" },
    { existing: finished("active", 9), mode: "always", expected: "skip" },
    { existing: finished("completed", 9), mode: "never", expected: "skip" },
    { existing: finished("completed", 1), mode: "after", expected: "skip" },
    { existing: finished("converted", 2), mode: "after", expected: "reenter" },
    { existing: finished("failed", 0), mode: "always", expected: "reenter" },
    { existing: finished("cancelled", 0), mode: "always", expected: "reenter" },
  ] as const)("$mode, $existing.state → $expected", ({ existing, mode, expected }) => {
    const reentry = mode === "after" ? { mode, afterDays: 2 } : { mode };
    expect(entryDecision(existing, reentry, T0).kind).toBe(expected);
  });
});

describe("entry once", () => {
  it("enrolls the list at launch and no one added later", async () => {
    const list = await createAudience(db(), ws, { name: "Once list", kind: "list" });
    const first = await contact("once-1@example.com");
    await changeListMembers(db(), ws, list.id, [first], "add");
    const id = await campaign({ audienceId: list.id });
    const launched = await launchCampaign(db(), ws, id, T0);
    expect(launched.campaign).toMatchObject({ status: "running", enrolled: 1, entry: { mode: "once" } });
    const later = await contact("once-2@example.com");
    await changeListMembers(db(), ws, list.id, [later], "add");
    await runQueuedJobs(database.handle);
    expect(await enrollment(id, later)).toBeUndefined();
    await drain(db(), ws.id, id, { now: T0 });
    expect(await enrollment(id, first)).toMatchObject({ state: "completed", iteration: 1 });
  });
});

describe("entry continuous", () => {
  it("enrolls who joins a segment after launch, from the worker, and sends to them", async () => {
    const pro = await contact("cont-pro@example.com", { plan: "pro" });
    const later = await contact("cont-later@example.com", { plan: "basic" });
    const segment = await createAudience(db(), ws, {
      name: "Pro plan",
      definition: {
        kind: "field",
        field: "attributes.plan",
        type: "string",
        condition: { op: "eq", value: "pro" },
      },
    });
    expect(segment.listened).toBe(false);
    const id = await campaign({ audienceId: segment.id, entry: { mode: "continuous" } });
    const now = new Date();
    const launched = await launchCampaign(db(), ws, id, now);
    expect(launched.campaign).toMatchObject({ status: "running", enrolled: 1 });
    expect(await enrollment(id, pro)).toMatchObject({ state: "active", iteration: 1 });
    const { rows } = await sql<{ listened: boolean }>`
      select listened from audiences where workspace_id = ${ws.id} and id = ${segment.id}`.execute(db());
    expect(rows[0]!.listened).toBe(true);

    await patchContact(db(), ws, later, { attributes: { plan: "pro" } }, ACTOR);
    expect(await enrollment(id, later)).toBeUndefined(); // not in the request
    await runQueuedJobs(database.handle);
    expect(await enrollment(id, later)).toMatchObject({ state: "active", iteration: 1, trigger_event: null });
    const soon = new Date(Date.now() + 1000);
    await drain(db(), ws.id, id, { now: soon });
    await dispatchEmailBatch(db(), { links: TEST_LINKS, email: inbox, now: soon });
    expect(sent.filter((e) => e.to.address === "cont-later@example.com")).toHaveLength(1);
    expect(sent.find((e) => e.to.address === "cont-later@example.com")!.subject).toBe("Your plan: none");
    // Every member finished, and the campaign still takes new ones.
    expect((await getCampaign(db(), ws, id)).status).toBe("running");
  });

  it("enrolls who is added to a static list after launch (logged as an audience transition)", async () => {
    const list = await createAudience(db(), ws, { name: "Continuous list", kind: "list" });
    const id = await campaign({ audienceId: list.id, entry: { mode: "continuous" } });
    await launchCampaign(db(), ws, id, new Date());
    const added = await contact("cont-list@example.com");
    await changeListMembers(db(), ws, list.id, [added], "add");
    const { rows } = await sql<{ transition: string; cause: string }>`
      select transition, cause from audience_transitions
      where workspace_id = ${ws.id} and audience_id = ${list.id} and contact_id = ${added}`.execute(db());
    expect(rows).toEqual([{ transition: "entered", cause: "added to the list" }]);
    await runQueuedJobs(database.handle);
    expect(await enrollment(id, added)).toMatchObject({ state: "active", iteration: 1 });
    expect((await getCampaign(db(), ws, id)).enrolled).toBe(1);
  });
});

describe("entry event", () => {
  it("enrolls on a matching event from the worker, renders event.* and never enrolls twice for one event", async () => {
    const id = await campaign({
      audienceId: everyone,
      entry: {
        mode: "event",
        eventType: "signup",
        where: [{ property: "plan", type: "string", condition: { op: "neq", value: "free" } }],
      },
      reentry: { mode: "always" },
    });
    const launched = await launchCampaign(db(), ws, id, new Date(Date.now() - 1000));
    expect(launched).toMatchObject({ changed: 0, campaign: { status: "running", enrolled: 0 } });
    const paying = await contact("event-pro@example.com");
    const free = await contact("event-free@example.com");
    const eventId = `signup-${uuidv7()}`;
    const signup = { id: eventId, contactId: paying, type: "signup", properties: { plan: "pro" } };
    await recordEvents(db(), ws, [
      signup,
      { contactId: free, type: "signup", properties: { plan: "free" } },
      { contactId: free, type: "other", properties: { plan: "pro" } },
    ]);
    await runQueuedJobs(database.handle);
    const entered = await enrollment(id, paying);
    expect(entered).toMatchObject({ state: "active", iteration: 1 });
    expect(entered!.trigger_event).toMatchObject({
      id: eventId,
      type: "signup",
      properties: { plan: "pro" },
    });
    expect(await enrollment(id, free)).toBeUndefined();

    const soon = new Date(Date.now() + 1000);
    await drain(db(), ws.id, id, { now: soon });
    await dispatchEmailBatch(db(), { links: TEST_LINKS, email: inbox, now: soon });
    expect(sent.find((e) => e.to.address === "event-pro@example.com")!.subject).toBe("Your plan: pro");
    expect(await enrollment(id, paying)).toMatchObject({ state: "completed", iteration: 1 });

    // Replayed: the event is a duplicate, and the job run again for it lets no one in (re-entry: always).
    const replay = await recordEvents(db(), ws, [signup]);
    expect(replay.duplicates).toBe(1);
    await runCampaignEntryJob(db(), { workspaceId: ws.id, events: [eventId] });
    await runQueuedJobs(database.handle);
    expect(await enrollment(id, paying)).toMatchObject({ state: "completed", iteration: 1 });
    expect((await getCampaign(db(), ws, id)).status).toBe("running");
  });

  it("enters on a response to another campaign's message: a click starts the follow-up", async () => {
    const followUp = await campaign({
      audienceId: everyone,
      entry: { mode: "event", eventType: "message.clicked" },
    });
    await launchCampaign(db(), ws, followUp, new Date(Date.now() - 1000));
    const clicker = await contact("clicker@example.com");
    const first = await campaign({ audienceId: everyone });
    await launchCampaign(db(), ws, first, new Date(Date.now() - 1000));
    await drain(db(), ws.id, first, { now: new Date() });
    const { rows } = await sql<{ id: string }>`
      update messages set status = 'sent', sent_at = now() - interval '1 hour'
      where workspace_id = ${ws.id} and campaign_id = ${first} and contact_id = ${clicker} returning id`.execute(
      db(),
    );
    const written = await writeResponses(db(), [
      {
        id: uuidv7(),
        workspaceId: ws.id,
        messageId: rows[0]!.id,
        kind: "clicked",
        at: new Date(),
        properties: {
          url: "https://acme.example/offer",
          userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        },
      },
    ]);
    expect(written.recorded).toBe(1);
    await runQueuedJobs(database.handle);
    const entered = await enrollment(followUp, clicker);
    expect(entered).toMatchObject({ state: "active", iteration: 1 });
    expect(entered!.trigger_event).toMatchObject({
      type: "message.clicked",
      properties: { campaignId: first, url: "https://acme.example/offer" },
    });
  });

  it("lets in only members of the campaign's audience", async () => {
    const vips = await createAudience(db(), ws, {
      name: "VIPs",
      definition: {
        kind: "field",
        field: "attributes.vip",
        type: "boolean",
        condition: { op: "eq", value: true },
      },
    });
    const id = await campaign({ audienceId: vips.id, entry: { mode: "event", eventType: "visit" } });
    await launchCampaign(db(), ws, id, T0);
    const vip = await contact("vip@example.com", { vip: true });
    const other = await contact("not-vip@example.com");
    await arrive(
      [
        { contactId: vip, type: "visit" },
        { contactId: other, type: "visit" },
      ],
      at(1000),
    );
    expect(await enrollment(id, vip)).toMatchObject({ state: "active" });
    expect(await enrollment(id, other)).toBeUndefined();
  });

  it("sets the holdout flag of entrants by the campaign's hash, and keeps it on re-entry", async () => {
    const id = await campaign({
      audienceId: everyone,
      entry: { mode: "event", eventType: "holdout_test" },
      reentry: { mode: "always" },
      holdoutPercent: 50,
    });
    await launchCampaign(db(), ws, id, T0);
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => contact(`holdout-${i}@example.com`)));
    await arrive(
      ids.map((contactId) => ({ contactId, type: "holdout_test" })),
      at(1000),
    );
    const { rows } = await sql<{ holdout: boolean; expected: boolean }>`
      select e.holdout, ${holdoutSql(id, sql`e.contact_id`, 50)} as expected from enrollments e
      where e.workspace_id = ${ws.id} and e.campaign_id = ${id}`.execute(db());
    expect(rows).toHaveLength(20);
    for (const row of rows) expect(row.holdout).toBe(row.expected);
    expect(new Set(rows.map((r) => r.holdout))).toEqual(new Set([true, false]));
    await drain(db(), ws.id, id, { now: at(2000) });
    await arrive([{ contactId: ids[0]!, type: "holdout_test" }], at(3000));
    const again = await enrollment(id, ids[0]!);
    expect(again!.iteration).toBe(2);
    expect(again!.holdout).toBe(await holdoutOf(id, ids[0]!));
  });

  it("lets a condition read the entering event's properties (entry_event); members who entered otherwise take no", async () => {
    const email = (name: string, subject: string) =>
      createTemplate(db(), ws, { name, channel: "email", content: { subject, html: "<p>Hi</p>" } });
    const pro = await email("pro welcome", "Welcome to Pro");
    const basic = await email("basic welcome", "Welcome");
    const byPlan: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "plan" } },
        {
          id: "plan",
          type: "condition",
          rule: {
            kind: "entry_event",
            where: [{ property: "plan", type: "string", condition: { op: "eq", value: "pro" } }],
          },
          outlets: { yes: "pro", no: "basic" },
        },
        { id: "pro", type: "send", channel: "email", templateId: pro.id, outlets: { next: "done" } },
        { id: "basic", type: "send", channel: "email", templateId: basic.id, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const { workflowId: byPlanId } = await publishGraph(db(), ws, byPlan);
    const sentFrom = async (campaignId: string, contactId: string) => {
      const { rows } = await sql<{ node_id: string; template_id: string }>`
        select node_id, template_id from messages
        where workspace_id = ${ws.id} and campaign_id = ${campaignId} and contact_id = ${contactId}`.execute(
        db(),
      );
      return rows;
    };

    const onEvent = (
      await createCampaign(db(), ws, {
        name: `by plan ${uuidv7()}`,
        workflowId: byPlanId,
        audienceId: everyone,
        entry: { mode: "event", eventType: "plan_signup" },
      })
    ).id;
    await launchCampaign(db(), ws, onEvent, T0);
    const paying = await contact("entry-cond-pro@example.com", { plan: "free" });
    const free = await contact("entry-cond-free@example.com", { plan: "pro" });
    const silent = await contact("entry-cond-none@example.com");
    await arrive(
      [
        { contactId: paying, type: "plan_signup", properties: { plan: "pro" } },
        { contactId: free, type: "plan_signup", properties: { plan: "free" } },
        { contactId: silent, type: "plan_signup" },
      ],
      at(1000),
    );
    await drain(db(), ws.id, onEvent, { now: at(2000) });
    // The event decides, not the contact's attributes (which say the opposite).
    expect(await sentFrom(onEvent, paying)).toEqual([{ node_id: "pro", template_id: pro.id }]);
    expect(await sentFrom(onEvent, free)).toEqual([{ node_id: "basic", template_id: basic.id }]);
    expect(await sentFrom(onEvent, silent)).toEqual([{ node_id: "basic", template_id: basic.id }]);
    for (const who of [paying, free, silent])
      expect(await enrollment(onEvent, who)).toMatchObject({ state: "completed" });

    // The same workflow in a campaign entered at launch: no entering event, so the condition is false,
    // even though this member did sign up for pro (in another campaign's event).
    const list = await createAudience(db(), ws, { name: "Entry event list", kind: "list" });
    await changeListMembers(db(), ws, list.id, [paying], "add");
    const once = (
      await createCampaign(db(), ws, {
        name: `by plan once ${uuidv7()}`,
        workflowId: byPlanId,
        audienceId: list.id,
      })
    ).id;
    await launchCampaign(db(), ws, once, at(3000));
    await drain(db(), ws.id, once, { now: at(4000) });
    expect(await enrollment(once, paying)).toMatchObject({ state: "completed", trigger_event: null });
    expect(await sentFrom(once, paying)).toEqual([{ node_id: "basic", template_id: basic.id }]);
  });
});

async function holdoutOf(campaignId: string, contactId: string) {
  const { rows } = await sql<{ h: boolean }>`
    select ${holdoutSql(campaignId, sql`${contactId}::uuid`, 50)} as h`.execute(db());
  return rows[0]!.h;
}

describe("re-entry", () => {
  async function eventCampaign(reentry: CampaignCreate["reentry"], eventType: string) {
    const id = await campaign({ audienceId: everyone, entry: { mode: "event", eventType }, reentry });
    await launchCampaign(db(), ws, id, T0);
    return id;
  }

  it("never: a contact enters once, ever", async () => {
    const id = await eventCampaign({ mode: "never" }, "never_again");
    const who = await contact("never@example.com");
    await arrive([{ contactId: who, type: "never_again" }], at(1000));
    await drain(db(), ws.id, id, { now: at(2000) });
    await arrive([{ contactId: who, type: "never_again" }], at(30 * DAY));
    expect(await enrollment(id, who)).toMatchObject({ state: "completed", iteration: 1 });
    expect(await keysOf(id, who)).toHaveLength(1);
  });

  it("after: a finished member enters again once the days have passed since their last entry", async () => {
    const id = await eventCampaign({ mode: "after", afterDays: 2 }, "after_two");
    const who = await contact("after@example.com");
    await arrive([{ contactId: who, type: "after_two" }], at(1000));
    await drain(db(), ws.id, id, { now: at(2000) });
    await arrive([{ contactId: who, type: "after_two" }], at(DAY));
    expect(await enrollment(id, who)).toMatchObject({ state: "completed", iteration: 1 });
    const [third] = await arrive([{ contactId: who, type: "after_two" }], at(2 * DAY + 1000));
    const again = await enrollment(id, who);
    expect(again).toMatchObject({ state: "active", iteration: 2 });
    expect(again!.trigger_event!.id).toBe(third);
    await drain(db(), ws.id, id, { now: at(2 * DAY + 2000) });
    const keys = await keysOf(id, who);
    expect(keys).toHaveLength(2);
    expect(keys.map((k) => k.split(":")[3])).toEqual(["1", "2"]);
  });

  it("always: whenever they qualify and are not in it now; a recomputed step never sends twice", async () => {
    const id = await eventCampaign({ mode: "always" }, "again_and_again");
    const who = await contact("always@example.com");
    await arrive([{ contactId: who, type: "again_and_again" }], at(1000));
    // Still active (not yet stepped): a second event does not enter them again.
    await arrive([{ contactId: who, type: "again_and_again" }], at(1500));
    expect(await enrollment(id, who)).toMatchObject({ state: "active", iteration: 1 });
    await drain(db(), ws.id, id, { now: at(2000) });
    await arrive([{ contactId: who, type: "again_and_again" }], at(3000));
    expect(await enrollment(id, who)).toMatchObject({ state: "active", iteration: 2 });
    await drain(db(), ws.id, id, { now: at(4000) });
    await arrive([{ contactId: who, type: "again_and_again" }], at(5000));
    expect(await enrollment(id, who)).toMatchObject({ state: "active", iteration: 3 });

    // The history records each re-entry.
    const { rows: steps } = await sql<{ seq: number; trace: { action: string; reason: string }[] }>`
      select seq, trace from enrollment_steps
      where workspace_id = ${ws.id} and campaign_id = ${id} and contact_id = ${who} order by seq`.execute(
      db(),
    );
    const reentries = steps.filter((s) => s.trace[0]!.action === "re-entered");
    expect(reentries.map((s) => s.trace[0]!.reason)).toEqual([
      expect.stringMatching(/^entered again \(iteration 2\): event again_and_again /),
      expect.stringMatching(/^entered again \(iteration 3\): event again_and_again /),
    ]);

    // A batch that is computed again (its first run rolled back after writing nothing else) finds its
    // send already in the ledger: one row per iteration, whatever happens.
    await drain(db(), ws.id, id, { now: at(6000) });
    const before = await keysOf(id, who);
    expect(before.map((k) => k.split(":")[3])).toEqual(["1", "2", "3"]);
    const { rows: last } = await sql<{ seq: number }>`
      select seq from enrollments where workspace_id = ${ws.id} and campaign_id = ${id} and contact_id = ${who}`.execute(
      db(),
    );
    await sql`delete from enrollment_steps where workspace_id = ${ws.id} and campaign_id = ${id}
      and contact_id = ${who} and seq = ${last[0]!.seq}`.execute(db());
    await sql`update enrollments set node_id = 'entry', state = 'active', due_at = ${at(5000)},
      node_entered_at = ${at(5000)}, seq = seq - 1
      where workspace_id = ${ws.id} and campaign_id = ${id} and contact_id = ${who}`.execute(db());
    await drain(db(), ws.id, id, { now: at(6000) });
    expect(await keysOf(id, who)).toEqual(before);
    expect(new Set(before).size).toBe(3);
  });
});

describe("launch refuses entry settings it cannot run", () => {
  it("names the field", async () => {
    const refused = async (settings: Partial<CampaignCreate> & { audienceId: string }) => {
      const id = await campaign(settings);
      const error = await launchCampaign(db(), ws, id, T0).then(
        () => undefined,
        (e: { extra?: { errors?: { field: string }[] } }) => e,
      );
      return error?.extra?.errors?.map((e) => e.field);
    };
    expect(
      await refused({
        audienceId: everyone,
        entry: { mode: "event", eventType: "signup" },
        startLocal: { date: "2099-06-02", time: "09:00" },
      }),
    ).toEqual(["startLocal"]);
    const broken = await createAudience(db(), ws, {
      name: "Broken",
      definition: { kind: "field", field: "createdAt", type: "date", condition: { op: "exists" } },
    });
    await sql`update audiences set definition = '{"kind": "nonsense"}' where id = ${broken.id}`.execute(db());
    expect(await refused({ audienceId: broken.id, entry: { mode: "event", eventType: "signup" } })).toEqual([
      "audienceId",
    ]);
    expect(await refused({ audienceId: broken.id, entry: { mode: "continuous" } })).toEqual(["audienceId"]);
  });
});
