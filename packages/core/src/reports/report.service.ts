/**
 * Campaign reports: read the campaign's rollups (never the ledger) and shape them; the CSV export; the
 * worker loop that folds report deltas.
 */
import type { CampaignReport, ReportFigures } from "@omneural/contracts/reports";
import { findCampaign } from "../campaigns/campaign.repository.ts";
import { listExperiments } from "../campaigns/experiment.service.ts";
import { settingsOf } from "../campaigns/settings.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { loadWorkflowVersion } from "../engine/stepper.ts";
import { notFound } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type PollLoop, startPollLoop } from "../shared/poll-loop.ts";
import { foldReportDeltas, sumReport, sumReportByHour } from "./report.repository.ts";
import { buildReport, emptyFigures } from "./report.ts";

export async function getCampaignReport(
  db: Db,
  ws: Pick<WorkspaceContext, "id">,
  campaignId: string,
  now = new Date(),
): Promise<CampaignReport> {
  const campaign = await findCampaign(db, ws.id, campaignId);
  if (!campaign) throw notFound("campaign", campaignId);
  const wf = await loadWorkflowVersion(db, ws.id, campaign.workflow_id, campaign.workflow_version);
  // One snapshot for both reads, so the totals and the time series agree.
  const [rows, hours] = await db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (trx) => [
      await sumReport(trx, ws.id, campaignId),
      await sumReportByHour(trx, ws.id, campaignId, wf.entryId),
    ]);
  const settings = settingsOf(campaign);
  const experiments = (await listExperiments(db, ws.id, campaignId)).map((e) => ({
    nodeId: e.nodeId,
    status: e.status,
    startedAt: e.startedAt.toISOString(),
    decideAt: e.decideAt.toISOString(),
    decidedAt: e.decidedAt?.toISOString() ?? null,
    winner: e.winner,
    reason: e.reason,
    statistics: e.statistics as Record<string, unknown> | null,
  }));
  return buildReport({
    campaign: {
      id: campaign.id,
      name: campaign.name,
      status: campaign.status,
      holdoutPercent: settings.holdoutPercent,
      goalEventType: settings.goal?.eventType ?? null,
    },
    graph: wf.graph,
    entryId: wf.entryId,
    rows,
    hours,
    experiments,
    now,
  });
}

const FIGURE_NAMES = Object.keys(emptyFigures()) as (keyof ReportFigures)[];

const csvCell = (value: string | number) => {
  const s = String(value);
  // Quote what needs it, and defuse cells a spreadsheet would run as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof value === "string" ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/**
 * The report as CSV, one row per scope: the campaign, each node, each channel, each variant and each
 * hour, with the same figures as columns (empty where a figure does not apply).
 */
export function reportToCsv(report: CampaignReport): string {
  const columns = ["scope", "id", "type", "entered", ...FIGURE_NAMES, "reasons"];
  const lines = [columns.join(",")];
  const reasons = (r: { skippedByReason: object; failedByReason: object; deferredByReason: object }) =>
    [
      ...Object.entries(r.skippedByReason).map(([k, n]) => `skipped ${k}: ${n}`),
      ...Object.entries(r.failedByReason).map(([k, n]) => `failed ${k}: ${n}`),
      ...Object.entries(r.deferredByReason).map(([k, n]) => `deferred ${k}: ${n}`),
    ].join("; ");
  const line = (
    scope: string,
    id: string,
    type: string,
    entered: number | "",
    f: ReportFigures,
    why: string,
  ) => lines.push([scope, id, type, entered, ...FIGURE_NAMES.map((k) => f[k]), why].map(csvCell).join(","));
  line("campaign", report.campaignId, report.status, report.members.entered, report.totals, reasons(report));
  for (const n of report.byNode) line("node", n.nodeId, n.type, n.entered, n.figures, reasons(n));
  for (const c of report.byChannel) line("channel", c.channel, "", "", c.figures, reasons(c));
  for (const v of report.variants)
    line("variant", `${v.splitNodeId}/${v.branch}`, "", v.members, v.figures, "");
  for (const h of report.timeSeries) {
    const f = {
      ...emptyFigures(),
      sent: h.sent,
      failed: h.failed,
      opened: h.opened,
      clicked: h.clicked,
      converted: h.converted,
      unsubscribed: h.unsubscribed,
    };
    line("hour", h.at, "", h.entered, f, "");
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The worker's loop folding report deltas into counts (a report is exact either way; this keeps it fast). */
export function startReportFolder(db: Db, options: { logger?: Logger; idleMs?: number } = {}): PollLoop {
  return startPollLoop({
    name: "report-folder",
    logger: options.logger,
    idleMs: options.idleMs ?? 2000,
    async pass() {
      return (await foldReportDeltas(db)) > 0;
    },
  });
}
