/**
 * The journey engine's decisions, as tables of cases: one member, one step, no database. Every case
 * names the member's place (node, entry time, step counters), the facts and the time, and checks where
 * the member ends up, when they are due again, what the step causes and how the trace explains it.
 */
import type { Rule } from "@omneural/contracts/audiences";
import type { NodeOf, Weekday, WorkflowNode } from "@omneural/contracts/workflows";
import { describe, expect, it } from "vitest";
import {
  type CompiledWorkflow,
  compileWorkflow,
  type Effect,
  type FactEvent,
  idempotencyKey,
  type MemberFacts,
  type MemberState,
  type StepResult,
  splitBucket,
  transition,
} from "./transition.ts";

const CAMPAIGN = "6f1c2a40-0000-4000-8000-00000000c001";
const OTHER_CAMPAIGN = "6f1c2a40-0000-4000-8000-00000000c002";
const CONTACT = "0d5e7b10-0000-4000-8000-000000000001";
const EMAIL_TEMPLATE = "7a000000-0000-4000-8000-000000000001";
const SMS_TEMPLATE = "7a000000-0000-4000-8000-000000000002";
const MAIL_TEMPLATE = "7a000000-0000-4000-8000-000000000003";
const AD_DESTINATION = "ad000000-0000-4000-8000-0000000000d1";
const LIST_A = "1b000000-0000-4000-8000-00000000000a";
const LIST_B = "1b000000-0000-4000-8000-00000000000b";
const NEW_YORK = "America/New_York";
const KOLKATA = "Asia/Kolkata";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Every member below enrolled on Monday 2 March 2026 at 12:00 UTC. */
const T0 = new Date("2026-03-02T12:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const utc = (iso: string) => new Date(iso);

/** Conditions are decided by `facts.condition` in these tests, so the rule itself does not matter. */
const ANY_RULE: Rule = { kind: "all", rules: [] };

// ---- Builders ----

const compile = (...nodes: WorkflowNode[]): CompiledWorkflow => compileWorkflow({ nodes });
const entry = (next: string): WorkflowNode => ({ id: "entry", type: "entry", outlets: { next } });
const exit = (id: string): WorkflowNode => ({ id, type: "exit", outlets: {} });
const email = (id: string, next: string, label?: string): WorkflowNode => ({
  id,
  type: "send",
  channel: "email",
  templateId: EMAIL_TEMPLATE,
  ...(label ? { label } : {}),
  outlets: { next },
});

function member(nodeId: string, overrides: Partial<MemberState> = {}): MemberState {
  return {
    contactId: CONTACT,
    nodeId,
    state: "active",
    enrolledAt: T0,
    nodeEnteredAt: T0,
    iteration: 1,
    seq: 0,
    ...overrides,
  };
}

function facts(overrides: Partial<MemberFacts> = {}): MemberFacts {
  return {
    timeZone: "UTC",
    attributes: {},
    events: [],
    condition(node) {
      throw new Error(`condition ${node.id} was not expected to be evaluated`);
    },
    ...overrides,
  };
}

const event = (type: string, occurredAt: Date, properties: Record<string, unknown> = {}): FactEvent => ({
  type,
  occurredAt,
  properties,
});

const step = (wf: CompiledWorkflow, m: MemberState, f: MemberFacts, now: Date): StepResult =>
  transition(wf, CAMPAIGN, m, f, now);

/** The trace as "node:action", the way a member's history shows it. */
const actions = (result: StepResult) => result.trace.map((t) => `${t.nodeId}:${t.action}`);
/** The outlets the step took, as "node→outlet". */
const outletsTaken = (result: StepResult) =>
  result.trace.filter((t) => t.outlet !== undefined).map((t) => `${t.nodeId}→${t.outlet}`);
const reasonAt = (result: StepResult, nodeId: string) =>
  result.trace.find((t) => t.nodeId === nodeId)?.reason;

// ---- Node types ----

describe("entry", () => {
  it("enters the first node and goes on until a node makes the member wait", () => {
    const wf = compile(
      entry("hello"),
      email("hello", "pause"),
      { id: "pause", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } },
      exit("done"),
    );
    const now = at(5 * MINUTE);
    const result = step(wf, member("entry"), facts(), now);
    expect(result).toMatchObject({
      moved: true,
      nodeId: "pause",
      state: "active",
      dueAt: new Date(now.getTime() + DAY),
      nodeEnteredAt: now,
      error: null,
    });
    expect(actions(result)).toEqual(["entry:entered", "hello:send", "pause:waiting"]);
    expect(result.trace[0]).toEqual({
      at: now,
      nodeId: "entry",
      nodeType: "entry",
      action: "entered",
      reason: "enrolled in the campaign",
      outlet: "next",
    });
    expect(result.effects.map((e) => `${e.kind}:${e.nodeId}`)).toEqual(["send:hello"]);
  });
});

describe("send", () => {
  const cases = [
    {
      channel: "email",
      templateId: EMAIL_TEMPLATE,
      destination: null,
      audienceAction: undefined,
      expectedAction: null,
      reason: `queued email with template ${EMAIL_TEMPLATE}`,
    },
    {
      channel: "sms",
      templateId: SMS_TEMPLATE,
      destination: null,
      audienceAction: undefined,
      expectedAction: null,
      reason: `queued sms with template ${SMS_TEMPLATE}`,
    },
    {
      channel: "mail",
      templateId: MAIL_TEMPLATE,
      destination: null,
      audienceAction: undefined,
      expectedAction: null,
      reason: `queued mail with template ${MAIL_TEMPLATE}`,
    },
    {
      channel: "ads",
      templateId: null,
      destination: AD_DESTINATION,
      audienceAction: undefined,
      expectedAction: "add",
      reason: `queued ads: add to ad destination ${AD_DESTINATION}`,
    },
    {
      channel: "ads",
      templateId: null,
      destination: AD_DESTINATION,
      audienceAction: "remove",
      expectedAction: "remove",
      reason: `queued ads: remove from ad destination ${AD_DESTINATION}`,
    },
  ] as const;

  it.each(cases)("$reason: one send effect, then on to the next node", (c) => {
    const wf = compile(
      entry("s1"),
      {
        id: "s1",
        type: "send",
        channel: c.channel,
        ...(c.templateId ? { templateId: c.templateId } : {}),
        ...(c.destination ? { destination: c.destination } : {}),
        ...(c.audienceAction ? { audienceAction: c.audienceAction } : {}),
        outlets: { next: "done" },
      },
      exit("done"),
    );
    const result = step(wf, member("s1", { iteration: 2, seq: 6 }), facts(), at(HOUR));
    expect(result.effects).toEqual([
      {
        kind: "send",
        nodeId: "s1",
        channel: c.channel,
        templateId: c.templateId,
        destination: c.destination,
        audienceAction: c.expectedAction,
        retry: null,
        idempotencyKey: `${CAMPAIGN}:${CONTACT}:s1:2:7`,
      },
    ]);
    expect(actions(result)).toEqual(["s1:send", "done:exited"]);
    expect(result.trace[0]).toMatchObject({ nodeType: "send", outlet: "next", reason: c.reason });
    expect(result).toMatchObject({ moved: true, nodeId: "done", state: "completed", dueAt: null });
  });

  it("passes the node's retry policy on with the send", () => {
    const retry = { maxAttempts: 3, backoffSeconds: 120 };
    const wf = compile(
      entry("s1"),
      { id: "s1", type: "send", channel: "sms", templateId: SMS_TEMPLATE, retry, outlets: { next: "done" } },
      exit("done"),
    );
    const [effect] = step(wf, member("s1"), facts(), at(HOUR)).effects;
    expect(effect).toMatchObject({ kind: "send", retry });
  });

  it("gives two sends in one step keys that differ by node and share the step number", () => {
    const wf = compile(entry("first"), email("first", "second"), email("second", "done"), exit("done"));
    const result = step(wf, member("entry", { iteration: 1, seq: 0 }), facts(), T0);
    expect(result.effects.map((e) => (e.kind === "update" ? null : e.idempotencyKey))).toEqual([
      `${CAMPAIGN}:${CONTACT}:first:1:1`,
      `${CAMPAIGN}:${CONTACT}:second:1:1`,
    ]);
  });
});

describe("idempotencyKey", () => {
  it.each([
    { campaign: CAMPAIGN, nodeId: "s1", iteration: 1, seq: 0, key: `${CAMPAIGN}:${CONTACT}:s1:1:1` },
    { campaign: CAMPAIGN, nodeId: "s1", iteration: 1, seq: 4, key: `${CAMPAIGN}:${CONTACT}:s1:1:5` },
    { campaign: CAMPAIGN, nodeId: "s1", iteration: 3, seq: 4, key: `${CAMPAIGN}:${CONTACT}:s1:3:5` },
    {
      campaign: OTHER_CAMPAIGN,
      nodeId: "s-2",
      iteration: 1,
      seq: 9,
      key: `${OTHER_CAMPAIGN}:${CONTACT}:s-2:1:10`,
    },
  ])("is campaign:contact:node:iteration:seq+1 ($key)", ({ campaign, nodeId, iteration, seq, key }) => {
    expect(idempotencyKey(campaign, member(nodeId, { iteration, seq }), nodeId)).toBe(key);
  });
});

describe("webhook", () => {
  const URL = "https://example.com/hooks/omneural";
  it.each([
    {
      name: "with a body and a retry policy",
      body: { plan: "pro", source: "journey" },
      retry: { maxAttempts: 3, backoffSeconds: 30 },
    },
    { name: "without a body or retry policy", body: undefined, retry: undefined },
  ])("$name: one webhook effect, then on to the next node", ({ body, retry }) => {
    const wf = compile(
      entry("hook"),
      {
        id: "hook",
        type: "webhook",
        url: URL,
        ...(body ? { body } : {}),
        ...(retry ? { retry } : {}),
        outlets: { next: "done" },
      },
      exit("done"),
    );
    const result = step(wf, member("hook", { seq: 2 }), facts(), at(HOUR));
    expect(result.effects).toEqual([
      {
        kind: "webhook",
        nodeId: "hook",
        url: URL,
        body: body ?? null,
        retry: retry ?? null,
        idempotencyKey: `${CAMPAIGN}:${CONTACT}:hook:1:3`,
      },
    ]);
    expect(actions(result)).toEqual(["hook:webhook", "done:exited"]);
    expect(result.trace[0]).toMatchObject({ outlet: "next", reason: `queued POST to ${URL}` });
  });
});

describe("update", () => {
  const checkAfter = (first: WorkflowNode[]): CompiledWorkflow =>
    compile(
      ...first,
      { id: "check", type: "condition", rule: ANY_RULE, outlets: { yes: "yesExit", no: "noExit" } },
      exit("yesExit"),
      exit("noExit"),
    );
  type UpdateCase = {
    name: string;
    change: Pick<NodeOf<"update">, "set" | "unset" | "addToLists" | "removeFromLists" | "consent">;
    effect: Omit<Extract<Effect, { kind: "update" }>, "kind" | "nodeId">;
    reason: string;
  };
  const none: UpdateCase["effect"] = { set: {}, unset: [], addToLists: [], removeFromLists: [], consent: [] };

  it.each([
    {
      name: "sets attributes",
      change: { set: { plan: "pro", seats: 5 } },
      effect: { ...none, set: { plan: "pro", seats: 5 } },
      reason: "set plan, seats",
    },
    {
      name: "unsets attributes",
      change: { unset: ["trial_ends"] },
      effect: { ...none, unset: ["trial_ends"] },
      reason: "unset trial_ends",
    },
    {
      name: "adds to lists",
      change: { addToLists: [LIST_A, LIST_B] },
      effect: { ...none, addToLists: [LIST_A, LIST_B] },
      reason: "added to 2 list(s)",
    },
    {
      name: "removes from lists",
      change: { removeFromLists: [LIST_A] },
      effect: { ...none, removeFromLists: [LIST_A] },
      reason: "removed from 1 list(s)",
    },
    {
      name: "changes consent",
      change: {
        consent: [
          { channel: "sms", status: "unsubscribed" },
          { channel: "email", status: "subscribed" },
        ],
      },
      effect: {
        ...none,
        consent: [
          { channel: "sms", status: "unsubscribed" },
          { channel: "email", status: "subscribed" },
        ],
      },
      reason: "sms consent unsubscribed; email consent subscribed",
    },
    {
      name: "does all at once",
      change: {
        set: { plan: "pro" },
        unset: ["trial_ends"],
        addToLists: [LIST_A],
        removeFromLists: [LIST_B],
        consent: [{ channel: "mail", status: "subscribed" }],
      },
      effect: {
        set: { plan: "pro" },
        unset: ["trial_ends"],
        addToLists: [LIST_A],
        removeFromLists: [LIST_B],
        consent: [{ channel: "mail", status: "subscribed" }],
      },
      reason:
        "set plan; unset trial_ends; added to 1 list(s); removed from 1 list(s); mail consent subscribed",
    },
  ] satisfies UpdateCase[])(
    "$name: one update effect, the reason says what changed",
    ({ change, effect, reason }) => {
      const wf = checkAfter([
        entry("upd"),
        { id: "upd", type: "update", ...change, outlets: { next: "check" } },
      ]);
      const result = step(wf, member("upd"), facts(), at(HOUR));
      expect(result.effects).toEqual([{ kind: "update", nodeId: "upd", ...effect }]);
      expect(result.trace[0]).toMatchObject({ nodeId: "upd", action: "updated", outlet: "next", reason });
    },
  );

  it("stops right after the update: the member is due now at the next node, not yet evaluated", () => {
    const wf = checkAfter([
      entry("welcome"),
      email("welcome", "upd"),
      { id: "upd", type: "update", set: { onboarded: true }, outlets: { next: "check" } },
    ]);
    const evaluated: string[] = [];
    const condition = (node: NodeOf<"condition">) => {
      evaluated.push(node.id);
      return "yes";
    };
    const now = at(10 * MINUTE);
    const result = step(wf, member("entry"), facts({ condition }), now);
    expect(result).toMatchObject({
      moved: true,
      nodeId: "check",
      state: "active",
      dueAt: now,
      nodeEnteredAt: now,
      error: null,
    });
    expect(actions(result)).toEqual(["entry:entered", "welcome:send", "upd:updated", "check:arrived"]);
    expect(result.trace[3]).toMatchObject({
      nodeType: "condition",
      reason: "continues at once, after the update is saved",
    });
    expect(result.effects.map((e) => `${e.kind}:${e.nodeId}`)).toEqual(["send:welcome", "update:upd"]);
    expect(evaluated).toEqual([]);

    // The next step resumes at the condition, which now sees the saved update.
    const next = step(wf, member("check", { nodeEnteredAt: now, seq: 1 }), facts({ condition }), now);
    expect(evaluated).toEqual(["check"]);
    expect(actions(next)).toEqual(["check:branched", "yesExit:exited"]);
    expect(next.state).toBe("completed");
  });

  it("a wait right after an update gets its due time on the next step", () => {
    const wf = compile(
      entry("upd"),
      { id: "upd", type: "update", set: { onboarded: true }, outlets: { next: "pause" } },
      { id: "pause", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } },
      exit("done"),
    );
    const now = at(10 * MINUTE);
    const first = step(wf, member("upd"), facts(), now);
    expect(first).toMatchObject({ nodeId: "pause", dueAt: now, nodeEnteredAt: now });
    const next = step(wf, member("pause", { nodeEnteredAt: now, seq: 1 }), facts(), now);
    expect(next).toMatchObject({ nodeId: "pause", state: "active", dueAt: new Date(now.getTime() + DAY) });
  });

  // The step after an update is the member's arrival at the next node (they are due at the moment they
  // entered it), so a wait there records what it waits for, as it would without the update.
  it("a wait right after an update explains itself on the next step", () => {
    const wf = compile(
      entry("upd"),
      { id: "upd", type: "update", set: { onboarded: true }, outlets: { next: "pause" } },
      { id: "pause", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } },
      exit("done"),
    );
    const now = at(10 * MINUTE);
    const next = step(wf, member("pause", { nodeEnteredAt: now, dueAt: now, seq: 1 }), facts(), now);
    expect(next.moved).toBe(true);
    expect(actions(next)).toEqual(["pause:waiting"]);
    expect(reasonAt(next, "pause")).toBe("1 day from 2026-03-02T12:10:00.000Z");
  });
});

describe("wait (duration)", () => {
  const wf = compile(
    entry("pause"),
    {
      id: "pause",
      type: "wait",
      mode: "duration",
      duration: { days: 2, hours: 3 },
      outlets: { next: "done" },
    },
    exit("done"),
  );
  const arrival = at(10 * MINUTE);
  const PAUSE = 2 * DAY + 3 * HOUR;
  const passed: Partial<StepResult> = { moved: true, nodeId: "done", state: "completed", dueAt: null };

  it.each([
    {
      name: "arriving: waits until the time of entry plus the duration",
      member: member("entry"),
      now: arrival,
      expected: {
        moved: true,
        nodeId: "pause",
        state: "active",
        dueAt: new Date(arrival.getTime() + PAUSE),
        nodeEnteredAt: arrival,
      },
      actions: ["entry:entered", "pause:waiting"],
      reason: "2 days 3 hours from 2026-03-02T12:10:00.000Z",
    },
    {
      name: "woken early (e.g. by an event): stays, due time unchanged",
      member: member("pause"),
      now: at(DAY),
      expected: { moved: false, nodeId: "pause", state: "active", dueAt: at(PAUSE), nodeEnteredAt: T0 },
      actions: [],
      reason: undefined,
    },
    {
      name: "due: passes through",
      member: member("pause"),
      now: at(PAUSE),
      expected: passed,
      actions: ["pause:waited", "done:exited"],
      reason: "wait over: 2 days 3 hours from 2026-03-02T12:00:00.000Z",
    },
    {
      name: "overdue (stepped late): passes through",
      member: member("pause"),
      now: at(5 * DAY),
      expected: passed,
      actions: ["pause:waited", "done:exited"],
      reason: "wait over: 2 days 3 hours from 2026-03-02T12:00:00.000Z",
    },
  ])("$name", (c) => {
    const result = step(wf, c.member, facts(), c.now);
    expect(result).toMatchObject(c.expected);
    expect(actions(result)).toEqual(c.actions);
    expect(reasonAt(result, "pause")).toBe(c.reason);
    expect(result.effects).toEqual([]);
  });
});

describe("wait (window)", () => {
  const TUE_TO_THU: Weekday[] = ["tue", "wed", "thu"];
  const wf = compile(
    entry("window"),
    {
      id: "window",
      type: "wait",
      mode: "window",
      window: { days: TUE_TO_THU, from: "09:00", to: "11:00" },
      outlets: { next: "done" },
    },
    exit("done"),
  );
  // Friday 6 March 2026, 15:00 in New York (EST); the clocks go forward on Sunday 8 March.
  const fridayAfternoon = utc("2026-03-06T20:00:00Z");
  const atWindow = member("window", { nodeEnteredAt: fridayAfternoon });
  const passed: Partial<StepResult> = { moved: true, nodeId: "done", state: "completed", dueAt: null };

  it.each([
    {
      name: "arriving Friday 15:00 in New York: waits for Tuesday 09:00 EDT, 13:00Z after the DST change",
      member: member("entry"),
      timeZone: NEW_YORK,
      now: fridayAfternoon,
      expected: {
        moved: true,
        nodeId: "window",
        state: "active",
        dueAt: utc("2026-03-10T13:00:00Z"),
        nodeEnteredAt: fridayAfternoon,
      },
      actions: ["entry:entered", "window:waiting"],
      reason: ["tue, wed, thu 09:00–11:00 America/New_York", "next at 2026-03-10T13:00:00.000Z"],
    },
    {
      name: "the same instant in Kolkata (Saturday 01:30): waits for Tuesday 09:00 IST",
      member: member("entry"),
      timeZone: KOLKATA,
      now: fridayAfternoon,
      expected: { moved: true, nodeId: "window", dueAt: utc("2026-03-10T03:30:00Z") },
      actions: ["entry:entered", "window:waiting"],
      reason: ["Asia/Kolkata", "next at 2026-03-10T03:30:00.000Z"],
    },
    {
      name: "arriving inside the window (Wednesday 10:00 EDT): passes at once",
      member: member("entry"),
      timeZone: NEW_YORK,
      now: utc("2026-03-11T14:00:00Z"),
      expected: passed,
      actions: ["entry:entered", "window:waited", "done:exited"],
      reason: ["no wait needed", "America/New_York"],
    },
    {
      name: "woken early on Saturday: stays, still due Tuesday 09:00",
      member: atWindow,
      timeZone: NEW_YORK,
      now: utc("2026-03-07T15:00:00Z"),
      expected: {
        moved: false,
        nodeId: "window",
        state: "active",
        dueAt: utc("2026-03-10T13:00:00Z"),
        nodeEnteredAt: fridayAfternoon,
      },
      actions: [],
      reason: [],
    },
    {
      name: "due at the window's start: passes",
      member: atWindow,
      timeZone: NEW_YORK,
      now: utc("2026-03-10T13:00:00Z"),
      expected: passed,
      actions: ["window:waited", "done:exited"],
      reason: ["wait over", "next at 2026-03-10T13:00:00.000Z"],
    },
    {
      name: "stepped late, after the window closed (Tuesday 11:30 EDT): waits for Wednesday's window",
      member: atWindow,
      timeZone: NEW_YORK,
      now: utc("2026-03-10T15:30:00Z"),
      expected: { moved: false, nodeId: "window", state: "active", dueAt: utc("2026-03-11T13:00:00Z") },
      actions: [],
      reason: [],
    },
  ])("$name", (c) => {
    const result = step(wf, c.member, facts({ timeZone: c.timeZone }), c.now);
    expect(result).toMatchObject(c.expected);
    expect(actions(result)).toEqual(c.actions);
    for (const part of c.reason) expect(reasonAt(result, "window")).toContain(part);
  });
});

describe("wait (date)", () => {
  type DateSpec = Extract<NodeOf<"wait">, { mode: "date" }>["date"];
  const workflow = (date: DateSpec) =>
    compile(
      entry("renewal"),
      { id: "renewal", type: "wait", mode: "date", date, outlets: { next: "done" } },
      exit("done"),
    );
  const threeDaysBefore: DateSpec = { attribute: "renewalDate", offsetDays: -3 };
  const april1 = utc("2026-04-01T12:00:00Z");
  const passed: Partial<StepResult> = { moved: true, nodeId: "done", state: "completed", dueAt: null };
  const passedActions = ["entry:entered", "renewal:waited", "done:exited"];
  const missing = "attribute renewalDate is missing or not a date";

  it.each([
    {
      name: "waits until the date − 3 days at 09:00 local (EDT)",
      date: threeDaysBefore,
      attributes: { renewalDate: "2026-04-20" },
      member: member("entry"),
      now: april1,
      expected: { moved: true, nodeId: "renewal", state: "active", dueAt: utc("2026-04-17T13:00:00Z") },
      actions: ["entry:entered", "renewal:waiting"],
      reason: ["renewalDate", "3 days", "at 09:00 America/New_York", "2026-04-17T13:00:00.000Z"],
    },
    {
      name: "at a given local time, without an offset",
      date: { attribute: "renewalDate", at: "18:30" },
      attributes: { renewalDate: "2026-04-20" },
      member: member("entry"),
      now: april1,
      expected: { moved: true, nodeId: "renewal", dueAt: utc("2026-04-20T22:30:00Z") },
      actions: ["entry:entered", "renewal:waiting"],
      reason: ["renewalDate at 18:30 America/New_York is 2026-04-20T22:30:00.000Z"],
    },
    {
      name: "a date-time attribute counts by its local date (19 April in New York)",
      date: threeDaysBefore,
      attributes: { renewalDate: "2026-04-20T02:00:00Z" },
      member: member("entry"),
      now: april1,
      expected: { moved: true, nodeId: "renewal", dueAt: utc("2026-04-16T13:00:00Z") },
      actions: ["entry:entered", "renewal:waiting"],
      reason: ["2026-04-16T13:00:00.000Z"],
    },
    {
      name: "the date already past: passes at once",
      date: threeDaysBefore,
      attributes: { renewalDate: "2026-03-01" },
      member: member("entry"),
      now: april1,
      expected: passed,
      actions: passedActions,
      reason: ["no wait needed", "renewalDate", "2026-02-26T14:00:00.000Z"],
    },
    {
      name: "the date already past with ifMissing exit: still passes (the option is about missing dates)",
      date: { ...threeDaysBefore, ifMissing: "exit" },
      attributes: { renewalDate: "2026-03-01" },
      member: member("entry"),
      now: april1,
      expected: passed,
      actions: passedActions,
      reason: ["no wait needed", "2026-02-26T14:00:00.000Z"],
    },
    {
      name: "missing, ifMissing not given: continues at once",
      date: threeDaysBefore,
      attributes: {},
      member: member("entry"),
      now: april1,
      expected: passed,
      actions: passedActions,
      reason: [`no wait needed: ${missing}`],
    },
    {
      name: "missing, ifMissing continue: continues at once",
      date: { ...threeDaysBefore, ifMissing: "continue" },
      attributes: { renewalDate: null },
      member: member("entry"),
      now: april1,
      expected: passed,
      actions: passedActions,
      reason: [missing],
    },
    {
      name: "not a date: continues at once",
      date: threeDaysBefore,
      attributes: { renewalDate: "next spring" },
      member: member("entry"),
      now: april1,
      expected: passed,
      actions: passedActions,
      reason: [missing],
    },
    {
      name: "missing, ifMissing exit: leaves, completed at the wait",
      date: { ...threeDaysBefore, ifMissing: "exit" },
      attributes: {},
      member: member("entry"),
      now: april1,
      expected: { moved: true, nodeId: "renewal", state: "completed", dueAt: null, nodeEnteredAt: april1 },
      actions: ["entry:entered", "renewal:exited"],
      reason: [missing],
    },
    {
      name: "woken early: stays, due time unchanged",
      date: threeDaysBefore,
      attributes: { renewalDate: "2026-04-20" },
      member: member("renewal", { nodeEnteredAt: april1 }),
      now: utc("2026-04-10T00:00:00Z"),
      expected: { moved: false, nodeId: "renewal", state: "active", dueAt: utc("2026-04-17T13:00:00Z") },
      actions: [],
      reason: [],
    },
    {
      name: "due: passes",
      date: threeDaysBefore,
      attributes: { renewalDate: "2026-04-20" },
      member: member("renewal", { nodeEnteredAt: april1 }),
      now: utc("2026-04-17T13:00:00Z"),
      expected: passed,
      actions: ["renewal:waited", "done:exited"],
      reason: ["wait over", "2026-04-17T13:00:00.000Z"],
    },
  ] satisfies {
    name: string;
    date: DateSpec;
    attributes: Record<string, unknown>;
    member: MemberState;
    now: Date;
    expected: Partial<StepResult>;
    actions: string[];
    reason: string[];
  }[])("$name", (c) => {
    const result = step(
      workflow(c.date),
      c.member,
      facts({ timeZone: NEW_YORK, attributes: c.attributes }),
      c.now,
    );
    expect(result).toMatchObject(c.expected);
    expect(actions(result)).toEqual(c.actions);
    for (const part of c.reason) expect(reasonAt(result, "renewal")).toContain(part);
  });
});

describe("wait_for (event)", () => {
  const wf = compile(
    entry("await"),
    {
      id: "await",
      type: "wait_for",
      for: {
        kind: "event",
        eventType: "order.placed",
        where: [{ property: "total", type: "number", condition: { op: "gte", value: 50 } }],
      },
      timeout: { days: 3 },
      outlets: { matched: "thanks", timed_out: "nudge" },
    },
    exit("thanks"),
    exit("nudge"),
  );
  // The member arrived at the wait an hour after enrolling.
  const T1 = at(HOUR);
  const since = (ms: number) => new Date(T1.getTime() + ms);
  const TIMEOUT = since(3 * DAY);
  const waiting = member("await", { nodeEnteredAt: T1 });
  const order = (when: Date, total: number) => event("order.placed", when, { total });
  const stays: Partial<StepResult> = {
    moved: false,
    nodeId: "await",
    state: "active",
    dueAt: TIMEOUT,
    nodeEnteredAt: T1,
  };
  const matched: Partial<StepResult> = { moved: true, nodeId: "thanks", state: "completed", dueAt: null };
  const timedOut: Partial<StepResult> = { moved: true, nodeId: "nudge", state: "completed", dueAt: null };

  it.each([
    {
      name: "a matching event after arrival: matched",
      events: [order(since(HOUR), 80)],
      now: since(HOUR),
      expected: matched,
      outlets: ["await→matched"],
      reason: `order.placed at ${since(HOUR).toISOString()}`,
    },
    {
      name: "an event that fails the property filter: stays",
      events: [order(since(HOUR), 20)],
      now: since(HOUR),
      expected: stays,
      outlets: [],
      reason: undefined,
    },
    {
      name: "an event without the filtered property: stays",
      events: [event("order.placed", since(HOUR))],
      now: since(HOUR),
      expected: stays,
      outlets: [],
      reason: undefined,
    },
    {
      name: "another event type: stays",
      events: [event("order.refunded", since(HOUR), { total: 80 })],
      now: since(HOUR),
      expected: stays,
      outlets: [],
      reason: undefined,
    },
    {
      name: "a match before the member arrived at the node (though after enrolling) is ignored",
      events: [order(at(30 * MINUTE), 80)],
      now: since(HOUR),
      expected: stays,
      outlets: [],
      reason: undefined,
    },
    {
      name: "a match that occurred before the timeout counts even when processed after it",
      events: [order(since(2 * DAY), 80)],
      now: since(4 * DAY),
      expected: matched,
      outlets: ["await→matched"],
      reason: `order.placed at ${since(2 * DAY).toISOString()}`,
    },
    {
      name: "a match at the very moment of the timeout counts",
      events: [order(TIMEOUT, 80)],
      now: TIMEOUT,
      expected: matched,
      outlets: ["await→matched"],
      reason: `order.placed at ${TIMEOUT.toISOString()}`,
    },
    {
      name: "the first of several matches is the one reported",
      events: [order(since(HOUR), 10), order(since(2 * HOUR), 60), order(since(3 * HOUR), 90)],
      now: since(4 * HOUR),
      expected: matched,
      outlets: ["await→matched"],
      reason: `order.placed at ${since(2 * HOUR).toISOString()}`,
    },
    {
      name: "a match after the timeout is ignored: timed out",
      events: [order(since(3 * DAY + HOUR), 80)],
      now: since(3 * DAY + 2 * HOUR),
      expected: timedOut,
      outlets: ["await→timed_out"],
      reason: `nothing by ${TIMEOUT.toISOString()}`,
    },
    {
      name: "nothing by the timeout: timed out at the timeout",
      events: [],
      now: TIMEOUT,
      expected: timedOut,
      outlets: ["await→timed_out"],
      reason: `nothing by ${TIMEOUT.toISOString()}`,
    },
    {
      name: "nothing yet: stays, due at the timeout",
      events: [],
      now: since(DAY),
      expected: stays,
      outlets: [],
      reason: undefined,
    },
  ])("$name", (c) => {
    const result = step(wf, waiting, facts({ events: c.events }), c.now);
    expect(result).toMatchObject(c.expected);
    expect(outletsTaken(result)).toEqual(c.outlets);
    if (c.reason === undefined) expect(result.trace).toEqual([]);
    else expect(reasonAt(result, "await")).toContain(c.reason);
  });

  it.each([
    {
      name: "with filters",
      spec: {
        kind: "event",
        eventType: "order.placed",
        where: [{ property: "total", type: "number", condition: { op: "gte", value: 50 } }],
      },
      reason: "waits for event order.placed (with filters), until 2026-03-05T13:00:00.000Z",
    },
    {
      name: "without filters",
      spec: { kind: "event", eventType: "app.opened" },
      reason: "waits for event app.opened, until 2026-03-05T13:00:00.000Z",
    },
  ] satisfies { name: string; spec: NodeOf<"wait_for">["for"]; reason: string }[])(
    "arriving with nothing yet ($name): waits until the timeout and says for what",
    ({ spec, reason }) => {
      const wf = compile(
        entry("await"),
        {
          id: "await",
          type: "wait_for",
          for: spec,
          timeout: { days: 3 },
          outlets: { matched: "thanks", timed_out: "nudge" },
        },
        exit("thanks"),
        exit("nudge"),
      );
      const result = step(wf, member("entry"), facts(), T1);
      expect(result).toMatchObject({
        moved: true,
        nodeId: "await",
        state: "active",
        dueAt: TIMEOUT,
        nodeEnteredAt: T1,
      });
      expect(actions(result)).toEqual(["entry:entered", "await:waiting"]);
      expect(reasonAt(result, "await")).toBe(reason);
    },
  );
});

describe("wait_for (response)", () => {
  const workflow = (sendNodeId: string | undefined) =>
    compile(
      entry("mail1"),
      email("mail1", "mail2", "Welcome email"),
      email("mail2", "awaitClick"),
      {
        id: "awaitClick",
        type: "wait_for",
        for: { kind: "response", response: "clicked", ...(sendNodeId ? { sendNodeId } : {}) },
        timeout: { days: 7 },
        outlets: { matched: "clicked", timed_out: "noClick" },
      },
      exit("clicked"),
      exit("noClick"),
    );
  const T1 = at(HOUR);
  const waiting = member("awaitClick", { nodeEnteredAt: T1 });
  const now = at(2 * HOUR);

  it.each([
    {
      sendNodeId: "mail1",
      type: "message.clicked",
      properties: { campaignId: CAMPAIGN, nodeId: "mail1" },
      matched: true,
    },
    {
      sendNodeId: "mail1",
      type: "message.clicked",
      properties: { campaignId: CAMPAIGN, nodeId: "mail2" },
      matched: false,
    },
    { sendNodeId: "mail1", type: "message.clicked", properties: { campaignId: CAMPAIGN }, matched: false },
    {
      sendNodeId: "mail1",
      type: "message.clicked",
      properties: { campaignId: OTHER_CAMPAIGN, nodeId: "mail1" },
      matched: false,
    },
    { sendNodeId: "mail1", type: "message.clicked", properties: { nodeId: "mail1" }, matched: false },
    {
      sendNodeId: "mail1",
      type: "message.opened",
      properties: { campaignId: CAMPAIGN, nodeId: "mail1" },
      matched: false,
    },
    {
      sendNodeId: undefined,
      type: "message.clicked",
      properties: { campaignId: CAMPAIGN, nodeId: "mail2" },
      matched: true,
    },
    { sendNodeId: undefined, type: "message.clicked", properties: { campaignId: CAMPAIGN }, matched: true },
    {
      sendNodeId: undefined,
      type: "message.clicked",
      properties: { campaignId: OTHER_CAMPAIGN, nodeId: "mail1" },
      matched: false,
    },
    {
      sendNodeId: undefined,
      type: "message.opened",
      properties: { campaignId: CAMPAIGN, nodeId: "mail1" },
      matched: false,
    },
    // A link scanner's click (flagged by the response writer) moves no one.
    {
      sendNodeId: "mail1",
      type: "message.clicked",
      properties: { campaignId: CAMPAIGN, nodeId: "mail1", machine: true, machineReason: "soon_after_send" },
      matched: false,
    },
  ])("waiting for clicked on $sendNodeId: $type with $properties → matched $matched", (c) => {
    const result = step(
      workflow(c.sendNodeId),
      waiting,
      facts({ events: [event(c.type, T1, c.properties)] }),
      now,
    );
    if (c.matched) {
      expect(result).toMatchObject({ moved: true, nodeId: "clicked", state: "completed" });
      expect(outletsTaken(result)).toEqual(["awaitClick→matched"]);
    } else {
      expect(result).toMatchObject({
        moved: false,
        nodeId: "awaitClick",
        state: "active",
        dueAt: at(HOUR + 7 * DAY),
      });
    }
  });

  it.each([
    { type: "message.opened", properties: { channel: "email" }, matched: true },
    { type: "message.clicked", properties: { channel: "email" }, matched: true },
    { type: "message.clicked", properties: { channel: "email", machine: true }, matched: false },
    { type: "message.clicked", properties: { channel: "sms" }, matched: false },
  ])("waiting for opened: $type with $properties → matched $matched", (c) => {
    const wf = compile(
      entry("mail1"),
      email("mail1", "awaitOpen"),
      {
        id: "awaitOpen",
        type: "wait_for",
        for: { kind: "response", response: "opened", sendNodeId: "mail1" },
        timeout: { days: 3 },
        outlets: { matched: "opened", timed_out: "notOpened" },
      },
      exit("opened"),
      exit("notOpened"),
    );
    // A click wakes a member waiting for an open.
    expect(wf.wakeEventTypes).toEqual(["message.clicked", "message.opened"]);
    const result = step(
      wf,
      member("awaitOpen", { nodeEnteredAt: T1 }),
      facts({ events: [event(c.type, T1, { campaignId: CAMPAIGN, nodeId: "mail1", ...c.properties })] }),
      now,
    );
    expect(result).toMatchObject(
      c.matched ? { moved: true, nodeId: "opened" } : { moved: false, nodeId: "awaitOpen" },
    );
  });

  it.each([
    {
      sendNodeId: "mail1",
      reason: 'waits for "clicked" on send "Welcome email", until 2026-03-09T12:00:00.000Z',
    },
    { sendNodeId: "mail2", reason: 'waits for "clicked" on send "mail2", until 2026-03-09T12:00:00.000Z' },
    {
      sendNodeId: undefined,
      reason: 'waits for "clicked" on any send of this campaign, until 2026-03-09T12:00:00.000Z',
    },
  ])(
    "arriving after the sends, waiting on $sendNodeId: the trace names the send",
    ({ sendNodeId, reason }) => {
      const result = step(workflow(sendNodeId), member("entry"), facts(), T0);
      expect(actions(result)).toEqual(["entry:entered", "mail1:send", "mail2:send", "awaitClick:waiting"]);
      expect(reasonAt(result, "awaitClick")).toBe(reason);
    },
  );
});

describe("condition", () => {
  const wf = compile(
    entry("check"),
    { id: "check", type: "condition", rule: ANY_RULE, outlets: { yes: "yesExit", no: "noExit" } },
    {
      id: "tier",
      type: "condition",
      branches: [
        { key: "gold", rule: ANY_RULE },
        { key: "silver", rule: ANY_RULE },
      ],
      outlets: { gold: "goldExit", silver: "silverExit", default: "otherExit" },
    },
    ...["yesExit", "noExit", "goldExit", "silverExit", "otherExit"].map(exit),
  );

  it.each([
    { nodeId: "check", outlet: "yes", to: "yesExit", reason: "the rule matched" },
    { nodeId: "check", outlet: "no", to: "noExit", reason: "the rule did not match" },
    { nodeId: "tier", outlet: "gold", to: "goldExit", reason: 'branch "gold" is the first that matched' },
    {
      nodeId: "tier",
      outlet: "silver",
      to: "silverExit",
      reason: 'branch "silver" is the first that matched',
    },
    { nodeId: "tier", outlet: "default", to: "otherExit", reason: "no branch matched: default" },
  ])("$nodeId → $outlet goes to $to", ({ nodeId, outlet, to, reason }) => {
    const asked: NodeOf<"condition">[] = [];
    const condition = (node: NodeOf<"condition">) => {
      asked.push(node);
      return outlet;
    };
    const result = step(wf, member(nodeId), facts({ condition }), at(HOUR));
    expect(asked).toEqual([wf.nodes.get(nodeId)]);
    expect(result).toMatchObject({ moved: true, nodeId: to, state: "completed" });
    expect(result.trace[0]).toMatchObject({
      nodeId,
      nodeType: "condition",
      action: "branched",
      outlet,
      reason,
    });
  });

  it("an outlet the node does not have fails the member at the node", () => {
    const result = step(wf, member("check"), facts({ condition: () => "maybe" }), at(HOUR));
    expect(result).toMatchObject({
      moved: true,
      nodeId: "check",
      state: "failed",
      dueAt: null,
      error: 'node "check" has no outlet "maybe"',
    });
  });

  it.each([
    {
      name: "an Error",
      thrown: new Error("audience service unavailable"),
      error: "audience service unavailable",
    },
    { name: "a string", thrown: "timed out", error: "timed out" },
  ])(
    "facts that throw $name: failed at the condition, effects of earlier nodes kept",
    ({ thrown, error }) => {
      const wf = compile(
        entry("welcome"),
        email("welcome", "check"),
        { id: "check", type: "condition", rule: ANY_RULE, outlets: { yes: "yesExit", no: "noExit" } },
        exit("yesExit"),
        exit("noExit"),
      );
      const now = at(HOUR);
      const condition = () => {
        throw thrown;
      };
      const result = step(wf, member("entry"), facts({ condition }), now);
      expect(result).toMatchObject({
        moved: true,
        nodeId: "check",
        state: "failed",
        dueAt: null,
        nodeEnteredAt: now,
        error,
      });
      expect(result.effects.map((e) => `${e.kind}:${e.nodeId}`)).toEqual(["send:welcome"]);
      expect(actions(result)).toEqual(["entry:entered", "welcome:send", "check:failed"]);
      expect(result.trace[2]).toMatchObject({ nodeType: "condition", reason: error });
    },
  );
});

describe("split", () => {
  type Branch = { key: string; weight: number };
  const workflow = (branches: Branch[]) =>
    compile(
      entry("ab"),
      {
        id: "ab",
        type: "split",
        branches,
        outlets: Object.fromEntries(branches.map((b) => [b.key, `to_${b.key}`])),
      },
      ...branches.map((b) => exit(`to_${b.key}`)),
    );
  const contacts = (n: number) =>
    Array.from({ length: n }, (_, i) => `0d5e7b10-0000-4000-8000-${String(i).padStart(12, "0")}`);
  const chosen = (wf: CompiledWorkflow, contactId: string) =>
    step(wf, member("ab", { contactId }), facts(), at(HOUR)).trace[0]!.outlet;
  const weights = [
    { key: "a", weight: 20 },
    { key: "b", weight: 30 },
    { key: "c", weight: 50 },
    { key: "never", weight: 0 },
  ];

  it("is stable: the same member takes the same branch at every step, the one their bucket falls in", () => {
    const wf = workflow(weights);
    for (const contactId of contacts(200)) {
      const first = step(wf, member("ab", { contactId }), facts(), at(HOUR));
      const again = step(wf, member("ab", { contactId, seq: 7, iteration: 2 }), facts(), at(30 * DAY));
      expect(again.nodeId).toBe(first.nodeId);
      const bucket = splitBucket("ab", contactId);
      expect(first.trace[0]!.outlet).toBe(bucket < 0.2 ? "a" : bucket < 0.5 ? "b" : "c");
    }
  });

  it("says which bucket fell in which branch and that branch's share", () => {
    const wf = workflow(weights);
    const result = step(wf, member("ab"), facts(), at(HOUR));
    const bucket = splitBucket("ab", CONTACT);
    const key = result.trace[0]!.outlet!;
    const share = { a: 20, b: 30, c: 50 }[key];
    expect(result.trace[0]).toMatchObject({ nodeType: "split", action: "split" });
    expect(result.trace[0]!.reason).toBe(`bucket ${bucket.toFixed(4)} falls in "${key}" (${share}%)`);
    expect(result).toMatchObject({ nodeId: `to_${key}`, state: "completed" });
  });

  it("over 10,000 members, follows the weights within 2 points and never takes a weight-0 branch", () => {
    const wf = workflow(weights);
    const counts = new Map<string, number>();
    for (const contactId of contacts(10_000)) {
      const key = chosen(wf, contactId)!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.get("never")).toBeUndefined();
    for (const { key, weight } of weights.filter((w) => w.weight > 0)) {
      expect(Math.abs((counts.get(key) ?? 0) / 10_000 - weight / 100)).toBeLessThan(0.02);
    }
  });

  it("reads weights as proportions when they do not add up to 100", () => {
    const wf = workflow([
      { key: "one", weight: 1 },
      { key: "three", weight: 3 },
    ]);
    const threes = contacts(10_000).filter((id) => chosen(wf, id) === "three").length;
    expect(Math.abs(threes / 10_000 - 0.75)).toBeLessThan(0.02);
  });

  it.each([
    { name: "first", branches: [0, 50, 50] },
    { name: "in the middle", branches: [50, 0, 50] },
    { name: "last", branches: [50, 50, 0] },
    { name: "around the only live one", branches: [0, 100, 0] },
  ])("never takes a weight-0 branch placed $name", ({ branches }) => {
    const wf = workflow(branches.map((weight, i) => ({ key: `k${i}`, weight })));
    const dead = new Set(branches.flatMap((w, i) => (w === 0 ? [`k${i}`] : [])));
    const taken = new Set(contacts(2000).map((id) => chosen(wf, id)));
    for (const key of dead) expect(taken.has(key)).toBe(false);
  });

  it("splitBucket is in [0, 1), repeatable, and differs between split nodes", () => {
    for (const contactId of contacts(1000)) {
      const bucket = splitBucket("ab", contactId);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(1);
      expect(splitBucket("ab", contactId)).toBe(bucket);
    }
    const ab = contacts(100).map((id) => splitBucket("ab", id));
    const cd = contacts(100).map((id) => splitBucket("cd", id));
    expect(ab).not.toEqual(cd);
  });
});

describe("goal", () => {
  const workflow = (label: string | undefined) =>
    compile(
      entry("welcome"),
      email("welcome", "pause"),
      { id: "pause", type: "wait", mode: "duration", duration: { days: 5 }, outlets: { next: "done" } },
      exit("done"),
      {
        id: "purchase",
        type: "goal",
        ...(label ? { label } : {}),
        eventType: "order.placed",
        where: [{ property: "total", type: "number", condition: { op: "gte", value: 50 } }],
        outlets: {},
      },
    );
  const wf = workflow("First purchase");
  const now = at(DAY);

  it.each(["entry", "welcome", "pause"])(
    "converts a member at %s, where they are, with no further effects",
    (nodeId) => {
      const purchase = event("order.placed", at(DAY - HOUR), { total: 80 });
      const result = step(wf, member(nodeId), facts({ events: [purchase] }), now);
      expect(result).toMatchObject({
        moved: true,
        nodeId,
        state: "converted",
        dueAt: null,
        nodeEnteredAt: now,
      });
      expect(result.effects).toEqual([]);
      expect(actions(result)).toEqual(["purchase:converted"]);
      expect(result.trace[0]!.nodeType).toBe("goal");
      expect(result.trace[0]!.reason).toBe(
        `goal "First purchase": order.placed at ${purchase.occurredAt.toISOString()} (the member was at ${nodeId})`,
      );
    },
  );

  it("names a goal without a label by its id", () => {
    const result = step(
      workflow(undefined),
      member("pause"),
      facts({ events: [event("order.placed", at(HOUR), { total: 50 })] }),
      now,
    );
    expect(result.state).toBe("converted");
    expect(result.trace[0]!.reason).toContain('goal "purchase"');
  });

  it.each([
    { name: "an event before enrollment", events: [event("order.placed", at(-HOUR), { total: 80 })] },
    {
      name: "an event that fails the goal's filter",
      events: [event("order.placed", at(HOUR), { total: 20 })],
    },
    { name: "an event without the filtered property", events: [event("order.placed", at(HOUR))] },
    { name: "another event type", events: [event("order.refunded", at(HOUR), { total: 80 })] },
    { name: "an event stamped after now", events: [event("order.placed", at(DAY + HOUR), { total: 80 })] },
  ])("does not convert on $name", ({ events }) => {
    const result = step(wf, member("pause"), facts({ events }), now);
    expect(result).toMatchObject({ moved: false, nodeId: "pause", state: "active", dueAt: at(5 * DAY) });
    expect(result.trace).toEqual([]);
  });

  it("a goal node on a path fails the member there", () => {
    const wf = compile(entry("purchase"), {
      id: "purchase",
      type: "goal",
      eventType: "order.placed",
      outlets: {},
    });
    const result = step(wf, member("entry"), facts(), now);
    expect(result).toMatchObject({
      nodeId: "purchase",
      state: "failed",
      error: 'goal node "purchase" cannot be on a path',
    });
  });
});

describe("exit", () => {
  it("completes the member at the exit", () => {
    const wf = compile(entry("done"), exit("done"));
    const now = at(MINUTE);
    const result = step(wf, member("entry"), facts(), now);
    expect(result).toEqual({
      moved: true,
      nodeId: "done",
      state: "completed",
      dueAt: null,
      nodeEnteredAt: now,
      error: null,
      effects: [],
      trace: [
        {
          at: now,
          nodeId: "entry",
          nodeType: "entry",
          action: "entered",
          reason: "enrolled in the campaign",
          outlet: "next",
        },
        { at: now, nodeId: "done", nodeType: "exit", action: "exited", reason: "reached an exit" },
      ],
    });
  });
});

describe("members who are not active", () => {
  const wf = compile(entry("welcome"), email("welcome", "done"), exit("done"), {
    id: "purchase",
    type: "goal",
    eventType: "order.placed",
    outlets: {},
  });

  it.each(["completed", "converted", "failed", "cancelled"] as const)(
    "%s: nothing happens, not even a conversion",
    (state) => {
      const m = member("welcome", { state, nodeEnteredAt: at(HOUR) });
      const result = step(wf, m, facts({ events: [event("order.placed", at(2 * HOUR))] }), at(DAY));
      expect(result).toEqual({
        moved: false,
        nodeId: "welcome",
        state,
        dueAt: null,
        nodeEnteredAt: at(HOUR),
        error: null,
        effects: [],
        trace: [],
      });
    },
  );
});

describe("faults", () => {
  it("a member at a node missing from the graph fails there, with a clear message", () => {
    const wf = compile(entry("done"), exit("done"));
    const result = step(wf, member("gone", { nodeEnteredAt: at(HOUR) }), facts(), at(DAY));
    const error = 'node "gone" is not in this workflow version';
    expect(result).toMatchObject({
      moved: true,
      nodeId: "gone",
      state: "failed",
      dueAt: null,
      nodeEnteredAt: at(HOUR),
      error,
    });
    expect(result.trace).toEqual([
      { at: at(DAY), nodeId: "gone", nodeType: "unknown", action: "failed", reason: error },
    ]);
  });

  it("an outlet leading to a missing node fails the member there, keeping the step's sends", () => {
    const wf = compile(entry("welcome"), email("welcome", "gone"));
    const now = at(MINUTE);
    const result = step(wf, member("entry"), facts(), now);
    expect(result).toMatchObject({ nodeId: "gone", state: "failed", nodeEnteredAt: now });
    expect(result.error).toBe('node "gone" is not in this workflow version');
    expect(result.effects.map((e) => `${e.kind}:${e.nodeId}`)).toEqual(["send:welcome"]);
    expect(actions(result)).toEqual(["entry:entered", "welcome:send", "gone:failed"]);
  });

  it("a loop with no wait fails after 1000 nodes instead of spinning", () => {
    const wf = compile(entry("again"), {
      id: "again",
      type: "condition",
      rule: ANY_RULE,
      outlets: { yes: "again", no: "again" },
    });
    const result = step(wf, member("entry"), facts({ condition: () => "yes" }), at(MINUTE));
    expect(result).toMatchObject({
      nodeId: "again",
      state: "failed",
      error: "more than 1000 nodes in one step: a loop with no wait",
    });
  });
});

describe("compileWorkflow", () => {
  it("lists the event types that can move a member, sorted and without repeats", () => {
    const waitFor = (id: string, spec: NodeOf<"wait_for">["for"]): WorkflowNode => ({
      id,
      type: "wait_for",
      for: spec,
      timeout: { days: 1 },
      outlets: { matched: "done", timed_out: "done" },
    });
    const wf = compile(
      entry("w1"),
      waitFor("w1", { kind: "event", eventType: "order.placed" }),
      waitFor("w2", { kind: "response", response: "clicked" }),
      waitFor("w3", { kind: "response", response: "clicked", sendNodeId: "s1" }),
      waitFor("w4", { kind: "event", eventType: "app.opened" }),
      waitFor("w5", { kind: "response", response: "opened" }),
      { id: "g1", type: "goal", eventType: "subscription.started", outlets: {} },
      { id: "g2", type: "goal", eventType: "order.placed", outlets: {} },
      { id: "pause", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } },
      exit("done"),
    );
    expect(wf.wakeEventTypes).toEqual([
      "app.opened",
      "message.clicked",
      "message.opened",
      "order.placed",
      "subscription.started",
    ]);
    expect(wf.goals.map((g) => g.id)).toEqual(["g1", "g2"]);
  });

  it("indexes the graph: entry, nodes by id, goals and condition nodes", () => {
    const wf = compile(exit("done"), entry("check"), {
      id: "check",
      type: "condition",
      rule: ANY_RULE,
      outlets: { yes: "done", no: "done" },
    });
    expect(wf.entryId).toBe("entry");
    expect([...wf.nodes.keys()]).toEqual(["done", "entry", "check"]);
    expect(wf.conditionNodes.map((n) => n.id)).toEqual(["check"]);
    expect(wf.goals).toEqual([]);
    expect(wf.wakeEventTypes).toEqual([]);
  });

  it("refuses a graph with no entry node", () => {
    expect(() => compile(exit("done"))).toThrow("the workflow has no entry node");
  });
});
