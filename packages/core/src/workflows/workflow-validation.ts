/**
 * The workflow validator: checks a graph as the editor sends it and reports every problem with the node
 * it concerns and the path of the field at fault (`nodes[3].outlets.next`). The checks of each node come
 * first; the checks of the graph as a whole (one entry, everything reachable, no cycle without a wait,
 * responses awaited after a send) run only once the nodes and their outlets are sound, so that a typo
 * yields one error rather than a cascade. TypeBox's check of the whole graph runs last as a safety net.
 */
import { RESPONSES } from "@omneural/contracts/audiences";
import {
  EXPERIMENT_METRICS,
  NODE_TYPES,
  type NodeType,
  requiredOutlets,
  WEEKDAYS,
  WorkflowGraph,
  type WorkflowNode,
  type WorkflowProblem,
} from "@omneural/contracts/workflows";
import { Compile } from "typebox/compile";
import { IsUri, IsUuid } from "typebox/format";
import { Value } from "typebox/value";
import { CHANNELS, KEY_PATTERN, type RuleProblem, validateRule } from "../audiences/audience-rules.ts";

export interface TemplateRef {
  id: string;
  channel: string;
}

export interface ValidationContext {
  /** Templates of this workspace that the graph references, by id (the caller loads them). A templateId absent here does not exist in this workspace. */
  templates: Map<string, TemplateRef>;
  /** Ad destinations of this workspace that the graph's ads sends name, by id (see `referencedAdDestinationIds`). A destination absent here does not exist in this workspace. */
  adDestinations: Map<string, { id: string }>;
}

export type GraphValidation = { ok: true; graph: WorkflowGraph } | { ok: false; errors: WorkflowProblem[] };

const MAX_NODES = 500;
const MAX_GOALS = 20;
const MAX_BRANCHES = 20;
const MAX_DURATION_DAYS = 400;
const MAX_JSON_DEPTH = 32;

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const EVENT_TYPE = /^[A-Za-z0-9_.:-]+$/;
const LOCAL_TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const HTTP_URL = /^https?:\/\/[^/?#]/i;

const NODE_ID_RULE = "1 to 64 letters, digits, _ or -";
const EVENT_TYPE_RULE = "1 to 100 letters, digits, _ . : or -";
const KEY_RULE = "a letter or _, then letters, digits or _; at most 64";

const COMMON_PROPERTIES = ["id", "type", "label", "position"];
/** The properties each node type has besides the common ones and `outlets`. */
const TYPE_PROPERTIES: Record<NodeType, string[]> = {
  entry: [],
  send: ["channel", "templateId", "destination", "audienceAction", "retry"],
  wait: ["mode", "duration", "window", "date"],
  wait_for: ["for", "timeout"],
  condition: ["rule", "branches"],
  split: ["branches", "experiment"],
  update: ["set", "unset", "addToLists", "removeFromLists", "consent"],
  webhook: ["url", "body", "retry"],
  goal: ["eventType", "where"],
  exit: [],
};
const WAIT_MODES = ["duration", "window", "date"] as const;
const DURATION_PARTS = { days: 86_400, hours: 3600, minutes: 60, seconds: 1 } as const;
const CONSENT_CHANGES = ["subscribed", "unsubscribed"] as const;
const AUDIENCE_ACTIONS = ["add", "remove"] as const;
const UPDATE_ACTIONS = ["set", "unset", "addToLists", "removeFromLists", "consent"] as const;
const EXPERIMENT_PROPERTIES = ["testPercent", "window", "metric", "confidence", "fallback"];
const BEST_FALLBACK = "best";

/** One node being checked, and what the graph-level checks need to know about it afterwards. */
interface NodeCheck {
  index: number;
  node: Record<string, unknown>;
  /** The node's id when it has one, for WorkflowProblem.nodeId and messages (possibly malformed). */
  nodeId: string | null;
  type: NodeType | undefined;
  outlets: Record<string, unknown> | undefined;
  /** The outlets the node must have; undefined when the fields that decide them are broken. */
  outletNames: string[] | undefined;
  /** Set for a wait_for whose `for` is a well-formed response. */
  awaitsResponse: { sendNodeId: string | undefined } | undefined;
  errors: WorkflowProblem[];
}

/** Whether the graph's structure is sound enough for the graph-level checks to mean anything. */
interface Soundness {
  /** Every node is an object with a valid, unique id and a known type. */
  identified: boolean;
  /** Identified, and every outlet is present, expected and leads to a node that may be entered. */
  wired: boolean;
}

/**
 * Checks a workflow graph and reports every problem. `ctx.templates` holds the templates the graph
 * references (see `referencedTemplateIds`); a template absent from it does not exist in this workspace.
 */
export function validateWorkflowGraph(graph: unknown, ctx: ValidationContext): GraphValidation {
  const errors: WorkflowProblem[] = [];
  if (!isObject(graph)) {
    errors.push(graphProblem("graph", "a workflow graph must be an object like { nodes: [...] }"));
    return { ok: false, errors };
  }
  for (const key of Object.keys(graph)) {
    if (key !== "nodes")
      errors.push(graphProblem(key, `${key} is not a property of a workflow graph (it has only nodes)`));
  }
  const nodes = graph.nodes;
  if (!Array.isArray(nodes)) {
    errors.push(
      graphProblem("nodes", nodes === undefined ? "nodes is required" : "nodes must be a list of nodes"),
    );
    return { ok: false, errors };
  }
  if (nodes.length > MAX_NODES) {
    errors.push(
      graphProblem("nodes", `a workflow has at most ${MAX_NODES} nodes; this one has ${nodes.length}`),
    );
    return { ok: false, errors };
  }

  const soundness: Soundness = { identified: true, wired: true };
  const checks: NodeCheck[] = [];
  const firstIndexOfId = new Map<string, number>();
  for (const [index, raw] of nodes.entries()) {
    if (!isObject(raw)) {
      errors.push({
        nodeId: null,
        field: `nodes[${index}]`,
        message: `nodes[${index}] must be a node object`,
      });
      soundness.identified = soundness.wired = false;
      continue;
    }
    const check = checkNode(raw, index, firstIndexOfId, ctx, soundness);
    checks.push(check);
    errors.push(...drain(check));
  }

  // Outlets and references to other nodes, once every id is known.
  const byId = new Map<string, NodeCheck>();
  for (const check of checks)
    if (check.nodeId !== null && !byId.has(check.nodeId)) byId.set(check.nodeId, check);
  for (const check of checks) {
    checkOutlets(check, byId, soundness);
    checkSendNodeReference(check, byId);
    errors.push(...drain(check));
  }

  const goals = checks.filter((c) => c.type === "goal");
  if (goals.length > MAX_GOALS) {
    errors.push(
      graphProblem("nodes", `a workflow has at most ${MAX_GOALS} goal nodes; this one has ${goals.length}`),
    );
  }
  if (soundness.identified) errors.push(...checkEntry(checks));
  if (soundness.wired) {
    // Only ids and outlets are read from here on, and those are sound.
    const wired = graph as WorkflowGraph;
    const entries = checks.filter((c) => c.type === "entry");
    if (entries.length === 1) errors.push(...checkReachable(wired, checks, entries[0]!));
    errors.push(...checkCycles(wired, byId));
    errors.push(...checkResponses(wired, checks, byId));
  }

  if (errors.length) return { ok: false, errors };
  return safetyNet(graph, checks);
}

/** Template ids a graph (possibly invalid) references, for the caller to load. Never throws. */
export function referencedTemplateIds(graph: unknown): string[] {
  if (!isObject(graph) || !Array.isArray(graph.nodes) || graph.nodes.length > MAX_NODES) return [];
  const ids = new Set<string>();
  for (const node of graph.nodes) {
    // Only well-formed UUIDs: the caller looks them up in a uuid column, where anything else would throw.
    if (
      isObject(node) &&
      node.type === "send" &&
      typeof node.templateId === "string" &&
      IsUuid(node.templateId)
    ) {
      ids.add(node.templateId.toLowerCase());
    }
  }
  return [...ids];
}

/** Ad destination ids the ads sends of a graph (possibly invalid) name, for the caller to load. Never throws. */
export function referencedAdDestinationIds(graph: unknown): string[] {
  if (!isObject(graph) || !Array.isArray(graph.nodes) || graph.nodes.length > MAX_NODES) return [];
  const ids = new Set<string>();
  for (const node of graph.nodes) {
    if (
      isObject(node) &&
      node.type === "send" &&
      node.channel === "ads" &&
      typeof node.destination === "string" &&
      IsUuid(node.destination)
    ) {
      ids.add(node.destination.toLowerCase());
    }
  }
  return [...ids];
}

/** Node ids reachable from `from` (inclusive) following outlets. Empty when `from` is not a node. */
export function reachableFrom(graph: WorkflowGraph, from: string): Set<string> {
  const next = successors(graph);
  if (!next.has(from)) return new Set();
  return closure([from], next, true);
}

/** The node ids that are upstream of `nodeId` (can reach it), excluding itself unless on a cycle. */
export function upstreamOf(graph: WorkflowGraph, nodeId: string): Set<string> {
  return closure([nodeId], predecessors(graph), false);
}

// ---- Nodes ----

function checkNode(
  node: Record<string, unknown>,
  index: number,
  firstIndexOfId: Map<string, number>,
  ctx: ValidationContext,
  soundness: Soundness,
): NodeCheck {
  const id = node.id;
  const check: NodeCheck = {
    index,
    node,
    nodeId: typeof id === "string" ? id : null,
    type: undefined,
    outlets: undefined,
    outletNames: undefined,
    awaitsResponse: undefined,
    errors: [],
  };
  const broken = () => {
    soundness.identified = soundness.wired = false;
  };

  if (id === undefined) {
    invalid(check, "id", "is required");
    broken();
  } else if (typeof id !== "string" || !NODE_ID.test(id)) {
    invalid(check, "id", `${show(id)} is not a node id (${NODE_ID_RULE})`);
    broken();
  } else if (firstIndexOfId.has(id)) {
    invalid(
      check,
      "id",
      `${show(id)} is also the id of nodes[${firstIndexOfId.get(id)}]; node ids must be unique`,
    );
    broken();
  } else firstIndexOfId.set(id, index);

  const type = node.type;
  if (typeof type !== "string" || !isOneOf(type, NODE_TYPES)) {
    invalid(
      check,
      "type",
      type === undefined
        ? `is required (use ${NODE_TYPES.join(", ")})`
        : `${show(type)} is not a node type (use ${NODE_TYPES.join(", ")})`,
    );
    broken();
  } else check.type = type;

  if (node.label !== undefined) {
    if (typeof node.label !== "string" || codePoints(node.label) > 200) {
      invalid(check, "label", "must be a string of at most 200 characters");
    }
  }
  if (node.position !== undefined) checkPosition(check, node.position);

  if (node.outlets === undefined) {
    if (check.type === "goal" || check.type === "exit") check.outlets = {};
    else {
      invalid(check, "outlets", "is required (an object of outlet name → node id)");
      soundness.wired = false;
    }
  } else if (!isObject(node.outlets)) {
    invalid(check, "outlets", "must be an object of outlet name → node id");
    soundness.wired = false;
  } else check.outlets = node.outlets;

  if (!check.type) return check;
  const wellFormedForOutlets = checkFields(check, check.type, ctx);
  if (wellFormedForOutlets) {
    // requiredOutlets reads only the type, and for condition and split the branch keys just checked.
    check.outletNames = requiredOutlets(node as unknown as WorkflowNode);
  } else soundness.wired = false;
  return check;
}

/** Checks the fields of a node of a known type. False when the fields that decide its outlets are broken. */
function checkFields(check: NodeCheck, type: NodeType, ctx: ValidationContext): boolean {
  const node = check.node;
  let own = TYPE_PROPERTIES[type];
  let what = aNode(type);
  if (type === "wait" && typeof node.mode === "string" && isOneOf(node.mode, WAIT_MODES)) {
    own = ["mode", node.mode];
    what = `a ${node.mode} wait node`;
  }
  checkProperties(check, node, "", [...COMMON_PROPERTIES, ...own, "outlets"], what);

  switch (type) {
    case "entry":
    case "exit":
      return true;
    case "send":
      checkSend(check, ctx);
      return true;
    case "wait":
      checkWait(check);
      return true;
    case "wait_for":
      checkWaitFor(check);
      return true;
    case "condition":
      return checkCondition(check);
    case "split":
      return checkSplit(check);
    case "update":
      checkUpdate(check);
      return true;
    case "webhook":
      checkWebhook(check);
      return true;
    case "goal":
      checkEventType(check, "eventType", node.eventType);
      checkPropertyFilters(check, "", node.where);
      return true;
  }
}

function checkPosition(check: NodeCheck, position: unknown) {
  if (!isObject(position)) {
    invalid(check, "position", "must be an object like { x: 120, y: 80 }");
    return;
  }
  checkProperties(check, position, "position", ["x", "y"], "a position");
  for (const axis of ["x", "y"]) {
    if (!isFiniteNumber(position[axis])) invalid(check, `position.${axis}`, "must be a number");
  }
}

function checkSend(check: NodeCheck, ctx: ValidationContext) {
  const { channel, templateId, destination, audienceAction, retry } = check.node;
  checkOneOf(check, "channel", channel, CHANNELS, "a channel", true);
  const validChannel = typeof channel === "string" && isOneOf(channel, CHANNELS) ? channel : undefined;

  if (validChannel === "ads") {
    if (templateId !== undefined)
      invalid(check, "templateId", "does not apply to channel ads, which names a destination");
  } else if (templateId === undefined) {
    if (validChannel) invalid(check, "templateId", `is required for channel ${validChannel}`);
  } else if (typeof templateId !== "string" || !IsUuid(templateId)) {
    invalid(check, "templateId", `${show(templateId)} is not a UUID`);
  } else if (validChannel) {
    const template = ctx.templates.get(templateId) ?? ctx.templates.get(templateId.toLowerCase());
    if (!template) problem(check, "templateId", `template ${templateId} does not exist in this workspace`);
    else if (template.channel !== validChannel) {
      problem(
        check,
        "templateId",
        `template ${templateId} is for ${template.channel}; this node sends ${validChannel}`,
      );
    }
  }

  if (validChannel === "ads" && destination === undefined) {
    invalid(
      check,
      "destination",
      "is required for channel ads (the id of the ad destination to add the member to or remove them from)",
    );
  } else if (destination !== undefined) {
    if (validChannel && validChannel !== "ads") {
      invalid(check, "destination", `applies only to channel ads; channel ${validChannel} uses templateId`);
    } else if (typeof destination !== "string" || !IsUuid(destination)) {
      invalid(
        check,
        "destination",
        `${show(destination)} is not an ad destination id (a UUID, see GET /api/v1/ad-destinations)`,
      );
    } else if (validChannel && !ctx.adDestinations.has(destination.toLowerCase())) {
      problem(check, "destination", `ad destination ${destination} does not exist in this workspace`);
    }
  }
  if (audienceAction !== undefined) {
    if (validChannel && validChannel !== "ads") {
      invalid(check, "audienceAction", `applies only to channel ads, not ${validChannel}`);
    } else checkOneOf(check, "audienceAction", audienceAction, AUDIENCE_ACTIONS, "an audience action", false);
  }
  if (retry !== undefined) checkRetry(check, "retry", retry);
}

function checkRetry(check: NodeCheck, path: string, retry: unknown) {
  if (!isObject(retry)) {
    invalid(check, path, "must be an object like { maxAttempts: 5, backoffSeconds: 60 }");
    return;
  }
  checkProperties(check, retry, path, ["maxAttempts", "backoffSeconds"], "a retry policy");
  checkInteger(check, `${path}.maxAttempts`, retry.maxAttempts, 1, 20);
  checkInteger(check, `${path}.backoffSeconds`, retry.backoffSeconds, 1, 86_400);
}

function checkWait(check: NodeCheck) {
  const node = check.node;
  checkOneOf(check, "mode", node.mode, WAIT_MODES, "a wait mode", true);
  switch (node.mode) {
    case "duration":
      checkDuration(check, "duration", node.duration);
      return;
    case "window":
      checkWindow(check, node.window);
      return;
    case "date":
      checkDate(check, node.date);
      return;
  }
}

/** A duration: at least one part, all whole numbers, more than zero and at most 400 days in total. */
function checkDuration(check: NodeCheck, path: string, duration: unknown) {
  if (duration === undefined) {
    invalid(check, path, "is required (e.g. { days: 1 })");
    return;
  }
  if (!isObject(duration)) {
    invalid(check, path, "must be an object like { days: 1, hours: 12 }");
    return;
  }
  const parts = Object.keys(DURATION_PARTS);
  checkProperties(check, duration, path, parts, "a duration");
  let seconds = 0;
  let wellFormed = true;
  for (const [part, unit] of Object.entries(DURATION_PARTS)) {
    const value = duration[part];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      invalid(check, `${path}.${part}`, `must be a whole number of ${part}, 0 or more`);
      wellFormed = false;
    } else seconds += value * unit;
  }
  if (!wellFormed) return;
  if (seconds === 0) invalid(check, path, `must be longer than zero (give ${parts.join(", ")})`);
  else if (seconds > MAX_DURATION_DAYS * 86_400)
    invalid(check, path, `must be at most ${MAX_DURATION_DAYS} days in all`);
}

function checkWindow(check: NodeCheck, window: unknown) {
  if (window === undefined) {
    invalid(check, "window", 'is required (e.g. { days: ["mon", "tue"], from: "09:00", to: "17:00" })');
    return;
  }
  if (!isObject(window)) {
    invalid(check, "window", 'must be an object like { days: ["mon", "tue"], from: "09:00", to: "17:00" }');
    return;
  }
  checkProperties(check, window, "window", ["days", "from", "to"], "a window");
  const days = window.days;
  if (days === undefined) invalid(check, "window.days", `is required (some of ${WEEKDAYS.join(", ")})`);
  else if (!Array.isArray(days))
    invalid(check, "window.days", `must be a list of days (some of ${WEEKDAYS.join(", ")})`);
  else if (days.length === 0) invalid(check, "window.days", "must list at least one day");
  else {
    const seen = new Set<unknown>();
    for (const [i, day] of days.entries()) {
      if (typeof day !== "string" || !isOneOf(day, WEEKDAYS)) {
        invalid(check, `window.days[${i}]`, `${show(day)} is not a day (use ${WEEKDAYS.join(", ")})`);
      } else if (seen.has(day)) invalid(check, `window.days[${i}]`, `lists ${show(day)} a second time`);
      seen.add(day);
    }
  }
  const from = checkLocalTime(check, "window.from", window.from, true);
  const to = checkLocalTime(check, "window.to", window.to, true);
  if (from && to && from === to)
    invalid(check, "window.to", `must differ from window.from (both are ${from})`);
}

function checkDate(check: NodeCheck, date: unknown) {
  if (date === undefined) {
    invalid(check, "date", 'is required (e.g. { attribute: "renewal_date", offsetDays: -7 })');
    return;
  }
  if (!isObject(date)) {
    invalid(check, "date", 'must be an object like { attribute: "renewal_date", offsetDays: -7 }');
    return;
  }
  checkProperties(check, date, "date", ["attribute", "offsetDays", "at", "ifMissing"], "a date wait");
  const attribute = date.attribute;
  if (attribute === undefined)
    invalid(check, "date.attribute", "is required (the attribute that holds the date)");
  else if (typeof attribute !== "string" || !KEY_PATTERN.test(attribute)) {
    invalid(check, "date.attribute", `${show(attribute)} is not an attribute key (${KEY_RULE})`);
  }
  if (date.offsetDays !== undefined) checkInteger(check, "date.offsetDays", date.offsetDays, -3650, 3650);
  checkLocalTime(check, "date.at", date.at, false);
  checkOneOf(check, "date.ifMissing", date.ifMissing, ["continue", "exit"], "a choice", false);
}

function checkWaitFor(check: NodeCheck) {
  checkAwaited(check, check.node.for);
  checkDuration(check, "timeout", check.node.timeout);
}

function checkAwaited(check: NodeCheck, awaited: unknown) {
  if (awaited === undefined) {
    invalid(check, "for", 'is required (e.g. { kind: "event", eventType: "purchase" })');
    return;
  }
  if (!isObject(awaited)) {
    invalid(check, "for", 'must be an object like { kind: "event", eventType: "purchase" }');
    return;
  }
  const kind = awaited.kind;
  if (kind === "event") {
    checkProperties(check, awaited, "for", ["kind", "eventType", "where"], "an event wait");
    checkEventType(check, "for.eventType", awaited.eventType);
    checkPropertyFilters(check, "for", awaited.where);
  } else if (kind === "response") {
    checkProperties(check, awaited, "for", ["kind", "response", "sendNodeId"], "a response wait");
    const before = check.errors.length;
    checkOneOf(check, "for.response", awaited.response, RESPONSES, "a response", true);
    const sendNodeId = awaited.sendNodeId;
    if (sendNodeId !== undefined && (typeof sendNodeId !== "string" || !NODE_ID.test(sendNodeId))) {
      invalid(check, "for.sendNodeId", `${show(sendNodeId)} is not a node id (${NODE_ID_RULE})`);
    }
    if (check.errors.length === before) {
      check.awaitsResponse = { sendNodeId: sendNodeId as string | undefined };
    }
  } else {
    invalid(
      check,
      "for.kind",
      kind === undefined
        ? "is required (use event, response)"
        : `${show(kind)} is not a kind of wait (use event, response)`,
    );
  }
}

function checkCondition(check: NodeCheck): boolean {
  const { rule, branches } = check.node;
  if (rule !== undefined && branches !== undefined) {
    problem(check, "", "a condition has either a rule (outlets yes and no) or branches, not both");
    return false;
  }
  if (rule !== undefined) {
    checkRule(check, `nodes[${check.index}].rule`, rule);
    return true;
  }
  if (branches === undefined) {
    problem(
      check,
      "",
      "a condition needs a rule (outlets yes and no) or branches (an outlet per key, and default)",
    );
    return false;
  }
  if (!Array.isArray(branches)) {
    invalid(check, "branches", "must be a list of { key, rule }");
    return false;
  }
  if (branches.length === 0 || branches.length > MAX_BRANCHES) {
    invalid(check, "branches", `must have 1 to ${MAX_BRANCHES} branches; it has ${branches.length}`);
  }
  let keysSound = checkBranchKeys(check, branches, "a condition branch", ["key", "rule"]);
  for (const [i, branch] of branches.entries()) {
    if (!isObject(branch)) continue;
    if (branch.key === "default") {
      invalid(
        check,
        `branches[${i}].key`,
        '"default" is taken: it is the outlet for a member no branch matches',
      );
      keysSound = false;
    }
    if (branch.rule === undefined) invalid(check, `branches[${i}].rule`, "is required");
    else checkRule(check, `nodes[${check.index}].branches[${i}].rule`, branch.rule);
  }
  return keysSound;
}

function checkSplit(check: NodeCheck): boolean {
  const branches = check.node.branches;
  if (branches === undefined) {
    invalid(check, "branches", 'is required (e.g. [{ key: "a", weight: 50 }, { key: "b", weight: 50 }])');
    return false;
  }
  if (!Array.isArray(branches)) {
    invalid(check, "branches", "must be a list of { key, weight }");
    return false;
  }
  if (branches.length < 2 || branches.length > MAX_BRANCHES) {
    invalid(check, "branches", `must have 2 to ${MAX_BRANCHES} branches; it has ${branches.length}`);
  }
  const keysSound = checkBranchKeys(check, branches, "a split branch", ["key", "weight"]);
  let total = 0;
  let weightsSound = true;
  for (const [i, branch] of branches.entries()) {
    if (!isObject(branch)) continue;
    const weight = branch.weight;
    if (!isFiniteNumber(weight) || weight < 0 || weight > 100) {
      invalid(
        check,
        `branches[${i}].weight`,
        weight === undefined ? "is required" : "must be a number from 0 to 100",
      );
      weightsSound = false;
    } else total += weight;
  }
  if (weightsSound && branches.length > 0 && total <= 0) {
    invalid(check, "branches", "has weights that add up to 0; at least one must be above 0");
  }
  if (check.node.experiment !== undefined) checkExperiment(check, branches);
  return keysSound;
}

/** An A/B experiment on a split: its branches are the variants. */
function checkExperiment(check: NodeCheck, branches: unknown[]) {
  const experiment = check.node.experiment;
  if (!isObject(experiment)) {
    invalid(
      check,
      "experiment",
      'must be an object like { testPercent: 20, window: { hours: 24 }, metric: "click", fallback: "a" }',
    );
    return;
  }
  checkProperties(check, experiment, "experiment", EXPERIMENT_PROPERTIES, "an experiment");
  const { testPercent, metric, confidence, fallback } = experiment;
  if (testPercent === undefined) {
    invalid(check, "experiment.testPercent", "is required (the share of members in the test, 1 to 100)");
  } else if (!isFiniteNumber(testPercent) || testPercent < 1 || testPercent > 100) {
    invalid(check, "experiment.testPercent", "must be a number from 1 to 100");
  }
  checkDuration(check, "experiment.window", experiment.window);
  checkOneOf(check, "experiment.metric", metric, EXPERIMENT_METRICS, "an experiment metric", true);
  if (confidence !== undefined && (!isFiniteNumber(confidence) || confidence < 0.8 || confidence > 0.99)) {
    invalid(check, "experiment.confidence", "must be a number from 0.8 to 0.99 (default 0.95)");
  }
  const keys: string[] = [];
  for (const [i, branch] of branches.entries()) {
    if (!isObject(branch)) continue;
    if (typeof branch.key === "string") keys.push(branch.key);
    if (branch.key === BEST_FALLBACK) {
      invalid(
        check,
        `branches[${i}].key`,
        '"best" is taken in an experiment: fallback "best" means the variant with the highest observed rate',
      );
    }
    if (branch.weight === 0) {
      invalid(
        check,
        `branches[${i}].weight`,
        "must be above 0 in an experiment: every branch is a variant that gets part of the test share",
      );
    }
  }
  const choices = `${listOf([...keys.map(show), '"best"'])}`.replace(/ and "best"$/, ' or "best"');
  if (fallback === undefined) {
    invalid(
      check,
      "experiment.fallback",
      `is required: the variant everyone gets when no difference is significant (${choices})`,
    );
  } else if (typeof fallback !== "string" || (fallback !== BEST_FALLBACK && !keys.includes(fallback))) {
    invalid(
      check,
      "experiment.fallback",
      `${show(fallback)} is not a branch key of this split (use ${choices})`,
    );
  }
}

/** Checks each branch is an object with a valid key, and that no key repeats. True when all keys are sound. */
function checkBranchKeys(check: NodeCheck, branches: unknown[], what: string, properties: string[]): boolean {
  let sound = true;
  const seen = new Set<string>();
  for (const [i, branch] of branches.entries()) {
    if (!isObject(branch)) {
      invalid(check, `branches[${i}]`, `must be an object like { ${properties.join(", ")} }`);
      sound = false;
      continue;
    }
    checkProperties(check, branch, `branches[${i}]`, properties, what);
    const key = branch.key;
    if (key === undefined) {
      invalid(check, `branches[${i}].key`, "is required (the name of its outlet)");
      sound = false;
    } else if (typeof key !== "string" || !NODE_ID.test(key)) {
      invalid(check, `branches[${i}].key`, `${show(key)} is not a branch key (${NODE_ID_RULE})`);
      sound = false;
    } else if (seen.has(key)) {
      invalid(
        check,
        `branches[${i}].key`,
        `${show(key)} is the key of an earlier branch; keys must be unique`,
      );
      sound = false;
    } else seen.add(key);
  }
  return sound;
}

function checkUpdate(check: NodeCheck) {
  const node = check.node;
  const present = UPDATE_ACTIONS.filter((action) => node[action] !== undefined);
  const isEmpty = (value: unknown) =>
    (Array.isArray(value) && value.length === 0) || (isObject(value) && Object.keys(value).length === 0);
  if (present.every((action) => isEmpty(node[action]))) {
    problem(check, "", `an update node must change something: give ${UPDATE_ACTIONS.join(", ")}`);
  }

  const set = node.set;
  if (set !== undefined) {
    if (!isObject(set)) invalid(check, "set", "must be an object of attribute key → value");
    else {
      for (const [key, value] of Object.entries(set)) {
        if (!KEY_PATTERN.test(key))
          problem(check, `set.${key}`, `${show(key)} is not an attribute key (${KEY_RULE})`);
        else if (!isJsonValue(value, 0)) {
          invalid(
            check,
            `set.${key}`,
            `must be a JSON value (text, number, true/false, null, a list or an object)`,
          );
        }
      }
    }
  }
  checkList(check, "unset", node.unset, 100, (key, path) => {
    if (typeof key !== "string" || !KEY_PATTERN.test(key)) {
      invalid(check, path, `${show(key)} is not an attribute key (${KEY_RULE})`);
    }
  });
  for (const action of ["addToLists", "removeFromLists"] as const) {
    checkList(check, action, node[action], 20, (listId, path) => {
      if (typeof listId !== "string" || !IsUuid(listId))
        invalid(check, path, `${show(listId)} is not a list id (a UUID)`);
    });
  }
  checkList(check, "consent", node.consent, CHANNELS.length, (change, path) => {
    if (!isObject(change)) {
      invalid(check, path, 'must be an object like { channel: "email", status: "unsubscribed" }');
      return;
    }
    checkProperties(check, change, path, ["channel", "status"], "a consent change");
    checkOneOf(check, `${path}.channel`, change.channel, CHANNELS, "a channel", true);
    checkOneOf(check, `${path}.status`, change.status, CONSENT_CHANGES, "a consent status to set", true);
  });
}

function checkList(
  check: NodeCheck,
  path: string,
  value: unknown,
  max: number,
  checkItem: (item: unknown, path: string) => void,
) {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    invalid(check, path, "must be a list");
    return;
  }
  if (value.length > max) invalid(check, path, `has ${value.length} entries; at most ${max}`);
  for (const [i, item] of value.entries()) checkItem(item, `${path}[${i}]`);
}

function checkWebhook(check: NodeCheck) {
  const { url, body, retry } = check.node;
  if (url === undefined) invalid(check, "url", "is required (e.g. https://example.com/hooks/omneural)");
  else if (
    typeof url !== "string" ||
    codePoints(url) > 2000 ||
    !HTTP_URL.test(url) ||
    !IsUri(url) ||
    !URL.canParse(url)
  ) {
    invalid(check, "url", `${show(url)} is not an absolute http or https URL of at most 2000 characters`);
  }
  if (body !== undefined && (!isObject(body) || !isJsonValue(body, 0))) {
    invalid(check, "body", "must be a JSON object");
  }
  if (retry !== undefined) checkRetry(check, "retry", retry);
}

function checkEventType(check: NodeCheck, path: string, eventType: unknown) {
  if (eventType === undefined) invalid(check, path, "is required");
  else if (typeof eventType !== "string" || codePoints(eventType) > 100 || !EVENT_TYPE.test(eventType)) {
    invalid(check, path, `${show(eventType)} is not an event type (${EVENT_TYPE_RULE})`);
  }
}

/**
 * Property filters (`where`) are those of an audience event rule, with the same limit of 20, so the
 * audience rule validator checks them inside a stand-in event rule and names each fault.
 */
function checkPropertyFilters(check: NodeCheck, path: string, where: unknown) {
  if (where === undefined) return;
  const base = `nodes[${check.index}]${path ? `.${path}` : ""}`;
  const result = validateRule({ kind: "event", type: "event", where }, base);
  if (!result.ok) for (const error of result.errors) ruleProblem(check, error);
}

/** A condition's rule: the audience rule language, plus `entry_event` (the event that enrolled the member). */
function checkRule(check: NodeCheck, path: string, rule: unknown) {
  const result = validateRule(rule, path, { entryEvent: true });
  if (!result.ok) for (const error of result.errors) ruleProblem(check, error);
}

// ---- Outlets and references ----

function checkOutlets(check: NodeCheck, byId: Map<string, NodeCheck>, soundness: Soundness) {
  const { outlets, outletNames, type } = check;
  if (!outlets || !type) return;
  const broken = (path: string, message: string) => {
    problem(check, path, message);
    soundness.wired = false;
  };
  if (type === "goal" || type === "exit") {
    for (const name of Object.keys(outlets)) {
      const why = type === "goal" ? "a goal stands apart from the paths" : "the member leaves here";
      broken(`outlets.${name}`, `${aNode(type)} has no outlets (${why}); remove outlet ${show(name)}`);
    }
    return;
  }
  if (outletNames) {
    const expected = `${aNode(type)} has ${outletNames.map(show).join(", ")}`;
    for (const name of outletNames) {
      if (!Object.hasOwn(outlets, name))
        broken(`outlets.${name}`, `outlet ${show(name)} is missing (${expected})`);
    }
    for (const name of Object.keys(outlets)) {
      if (!outletNames.includes(name))
        broken(`outlets.${name}`, `${show(name)} is not an outlet of this node (${expected})`);
    }
  }
  for (const [name, target] of Object.entries(outlets)) {
    const path = `outlets.${name}`;
    if (typeof target !== "string") {
      broken(path, `outlet ${show(name)} must name the node it leads to`);
      continue;
    }
    const to = byId.get(target);
    if (!to)
      broken(path, `outlet ${show(name)} leads to ${show(target)}, which is not a node of this workflow`);
    else if (to.type === "entry") {
      broken(
        path,
        `outlet ${show(name)} leads to ${show(target)}, the entry node; no outlet may lead to the entry`,
      );
    } else if (to.type === "goal") {
      broken(
        path,
        `outlet ${show(name)} leads to ${show(target)}, a goal node; goals stand apart from the paths and take no inlets`,
      );
    }
  }
}

function checkSendNodeReference(check: NodeCheck, byId: Map<string, NodeCheck>) {
  const sendNodeId = check.awaitsResponse?.sendNodeId;
  if (sendNodeId === undefined) return;
  const target = byId.get(sendNodeId);
  if (!target) {
    problem(
      check,
      "for.sendNodeId",
      `waits for a response to ${show(sendNodeId)}, which is not a node of this workflow`,
    );
    check.awaitsResponse = undefined;
  } else if (target.type !== "send") {
    problem(
      check,
      "for.sendNodeId",
      `waits for a response to ${show(sendNodeId)}, which is ${target.type ? aNode(target.type) : "a malformed node"}, not a send node`,
    );
    check.awaitsResponse = undefined;
  }
}

// ---- The graph as a whole ----

function checkEntry(checks: NodeCheck[]): WorkflowProblem[] {
  const entries = checks.filter((c) => c.type === "entry");
  if (entries.length === 0) return [graphProblem("nodes", "a workflow needs an entry node")];
  const names = listOf(entries.map((c) => show(c.nodeId)));
  return entries.slice(1).map((extra) => ({
    nodeId: extra.nodeId,
    field: `nodes[${extra.index}].type`,
    message: `a workflow has exactly one entry node, but ${names} are ${entries.length === 2 ? "both" : "all"} entry nodes`,
  }));
}

function checkReachable(graph: WorkflowGraph, checks: NodeCheck[], entry: NodeCheck): WorkflowProblem[] {
  const reachable = reachableFrom(graph, entry.nodeId!);
  return checks
    .filter((c) => c.type !== "goal" && !reachable.has(c.nodeId!))
    .map((c) => ({
      nodeId: c.nodeId,
      field: `nodes[${c.index}]`,
      message: `node ${show(c.nodeId)} cannot be reached from the entry ${show(entry.nodeId)}`,
    }));
}

/**
 * A member moves through nodes until one makes them wait, so a cycle is safe only if a wait or a
 * wait_for is on it. Such cycles are the strongly connected components of the graph without those
 * nodes: each component of two or more nodes, or one node leading to itself, is reported once.
 */
function checkCycles(graph: WorkflowGraph, byId: Map<string, NodeCheck>): WorkflowProblem[] {
  const isStop = (id: string) => {
    const type = byId.get(id)?.type;
    return type === "wait" || type === "wait_for";
  };
  const next = new Map<string, string[]>();
  for (const [id, targets] of successors(graph)) {
    if (!isStop(id))
      next.set(
        id,
        targets.filter((t) => !isStop(t)),
      );
  }
  const position = (id: string) => byId.get(id)!.index;
  const errors: WorkflowProblem[] = [];
  const components = stronglyConnectedComponents(next).map((c) =>
    c.sort((a, b) => position(a) - position(b)),
  );
  components.sort((a, b) => position(a[0]!) - position(b[0]!));
  for (const component of components) {
    const start = component[0]!;
    const cycle = shortestCycle(start, next, new Set(component));
    if (!cycle) continue;
    const check = byId.get(start)!;
    const outlet = Object.entries(check.outlets ?? {}).find(([, target]) => target === cycle[1])?.[0];
    const others = component.filter((id) => !cycle.includes(id));
    const also = others.length ? `; ${listOf(others.map(show))} loop with them too` : "";
    const forever = `a member would loop forever in one step${also}`;
    problem(
      check,
      `outlets${outlet === undefined ? "" : `.${outlet}`}`,
      cycle.length === 2
        ? `it leads to itself with no wait on the way: ${forever}`
        : `nodes ${cycle.map(show).join(" → ")} form a cycle with no wait on it: ${forever}`,
    );
    errors.push(...drain(check));
  }
  return errors;
}

function checkResponses(
  graph: WorkflowGraph,
  checks: NodeCheck[],
  byId: Map<string, NodeCheck>,
): WorkflowProblem[] {
  const errors: WorkflowProblem[] = [];
  const previous = predecessors(graph);
  for (const check of checks) {
    if (!check.awaitsResponse) continue;
    // upstreamOf, with the predecessors worked out once for all the waits.
    const upstream = closure([check.nodeId!], previous, false);
    const { sendNodeId } = check.awaitsResponse;
    if (sendNodeId !== undefined) {
      if (!upstream.has(sendNodeId)) {
        problem(
          check,
          "for.sendNodeId",
          `waits for a response to ${show(sendNodeId)}, but no path leads from ${show(sendNodeId)} to ${show(check.nodeId)}`,
        );
      }
    } else if (![...upstream].some((id) => byId.get(id)?.type === "send")) {
      problem(check, "for", `waits for a response, but no send node comes before ${show(check.nodeId)}`);
    }
    errors.push(...drain(check));
  }
  return errors;
}

/** Our checks are meant to be at least as strict as the schema; a graph failing it here is a bug here. */
let compiledGraphChecker: { Check(value: unknown): boolean } | undefined;
function safetyNet(graph: Record<string, unknown>, checks: NodeCheck[]): GraphValidation {
  compiledGraphChecker ??= Compile(WorkflowGraph) as unknown as { Check(value: unknown): boolean };
  // The schema requires `outlets` on every node; goal and exit nodes may leave it out.
  const withOutlets = {
    ...graph,
    nodes: checks.map((c) => (c.node.outlets === undefined ? { ...c.node, outlets: {} } : c.node)),
  };
  if (compiledGraphChecker.Check(withOutlets)) return { ok: true, graph: graph as WorkflowGraph };
  const first = [...Value.Errors(WorkflowGraph, withOutlets)][0];
  const field = first
    ? first.instancePath
        .slice(1)
        .replace(/^nodes\/(\d+)/, "nodes[$1]")
        .replaceAll("/", ".")
    : "";
  const index = /^nodes\[(\d+)\]/.exec(field)?.[1];
  return {
    ok: false,
    errors: [
      {
        nodeId: index === undefined ? null : (checks[Number(index)]?.nodeId ?? null),
        field: field || "graph",
        message: `does not match the workflow schema (${first?.message ?? "unknown reason"})`,
      },
    ],
  };
}

// ---- Graph algorithms ----

/** Each node id → the ids its outlets lead to that are nodes of the graph. */
function successors(graph: WorkflowGraph): Map<string, string[]> {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const next = new Map<string, string[]>();
  for (const node of graph.nodes) {
    // Goal and exit nodes may leave out `outlets` (the validator treats it as {}).
    const targets = Object.values(node.outlets ?? {}).filter((t) => ids.has(t));
    next.set(node.id, targets);
  }
  return next;
}

/** Each node id → the ids of the nodes with an outlet leading to it. */
function predecessors(graph: WorkflowGraph): Map<string, string[]> {
  const previous = new Map<string, string[]>();
  for (const [id, targets] of successors(graph)) {
    for (const target of targets) {
      const sources = previous.get(target);
      if (sources) sources.push(id);
      else previous.set(target, [id]);
    }
  }
  return previous;
}

/** The ids reachable from `starts` along `edges`; the starts themselves only if `inclusive` or reached again. */
function closure(starts: string[], edges: Map<string, string[]>, inclusive: boolean): Set<string> {
  const seen = new Set<string>(inclusive ? starts : []);
  const stack = [...starts];
  while (stack.length) {
    for (const to of edges.get(stack.pop()!) ?? []) {
      if (!seen.has(to)) {
        seen.add(to);
        stack.push(to);
      }
    }
  }
  return seen;
}

/** Tarjan's algorithm, iterative so that a long chain cannot exhaust the stack. */
function stronglyConnectedComponents(next: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of next.keys()) {
    if (index.has(root)) continue;
    const work: { id: string; edge: number }[] = [{ id: root, edge: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const targets = next.get(frame.id) ?? [];
      if (frame.edge < targets.length) {
        const to = targets[frame.edge++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ id: to, edge: 0 });
        } else if (onStack.has(to)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        components.push(component);
      }
    }
  }
  return components;
}

/** The shortest path from `start` back to itself within `members`, as [start, …, start]; null if none. */
function shortestCycle(start: string, next: Map<string, string[]>, members: Set<string>): string[] | null {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const at = queue[head]!;
    for (const to of next.get(at) ?? []) {
      if (to === start) {
        const path = [start];
        for (
          let step: string | undefined = at;
          step !== undefined && step !== start;
          step = cameFrom.get(step)
        ) {
          path.push(step);
        }
        return [start, ...path.slice(1).reverse(), start];
      }
      if (members.has(to) && !cameFrom.has(to)) {
        cameFrom.set(to, at);
        queue.push(to);
      }
    }
  }
  return null;
}

// ---- Reporting ----

const nodeName = (check: NodeCheck) =>
  check.nodeId === null ? `nodes[${check.index}]` : `node ${show(check.nodeId)}`;

/** A problem with a node; `path` is relative to the node, `message` a sentence about it. */
function problem(check: NodeCheck, path: string, message: string) {
  check.errors.push({
    nodeId: check.nodeId,
    field: `nodes[${check.index}]${path ? `.${path}` : ""}`,
    message: `${nodeName(check)}: ${message}`,
  });
}

/** A problem with one field of a node, described relative to it (`must be …`, `is required`). */
function invalid(check: NodeCheck, path: string, detail: string) {
  problem(check, path, `${path} ${detail}`);
}

/** A problem the audience rule validator found, at a full path inside this node. */
function ruleProblem(check: NodeCheck, error: RuleProblem) {
  const prefix = `nodes[${check.index}].`;
  const path = error.field.startsWith(prefix) ? error.field.slice(prefix.length) : error.field;
  check.errors.push({
    nodeId: check.nodeId,
    field: error.field,
    message: `${nodeName(check)}: ${path}: ${error.message}`,
  });
}

/** Takes the problems recorded on a node so far. */
const drain = (check: NodeCheck) => check.errors.splice(0);

const graphProblem = (field: string, message: string): WorkflowProblem => ({ nodeId: null, field, message });

function checkProperties(
  check: NodeCheck,
  value: Record<string, unknown>,
  path: string,
  allowed: string[],
  what: string,
) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      invalid(
        check,
        path ? `${path}.${key}` : key,
        `is not a property of ${what} (it has ${allowed.join(", ")})`,
      );
    }
  }
}

function checkOneOf(
  check: NodeCheck,
  path: string,
  value: unknown,
  allowed: readonly string[],
  what: string,
  required: boolean,
) {
  if (value === undefined) {
    if (required) invalid(check, path, `is required (use ${allowed.join(", ")})`);
  } else if (typeof value !== "string" || !allowed.includes(value)) {
    invalid(check, path, `${show(value)} is not ${what} (use ${allowed.join(", ")})`);
  }
}

function checkInteger(check: NodeCheck, path: string, value: unknown, min: number, max: number) {
  if (value === undefined) invalid(check, path, "is required");
  else if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(check, path, `must be a whole number from ${min} to ${max}`);
  }
}

/** Checks an HH:MM time; returns it when valid. */
function checkLocalTime(
  check: NodeCheck,
  path: string,
  value: unknown,
  required: boolean,
): string | undefined {
  if (value === undefined) {
    if (required) invalid(check, path, "is required (a time of day as HH:MM)");
    return undefined;
  }
  if (typeof value === "string" && LOCAL_TIME.test(value)) return value;
  invalid(check, path, `${show(value)} is not a time of day as HH:MM (00:00 to 23:59)`);
  return undefined;
}

// ---- Small helpers ----

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

/** "a send node", "an update node". */
const aNode = (type: string) => `${/^[aeiou]/.test(type) ? "an" : "a"} ${type} node`;

const isOneOf = <T extends string>(value: string, allowed: readonly T[]): value is T =>
  (allowed as readonly string[]).includes(value);

/** Whether a value survives a JSON round trip unchanged (and is not absurdly deep). */
function isJsonValue(value: unknown, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return false;
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value).every((item) => isJsonValue(item, depth + 1));
}

// TypeBox measures string lengths in code points.
const codePoints = (value: string) => {
  let n = 0;
  for (const _ of value) n++;
  return n;
};

const show = (value: unknown) => {
  const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** "a", "a and b", "a, b and c". */
const listOf = (items: string[]) =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
