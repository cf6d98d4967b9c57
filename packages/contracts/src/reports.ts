/**
 * Campaign reports: what happened to a campaign's members, sends and responses, per node, per channel,
 * per hour, per A/B variant, and against its holdout. Every figure is a count of ledger, enrollment or
 * event rows (see docs/reports.md for which).
 */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";

export const Interval = Type.Object(
  {
    value: Type.Number(),
    low: Type.Number(),
    high: Type.Number(),
  },
  { description: "A rate (0–1) with its 95 % confidence interval (Wilson score)" },
);
export type Interval = Static<typeof Interval>;

const count = (description: string) => Type.Integer({ description });

/** The figures of a campaign, a node, a channel or a variant. */
export const ReportFigures = Type.Object({
  sent: count("Ledger rows sent"),
  delivered: count("Messages with a delivery receipt"),
  opened: count(
    "Messages opened at least once by a person, an email clicked by a person included (machine opens excluded)",
  ),
  clicked: count("Messages clicked at least once by a person (machine clicks excluded)"),
  replied: count("Messages replied to"),
  converted: count("Messages a conversion was attributed to"),
  unsubscribed: count("Messages that led to an unsubscribe"),
  bounced: count("Messages that bounced"),
  complained: count("Messages marked as spam"),
  purlVisited: count("Letters whose personal URL was visited"),
  failed: count("Ledger rows failed"),
  skipped: count("Ledger rows skipped (see skippedByReason)"),
  deferred: count("Ledger rows waiting now after a deferral (see deferredByReason)"),
  queued: count("Ledger rows waiting to be sent (deferred ones included)"),
  cancelled: count("Ledger rows cancelled"),
  unknown: count("Ledger rows whose outcome the provider could not tell"),
  machineOpens: count("Opens flagged as machine (e.g. Apple Mail Privacy Protection)"),
  machineClicks: count("Clicks flagged as machine (security scanners)"),
});
export type ReportFigures = Static<typeof ReportFigures>;

const ByReason = Type.Record(Type.String(), Type.Integer(), {
  description: "Reason (in a few words, e.g. quiet hours, frequency cap, suppressed) → count",
});

export const ReportNode = Type.Object({
  nodeId: Type.String(),
  type: Type.String(),
  label: Nullable(Type.String()),
  channel: Nullable(Type.String()),
  entered: count("Members who reached this node"),
  members: Type.Record(Type.String(), Type.Integer(), { description: "Members at this node now, by state" }),
  actions: Type.Record(Type.String(), Type.Integer(), {
    description: "What the engine did here: action, or action/outlet (e.g. split/b, matched/matched)",
  }),
  figures: ReportFigures,
  skippedByReason: ByReason,
  failedByReason: ByReason,
  deferredByReason: ByReason,
});

export const ReportChannel = Type.Object({
  channel: Type.String(),
  figures: ReportFigures,
  skippedByReason: ByReason,
  failedByReason: ByReason,
  deferredByReason: ByReason,
});

export const ReportBucket = Type.Object({
  at: Type.String({ format: "date-time", description: "The hour (UTC) the figures are for" }),
  entered: Type.Integer(),
  sent: Type.Integer(),
  failed: Type.Integer(),
  opened: Type.Integer(),
  clicked: Type.Integer(),
  converted: Type.Integer(),
  unsubscribed: Type.Integer(),
  finished: Type.Integer({
    description: "Members who left the campaign (completed, converted, cancelled, failed)",
  }),
});

export const ReportVariant = Type.Object({
  splitNodeId: Type.String(),
  branch: Type.String(),
  members: count("Members routed to this branch"),
  nodes: Type.Array(Type.String(), { description: "The nodes only this branch reaches" }),
  figures: ReportFigures,
  openRate: Interval,
  clickRate: Interval,
  conversionRate: Interval,
});

export const ReportCohort = Type.Object({
  members: Type.Integer(),
  converted: Type.Integer(),
  rate: Interval,
});

export const ReportHoldout = Type.Object({
  percent: Type.Number(),
  goal: Type.String({
    description: "What counts as converted: the campaign's goal event, or the workflow's goal node",
  }),
  holdout: ReportCohort,
  treatment: ReportCohort,
  lift: Type.Object({
    absolute: Interval,
    relative: Nullable(
      Type.Number({
        description: "Treatment rate ÷ holdout rate − 1; null when the holdout did not convert",
      }),
    ),
    pValue: Type.Number(),
    significant: Type.Boolean({ description: "At 95 %" }),
  }),
});

export const ReportExperiment = Type.Object({
  nodeId: Type.String(),
  status: Type.Union([Type.Literal("testing"), Type.Literal("decided")]),
  startedAt: Type.String({ format: "date-time" }),
  decideAt: Type.String({ format: "date-time" }),
  decidedAt: Nullable(Type.String({ format: "date-time" })),
  winner: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  statistics: Nullable(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        "Per variant members, successes, rate and interval; each comparison's z and p-value; whether the best was significant (see docs/workflows.md, Experiments)",
    }),
  ),
});

export const CampaignReport = Type.Object({
  campaignId: Uuid,
  name: Type.String(),
  status: Type.String(),
  generatedAt: Type.String({ format: "date-time" }),
  members: Type.Object({
    entered: Type.Integer({ description: "Entries (a re-entry counts again)" }),
    byState: Type.Record(Type.String(), Type.Integer()),
  }),
  totals: ReportFigures,
  rates: Type.Object({
    openRate: Interval,
    clickRate: Interval,
    conversionRate: Interval,
    unsubscribeRate: Interval,
  }),
  skippedByReason: ByReason,
  failedByReason: ByReason,
  deferredByReason: ByReason,
  deferralsByReason: Type.Record(Type.String(), Type.Integer(), {
    description: "Every deferral so far (a row deferred twice counts twice), by reason",
  }),
  byNode: Type.Array(ReportNode),
  byChannel: Type.Array(ReportChannel),
  timeSeries: Type.Array(ReportBucket),
  variants: Type.Array(ReportVariant),
  experiments: Type.Array(ReportExperiment, {
    description: "A/B experiments of split nodes: their decision and its statistics",
  }),
  holdout: Nullable(ReportHoldout),
});
export type CampaignReport = Static<typeof CampaignReport>;
