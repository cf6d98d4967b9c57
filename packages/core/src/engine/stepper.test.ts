import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { removeAudience } from "../audiences/audience.service.ts";
import {
  cancelCampaign,
  enrollOne,
  getCampaign,
  getEnrollment,
  launchCampaign,
  pauseCampaign,
  resumeCampaign,
  retryCampaign,
} from "../campaigns/campaign.service.ts";
import { eraseContact, type WorkspaceContext } from "../contacts/contact.service.ts";
import { recordEvents } from "../events/event.service.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { stepCampaignBatch } from "./stepper.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;
let email: string;
let sms: string;

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  email = (
    await createTemplate(db, ws, {
      name: "welcome",
      channel: "email",
      content: { subject: "Hi", html: "<p>Hello</p>" },
    })
  ).id;
  sms = (await createTemplate(db, ws, { name: "nudge", channel: "sms", content: { body: "Hey" } })).id;
});

const sendWaitSend = (): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "s1" } },
    { id: "s1", type: "send", channel: "email", templateId: email, outlets: { next: "w" } },
    { id: "w", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "s2" } },
    { id: "s2", type: "send", channel: "sms", templateId: sms, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
});

async function count(query: ReturnType<typeof sql<{ n: number }>>) {
  const { rows } = await query.execute(database.handle.db);
  return rows[0]!.n;
}

describe("stepCampaignBatch", () => {
  it("moves members through send → wait → send with one ledger row per member per send", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 250);
    const campaign = await launchGraph(db, ws, listId, sendWaitSend(), T0);
    expect(campaign.enrolled).toBe(250);

    const first = await drain(db, ws.id, campaign.id, { now: T0, batchSize: 100 });
    expect(first).toMatchObject({ claimed: 250, moved: 250, sends: 250, batches: 3 });
    const waiting = await getCampaign(db, ws, campaign.id);
    expect(waiting.counts.byNode).toEqual([{ nodeId: "w", state: "active", count: 250 }]);

    // Not yet due: nothing moves an hour before the wait ends.
    expect((await drain(db, ws.id, campaign.id, { now: at(DAY - HOUR) })).claimed).toBe(0);

    const second = await drain(db, ws.id, campaign.id, { now: at(DAY) });
    expect(second).toMatchObject({ claimed: 250, moved: 250, sends: 250 });
    const done = await getCampaign(db, ws, campaign.id);
    expect(done.counts.byState).toEqual({ completed: 250 });

    const perNode = await sql<{ node_id: string; n: number; keys: number }>`
      select node_id, count(*)::int as n, count(distinct idempotency_key)::int as keys
      from messages where campaign_id = ${campaign.id} group by node_id order by node_id`.execute(db);
    expect(perNode.rows).toEqual([
      { node_id: "s1", n: 250, keys: 250 },
      { node_id: "s2", n: 250, keys: 250 },
    ]);
    expect((await drain(db, ws.id, campaign.id, { now: at(10 * DAY) })).claimed).toBe(0);
  });

  it("explains a member's path in their history", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 1);
    const campaign = await launchGraph(db, ws, listId, sendWaitSend(), T0);
    await drain(db, ws.id, campaign.id, { now: T0, workerId: "w-1" });
    await drain(db, ws.id, campaign.id, { now: at(DAY), workerId: "w-2" });
    const enrollment = await getEnrollment(db, ws, campaign.id, contactIds[0]!);
    expect(enrollment.state).toBe("completed");
    expect(enrollment.outcome).toBe("completed");
    const actions = enrollment.steps.map((s) => s.entries.map((e) => `${e.nodeId}:${e.action}`));
    expect(actions).toEqual([
      ["entry:enrolled"],
      ["entry:entered", "s1:send", "w:waiting"],
      ["w:waited", "s2:send", "done:exited"],
    ]);
    expect(enrollment.steps.map((s) => s.worker)).toEqual([null, "w-1", "w-2"]);
    expect(enrollment.steps[1]!.entries[2]!.reason).toContain("1 day from 2026-03-02T10:00:00.000Z");
    expect(enrollment.messages.map((m) => m.idempotencyKey)).toEqual([
      `${campaign.id}:${contactIds[0]}:s1:1:1`,
      `${campaign.id}:${contactIds[0]}:s2:1:2`,
    ]);
  });

  it("branches on a condition evaluated for the member when they arrive", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 40, sql`jsonb_build_object('ltv', i * 10)`);
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "c" } },
        {
          id: "c",
          type: "condition",
          rule: {
            kind: "field",
            field: "attributes.ltv",
            type: "number",
            condition: { op: "gt", value: 200 },
          },
          outlets: { yes: "vip", no: "tier" },
        },
        {
          id: "tier",
          type: "condition",
          branches: [
            {
              key: "mid",
              rule: {
                kind: "field",
                field: "attributes.ltv",
                type: "number",
                condition: { op: "gt", value: 100 },
              },
            },
          ],
          outlets: { mid: "mid_exit", default: "low_exit" },
        },
        { id: "vip", type: "exit", outlets: {} },
        { id: "mid_exit", type: "exit", outlets: {} },
        { id: "low_exit", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const detail = await getCampaign(db, ws, campaign.id);
    expect(detail.counts.byNode).toEqual([
      { nodeId: "low_exit", state: "completed", count: 10 },
      { nodeId: "mid_exit", state: "completed", count: 10 },
      { nodeId: "vip", state: "completed", count: 20 },
    ]);
  });

  it("splits members by stable weighted buckets", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 2000);
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "ab" } },
        {
          id: "ab",
          type: "split",
          branches: [
            { key: "a", weight: 45 },
            { key: "b", weight: 45 },
            { key: "holdout", weight: 10 },
          ],
          outlets: { a: "xa", b: "xb", holdout: "xh" },
        },
        { id: "xa", type: "exit", outlets: {} },
        { id: "xb", type: "exit", outlets: {} },
        { id: "xh", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const byNode = Object.fromEntries(
      (await getCampaign(db, ws, campaign.id)).counts.byNode.map((c) => [c.nodeId, c.count]),
    );
    const [xa = 0, xb = 0, xh = 0] = [byNode.xa, byNode.xb, byNode.xh];
    expect(xa + xb + xh).toBe(2000);
    expect(xh).toBeGreaterThan(140);
    expect(xh).toBeLessThan(260);
    expect(Math.abs(xa - xb)).toBeLessThan(200);
  });

  it("waits for an event: matched when it arrives (ingestion wakes the member), timed out otherwise", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 3);
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "wf" } },
        {
          id: "wf",
          type: "wait_for",
          for: {
            kind: "event",
            eventType: "purchase",
            where: [{ property: "total", type: "number", condition: { op: "gte", value: 50 } }],
          },
          timeout: { days: 3 },
          outlets: { matched: "bought", timed_out: "gave_up" },
        },
        { id: "bought", type: "exit", outlets: {} },
        { id: "gave_up", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const [buyer, small, idle] = contactIds as [string, string, string];
    await recordEvents(
      db,
      ws,
      [
        { contactId: buyer, type: "purchase", properties: { total: 80 }, occurredAt: at(HOUR).toISOString() },
        { contactId: small, type: "purchase", properties: { total: 10 }, occurredAt: at(HOUR).toISOString() },
      ],
      at(HOUR),
    );
    // Ingestion made both due at once; only the purchase that passes the filter moves its member.
    const woken = await drain(db, ws.id, campaign.id, { now: at(HOUR) });
    expect(woken).toMatchObject({ claimed: 2, moved: 1 });
    expect((await getEnrollment(db, ws, campaign.id, buyer)).nodeId).toBe("bought");
    expect((await getEnrollment(db, ws, campaign.id, small)).dueAt).toBe(at(3 * DAY).toISOString());

    await drain(db, ws.id, campaign.id, { now: at(3 * DAY) });
    expect((await getEnrollment(db, ws, campaign.id, small)).nodeId).toBe("gave_up");
    const timedOut = await getEnrollment(db, ws, campaign.id, idle);
    expect(timedOut.nodeId).toBe("gave_up");
    expect(timedOut.steps.at(-1)!.entries[0]!.reason).toContain("nothing by 2026-03-05T10:00:00.000Z");
  });

  it("waits for a response to an earlier send of the campaign", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 2);
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s1" } },
        { id: "s1", type: "send", channel: "email", templateId: email, outlets: { next: "open" } },
        {
          id: "open",
          type: "wait_for",
          for: { kind: "response", response: "opened", sendNodeId: "s1" },
          timeout: { days: 2 },
          outlets: { matched: "opened", timed_out: "unopened" },
        },
        { id: "opened", type: "exit", outlets: {} },
        { id: "unopened", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const [reader, other] = contactIds as [string, string];
    await recordEvents(
      db,
      ws,
      [
        // A response to another campaign's send does not count.
        {
          contactId: other,
          type: "message.opened",
          properties: { campaignId: "00000000-0000-4000-8000-000000000001", nodeId: "s1", channel: "email" },
          occurredAt: at(HOUR).toISOString(),
        },
        {
          contactId: reader,
          type: "message.opened",
          properties: { campaignId: campaign.id, nodeId: "s1", channel: "email" },
          occurredAt: at(HOUR).toISOString(),
        },
      ],
      at(HOUR),
    );
    await drain(db, ws.id, campaign.id, { now: at(HOUR) });
    expect((await getEnrollment(db, ws, campaign.id, reader)).nodeId).toBe("opened");
    expect((await getEnrollment(db, ws, campaign.id, other)).nodeId).toBe("open");
  });

  it("converts a member on a goal from wherever they are", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 2);
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "w" } },
        { id: "w", type: "wait", mode: "duration", duration: { days: 7 }, outlets: { next: "s" } },
        { id: "s", type: "send", channel: "email", templateId: email, outlets: { next: "x" } },
        { id: "x", type: "exit", outlets: {} },
        { id: "g", type: "goal", eventType: "subscription_started", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const [converter, other] = contactIds as [string, string];
    await recordEvents(db, ws, [{ contactId: converter, type: "subscription_started" }], at(DAY));
    await drain(db, ws.id, campaign.id, { now: at(DAY) });
    const converted = await getEnrollment(db, ws, campaign.id, converter);
    expect(converted.state).toBe("converted");
    expect(converted.steps.at(-1)!.entries[0]).toMatchObject({ nodeId: "g", action: "converted" });
    await drain(db, ws.id, campaign.id, { now: at(7 * DAY) });
    expect((await getEnrollment(db, ws, campaign.id, other)).state).toBe("completed");
    expect(
      await count(
        sql<{ n: number }>`select count(*)::int as n from messages where campaign_id = ${campaign.id}`,
      ),
    ).toBe(1);
  });

  it("applies update nodes, and the next condition sees the change", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 1, sql`'{"stage":"lead"}'::jsonb`);
    const vipList = uuidForList();
    await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${vipList}, 'vips', 'list')`.execute(
      db,
    );
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "u" } },
        {
          id: "u",
          type: "update",
          set: { stage: "customer" },
          addToLists: [vipList],
          consent: [{ channel: "sms", status: "subscribed" }],
          outlets: { next: "c" },
        },
        {
          id: "c",
          type: "condition",
          rule: {
            kind: "field",
            field: "attributes.stage",
            type: "string",
            condition: { op: "eq", value: "customer" },
          },
          outlets: { yes: "ok", no: "stale" },
        },
        { id: "ok", type: "exit", outlets: {} },
        { id: "stale", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const contact = contactIds[0]!;
    expect((await getEnrollment(db, ws, campaign.id, contact)).nodeId).toBe("ok");
    const row = await sql<{ attributes: Record<string, unknown>; sms_consent: string }>`
      select attributes, sms_consent from contacts where id = ${contact}`.execute(db);
    expect(row.rows[0]).toEqual({ attributes: { stage: "customer" }, sms_consent: "subscribed" });
    expect(
      await count(sql<{ n: number }>`select count(*)::int as n from list_members where list_id = ${vipList}`),
    ).toBe(1);
    const ledger = await sql<{ source: string; actor: string; status: string; previous_status: string }>`
      select source, actor, status, previous_status from consent_changes where contact_id = ${contact}`.execute(
      db,
    );
    expect(ledger.rows).toEqual([
      {
        source: "workflow",
        actor: `campaign:${campaign.id}`,
        status: "subscribed",
        previous_status: "never_asked",
      },
    ]);
  });

  it("marks a member failed at the node whose step threw, and retry resumes exactly there", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 20);
    const campaign = await launchGraph(db, ws, listId, sendWaitSend(), T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const broken = new Set(contactIds.slice(0, 5));
    const fault = (contactId: string, nodeId: string) =>
      broken.has(contactId) && nodeId === "w" ? "the SMS template could not be loaded" : undefined;
    const stepped = await drain(db, ws.id, campaign.id, { now: at(DAY), fault });
    expect(stepped).toMatchObject({ moved: 20, failed: 5 });
    const failed = await getEnrollment(db, ws, campaign.id, contactIds[0]!);
    expect(failed).toMatchObject({
      state: "failed",
      nodeId: "w",
      error: "the SMS template could not be loaded",
    });

    const one = await retryCampaign(db, ws, campaign.id, contactIds[0], at(DAY + HOUR));
    expect(one.changed).toBe(1);
    const all = await retryCampaign(db, ws, campaign.id, undefined, at(DAY + HOUR));
    expect(all.changed).toBe(4);
    expect((await retryCampaign(db, ws, campaign.id, undefined, at(DAY + HOUR))).changed).toBe(0);
    await drain(db, ws.id, campaign.id, { now: at(DAY + HOUR) });
    expect((await getCampaign(db, ws, campaign.id)).counts.byState).toEqual({ completed: 20 });
    const retried = await getEnrollment(db, ws, campaign.id, contactIds[0]!);
    expect(retried.steps.map((s) => s.entries.map((e) => e.action).join(","))).toEqual([
      "enrolled",
      "entered,send,waiting",
      "failed",
      "retried",
      "waited,send,exited",
    ]);
    expect(
      await count(
        sql<{ n: number }>`select count(*)::int as n from messages where campaign_id = ${campaign.id}`,
      ),
    ).toBe(40);
  });

  it("fails members at a condition whose audience was deleted, with the reason", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 3);
    const doomed = uuidForList();
    await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${doomed}, 'doomed', 'list')`.execute(
      db,
    );
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "w" } },
        { id: "w", type: "wait", mode: "duration", duration: { hours: 1 }, outlets: { next: "c" } },
        {
          id: "c",
          type: "condition",
          rule: { kind: "list", listId: doomed },
          outlets: { yes: "a", no: "b" },
        },
        { id: "a", type: "exit", outlets: {} },
        { id: "b", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    await sql`delete from audiences where id = ${doomed}`.execute(db);
    const r = await drain(db, ws.id, campaign.id, { now: at(HOUR) });
    expect(r.failed).toBe(3);
    const detail = await getCampaign(db, ws, campaign.id);
    expect(detail.counts.byNode).toEqual([{ nodeId: "c", state: "failed", count: 3 }]);
  });

  it("pause stops stepping, resume continues, cancel exits every member; all idempotent", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 30);
    const campaign = await launchGraph(db, ws, listId, sendWaitSend(), T0);
    expect((await launchCampaign(db, ws, campaign.id, T0)).changed).toBe(0);
    expect((await pauseCampaign(db, ws, campaign.id)).changed).toBe(1);
    expect((await pauseCampaign(db, ws, campaign.id)).changed).toBe(0);
    const paused = await stepCampaignBatch(db, ws.id, campaign.id, { now: T0 });
    expect(paused).toMatchObject({ status: "paused", claimed: 0 });
    expect((await resumeCampaign(db, ws, campaign.id)).changed).toBe(1);
    expect((await drain(db, ws.id, campaign.id, { now: T0 })).claimed).toBe(30);
    const cancelled = await cancelCampaign(db, ws, campaign.id, at(HOUR));
    expect(cancelled).toMatchObject({ changed: 30, campaign: { status: "cancelled" } });
    expect((await cancelCampaign(db, ws, campaign.id)).changed).toBe(0);
    expect((await getCampaign(db, ws, campaign.id)).counts.byState).toEqual({ cancelled: 30 });
    expect((await drain(db, ws.id, campaign.id, { now: at(2 * DAY) })).claimed).toBe(0);
    await expect(resumeCampaign(db, ws, campaign.id)).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(launchCampaign(db, ws, campaign.id)).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("two workers stepping one campaign never process the same member twice", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 3000);
    const campaign = await launchGraph(db, ws, listId, sendWaitSend(), T0);
    const [a, b] = await Promise.all([
      drain(db, ws.id, campaign.id, { now: T0, batchSize: 100, workerId: "a" }),
      drain(db, ws.id, campaign.id, { now: T0, batchSize: 100, workerId: "b" }),
    ]);
    expect(a.claimed + b.claimed).toBe(3000);
    expect(a.claimed).toBeGreaterThan(0);
    expect(b.claimed).toBeGreaterThan(0);
    const history = await sql<{ rows: number; members: number; workers: number }>`
      select count(*)::int as rows, count(distinct contact_id)::int as members, count(distinct worker)::int as workers
      from enrollment_steps where campaign_id = ${campaign.id}`.execute(db);
    expect(history.rows[0]).toEqual({ rows: 3000, members: 3000, workers: 2 });
    expect(
      await count(
        sql<{ n: number }>`select count(*)::int as n from messages where campaign_id = ${campaign.id}`,
      ),
    ).toBe(3000);
  });

  it("an event-triggered entry does not satisfy a later wait for the same event type", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 0);
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s" } },
        { id: "s", type: "send", channel: "email", templateId: email, outlets: { next: "again" } },
        {
          id: "again",
          type: "wait_for",
          for: { kind: "event", eventType: "cart_abandoned" },
          timeout: { days: 1 },
          outlets: { matched: "twice", timed_out: "once" },
        },
        { id: "twice", type: "exit", outlets: {} },
        { id: "once", type: "exit", outlets: {} },
      ],
    };
    const campaign = await launchGraph(db, ws, listId, graph, T0);
    const [result] = (
      await recordEvents(db, ws, [{ email: "shopper@example.com", type: "cart_abandoned" }], T0)
    ).results;
    const contactId = result!.contactId!;
    expect((await enrollOne(db, ws, campaign.id, contactId, T0)).changed).toBe(1);
    expect((await enrollOne(db, ws, campaign.id, contactId, T0)).changed).toBe(0);
    await drain(db, ws.id, campaign.id, { now: at(1000) });
    expect((await getEnrollment(db, ws, campaign.id, contactId)).nodeId).toBe("again");
    await recordEvents(db, ws, [{ contactId, type: "cart_abandoned" }], at(HOUR));
    await drain(db, ws.id, campaign.id, { now: at(HOUR) });
    expect((await getEnrollment(db, ws, campaign.id, contactId)).nodeId).toBe("twice");
  });
});

describe("erasure and references", () => {
  it("erasing a contact removes their journey and ledger rows; a member erased mid-step leaves", async () => {
    const db = database.handle.db;
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 2);
    const campaign = await launchGraph(db, ws, listId, sendWaitSend(), T0);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const [erased, raced] = contactIds as [string, string];
    await eraseContact(db, ws, erased);
    for (const table of ["enrollments", "enrollment_steps", "messages", "list_members"]) {
      const n = await count(
        sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where contact_id = ${erased}`,
      );
      expect(n, table).toBe(0);
    }
    // A contact deleted behind the API's back (e.g. by a retention job) leaves the campaign when stepped.
    await sql`delete from contacts where id = ${raced}`.execute(db);
    await drain(db, ws.id, campaign.id, { now: at(DAY) });
    expect((await getEnrollment(db, ws, campaign.id, raced)).state).toBe("cancelled");
  });

  it("refuses to delete an audience a campaign enrolls from", async () => {
    const db = database.handle.db;
    const { listId } = await seedContactsInList(db, ws.id, 1);
    await launchGraph(db, ws, listId, sendWaitSend(), T0);
    await expect(removeAudience(db, ws, listId)).rejects.toMatchObject({ code: "CONFLICT" });
  });
});

function uuidForList() {
  return crypto.randomUUID();
}
