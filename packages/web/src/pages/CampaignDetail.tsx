/**
 * One campaign: its status, schedule, audience and workflow version, the actions its status allows, the
 * members at each step (live while it runs), its recent messages, and a search that opens one member's
 * trace.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { CampaignActions } from "../components/campaign/CampaignActions.tsx";
import { ContactTraceLink } from "../components/campaign/ContactName.tsx";
import {
  type CampaignWithCounts,
  CHANNEL_NAMES,
  campaignApi,
  formatTime,
  isLive,
  MESSAGE_STATUS_LABELS,
  STATE_LABELS,
} from "../components/campaign/campaignApi.ts";
import { MemberSearch } from "../components/campaign/MemberSearch.tsx";
import { NodeCountsTable, nodeName } from "../components/campaign/NodeCounts.tsx";
import { StatusBadge } from "../components/campaign/StatusBadge.tsx";
import { StepDiagram } from "../components/campaign/StepDiagram.tsx";
import { SelectField } from "../components/Field.tsx";
import { Loading, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import "../styles/campaigns.css";

export default function CampaignDetail({ params }: { params: { id: string } }) {
  const campaign = useQuery({
    queryKey: ["campaign", params.id],
    queryFn: () => campaignApi.get(params.id),
    refetchInterval: (query) => (query.state.data && isLive(query.state.data.status) ? 2500 : false),
  });
  const c = campaign.data;
  const audience = useQuery({
    queryKey: ["audience", c?.audienceId],
    queryFn: () => campaignApi.audience(c?.audienceId ?? ""),
    enabled: Boolean(c),
  });
  const workflow = useQuery({
    queryKey: ["workflow", c?.workflowId],
    queryFn: () => campaignApi.workflow(c?.workflowId ?? ""),
    enabled: Boolean(c),
  });
  const version = useQuery({
    queryKey: ["workflow-version", c?.workflowId, c?.workflowVersion],
    queryFn: () => campaignApi.version(c?.workflowId ?? "", c?.workflowVersion ?? 1),
    enabled: Boolean(c),
    staleTime: Number.POSITIVE_INFINITY,
  });

  if (campaign.isPending) return <Loading label="Loading the campaign" />;
  if (campaign.error || !c) return <PageError error={campaign.error} />;
  const graph = version.data?.graph as WorkflowGraph | undefined;
  const live = isLive(c.status);

  return (
    <div className="page campaign-detail">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/campaigns">Campaigns</Link> / {c.name}
      </nav>
      <header className="page-header">
        <div>
          <h1>
            {c.name} <StatusBadge status={c.status} />
          </h1>
          {live ? (
            <p className="muted small live-note">
              <span className="live-dot" aria-hidden="true" /> Live: the figures refresh every few seconds.
            </p>
          ) : null}
        </div>
        {c.status !== "draft" ? (
          <Link href={`/reports/${c.id}`} className="button secondary">
            See the report
          </Link>
        ) : null}
      </header>

      <CampaignActions campaign={c} />

      <section className="card" aria-labelledby="about-heading">
        <h2 id="about-heading">About this campaign</h2>
        <dl className="details columns">
          <div>
            <dt>Audience</dt>
            <dd>
              {audience.data ? <Link href={`/audiences/${c.audienceId}`}>{audience.data.name}</Link> : "…"}
            </dd>
          </div>
          <div>
            <dt>Workflow</dt>
            <dd>
              {workflow.data ? <Link href={`/workflows/${c.workflowId}`}>{workflow.data.name}</Link> : "…"},
              version {c.workflowVersion}
            </dd>
          </div>
          <div>
            <dt>Starts</dt>
            <dd>{startText(c)}</dd>
          </div>
          <div>
            <dt>Launched</dt>
            <dd>{formatTime(c.launchedAt)}</dd>
          </div>
          <div>
            <dt>Ends</dt>
            <dd>
              {c.finishedAt
                ? `Finished ${formatTime(c.finishedAt)}`
                : c.endAt
                  ? formatTime(c.endAt)
                  : "When everyone is done"}
            </dd>
          </div>
          <div>
            <dt>Who enters</dt>
            <dd>
              {c.entry.mode === "once"
                ? "The audience’s members at launch"
                : c.entry.mode === "continuous"
                  ? "Members at launch and later joiners"
                  : `Each ${c.entry.eventType ?? ""} event`}
            </dd>
          </div>
          <div>
            <dt>Quiet hours</dt>
            <dd>
              {c.policies.quietHours
                ? `Sends ${c.policies.quietHours.from}–${c.policies.quietHours.to} local time`
                : "The workspace’s"}
            </dd>
          </div>
          <div>
            <dt>Frequency cap</dt>
            <dd>{c.policies.frequencyCap === "exempt" ? "Exempt (transactional)" : "Respected"}</dd>
          </div>
          <div>
            <dt>Holdout</dt>
            <dd>{c.holdoutPercent} %</dd>
          </div>
          <div>
            <dt>Conversion</dt>
            <dd>{c.goal ? `${c.goal.eventType} within ${c.goal.windowDays} days` : "Not counted"}</dd>
          </div>
        </dl>
      </section>

      <section className="card" aria-labelledby="progress-heading">
        <h2 id="progress-heading">Progress</h2>
        <Figures campaign={c} />
        {graph ? (
          <StepDiagram graph={graph} rows={c.counts.byNode} label={`${c.name}: members at each step`} />
        ) : null}
        <h3>Members at each step</h3>
        <NodeCountsTable rows={c.counts.byNode} graph={graph} />
      </section>

      <section className="card" aria-labelledby="member-heading">
        <h2 id="member-heading">Why did or didn’t someone get it?</h2>
        <MemberSearch campaignId={c.id} />
      </section>

      <Messages campaignId={c.id} graph={graph} live={live} />
    </div>
  );
}

function startText(c: CampaignWithCounts): string {
  if (c.startLocal) return `${c.startLocal.date} at ${c.startLocal.time}, in each member’s time zone`;
  if (c.startAt) return formatTime(c.startAt);
  return "At launch";
}

function Figures({ campaign }: { campaign: CampaignWithCounts }) {
  const byState = campaign.counts.byState;
  const total = Object.values(byState).reduce((s, n) => s + n, 0);
  const sent = Object.values(campaign.counts.messages).reduce((s, m) => s + (m.sent ?? 0), 0);
  const queued = Object.values(campaign.counts.messages).reduce(
    (s, m) => s + (m.queued ?? 0) + (m.sending ?? 0),
    0,
  );
  const figures: [string, number][] = [
    ["Enrolled", total],
    ...["active", "completed", "converted", "failed", "cancelled"]
      .filter((s) => s === "active" || s === "completed" || (byState[s] ?? 0) > 0)
      .map((s): [string, number] => [STATE_LABELS[s] ?? s, byState[s] ?? 0]),
    ["Messages sent", sent],
    ["Waiting to send", queued],
  ];
  return (
    <dl className="figures" aria-live="polite">
      {figures.map(([label, value]) => (
        <div key={label} className="figure">
          <dt>{label}</dt>
          <dd>{value.toLocaleString()}</dd>
        </div>
      ))}
    </dl>
  );
}

function Messages({
  campaignId,
  graph,
  live,
}: {
  campaignId: string;
  graph: WorkflowGraph | undefined;
  live: boolean;
}) {
  const [status, setStatus] = useState("");
  const pages = useCursorPages();
  const { cursor } = pages;
  const messages = useQuery({
    queryKey: ["campaign-messages", campaignId, status, cursor],
    queryFn: () => campaignApi.messages(campaignId, cursor, status),
    refetchInterval: live && pages.page === 1 ? 5000 : false,
  });
  return (
    <section className="card" aria-labelledby="messages-heading">
      <h2 id="messages-heading">Recent messages</h2>
      <div className="filters">
        <SelectField
          label="Message status"
          value={status}
          onChange={(v) => {
            setStatus(v);
            pages.reset();
          }}
          options={[
            { value: "", label: "All" },
            ...Object.entries(MESSAGE_STATUS_LABELS).map(([value, label]) => ({ value, label })),
          ]}
        />
      </div>
      {messages.isPending ? <Loading label="Loading messages" /> : null}
      {messages.error ? <PageError error={messages.error} /> : null}
      {messages.data && messages.data.data.length === 0 && pages.page === 1 ? (
        <p className="muted">
          {status
            ? "No message with this status."
            : "No message yet: they appear here as members reach a send step."}
        </p>
      ) : null}
      {messages.data && messages.data.data.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Messages of this campaign, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Queued</th>
                  <th scope="col">Member</th>
                  <th scope="col">Step</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Status</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {messages.data.data.map((m) => (
                  <tr key={m.id}>
                    <td>{formatTime(m.queuedAt)}</td>
                    <td>
                      <ContactTraceLink campaignId={campaignId} contactId={m.contactId} contact={m.contact} />
                    </td>
                    <td>{nodeName(graph, m.nodeId)}</td>
                    <td>{CHANNEL_NAMES[m.channel] ?? m.channel}</td>
                    <td>{MESSAGE_STATUS_LABELS[m.status] ?? m.status}</td>
                    <td>{m.reason ?? (m.sentAt ? `Sent ${formatTime(m.sentAt)}` : "")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            pages={pages}
            nextCursor={messages.data.nextCursor}
            label="Pages of messages"
            labels={["Newer", "Older"]}
          />
        </>
      ) : null}
    </section>
  );
}
