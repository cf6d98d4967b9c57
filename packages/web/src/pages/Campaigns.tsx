/** Campaigns: every campaign with its status, audience and live progress; a new one starts the wizard. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import {
  allPages,
  type Campaign,
  type CampaignStatus,
  campaignApi,
  isLive,
  STATUS_LABELS,
} from "../components/campaign/campaignApi.ts";
import { StatusBadge } from "../components/campaign/StatusBadge.tsx";
import { SelectField } from "../components/Field.tsx";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import { can, useSession } from "../session.ts";
import "../styles/campaigns.css";

/** The status filter's choices: one status, or a group of them, each asked of the server. */
const STATUS_FILTERS: Record<string, { label: string; statuses: CampaignStatus[] }> = {
  "": { label: "All statuses", statuses: [] },
  live: {
    label: "Not finished (scheduled, running or paused)",
    statuses: ["scheduled", "running", "paused"],
  },
  finished: { label: "Finished (completed or cancelled)", statuses: ["completed", "cancelled"] },
  ...Object.fromEntries(
    Object.entries(STATUS_LABELS).map(([value, label]) => [
      value,
      { label, statuses: [value as CampaignStatus] },
    ]),
  ),
};

export default function Campaigns() {
  const session = useSession();
  const writer = can(session.role, "write");
  const [status, setStatus] = useState("");
  const statuses = STATUS_FILTERS[status]?.statuses ?? [];
  const pages = useCursorPages();
  const { cursor } = pages;
  const campaigns = useQuery({
    queryKey: ["campaigns", "page", status, cursor],
    queryFn: () => campaignApi.list(cursor, 25, statuses),
    refetchInterval: (query) => (query.state.data?.data.some((c) => isLive(c.status)) ? 5000 : false),
  });
  const audiences = useQuery({
    queryKey: ["audiences", "all"],
    queryFn: () => allPages(campaignApi.audiences),
  });
  const workflows = useQuery({
    queryKey: ["workflows", "all"],
    queryFn: () => allPages(campaignApi.workflows),
  });
  const audienceName = new Map(audiences.data?.map((a) => [a.id, a.name]));
  const rows = campaigns.data?.data ?? [];
  const none = !status && campaigns.data && campaigns.data.data.length === 0 && pages.page === 1;
  return (
    <div className="page campaigns-page">
      <header className="page-header">
        <div>
          <h1>Campaigns</h1>
          <p className="muted">
            A campaign sends one workflow to one audience. Launch it and watch members move through each step.
          </p>
        </div>
        {writer ? (
          <Link href="/campaigns/new" className="button primary">
            New campaign
          </Link>
        ) : null}
      </header>
      {!none ? (
        <div className="filters">
          <SelectField
            label="Status"
            value={status}
            onChange={(value) => {
              setStatus(value);
              pages.reset();
            }}
            options={Object.entries(STATUS_FILTERS).map(([value, { label }]) => ({ value, label }))}
          />
        </div>
      ) : null}
      {campaigns.isPending ? <Loading label="Loading campaigns" /> : null}
      {campaigns.error ? <PageError error={campaigns.error} /> : null}
      {none ? (
        <FirstCampaign
          writer={writer}
          audiences={audiences.data?.length ?? 0}
          workflows={workflows.data?.filter((w) => w.latestVersion !== null).length ?? 0}
        />
      ) : null}
      {campaigns.data && !none ? (
        <>
          {rows.length === 0 ? (
            <p className="muted" role="status">
              {status
                ? `No campaign matches “${STATUS_FILTERS[status]?.label ?? status}”. Choose “All statuses” to see every campaign.`
                : "No campaign on this page."}
            </p>
          ) : (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Campaigns, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Campaign</th>
                    <th scope="col">Status</th>
                    <th scope="col">Audience</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((campaign) => (
                    <CampaignRow
                      key={campaign.id}
                      campaign={campaign}
                      audience={audienceName.get(campaign.audienceId)}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager pages={pages} nextCursor={campaigns.data.nextCursor} label="Pages of campaigns" />
        </>
      ) : null}
    </div>
  );
}

function CampaignRow({ campaign, audience }: { campaign: Campaign; audience: string | undefined }) {
  const detail = useQuery({
    queryKey: ["campaign", campaign.id],
    queryFn: () => campaignApi.get(campaign.id),
    enabled: campaign.status !== "draft",
    refetchInterval: isLive(campaign.status) ? 3000 : false,
  });
  const byState = detail.data?.counts.byState ?? {};
  const total = Object.values(byState).reduce((sum, n) => sum + n, 0);
  const finished = total - (byState.active ?? 0);
  const failed = byState.failed ?? 0;
  const completed = (byState.completed ?? 0) + (byState.converted ?? 0);
  return (
    <tr>
      <th scope="row">
        <Link href={`/campaigns/${campaign.id}`}>{campaign.name}</Link>
      </th>
      <td>
        <StatusBadge status={campaign.status} />
      </td>
      <td>{audience ?? <span className="muted">—</span>}</td>
      <td>
        {campaign.status === "draft" ? (
          <span className="muted">Not launched yet</span>
        ) : (
          <div className="progress-cell">
            <progress
              max={Math.max(total, 1)}
              value={finished}
              aria-label={`${campaign.name}: ${finished} of ${total} members finished`}
            />
            <span className="muted small">
              {total.toLocaleString()} enrolled · {(byState.active ?? 0).toLocaleString()} in progress ·{" "}
              {completed.toLocaleString()} completed
              {failed ? ` · ${failed.toLocaleString()} failed` : ""}
            </span>
          </div>
        )}
      </td>
      <td>{new Date(campaign.createdAt).toLocaleDateString()}</td>
    </tr>
  );
}

function FirstCampaign({
  writer,
  audiences,
  workflows,
}: {
  writer: boolean;
  audiences: number;
  workflows: number;
}) {
  return (
    <EmptyState title="No campaigns yet">
      <p>A campaign needs two things first: who it is for, and what happens to them.</p>
      <ol className="steps">
        <li className={audiences > 0 ? "step done" : "step"}>
          <div>
            <h3>An audience</h3>
            <p className="muted">
              {audiences > 0
                ? `You have ${audiences} audience${audiences === 1 ? "" : "s"}.`
                : "A segment by rules or a list of contacts."}
            </p>
          </div>
          <Link href="/audiences">Go to audiences</Link>
        </li>
        <li className={workflows > 0 ? "step done" : "step"}>
          <div>
            <h3>A published workflow</h3>
            <p className="muted">
              {workflows > 0
                ? `You have ${workflows} published workflow${workflows === 1 ? "" : "s"}.`
                : "The steps members go through: messages, waits and conditions. Publish it to use it."}
            </p>
          </div>
          <Link href="/workflows">Go to workflows</Link>
        </li>
        <li className="step">
          <div>
            <h3>The campaign</h3>
            <p className="muted">
              {writer
                ? "Put them together, choose when it starts, and launch."
                : "Your role is Viewer: a marketer or an admin creates and launches campaigns."}
            </p>
          </div>
          {writer && audiences > 0 && workflows > 0 ? (
            <Link href="/campaigns/new" className="button primary">
              New campaign
            </Link>
          ) : null}
        </li>
      </ol>
    </EmptyState>
  );
}
