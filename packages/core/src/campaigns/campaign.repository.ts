/** SQL for campaigns and their enrollments (the campaign core: launch, pause, resume, cancel, retry). */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { CampaignRow, EnrollmentRow } from "../db/schema.ts";
import { holdoutSql } from "./holdout.ts";
import { type CampaignSettings, DEFAULT_SETTINGS, settingsColumns } from "./settings.ts";

export async function insertCampaign(
  db: Executor,
  row: {
    workspaceId: string;
    id: string;
    name: string;
    audienceId: string;
    workflowId: string;
    workflowVersion: number;
    wakeEventTypes: string[];
    topicId?: string | null;
    startAt?: Date | null;
    startLocal?: { date: string; time: string } | null;
    endAt?: Date | null;
    settings?: CampaignSettings;
  },
): Promise<CampaignRow> {
  return db
    .insertInto("campaigns")
    .values({
      workspace_id: row.workspaceId,
      id: row.id,
      name: row.name,
      audience_id: row.audienceId,
      workflow_id: row.workflowId,
      workflow_version: row.workflowVersion,
      wake_event_types: row.wakeEventTypes,
      topic_id: row.topicId ?? null,
      start_at: row.startAt ?? null,
      start_local_date: row.startLocal?.date ?? null,
      start_local_time: row.startLocal?.time ?? null,
      end_at: row.endAt ?? null,
      ...settingsColumns(row.settings ?? DEFAULT_SETTINGS),
      launched_at: null,
      finished_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findCampaign(db: Executor, workspaceId: string, id: string, forUpdate = false) {
  let query = db
    .selectFrom("campaigns")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function findCampaignByName(db: Executor, workspaceId: string, name: string) {
  return db
    .selectFrom("campaigns")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
    .executeTakeFirst();
}

export async function listCampaigns(db: Executor, workspaceId: string, limit: number, afterId?: string) {
  let query = db.selectFrom("campaigns").selectAll().where("workspace_id", "=", workspaceId);
  if (afterId) query = query.where("id", "<", afterId);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function setCampaignStatus(
  db: Executor,
  workspaceId: string,
  id: string,
  status: string,
  now: Date,
  extra: { launchedAt?: Date; finishedAt?: Date | null; enrolledDelta?: number } = {},
): Promise<CampaignRow> {
  const { rows } = await sql<CampaignRow>`
    update campaigns set status = ${status}, updated_at = ${now},
      launched_at = coalesce(${extra.launchedAt ?? null}::timestamptz, launched_at),
      finished_at = ${extra.finishedAt === undefined ? sql`finished_at` : extra.finishedAt},
      enrolled = enrolled + ${extra.enrolledDelta ?? 0}
    where workspace_id = ${workspaceId} and id = ${id}
    returning *`.execute(db);
  return rows[0]!;
}

/**
 * Enrolls every contact the predicate selects, in one INSERT … SELECT, in contact id order so the
 * primary key is appended to rather than split all over. Only for a campaign with no enrollment yet (a
 * draft, locked by the caller): there is nothing to conflict with.
 *
 * Each member is due now, or with `startLocal` at that wall-clock time in their own timezone (the
 * contact's when PostgreSQL knows it, else the workspace's default). `(date + time) AT TIME ZONE tz`
 * applies the zone's rules on that date, DST included: a local time that does not exist (the
 * spring-forward gap, 02:30 on 2027-03-14 in New York) is read with the offset before the change, i.e.
 * an hour later on the clock (03:30 EDT); one that happens twice (01:30 on 2027-11-07) is read as the
 * second, standard-time occurrence (01:30 EST).
 */
export async function enrollWhere(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  entryNodeId: string,
  where: RawBuilder<boolean>,
  now: Date,
  startLocal: { date: string; time: string } | null = null,
  holdoutPercent = 0,
): Promise<number> {
  const dueAt = startLocal
    ? sql`(${startLocal.date}::date + ${startLocal.time}::time) at time zone coalesce(z.name, w.default_timezone)`
    : sql`${now}::timestamptz`;
  const result = await sql`
    insert into enrollments (workspace_id, campaign_id, contact_id, node_id, state, due_at, enrolled_at,
                             node_entered_at, updated_at, holdout)
    select ${workspaceId}, ${campaignId}, c.id, ${entryNodeId}, 'active', ${dueAt}, ${now}, ${now}, ${now},
           ${holdoutSql(campaignId, sql`c.id`, holdoutPercent)}
    from contacts c
    ${
      startLocal
        ? sql`join workspaces w on w.id = c.workspace_id left join pg_timezone_names z on z.name = c.timezone`
        : sql``
    }
    where c.workspace_id = ${workspaceId} and ${where}
    order by c.id`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export async function enrollContact(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  contactId: string,
  entryNodeId: string,
  now: Date,
  holdoutPercent = 0,
): Promise<boolean> {
  const result = await sql`
    insert into enrollments (workspace_id, campaign_id, contact_id, node_id, state, due_at, enrolled_at,
                             node_entered_at, updated_at, holdout)
    values (${workspaceId}, ${campaignId}, ${contactId}, ${entryNodeId}, 'active', ${now}, ${now}, ${now}, ${now},
            ${holdoutSql(campaignId, sql`${contactId}::uuid`, holdoutPercent)})
    on conflict do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/**
 * Cancel: every member still in the campaign leaves, and sends not yet dispatched are dropped. With a
 * `reason` (the campaign ended), each member's history gets a step saying so and the dropped sends carry
 * it; without one (cancel), the member's journey shows the campaign's cancellation.
 */
export async function cancelEnrollments(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  reason?: string,
) {
  let exited: number;
  if (reason) {
    const { rows } = await sql<{ n: number }>`
      with ended as (
        update enrollments set state = 'cancelled', due_at = null, seq = seq + 1, updated_at = ${now}
        where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and state in ('active', 'failed')
        returning contact_id, node_id, seq
      ), logged as (
        insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
        select ${workspaceId}, ${campaignId}, contact_id, seq, ${now}, 'scheduler',
               jsonb_build_array(jsonb_build_object('at', ${now.toISOString()}::text, 'nodeId', node_id,
                 'nodeType', '', 'action', 'cancelled', 'reason', ${reason}::text))
        from ended
        returning 1
      )
      select count(*)::int as n from logged`.execute(db);
    exited = rows[0]?.n ?? 0;
  } else {
    const result = await sql`
      update enrollments set state = 'cancelled', due_at = null, updated_at = ${now}
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and state in ('active', 'failed')`.execute(
      db,
    );
    exited = Number(result.numAffectedRows ?? 0);
  }
  await sql`
    update messages set status = 'cancelled', reason = coalesce(${reason ?? null}::text, reason)
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and status = 'queued'`.execute(db);
  return exited;
}

/** Campaigns whose `end_at` has passed and that have not finished, oldest end first. */
export async function listCampaignsDueToEnd(db: Executor, now: Date, limit: number) {
  const { rows } = await sql<{ workspace_id: string; id: string }>`
    select workspace_id, id from campaigns
    where end_at <= ${now} and status in ('scheduled', 'running', 'paused')
    order by end_at limit ${limit}`.execute(db);
  return rows;
}

/** Scheduled campaigns whose `start_at` has come (and whose end has not), earliest first. */
export async function listCampaignsDueToStart(db: Executor, now: Date, limit: number) {
  const { rows } = await sql<{ workspace_id: string; id: string }>`
    select workspace_id, id from campaigns
    where status = 'scheduled' and start_at <= ${now} and (end_at is null or end_at > ${now})
    order by start_at limit ${limit}`.execute(db);
  return rows;
}

/**
 * Retry: failed members become due now at the node where they failed, and each gets a history row
 * saying so. With a contact id, only that member.
 */
export async function retryFailedEnrollments(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  contactId?: string,
  actor = "api",
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with retried as (
      update enrollments set state = 'active', due_at = ${now}, error = null, seq = seq + 1, updated_at = ${now}
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and state = 'failed'
        ${contactId ? sql`and contact_id = ${contactId}` : sql``}
      returning contact_id, node_id, seq
    ), logged as (
      insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
      select ${workspaceId}, ${campaignId}, contact_id, seq, ${now}, ${actor},
             jsonb_build_array(jsonb_build_object('at', ${now.toISOString()}::text, 'nodeId', node_id, 'nodeType', '',
               'action', 'retried', 'reason', 'retry requested: resumes at the node where it failed'))
      from retried
      returning 1
    )
    select count(*)::int as n from logged`.execute(db);
  return rows[0]?.n ?? 0;
}

export async function countsByNodeAndState(db: Executor, workspaceId: string, campaignId: string) {
  const { rows } = await sql<{ node_id: string; state: string; count: number }>`
    select node_id, state, count(*)::int as count from enrollments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
    group by node_id, state order by node_id, state`.execute(db);
  return rows;
}

export async function findEnrollment(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  contactId: string,
): Promise<EnrollmentRow | undefined> {
  return db
    .selectFrom("enrollments")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("campaign_id", "=", campaignId)
    .where("contact_id", "=", contactId)
    .executeTakeFirst();
}

export async function listEnrollmentSteps(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  contactId: string,
  limit = 500,
) {
  return db
    .selectFrom("enrollment_steps")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("campaign_id", "=", campaignId)
    .where("contact_id", "=", contactId)
    .orderBy("seq")
    .limit(limit)
    .execute();
}

export async function listEnrollmentMessages(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  contactId: string,
) {
  return db
    .selectFrom("messages")
    .select(LEDGER_COLUMNS)
    .where("workspace_id", "=", workspaceId)
    .where("campaign_id", "=", campaignId)
    .where("contact_id", "=", contactId)
    .orderBy("queued_at")
    .limit(500)
    .execute();
}

const LEDGER_COLUMNS = [
  "id",
  "idempotency_key",
  "contact_id",
  "node_id",
  "channel",
  "template_id",
  "status",
  "reason",
  "attempts",
  "provider",
  "provider_message_id",
  "queued_at",
  "next_attempt_at",
  "sent_at",
] as const;

/** A campaign's ledger rows, newest first (keyset by id), optionally of one status, channel or node. */
export async function listCampaignMessages(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  filter: { status?: string; channel?: string; nodeId?: string },
  limit: number,
  afterId?: string,
) {
  let query = db
    .selectFrom("messages")
    .select(LEDGER_COLUMNS)
    .where("workspace_id", "=", workspaceId)
    .where("campaign_id", "=", campaignId);
  if (filter.status) query = query.where("status", "=", filter.status);
  if (filter.channel) query = query.where("channel", "=", filter.channel);
  if (filter.nodeId) query = query.where("node_id", "=", filter.nodeId);
  if (afterId) query = query.where("id", "<", afterId);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function countMessagesByChannelAndStatus(db: Executor, workspaceId: string, campaignId: string) {
  return db
    .selectFrom("messages")
    .select(["channel", "status", (eb) => eb.fn.countAll<number>().as("count")])
    .where("workspace_id", "=", workspaceId)
    .where("campaign_id", "=", campaignId)
    .groupBy(["channel", "status"])
    .execute();
}

export async function analyzeEnrollments(db: Executor) {
  await sql`analyze enrollments`.execute(db);
}
