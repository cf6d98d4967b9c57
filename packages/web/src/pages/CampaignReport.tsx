/**
 * A campaign's report: headline figures and rates, the funnel, what happened hour by hour, why some
 * messages were not sent, each step and channel, A/B experiments with their verdict, the lift against the
 * holdout, a CSV export, and a search that opens one member's trace.
 */
import type { CampaignReport as Report } from "@omneural/contracts/reports";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import {
  CHANNEL_NAMES,
  campaignApi,
  formatTime,
  isLive,
  percent,
} from "../components/campaign/campaignApi.ts";
import { FigureTable, figureColumns } from "../components/campaign/FigureTable.tsx";
import { MemberSearch } from "../components/campaign/MemberSearch.tsx";
import { StatusBadge } from "../components/campaign/StatusBadge.tsx";
import { FunnelChart, type FunnelStage } from "../components/charts/FunnelChart.tsx";
import { TimeSeriesChart } from "../components/charts/TimeSeriesChart.tsx";
import { Loading, PageError } from "../components/feedback.tsx";
import "../styles/campaigns.css";

type Interval = Report["rates"]["openRate"];
type Experiment = Report["experiments"][number];
type Variant = Report["variants"][number];

export default function CampaignReport({ params }: { params: { id: string } }) {
  const [withMachines, setWithMachines] = useState(false);
  const report = useQuery({
    queryKey: ["report", params.id],
    queryFn: () => campaignApi.report(params.id),
    refetchInterval: (query) => (query.state.data && isLive(query.state.data.status) ? 5000 : false),
  });
  if (report.isPending) return <Loading label="Loading the report" />;
  if (report.error) return <PageError error={report.error} />;
  const r = report.data;
  const t = r.totals;
  const opened = t.opened + (withMachines ? t.machineOpens : 0);
  const clicked = t.clicked + (withMachines ? t.machineClicks : 0);
  // Every stage counts messages (a member who got two emails counts twice), so that no stage can exceed
  // the one before, and its rate is the headline's, over the messages that can have that response (none
  // while machine activity is shown, as in the headline). Delivered is left out until a provider
  // reports deliveries: without receipts it would read 0 above opens and clicks.
  const receipts = t.delivered > 0;
  const stages: FunnelStage[] = [
    { stage: "Sent", count: t.sent },
    ...(receipts
      ? [
          {
            stage: "Delivered",
            count: t.delivered,
            rate: { value: t.delivered / t.sent, of: "messages sent" },
          },
        ]
      : []),
    {
      stage: "Opened",
      count: opened,
      ...(withMachines ? {} : { rate: { value: r.rates.openRate.value, of: "emails sent" } }),
    },
    {
      stage: "Clicked",
      count: clicked,
      ...(withMachines ? {} : { rate: { value: r.rates.clickRate.value, of: "emails and texts sent" } }),
    },
    {
      stage: "Converted",
      count: t.converted,
      rate: { value: r.rates.conversionRate.value, of: "messages sent" },
    },
  ];
  const series = [
    { key: "entered", label: "Entered" },
    { key: "sent", label: "Sent" },
    { key: "opened", label: "Opened" },
    { key: "clicked", label: "Clicked" },
    { key: "converted", label: "Converted" },
  ];
  const status = r.status as Parameters<typeof StatusBadge>[0]["status"];
  return (
    <div className="page campaign-report">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/reports">Reports</Link> / {r.name}
      </nav>
      <header className="page-header">
        <div>
          <h1>
            {r.name} <StatusBadge status={status} />
          </h1>
          <p className="muted small">
            Figures as of {formatTime(r.generatedAt)}
            {isLive(r.status) ? "; they refresh every few seconds while it runs" : ""}.
          </p>
        </div>
        <div className="button-row">
          <Link href={`/campaigns/${r.campaignId}`} className="button secondary">
            Open the campaign
          </Link>
          <a href={campaignApi.reportCsvUrl(r.campaignId)} className="button secondary" download>
            Export as CSV
          </a>
        </div>
      </header>

      <dl className="figures headline">
        <Figure label="Entered" value={r.members.entered} />
        <Figure label="Sent" value={t.sent} />
        <Figure label="Delivered" value={t.delivered} />
        <Figure label="Opened" value={opened} rate={withMachines ? undefined : r.rates.openRate} />
        <Figure label="Clicked" value={clicked} rate={withMachines ? undefined : r.rates.clickRate} />
        <Figure label="Converted" value={t.converted} rate={r.rates.conversionRate} />
        <Figure label="Unsubscribed" value={t.unsubscribed} rate={r.rates.unsubscribeRate} />
      </dl>

      <div className="checkbox-field machine-toggle">
        <input
          id="with-machines"
          type="checkbox"
          checked={withMachines}
          onChange={(e) => setWithMachines(e.target.checked)}
        />
        <label htmlFor="with-machines">
          Include machine opens and clicks ({t.machineOpens.toLocaleString()} opens,{" "}
          {t.machineClicks.toLocaleString()} clicks)
        </label>
      </div>
      <p className="muted small">
        Machine opens come from privacy features such as Apple Mail Privacy Protection, machine clicks from
        security scanners. They are left out by default because no person was behind them; rates always leave
        them out.
      </p>

      <div className="report-charts">
        <section className="card" aria-labelledby="funnel-heading">
          <h2 id="funnel-heading">Funnel</h2>
          <FunnelChart stages={stages} title="What came of the messages sent" />
          {!receipts && t.sent > 0 ? (
            <p className="muted small">
              Delivered appears once a provider reports deliveries; the dev inbox and plain SMTP report none.
            </p>
          ) : null}
        </section>
        <section className="card" aria-labelledby="time-heading">
          <h2 id="time-heading">Hour by hour</h2>
          {r.timeSeries.length === 0 ? (
            <p className="muted">Nothing has happened yet.</p>
          ) : (
            <TimeSeriesChart
              points={r.timeSeries}
              series={series}
              title="What happened each hour (UTC hours, shown in your time)"
            />
          )}
        </section>
      </div>

      <Reasons report={r} />
      <Experiments report={r} />
      <Holdout report={r} />
      <Steps report={r} />
      <Channels report={r} />

      <section className="card" aria-labelledby="member-heading">
        <h2 id="member-heading">Why did or didn’t someone get it?</h2>
        <MemberSearch campaignId={r.campaignId} />
      </section>
    </div>
  );
}

function Figure({ label, value, rate }: { label: string; value: number; rate?: Interval | undefined }) {
  return (
    <div className="figure">
      <dt>{label}</dt>
      <dd>
        {value.toLocaleString()}
        {rate ? (
          <span
            className="figure-rate"
            title={`95 % confidence: ${percent(rate.low)} to ${percent(rate.high)}`}
          >
            {percent(rate.value)}
          </span>
        ) : null}
      </dd>
    </div>
  );
}

const REASON_KINDS = [
  ["skippedByReason", "Not sent"],
  ["deferredByReason", "Waiting"],
  ["failedByReason", "Failed"],
] as const;

function Reasons({ report }: { report: Report }) {
  const rows = REASON_KINDS.flatMap(([key, kind]) =>
    Object.entries(report[key]).map(([reason, count]) => ({ kind, reason, count })),
  );
  return (
    <section className="card" aria-labelledby="reasons-heading">
      <h2 id="reasons-heading">Messages not sent, and why</h2>
      {rows.length === 0 ? (
        <p className="muted">Every message due so far was sent: nothing skipped, held back or failed.</p>
      ) : (
        <FigureTable
          caption="Messages not sent, by reason"
          columns={[{ label: "What" }, { label: "Why", rowHeader: true }, ...figureColumns("Messages")]}
          rows={rows.map((row) => ({
            key: `${row.kind}-${row.reason}`,
            cells: [row.kind, row.reason, row.count.toLocaleString()],
          }))}
        />
      )}
    </section>
  );
}

interface Statistics {
  metric?: string;
  confidence?: number;
  best?: string;
  significant?: boolean;
  variants?: { key: string; members: number; successes: number; rate: number }[];
}

const METRIC_RATE = { open: "openRate", click: "clickRate", conversion: "conversionRate" } as const;

function verdict(e: Experiment, stats: Statistics): string {
  const level = stats.confidence ? `${Math.round(stats.confidence * 100)} %` : "the chosen confidence";
  if (e.status === "decided") {
    if (stats.significant)
      return `Winner: variant “${e.winner}”, significantly better at ${level} confidence. Everyone after the test gets it.`;
    return `Not significant: no variant was clearly better at ${level} confidence, so everyone after the test gets “${e.winner}” (the fallback).`;
  }
  const sofar = stats.best
    ? `Variant “${stats.best}” leads so far, but the difference is not significant yet: wait for the verdict.`
    : "The winner is chosen then; until that moment no difference counts as significant.";
  return `Still testing until ${formatTime(e.decideAt)}. ${sofar}`;
}

function Experiments({ report }: { report: Report }) {
  if (report.experiments.length === 0 && report.variants.length === 0) return null;
  const splitIds = [
    ...new Set([...report.experiments.map((e) => e.nodeId), ...report.variants.map((v) => v.splitNodeId)]),
  ];
  return (
    <section className="card" aria-labelledby="experiments-heading">
      <h2 id="experiments-heading">A/B tests and splits</h2>
      {splitIds.map((nodeId) => {
        const e = report.experiments.find((x) => x.nodeId === nodeId);
        const stats = (e?.statistics ?? {}) as Statistics;
        const variants = report.variants.filter((v) => v.splitNodeId === nodeId);
        const metric = (stats.metric ?? "open") as keyof typeof METRIC_RATE;
        const rateKey = METRIC_RATE[metric] ?? "openRate";
        return (
          <div key={nodeId} className="experiment">
            <h3>
              {e ? "Experiment" : "Split"} at step “{nodeId}”
              {e ? (
                <span
                  className={`badge ${e.status === "decided" ? (stats.significant ? "success" : "warning") : "info"}`}
                >
                  {e.status === "decided"
                    ? stats.significant
                      ? "Winner found"
                      : "Not significant"
                    : "Testing"}
                </span>
              ) : null}
            </h3>
            {e ? <p className="experiment-verdict">{verdict(e, stats)}</p> : null}
            <VariantTable variants={variants} rateKey={rateKey} metric={metric} winner={e?.winner ?? null} />
          </div>
        );
      })}
    </section>
  );
}

function VariantTable({
  variants,
  rateKey,
  metric,
  winner,
}: {
  variants: Variant[];
  rateKey: "openRate" | "clickRate" | "conversionRate";
  metric: string;
  winner: string | null;
}) {
  if (variants.length === 0) return <p className="muted">No member has reached it yet.</p>;
  return (
    <FigureTable
      caption={`Variants and their ${metric} rate`}
      columns={[
        { label: "Variant", rowHeader: true },
        ...figureColumns(
          "Members",
          "Sent",
          metric === "click" ? "Click rate" : metric === "conversion" ? "Conversion rate" : "Open rate",
        ),
        { label: "95 % confidence range" },
      ]}
      rows={variants.map((v) => ({
        key: v.branch,
        cells: [
          <>
            {v.branch}
            {winner === v.branch ? <span className="badge success">Winner</span> : null}
          </>,
          v.members.toLocaleString(),
          v.figures.sent.toLocaleString(),
          percent(v[rateKey].value),
          `${percent(v[rateKey].low)} – ${percent(v[rateKey].high)}`,
        ],
      }))}
    />
  );
}

function Holdout({ report }: { report: Report }) {
  const h = report.holdout;
  if (!h) return null;
  const lift = h.lift;
  return (
    <section className="card" aria-labelledby="holdout-heading">
      <h2 id="holdout-heading">Lift against the holdout</h2>
      <p>
        {h.percent} % of members were held out and never contacted. What counts as a conversion: {h.goal}.
      </p>
      <dl className="figures">
        <div className="figure">
          <dt>Contacted: converted</dt>
          <dd>
            {percent(h.treatment.rate.value)}
            <span className="figure-rate">
              {h.treatment.converted.toLocaleString()} of {h.treatment.members.toLocaleString()}
            </span>
          </dd>
        </div>
        <div className="figure">
          <dt>Held out: converted</dt>
          <dd>
            {percent(h.holdout.rate.value)}
            <span className="figure-rate">
              {h.holdout.converted.toLocaleString()} of {h.holdout.members.toLocaleString()}
            </span>
          </dd>
        </div>
        <div className="figure">
          <dt>Lift</dt>
          <dd>
            {lift.absolute.value >= 0 ? "+" : ""}
            {(lift.absolute.value * 100).toFixed(1)} points
            <span className="figure-rate">
              {lift.relative === null
                ? ""
                : `${lift.relative >= 0 ? "+" : ""}${(lift.relative * 100).toFixed(0)} % relative`}
            </span>
          </dd>
        </div>
      </dl>
      <p className={lift.significant ? "verdict success" : "verdict"}>
        {lift.significant
          ? `The campaign made a real difference (significant at 95 %, p = ${lift.pValue.toFixed(3)}).`
          : `Not significant yet (p = ${lift.pValue.toFixed(3)}): the difference could still be chance. The range of the lift is ${(lift.absolute.low * 100).toFixed(1)} to ${(lift.absolute.high * 100).toFixed(1)} points.`}
      </p>
    </section>
  );
}

function Steps({ report }: { report: Report }) {
  if (report.byNode.length === 0) return null;
  return (
    <section className="card" aria-labelledby="steps-heading">
      <h2 id="steps-heading">Each step</h2>
      <FigureTable
        caption="Figures per workflow step"
        columns={[
          { label: "Step", rowHeader: true },
          ...figureColumns("Reached", "There now", "Sent", "Opened", "Clicked", "Not sent"),
        ]}
        rows={report.byNode.map((n) => ({
          key: n.nodeId,
          cells: [
            <>
              {n.label || n.nodeId}{" "}
              <span className="muted small">
                ({n.channel ? (CHANNEL_NAMES[n.channel] ?? n.channel) : n.type})
              </span>
            </>,
            n.entered.toLocaleString(),
            (n.members.active ?? 0).toLocaleString(),
            n.figures.sent.toLocaleString(),
            n.figures.opened.toLocaleString(),
            n.figures.clicked.toLocaleString(),
            (n.figures.skipped + n.figures.failed).toLocaleString(),
          ],
        }))}
      />
    </section>
  );
}

function Channels({ report }: { report: Report }) {
  if (report.byChannel.length === 0) return null;
  return (
    <section className="card" aria-labelledby="channels-heading">
      <h2 id="channels-heading">Each channel</h2>
      <FigureTable
        caption="Figures per channel"
        columns={[
          { label: "Channel", rowHeader: true },
          ...figureColumns("Sent", "Delivered", "Opened", "Clicked", "Bounced", "Complaints", "Unsubscribed"),
        ]}
        rows={report.byChannel.map((c) => ({
          key: c.channel,
          cells: [
            CHANNEL_NAMES[c.channel] ?? c.channel,
            ...(
              ["sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed"] as const
            ).map((k) => c.figures[k].toLocaleString()),
          ],
        }))}
      />
    </section>
  );
}
