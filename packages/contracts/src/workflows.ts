/**
 * Workflows: a directed graph of typed nodes. Every node names where each of its outlets leads in
 * `outlets` (outlet name → node id). The workflow validator (core/src/workflows/workflow-validation.ts)
 * walks a graph itself so that each error names the node it concerns; these schemas document the shape
 * and type the code.
 */
import Type, { type Static } from "typebox";
import { Channel, PropertyFilter, ResponseKind, type Rule, RuleSchema } from "./audiences.ts";
import { Nullable, PageQuery, Uuid } from "./common.ts";

export const NODE_TYPES = [
  "entry",
  "send",
  "wait",
  "wait_for",
  "condition",
  "split",
  "update",
  "webhook",
  "goal",
  "exit",
] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export const NodeId = Type.String({
  pattern: "^[A-Za-z0-9_-]{1,64}$",
  description: "Unique within the graph: letters, digits, _ and -",
});
const Outlets = Type.Record(Type.String(), NodeId, {
  description: "Where each outlet leads: outlet name → node id",
});
const Position = Type.Object(
  { x: Type.Number(), y: Type.Number() },
  { additionalProperties: false, description: "Where the canvas draws the node" },
);
const common = {
  id: NodeId,
  label: Type.Optional(Type.String({ maxLength: 200 })),
  position: Type.Optional(Position),
};

/** A length of time. At least one part; the total is at most 400 days. */
export const Duration = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 0, maximum: 400 })),
    hours: Type.Optional(Type.Integer({ minimum: 0, maximum: 9600 })),
    minutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 576_000 })),
    seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 34_560_000 })),
  },
  { additionalProperties: false },
);
export type Duration = Static<typeof Duration>;

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const Weekday = Type.Union([
  Type.Literal("mon"),
  Type.Literal("tue"),
  Type.Literal("wed"),
  Type.Literal("thu"),
  Type.Literal("fri"),
  Type.Literal("sat"),
  Type.Literal("sun"),
]);
export const LocalTime = Type.String({ pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$", description: "HH:MM" });

export const EntryNode = Type.Object(
  { ...common, type: Type.Literal("entry"), outlets: Outlets },
  { additionalProperties: false, description: "Where members start. Outlet: next." },
);

export const RetryPolicy = Type.Object(
  {
    maxAttempts: Type.Integer({ minimum: 1, maximum: 20, default: 5 }),
    backoffSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  },
  { additionalProperties: false },
);

export const SendNode = Type.Object(
  {
    ...common,
    type: Type.Literal("send"),
    channel: Channel,
    templateId: Type.Optional(Uuid),
    destination: Type.Optional(
      Type.String({
        format: "uuid",
        description: "ads only: the id of an ad destination of the workspace (see /api/v1/ad-destinations)",
      }),
    ),
    audienceAction: Type.Optional(
      Type.Union([Type.Literal("add"), Type.Literal("remove")], {
        default: "add",
        description:
          "ads only: add the member to the destination's audience (default) or remove them from it",
      }),
    ),
    retry: Type.Optional(RetryPolicy),
    outlets: Outlets,
  },
  {
    additionalProperties: false,
    description:
      "Writes one row to the send ledger (the delivery feature dispatches it). email, sms and mail need a template of the same channel; ads names an ad destination and whether to add or remove the member. Outlet: next.",
  },
);

export const WaitNode = Type.Union([
  Type.Object(
    {
      ...common,
      type: Type.Literal("wait"),
      mode: Type.Literal("duration"),
      duration: Duration,
      outlets: Outlets,
    },
    { additionalProperties: false, description: "Waits a fixed time. Outlet: next." },
  ),
  Type.Object(
    {
      ...common,
      type: Type.Literal("wait"),
      mode: Type.Literal("window"),
      window: Type.Object(
        {
          days: Type.Array(Weekday, { minItems: 1, maxItems: 7, uniqueItems: true }),
          from: LocalTime,
          to: LocalTime,
        },
        { additionalProperties: false },
      ),
      outlets: Outlets,
    },
    {
      additionalProperties: false,
      description:
        "Waits until the member's local time is inside the window (their timezone, else the workspace's). Outlet: next.",
    },
  ),
  Type.Object(
    {
      ...common,
      type: Type.Literal("wait"),
      mode: Type.Literal("date"),
      date: Type.Object(
        {
          attribute: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }),
          offsetDays: Type.Optional(Type.Integer({ minimum: -3650, maximum: 3650 })),
          at: Type.Optional(LocalTime),
          ifMissing: Type.Optional(Type.Union([Type.Literal("continue"), Type.Literal("exit")])),
        },
        { additionalProperties: false },
      ),
      outlets: Outlets,
    },
    {
      additionalProperties: false,
      description:
        "Waits until a date attribute plus an offset in days (at a local time, default 09:00). A missing or past date continues at once (or exits, with ifMissing: exit). Outlet: next.",
    },
  ),
]);

export const WaitFor = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("event"),
      eventType: Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" }),
      where: Type.Optional(Type.Array(PropertyFilter, { maxItems: 20 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("response"),
      response: ResponseKind,
      sendNodeId: Type.Optional(NodeId),
    },
    {
      additionalProperties: false,
      description:
        "A response (event `message.<response>`) to an upstream send node of this campaign; by default any",
    },
  ),
]);
export type WaitFor = Static<typeof WaitFor>;

export const WaitForNode = Type.Object(
  { ...common, type: Type.Literal("wait_for"), for: WaitFor, timeout: Duration, outlets: Outlets },
  {
    additionalProperties: false,
    description:
      "Waits for an event or a response that happens after the member arrives. Outlets: matched, timed_out.",
  },
);

/** The audience rule language (recursive); typed as `Rule`. */
const RuleRef = Type.Unsafe<Rule>(RuleSchema);

export const ConditionBranch = Type.Object({ key: NodeId, rule: RuleRef }, { additionalProperties: false });
export const ConditionNode = Type.Object(
  {
    ...common,
    type: Type.Literal("condition"),
    rule: Type.Optional(RuleRef),
    branches: Type.Optional(Type.Array(ConditionBranch, { minItems: 1, maxItems: 20 })),
    outlets: Outlets,
  },
  {
    additionalProperties: false,
    description:
      "The audience rule language, evaluated for the member when they arrive. With `rule`: outlets yes and no. With `branches`: the first matching branch's key, else default.",
  },
);

export const EXPERIMENT_METRICS = ["open", "click", "conversion"] as const;
export type ExperimentMetric = (typeof EXPERIMENT_METRICS)[number];

/** An A/B test on a split node: its branches are the variants, tested on a share, then the winner for all. */
export const SplitExperiment = Type.Object(
  {
    testPercent: Type.Number({
      minimum: 1,
      maximum: 100,
      description:
        "Share of the members arriving during the test window who join the test (chosen by a hash of node and contact); the branch weights split it among the variants. The others wait at the node for the decision",
    }),
    /** How long the test runs, from the first member's arrival at the node; the winner is chosen then. */
    window: Duration,
    metric: Type.Union([Type.Literal("open"), Type.Literal("click"), Type.Literal("conversion")], {
      description:
        "What a variant is judged on: the share of its test members with a `message.opened`, `message.clicked` or `message.converted` of this campaign after they took it (machine opens and clicks excluded; conversion also counts a goal reached), holdout members left out",
    }),
    confidence: Type.Optional(
      Type.Number({
        minimum: 0.8,
        maximum: 0.99,
        default: 0.95,
        description:
          "The best variant wins when a two-proportion z-test against each other variant is significant at this level (default 0.95; Bonferroni-corrected with more than two variants)",
      }),
    ),
    fallback: Type.String({
      pattern: "^[A-Za-z0-9_-]{1,64}$",
      description:
        'The variant the others get when no difference is significant: a branch key, or "best" for the highest observed rate',
    }),
  },
  { additionalProperties: false },
);
export type SplitExperiment = Static<typeof SplitExperiment>;

export const SplitNode = Type.Object(
  {
    ...common,
    type: Type.Literal("split"),
    branches: Type.Array(
      Type.Object(
        { key: NodeId, weight: Type.Number({ minimum: 0, maximum: 100 }) },
        { additionalProperties: false },
      ),
      { minItems: 2, maxItems: 20 },
    ),
    experiment: Type.Optional(SplitExperiment),
    outlets: Outlets,
  },
  {
    additionalProperties: false,
    description:
      "Weighted random branches, the same for a member every time (hash of node and contact). With `experiment`, an A/B test: the branches are variants sent to a test share, and when the test window ends the rest go to the winner. Outlets: the branch keys.",
  },
);

export const UpdateNode = Type.Object(
  {
    ...common,
    type: Type.Literal("update"),
    set: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    unset: Type.Optional(Type.Array(Type.String(), { maxItems: 100 })),
    addToLists: Type.Optional(Type.Array(Uuid, { maxItems: 20 })),
    removeFromLists: Type.Optional(Type.Array(Uuid, { maxItems: 20 })),
    consent: Type.Optional(
      Type.Array(
        Type.Object(
          {
            channel: Channel,
            status: Type.Union([Type.Literal("subscribed"), Type.Literal("unsubscribed")]),
          },
          { additionalProperties: false },
        ),
        { maxItems: 4 },
      ),
    ),
    outlets: Outlets,
  },
  {
    additionalProperties: false,
    description:
      "Sets or unsets attributes, adds to or removes from static lists, changes consent. Outlet: next.",
  },
);

export const WebhookNode = Type.Object(
  {
    ...common,
    type: Type.Literal("webhook"),
    url: Type.String({ format: "uri", maxLength: 2000 }),
    body: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    retry: Type.Optional(RetryPolicy),
    outlets: Outlets,
  },
  {
    additionalProperties: false,
    description:
      "A signed POST to your system, written to the send ledger and dispatched like a send. Outlet: next.",
  },
);

export const GoalNode = Type.Object(
  {
    ...common,
    type: Type.Literal("goal"),
    eventType: Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" }),
    where: Type.Optional(Type.Array(PropertyFilter, { maxItems: 20 })),
    outlets: Outlets,
  },
  {
    additionalProperties: false,
    description:
      "A conversion. It stands apart from the paths (no inlets, no outlets): a member who performs the event after enrolling leaves with outcome converted, wherever they are.",
  },
);

export const ExitNode = Type.Object(
  { ...common, type: Type.Literal("exit"), outlets: Outlets },
  { additionalProperties: false, description: "The member leaves with outcome completed. No outlets." },
);

export const WorkflowNode = Type.Union([
  EntryNode,
  SendNode,
  ...WaitNode.anyOf,
  WaitForNode,
  ConditionNode,
  SplitNode,
  UpdateNode,
  WebhookNode,
  GoalNode,
  ExitNode,
]);
export type WorkflowNode = Static<typeof WorkflowNode>;
export type NodeOf<T extends NodeType> = Extract<WorkflowNode, { type: T }>;

export const WorkflowGraph = Type.Object(
  { nodes: Type.Array(WorkflowNode, { maxItems: 500 }) },
  { additionalProperties: false },
);
export type WorkflowGraph = Static<typeof WorkflowGraph>;

/** The outlets each node type must have (condition and split depend on the node). */
export function requiredOutlets(node: WorkflowNode): string[] {
  switch (node.type) {
    case "entry":
    case "send":
    case "wait":
    case "update":
    case "webhook":
      return ["next"];
    case "wait_for":
      return ["matched", "timed_out"];
    case "condition":
      return node.branches ? [...node.branches.map((b) => b.key), "default"] : ["yes", "no"];
    case "split":
      return node.branches.map((b) => b.key);
    case "goal":
    case "exit":
      return [];
  }
}

// ---- API shapes ----

export const WorkflowProblem = Type.Object({
  nodeId: Nullable(Type.String()),
  field: Type.String(),
  message: Type.String(),
});
export type WorkflowProblem = Static<typeof WorkflowProblem>;

export const WorkflowCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    graph: Type.Optional(
      Type.Unknown({
        description: "A WorkflowGraph; checked by the workflow validator (see docs/workflows.md)",
        examples: [
          {
            nodes: [
              { id: "entry", type: "entry", outlets: { next: "wait" } },
              {
                id: "wait",
                type: "wait",
                mode: "duration",
                duration: { days: 1 },
                outlets: { next: "done" },
              },
              { id: "done", type: "exit", outlets: {} },
            ],
          },
        ],
      }),
    ),
  },
  { additionalProperties: false },
);
export type WorkflowCreate = Static<typeof WorkflowCreate>;

export const WorkflowPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    graph: Type.Optional(Type.Unknown({ description: "A WorkflowGraph; checked by the workflow validator" })),
  },
  { additionalProperties: false },
);
export type WorkflowPatch = Static<typeof WorkflowPatch>;

export const Workflow = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  graph: Type.Unknown({ description: "The draft graph (a WorkflowGraph, possibly not yet valid)" }),
  latestVersion: Nullable(Type.Integer()),
  draftChanged: Type.Boolean({ description: "The draft differs from the latest published version" }),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type Workflow = Static<typeof Workflow>;

export const WorkflowList = Type.Object({ data: Type.Array(Workflow), nextCursor: Nullable(Type.String()) });
export const WorkflowListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export const WorkflowIdParams = Type.Object({ id: Uuid });
export const WorkflowVersionParams = Type.Object({ id: Uuid, version: Type.Integer({ minimum: 1 }) });

export const WorkflowValidation = Type.Object({
  valid: Type.Boolean(),
  errors: Type.Array(WorkflowProblem),
});

export const WorkflowVersion = Type.Object({
  workflowId: Uuid,
  version: Type.Integer(),
  // The graph schema is recursive (condition rules); responses carry it as plain JSON.
  graph: Type.Unknown({ description: "The published WorkflowGraph (see docs/workflows.md)" }),
  publishedAt: Type.String({ format: "date-time" }),
});
export type WorkflowVersion = Static<typeof WorkflowVersion>;
export const WorkflowVersionList = Type.Object({
  data: Type.Array(Type.Omit(WorkflowVersion, ["graph"])),
});

export const SimulateRequest = Type.Object(
  {
    contactId: Type.Optional(Uuid),
    contact: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          "A hypothetical contact (fields as in the contacts API, e.g. email, timezone, attributes); merged over contactId's contact when both are given",
      }),
    ),
    start: Type.Optional(
      Type.String({ format: "date-time", description: "When the member enters; default now" }),
    ),
    events: Type.Optional(
      Type.Array(
        Type.Object(
          {
            type: Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" }),
            properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            at: Type.Optional(Type.String({ format: "date-time" })),
            after: Type.Optional(Duration),
          },
          { additionalProperties: false, description: "Give `at`, or `after` (time after start)" },
        ),
        { maxItems: 200 },
      ),
    ),
    horizonDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, default: 400 })),
  },
  { additionalProperties: false },
);
export type SimulateRequest = Static<typeof SimulateRequest>;

export const TraceEntry = Type.Object({
  at: Type.String({ format: "date-time" }),
  nodeId: Type.String(),
  nodeType: Type.String(),
  action: Type.String(),
  reason: Type.String(),
  outlet: Type.Optional(Type.String()),
  send: Type.Optional(
    Type.Object({
      channel: Type.String(),
      templateId: Nullable(Type.String()),
      destination: Nullable(Type.String()),
      url: Nullable(Type.String()),
    }),
  ),
});
export type TraceEntry = Static<typeof TraceEntry>;

export const Simulation = Type.Object({
  timeline: Type.Array(TraceEntry),
  state: Type.String(),
  outcome: Nullable(Type.String()),
  finalNodeId: Type.String(),
  finishedAt: Nullable(Type.String({ format: "date-time" })),
});
export type Simulation = Static<typeof Simulation>;

// ---- Campaigns (the core and scheduling; policies come later) ----

export const CAMPAIGN_STATUSES = [
  "draft",
  "scheduled",
  "running",
  "paused",
  "completed",
  "cancelled",
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
export const ENROLLMENT_STATES = ["active", "failed", "completed", "converted", "cancelled"] as const;
export type EnrollmentState = (typeof ENROLLMENT_STATES)[number];

/** A wall-clock start: each member enters at this date and time in their own timezone. */
export const LocalStart = Type.Object(
  {
    date: Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "YYYY-MM-DD" }),
    time: LocalTime,
  },
  {
    additionalProperties: false,
    description:
      "Everyone at this local time in their own timezone (the contact's, else the workspace's default). Launch enrolls everyone at once; each member's entry is due at their moment. Not with `startAt`.",
  },
);
export type LocalStart = Static<typeof LocalStart>;

const EventType = Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" });

export const ENTRY_MODES = ["once", "continuous", "event"] as const;
export type EntryMode = (typeof ENTRY_MODES)[number];

/** Who enters, and when. */
export const CampaignEntry = Type.Object(
  {
    mode: Type.Union([Type.Literal("once"), Type.Literal("continuous"), Type.Literal("event")], {
      description:
        "`once`: the audience's members as of launch. `continuous`: those, then every contact who joins the audience later, as they qualify. `event`: each event of `eventType` (matching `where`) enrolls its contact; the event's properties are `event.*` in templates and conditions",
    }),
    eventType: Type.Optional(EventType),
    where: Type.Optional(Type.Array(PropertyFilter, { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type CampaignEntry = Static<typeof CampaignEntry>;

export const REENTRY_MODES = ["never", "after", "always"] as const;
export type ReentryMode = (typeof REENTRY_MODES)[number];

/** Whether a member who finished the campaign may enter it again (continuous and event entry). */
export const CampaignReentry = Type.Object(
  {
    mode: Type.Union([Type.Literal("never"), Type.Literal("after"), Type.Literal("always")], {
      description:
        "`never` (default): once per contact. `after`: again once `afterDays` days have passed since their last entry. `always`: again whenever they qualify and are not in it now",
    }),
    afterDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type CampaignReentry = Static<typeof CampaignReentry>;

/** Send-time policies of one campaign, on top of the workspace's per-channel defaults. */
export const CampaignPolicies = Type.Object(
  {
    quietHours: Type.Optional(
      Nullable(
        Type.Object(
          { from: LocalTime, to: LocalTime },
          {
            additionalProperties: false,
            description:
              "Hours when this campaign may send, in the recipient's local time, on every channel (overrides the workspace's; from > to spans midnight). Null: the workspace's",
          },
        ),
      ),
    ),
    frequencyCap: Type.Optional(
      Type.Union([Type.Literal("apply"), Type.Literal("exempt")], {
        description:
          "`apply` (default): this campaign's sends count against, and are held by, the workspace's frequency caps. `exempt`: transactional; neither held nor counted",
      }),
    ),
    throughputPerHour: Type.Optional(
      Type.Object(
        {
          email: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
          sms: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
          mail: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
          ads: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
        },
        {
          additionalProperties: false,
          description: "At most this many messages per hour per channel from this campaign; the rest wait",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CampaignPolicies = Static<typeof CampaignPolicies>;

/** What counts as a conversion for this campaign, and for how long after a message or entry. */
export const CampaignGoal = Type.Object(
  {
    eventType: EventType,
    windowDays: Type.Integer({ minimum: 1, maximum: 365, default: 7 }),
  },
  { additionalProperties: false },
);
export type CampaignGoal = Static<typeof CampaignGoal>;

const campaignSettings = {
  entry: Type.Optional(CampaignEntry),
  reentry: Type.Optional(CampaignReentry),
  policies: Type.Optional(CampaignPolicies),
  holdoutPercent: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 50,
      description:
        "Share of members (0–50 %) enrolled but never contacted, to measure lift (default 0). Chosen by a hash of campaign and contact",
    }),
  ),
  goal: Type.Optional(Nullable(CampaignGoal)),
};

export const CampaignCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    audienceId: Uuid,
    workflowId: Uuid,
    workflowVersion: Type.Optional(
      Type.Integer({ minimum: 1, description: "Default: the latest published version" }),
    ),
    topicId: Type.Optional(
      Nullable(
        Type.String({
          format: "uuid",
          description:
            "The subscription topic the campaign belongs to (default: none). Contacts who opted out of it are skipped at send time.",
        }),
      ),
    ),
    startAt: Type.Optional(
      Nullable(
        Type.String({
          format: "date-time",
          description:
            "When the campaign starts (default: at launch). Launching before then makes it `scheduled`; the scheduler starts it then. Not with `startLocal`.",
        }),
      ),
    ),
    startLocal: Type.Optional(Nullable(LocalStart)),
    endAt: Type.Optional(
      Nullable(
        Type.String({
          format: "date-time",
          description:
            'When the campaign ends (default: never). Members still in it leave (`cancelled`, reason "the campaign ended"), queued sends are cancelled, and it becomes `completed`.',
        }),
      ),
    ),
    ...campaignSettings,
  },
  { additionalProperties: false },
);
export type CampaignCreate = Static<typeof CampaignCreate>;

/**
 * A change to a campaign. A draft (or a scheduled campaign not yet started) takes any change. Once it has
 * started, who it is for and what it runs stay fixed (audience, workflow version, entry, holdout, goal,
 * start): members in flight stay on what they entered with. Its name, end, re-entry, topic and send
 * policies may still change, and apply to what happens next.
 */
export const CampaignUpdate = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    audienceId: Type.Optional(Uuid),
    workflowId: Type.Optional(Uuid),
    workflowVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    topicId: Type.Optional(Nullable(Uuid)),
    startAt: Type.Optional(Nullable(Type.String({ format: "date-time" }))),
    startLocal: Type.Optional(Nullable(LocalStart)),
    endAt: Type.Optional(Nullable(Type.String({ format: "date-time" }))),
    ...campaignSettings,
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CampaignUpdate = Static<typeof CampaignUpdate>;

export const NodeCount = Type.Object({ nodeId: Type.String(), state: Type.String(), count: Type.Integer() });

export const Campaign = Type.Object({
  id: Uuid,
  name: Type.String(),
  audienceId: Uuid,
  workflowId: Uuid,
  workflowVersion: Type.Integer(),
  topicId: Nullable(Uuid),
  status: Type.Union(CAMPAIGN_STATUSES.map((s) => Type.Literal(s))),
  enrolled: Type.Integer(),
  createdAt: Type.String({ format: "date-time" }),
  launchedAt: Nullable(Type.String({ format: "date-time" })),
  finishedAt: Nullable(Type.String({ format: "date-time" })),
  startAt: Nullable(Type.String({ format: "date-time" })),
  startLocal: Nullable(LocalStart),
  endAt: Nullable(Type.String({ format: "date-time" })),
  entry: CampaignEntry,
  reentry: CampaignReentry,
  policies: CampaignPolicies,
  holdoutPercent: Type.Number(),
  goal: Nullable(CampaignGoal),
});
export type Campaign = Static<typeof Campaign>;

export const CampaignDetail = Type.Intersect([
  Campaign,
  Type.Object({
    counts: Type.Object({
      byState: Type.Record(Type.String(), Type.Integer()),
      byNode: Type.Array(NodeCount),
      messages: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), {
        description:
          "Send-ledger rows per channel and status (queued, sending, sent, failed, skipped, unknown, cancelled). `unknown`: a process stopped mid-send and the provider cannot say whether it took the message",
      }),
    }),
  }),
]);

/** One row of the send ledger, with what became of it and why. */
export const LedgerMessage = Type.Object({
  id: Uuid,
  idempotencyKey: Type.String(),
  contactId: Uuid,
  nodeId: Type.String(),
  channel: Type.String(),
  templateId: Nullable(Uuid),
  status: Type.String(),
  reason: Nullable(Type.String({ description: "Why it was skipped, failed, deferred or retried" })),
  attempts: Type.Integer(),
  provider: Nullable(Type.String()),
  providerMessageId: Nullable(Type.String()),
  queuedAt: Type.String({ format: "date-time" }),
  nextAttemptAt: Nullable(Type.String({ format: "date-time" })),
  sentAt: Nullable(Type.String({ format: "date-time" })),
});
export type LedgerMessage = Static<typeof LedgerMessage>;

export const MESSAGE_STATUSES = [
  "queued",
  "sending",
  "sent",
  "failed",
  "skipped",
  "unknown",
  "cancelled",
] as const;

export const CampaignMessagesQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(MESSAGE_STATUSES.map((s) => Type.Literal(s)))),
    channel: Type.Optional(
      Type.Union(["email", "sms", "mail", "ads", "webhook"].map((c) => Type.Literal(c))),
    ),
    nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** Who a ledger row is for, read with the row (null when the contact was since erased). */
export const MessageContact = Type.Object({
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  name: Nullable(Type.String({ description: "First and last name, when known" })),
});
export type MessageContact = Static<typeof MessageContact>;

/** A ledger row of the campaign's message list: the row and its contact. */
export const CampaignMessage = Type.Object({
  ...LedgerMessage.properties,
  contact: Nullable(MessageContact),
});
export type CampaignMessage = Static<typeof CampaignMessage>;

export const CampaignMessageList = Type.Object({
  data: Type.Array(CampaignMessage),
  nextCursor: Nullable(Type.String()),
});

const CampaignStatusLiteral = Type.Union(CAMPAIGN_STATUSES.map((s) => Type.Literal(s)));

export const CampaignListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(
      Type.Union(
        [
          CampaignStatusLiteral,
          Type.Array(CampaignStatusLiteral, { minItems: 1, maxItems: CAMPAIGN_STATUSES.length }),
        ],
        {
          description:
            "Only campaigns in this status; repeat it for several (`?status=running&status=paused`). Default: every status",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CampaignListQuery = Static<typeof CampaignListQuery>;

export const CampaignList = Type.Object({ data: Type.Array(Campaign), nextCursor: Nullable(Type.String()) });
export const CampaignIdParams = Type.Object({ id: Uuid });
export const EnrollmentParams = Type.Object({ id: Uuid, contactId: Uuid });

export const RetryRequest = Type.Object({ contactId: Type.Optional(Uuid) }, { additionalProperties: false });

export const CampaignActionResult = Type.Object({
  campaign: Campaign,
  changed: Type.Integer({
    description:
      "What the action changed: launch, members enrolled; retry, members resumed; cancel, members exited; pause and resume, 1 when the status changed; 0 when the action had nothing left to do",
  }),
});

export const EnrollmentStep = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: "date-time" }),
  worker: Nullable(Type.String()),
  entries: Type.Array(TraceEntry),
});

export const Enrollment = Type.Object({
  campaignId: Uuid,
  contactId: Uuid,
  nodeId: Type.String(),
  state: Type.String(),
  outcome: Nullable(Type.String()),
  dueAt: Nullable(Type.String({ format: "date-time" })),
  enrolledAt: Type.String({ format: "date-time" }),
  nodeEnteredAt: Type.String({ format: "date-time" }),
  error: Nullable(Type.String()),
  steps: Type.Array(EnrollmentStep, { description: "What happened at each step, oldest first" }),
  messages: Type.Array(LedgerMessage, {
    description: "This member's rows in the send ledger for this campaign",
  }),
});
export type Enrollment = Static<typeof Enrollment>;

/** Why a contact did or did not get a campaign's messages: its journey, its ledger rows, its responses. */
export const ContactTraceQuery = Type.Object(
  {
    campaignId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const TraceResponse = Type.Object({
  id: Type.String(),
  type: Type.String({ description: "message.opened, message.clicked, message.unsubscribed …" }),
  occurredAt: Type.String({ format: "date-time" }),
  properties: Type.Record(Type.String(), Type.Unknown()),
});

export const ContactTrace = Type.Object({
  contactId: Uuid,
  consent: Type.Record(Type.String(), Type.String(), { description: "Per channel, now" }),
  suppressions: Type.Array(
    Type.Object({
      channel: Type.String(),
      address: Type.String(),
      reason: Type.String(),
      source: Type.String(),
      createdAt: Type.String({ format: "date-time" }),
    }),
  ),
  campaigns: Type.Array(
    Type.Object({
      campaignId: Uuid,
      name: Type.String(),
      status: Type.String(),
      enrollment: Nullable(Enrollment),
      responses: Type.Array(TraceResponse, {
        description: "This contact's responses to this campaign's messages",
      }),
    }),
    {
      description:
        "With campaignId: that campaign. Without: the 20 campaigns that most recently queued a message to the contact",
    },
  ),
});
export type ContactTrace = Static<typeof ContactTrace>;
