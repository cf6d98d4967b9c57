/** Reports: every launched campaign with its headline figures, each linking to its full report. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { type Campaign, campaignApi, isLive } from "../components/campaign/campaignApi.ts";
import { StatusBadge } from "../components/campaign/StatusBadge.tsx";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import "../styles/campaigns.css";

const HEADLINES = [
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["opened", "Opened"],
  ["clicked", "Clicked"],
  ["converted", "Converted"],
] as const;

export default function Reports() {
  const pages = useCursorPages();
  const { cursor } = pages;
  const campaigns = useQuery({
    queryKey: ["campaigns", "page", cursor],
    queryFn: () => campaignApi.list(cursor, 25),
  });
  const launched = campaigns.data?.data.filter((c) => c.status !== "draft") ?? [];
  const none = campaigns.data && launched.length === 0 && pages.page === 1 && !campaigns.data.nextCursor;
  return (
    <div className="page reports-page">
      <header className="page-header">
        <div>
          <h1>Reports</h1>
          <p className="muted">
            How each campaign is doing: what was sent, delivered, opened, clicked and converted. Opens and
            clicks count people, not security scanners or privacy proxies.
          </p>
        </div>
      </header>
      {campaigns.isPending ? <Loading label="Loading campaigns" /> : null}
      {campaigns.error ? <PageError error={campaigns.error} /> : null}
      {none ? (
        <EmptyState title="No report yet">
          <p>
            A report starts when a campaign is launched. <Link href="/campaigns">Go to campaigns</Link> to
            launch one.
          </p>
        </EmptyState>
      ) : null}
      {campaigns.data && !none ? (
        <>
          {launched.length === 0 ? (
            <p className="muted">No launched campaign on this page; try the next one.</p>
          ) : (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Launched campaigns and their headline figures</caption>
                <thead>
                  <tr>
                    <th scope="col">Campaign</th>
                    <th scope="col">Status</th>
                    {HEADLINES.map(([key, label]) => (
                      <th key={key} scope="col" className="num">
                        {label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {launched.map((c) => (
                    <ReportRow key={c.id} campaign={c} />
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

function ReportRow({ campaign }: { campaign: Campaign }) {
  const report = useQuery({
    queryKey: ["report", campaign.id],
    queryFn: () => campaignApi.report(campaign.id),
    refetchInterval: isLive(campaign.status) ? 10_000 : false,
  });
  return (
    <tr>
      <th scope="row">
        <Link href={`/reports/${campaign.id}`}>{campaign.name}</Link>
      </th>
      <td>
        <StatusBadge status={campaign.status} />
      </td>
      {HEADLINES.map(([key]) => (
        <td key={key} className="num">
          {report.data ? report.data.totals[key].toLocaleString() : report.error ? "—" : "…"}
        </td>
      ))}
    </tr>
  );
}
