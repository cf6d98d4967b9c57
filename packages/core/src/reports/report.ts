/**
 * Campaign reports, pure: from the summed rollup rows (see 000021_reports.sql for each metric) and the
 * campaign's workflow to the report's figures per node, channel, hour, variant and cohort.
 */
import type { CampaignReport, Interval, ReportFigures } from "@omneural/contracts/reports";
import type { WorkflowGraph, WorkflowNode } from "@omneural/contracts/workflows";
import { differenceInterval, twoProportionZTest, wilsonInterval } from "../campaigns/stats.ts";
import type { ReportBucketRow, ReportRow } from "./report.repository.ts";

/** Response kinds (events `message.<kind>`) and the figure each counts in. */
const RESPONSE_FIGURES: Record<string, keyof ReportFigures> = {
  delivered: "delivered",
  opened: "opened",
  clicked: "clicked",
  replied: "replied",
  converted: "converted",
  unsubscribed: "unsubscribed",
  bounced: "bounced",
  complained: "complained",
  purl_visited: "purlVisited",
};
const STATUS_FIGURES: Record<string, keyof ReportFigures> = {
  sent: "sent",
  failed: "failed",
  skipped: "skipped",
  queued: "queued",
  sending: "queued",
  cancelled: "cancelled",
  unknown: "unknown",
};

export const emptyFigures = (): ReportFigures => ({
  sent: 0,
  delivered: 0,
  opened: 0,
  clicked: 0,
  replied: 0,
  converted: 0,
  unsubscribed: 0,
  bounced: 0,
  complained: 0,
  purlVisited: 0,
  failed: 0,
  skipped: 0,
  deferred: 0,
  queued: 0,
  cancelled: 0,
  unknown: 0,
  machineOpens: 0,
  machineClicks: 0,
});

interface Tally {
  figures: ReportFigures;
  skippedByReason: Record<string, number>;
  failedByReason: Record<string, number>;
  deferredByReason: Record<string, number>;
}

const emptyTally = (): Tally => ({
  figures: emptyFigures(),
  skippedByReason: {},
  failedByReason: {},
  deferredByReason: {},
});

const add = (record: Record<string, number>, key: string, n: number) => {
  record[key] = (record[key] ?? 0) + n;
};

/** Adds one rollup row's ledger or response figures to a tally. */
function tallyRow(tally: Tally, row: ReportRow) {
  const n = Number(row.count);
  if (row.metric === "messages") {
    const [status = "", reason = ""] = row.dim.split("|");
    const figure = STATUS_FIGURES[status];
    if (figure) tally.figures[figure] += n;
    if (status === "skipped") add(tally.skippedByReason, reason || "other", n);
    if (status === "failed") add(tally.failedByReason, reason || "other", n);
    if (status === "queued" && reason) {
      tally.figures.deferred += n;
      add(tally.deferredByReason, reason, n);
    }
  } else if (row.metric === "unique") {
    const figure = RESPONSE_FIGURES[row.dim];
    if (figure) tally.figures[figure] += n;
  } else if (row.metric === "responses" && row.segment === "machine") {
    if (row.dim === "opened") tally.figures.machineOpens += n;
    if (row.dim === "clicked") tally.figures.machineClicks += n;
  }
}

/** The nodes each branch of a split reaches that no other branch of it reaches. */
export function branchNodes(graph: WorkflowGraph, split: WorkflowNode): Map<string, string[]> {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const reach = (start: string | undefined) => {
    const seen = new Set<string>();
    const stack = start ? [start] : [];
    while (stack.length) {
      const id = stack.pop() as string;
      if (seen.has(id) || id === split.id) continue;
      seen.add(id);
      for (const next of Object.values(byId.get(id)?.outlets ?? {})) stack.push(next);
    }
    return seen;
  };
  const reached = new Map(Object.entries(split.outlets).map(([key, target]) => [key, reach(target)]));
  const result = new Map<string, string[]>();
  for (const [key, nodes] of reached) {
    const others = [...reached].filter(([k]) => k !== key).map(([, s]) => s);
    result.set(
      key,
      [...nodes].filter((id) => !others.some((s) => s.has(id))),
    );
  }
  return result;
}

const rate = (successes: number, trials: number): Interval => wilsonInterval(successes, trials);

/**
 * The channels whose messages can be opened (email, by its pixel) or clicked (email, and SMS by its
 * short links): an open or click rate counts those messages only, so that letters and ad audiences in
 * the same campaign do not dilute it.
 */
const OPENABLE = new Set(["email"]);
const CLICKABLE = new Set(["email", "sms"]);

export interface ReportInput {
  campaign: {
    id: string;
    name: string;
    status: string;
    holdoutPercent: number;
    goalEventType: string | null;
  };
  graph: WorkflowGraph;
  entryId: string;
  rows: ReportRow[];
  hours: ReportBucketRow[];
  experiments: CampaignReport["experiments"];
  now: Date;
}

export function buildReport(input: ReportInput): CampaignReport {
  const { rows, graph } = input;
  const total = emptyTally();
  const byNode = new Map<
    string,
    Tally & { entered: number; members: Record<string, number>; actions: Record<string, number> }
  >();
  const byChannel = new Map<string, Tally>();
  const deferralsByReason: Record<string, number> = {};
  const byState: Record<string, number> = {};
  const cohorts = { holdout: { members: 0, converted: 0 }, treatment: { members: 0, converted: 0 } };
  let entered = 0;

  const nodeTally = (id: string) => {
    let t = byNode.get(id);
    if (!t) {
      t = { ...emptyTally(), entered: 0, members: {}, actions: {} };
      byNode.set(id, t);
    }
    return t;
  };
  for (const row of rows) {
    const n = Number(row.count);
    const cohort = row.segment === "holdout" ? cohorts.holdout : cohorts.treatment;
    switch (row.metric) {
      case "entered":
        if (row.node_id) nodeTally(row.node_id).entered += n;
        if (row.node_id === input.entryId) {
          entered += n;
          cohort.members += n;
        }
        break;
      case "members":
        add(nodeTally(row.node_id).members, row.dim, n);
        add(byState, row.dim, n);
        break;
      case "outcome":
        if (row.dim === "converted" && !input.campaign.goalEventType) cohort.converted += n;
        break;
      case "goal":
        if (input.campaign.goalEventType) cohort.converted += n;
        break;
      case "action":
        add(nodeTally(row.node_id).actions, row.dim, n);
        break;
      case "deferrals":
        add(deferralsByReason, row.dim || "other", n);
        break;
      default:
        tallyRow(total, row);
        if (row.node_id) tallyRow(nodeTally(row.node_id), row);
        if (row.channel) {
          let c = byChannel.get(row.channel);
          if (!c) byChannel.set(row.channel, (c = emptyTally()));
          tallyRow(c, row);
        }
    }
  }

  const figures = total.figures;
  const nodes = graph.nodes.map((node) => {
    const t = nodeTally(node.id);
    return {
      nodeId: node.id,
      type: node.type,
      label: node.label ?? null,
      channel: node.type === "send" ? ((node as { channel?: string }).channel ?? null) : null,
      entered: node.id === input.entryId ? entered : t.entered,
      members: t.members,
      actions: t.actions,
      figures: t.figures,
      skippedByReason: t.skippedByReason,
      failedByReason: t.failedByReason,
      deferredByReason: t.deferredByReason,
    };
  });

  const channelOf = new Map(nodes.flatMap((n) => (n.channel ? [[n.nodeId, n.channel] as const] : [])));
  const sentOn = (channels: Set<string>) =>
    [...byChannel].reduce((sum, [channel, t]) => sum + (channels.has(channel) ? t.figures.sent : 0), 0);
  const variants: CampaignReport["variants"] = [];
  for (const split of graph.nodes.filter((n) => n.type === "split")) {
    const actions = nodeTally(split.id).actions;
    for (const [branch, ids] of branchNodes(graph, split)) {
      const members = Object.entries(actions)
        .filter(([dim]) => dim.endsWith(`/${branch}`))
        .reduce((sum, [, n]) => sum + n, 0);
      const f = emptyFigures();
      let openable = 0;
      let clickable = 0;
      for (const id of ids) {
        const nf = byNode.get(id)?.figures;
        if (!nf) continue;
        for (const key of Object.keys(f) as (keyof ReportFigures)[]) f[key] += nf[key];
        const channel = channelOf.get(id) ?? "";
        if (OPENABLE.has(channel)) openable += nf.sent;
        if (CLICKABLE.has(channel)) clickable += nf.sent;
      }
      variants.push({
        splitNodeId: split.id,
        branch,
        members,
        nodes: ids,
        figures: f,
        openRate: rate(f.opened, openable),
        clickRate: rate(f.clicked, clickable),
        conversionRate: rate(f.converted, members),
      });
    }
  }

  const timeSeries = new Map<string, CampaignReport["timeSeries"][number]>();
  for (const h of input.hours) {
    const at = new Date(h.bucket).toISOString();
    let b = timeSeries.get(at);
    if (!b) {
      b = {
        at,
        entered: 0,
        sent: 0,
        failed: 0,
        opened: 0,
        clicked: 0,
        converted: 0,
        unsubscribed: 0,
        finished: 0,
      };
      timeSeries.set(at, b);
    }
    const n = Number(h.count);
    if (h.metric === "entered") b.entered += n;
    else if (h.metric === "sent") b.sent += n;
    else if (h.metric === "outcome") b.finished += n;
    else if (h.metric === "messages" && h.dim.startsWith("failed|")) b.failed += n;
    else if (h.metric === "unique" && h.dim === "opened") b.opened += n;
    else if (h.metric === "unique" && h.dim === "clicked") b.clicked += n;
    else if (h.metric === "unique" && h.dim === "converted") b.converted += n;
    else if (h.metric === "unique" && h.dim === "unsubscribed") b.unsubscribed += n;
  }

  const holdout =
    input.campaign.holdoutPercent > 0
      ? (() => {
          const { holdout: h, treatment: t } = cohorts;
          const test = twoProportionZTest(t.converted, t.members, h.converted, h.members);
          const ph = h.members ? h.converted / h.members : 0;
          const pt = t.members ? t.converted / t.members : 0;
          return {
            percent: input.campaign.holdoutPercent,
            goal: input.campaign.goalEventType
              ? `event ${input.campaign.goalEventType}`
              : "the workflow's goal node",
            holdout: { ...h, rate: rate(h.converted, h.members) },
            treatment: { ...t, rate: rate(t.converted, t.members) },
            lift: {
              absolute: differenceInterval(t.converted, t.members, h.converted, h.members),
              relative: ph > 0 ? pt / ph - 1 : null,
              pValue: test.pValue,
              significant: test.significant,
            },
          };
        })()
      : null;

  return {
    campaignId: input.campaign.id,
    name: input.campaign.name,
    status: input.campaign.status,
    generatedAt: input.now.toISOString(),
    members: { entered, byState },
    totals: figures,
    rates: {
      openRate: rate(figures.opened, sentOn(OPENABLE)),
      clickRate: rate(figures.clicked, sentOn(CLICKABLE)),
      conversionRate: rate(figures.converted, figures.sent),
      unsubscribeRate: rate(figures.unsubscribed, figures.sent),
    },
    skippedByReason: total.skippedByReason,
    failedByReason: total.failedByReason,
    deferredByReason: total.deferredByReason,
    deferralsByReason,
    byNode: nodes,
    byChannel: [...byChannel]
      .map(([channel, t]) => ({ channel, ...t }))
      .sort((a, b) => a.channel.localeCompare(b.channel)),
    timeSeries: [...timeSeries.values()],
    variants,
    experiments: input.experiments,
    holdout,
  };
}
