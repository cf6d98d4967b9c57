import { WorkflowGraph, type WorkflowProblem } from "@omneural/contracts/workflows";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import {
  reachableFrom,
  referencedAdDestinationIds,
  referencedTemplateIds,
  upstreamOf,
  type ValidationContext,
  validateWorkflowGraph,
} from "./workflow-validation.ts";

const EMAIL_TEMPLATE = "0190a5b8-3333-7000-8000-000000000001";
const SMS_TEMPLATE = "0190a5b8-3333-7000-8000-000000000002";
const MAIL_TEMPLATE = "0190a5b8-3333-7000-8000-000000000003";
const LIST = "0190a5b8-3333-7000-8000-0000000000aa";
const AD_DESTINATION = "0190a5b8-3333-7000-8000-0000000000d1";

const ctx: ValidationContext = {
  templates: new Map([
    [EMAIL_TEMPLATE, { id: EMAIL_TEMPLATE, channel: "email" }],
    [SMS_TEMPLATE, { id: SMS_TEMPLATE, channel: "sms" }],
    [MAIL_TEMPLATE, { id: MAIL_TEMPLATE, channel: "mail" }],
  ]),
  adDestinations: new Map([[AD_DESTINATION, { id: AD_DESTINATION }]]),
};

type Node = Record<string, unknown>;

const entry = (next: string, id = "entry"): Node => ({ id, type: "entry", outlets: { next } });
const exit = (id: string): Node => ({ id, type: "exit", outlets: {} });
const sendEmail = (id: string, next: string): Node => ({
  id,
  type: "send",
  channel: "email",
  templateId: EMAIL_TEMPLATE,
  outlets: { next },
});
const sendSms = (id: string, next: string): Node => ({
  id,
  type: "send",
  channel: "sms",
  templateId: SMS_TEMPLATE,
  outlets: { next },
});
const waitDays = (id: string, days: number, next: string): Node => ({
  id,
  type: "wait",
  mode: "duration",
  duration: { days },
  outlets: { next },
});
const update = (id: string, next: string): Node => ({
  id,
  type: "update",
  set: { seen: true },
  outlets: { next },
});
const vip = { kind: "field", field: "attributes.vip", type: "boolean", condition: { op: "eq", value: true } };
const condition = (id: string, yes: string, no: string): Node => ({
  id,
  type: "condition",
  rule: vip,
  outlets: { yes, no },
});
const awaitResponse = (id: string, matched: string, timedOut: string, sendNodeId?: string): Node => ({
  id,
  type: "wait_for",
  for: { kind: "response", response: "opened", ...(sendNodeId ? { sendNodeId } : {}) },
  timeout: { days: 3 },
  outlets: { matched, timed_out: timedOut },
});

/** The problems found in a graph; [] when it is valid. */
function problems(graph: unknown, context = ctx): WorkflowProblem[] {
  const result = validateWorkflowGraph(graph, context);
  return result.ok ? [] : result.errors;
}

/** The problems as "field: message" lines. */
const lines = (graph: unknown) => problems(graph).map((p) => `${p.field}: ${p.message}`);

/** entry → node → done: a graph to check one node's fields in (the node is nodes[1]). */
const around = (node: Node) => ({
  nodes: [entry("n"), { id: "n", outlets: { next: "done" }, ...node }, exit("done")],
});

describe("validateWorkflowGraph", () => {
  it("accepts a campaign with a response wait, a wait, a condition, a split and a goal, and returns the same graph", () => {
    const graph = {
      nodes: [
        entry("welcome"),
        sendEmail("welcome", "opened"),
        awaitResponse("opened", "done", "nudge", "welcome"),
        sendSms("nudge", "pause"),
        waitDays("pause", 1, "is_vip"),
        condition("is_vip", "ab", "not_vip"),
        {
          id: "ab",
          type: "split",
          branches: [
            { key: "a", weight: 50 },
            { key: "b", weight: 50 },
          ],
          outlets: { a: "exit_a", b: "exit_b" },
        },
        exit("exit_a"),
        exit("exit_b"),
        exit("not_vip"),
        exit("done"),
        { id: "bought", type: "goal", eventType: "purchase", outlets: {} },
      ],
    };
    const result = validateWorkflowGraph(graph, ctx);
    expect(result).toEqual({ ok: true, graph });
    expect(result.ok && result.graph).toBe(graph);
    expect(Value.Check(WorkflowGraph, graph)).toBe(true);
  });

  it("accepts every kind of node and every field they may have, as the schema does", () => {
    const graph = {
      nodes: [
        {
          id: "start",
          type: "entry",
          label: "Start",
          position: { x: 0, y: -12.5 },
          outlets: { next: "letter" },
        },
        {
          id: "letter",
          type: "send",
          channel: "mail",
          templateId: MAIL_TEMPLATE.toUpperCase(),
          retry: { maxAttempts: 3, backoffSeconds: 600 },
          outlets: { next: "ads" },
        },
        {
          id: "ads",
          type: "send",
          channel: "ads",
          destination: AD_DESTINATION.toUpperCase(),
          audienceAction: "remove",
          outlets: { next: "office_hours" },
        },
        {
          id: "office_hours",
          type: "wait",
          mode: "window",
          window: { days: ["mon", "tue", "wed", "thu", "fri"], from: "22:00", to: "06:00" },
          outlets: { next: "before_renewal" },
        },
        {
          id: "before_renewal",
          type: "wait",
          mode: "date",
          date: { attribute: "renewal_date", offsetDays: -7, at: "09:30", ifMissing: "exit" },
          outlets: { next: "purchase" },
        },
        {
          id: "purchase",
          type: "wait_for",
          for: {
            kind: "event",
            eventType: "order.placed",
            where: [{ property: "total", type: "number", condition: { op: "gte", value: 10 } }],
          },
          timeout: { hours: 12, minutes: 30, seconds: 15 },
          outlets: { matched: "tier", timed_out: "tier" },
        },
        {
          id: "tier",
          type: "condition",
          branches: [
            { key: "gold", rule: { kind: "list", listId: LIST } },
            { key: "silver", rule: { kind: "consent", channel: "email", status: "subscribed" } },
          ],
          outlets: { gold: "tag", silver: "notify", default: "end" },
        },
        {
          id: "tag",
          type: "update",
          set: { tier: "gold", score: 9.5, flags: [true, null], profile: { since: "2024" } },
          unset: ["trial"],
          addToLists: [LIST],
          removeFromLists: [],
          consent: [{ channel: "sms", status: "unsubscribed" }],
          outlets: { next: "notify" },
        },
        {
          id: "notify",
          type: "webhook",
          url: "https://example.com/hooks/omneural?tier=1",
          body: { source: "journey", tags: ["a"] },
          retry: { maxAttempts: 1, backoffSeconds: 1 },
          outlets: { next: "end" },
        },
        { id: "end", type: "exit", outlets: {} },
        {
          id: "converted",
          type: "goal",
          eventType: "subscription:renewed",
          where: [{ property: "plan", type: "string", condition: { op: "in", values: ["pro"] } }],
          outlets: {},
        },
      ],
    };
    expect(problems(graph)).toEqual([]);
    expect(Value.Check(WorkflowGraph, graph)).toBe(true);
  });

  it("accepts goal and exit nodes without outlets", () => {
    const graph = {
      nodes: [entry("end"), { id: "end", type: "exit" }, { id: "goal", type: "goal", eventType: "purchase" }],
    };
    expect(problems(graph)).toEqual([]);
  });

  describe("shape", () => {
    it.each([
      [
        "a graph that is not an object",
        [],
        ["graph: a workflow graph must be an object like { nodes: [...] }"],
      ],
      ["a graph without nodes", {}, ["nodes: nodes is required"]],
      ["nodes that are not a list", { nodes: {} }, ["nodes: nodes must be a list of nodes"]],
      [
        "an unknown property of the graph",
        { nodes: [entry("end"), exit("end")], edges: [] },
        ["edges: edges is not a property of a workflow graph (it has only nodes)"],
      ],
    ])("refuses %s", (_, graph, expected) => {
      expect(lines(graph)).toEqual(expected);
    });

    it("refuses more than 500 nodes, without looking further", () => {
      const nodes = [entry("x0"), ...Array.from({ length: 500 }, (_, i) => exit(`x${i}`))];
      expect(problems({ nodes })).toEqual([
        { nodeId: null, field: "nodes", message: "a workflow has at most 500 nodes; this one has 501" },
      ]);
    });

    it("refuses a node that is not an object, and skips the graph checks", () => {
      expect(problems({ nodes: [entry("end"), "exit", exit("end")] })).toEqual([
        { nodeId: null, field: "nodes[1]", message: "nodes[1] must be a node object" },
      ]);
    });

    it("refuses malformed and repeated ids, naming where each id is used", () => {
      const graph = {
        nodes: [
          entry("a"),
          exit("a"),
          { id: "a", type: "exit" },
          { id: "has space", type: "exit" },
          { type: "exit" },
        ],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "a",
          field: "nodes[2].id",
          message: 'node "a": id "a" is also the id of nodes[1]; node ids must be unique',
        },
        {
          nodeId: "has space",
          field: "nodes[3].id",
          message: 'node "has space": id "has space" is not a node id (1 to 64 letters, digits, _ or -)',
        },
        { nodeId: null, field: "nodes[4].id", message: "nodes[4]: id is required" },
      ]);
    });

    it("refuses an unknown node type and does not guess at its fields or the graph", () => {
      const graph = { nodes: [entry("x"), { id: "x", type: "sleep", hours: 3, outlets: { next: "y" } }] };
      expect(problems(graph)).toEqual([
        {
          nodeId: "x",
          field: "nodes[1].type",
          message:
            'node "x": type "sleep" is not a node type (use entry, send, wait, wait_for, condition, split, update, webhook, goal, exit)',
        },
      ]);
    });

    it("refuses unknown properties, naming the ones the node has", () => {
      expect(problems({ nodes: [entry("n"), { ...exit("n"), next: "done" }] })).toEqual([
        {
          nodeId: "n",
          field: "nodes[1].next",
          message:
            'node "n": next is not a property of an exit node (it has id, type, label, position, outlets)',
        },
      ]);
    });

    it.each<[string, Node, string[]]>([
      [
        "a long label",
        { type: "update", set: { a: 1 }, label: "x".repeat(201) },
        ["label must be a string of at most 200 characters"],
      ],
      [
        "a bad position",
        { type: "update", set: { a: 1 }, position: { x: "1", y: 2, z: 3 } },
        ["position.z is not a property of a position (it has x, y)", "position.x must be a number"],
      ],
      [
        "an unknown channel",
        { type: "send", channel: "fax" },
        ['channel "fax" is not a channel (use email, sms, mail, ads)'],
      ],
      [
        "an email send without a template",
        { type: "send", channel: "email" },
        ["templateId is required for channel email"],
      ],
      [
        "an email send with a destination",
        { type: "send", channel: "email", templateId: EMAIL_TEMPLATE, destination: "x" },
        ["destination applies only to channel ads; channel email uses templateId"],
      ],
      [
        "an ads send with a template and no destination",
        { type: "send", channel: "ads", templateId: EMAIL_TEMPLATE },
        [
          "templateId does not apply to channel ads, which names a destination",
          "destination is required for channel ads (the id of the ad destination to add the member to or remove them from)",
        ],
      ],
      [
        "an ads send naming its destination by name",
        { type: "send", channel: "ads", destination: "Lookalikes" },
        ['destination "Lookalikes" is not an ad destination id (a UUID, see GET /api/v1/ad-destinations)'],
      ],
      [
        "an ads send with an unknown audience action",
        { type: "send", channel: "ads", destination: AD_DESTINATION, audienceAction: "replace" },
        ['audienceAction "replace" is not an audience action (use add, remove)'],
      ],
      [
        "an email send with an audience action",
        { type: "send", channel: "email", templateId: EMAIL_TEMPLATE, audienceAction: "add" },
        ["audienceAction applies only to channel ads, not email"],
      ],
      [
        "a template id that is not a UUID",
        { type: "send", channel: "sms", templateId: "welcome" },
        ['templateId "welcome" is not a UUID'],
      ],
      [
        "a retry policy out of range",
        { type: "send", channel: "email", templateId: EMAIL_TEMPLATE, retry: { maxAttempts: 0 } },
        ["retry.maxAttempts must be a whole number from 1 to 20", "retry.backoffSeconds is required"],
      ],
      ["a wait without a mode", { type: "wait" }, ["mode is required (use duration, window, date)"]],
      [
        "an empty duration",
        { type: "wait", mode: "duration", duration: {} },
        ["duration must be longer than zero (give days, hours, minutes, seconds)"],
      ],
      [
        "a fractional duration",
        { type: "wait", mode: "duration", duration: { days: 1.5, weeks: 1 } },
        [
          "duration.weeks is not a property of a duration (it has days, hours, minutes, seconds)",
          "duration.days must be a whole number of days, 0 or more",
        ],
      ],
      [
        "a duration over 400 days",
        { type: "wait", mode: "duration", duration: { days: 400, seconds: 1 } },
        ["duration must be at most 400 days in all"],
      ],
      [
        "the fields of another wait mode",
        { type: "wait", mode: "duration", duration: { days: 1 }, window: {} },
        [
          "window is not a property of a duration wait node (it has id, type, label, position, mode, duration, outlets)",
        ],
      ],
      [
        "a window without days",
        { type: "wait", mode: "window", window: { days: [], from: "09:00", to: "17:00" } },
        ["window.days must list at least one day"],
      ],
      [
        "a window with a repeated day, a bad time and no length",
        {
          type: "wait",
          mode: "window",
          window: { days: ["mon", "mon", "monday"], from: "9:00", to: "9:00" },
        },
        [
          'window.days[1] lists "mon" a second time',
          'window.days[2] "monday" is not a day (use mon, tue, wed, thu, fri, sat, sun)',
          'window.from "9:00" is not a time of day as HH:MM (00:00 to 23:59)',
          'window.to "9:00" is not a time of day as HH:MM (00:00 to 23:59)',
        ],
      ],
      [
        "an empty window",
        { type: "wait", mode: "window", window: { days: ["sat"], from: "10:00", to: "10:00" } },
        ["window.to must differ from window.from (both are 10:00)"],
      ],
      [
        "a bad date wait",
        {
          type: "wait",
          mode: "date",
          date: { attribute: "renewal date", offsetDays: 4000, at: "24:00", ifMissing: "skip" },
        },
        [
          'date.attribute "renewal date" is not an attribute key (a letter or _, then letters, digits or _; at most 64)',
          "date.offsetDays must be a whole number from -3650 to 3650",
          'date.at "24:00" is not a time of day as HH:MM (00:00 to 23:59)',
          'date.ifMissing "skip" is not a choice (use continue, exit)',
        ],
      ],
      [
        "a wait_for without for or timeout",
        { type: "wait_for", outlets: { matched: "done", timed_out: "done" } },
        [
          'for is required (e.g. { kind: "event", eventType: "purchase" })',
          "timeout is required (e.g. { days: 1 })",
        ],
      ],
      [
        "a wait_for with an unknown kind and a zero timeout",
        {
          type: "wait_for",
          for: { kind: "click" },
          timeout: { hours: 0 },
          outlets: { matched: "done", timed_out: "done" },
        },
        [
          'for.kind "click" is not a kind of wait (use event, response)',
          "timeout must be longer than zero (give days, hours, minutes, seconds)",
        ],
      ],
      [
        "a bad event type and property filter",
        {
          type: "wait_for",
          for: {
            kind: "event",
            eventType: "order placed",
            where: [{ property: "total", type: "number", condition: { op: "greater", value: 1 } }],
          },
          timeout: { days: 1 },
          outlets: { matched: "done", timed_out: "done" },
        },
        [
          'for.eventType "order placed" is not an event type (1 to 100 letters, digits, _ . : or -)',
          'for.where[0].condition.op: "greater" is not an operator for number fields ' +
            "(use eq, neq, gt, gte, lt, lte, between, in, not_in, exists, empty)",
        ],
      ],
      [
        "an unknown response",
        {
          type: "wait_for",
          for: { kind: "response", response: "read" },
          timeout: { days: 1 },
          outlets: { matched: "done", timed_out: "done" },
        },
        [
          'for.response "read" is not a response (use received, opened, clicked, replied, converted, unsubscribed)',
        ],
      ],
      [
        "a condition with both a rule and branches",
        {
          type: "condition",
          rule: vip,
          branches: [{ key: "vip", rule: vip }],
          outlets: { yes: "done", no: "done" },
        },
        ["a condition has either a rule (outlets yes and no) or branches, not both"],
      ],
      [
        "a condition with neither",
        { type: "condition", outlets: { yes: "done", no: "done" } },
        ["a condition needs a rule (outlets yes and no) or branches (an outlet per key, and default)"],
      ],
      [
        "a condition with a bad rule",
        {
          type: "condition",
          rule: { kind: "all", rules: [{ kind: "vip" }] },
          outlets: { yes: "done", no: "done" },
        },
        [
          'rule.rules[0].kind: "vip" is not a rule kind (use all, any, not, field, event, response, consent, reachable, list, audience, bucket, entry_event)',
        ],
      ],
      [
        "condition branches with a repeated key, a default key and a bad rule",
        {
          type: "condition",
          branches: [
            { key: "vip", rule: vip },
            { key: "vip", rule: vip },
            { key: "default", rule: { kind: "list" } },
          ],
          outlets: { vip: "done", default: "done" },
        },
        [
          'branches[1].key "vip" is the key of an earlier branch; keys must be unique',
          'branches[2].key "default" is taken: it is the outlet for a member no branch matches',
          "branches[2].rule.listId: is required",
        ],
      ],
      [
        "a condition without branches",
        { type: "condition", branches: [], outlets: { default: "done" } },
        ["branches must have 1 to 20 branches; it has 0"],
      ],
      [
        "a split with one branch",
        { type: "split", branches: [{ key: "a", weight: 100 }], outlets: { a: "done" } },
        ["branches must have 2 to 20 branches; it has 1"],
      ],
      [
        "a split with a repeated key and a weight out of range",
        {
          type: "split",
          branches: [
            { key: "a", weight: 120 },
            { key: "a", weight: 1 },
          ],
          outlets: { a: "done" },
        },
        [
          'branches[1].key "a" is the key of an earlier branch; keys must be unique',
          "branches[0].weight must be a number from 0 to 100",
        ],
      ],
      [
        "a split whose weights add up to 0",
        {
          type: "split",
          branches: [
            { key: "a", weight: 0 },
            { key: "b", weight: 0 },
          ],
          outlets: { a: "done", b: "done" },
        },
        ["branches has weights that add up to 0; at least one must be above 0"],
      ],
      [
        "an update that changes nothing",
        { type: "update", set: {}, unset: [] },
        ["an update node must change something: give set, unset, addToLists, removeFromLists, consent"],
      ],
      [
        "an update with bad keys, values, lists and consent",
        {
          type: "update",
          set: { "first name": "Ann", score: Number.NaN },
          unset: ["ok", "not ok"],
          addToLists: ["newsletter"],
          consent: [{ channel: "email", status: "bounced" }],
        },
        [
          '"first name" is not an attribute key (a letter or _, then letters, digits or _; at most 64)',
          "set.score must be a JSON value (text, number, true/false, null, a list or an object)",
          'unset[1] "not ok" is not an attribute key (a letter or _, then letters, digits or _; at most 64)',
          'addToLists[0] "newsletter" is not a list id (a UUID)',
          'consent[0].status "bounced" is not a consent status to set (use subscribed, unsubscribed)',
        ],
      ],
      [
        "a webhook to a relative URL with a list body",
        { type: "webhook", url: "/hooks", body: [] },
        [
          'url "/hooks" is not an absolute http or https URL of at most 2000 characters',
          "body must be a JSON object",
        ],
      ],
      [
        "a webhook to another scheme",
        { type: "webhook", url: "ftp://example.com/x" },
        ['url "ftp://example.com/x" is not an absolute http or https URL of at most 2000 characters'],
      ],
    ])("refuses %s, naming the node and the field", (_, node, expected) => {
      const found = problems(around(node));
      expect(found.map((p) => p.nodeId)).toEqual(expected.map(() => "n"));
      expect(found.map((p) => p.message)).toEqual(expected.map((m) => `node "n": ${m}`));
      for (const p of found) expect(p.field.startsWith("nodes[1]")).toBe(true);
    });

    it("gives the full path of a nested field", () => {
      const found = problems(around({ type: "wait", mode: "duration", duration: { days: -1 } }));
      expect(found.map((p) => p.field)).toEqual(["nodes[1].duration.days"]);
      const rule = problems(
        around({ type: "condition", rule: { kind: "not" }, outlets: { yes: "done", no: "done" } }),
      );
      expect(rule.map((p) => p.field)).toEqual(["nodes[1].rule.rule"]);
    });

    it("refuses a goal without an event type", () => {
      const graph = { nodes: [entry("end"), exit("end"), { id: "goal", type: "goal" }] };
      expect(problems(graph)).toEqual([
        { nodeId: "goal", field: "nodes[2].eventType", message: 'node "goal": eventType is required' },
      ]);
    });
  });

  describe("outlets", () => {
    it("refuses a missing outlet and an unknown one, naming the outlets the node has", () => {
      const graph = {
        nodes: [
          entry("wf"),
          {
            id: "wf",
            type: "wait_for",
            for: { kind: "event", eventType: "x" },
            timeout: { days: 1 },
            outlets: { matched: "end", late: "end" },
          },
          exit("end"),
        ],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "wf",
          field: "nodes[1].outlets.timed_out",
          message: 'node "wf": outlet "timed_out" is missing (a wait_for node has "matched", "timed_out")',
        },
        {
          nodeId: "wf",
          field: "nodes[1].outlets.late",
          message:
            'node "wf": "late" is not an outlet of this node (a wait_for node has "matched", "timed_out")',
        },
      ]);
    });

    it("expects an outlet per condition branch and default", () => {
      const node = {
        id: "tier",
        type: "condition",
        branches: [{ key: "gold", rule: vip }],
        outlets: { yes: "end", no: "end" },
      };
      expect(lines({ nodes: [entry("tier"), node, exit("end")] })).toEqual([
        'nodes[1].outlets.gold: node "tier": outlet "gold" is missing (a condition node has "gold", "default")',
        'nodes[1].outlets.default: node "tier": outlet "default" is missing (a condition node has "gold", "default")',
        'nodes[1].outlets.yes: node "tier": "yes" is not an outlet of this node (a condition node has "gold", "default")',
        'nodes[1].outlets.no: node "tier": "no" is not an outlet of this node (a condition node has "gold", "default")',
      ]);
    });

    it("refuses an outlet leading to a node that does not exist, without also calling its intended target unreachable", () => {
      const graph = { nodes: [entry("s1"), sendEmail("s1", "s9"), exit("s8")] };
      expect(problems(graph)).toEqual([
        {
          nodeId: "s1",
          field: "nodes[1].outlets.next",
          message: 'node "s1": outlet "next" leads to "s9", which is not a node of this workflow',
        },
      ]);
    });

    it("refuses an outlet leading to the entry or to a goal", () => {
      const graph = {
        nodes: [
          entry("c"),
          condition("c", "entry", "goal"),
          { id: "goal", type: "goal", eventType: "purchase" },
        ],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "c",
          field: "nodes[1].outlets.yes",
          message: 'node "c": outlet "yes" leads to "entry", the entry node; no outlet may lead to the entry',
        },
        {
          nodeId: "c",
          field: "nodes[1].outlets.no",
          message:
            'node "c": outlet "no" leads to "goal", a goal node; goals stand apart from the paths and take no inlets',
        },
      ]);
    });

    it("refuses outlets on goal and exit nodes", () => {
      const graph = {
        nodes: [
          entry("end"),
          { id: "end", type: "exit", outlets: { next: "end" } },
          { id: "goal", type: "goal", eventType: "purchase", outlets: { next: "end" } },
        ],
      };
      expect(lines(graph)).toEqual([
        'nodes[1].outlets.next: node "end": an exit node has no outlets (the member leaves here); remove outlet "next"',
        'nodes[2].outlets.next: node "goal": a goal node has no outlets (a goal stands apart from the paths); remove outlet "next"',
      ]);
    });

    it("refuses missing outlets and outlets that do not name a node", () => {
      const graph = {
        nodes: [
          entry("s"),
          { id: "s", type: "send", channel: "email", templateId: EMAIL_TEMPLATE },
          { ...entry("s", "e2"), outlets: { next: 7 } },
        ],
      };
      expect(lines(graph)).toEqual([
        'nodes[1].outlets: node "s": outlets is required (an object of outlet name → node id)',
        'nodes[2].outlets.next: node "e2": outlet "next" must name the node it leads to',
        'nodes[2].type: a workflow has exactly one entry node, but "entry" and "e2" are both entry nodes',
      ]);
    });
  });

  describe("the entry", () => {
    it("refuses a workflow without an entry node", () => {
      expect(problems({ nodes: [exit("end")] })).toEqual([
        { nodeId: null, field: "nodes", message: "a workflow needs an entry node" },
      ]);
      expect(problems({ nodes: [] })).toEqual([
        { nodeId: null, field: "nodes", message: "a workflow needs an entry node" },
      ]);
    });

    it("refuses a second and third entry node, naming all of them", () => {
      const graph = { nodes: [entry("end", "e1"), entry("end", "e2"), exit("end"), entry("end", "e3")] };
      const message = 'a workflow has exactly one entry node, but "e1", "e2" and "e3" are all entry nodes';
      expect(problems(graph)).toEqual([
        { nodeId: "e2", field: "nodes[1].type", message },
        { nodeId: "e3", field: "nodes[3].type", message },
      ]);
    });
  });

  describe("reachability", () => {
    it("names each node the entry cannot reach, but not goals", () => {
      const graph = {
        nodes: [
          entry("end"),
          exit("end"),
          sendEmail("orphan", "orphan_end"),
          exit("orphan_end"),
          { id: "goal", type: "goal", eventType: "purchase" },
        ],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "orphan",
          field: "nodes[2]",
          message: 'node "orphan" cannot be reached from the entry "entry"',
        },
        {
          nodeId: "orphan_end",
          field: "nodes[3]",
          message: 'node "orphan_end" cannot be reached from the entry "entry"',
        },
      ]);
    });
  });

  describe("cycles", () => {
    it("refuses a cycle with no wait on it, naming its nodes in order", () => {
      const graph = { nodes: [entry("c1"), condition("c1", "u1", "end"), update("u1", "c1"), exit("end")] };
      expect(problems(graph)).toEqual([
        {
          nodeId: "c1",
          field: "nodes[1].outlets.yes",
          message:
            'node "c1": nodes "c1" → "u1" → "c1" form a cycle with no wait on it: a member would loop forever in one step',
        },
      ]);
    });

    it("refuses a node leading to itself", () => {
      const graph = { nodes: [entry("u"), { ...update("u", "u") }] };
      expect(problems(graph)).toEqual([
        {
          nodeId: "u",
          field: "nodes[1].outlets.next",
          message:
            'node "u": it leads to itself with no wait on the way: a member would loop forever in one step',
        },
      ]);
    });

    it("reports a tangle of cycles once, naming the nodes caught in it besides the shortest cycle", () => {
      const graph = {
        nodes: [
          entry("a"),
          condition("a", "b", "c"),
          update("b", "a"),
          condition("c", "d", "end"),
          update("d", "a"),
          exit("end"),
        ],
      };
      expect(lines(graph)).toEqual([
        'nodes[1].outlets.yes: node "a": nodes "a" → "b" → "a" form a cycle with no wait on it: ' +
          'a member would loop forever in one step; "c" and "d" loop with them too',
      ]);
    });

    it("refuses a cycle a wait_for sits beside but not on", () => {
      const graph = {
        nodes: [
          entry("s"),
          sendEmail("s", "wf"),
          awaitResponse("wf", "c", "end"),
          condition("c", "u", "end"),
          update("u", "c"),
          exit("end"),
        ],
      };
      expect(problems(graph).map((p) => p.nodeId)).toEqual(["c"]);
    });

    it("accepts a cycle through a wait", () => {
      const graph = {
        nodes: [
          entry("check"),
          condition("check", "end", "remind"),
          sendSms("remind", "pause"),
          waitDays("pause", 2, "check"),
          exit("end"),
        ],
      };
      expect(problems(graph)).toEqual([]);
    });

    it("accepts a cycle through a wait_for", () => {
      const graph = {
        nodes: [
          entry("check"),
          condition("check", "end", "remind"),
          sendSms("remind", "reply"),
          awaitResponse("reply", "end", "check", "remind"),
          exit("end"),
        ],
      };
      expect(problems(graph)).toEqual([]);
    });
  });

  describe("templates", () => {
    it("refuses a template that does not exist in this workspace", () => {
      const missing = "0190a5b8-3333-7000-8000-0000000000ff";
      const graph = {
        nodes: [entry("s"), { ...sendEmail("s", "end"), templateId: missing }, exit("end")],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "s",
          field: "nodes[1].templateId",
          message: `node "s": template ${missing} does not exist in this workspace`,
        },
      ]);
    });

    it("refuses a template of another channel", () => {
      const graph = {
        nodes: [entry("s"), { ...sendEmail("s", "end"), templateId: SMS_TEMPLATE }, exit("end")],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "s",
          field: "nodes[1].templateId",
          message: `node "s": template ${SMS_TEMPLATE} is for sms; this node sends email`,
        },
      ]);
    });
  });

  describe("ad destinations", () => {
    it("refuses an ads send naming a destination that does not exist in this workspace", () => {
      const missing = "0190a5b8-3333-7000-8000-0000000000fe";
      const graph = {
        nodes: [
          entry("s"),
          { id: "s", type: "send", channel: "ads", destination: missing, outlets: { next: "end" } },
          exit("end"),
        ],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "s",
          field: "nodes[1].destination",
          message: `node "s": ad destination ${missing} does not exist in this workspace`,
        },
      ]);
    });
  });

  describe("waiting for a response", () => {
    it("refuses a response wait with no send before it", () => {
      const graph = {
        nodes: [entry("wf"), awaitResponse("wf", "end", "later"), sendEmail("later", "end"), exit("end")],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "wf",
          field: "nodes[1].for",
          message: 'node "wf": waits for a response, but no send node comes before "wf"',
        },
      ]);
    });

    it("refuses a sendNodeId that is not a node, or not a send", () => {
      const graph = {
        nodes: [
          entry("s"),
          sendEmail("s", "w"),
          waitDays("w", 1, "wf1"),
          awaitResponse("wf1", "wf2", "wf2", "s9"),
          awaitResponse("wf2", "end", "end", "w"),
          exit("end"),
        ],
      };
      expect(lines(graph)).toEqual([
        'nodes[3].for.sendNodeId: node "wf1": waits for a response to "s9", which is not a node of this workflow',
        'nodes[4].for.sendNodeId: node "wf2": waits for a response to "w", which is a wait node, not a send node',
      ]);
    });

    it("refuses a sendNodeId that comes after the wait", () => {
      const graph = {
        nodes: [
          entry("s1"),
          sendEmail("s1", "wf"),
          awaitResponse("wf", "s2", "s2", "s2"),
          sendSms("s2", "end"),
          exit("end"),
        ],
      };
      expect(problems(graph)).toEqual([
        {
          nodeId: "wf",
          field: "nodes[2].for.sendNodeId",
          message: 'node "wf": waits for a response to "s2", but no path leads from "s2" to "wf"',
        },
      ]);
    });

    it("accepts a response to a send that comes before it on a loop", () => {
      const graph = {
        nodes: [
          entry("wf"),
          awaitResponse("wf", "end", "s", "s"),
          sendEmail("s", "pause"),
          waitDays("pause", 1, "wf"),
          exit("end"),
        ],
      };
      expect(problems(graph)).toEqual([]);
    });
  });

  describe("goals", () => {
    const goal = (i: number) => ({ id: `goal${i}`, type: "goal", eventType: "purchase" });

    it("accepts 20 goals and refuses 21", () => {
      const nodes = [entry("end"), exit("end")];
      expect(problems({ nodes: [...nodes, ...Array.from({ length: 20 }, (_, i) => goal(i))] })).toEqual([]);
      expect(problems({ nodes: [...nodes, ...Array.from({ length: 21 }, (_, i) => goal(i))] })).toEqual([
        { nodeId: null, field: "nodes", message: "a workflow has at most 20 goal nodes; this one has 21" },
      ]);
    });
  });

  it("reports node problems and graph problems together when the wiring is sound", () => {
    const graph = {
      nodes: [entry("s"), { ...sendEmail("s", "end"), channel: "sms" }, exit("end"), exit("stray")],
    };
    expect(lines(graph)).toEqual([
      `nodes[1].templateId: node "s": template ${EMAIL_TEMPLATE} is for email; this node sends sms`,
      'nodes[3]: node "stray" cannot be reached from the entry "entry"',
    ]);
  });
});

describe("referencedTemplateIds", () => {
  it("lists each well-formed template id of the send nodes once, lower-cased", () => {
    const graph = {
      nodes: [
        sendEmail("a", "b"),
        { ...sendEmail("b", "c"), templateId: EMAIL_TEMPLATE.toUpperCase() },
        { ...sendSms("c", "d") },
        { ...sendSms("d", "e"), templateId: "not-a-uuid" },
        { id: "e", type: "webhook", templateId: MAIL_TEMPLATE },
        null,
      ],
    };
    expect(referencedTemplateIds(graph)).toEqual([EMAIL_TEMPLATE, SMS_TEMPLATE]);
  });

  it.each([null, "graph", [], {}, { nodes: 3 }, { nodes: [7, "x", []] }])(
    "returns nothing for %j",
    (graph) => {
      expect(referencedTemplateIds(graph)).toEqual([]);
    },
  );
});

describe("referencedAdDestinationIds", () => {
  it("lists each well-formed destination id of the ads sends once, lower-cased", () => {
    const ads = (id: string, destination: unknown): Node => ({
      id,
      type: "send",
      channel: "ads",
      destination,
      outlets: { next: "end" },
    });
    const graph = {
      nodes: [
        ads("a", AD_DESTINATION),
        ads("b", AD_DESTINATION.toUpperCase()),
        ads("c", "Lookalikes"),
        ads("d", 7),
        { ...sendEmail("e", "end"), destination: LIST },
        null,
      ],
    };
    expect(referencedAdDestinationIds(graph)).toEqual([AD_DESTINATION]);
  });

  it.each([null, "graph", [], {}, { nodes: 3 }])("returns nothing for %j", (graph) => {
    expect(referencedAdDestinationIds(graph)).toEqual([]);
  });
});

describe("reachableFrom and upstreamOf", () => {
  const graph = {
    nodes: [
      entry("s"),
      sendEmail("s", "w"),
      waitDays("w", 1, "c"),
      condition("c", "w", "end"),
      exit("end"),
      { id: "goal", type: "goal", eventType: "purchase" },
    ],
  } as WorkflowGraph;

  it("reachableFrom follows outlets and includes the start", () => {
    expect([...reachableFrom(graph, "entry")].sort()).toEqual(["c", "end", "entry", "s", "w"]);
    expect([...reachableFrom(graph, "end")]).toEqual(["end"]);
    expect([...reachableFrom(graph, "goal")]).toEqual(["goal"]);
    expect([...reachableFrom(graph, "nowhere")]).toEqual([]);
  });

  it("upstreamOf excludes the node itself unless it is on a cycle", () => {
    expect([...upstreamOf(graph, "s")].sort()).toEqual(["entry"]);
    expect([...upstreamOf(graph, "w")].sort()).toEqual(["c", "entry", "s", "w"]);
    expect([...upstreamOf(graph, "end")].sort()).toEqual(["c", "entry", "s", "w"]);
    expect([...upstreamOf(graph, "entry")]).toEqual([]);
  });
});

describe("experiment splits", () => {
  const split = (experiment: unknown, branches = [50, 50], keys = ["a", "b"]): Node => ({
    type: "split",
    branches: keys.map((key, i) => ({ key, weight: branches[i] })),
    experiment,
    outlets: Object.fromEntries(keys.map((k) => [k, "done"])),
  });
  const valid = { testPercent: 20, window: { hours: 24 }, metric: "click", fallback: "a" };

  it.each([
    ["a branch key", valid],
    ['"best"', { ...valid, fallback: "best" }],
    ["a confidence", { ...valid, confidence: 0.9, metric: "conversion" }],
    ["a whole test share", { ...valid, testPercent: 100, window: { days: 2 } }],
  ])("accepts an experiment with %s as fallback or option", (_, experiment) => {
    expect(problems(around(split(experiment)))).toEqual([]);
  });

  it.each([
    [
      "an experiment that is not an object",
      "yes",
      [
        'experiment must be an object like { testPercent: 20, window: { hours: 24 }, metric: "click", fallback: "a" }',
      ],
    ],
    [
      "an experiment missing everything",
      {},
      [
        "experiment.testPercent is required (the share of members in the test, 1 to 100)",
        "experiment.window is required (e.g. { days: 1 })",
        "experiment.metric is required (use open, click, conversion)",
        'experiment.fallback is required: the variant everyone gets when no difference is significant ("a", "b" or "best")',
      ],
    ],
    [
      "out-of-range numbers, an unknown metric and an unknown property",
      { ...valid, testPercent: 0, confidence: 0.5, metric: "revenue", window: { hours: 0 }, winner: "a" },
      [
        "experiment.winner is not a property of an experiment (it has testPercent, window, metric, confidence, fallback)",
        "experiment.testPercent must be a number from 1 to 100",
        "experiment.window must be longer than zero (give days, hours, minutes, seconds)",
        'experiment.metric "revenue" is not an experiment metric (use open, click, conversion)',
        "experiment.confidence must be a number from 0.8 to 0.99 (default 0.95)",
      ],
    ],
    [
      "a fallback that is not a branch key",
      { ...valid, fallback: "c" },
      ['experiment.fallback "c" is not a branch key of this split (use "a", "b" or "best")'],
    ],
  ])("refuses %s, naming the node and the field", (_, experiment, expected) => {
    const found = problems(around(split(experiment)));
    expect(found.map((p) => p.message)).toEqual(expected.map((m) => `node "n": ${m}`));
    for (const p of found) expect(p.field.startsWith("nodes[1].experiment")).toBe(true);
  });

  it('refuses a variant of weight 0 and a branch keyed "best"', () => {
    const found = problems(around(split(valid, [100, 0], ["a", "best"])));
    expect(found.map((p) => `${p.field}: ${p.message}`)).toEqual([
      'nodes[1].branches[1].key: node "n": branches[1].key "best" is taken in an experiment: fallback "best" means the variant with the highest observed rate',
      'nodes[1].branches[1].weight: node "n": branches[1].weight must be above 0 in an experiment: every branch is a variant that gets part of the test share',
    ]);
  });

  it("the schema agrees: a valid experiment split passes it", () => {
    const graph = around(split(valid));
    expect(Value.Check(WorkflowGraph, graph)).toBe(true);
    expect(Value.Check(WorkflowGraph, around(split({ ...valid, confidence: 0.5 })))).toBe(false);
  });
});

describe("entry_event in condition nodes", () => {
  const proPlan = {
    kind: "entry_event",
    where: [{ property: "plan", type: "string", condition: { op: "eq", value: "pro" } }],
  };

  it("accepts it as a condition's rule, nested in a group, and in branches", () => {
    expect(
      problems(around({ type: "condition", rule: proPlan, outlets: { yes: "done", no: "done" } })),
    ).toEqual([]);
    expect(
      problems(
        around({
          type: "condition",
          rule: { kind: "all", rules: [vip, { kind: "not", rule: proPlan }] },
          outlets: { yes: "done", no: "done" },
        }),
      ),
    ).toEqual([]);
    expect(
      problems(
        around({
          type: "condition",
          branches: [{ key: "pro", rule: proPlan }],
          outlets: { pro: "done", default: "done" },
        }),
      ),
    ).toEqual([]);
  });

  it("checks its filters, naming the field", () => {
    const found = lines(
      around({
        type: "condition",
        rule: {
          kind: "entry_event",
          where: [{ property: "plan", type: "date", condition: { op: "exists" } }],
        },
        outlets: { yes: "done", no: "done" },
      }),
    );
    expect(found).toEqual([
      'nodes[1].rule.where[0].type: node "n": rule.where[0].type: "date" is not a property type (use string, number, boolean)',
    ]);
    expect(
      lines(
        around({
          type: "condition",
          rule: { kind: "entry_event", where: [] },
          outlets: { yes: "done", no: "done" },
        }),
      ),
    ).toEqual(['nodes[1].rule.where: node "n": rule.where: needs at least one property filter']);
  });
});
