import type { CampaignCreate, WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { stepCampaignBatch } from "../engine/stepper.ts";
import { recordEvents } from "../events/event.service.ts";
import { CAMPAIGN_SCHEDULE_JOB, CRONTAB } from "../jobs/tasks.ts";
import type { AppError } from "../shared/errors.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, publishGraph, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import {
  CAMPAIGN_ENDED,
  cancelCampaign,
  createCampaign,
  getCampaign,
  getEnrollment,
  launchCampaign,
  pauseCampaign,
  resumeCampaign,
} from "./campaign.service.ts";
import { runCampaignSchedule } from "./schedule.service.ts";
import { checkSchedule } from "./schedule.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;
let workflowId: string;
let listId: string;
let contactIds: string[];

beforeAll(async () => {
  const db = database.handle.db;
  // The workspace's default timezone applies to contacts without one (or with one PostgreSQL does not know).
  ws = await newWorkspaceContext(db, "scheduling", "Europe/Paris");
  const email = await createTemplate(db, ws, {
    name: "hello",
    channel: "email",
    content: { subject: "Hi", html: "<p>Hello</p>" },
  });
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "s1" } },
      { id: "s1", type: "send", channel: "email", templateId: email.id, outlets: { next: "w" } },
      { id: "w", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  ({ workflowId } = await publishGraph(db, ws, graph));
  ({ listId, contactIds } = await seedContactsInList(db, ws.id, 6));
  contactIds.sort();
  const zones = ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", null, "Mars/Olympus_Mons"];
  for (const [i, tz] of zones.entries()) {
    await sql`update contacts set timezone = ${tz} where workspace_id = ${ws.id} and id = ${contactIds[i]!}`.execute(
      db,
    );
  }
  // contactIds[5] keeps its seeded timezone (none): the workspace default too.
});

let n = 0;
const create = (extra: Partial<CampaignCreate>, now = T0, inWs = ws) =>
  createCampaign(
    database.handle.db,
    inWs,
    { name: `scheduled ${++n}`, audienceId: listId, workflowId, ...extra },
    now,
  );

async function enrollmentCount(campaignId: string) {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from enrollments where campaign_id = ${campaignId}`.execute(database.handle.db);
  return rows[0]!.n;
}

async function dueAtByContact(campaignId: string) {
  const { rows } = await sql<{ contact_id: string; due_at: Date }>`
    select contact_id, due_at from enrollments where campaign_id = ${campaignId}`.execute(database.handle.db);
  return new Map(rows.map((r) => [r.contact_id, r.due_at.toISOString()]));
}

async function problemsOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: "VALIDATION_FAILED" });
  return (error as AppError).extra.errors?.map((e) => e.field);
}

describe("checkSchedule", () => {
  it("names the field of every problem", async () => {
    expect(await problemsOf(create({ startAt: at(-HOUR).toISOString() }))).toEqual(["startAt"]);
    expect(
      await problemsOf(
        create({ startAt: at(HOUR).toISOString(), startLocal: { date: "2026-03-10", time: "09:00" } }),
      ),
    ).toEqual(["startLocal"]);
    expect(
      await problemsOf(create({ startAt: at(2 * HOUR).toISOString(), endAt: at(HOUR).toISOString() })),
    ).toEqual(["endAt"]);
    expect(await problemsOf(create({ endAt: at(-MINUTE).toISOString() }))).toEqual(["endAt"]);
    expect(await problemsOf(create({ startLocal: { date: "2026-02-28", time: "09:00" } }))).toEqual([
      "startLocal",
    ]);
    expect(await problemsOf(create({ startLocal: { date: "2027-02-30", time: "09:00" } }))).toEqual([
      "startLocal.date",
    ]);
  });

  it("accepts a start a few minutes late, and a local time still to come somewhere", () => {
    expect(checkSchedule({ startAt: at(-2 * MINUTE).toISOString() }, T0).problems).toEqual([]);
    // 09:00 on T0's day has passed in Paris (10:00 UTC) but not in Pago Pago (UTC−11).
    expect(checkSchedule({ startLocal: { date: "2026-03-02", time: "09:00" } }, T0).problems).toEqual([]);
    // An end before the last timezone's moment would shut some members out before they enter.
    expect(
      checkSchedule(
        { startLocal: { date: "2026-03-10", time: "09:00" }, endAt: "2026-03-10T12:00:00Z" },
        T0,
      ).problems.map((p) => p.field),
    ).toEqual(["endAt"]);
  });
});

describe("a campaign with startAt", () => {
  it("is scheduled at launch and starts when the scheduler runs after startAt, not before", async () => {
    const db = database.handle.db;
    const c = await create({ startAt: at(HOUR).toISOString() });
    expect(c).toMatchObject({
      status: "draft",
      startAt: at(HOUR).toISOString(),
      startLocal: null,
      endAt: null,
    });
    const launched = await launchCampaign(db, ws, c.id, T0);
    expect(launched).toMatchObject({ changed: 0, campaign: { status: "scheduled", launchedAt: null } });
    expect((await launchCampaign(db, ws, c.id, at(MINUTE))).changed).toBe(0);
    expect(await enrollmentCount(c.id)).toBe(0);

    expect(await runCampaignSchedule(db, at(HOUR - MINUTE))).toEqual({ started: [], ended: [] });
    expect((await getCampaign(db, ws, c.id)).status).toBe("scheduled");

    // Two workers' passes at once: one starts it, the other finds nothing left to do.
    const passes = await Promise.all([runCampaignSchedule(db, at(HOUR)), runCampaignSchedule(db, at(HOUR))]);
    expect(passes.flatMap((p) => p.started)).toEqual([c.id]);
    const running = await getCampaign(db, ws, c.id);
    expect(running).toMatchObject({ status: "running", enrolled: 6, launchedAt: at(HOUR).toISOString() });
    expect(await enrollmentCount(c.id)).toBe(6);
    expect((await runCampaignSchedule(db, at(2 * HOUR))).started).toEqual([]);
    await cancelCampaign(db, ws, c.id, at(2 * HOUR));
  });

  it("can be cancelled before it starts; pause and resume do not apply", async () => {
    const db = database.handle.db;
    const c = await create({ startAt: at(HOUR).toISOString() });
    await launchCampaign(db, ws, c.id, T0);
    await expect(pauseCampaign(db, ws, c.id, T0)).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(resumeCampaign(db, ws, c.id, T0)).rejects.toMatchObject({ code: "CONFLICT" });
    expect((await cancelCampaign(db, ws, c.id, T0)).campaign.status).toBe("cancelled");
    expect((await runCampaignSchedule(db, at(2 * HOUR))).started).not.toContain(c.id);
    expect(await enrollmentCount(c.id)).toBe(0);
  });

  it("is neither visible nor startable from another workspace", async () => {
    const db = database.handle.db;
    const other = await newWorkspaceContext(db);
    const c = await create({ startAt: at(HOUR).toISOString() });
    await launchCampaign(db, ws, c.id, T0);
    await expect(getCampaign(db, other, c.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(launchCampaign(db, other, c.id, at(HOUR))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(cancelCampaign(db, other, c.id, T0)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await cancelCampaign(db, ws, c.id, T0);
    expect(await getCampaign(db, ws, c.id)).toMatchObject({ status: "cancelled", enrolled: 0 });
  });

  it("whose end passed too while no worker ran completes without enrolling anyone", async () => {
    const db = database.handle.db;
    const c = await create({ startAt: at(HOUR).toISOString(), endAt: at(2 * HOUR).toISOString() });
    await launchCampaign(db, ws, c.id, T0);
    const pass = await runCampaignSchedule(db, at(3 * HOUR));
    expect(pass.ended).toContain(c.id);
    expect(pass.started).not.toContain(c.id);
    expect(await getCampaign(db, ws, c.id)).toMatchObject({ status: "completed", enrolled: 0 });
  });
});

describe("a campaign with startLocal", () => {
  it("makes each member due at that wall-clock time in their own timezone, across the date line", async () => {
    const db = database.handle.db;
    const c = await create({ startLocal: { date: "2026-03-10", time: "09:00" } });
    expect(c.startLocal).toEqual({ date: "2026-03-10", time: "09:00" });
    const launched = await launchCampaign(db, ws, c.id, T0);
    expect(launched).toMatchObject({ changed: 6, campaign: { status: "running" } });
    const due = await dueAtByContact(c.id);
    expect(contactIds.map((id) => due.get(id))).toEqual([
      "2026-03-09T19:00:00.000Z", // Kiritimati, UTC+14: the first, the day before in UTC
      "2026-03-10T20:00:00.000Z", // Pago Pago, UTC−11: 25 hours later
      "2026-03-10T13:00:00.000Z", // New York, already on EDT (since 8 March)
      "2026-03-10T08:00:00.000Z", // no timezone: the workspace's (Paris, CET)
      "2026-03-10T08:00:00.000Z", // a timezone PostgreSQL does not know: the workspace's
      "2026-03-10T08:00:00.000Z", // never had one: the workspace's
    ]);

    // The stepper does nothing for a member before their moment.
    expect((await drain(db, ws.id, c.id, { now: new Date("2026-03-09T18:59:59Z") })).claimed).toBe(0);
    expect((await drain(db, ws.id, c.id, { now: new Date("2026-03-09T19:00:00Z") })).claimed).toBe(1);
    expect((await drain(db, ws.id, c.id, { now: new Date("2026-03-10T12:59:00Z") })).claimed).toBe(3);
    expect((await drain(db, ws.id, c.id, { now: new Date("2026-03-10T13:00:00Z") })).claimed).toBe(1);
    // 19:00: Kiritimati's member's one-day wait is over; Pago Pago's member has not entered yet.
    expect((await drain(db, ws.id, c.id, { now: new Date("2026-03-10T19:59:00Z") })).claimed).toBe(1);
    expect((await getEnrollment(db, ws, c.id, contactIds[1]!)).nodeId).toBe("entry");
    expect((await drain(db, ws.id, c.id, { now: new Date("2026-03-10T20:00:00Z") })).claimed).toBe(1);
    expect((await getEnrollment(db, ws, c.id, contactIds[1]!)).nodeId).toBe("w");
    await cancelCampaign(db, ws, c.id, T0);
  });

  it("reads a local time in the spring-forward gap an hour later on the clock (03:30 EDT)", async () => {
    const db = database.handle.db;
    const c = await create({ startLocal: { date: "2027-03-14", time: "02:30" } });
    await launchCampaign(db, ws, c.id, T0);
    // 02:30 does not exist in New York that night: PostgreSQL uses the offset before the change (EST,
    // −05:00), i.e. 07:30 UTC = 03:30 EDT.
    expect((await dueAtByContact(c.id)).get(contactIds[2]!)).toBe("2027-03-14T07:30:00.000Z");
    await cancelCampaign(db, ws, c.id, T0);
  });

  it("reads a local time that happens twice at fall-back as the second one (01:30 EST)", async () => {
    const db = database.handle.db;
    const c = await create({ startLocal: { date: "2027-11-07", time: "01:30" } });
    await launchCampaign(db, ws, c.id, T0);
    // 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST): PostgreSQL takes standard time.
    expect((await dueAtByContact(c.id)).get(contactIds[2]!)).toBe("2027-11-07T06:30:00.000Z");
    await cancelCampaign(db, ws, c.id, T0);
  });

  it("is not entered early because of an event the workflow waits for", async () => {
    const db = database.handle.db;
    const waits = await publishGraph(db, ws, {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "wf" } },
        {
          id: "wf",
          type: "wait_for",
          for: { kind: "event", eventType: "purchase" },
          timeout: { days: 3 },
          outlets: { matched: "bought", timed_out: "bought" },
        },
        { id: "bought", type: "exit", outlets: {} },
      ],
    });
    const c = await create({
      workflowId: waits.workflowId,
      startLocal: { date: "2026-03-10", time: "09:00" },
    });
    await launchCampaign(db, ws, c.id, T0);
    const buyer = contactIds[3]!; // Paris: due 2026-03-10T08:00Z
    await recordEvents(
      db,
      ws,
      [{ contactId: buyer, type: "purchase", occurredAt: at(HOUR).toISOString() }],
      at(HOUR),
    );
    expect((await getEnrollment(db, ws, c.id, buyer)).dueAt).toBe("2026-03-10T08:00:00.000Z");
    expect((await drain(db, ws.id, c.id, { now: at(HOUR) })).claimed).toBe(0);
    await cancelCampaign(db, ws, c.id, T0);
  });

  it("launched after every member's moment is simply running, everyone due at once", async () => {
    const db = database.handle.db;
    const c = await create({ startLocal: { date: "2026-03-02", time: "09:00" } });
    const launchedAt = new Date("2026-03-02T21:00:00Z"); // past 09:00 even in Pago Pago (20:00 UTC)
    expect((await launchCampaign(db, ws, c.id, launchedAt)).campaign.status).toBe("running");
    expect((await drain(db, ws.id, c.id, { now: launchedAt })).claimed).toBe(6);
    await cancelCampaign(db, ws, c.id, launchedAt);
  });
});

describe("a campaign with endAt", () => {
  it("ends when the scheduler runs after endAt: members leave with the reason, queued sends are cancelled", async () => {
    const db = database.handle.db;
    const c = await create({ endAt: at(2 * HOUR).toISOString() });
    expect(c.endAt).toBe(at(2 * HOUR).toISOString());
    await launchCampaign(db, ws, c.id, T0);
    await drain(db, ws.id, c.id, { now: T0 }); // each member sent s1 (queued) and waits a day at w
    expect((await runCampaignSchedule(db, at(HOUR))).ended).toEqual([]);

    const pass = await runCampaignSchedule(db, at(2 * HOUR));
    expect(pass.ended).toEqual([c.id]);
    const ended = await getCampaign(db, ws, c.id);
    expect(ended).toMatchObject({ status: "completed", finishedAt: at(2 * HOUR).toISOString() });
    expect(ended.counts.byState).toEqual({ cancelled: 6 });
    expect(ended.counts.messages).toEqual({ email: { cancelled: 6 } });
    const { rows } = await sql<{ reason: string }>`
      select distinct reason from messages where campaign_id = ${c.id}`.execute(db);
    expect(rows).toEqual([{ reason: CAMPAIGN_ENDED }]);
    const journey = await getEnrollment(db, ws, c.id, contactIds[0]!);
    expect(journey.steps.at(-1)?.entries).toMatchObject([
      { nodeId: "w", action: "cancelled", reason: "the campaign ended" },
    ]);
    // Idempotent: a second pass (another worker, a later minute) changes nothing.
    expect((await runCampaignSchedule(db, at(3 * HOUR))).ended).toEqual([]);
    expect((await stepCampaignBatch(db, ws.id, c.id, { now: at(2 * 24 * HOUR) })).claimed).toBe(0);
  });
});

describe("the scheduler job", () => {
  it("runs every minute", () => {
    expect(CRONTAB).toContain(`* * * * * ${CAMPAIGN_SCHEDULE_JOB} `);
  });
});
