/**
 * Retention policies: per workspace, when outdated prospects and undeliverable contacts are deleted,
 * anonymised or archived, when likely duplicates are merged, when old events are dropped, and when
 * finished journeys' history, rendered bodies and print-batch files are purged. Each runs daily (when enabled) or on request, with a
 * dry run first. See docs/data-lifecycle.md.
 */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";
import { DuplicateReason } from "./merge.ts";

export const RetentionKind = Type.Union(
  [
    Type.Literal("outdated_prospects"),
    Type.Literal("undeliverable"),
    Type.Literal("finished_journeys"),
    Type.Literal("print_files"),
    Type.Literal("duplicates"),
    Type.Literal("old_events"),
  ],
  { description: "Which policy" },
);
export type RetentionKind = Static<typeof RetentionKind>;
export const RETENTION_KINDS: readonly RetentionKind[] = [
  "outdated_prospects",
  "undeliverable",
  "finished_journeys",
  "print_files",
  "duplicates",
  "old_events",
];

const ACTIONS_DESCRIPTION =
  "`delete`: erase the contact (as DELETE /contacts/{id}). `anonymise`: keep the contact row (id, created_at, consent statuses) and what only counts (ledger statuses, event types and times, enrollment states, memberships) so reports and campaign history stay whole, but clear its email, phone, external id, names, postal address, timezone and attributes, event properties, rendered bodies, print pieces, PURLs, short links and trigger events; opted-out addresses stay suppressed as hashed tombstones, and the contact is marked anonymisedAt and never selected again. `archive`: keep everything, but set archivedAt: the contact's journeys in progress are exited, no audience, campaign or send selects it, GET /contacts hides it unless `archived` is given, and POST /contacts/{id}/restore (or a new engagement) brings it back. An archive policy never selects an archived contact again; a delete or anonymise policy does (archiving does not shield personal data from deletion)";

const ContactAction = Type.Union(
  [Type.Literal("delete"), Type.Literal("anonymise"), Type.Literal("archive")],
  { description: ACTIONS_DESCRIPTION },
);

const Days = (description: string) => Type.Integer({ minimum: 1, maximum: 36500, description });

export const OutdatedProspectsSettings = Type.Object(
  {
    inactiveDays: Days(
      "A contact is outdated when neither it nor any engagement (open, click, reply, conversion or custom event; machine opens and clicks excluded) is this recent, and it is in no journey in progress",
    ),
    action: ContactAction,
    repermissionCampaignId: Type.Optional(
      Nullable(
        Type.String({
          format: "uuid",
          description:
            "A running campaign of the workspace: outdated contacts are first enrolled in it, and acted on only after graceDays without engagement",
        }),
      ),
    ),
    graceDays: Type.Optional(
      Days(
        "With a re-permission campaign: days after its enrollment without engagement before the contact is acted on (default 30)",
      ),
    ),
  },
  { additionalProperties: false },
);
export type OutdatedProspectsSettings = Static<typeof OutdatedProspectsSettings>;

export const UndeliverableSettings = Type.Object(
  {
    action: Type.Union([Type.Literal("delete"), Type.Literal("anonymise"), Type.Literal("archive")], {
      description:
        "What happens to contacts whose every address is bounced, complained or suppressed: `delete` erases them (as DELETE /contacts/{id}); `anonymise` keeps the contact's id, consent statuses and what only counts, and clears every personal field; `archive` keeps everything but puts the contact out of every audience and send until restored (see docs/data-lifecycle.md)",
    }),
  },
  { additionalProperties: false },
);
export type UndeliverableSettings = Static<typeof UndeliverableSettings>;

export const OlderThanSettings = Type.Object(
  { olderThanDays: Days("Age in days after which the rows or files are purged") },
  { additionalProperties: false },
);
export type OlderThanSettings = Static<typeof OlderThanSettings>;

export const DuplicatesSettings = Type.Object(
  {
    match: Type.Optional(
      Type.Array(DuplicateReason, {
        minItems: 1,
        uniqueItems: true,
        description:
          "Which likely-duplicate groups to merge (as GET /contacts/duplicates finds them), always in the order email, phone, name_and_address; default all three",
      }),
    ),
    maxGroups: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        description:
          "Merge at most this many groups in one run (default 1000); the rest wait for the next run, and the run's counts say `more: 1`",
      }),
    ),
  },
  { additionalProperties: false },
);
export type DuplicatesSettings = Static<typeof DuplicatesSettings>;

export const RetentionSettings = Type.Union([
  OutdatedProspectsSettings,
  UndeliverableSettings,
  OlderThanSettings,
  DuplicatesSettings,
]);
export type RetentionSettings = Static<typeof RetentionSettings>;

const MaxShare = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1,
  description:
    "Largest share of the workspace's contacts one run may delete, anonymise or merge away without `confirm: true` (default 0.2); a scheduled run stops at needs_confirmation instead. Archiving is not counted: it keeps every row and is undone by restore",
});

export const RetentionPolicyPut = Type.Object(
  {
    enabled: Type.Boolean({ description: "Run daily (cron `retention`, 03:17 UTC)" }),
    settings: Type.Record(Type.String(), Type.Unknown(), {
      description:
        "The kind's settings: see OutdatedProspectsSettings, UndeliverableSettings, OlderThanSettings, DuplicatesSettings",
    }),
    maxShare: Type.Optional(MaxShare),
  },
  { additionalProperties: false },
);
export type RetentionPolicyPut = Static<typeof RetentionPolicyPut>;

export const RetentionPolicy = Type.Object({
  kind: RetentionKind,
  enabled: Type.Boolean(),
  settings: Type.Record(Type.String(), Type.Unknown()),
  maxShare: Type.Number(),
  updatedAt: Type.String({ format: "date-time" }),
});
export type RetentionPolicy = Static<typeof RetentionPolicy>;

export const RetentionPolicyList = Type.Object({ data: Type.Array(RetentionPolicy) });
export type RetentionPolicyList = Static<typeof RetentionPolicyList>;

export const RetentionKindParams = Type.Object({ kind: RetentionKind }, { additionalProperties: false });

export const RetentionRunRequest = Type.Object(
  {
    dryRun: Type.Optional(
      Type.Boolean({ default: true, description: "Count and sample only (default true)" }),
    ),
    confirm: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Required to delete, anonymise or merge away more than maxShare of the workspace's contacts in one run",
      }),
    ),
  },
  { additionalProperties: false },
);
export type RetentionRunRequest = Static<typeof RetentionRunRequest>;

export const RetentionSampleItem = Type.Object({
  id: Type.String({
    description: "The contact, outbox entry or print batch; for old_events, an event type",
  }),
  email: Nullable(Type.String()),
  action: Type.String({
    description: "What the run does to it: delete, anonymise, archive, enroll, merge, purge_history, …",
  }),
  into: Type.Optional(
    Type.String({ description: "`merge` only: the contact it merges into (the group's oldest)" }),
  ),
});

export const RetentionRun = Type.Object({
  id: Uuid,
  kind: RetentionKind,
  dryRun: Type.Boolean(),
  trigger: Type.Union([Type.Literal("api"), Type.Literal("schedule")]),
  status: Type.Union([
    Type.Literal("running"),
    Type.Literal("completed"),
    Type.Literal("failed"),
    Type.Literal("needs_confirmation"),
  ]),
  startedAt: Type.String({ format: "date-time" }),
  finishedAt: Nullable(Type.String({ format: "date-time" })),
  counts: Type.Record(Type.String(), Type.Integer(), {
    description: "Rows per action: what a dry run would do, what a real run did",
  }),
  sample: Type.Array(RetentionSampleItem, { description: "Up to 20 of the rows concerned" }),
  batches: Type.Integer(),
  error: Nullable(Type.String()),
});
export type RetentionRun = Static<typeof RetentionRun>;

export const RetentionRunList = Type.Object({ data: Type.Array(RetentionRun) });
export const RetentionRunListQuery = Type.Object(
  {
    kind: Type.Optional(RetentionKind),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
