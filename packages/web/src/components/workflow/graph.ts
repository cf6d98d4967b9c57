/**
 * The workflow graph as the editor sees it: the outlets each step has, a new step of each type, plain
 * English for each step and problem, and a layered layout for graphs that carry no positions.
 */
import type {
  Duration,
  NodeType,
  WorkflowGraph,
  WorkflowNode,
  WorkflowProblem,
} from "@omneural/contracts/workflows";
import { NODE_TYPES, requiredOutlets } from "@omneural/contracts/workflows";

export type { Duration, NodeType, WorkflowGraph, WorkflowNode, WorkflowProblem };

export const NODE_TYPE_NAMES: Record<NodeType, string> = {
  entry: "Start",
  send: "Send a message",
  wait: "Wait",
  wait_for: "Wait for a response",
  condition: "Check a condition",
  split: "Random split",
  update: "Update the contact",
  webhook: "Call a webhook",
  goal: "Goal",
  exit: "Exit",
};

export const NODE_TYPE_HELP: Record<NodeType, string> = {
  entry: "Where each member starts.",
  send: "Sends an email, text, letter or ad-audience change using a template.",
  wait: "Waits a fixed time, until a time of day, or until a date.",
  wait_for: "Waits for a click, an open or a named event, with a time limit.",
  condition: "Sends members one way or the other depending on who they are or what they did.",
  split: "Splits members at random between variants, optionally as an A/B test.",
  update: "Changes the contact's attributes, lists or consent.",
  webhook: "Tells another system, with a signed request.",
  goal: "Counts a conversion whenever the member performs an event, wherever they are.",
  exit: "The member leaves the workflow.",
};

/** The types a marketer adds from the palette (a workflow has exactly one start). */
export const ADDABLE_TYPES: NodeType[] = NODE_TYPES.filter((type) => type !== "entry");

export const OUTLET_NAMES: Record<string, string> = {
  next: "then",
  matched: "responded",
  timed_out: "no response",
  yes: "yes",
  no: "no",
  default: "otherwise",
};

export function outletName(outlet: string): string {
  return OUTLET_NAMES[outlet] ?? outlet;
}

/**
 * The outlets a node must have, as the validator expects: the contract's requiredOutlets, tolerating a
 * split still without branches while it is being edited.
 */
export function outletsOf(node: WorkflowNode): string[] {
  return node.type === "split" && !node.branches ? [] : requiredOutlets(node);
}

/** Whether other steps may lead to this one. */
export function hasInlet(node: WorkflowNode): boolean {
  return node.type !== "entry" && node.type !== "goal";
}

export function displayName(node: WorkflowNode): string {
  return node.label?.trim() || NODE_TYPE_NAMES[node.type] || node.type;
}

/** A fresh id for a node of this type: `send_1`, `send_2` … */
export function freshId(graph: WorkflowGraph, type: NodeType): string {
  const taken = new Set(graph.nodes.map((n) => n.id));
  for (let i = 1; ; i++) {
    const id = `${type}_${i}`;
    if (!taken.has(id)) return id;
  }
}

/** A new node with sensible settings, so that most steps are valid as soon as they are connected. */
export function newNode(type: NodeType, id: string, position: { x: number; y: number }): WorkflowNode {
  const base = { id, position, outlets: {} as Record<string, string> };
  switch (type) {
    case "entry":
      return { ...base, type };
    case "send":
      return { ...base, type, channel: "email" };
    case "wait":
      return { ...base, type, mode: "duration", duration: { days: 1 } };
    case "wait_for":
      return { ...base, type, for: { kind: "response", response: "clicked" }, timeout: { days: 3 } };
    case "condition":
      return { ...base, type, rule: { kind: "reachable", channel: "email" } };
    case "split":
      return {
        ...base,
        type,
        branches: [
          { key: "a", weight: 50 },
          { key: "b", weight: 50 },
        ],
      };
    case "update":
      return { ...base, type, set: {} };
    case "webhook":
      return { ...base, type, url: "" };
    case "goal":
      return { ...base, type, eventType: "" };
    case "exit":
      return { ...base, type };
  }
}

/** The graph a new workflow starts with: start → exit. */
export function starterGraph(): WorkflowGraph {
  return {
    nodes: [
      { id: "entry", type: "entry", position: { x: 0, y: 0 }, outlets: { next: "done" } },
      { id: "done", type: "exit", position: { x: 0, y: 200 }, outlets: {} },
    ],
  };
}

/** Reads an API graph defensively: a draft may be anything the API accepted. */
export function asGraph(value: unknown): WorkflowGraph {
  if (value && typeof value === "object" && Array.isArray((value as { nodes?: unknown }).nodes)) {
    const nodes = (value as { nodes: unknown[] }).nodes.filter(
      (n): n is WorkflowNode =>
        Boolean(n) && typeof n === "object" && typeof (n as { id?: unknown }).id === "string",
    );
    return { nodes: nodes.map((n) => ({ ...n, outlets: { ...(n.outlets ?? {}) } }) as WorkflowNode) };
  }
  return { nodes: [] };
}

const COLUMN = 250;
const ROW = 175;

/**
 * Positions for every node: its own where it has one, else a layered layout. Each step sits one row
 * below the deepest step leading to it (longest path from the start, loops ignored), so exits end up at
 * the bottom; within a row, steps follow the order of the steps and outlets they come from. `force`
 * recomputes them all ("Tidy up").
 */
export function layout(graph: WorkflowGraph, force = false): Record<string, { x: number; y: number }> {
  const positions: Record<string, { x: number; y: number }> = {};
  const missing = graph.nodes.filter((n) => force || !n.position);
  if (!force) for (const n of graph.nodes) if (n.position) positions[n.id] = n.position;
  if (missing.length === 0) return positions;

  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const next = (id: string) => {
    const node = byId.get(id);
    if (!node) return [];
    return outletsOf(node)
      .map((o) => node.outlets?.[o])
      .filter((to): to is string => Boolean(to && byId.has(to)));
  };
  // Depth-first from the start: the reverse post-order is a topological order once loop edges are left out.
  const state = new Map<string, "open" | "done">();
  const order: string[] = [];
  const back = new Set<string>();
  const visit = (id: string) => {
    state.set(id, "open");
    for (const to of next(id)) {
      if (state.get(to) === "open") back.add(`${id}>${to}`);
      else if (!state.has(to)) visit(to);
    }
    state.set(id, "done");
    order.push(id);
  };
  for (const n of graph.nodes) if (n.type === "entry" && !state.has(n.id)) visit(n.id);
  order.reverse();
  const depth = new Map<string, number>();
  for (const id of order) {
    if (!depth.has(id)) depth.set(id, 0);
    for (const to of next(id)) {
      if (back.has(`${id}>${to}`)) continue;
      depth.set(to, Math.max(depth.get(to) ?? 0, (depth.get(id) ?? 0) + 1));
    }
  }
  const deepest = Math.max(0, ...depth.values());
  const layers = new Map<number, string[]>();
  const addToLayer = (d: number, id: string) => layers.set(d, [...(layers.get(d) ?? []), id]);
  // Steps in the order they are reached, so that a row follows the row above it.
  for (const id of [...order, ...graph.nodes.map((n) => n.id).filter((id) => !depth.has(id))]) {
    // Unreachable steps (and goals, which stand apart) go in a row of their own below.
    addToLayer(depth.get(id) ?? deepest + 1, id);
  }
  // Each connection pulls its step under the outlet it leaves from (outlets fan out left to right). A
  // connection that skips rows gets a placeholder in each row it crosses, so that no card sits in its way
  // (several steps leading to one exit, a "no response" going straight to the end).
  const parents = new Map<string, { from: string; offset: number }[]>();
  const addParent = (child: string, from: string, offset: number) =>
    parents.set(child, [...(parents.get(child) ?? []), { from, offset }]);
  const placeholders = new Set<string>();
  for (const id of order) {
    const node = byId.get(id);
    if (!node) continue;
    const outlets = outletsOf(node);
    outlets.forEach((outlet, i) => {
      const to = node.outlets?.[outlet];
      if (!to || !depth.has(to) || back.has(`${id}>${to}`)) return;
      let from = id;
      let offset = outlets.length > 1 ? (i - (outlets.length - 1) / 2) * COLUMN * 1.4 : 0;
      for (let d = (depth.get(id) ?? 0) + 1; d < (depth.get(to) ?? 0); d++) {
        const placeholder = `\u0000${id}>${outlet}>${d}`;
        placeholders.add(placeholder);
        addToLayer(d, placeholder);
        addParent(placeholder, from, offset);
        from = placeholder;
        offset = 0;
      }
      addParent(to, from, offset);
    });
  }
  const xs = new Map<string, number>();
  for (const d of [...layers.keys()].sort((a, b) => a - b)) {
    const ids = layers.get(d) ?? [];
    const wanted = (id: string) => {
      const pulls = (parents.get(id) ?? []).filter((p) => xs.has(p.from));
      return pulls.length
        ? pulls.reduce((sum, p) => sum + (xs.get(p.from) ?? 0) + p.offset, 0) / pulls.length
        : 0;
    };
    const sorted = ids
      .map((id, i) => ({ id, i, want: wanted(id) }))
      .sort((a, b) => a.want - b.want || a.i - b.i);
    const placed: number[] = [];
    sorted.forEach((item, i) => {
      const previous = sorted[i - 1];
      if (!previous) {
        placed.push(item.want);
        return;
      }
      const both = placeholders.has(item.id) && placeholders.has(previous.id);
      const either = placeholders.has(item.id) || placeholders.has(previous.id);
      const gap = both ? COLUMN * 0.3 : either ? COLUMN * 0.65 : COLUMN;
      placed.push(Math.max(item.want, (placed[i - 1] ?? 0) + gap));
    });
    // Pushing cards apart moves them right; shift the row back so that, on average, each sits where pulled.
    const shift =
      sorted.reduce((sum, item, i) => sum + item.want - (placed[i] ?? 0), 0) / (sorted.length || 1);
    sorted.forEach((item, i) => {
      const x = Math.round((placed[i] ?? 0) + shift);
      xs.set(item.id, x);
      const node = byId.get(item.id);
      if (!node || (!force && node.position)) return;
      positions[item.id] = { x, y: d * ROW };
    });
  }
  return positions;
}

/** The graph with every position filled in. */
export function withPositions(graph: WorkflowGraph, force = false): WorkflowGraph {
  const positions = layout(graph, force);
  return {
    nodes: graph.nodes.map((n) => ({ ...n, position: positions[n.id] ?? n.position ?? { x: 0, y: 0 } })),
  };
}

// ---- Durations ----

export type DurationUnit = "minutes" | "hours" | "days";
const UNIT_SECONDS: Record<DurationUnit, number> = { minutes: 60, hours: 3600, days: 86_400 };

export function durationSeconds(duration: Duration | undefined): number {
  if (!duration) return 0;
  return (
    (duration.days ?? 0) * 86_400 +
    (duration.hours ?? 0) * 3600 +
    (duration.minutes ?? 0) * 60 +
    (duration.seconds ?? 0)
  );
}

/** A duration as one number and its largest exact unit: 36 hours, 2 days, 90 minutes. */
export function splitDuration(duration: Duration | undefined): { amount: number; unit: DurationUnit } {
  const seconds = durationSeconds(duration);
  if (seconds === 0) return { amount: 1, unit: "days" };
  for (const unit of ["days", "hours", "minutes"] as const) {
    if (seconds % UNIT_SECONDS[unit] === 0) return { amount: seconds / UNIT_SECONDS[unit], unit };
  }
  return { amount: Math.round(seconds / 60), unit: "minutes" };
}

export function describeDuration(duration: Duration | undefined): string {
  const { amount, unit } = splitDuration(duration);
  return `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}`;
}

// ---- Words ----

const RESPONSE_WORDS: Record<string, string> = {
  received: "receives it",
  opened: "opens it",
  clicked: "clicks a link",
  replied: "replies",
  converted: "converts",
  unsubscribed: "unsubscribes",
};

const CHANNEL_WORDS: Record<string, string> = {
  email: "Email",
  sms: "Text",
  mail: "Letter",
  ads: "Ad audience",
};

/** One line saying what a step does, for the canvas. */
export function summaryOf(node: WorkflowNode, templateName?: (id: string) => string | undefined): string {
  switch (node.type) {
    case "entry":
      return "Members start here";
    case "send": {
      const channel = CHANNEL_WORDS[node.channel] ?? node.channel;
      if (node.channel === "ads")
        return `${node.audienceAction === "remove" ? "Remove from" : "Add to"} an ad audience`;
      if (!node.templateId) return `${channel}: choose a template`;
      return `${channel}: ${templateName?.(node.templateId) ?? "a template"}`;
    }
    case "wait":
      if (node.mode === "duration") return `For ${describeDuration(node.duration)}`;
      if (node.mode === "window")
        return `Until ${node.window.days.join(", ")} ${node.window.from}–${node.window.to}`;
      return `Until ${node.date.attribute}${node.date.offsetDays ? ` ${node.date.offsetDays > 0 ? "+" : ""}${node.date.offsetDays} days` : ""}`;
    case "wait_for": {
      const what =
        node.for.kind === "response"
          ? `Until the member ${RESPONSE_WORDS[node.for.response] ?? node.for.response}`
          : `Until "${node.for.eventType}"`;
      return `${what}, at most ${describeDuration(node.timeout)}`;
    }
    case "condition":
      return node.branches
        ? `${node.branches.length} branch${node.branches.length === 1 ? "" : "es"}, else otherwise`
        : "Yes or no";
    case "split":
      return node.experiment
        ? `A/B test on ${node.experiment.metric}s`
        : (node.branches ?? []).map((b) => `${b.key} ${b.weight}%`).join(" · ");
    case "update": {
      const parts: string[] = [];
      const set = Object.keys(node.set ?? {});
      if (set.length) parts.push(`Sets ${set.slice(0, 3).join(", ")}${set.length > 3 ? " …" : ""}`);
      if (node.unset?.length) parts.push(`clears ${node.unset.length}`);
      const lists = (node.addToLists?.length ?? 0) + (node.removeFromLists?.length ?? 0);
      if (lists) parts.push(`${lists} list${lists === 1 ? "" : "s"}`);
      if (node.consent?.length) parts.push(`consent: ${node.consent.map((c) => c.channel).join(", ")}`);
      const text = parts.join(" · ");
      return text ? text.charAt(0).toUpperCase() + text.slice(1) : "Changes the contact";
    }
    case "webhook":
      return node.url ? node.url.replace(/^https?:\/\//, "") : "Give a URL";
    case "goal":
      return node.eventType ? `When "${node.eventType}" happens` : "Choose an event";
    case "exit":
      return "The member leaves";
  }
}

const FIELD_WORDS: [RegExp, string][] = [
  [/\btemplateId\b/g, "the template"],
  [/\boutlets\.next\b/g, 'the "then" connection'],
  [/\boutlets\.matched\b/g, 'the "responded" connection'],
  [/\boutlets\.timed_out\b/g, 'the "no response" connection'],
  [/\boutlets\.(\w+)\b/g, 'the "$1" connection'],
  [/\bfor\.eventType\b/g, "the event name"],
  [/\beventType\b/g, "the event name"],
  [/\burl\b/g, "the URL"],
];

/** A validator message in plainer words, without the node prefix (the message is shown on the node). */
export function friendlyProblem(problem: WorkflowProblem): string {
  let text = problem.message.replace(/^node "[^"]*": /, "").replace(/^nodes\[\d+\]: /, "");
  for (const [pattern, words] of FIELD_WORDS) text = text.replace(pattern, words);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The path of a problem's field inside its node: `nodes[3].outlets.next` → `outlets.next`. */
export function fieldInNode(problem: WorkflowProblem): string {
  return problem.field.replace(/^nodes\[\d+\]\.?/, "");
}

// ---- Checks the editor makes before asking the server ----

/**
 * Problems the editor finds itself, shaped like the validator's: a split's shares must add up to 100
 * (the engine would scale them, but a marketer means percentages).
 */
export function localProblems(graph: WorkflowGraph): WorkflowProblem[] {
  const found: WorkflowProblem[] = [];
  graph.nodes.forEach((node, index) => {
    if (node.type !== "split") return;
    const total =
      Math.round((node.branches ?? []).reduce((sum, b) => sum + (Number(b.weight) || 0), 0) * 100) / 100;
    if (total !== 100) {
      found.push({
        nodeId: node.id,
        field: `nodes[${index}].branches`,
        message: `node "${node.id}": the shares add up to ${total}%: make them add up to 100%`,
      });
    }
  });
  return found;
}
