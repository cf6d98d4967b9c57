import type { SplitExperiment, WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { stepCampaignBatch } from "../engine/stepper.ts";
import { recordEvents } from "../events/event.service.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, publishGraph, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { simulateWorkflow } from "../workflows/simulator.ts";
import {
  compileWorkflow,
  type ExperimentState,
  testShareBucket,
  transition,
} from "../workflows/transition.ts";
import { createCampaign, enrollOne, getEnrollment, launchCampaign } from "./campaign.service.ts";
import { listExperiments } from "./experiment.service.ts";
import { chooseWinner, type ExperimentStatistics } from "./experiment.ts";

const clickTest: SplitExperiment = {
  testPercent: 20,
  window: { hours: 24 },
  metric: "click",
  fallback: "a",
};

describe("chooseWinner", () => {
  it("picks the best variant when the z-test against the other is significant", () => {
    const decision = chooseWinner(clickTest, [
      { key: "a", members: 1000, successes: 80 },
      { key: "b", members: 1000, successes: 121 },
    ]);
    expect(decision.winner).toBe("b");
    expect(decision.reason).toBe('the winner: click rate 12.1% vs 8.0% for "a", p = 0.002');
    const s = decision.statistics;
    expect(s).toMatchObject({ metric: "click", confidence: 0.95, best: "b", significant: true });
    // Known values (scipy): z = 3.04920, two-sided p = 0.0022946; Wilson 95% of 121/1000 = [0.10222, 0.14268].
    expect(s.comparisons).toHaveLength(1);
    expect(s.comparisons[0]!.z).toBeCloseTo(3.0492, 4);
    expect(s.comparisons[0]!.pValue).toBeCloseTo(0.0022946, 5);
    expect(s.variants[1]!.interval.low).toBeCloseTo(0.10222, 4);
    expect(s.variants[1]!.interval.high).toBeCloseTo(0.14268, 4);
    expect(s.variants[0]!.interval.low).toBeCloseTo(0.06475, 4);
  });

  const cases: {
    name: string;
    experiment: Partial<SplitExperiment>;
    counts: [string, number, number][];
    winner: string;
    significant: boolean;
    reason: string | RegExp;
  }[] = [
    {
      name: "not significant (p = 0.65): the declared fallback",
      experiment: {},
      counts: [
        ["a", 100, 10],
        ["b", 100, 12],
      ],
      winner: "a",
      significant: false,
      reason:
        'the fallback: no significant difference at 95% confidence (click rate 12.0% vs 10.0% for "a", p = 0.651)',
    },
    {
      name: 'not significant, fallback "best": the highest observed rate',
      experiment: { fallback: "best" },
      counts: [
        ["a", 100, 10],
        ["b", 100, 12],
      ],
      winner: "b",
      significant: false,
      reason: /^the best observed rate \(fallback "best"\): no significant difference/,
    },
    {
      name: "the fallback may be the better variant",
      experiment: { fallback: "b", metric: "open" },
      counts: [
        ["a", 100, 12],
        ["b", 100, 10],
      ],
      winner: "b",
      significant: false,
      reason: /open rate 12\.0% vs 10\.0% for "b"/,
    },
    {
      name: "p = 0.035 is significant at 0.95 but not at 0.99",
      experiment: { confidence: 0.99 },
      counts: [
        ["a", 500, 40],
        ["b", 500, 60],
      ],
      winner: "a",
      significant: false,
      reason: /at 99% confidence/,
    },
    {
      name: "the same p = 0.035 at 0.95 with two variants: significant",
      experiment: {},
      counts: [
        ["a", 500, 40],
        ["b", 500, 60],
      ],
      winner: "b",
      significant: true,
      reason: 'the winner: click rate 12.0% vs 8.0% for "a", p = 0.035',
    },
    {
      name: "three variants: each p = 0.035 fails the Bonferroni-corrected 0.975",
      experiment: {},
      counts: [
        ["a", 500, 40],
        ["b", 500, 60],
        ["c", 500, 40],
      ],
      winner: "a",
      significant: false,
      reason: /no significant difference/,
    },
    {
      name: "three variants: the best must beat every other, not only the worst",
      experiment: {},
      counts: [
        ["a", 1000, 80],
        ["b", 1000, 121],
        ["c", 1000, 115],
      ],
      winner: "a",
      significant: false,
      reason: /vs 11\.5% for "c"/,
    },
    {
      name: "three variants, clearly apart: the best",
      experiment: { fallback: "c" },
      counts: [
        ["a", 1000, 80],
        ["b", 1000, 160],
        ["c", 1000, 90],
      ],
      winner: "b",
      significant: true,
      reason: /^the winner: click rate 16\.0% vs 9\.0% for "c", p < 0\.001$/,
    },
    {
      name: "equal rates: the first of equals is best, and nothing is significant",
      experiment: { fallback: "best" },
      counts: [
        ["a", 100, 0],
        ["b", 100, 0],
      ],
      winner: "a",
      significant: false,
      reason: /no significant difference/,
    },
    {
      name: "no test member at all: the fallback",
      experiment: { fallback: "b" },
      counts: [
        ["a", 0, 0],
        ["b", 0, 0],
      ],
      winner: "b",
      significant: false,
      reason: "the fallback: no test member to compare",
    },
  ];
  it.each(cases)("$name", ({ experiment, counts, winner, significant, reason }) => {
    const decision = chooseWinner(
      { ...clickTest, ...experiment },
      counts.map(([key, members, successes]) => ({ key, members, successes })),
    );
    expect(decision.winner).toBe(winner);
    expect(decision.statistics.significant).toBe(significant);
    if (typeof reason === "string") expect(decision.reason).toBe(reason);
    else expect(decision.reason).toMatch(reason);
  });
});

describe("transition at an experiment split", () => {
  const T = new Date("2026-03-02T10:00:00Z");
  const later = (ms: number) => new Date(T.getTime() + ms);
  const wf = compileWorkflow({
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "ab" } },
      {
        id: "ab",
        type: "split",
        branches: [
          { key: "a", weight: 50 },
          { key: "b", weight: 50 },
        ],
        experiment: { testPercent: 50, window: { hours: 24 }, metric: "click", fallback: "a" },
        outlets: { a: "done", b: "done" },
      },
      { id: "done", type: "exit", outlets: {} },
    ],
  });
  // Two contacts on either side of the 50% test share.
  const ids = Array.from({ length: 40 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
  const tester = ids.find((id) => testShareBucket("ab", id) < 0.5)!;
  const outsider = ids.find((id) => testShareBucket("ab", id) >= 0.5)!;
  const decideAt = later(24 * 3_600_000);
  const testing: ExperimentState = { status: "testing", decideAt };
  const decided: ExperimentState = { status: "decided", decideAt, winner: "b", reason: "the winner: …" };
  const step = (
    contactId: string,
    state: ExperimentState | undefined,
    now: Date,
    at: "entry" | "ab" = "entry",
  ) =>
    transition(
      wf,
      "c",
      {
        contactId,
        nodeId: at,
        state: "active",
        enrolledAt: T,
        nodeEnteredAt: T,
        iteration: 2,
        seq: 1,
        // At the split: held there since T (not arriving). At the entry: arriving.
        dueAt: at === "ab" ? decideAt : T,
      },
      {
        timeZone: "UTC",
        attributes: {},
        events: [],
        condition: () => "yes",
        experiment: () => state,
      },
      now,
    );

  it.each([
    {
      name: "the first arrival starts the window; a tester takes a variant",
      contact: tester,
      state: undefined,
      now: T,
      node: "done",
      dueAt: null,
      experiments: [
        { kind: "start", nodeId: "ab", startedAt: T, decideAt },
        { kind: "assign", nodeId: "ab", phase: "test" },
      ],
    },
    {
      name: "the first arrival starts the window; an outsider waits for the decision",
      contact: outsider,
      state: undefined,
      now: T,
      node: "ab",
      dueAt: decideAt,
      experiments: [{ kind: "start", nodeId: "ab", startedAt: T, decideAt }],
    },
    {
      name: "an outsider arriving during the test waits until decide_at",
      contact: outsider,
      state: testing,
      now: later(3_600_000),
      node: "ab",
      dueAt: decideAt,
      experiments: undefined,
    },
    {
      name: "a tester arriving after the window waits for the decision like everyone",
      contact: tester,
      state: testing,
      now: later(25 * 3_600_000),
      node: "ab",
      dueAt: decideAt,
      experiments: undefined,
    },
    {
      name: "after the decision, anyone arriving goes to the winner",
      contact: tester,
      state: decided,
      now: later(25 * 3_600_000),
      node: "done",
      dueAt: null,
      experiments: [{ kind: "assign", nodeId: "ab", branch: "b", phase: "rollout" }],
    },
  ])("$name", ({ contact, state, now, node, dueAt, experiments }) => {
    const result = step(contact, state, now);
    expect(result).toMatchObject({ nodeId: node, dueAt });
    if (experiments === undefined) expect(result.experiments).toBeUndefined();
    else expect(result.experiments).toMatchObject(experiments);
  });

  it("a held member woken early stays; once decided, goes to the winner with the reason", () => {
    const early = step(outsider, testing, later(3_600_000), "ab");
    expect(early).toMatchObject({ moved: false, nodeId: "ab", dueAt: decideAt, trace: [] });
    const routed = step(outsider, decided, decideAt, "ab");
    expect(routed).toMatchObject({ moved: true, nodeId: "done", state: "completed" });
    expect(routed.trace[0]).toMatchObject({
      action: "split",
      outlet: "b",
      reason: 'routed to variant "b", the winner: …',
    });
  });
});

// ---- End to end, with the stepper on a real database ----

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const HOUR = 3_600_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;
let emailA: string;
let emailB: string;

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  const template = (name: string) =>
    createTemplate(db, ws, { name, channel: "email", content: { subject: name, html: `<p>${name}</p>` } });
  emailA = (await template("variant a")).id;
  emailB = (await template("variant b")).id;
});

/** entry → ab (split, experiment) → send_a | send_b → done. */
const abGraph = (experiment: SplitExperiment, afterSend = "done"): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "ab" } },
    {
      id: "ab",
      type: "split",
      branches: [
        { key: "a", weight: 50 },
        { key: "b", weight: 50 },
      ],
      experiment,
      outlets: { a: "send_a", b: "send_b" },
    },
    { id: "send_a", type: "send", channel: "email", templateId: emailA, outlets: { next: afterSend } },
    { id: "send_b", type: "send", channel: "email", templateId: emailB, outlets: { next: afterSend } },
    { id: "done", type: "exit", outlets: {} },
  ],
});

async function launch(graph: WorkflowGraph, members: number, holdoutPercent = 0) {
  const db = database.handle.db;
  const { listId, contactIds } = await seedContactsInList(db, ws.id, members);
  const { workflowId } = await publishGraph(db, ws, graph);
  const created = await createCampaign(db, ws, {
    name: `experiment ${listId}`,
    audienceId: listId,
    workflowId,
    holdoutPercent,
  });
  const { campaign } = await launchCampaign(db, ws, created.id, T0);
  return { campaign, contactIds };
}

async function assignments(campaignId: string) {
  const { rows } = await sql<{ contact_id: string; branch: string; phase: string; holdout: boolean }>`
    select a.contact_id, a.branch, a.phase, e.holdout from split_assignments a
    join enrollments e using (workspace_id, campaign_id, contact_id)
    where a.workspace_id = ${ws.id} and a.campaign_id = ${campaignId}`.execute(database.handle.db);
  const of = (phase: string, branch?: string) =>
    rows.filter((r) => r.phase === phase && (branch === undefined || r.branch === branch));
  return { rows, of };
}

/** Response events of the campaign's messages, as the tracking and hooks features record them. */
async function respond(
  campaignId: string,
  contactIds: string[],
  type: string,
  occurredAt: Date,
  extra: Record<string, unknown> = {},
) {
  if (contactIds.length === 0) return;
  const properties = JSON.stringify({ campaignId, nodeId: "send_x", channel: "email", ...extra });
  await sql`
    insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
    select ${ws.id}, gen_random_uuid()::text, c, ${type}, ${properties}::jsonb, ${occurredAt}
    from unnest(${contactIds}::uuid[]) as c`.execute(database.handle.db);
}

const everyOther = <T>(items: T[], n: number) => items.filter((_, i) => i % n === 0);

describe("an experiment split in a running campaign", () => {
  it("tests variants on the test share, holds the rest, then routes them to the winner", async () => {
    const db = database.handle.db;
    const { campaign, contactIds } = await launch(
      abGraph({ testPercent: 50, window: { hours: 24 }, metric: "click", fallback: "a" }),
      400,
    );
    await drain(db, ws.id, campaign.id, { now: T0 });

    const test = await assignments(campaign.id);
    const inTest = new Set(contactIds.filter((id) => testShareBucket("ab", id) < 0.5));
    expect(new Set(test.of("test").map((r) => r.contact_id))).toEqual(inTest);
    expect(inTest.size).toBeGreaterThan(150);
    expect(inTest.size).toBeLessThan(250);
    const testA = test.of("test", "a").map((r) => r.contact_id);
    const testB = test.of("test", "b").map((r) => r.contact_id);
    expect(testA.length).toBeGreaterThan(50);
    expect(testB.length).toBeGreaterThan(50);

    const held = contactIds.filter((id) => !inTest.has(id));
    const { rows: waiting } = await sql<{ n: number; due: Date }>`
      select count(*)::int as n, min(due_at) as due from enrollments
      where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and node_id = 'ab' and state = 'active'
      group by due_at`.execute(db);
    expect(waiting).toEqual([{ n: held.length, due: at(24 * HOUR) }]);
    const heldTrace = (await getEnrollment(db, ws, campaign.id, held[0]!)).steps.at(-1)!.entries.at(-1)!;
    expect(heldTrace).toMatchObject({ nodeId: "ab", action: "waiting" });
    expect(heldTrace.reason).toBe(
      "waiting for the experiment's decision at 2026-03-03T10:00:00.000Z (not in the 50% test share)",
    );
    const testTrace = (await getEnrollment(db, ws, campaign.id, testB[0]!)).steps.at(-1)!.entries[1]!;
    expect(testTrace.reason).toMatch(
      /^in the experiment's 50% test share until .*: bucket .* falls in variant "b"/,
    );
    expect(await listExperiments(db, ws.id, campaign.id)).toEqual([
      {
        nodeId: "ab",
        status: "testing",
        startedAt: T0,
        decideAt: at(24 * HOUR),
        decidedAt: null,
        winner: null,
        reason: null,
        statistics: null,
      },
    ]);

    // Half of b's test members click, a tenth of a's; a's members also get a machine click each (a
    // link scanner), which must not count.
    const clickedB = everyOther(testB, 2);
    const clickedA = everyOther(testA, 10);
    await respond(campaign.id, clickedB, "message.clicked", at(HOUR));
    await respond(campaign.id, clickedA, "message.clicked", at(2 * HOUR));
    await respond(campaign.id, testA, "message.clicked", at(3 * HOUR), { machine: true });
    // Opens are not the metric.
    await respond(campaign.id, testA, "message.opened", at(HOUR));

    // Nothing moves before the window ends.
    expect((await drain(db, ws.id, campaign.id, { now: at(24 * HOUR - 1) })).claimed).toBe(0);
    const rollout = await drain(db, ws.id, campaign.id, { now: at(24 * HOUR) });
    expect(rollout).toMatchObject({ claimed: held.length, moved: held.length, sends: held.length });

    const [experiment] = await listExperiments(db, ws.id, campaign.id);
    expect(experiment).toMatchObject({
      nodeId: "ab",
      status: "decided",
      winner: "b",
      decidedAt: at(24 * HOUR),
    });
    const stats = experiment!.statistics as ExperimentStatistics;
    expect(stats.variants.map(({ key, members, successes }) => ({ key, members, successes }))).toEqual([
      { key: "a", members: testA.length, successes: clickedA.length },
      { key: "b", members: testB.length, successes: clickedB.length },
    ]);
    expect(stats).toMatchObject({ metric: "click", best: "b", significant: true });
    expect(stats.comparisons[0]!.pValue).toBeLessThan(0.001);
    expect(experiment!.reason).toMatch(/^the winner: click rate \d+\.\d% vs \d+\.\d% for "a", p < 0\.001$/);

    const after = await assignments(campaign.id);
    expect(
      after
        .of("rollout")
        .map((r) => r.contact_id)
        .sort(),
    ).toEqual([...held].sort());
    expect(after.of("rollout", "a")).toEqual([]);
    const { rows: sent } = await sql<{ node_id: string; n: number }>`
      select node_id, count(*)::int as n from messages where campaign_id = ${campaign.id}
      group by node_id order by node_id`.execute(db);
    expect(sent).toEqual([
      { node_id: "send_a", n: testA.length },
      { node_id: "send_b", n: testB.length + held.length },
    ]);
    const routed = (await getEnrollment(db, ws, campaign.id, held[0]!)).steps.at(-1)!.entries[0]!;
    expect(routed).toMatchObject({ nodeId: "ab", action: "split", outlet: "b" });
    expect(routed.reason).toBe(`routed to variant "b", ${experiment!.reason}`);

    // A member who arrives after the decision goes straight to the winner, test share or not.
    const [late] = (await seedContactsInList(db, ws.id, 1)).contactIds;
    await enrollOne(db, ws, campaign.id, late!, at(30 * HOUR));
    await drain(db, ws.id, campaign.id, { now: at(30 * HOUR) });
    expect((await getEnrollment(db, ws, campaign.id, late!)).messages.map((m) => m.nodeId)).toEqual([
      "send_b",
    ]);
    expect((await assignments(campaign.id)).rows.find((r) => r.contact_id === late)).toMatchObject({
      branch: "b",
      phase: "rollout",
    });
  });

  it("routes the rest to the declared fallback when no difference is significant", async () => {
    const db = database.handle.db;
    const { campaign } = await launch(
      abGraph({ testPercent: 30, window: { hours: 6 }, metric: "open", fallback: "a", confidence: 0.9 }),
      200,
    );
    await drain(db, ws.id, campaign.id, { now: T0 });
    const test = await assignments(campaign.id);
    // Both variants open alike: a fifth of each.
    await respond(
      campaign.id,
      everyOther(
        test.of("test", "a").map((r) => r.contact_id),
        5,
      ),
      "message.opened",
      at(HOUR),
    );
    await respond(
      campaign.id,
      everyOther(
        test.of("test", "b").map((r) => r.contact_id),
        5,
      ),
      "message.opened",
      at(HOUR),
    );
    const held = 200 - test.of("test").length;
    expect((await drain(db, ws.id, campaign.id, { now: at(6 * HOUR) })).moved).toBe(held);

    const [experiment] = await listExperiments(db, ws.id, campaign.id);
    expect(experiment).toMatchObject({ status: "decided", winner: "a" });
    expect(experiment!.reason).toMatch(
      /^the fallback: no significant difference at 90% confidence \(open rate/,
    );
    expect(experiment!.statistics).toMatchObject({ significant: false, confidence: 0.9, fallback: "a" });
    expect((await assignments(campaign.id)).of("rollout", "a")).toHaveLength(held);
  });

  it("leaves holdout members out of the statistics", async () => {
    const db = database.handle.db;
    const { campaign } = await launch(
      abGraph({ testPercent: 50, window: { hours: 24 }, metric: "click", fallback: "a" }),
      300,
      40,
    );
    await drain(db, ws.id, campaign.id, { now: T0 });
    const test = (await assignments(campaign.id)).of("test");
    const holdout = test.filter((r) => r.holdout);
    expect(holdout.length).toBeGreaterThan(10);
    // Only held-out members of b "click" (they were never contacted: a response would be noise).
    await respond(
      campaign.id,
      holdout.filter((r) => r.branch === "b").map((r) => r.contact_id),
      "message.clicked",
      at(HOUR),
    );
    await drain(db, ws.id, campaign.id, { now: at(24 * HOUR) });

    const [experiment] = await listExperiments(db, ws.id, campaign.id);
    const counted = (key: string) => test.filter((r) => r.branch === key && !r.holdout).length;
    expect(experiment!.statistics!.variants.map((v) => [v.key, v.members, v.successes])).toEqual([
      ["a", counted("a"), 0],
      ["b", counted("b"), 0],
    ]);
    expect(experiment).toMatchObject({ winner: "a", reason: expect.stringMatching(/^the fallback/) });
  });

  it("counts a person's click on an email as an open of the open metric, a scanner's not", async () => {
    const db = database.handle.db;
    const { campaign } = await launch(
      abGraph({ testPercent: 50, window: { hours: 6 }, metric: "open", fallback: "a" }),
      200,
    );
    await drain(db, ws.id, campaign.id, { now: T0 });
    const test = await assignments(campaign.id);
    const a = test.of("test", "a").map((r) => r.contact_id);
    const b = test.of("test", "b").map((r) => r.contact_id);
    // Half of b's members click with images blocked (no open event); a's members are only scanned.
    const clickedB = everyOther(b, 2);
    await respond(campaign.id, clickedB, "message.clicked", at(HOUR));
    await respond(campaign.id, a, "message.clicked", at(HOUR), { machine: true });
    await drain(db, ws.id, campaign.id, { now: at(6 * HOUR) });

    const [experiment] = await listExperiments(db, ws.id, campaign.id);
    expect(experiment!.statistics!.variants.map((v) => [v.key, v.members, v.successes])).toEqual([
      ["a", a.length, 0],
      ["b", b.length, clickedB.length],
    ]);
    expect(experiment).toMatchObject({ status: "decided", winner: "b" });
  });

  it("counts a conversion by the campaign's goal as a success of the conversion metric", async () => {
    const db = database.handle.db;
    const graph = abGraph(
      { testPercent: 40, window: { hours: 24 }, metric: "conversion", fallback: "a" },
      "w",
    );
    graph.nodes.push(
      { id: "w", type: "wait", mode: "duration", duration: { days: 3 }, outlets: { next: "done" } },
      { id: "bought", type: "goal", eventType: "upgrade", outlets: {} },
    );
    const { campaign } = await launch(graph, 200);
    await drain(db, ws.id, campaign.id, { now: T0 });
    const test = await assignments(campaign.id);
    const buyers = test.of("test", "b").map((r) => r.contact_id);
    await recordEvents(
      db,
      ws,
      buyers.map((contactId) => ({ contactId, type: "upgrade", occurredAt: at(HOUR).toISOString() })),
      at(HOUR),
    );
    await drain(db, ws.id, campaign.id, { now: at(HOUR) });
    await drain(db, ws.id, campaign.id, { now: at(24 * HOUR) });

    const [experiment] = await listExperiments(db, ws.id, campaign.id);
    expect(experiment).toMatchObject({ winner: "b", statistics: { significant: true } });
    expect(experiment!.statistics!.variants.map((v) => v.successes)).toEqual([0, buyers.length]);
  });

  it("is decided once when two workers reach the end of the window together", async () => {
    const db = database.handle.db;
    const { campaign } = await launch(
      abGraph({ testPercent: 40, window: { hours: 24 }, metric: "click", fallback: "a" }),
      300,
    );
    await drain(db, ws.id, campaign.id, { now: T0 });
    const test = await assignments(campaign.id);
    await respond(
      campaign.id,
      test.of("test", "b").map((r) => r.contact_id),
      "message.clicked",
      at(HOUR),
    );
    const held = 300 - test.of("test").length;

    // Every decision leaves a row here (a test-only trigger on this file's database).
    await sql`create table decisions (campaign_id uuid, node_id text, winner text, decided_at timestamptz)`.execute(
      db,
    );
    await sql`
      create function log_decision() returns trigger language plpgsql as $$
      begin
        insert into decisions values (new.campaign_id, new.node_id, new.winner, new.decided_at);
        return new;
      end $$`.execute(db);
    await sql`
      create trigger log_decision after update on split_experiments
      for each row when (new.status = 'decided') execute function log_decision()`.execute(db);

    // A third transaction holds the experiment as a batch assigning test members would: both workers
    // come to decide, and wait for it.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holder = db.transaction().execute(async (trx) => {
      await sql`select 1 from split_experiments where campaign_id = ${campaign.id} for share`.execute(trx);
      await gate;
    });
    const one = stepCampaignBatch(db, ws.id, campaign.id, {
      now: at(24 * HOUR),
      batchSize: 50,
      workerId: "w-1",
    });
    const two = stepCampaignBatch(db, ws.id, campaign.id, {
      now: at(24 * HOUR + 1000),
      batchSize: 50,
      workerId: "w-2",
    });
    for (let tries = 0; ; tries++) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
      if (rows[0]!.n === 2) break;
      if (tries > 500) throw new Error("the two workers never came to wait for the decision");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    await holder;
    const [first, second] = await Promise.all([one, two]);
    expect(first.claimed + second.claimed).toBe(Math.min(100, held));
    await drain(db, ws.id, campaign.id, { now: at(25 * HOUR) });

    const { rows: decisions } = await sql<{ winner: string }>`select winner from decisions`.execute(db);
    expect(decisions).toEqual([{ winner: "b" }]);
    const rolled = (await assignments(campaign.id)).of("rollout");
    expect(rolled).toHaveLength(held);
    expect(new Set(rolled.map((r) => r.branch))).toEqual(new Set(["b"]));
  });
});

describe("simulating an experiment split", () => {
  it("starts the window at the member's arrival and stands in the fallback for the winner", async () => {
    const db = database.handle.db;
    const { workflowId, version } = await publishGraph(
      db,
      ws,
      abGraph({ testPercent: 1, window: { hours: 12 }, metric: "click", fallback: "b" }),
    );
    // The hypothetical contact's bucket is far from the 1% test share.
    expect(testShareBucket("ab", "00000000-0000-4000-8000-000000000000")).toBeGreaterThan(0.01);
    const simulation = await simulateWorkflow(db, ws, workflowId, version, { start: T0.toISOString() }, T0);
    expect(simulation.timeline.map((e) => `${e.nodeId}:${e.action}`)).toEqual([
      "entry:entered",
      "ab:waiting",
      "ab:split",
      "send_b:send",
      "done:exited",
    ]);
    expect(simulation.timeline[2]).toMatchObject({
      at: at(12 * HOUR).toISOString(),
      reason: 'routed to variant "b", the fallback: a simulation measures no responses',
    });
  });
});
