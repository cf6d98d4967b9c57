/**
 * The journey engine's pure transition function: given a published workflow, one member's enrollment,
 * the facts about that member and the time, it says where the member goes next, when they are due
 * again, what the step causes (sends, webhooks, contact updates) and why. No I/O and no clock: the
 * stepper, the simulator and the tests all call the same function, so a simulation explains exactly
 * what the engine will do.
 */
import { createHash } from "node:crypto";
import type { EnrollmentState, NodeOf, WorkflowGraph, WorkflowNode } from "@omneural/contracts/workflows";
import { matchesPropertyFilters } from "../audiences/audience-evaluator.ts";
import { addDuration, dateAttributeMoment, durationMs, nextWindowStart } from "./local-time.ts";

/** A published graph, indexed for stepping. Build once per workflow version and reuse. */
export interface CompiledWorkflow {
  graph: WorkflowGraph;
  nodes: Map<string, WorkflowNode>;
  entryId: string;
  goals: NodeOf<"goal">[];
  /** Event types that can move a member: those of wait_for and goal nodes. */
  wakeEventTypes: string[];
  conditionNodes: NodeOf<"condition">[];
  /** Split nodes that run an A/B experiment. */
  experimentNodes: NodeOf<"split">[];
}

export interface MemberState {
  contactId: string;
  nodeId: string;
  state: EnrollmentState;
  enrolledAt: Date;
  nodeEnteredAt: Date;
  iteration: number;
  /** Committed steps so far. */
  seq: number;
  /**
   * When the member was due for this step. Equal to nodeEnteredAt when they were moved to this node and
   * made due at once (after an update node), so this step is their arrival at it.
   */
  dueAt?: Date;
}

export interface FactEvent {
  type: string;
  occurredAt: Date;
  properties: Record<string, unknown>;
}

export interface MemberFacts {
  /** The member's timezone (theirs when valid, else the workspace's). */
  timeZone: string;
  attributes: Record<string, unknown>;
  /** The member's events of the workflow's wake types since they enrolled, oldest first. */
  events: readonly FactEvent[];
  /** The outlet a condition node takes for this member now. Throws when it cannot be evaluated. */
  condition(node: NodeOf<"condition">): string;
  /**
   * The state of the experiment of a split node (undefined: not started, no member has arrived yet).
   * Callers whose workflows have no experiment may leave it out.
   */
  experiment?(nodeId: string): ExperimentState | undefined;
}

/** An experiment split's state, as the stepper loaded (and, once its window is over, decided) it. */
export type ExperimentState =
  | { status: "testing"; decideAt: Date }
  | { status: "decided"; decideAt: Date; winner: string; reason: string };

/** What a step records about experiments: one started, a member assigned to a variant. */
export type ExperimentEffect =
  | { kind: "start"; nodeId: string; startedAt: Date; decideAt: Date }
  | { kind: "assign"; nodeId: string; branch: string; phase: "test" | "rollout" };

export type Effect =
  | {
      kind: "send";
      nodeId: string;
      channel: "email" | "sms" | "mail" | "ads";
      templateId: string | null;
      destination: string | null;
      /** ads only: whether the member enters or leaves the destination's audience; null for other channels. */
      audienceAction: "add" | "remove" | null;
      retry: { maxAttempts: number; backoffSeconds: number } | null;
      idempotencyKey: string;
    }
  | {
      kind: "webhook";
      nodeId: string;
      url: string;
      body: Record<string, unknown> | null;
      retry: { maxAttempts: number; backoffSeconds: number } | null;
      idempotencyKey: string;
    }
  | {
      kind: "update";
      nodeId: string;
      set: Record<string, unknown>;
      unset: string[];
      addToLists: string[];
      removeFromLists: string[];
      consent: { channel: "email" | "sms" | "mail" | "ads"; status: "subscribed" | "unsubscribed" }[];
    };

export interface StepTrace {
  at: Date;
  nodeId: string;
  nodeType: string;
  action: string;
  reason: string;
  outlet?: string;
}

export interface StepResult {
  /** False when the member stays where they were (a wake that changed nothing): no history row. */
  moved: boolean;
  nodeId: string;
  state: EnrollmentState;
  dueAt: Date | null;
  nodeEnteredAt: Date;
  error: string | null;
  effects: Effect[];
  trace: StepTrace[];
  /** Present when the step started an experiment or assigned the member to a variant of one. */
  experiments?: ExperimentEffect[];
}

/** More nodes than this in one step means a loop with no wait; validation refuses those graphs. */
const MAX_NODES_PER_STEP = 1000;

export function compileWorkflow(graph: WorkflowGraph): CompiledWorkflow {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const entry = graph.nodes.find((n) => n.type === "entry");
  if (!entry) throw new Error("the workflow has no entry node");
  const goals = graph.nodes.filter((n): n is NodeOf<"goal"> => n.type === "goal");
  const wake = new Set<string>();
  for (const node of graph.nodes) {
    if (node.type === "goal") wake.add(node.eventType);
    if (node.type === "wait_for") {
      wake.add(node.for.kind === "event" ? node.for.eventType : `message.${node.for.response}`);
      // A click on an email proves it was opened (waitForMatches).
      if (node.for.kind === "response" && node.for.response === "opened") wake.add("message.clicked");
    }
  }
  return {
    graph,
    nodes,
    entryId: entry.id,
    goals,
    wakeEventTypes: [...wake].sort(),
    conditionNodes: graph.nodes.filter((n): n is NodeOf<"condition"> => n.type === "condition"),
    experimentNodes: graph.nodes.filter(
      (n): n is NodeOf<"split"> => n.type === "split" && n.experiment !== undefined,
    ),
  };
}

/** The idempotency key of a send: campaign, member, node, iteration and the step that reached it. */
export function idempotencyKey(campaignId: string, member: MemberState, nodeId: string): string {
  return `${campaignId}:${member.contactId}:${nodeId}:${member.iteration}:${member.seq + 1}`;
}

/** A member's stable bucket in [0, 1) for a split node. */
export function splitBucket(nodeId: string, contactId: string): number {
  const digest = createHash("sha256").update(`${nodeId}:${contactId}`).digest();
  return digest.readUInt32BE(0) / 0x1_0000_0000;
}

/** A member's bucket for joining an experiment's test share: independent of the variant's bucket. */
export function testShareBucket(nodeId: string, contactId: string): number {
  return splitBucket(`${nodeId}#test`, contactId);
}

/** The branch a member's bucket falls in, by weight. */
function weightedBranch(node: NodeOf<"split">, contactId: string) {
  const bucket = splitBucket(node.id, contactId);
  const total = node.branches.reduce((sum, b) => sum + b.weight, 0);
  let cumulative = 0;
  let chosen = node.branches[node.branches.length - 1]!;
  for (const branch of node.branches) {
    cumulative += branch.weight / total;
    if (bucket < cumulative && branch.weight > 0) {
      chosen = branch;
      break;
    }
  }
  const share = Math.round((chosen.weight / total) * 1000) / 10;
  return { key: chosen.key, bucket, share };
}

export function transition(
  wf: CompiledWorkflow,
  campaignId: string,
  member: MemberState,
  facts: MemberFacts,
  now: Date,
): StepResult {
  const experiments: ExperimentEffect[] = [];
  const result = stepMember(wf, campaignId, member, facts, now, experiments);
  return experiments.length ? { ...result, experiments } : result;
}

function stepMember(
  wf: CompiledWorkflow,
  campaignId: string,
  member: MemberState,
  facts: MemberFacts,
  now: Date,
  experiments: ExperimentEffect[],
): StepResult {
  const trace: StepTrace[] = [];
  const effects: Effect[] = [];
  const stay = (dueAt: Date | null): StepResult => ({
    moved: false,
    nodeId: member.nodeId,
    state: member.state,
    dueAt,
    nodeEnteredAt: member.nodeEnteredAt,
    error: null,
    effects,
    trace,
  });
  if (member.state !== "active") return stay(null);

  const conversion = findConversion(wf, facts, member.enrolledAt, now);
  if (conversion) {
    const node = wf.nodes.get(member.nodeId);
    trace.push({
      at: now,
      nodeId: conversion.goal.id,
      nodeType: "goal",
      action: "converted",
      reason: `goal "${conversion.goal.label ?? conversion.goal.id}": ${conversion.event.type} at ${conversion.event.occurredAt.toISOString()} (the member was at ${node?.id ?? member.nodeId})`,
    });
    return finish(member.nodeId, "converted", now, trace, effects);
  }

  let nodeId = member.nodeId;
  let enteredAt = member.nodeEnteredAt;
  // The node the member was already at when this step began is resumed, not entered again, unless the
  // previous step only brought them there (due at the moment they entered it).
  let arriving = member.dueAt !== undefined && member.dueAt.getTime() === member.nodeEnteredAt.getTime();
  for (let visited = 0; visited < MAX_NODES_PER_STEP; visited++) {
    const node = wf.nodes.get(nodeId);
    if (!node) {
      const missing = { id: nodeId, type: "unknown" };
      return fail(
        missing,
        enteredAt,
        now,
        `node "${nodeId}" is not in this workflow version`,
        trace,
        effects,
      );
    }
    const go = (outlet: string, action: string, reason: string) => {
      trace.push({ at: now, nodeId: node.id, nodeType: node.type, action, reason, outlet });
      const next = node.outlets[outlet];
      if (next === undefined) throw new Error(`node "${node.id}" has no outlet "${outlet}"`);
      nodeId = next;
      enteredAt = now;
      arriving = true;
    };
    try {
      switch (node.type) {
        case "entry":
          go("next", "entered", "enrolled in the campaign");
          break;
        case "send": {
          const audienceAction = node.channel === "ads" ? (node.audienceAction ?? "add") : null;
          effects.push({
            kind: "send",
            nodeId: node.id,
            channel: node.channel,
            templateId: node.templateId ?? null,
            destination: node.destination ?? null,
            audienceAction,
            retry: node.retry ?? null,
            idempotencyKey: idempotencyKey(campaignId, member, node.id),
          });
          const what =
            audienceAction === "remove"
              ? `: remove from ad destination ${node.destination}`
              : audienceAction === "add"
                ? `: add to ad destination ${node.destination}`
                : ` with template ${node.templateId}`;
          go("next", "send", `queued ${node.channel}${what}`);
          break;
        }
        case "webhook":
          effects.push({
            kind: "webhook",
            nodeId: node.id,
            url: node.url,
            body: node.body ?? null,
            retry: node.retry ?? null,
            idempotencyKey: idempotencyKey(campaignId, member, node.id),
          });
          go("next", "webhook", `queued POST to ${node.url}`);
          break;
        case "update": {
          effects.push({
            kind: "update",
            nodeId: node.id,
            set: node.set ?? {},
            unset: node.unset ?? [],
            addToLists: node.addToLists ?? [],
            removeFromLists: node.removeFromLists ?? [],
            consent: node.consent ?? [],
          });
          go("next", "updated", describeUpdate(node));
          // Conditions further on must see the update committed: continue in the next batch.
          trace.push({
            at: now,
            nodeId,
            nodeType: wf.nodes.get(nodeId)?.type ?? "unknown",
            action: "arrived",
            reason: "continues at once, after the update is saved",
          });
          return moveTo(nodeId, now, now, trace, effects);
        }
        case "wait": {
          const wait = waitUntil(node, enteredAt, facts, now);
          if (wait.exit) {
            trace.push({
              at: now,
              nodeId: node.id,
              nodeType: node.type,
              action: "exited",
              reason: wait.reason,
            });
            return finish(node.id, "completed", now, trace, effects);
          }
          if (wait.until.getTime() > now.getTime()) {
            if (!arriving) return stay(wait.until);
            trace.push({
              at: now,
              nodeId: node.id,
              nodeType: node.type,
              action: "waiting",
              reason: wait.reason,
            });
            return moveTo(node.id, enteredAt, wait.until, trace, effects);
          }
          go("next", "waited", arriving ? `no wait needed: ${wait.reason}` : `wait over: ${wait.reason}`);
          break;
        }
        case "wait_for": {
          const timeoutAt = addDuration(enteredAt, node.timeout);
          const what = describeWaitFor(node, wf);
          const match = facts.events.find(
            (e) =>
              e.occurredAt.getTime() >= enteredAt.getTime() &&
              e.occurredAt.getTime() <= now.getTime() &&
              e.occurredAt.getTime() <= timeoutAt.getTime() &&
              waitForMatches(node, campaignId, e, now),
          );
          if (match) {
            go("matched", "matched", `${what}: ${match.type} at ${match.occurredAt.toISOString()}`);
          } else if (now.getTime() >= timeoutAt.getTime()) {
            go("timed_out", "timed_out", `${what}: nothing by ${timeoutAt.toISOString()}`);
          } else {
            if (!arriving) return stay(timeoutAt);
            trace.push({
              at: now,
              nodeId: node.id,
              nodeType: node.type,
              action: "waiting",
              reason: `${what}, until ${timeoutAt.toISOString()}`,
            });
            return moveTo(node.id, enteredAt, timeoutAt, trace, effects);
          }
          break;
        }
        case "condition": {
          const outlet = facts.condition(node);
          const reason = node.rule
            ? outlet === "yes"
              ? "the rule matched"
              : "the rule did not match"
            : outlet === "default"
              ? "no branch matched: default"
              : `branch "${outlet}" is the first that matched`;
          go(outlet, "branched", reason);
          break;
        }
        case "split": {
          const experiment = node.experiment;
          if (!experiment) {
            const { key, bucket, share } = weightedBranch(node, member.contactId);
            go(key, "split", `bucket ${bucket.toFixed(4)} falls in "${key}" (${share}%)`);
            break;
          }
          let state = facts.experiment?.(node.id);
          if (!state) {
            // The first member to arrive starts the test window.
            state = { status: "testing", decideAt: addDuration(now, experiment.window) };
            experiments.push({ kind: "start", nodeId: node.id, startedAt: now, decideAt: state.decideAt });
          }
          if (state.status === "decided") {
            experiments.push({ kind: "assign", nodeId: node.id, branch: state.winner, phase: "rollout" });
            go(state.winner, "split", `routed to variant "${state.winner}", ${state.reason}`);
            break;
          }
          const decideAt = state.decideAt;
          const testing = now.getTime() < decideAt.getTime();
          const inTest = testShareBucket(node.id, member.contactId) < experiment.testPercent / 100;
          if (arriving && testing && inTest) {
            const { key, bucket, share } = weightedBranch(node, member.contactId);
            experiments.push({ kind: "assign", nodeId: node.id, branch: key, phase: "test" });
            go(
              key,
              "split",
              `in the experiment's ${experiment.testPercent}% test share until ${decideAt.toISOString()}: bucket ${bucket.toFixed(4)} falls in variant "${key}" (${share}%)`,
            );
            break;
          }
          if (!arriving) return stay(decideAt);
          trace.push({
            at: now,
            nodeId: node.id,
            nodeType: node.type,
            action: "waiting",
            reason: testing
              ? `waiting for the experiment's decision at ${decideAt.toISOString()} (not in the ${experiment.testPercent}% test share)`
              : `waiting for the experiment's decision (its test window ended at ${decideAt.toISOString()})`,
          });
          return moveTo(node.id, enteredAt, decideAt, trace, effects);
        }
        case "exit":
          trace.push({
            at: now,
            nodeId: node.id,
            nodeType: node.type,
            action: "exited",
            reason: "reached an exit",
          });
          return finish(node.id, "completed", now, trace, effects);
        case "goal":
          // Goal nodes stand apart from the paths; validation refuses an outlet leading to one.
          throw new Error(`goal node "${node.id}" cannot be on a path`);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail(node, enteredAt, now, message, trace, effects);
    }
  }
  const last = { id: nodeId, type: wf.nodes.get(nodeId)?.type ?? "unknown" };
  return fail(
    last,
    enteredAt,
    now,
    `more than ${MAX_NODES_PER_STEP} nodes in one step: a loop with no wait`,
    trace,
    effects,
  );
}

function moveTo(
  nodeId: string,
  enteredAt: Date,
  dueAt: Date,
  trace: StepTrace[],
  effects: Effect[],
): StepResult {
  return {
    moved: true,
    nodeId,
    state: "active",
    dueAt,
    nodeEnteredAt: enteredAt,
    error: null,
    effects,
    trace,
  };
}

function finish(
  nodeId: string,
  state: "completed" | "converted",
  now: Date,
  trace: StepTrace[],
  effects: Effect[],
): StepResult {
  return { moved: true, nodeId, state, dueAt: null, nodeEnteredAt: now, error: null, effects, trace };
}

/** A failure stops the member at the node that failed, keeping what the step did before it. */
function fail(
  node: { id: string; type: string },
  enteredAt: Date,
  now: Date,
  error: string,
  trace: StepTrace[],
  effects: Effect[],
): StepResult {
  const nodeId = node.id;
  trace.push({ at: now, nodeId, nodeType: node.type, action: "failed", reason: error });
  return {
    moved: true,
    nodeId,
    state: "failed",
    dueAt: null,
    nodeEnteredAt: enteredAt,
    error,
    effects,
    trace,
  };
}

function findConversion(wf: CompiledWorkflow, facts: MemberFacts, enrolledAt: Date, now: Date) {
  if (wf.goals.length === 0) return null;
  for (const event of facts.events) {
    if (event.occurredAt.getTime() < enrolledAt.getTime() || event.occurredAt.getTime() > now.getTime())
      continue;
    for (const goal of wf.goals) {
      if (event.type === goal.eventType && matchesPropertyFilters(goal.where, event.properties, now)) {
        return { goal, event };
      }
    }
  }
  return null;
}

function waitForMatches(node: NodeOf<"wait_for">, campaignId: string, event: FactEvent, now: Date): boolean {
  const spec = node.for;
  if (spec.kind === "event") {
    return event.type === spec.eventType && matchesPropertyFilters(spec.where, event.properties, now);
  }
  // An email clicked was opened, whether or not its pixel loaded (images blocked), as reports count it.
  const clickProvesOpen =
    spec.response === "opened" && event.type === "message.clicked" && event.properties.channel === "email";
  if (event.type !== `message.${spec.response}` && !clickProvesOpen) return false;
  // A link scanner (Safe Links, Mimecast …) clicks every link on delivery: its clicks move no one.
  if (event.type === "message.clicked" && event.properties.machine === true) return false;
  if (event.properties.campaignId !== campaignId) return false;
  return spec.sendNodeId === undefined || event.properties.nodeId === spec.sendNodeId;
}

function describeWaitFor(node: NodeOf<"wait_for">, wf: CompiledWorkflow): string {
  const spec = node.for;
  if (spec.kind === "event")
    return `waits for event ${spec.eventType}${spec.where?.length ? " (with filters)" : ""}`;
  const send = spec.sendNodeId ? wf.nodes.get(spec.sendNodeId) : undefined;
  return `waits for "${spec.response}" on ${send ? `send "${send.label ?? send.id}"` : "any send of this campaign"}`;
}

type WaitOutcome = { exit: false; until: Date; reason: string } | { exit: true; reason: string };

function waitUntil(node: NodeOf<"wait">, enteredAt: Date, facts: MemberFacts, now: Date): WaitOutcome {
  switch (node.mode) {
    case "duration": {
      const until = addDuration(enteredAt, node.duration);
      return {
        exit: false,
        until,
        reason: `${describeDuration(durationMs(node.duration))} from ${enteredAt.toISOString()}`,
      };
    }
    case "window": {
      // Judged from now, not from arrival: a member who is due late must still go inside a window.
      const until = nextWindowStart(now, facts.timeZone, node.window);
      const days = node.window.days.join(", ");
      return {
        exit: false,
        until,
        reason: `window ${days} ${node.window.from}–${node.window.to} ${facts.timeZone}, next at ${until.toISOString()}`,
      };
    }
    case "date": {
      const { attribute, offsetDays = 0, at, ifMissing = "continue" } = node.date;
      const until = dateAttributeMoment(facts.attributes[attribute], offsetDays, at, facts.timeZone);
      const offset = offsetDays === 0 ? "" : ` ${offsetDays > 0 ? "+" : "−"} ${Math.abs(offsetDays)} days`;
      if (until === null) {
        const reason = `attribute ${attribute} is missing or not a date`;
        return ifMissing === "exit" ? { exit: true, reason } : { exit: false, until: now, reason };
      }
      return {
        exit: false,
        until,
        reason: `${attribute}${offset} at ${at ?? "09:00"} ${facts.timeZone} is ${until.toISOString()}`,
      };
    }
  }
}

function describeDuration(ms: number): string {
  const parts: string[] = [];
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  let rest = ms;
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? "" : "s"}`);
    rest -= n * size;
  }
  return parts.join(" ") || "0 seconds";
}

function describeUpdate(node: NodeOf<"update">): string {
  const parts: string[] = [];
  if (node.set && Object.keys(node.set).length) parts.push(`set ${Object.keys(node.set).join(", ")}`);
  if (node.unset?.length) parts.push(`unset ${node.unset.join(", ")}`);
  if (node.addToLists?.length) parts.push(`added to ${node.addToLists.length} list(s)`);
  if (node.removeFromLists?.length) parts.push(`removed from ${node.removeFromLists.length} list(s)`);
  for (const c of node.consent ?? []) parts.push(`${c.channel} consent ${c.status}`);
  return parts.join("; ");
}
