/**
 * SQL of campaign reports: the summed rollup rows of one campaign (folded counts plus deltas not yet
 * folded, in one snapshot), and the fold that moves deltas into the counts.
 */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

export interface ReportRow {
  metric: string;
  node_id: string;
  channel: string;
  dim: string;
  segment: string;
  count: number;
}

export interface ReportBucketRow {
  bucket: Date;
  metric: string;
  dim: string;
  count: number;
}

/** Every (metric, node, channel, dim, segment) total of a campaign. */
export async function sumReport(db: Executor, workspaceId: string, campaignId: string): Promise<ReportRow[]> {
  const { rows } = await sql<ReportRow>`
    select metric, node_id, channel, dim, segment, sum(count)::bigint as count
    from (
      select metric, node_id, channel, dim, segment, count from report_counts
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
      union all
      select metric, node_id, channel, dim, segment, count from report_deltas
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
    ) r
    group by metric, node_id, channel, dim, segment
    having sum(count) <> 0`.execute(db);
  return rows;
}

/** The flows of a campaign per hour: entries (at `entryId`), sends, finishes and human responses. */
export async function sumReportByHour(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  entryId: string,
): Promise<ReportBucketRow[]> {
  const { rows } = await sql<ReportBucketRow>`
    select bucket, metric, dim, sum(count)::bigint as count
    from (
      select bucket, metric, dim, count from report_counts
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
        and metric in ('entered', 'sent', 'outcome', 'unique', 'messages')
        and (metric <> 'entered' or node_id = ${entryId})
      union all
      select bucket, metric, dim, count from report_deltas
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
        and metric in ('entered', 'sent', 'outcome', 'unique', 'messages')
        and (metric <> 'entered' or node_id = ${entryId})
    ) r
    group by bucket, metric, dim
    having sum(count) <> 0
    order by bucket`.execute(db);
  return rows;
}

/**
 * Folds up to `limit` deltas into the counts, in one transaction of one statement: a report reads
 * either all of it or none. Deltas locked by a concurrent fold are left to it. Returns how many moved.
 */
export async function foldReportDeltas(db: Executor, limit = 20_000): Promise<number> {
  const { rows } = await sql<{ moved: number }>`
    with taken as (
      delete from report_deltas
      where id in (select id from report_deltas order by id limit ${limit} for update skip locked)
      returning workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, count
    ), summed as (
      select workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, sum(count) as count
      from taken group by 1, 2, 3, 4, 5, 6, 7, 8
    ), folded as (
      insert into report_counts as r (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, count)
      select * from summed
      on conflict (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket)
      do update set count = r.count + excluded.count
      returning 1
    )
    select (select count(*) from taken)::int as moved, (select count(*) from folded) as _`.execute(db);
  return rows[0]?.moved ?? 0;
}
