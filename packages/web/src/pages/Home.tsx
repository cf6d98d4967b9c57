/**
 * Home: what needs attention, the workspace's campaigns with their progress and the latest responses,
 * or the first steps for a new workspace.
 */
import type { AttentionItem, Overview } from "@omneural/contracts/overview";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "wouter";
import { api, type Campaign, request } from "../api.ts";
import { Alert, EmptyState, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";

export function Home() {
  const session = useSession();
  const campaigns = useQuery({ queryKey: ["campaigns"], queryFn: () => api.campaigns() });
  const contacts = useQuery({ queryKey: ["contacts", "any"], queryFn: () => api.contacts({ limit: 1 }) });
  const overview = useQuery({
    queryKey: ["overview"],
    queryFn: () => request<Overview>("GET", "/api/v1/overview"),
    // Live while something runs: progress, new responses, a provider that starts failing.
    refetchInterval: (query) =>
      query.state.data?.campaigns.some((c) => c.status === "running") ? 5000 : 30_000,
  });

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Home</h1>
          <p className="muted">What is running in {session.workspace.name}.</p>
        </div>
      </header>
      {campaigns.isPending ? <Loading label="Loading campaigns" /> : null}
      {campaigns.error ? <PageError error={campaigns.error} /> : null}
      {campaigns.data && campaigns.data.data.length === 0 ? (
        <FirstSteps hasContacts={(contacts.data?.data.length ?? 0) > 0} />
      ) : null}
      {overview.data && overview.data.attention.length > 0 ? (
        <Attention items={overview.data.attention} />
      ) : null}
      {campaigns.data && campaigns.data.data.length > 0 ? (
        <CampaignTable campaigns={campaigns.data.data} />
      ) : null}
      {overview.data && campaigns.data && campaigns.data.data.length > 0 ? (
        <RecentResponses responses={overview.data.recentResponses} />
      ) : null}
    </div>
  );
}

function FirstSteps({ hasContacts }: { hasContacts: boolean }) {
  const session = useSession();
  const writer = can(session.role, "write");
  const steps = [
    {
      title: "Import your contacts",
      body: "Upload a CSV export from your CRM or shop. Columns are recognised, emails and phones cleaned up.",
      done: hasContacts,
      action: writer ? (
        <Link href="/contacts" className="button primary small">
          {hasContacts ? "See contacts" : "Import contacts"}
        </Link>
      ) : null,
    },
    {
      title: "Define an audience",
      body: "A segment by rules (attributes, events, consent) or a static list: who the campaign reaches.",
      done: false,
      action: writer ? (
        <Link href="/audiences" className="button secondary small">
          Audiences
        </Link>
      ) : null,
    },
    {
      title: "Design a workflow",
      body: "What happens to each member, and when: emails, texts, letters, waits and branches by response.",
      done: false,
      action: writer ? (
        <Link href="/workflows" className="button secondary small">
          Workflows
        </Link>
      ) : null,
    },
    {
      title: "Launch a campaign",
      body: "An audience plus a published workflow, with a schedule. Its progress shows up here.",
      done: false,
      action: writer ? (
        <Link href="/campaigns/new" className="button secondary small">
          New campaign
        </Link>
      ) : null,
    },
  ];
  return (
    <EmptyState title="No campaigns yet">
      <p>
        Here is how to get your first campaign going.
        {writer ? null : " Your role is Viewer: someone with a Marketer role or above does these steps."}
      </p>
      <ol className="steps">
        {steps.map((step) => (
          <li key={step.title} className={step.done ? "step done" : "step"}>
            <div>
              <h3>
                {step.title}
                {step.done ? <span className="badge success">Done</span> : null}
              </h3>
              <p className="muted">{step.body}</p>
            </div>
            {step.action}
          </li>
        ))}
      </ol>
      <p className="muted small">
        Everything here can also be done through the <a href="/api/docs">API</a>.
      </p>
    </EmptyState>
  );
}

const STATUS_TONE: Record<string, string> = {
  draft: "neutral",
  scheduled: "info",
  running: "success",
  paused: "warning",
  completed: "neutral",
  cancelled: "danger",
};

function CampaignTable({ campaigns }: { campaigns: Campaign[] }) {
  return (
    <section aria-labelledby="campaigns-heading">
      <h2 id="campaigns-heading">Campaigns</h2>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Campaign</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Members
              </th>
              <th scope="col">Progress</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {campaigns.map((campaign) => (
              <CampaignRow key={campaign.id} campaign={campaign} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function CampaignRow({ campaign }: { campaign: Campaign }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: ["campaign", campaign.id],
    queryFn: () => api.campaign(campaign.id),
    enabled: campaign.status !== "draft",
    refetchInterval: campaign.status === "running" ? 5000 : false,
  });
  const action = useMutation({
    mutationFn: (name: "launch" | "pause" | "resume") => api.campaignAction(campaign.id, name),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["campaigns"] });
      queryClient.invalidateQueries({ queryKey: ["campaign", campaign.id] });
    },
  });
  const byState = detail.data?.counts.byState ?? {};
  const total = Object.values(byState).reduce((sum, n) => sum + n, 0);
  const finished = total - (byState.active ?? 0);
  const share = total ? finished / total : 0;
  const next =
    campaign.status === "draft"
      ? ({ name: "launch", label: "Launch" } as const)
      : campaign.status === "running"
        ? ({ name: "pause", label: "Pause" } as const)
        : campaign.status === "paused"
          ? ({ name: "resume", label: "Resume" } as const)
          : null;
  const writer = can(session.role, "write");
  return (
    <tr>
      <th scope="row">
        <Link href={`/campaigns/${campaign.id}`}>{campaign.name}</Link>
      </th>
      <td>
        <span className={`badge ${STATUS_TONE[campaign.status] ?? "neutral"}`}>{campaign.status}</span>
      </td>
      <td className="num">{campaign.enrolled.toLocaleString()}</td>
      <td>
        {campaign.status === "draft" ? (
          <span className="muted">Not launched</span>
        ) : (
          <div className="progress-cell">
            <progress
              max={1}
              value={share}
              aria-label={`${campaign.name}: ${Math.round(share * 100)}% of members finished`}
            />
            <span className="muted small">
              {finished.toLocaleString()} of {total.toLocaleString()} finished
            </span>
          </div>
        )}
        {action.error ? <Alert>{messageOf(action.error)}</Alert> : null}
      </td>
      <td className="actions">
        {next ? (
          <button
            type="button"
            className="button secondary small"
            disabled={!writer || action.isPending}
            title={writer ? undefined : "Viewers cannot change campaigns"}
            aria-label={`${next.label} ${campaign.name}`}
            onClick={() => action.mutate(next.name)}
          >
            {next.label}
          </button>
        ) : null}
      </td>
    </tr>
  );
}

/** What someone should look at, most serious first, each with the page where it is fixed. */
function Attention({ items }: { items: AttentionItem[] }) {
  const sorted = [...items].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  return (
    <section aria-labelledby="attention-heading" className="attention">
      <h2 id="attention-heading">Needs attention</h2>
      <ul className="attention-list">
        {sorted.map((item) => (
          <li
            key={`${item.kind}:${item.campaignId ?? item.href}:${item.title}`}
            className={`attention-item ${item.severity}`}
          >
            <div>
              <strong>{item.title}</strong>
              <p className="muted small">{item.detail}</p>
            </div>
            <Link href={item.href} className="button secondary small">
              {item.kind === "failed_members" ? "See the campaign" : "Fix it"}
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

const RESPONSE_LABELS: Record<string, string> = {
  opened: "opened",
  clicked: "clicked",
  replied: "replied to",
  converted: "converted from",
  unsubscribed: "unsubscribed from",
  purl_visited: "visited the page of",
  bounced: "bounced on",
  complained: "complained about",
};

function RecentResponses({ responses }: { responses: Overview["recentResponses"] }) {
  return (
    <section aria-labelledby="responses-heading">
      <h2 id="responses-heading">Latest responses</h2>
      {responses.length === 0 ? (
        <p className="muted">
          No responses yet. Opens, clicks, replies and conversions appear here as members respond.
        </p>
      ) : (
        <ul className="list">
          {responses.map((r) => (
            <li key={r.id} className="list-item">
              <span>
                <Link href={`/contacts/${r.contactId}`}>{r.contactLabel}</Link>{" "}
                {RESPONSE_LABELS[r.kind] ?? r.kind}{" "}
                {r.campaignName ? (
                  <Link href={`/campaigns/${r.campaignId}`}>{r.campaignName}</Link>
                ) : (
                  `a ${r.channel ?? ""} message`
                )}
                {r.machine ? <span className="badge neutral">machine</span> : null}
              </span>
              <time className="muted small" dateTime={r.at}>
                {new Date(r.at).toLocaleString()}
              </time>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
