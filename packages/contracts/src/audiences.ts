/**
 * Audiences: who a campaign reaches. A segment is a boolean tree of conditions compiled to one SQL
 * query; a list is a set of contacts added explicitly. docs/audiences.md shows every condition.
 */
import Type, { type Static } from "typebox";
import { Nullable, PageQuery, Uuid } from "./common.ts";

export const Channel = Type.Union([
  Type.Literal("email"),
  Type.Literal("sms"),
  Type.Literal("mail"),
  Type.Literal("ads"),
]);

/** Contact fields a condition may test; attributes are addressed as `attributes.<key>`. */
export const CONTACT_FIELDS = [
  "externalId",
  "email",
  "phone",
  "firstName",
  "lastName",
  "address.line1",
  "address.line2",
  "address.city",
  "address.region",
  "address.postalCode",
  "address.country",
  "timezone",
  "createdAt",
  "updatedAt",
] as const;

export const FieldPath = Type.String({
  pattern:
    "^(externalId|email|phone|firstName|lastName|address\\.(line1|line2|city|region|postalCode|country)|timezone|createdAt|updatedAt|attributes\\.[A-Za-z_][A-Za-z0-9_]{0,63})$",
  description: "A contact field, or attributes.<key>",
});

const Days = Type.Integer({ minimum: 0, maximum: 36_500 });
const Str = Type.String({ maxLength: 1000 });
const Num = Type.Number();
const DateTime = Type.String({ format: "date-time" });

/** Conditions on a text field or attribute. Comparisons are exact (case-sensitive) unless noted. */
export const StringCondition = Type.Union([
  Type.Object(
    { op: Type.Union([Type.Literal("eq"), Type.Literal("neq")]), value: Str },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      op: Type.Union([Type.Literal("in"), Type.Literal("not_in")]),
      values: Type.Array(Str, { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      op: Type.Union([Type.Literal("contains"), Type.Literal("starts_with")]),
      value: Type.String({ minLength: 1, maxLength: 1000 }),
      caseInsensitive: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { op: Type.Union([Type.Literal("exists"), Type.Literal("empty")]) },
    { additionalProperties: false },
  ),
]);

export const NumberCondition = Type.Union([
  Type.Object(
    {
      op: Type.Union([
        Type.Literal("eq"),
        Type.Literal("neq"),
        Type.Literal("gt"),
        Type.Literal("gte"),
        Type.Literal("lt"),
        Type.Literal("lte"),
      ]),
      value: Num,
    },
    { additionalProperties: false },
  ),
  Type.Object({ op: Type.Literal("between"), from: Num, to: Num }, { additionalProperties: false }),
  Type.Object(
    {
      op: Type.Union([Type.Literal("in"), Type.Literal("not_in")]),
      values: Type.Array(Num, { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { op: Type.Union([Type.Literal("exists"), Type.Literal("empty")]) },
    { additionalProperties: false },
  ),
]);

export const BooleanCondition = Type.Union([
  Type.Object({ op: Type.Literal("eq"), value: Type.Boolean() }, { additionalProperties: false }),
  Type.Object(
    { op: Type.Union([Type.Literal("exists"), Type.Literal("empty")]) },
    { additionalProperties: false },
  ),
]);

/**
 * Dates: absolute (before/after/between an instant), relative to now (within the last N days, more than
 * N days ago, within the next N days), or the yearly anniversary of the date within the next N days.
 */
export const DateCondition = Type.Union([
  Type.Object(
    { op: Type.Union([Type.Literal("before"), Type.Literal("after")]), value: DateTime },
    { additionalProperties: false },
  ),
  Type.Object({ op: Type.Literal("between"), from: DateTime, to: DateTime }, { additionalProperties: false }),
  Type.Object(
    {
      op: Type.Union([
        Type.Literal("within_last_days"),
        Type.Literal("more_than_days_ago"),
        Type.Literal("within_next_days"),
        Type.Literal("anniversary_within_next_days"),
      ]),
      days: Days,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { op: Type.Union([Type.Literal("exists"), Type.Literal("empty")]) },
    { additionalProperties: false },
  ),
]);

export const FieldRule = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("field"),
      field: FieldPath,
      type: Type.Literal("string"),
      condition: StringCondition,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("field"),
      field: FieldPath,
      type: Type.Literal("number"),
      condition: NumberCondition,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("field"),
      field: FieldPath,
      type: Type.Literal("boolean"),
      condition: BooleanCondition,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal("field"), field: FieldPath, type: Type.Literal("date"), condition: DateCondition },
    { additionalProperties: false },
  ),
]);

/** A filter on an event's properties (`properties.<key>`), typed like a field condition. */
export const PropertyFilter = Type.Union([
  Type.Object(
    {
      property: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }),
      type: Type.Literal("string"),
      condition: StringCondition,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      property: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }),
      type: Type.Literal("number"),
      condition: NumberCondition,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      property: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }),
      type: Type.Literal("boolean"),
      condition: BooleanCondition,
    },
    { additionalProperties: false },
  ),
]);

/** How many matching events: at least / at most / exactly N. "Has not performed" is exactly 0. */
export const EventCount = Type.Object(
  {
    op: Type.Union([Type.Literal("at_least"), Type.Literal("at_most"), Type.Literal("exactly")]),
    value: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);

/** A window of time before now; absent means ever. */
export const Within = Type.Object(
  { days: Type.Integer({ minimum: 1, maximum: 36_500 }) },
  { additionalProperties: false },
);

export const EventRule = Type.Object(
  {
    kind: Type.Literal("event"),
    type: Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" }),
    where: Type.Optional(Type.Array(PropertyFilter, { maxItems: 20 })),
    count: Type.Optional(EventCount),
    within: Type.Optional(Within),
  },
  { additionalProperties: false, description: "Performed an event: by default at least once, ever." },
);

export const RESPONSES = ["received", "opened", "clicked", "replied", "converted", "unsubscribed"] as const;

/** A kind of response to a message (the event type is `message.<kind>`). */
export const ResponseKind = Type.Union([
  Type.Literal("received"),
  Type.Literal("opened"),
  Type.Literal("clicked"),
  Type.Literal("replied"),
  Type.Literal("converted"),
  Type.Literal("unsubscribed"),
]);

/**
 * A response to a message. Responses are events of type `message.<response>` whose properties carry
 * `campaignId` and `channel` (the response-recording feature writes them).
 */
export const ResponseRule = Type.Object(
  {
    kind: Type.Literal("response"),
    response: ResponseKind,
    campaignId: Type.Optional(Uuid),
    channel: Type.Optional(Channel),
    within: Type.Optional(Within),
    count: Type.Optional(EventCount),
  },
  { additionalProperties: false },
);

export const ConsentRule = Type.Object(
  {
    kind: Type.Literal("consent"),
    channel: Channel,
    status: Type.Union([
      Type.Literal("subscribed"),
      Type.Literal("unsubscribed"),
      Type.Literal("bounced"),
      Type.Literal("complained"),
      Type.Literal("never_asked"),
    ]),
  },
  { additionalProperties: false },
);

/**
 * Reachable on a channel: has the address the channel needs and may be contacted on it. email: an email
 * and consent subscribed or never_asked; sms: a phone and consent subscribed; mail: street, city, postal
 * code and country, and consent not unsubscribed; ads: an email or phone and consent subscribed or
 * never_asked.
 */
export const ReachableRule = Type.Object(
  { kind: Type.Literal("reachable"), channel: Channel },
  { additionalProperties: false },
);

export const ListRule = Type.Object(
  { kind: Type.Literal("list"), listId: Uuid },
  { additionalProperties: false },
);

export const AudienceRule = Type.Object(
  { kind: Type.Literal("audience"), audienceId: Uuid },
  {
    additionalProperties: false,
    description: "Member of another audience (a segment or a list). Cycles are refused.",
  },
);

/** A stable pseudo-random bucket: md5(salt:contactId) mod 100 < percent. For holdouts and samples. */
export const BucketRule = Type.Object(
  {
    kind: Type.Literal("bucket"),
    salt: Type.String({ minLength: 1, maxLength: 100 }),
    percent: Type.Integer({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);

/**
 * Workflow conditions only: the event that enrolled the member in this iteration (an event-entry
 * campaign's `enrollments.trigger_event`) has properties matching every filter. False for a member who
 * did not enter by an event. Segments refuse it: an audience has no entering event.
 */
export const EntryEventRule = Type.Object(
  {
    kind: Type.Literal("entry_event"),
    where: Type.Array(PropertyFilter, { minItems: 1, maxItems: 20 }),
  },
  {
    additionalProperties: false,
    description:
      "Workflow conditions only (segments refuse it): the event that enrolled the member in this iteration matches all these property filters; false when the member did not enter by an event.",
  },
);

export type Rule =
  | { kind: "all"; rules: Rule[] }
  | { kind: "any"; rules: Rule[] }
  | { kind: "not"; rule: Rule }
  | Static<typeof FieldRule>
  | Static<typeof EventRule>
  | Static<typeof ResponseRule>
  | Static<typeof ConsentRule>
  | Static<typeof ReachableRule>
  | Static<typeof ListRule>
  | Static<typeof AudienceRule>
  | Static<typeof BucketRule>
  | Static<typeof EntryEventRule>;

const LEAVES = [
  FieldRule,
  EventRule,
  ResponseRule,
  ConsentRule,
  ReachableRule,
  ListRule,
  AudienceRule,
  BucketRule,
  EntryEventRule,
];

/** The rule tree. Nesting is limited to 10 levels and 200 conditions (checked by the validator). */
export const RuleSchema = Type.Cyclic(
  {
    Rule: Type.Union([
      Type.Object(
        { kind: Type.Literal("all"), rules: Type.Array(Type.Ref("Rule"), { maxItems: 100 }) },
        { additionalProperties: false },
      ),
      Type.Object(
        { kind: Type.Literal("any"), rules: Type.Array(Type.Ref("Rule"), { maxItems: 100 }) },
        { additionalProperties: false },
      ),
      Type.Object({ kind: Type.Literal("not"), rule: Type.Ref("Rule") }, { additionalProperties: false }),
      ...LEAVES,
    ]),
  },
  "Rule",
);

export const AudienceKind = Type.Union([Type.Literal("segment"), Type.Literal("list")]);

/**
 * Request bodies carry the definition unchecked by the schema validator: the audience validator walks
 * the tree itself so that each error names the node it concerns (`definition.rules[2].condition.op`).
 * Its shape is RuleSchema.
 */
const DefinitionBody = Type.Unknown({
  description: "The rule tree (see the Rule schema and docs/audiences.md)",
});
const Listened = Type.Boolean({
  description:
    "Keep membership up to date as contacts change and events arrive, recording who enters and leaves",
});

export const AudienceCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    kind: Type.Optional(AudienceKind),
    definition: Type.Optional(DefinitionBody),
    listened: Type.Optional(Listened),
  },
  { additionalProperties: false, description: "A segment needs a definition; a list (kind: list) has none." },
);
export type AudienceCreate = Static<typeof AudienceCreate>;

export const AudiencePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    definition: Type.Optional(DefinitionBody),
    listened: Type.Optional(Listened),
  },
  { additionalProperties: false },
);
export type AudiencePatch = Static<typeof AudiencePatch>;

export const Audience = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  kind: AudienceKind,
  definition: Nullable(Type.Unknown({ description: "The rule tree (segments)" })),
  listened: Type.Boolean(),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type Audience = Static<typeof Audience>;

export const AudienceList = Type.Object({ data: Type.Array(Audience), nextCursor: Nullable(Type.String()) });
export const AudienceListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export const AudienceIdParams = Type.Object({ id: Uuid });

export const AudienceCount = Type.Object({
  count: Type.Integer(),
  computedAt: Type.String({ format: "date-time" }),
  ageSeconds: Type.Number({ description: "How old the count is; 0 when computed for this request" }),
  cached: Type.Boolean(),
  reach: Type.Optional(
    Type.Object(
      {
        email: Type.Integer({
          description:
            "Members with an email address, email consent subscribed or never asked, not suppressed",
        }),
        sms: Type.Integer({
          description:
            "Members with a phone number, SMS consent subscribed (never asked is not enough), not suppressed",
        }),
        mail: Type.Integer({
          description: "Members with a postal address, mail consent subscribed or never asked",
        }),
      },
      {
        description:
          "With `reach=true`: how many members each channel may reach now (the rules the dispatcher applies at send time; topic opt-outs and frequency caps aside)",
      },
    ),
  ),
});

export const AudiencePreviewRequest = Type.Object(
  { definition: DefinitionBody },
  { additionalProperties: false },
);

export const AudienceCountQuery = Type.Object(
  {
    maxAgeSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86_400,
        default: 60,
        description: "Accept a cached count up to this old (0 recomputes)",
      }),
    ),
    reach: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Also count the members each channel can reach (`reach` in the response). Always computed for this request, in one statement",
      }),
    ),
  },
  { additionalProperties: false },
);

export const AudiencePreview = Type.Object({
  count: Type.Integer(),
  sample: Type.Array(Type.Unknown({ description: "A Contact" }), {
    description: "Up to 20 members, newest first",
  }),
  tookMs: Type.Number(),
});

export const ListMembersResult = Type.Object({
  changed: Type.Integer({ description: "Contacts added (or removed)" }),
  unchanged: Type.Integer({ description: "Already members (or not members)" }),
  notFound: Type.Array(Uuid, { description: "Ids that are not contacts of this workspace" }),
});

export const FreezeRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const MembershipTransition = Type.Object({
  contactId: Uuid,
  transition: Type.Union([Type.Literal("entered"), Type.Literal("left")]),
  cause: Type.String(),
  at: Type.String({ format: "date-time" }),
});
export const MembershipTransitions = Type.Object({ data: Type.Array(MembershipTransition) });

export const ListMembersChange = Type.Object(
  { contactIds: Type.Array(Uuid, { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);
