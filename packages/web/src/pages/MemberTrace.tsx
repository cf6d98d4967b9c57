/**
 * The member trace: why did or didn't this person get this campaign's messages? Their path step by step
 * with times and outcomes, each message sent or held back with its reason (consent, quiet hours,
 * frequency cap, suppression, provider answer), their responses, and their consent as it is now.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import {
  CHANNEL_NAMES,
  type ContactTrace,
  campaignApi,
  formatTime,
  MESSAGE_STATUS_LABELS,
  STATE_LABELS,
} from "../components/campaign/campaignApi.ts";
import { MemberSearch } from "../components/campaign/MemberSearch.tsx";
import { nodeName } from "../components/campaign/NodeCounts.tsx";
import { Loading, PageError } from "../components/feedback.tsx";
import "../styles/campaigns.css";

type TracedCampaign = ContactTrace["campaigns"][number];
type Enrollment = NonNullable<TracedCampaign["enrollment"]>;

const RESPONSE_LABELS: Record<string, string> = {
  "message.delivered": "Delivered",
  "message.opened": "Opened",
  "message.clicked": "Clicked",
  "message.replied": "Replied",
  "message.converted": "Converted",
  "message.unsubscribed": "Unsubscribed",
  "message.bounced": "Bounced",
  "message.complained": "Marked as spam",
};

function humanise(text: string): string {
  const words = text.replace(/[_/]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export default function MemberTrace({ params }: { params: { id: string; contactId: string } }) {
  const trace = useQuery({
    queryKey: ["trace", params.contactId, params.id],
    queryFn: () => campaignApi.trace(params.contactId, params.id),
  });
  const contact = useQuery({
    queryKey: ["contact", params.contactId],
    queryFn: () => campaignApi.contact(params.contactId),
  });
  const campaign = useQuery({
    queryKey: ["campaign", params.id],
    queryFn: () => campaignApi.get(params.id),
  });
  const c = campaign.data;
  const version = useQuery({
    queryKey: ["workflow-version", c?.workflowId, c?.workflowVersion],
    queryFn: () => campaignApi.version(c?.workflowId ?? "", c?.workflowVersion ?? 1),
    enabled: Boolean(c),
    staleTime: Number.POSITIVE_INFINITY,
  });
  if (trace.isPending) return <Loading label="Tracing this member" />;
  if (trace.error) return <PageError error={trace.error} />;
  const graph = version.data?.graph as WorkflowGraph | undefined;
  const who = contact.data
    ? [contact.data.firstName, contact.data.lastName].filter(Boolean).join(" ") ||
      contact.data.email ||
      contact.data.phone ||
      "This contact"
    : "This contact";
  const traced = trace.data.campaigns.find((x) => x.campaignId === params.id) ?? trace.data.campaigns[0];
  const campaignName = traced?.name ?? c?.name ?? "this campaign";
  const enrollment = traced?.enrollment ?? null;

  return (
    <div className="page member-trace">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/reports">Reports</Link> / <Link href={`/reports/${params.id}`}>{campaignName}</Link> /{" "}
        {who}
      </nav>
      <header className="page-header">
        <div>
          <h1>
            {who} in “{campaignName}”
          </h1>
          <p className="muted">
            {contact.data?.email ? `${contact.data.email} · ` : ""}
            <Link href={`/contacts/${params.contactId}`}>Open the contact’s profile</Link>
          </p>
        </div>
      </header>

      <Verdict enrollment={enrollment} graph={graph} />

      {enrollment ? (
        <>
          <Path enrollment={enrollment} graph={graph} />
          <Messages enrollment={enrollment} graph={graph} />
        </>
      ) : null}
      <Responses responses={traced?.responses ?? []} />
      <Consent trace={trace.data} />

      <section className="card" aria-labelledby="another-heading">
        <h2 id="another-heading">Trace someone else</h2>
        <MemberSearch campaignId={params.id} />
      </section>
    </div>
  );
}

function Verdict({ enrollment, graph }: { enrollment: Enrollment | null; graph: WorkflowGraph | undefined }) {
  if (!enrollment) {
    return (
      <section className="card verdict-card" aria-labelledby="verdict-heading">
        <h2 id="verdict-heading">Not in this campaign</h2>
        <p>
          This person never entered it. The usual reasons: they were not in the audience when it launched (or,
          for an always-on campaign, have not joined it since), they did not trigger the entry event, or they
          were archived.
        </p>
      </section>
    );
  }
  const sent = enrollment.messages.filter((m) => m.status === "sent").length;
  const notSent = enrollment.messages.filter(
    (m) => m.status === "skipped" || m.status === "failed" || m.status === "cancelled",
  ).length;
  const waiting = enrollment.messages.filter((m) => m.status === "queued" || m.status === "sending").length;
  return (
    <section className="card verdict-card" aria-labelledby="verdict-heading">
      <h2 id="verdict-heading">In short</h2>
      <dl className="figures">
        <div className="figure">
          <dt>State</dt>
          <dd className="figure-text">{STATE_LABELS[enrollment.state] ?? humanise(enrollment.state)}</dd>
        </div>
        <div className="figure">
          <dt>{enrollment.state === "active" ? "Now at" : "Ended at"}</dt>
          <dd className="figure-text">{nodeName(graph, enrollment.nodeId)}</dd>
        </div>
        <div className="figure">
          <dt>Messages sent</dt>
          <dd>{sent}</dd>
        </div>
        <div className="figure">
          <dt>Not sent</dt>
          <dd>{notSent}</dd>
        </div>
        {waiting ? (
          <div className="figure">
            <dt>Waiting to send</dt>
            <dd>{waiting}</dd>
          </div>
        ) : null}
      </dl>
      <p className="muted small">
        Entered {formatTime(enrollment.enrolledAt)}
        {enrollment.outcome ? ` · outcome: ${humanise(enrollment.outcome)}` : ""}
        {enrollment.dueAt && enrollment.state === "active"
          ? ` · next step due ${formatTime(enrollment.dueAt)}`
          : ""}
      </p>
      {enrollment.error ? <p className="field-error">Error: {enrollment.error}</p> : null}
    </section>
  );
}

function Path({ enrollment, graph }: { enrollment: Enrollment; graph: WorkflowGraph | undefined }) {
  const entries = enrollment.steps.flatMap((step) =>
    step.entries.map((entry, i) => ({ ...entry, key: `${step.seq}-${i}` })),
  );
  return (
    <section className="card" aria-labelledby="path-heading">
      <h2 id="path-heading">Their path, step by step</h2>
      {entries.length === 0 ? (
        <p className="muted">Enrolled, and waiting for the first step to run.</p>
      ) : (
        <ol className="trace-path">
          {entries.map((e) => (
            <li key={e.key} className={`trace-step trace-${e.nodeType}`}>
              <time dateTime={e.at}>{formatTime(e.at)}</time>
              <div>
                <p className="trace-step-title">
                  <strong>{nodeName(graph, e.nodeId)}</strong> · {humanise(e.action)}
                  {e.outlet ? <span className="muted"> → {humanise(e.outlet)}</span> : null}
                </p>
                <p className="muted small">{e.reason}</p>
                {e.send ? (
                  <p className="small">
                    {CHANNEL_NAMES[e.send.channel] ?? e.send.channel} message queued
                    {e.send.url ? ` to ${e.send.url}` : ""}
                  </p>
                ) : null}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Messages({ enrollment, graph }: { enrollment: Enrollment; graph: WorkflowGraph | undefined }) {
  return (
    <section className="card" aria-labelledby="trace-messages-heading">
      <h2 id="trace-messages-heading">Messages</h2>
      {enrollment.messages.length === 0 ? (
        <p className="muted">No message for this person yet: they have not reached a send step.</p>
      ) : (
        <div className="table-wrap">
          <table className="table compact">
            <caption className="visually-hidden">This member’s messages and what became of them</caption>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Channel</th>
                <th scope="col">What happened</th>
                <th scope="col">Why</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Queued</th>
                <th scope="col">Sent</th>
              </tr>
            </thead>
            <tbody>
              {enrollment.messages.map((m) => (
                <tr key={m.id}>
                  <th scope="row">{nodeName(graph, m.nodeId)}</th>
                  <td>{CHANNEL_NAMES[m.channel] ?? m.channel}</td>
                  <td>
                    <span
                      className={`badge ${m.status === "sent" ? "success" : m.status === "skipped" || m.status === "failed" ? "danger" : "neutral"}`}
                    >
                      {MESSAGE_STATUS_LABELS[m.status] ?? m.status}
                    </span>
                  </td>
                  <td>
                    {m.reason ?? (m.status === "sent" ? `Accepted by ${m.provider ?? "the provider"}` : "—")}
                  </td>
                  <td className="num">{m.attempts}</td>
                  <td>{formatTime(m.queuedAt)}</td>
                  <td>{formatTime(m.sentAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Responses({ responses }: { responses: TracedCampaign["responses"] }) {
  return (
    <section className="card" aria-labelledby="responses-heading">
      <h2 id="responses-heading">Responses</h2>
      {responses.length === 0 ? (
        <p className="muted">No open, click, reply or unsubscribe from this person for this campaign yet.</p>
      ) : (
        <ol className="timeline">
          {responses.map((r) => (
            <li key={r.id} className="timeline-item response">
              <time dateTime={r.occurredAt}>{formatTime(r.occurredAt)}</time>
              <span>
                {RESPONSE_LABELS[r.type] ?? humanise(r.type)}
                {r.properties.machine ? <span className="muted"> (by a machine, not counted)</span> : null}
                {typeof r.properties.url === "string" ? (
                  <span className="muted"> {r.properties.url}</span>
                ) : null}
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Consent({ trace }: { trace: ContactTrace }) {
  const channels = Object.entries(trace.consent);
  return (
    <section className="card" aria-labelledby="consent-heading">
      <h2 id="consent-heading">Consent and suppressions now</h2>
      {channels.length === 0 ? (
        <p className="muted">No consent recorded on any channel.</p>
      ) : (
        <dl className="details columns">
          {channels.map(([channel, status]) => (
            <div key={channel}>
              <dt>{CHANNEL_NAMES[channel] ?? channel}</dt>
              <dd>{humanise(status)}</dd>
            </div>
          ))}
        </dl>
      )}
      {trace.suppressions.length > 0 ? (
        <ul className="suppressions">
          {trace.suppressions.map((s) => (
            <li key={`${s.channel}-${s.address}`}>
              {CHANNEL_NAMES[s.channel] ?? s.channel} to <strong>{s.address}</strong> is suppressed:{" "}
              {s.reason} ({s.source}, {formatTime(s.createdAt)})
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">None of their addresses is suppressed.</p>
      )}
    </section>
  );
}
