/** SQL for campaigns and their enrollments (the campaign core: launch, pause, resume, cancel, retry). */

import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { CampaignRow, EnrollmentRow } from "../db/schema.ts";
import { acrossWorkspaces } from "../db/tenancy.ts";
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

export async function listCampaigns(
  db: Executor,
  workspaceId: string,
  limit: number,
  afterId?: string,
  statuses?: readonly string[],
) {
  let query = db.selectFrom("campaigns").selectAll().where("workspace_id", "=", workspaceId);
  if (statuses && statuses.length > 0) query = query.where("status", "in", statuses);
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
 *
 * It records the count in the campaign's report itself: the per-row report trigger stays quiet for
 * this one statement (see 000021_reports.sql), since a grouped count is far cheaper than a million
 * trigger rows.
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
  const insert = sql`
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
    order by c.id`;
  await sql`select set_config('omneural.bulk_enrollment', 'on', true)`.execute(db);
  const segments: { holdout: boolean; n: number }[] = [];
  if (holdoutPercent > 0) {
    const { rows } = await sql<{ holdout: boolean; n: number }>`
      with enrolled as (${insert} returning holdout)
      select holdout, count(*)::int as n from enrolled group by holdout`.execute(db);
    segments.push(...rows);
  } else {
    const result = await insert.execute(db);
    segments.push({ holdout: false, n: Number(result.numAffectedRows ?? 0) });
  }
  await sql`select set_config('omneural.bulk_enrollment', '', true)`.execute(db);
  const counted = segments.filter((s) => s.n > 0);
  if (counted.length > 0) {
    await sql`
      insert into report_deltas (workspace_id, campaign_id, metric, node_id, dim, segment, bucket, count)
      select ${workspaceId}, ${campaignId}, m.metric, ${entryNodeId}, m.dim, s.segment,
             date_trunc('hour', ${now}::timestamptz, 'UTC'), s.n
      from unnest(${counted.map((s) => (s.holdout ? "holdout" : ""))}::text[], ${counted.map((s) => s.n)}::int[])
        as s(segment, n)
      cross join (values ('entered', ''), ('members', 'active')) as m(metric, dim)`.execute(db);
  }
  return segments.reduce((sum, s) => sum + s.n, 0);
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
  // The contact's addresses and name come with each row (one join, not a request per row); a left join
  // since an erased contact's ledger rows may outlive it.
  let query = db
    .selectFrom("messages as m")
    .leftJoin("contacts as c", (join) =>
      join.onRef("c.workspace_id", "=", "m.workspace_id").onRef("c.id", "=", "m.contact_id"),
    )
    .select(LEDGER_COLUMNS.map((column) => `m.${column}` as const))
    .select([
      "c.id as c_id",
      "c.email as c_email",
      "c.phone as c_phone",
      "c.first_name as c_first_name",
      "c.last_name as c_last_name",
    ])
    .where("m.workspace_id", "=", workspaceId)
    .where("m.campaign_id", "=", campaignId);
  if (filter.status) query = query.where("m.status", "=", filter.status);
  if (filter.channel) query = query.where("m.channel", "=", filter.channel);
  if (filter.nodeId) query = query.where("m.node_id", "=", filter.nodeId);
  if (afterId) query = query.where("m.id", "<", afterId);
  return query.orderBy("m.id", "desc").limit(limit).execute();
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
  // Only the owner may analyze: outside the request's workspace scope (db/tenancy.ts).
  await acrossWorkspaces(() => sql`analyze enrollments`.execute(db));
}

// Entry after launch (entry.ts): continuous and event entry, re-entry, and the entering event. ------

/** The job that enters contacts into running continuous and event campaigns (see entry.ts). */
export const CAMPAIGN_ENTRY_JOB = "campaign_entry";
const ENTRY_JOB_CHUNK = 1000;

/**
 * Queues entry for contacts who just entered audiences (audience transitions 'entered'), in the
 * caller's transaction, for the audiences a running continuous campaign enters from. The list trigger
 * of 000020_entry.sql queues the same payload for contacts added to a static list.
 */
export async function queueJoinedEntries(
  db: Executor,
  workspaceId: string,
  joined: { audienceId: string; transitionId: number; contactId: string }[],
) {
  const byAudience = new Map<string, [number, string][]>();
  for (const j of joined) {
    const list = byAudience.get(j.audienceId) ?? [];
    list.push([j.transitionId, j.contactId]);
    byAudience.set(j.audienceId, list);
  }
  const payloads: string[] = [];
  for (const [audienceId, rows] of byAudience) {
    for (let i = 0; i < rows.length; i += ENTRY_JOB_CHUNK) {
      payloads.push(JSON.stringify({ workspaceId, audienceId, joined: rows.slice(i, i + ENTRY_JOB_CHUNK) }));
    }
  }
  if (!payloads.length) return;
  await sql`
    select omneural_add_job(${CAMPAIGN_ENTRY_JOB}, p, max_attempts := 10)
    from unnest(${payloads}::json[]) as p`.execute(db);
}

/**
 * Queues entry for new events, in the caller's transaction, when a running event-entry campaign of the
 * workspace enters on their type (one indexed look-up; no job otherwise).
 */
export async function queueEventEntries(
  db: Executor,
  workspaceId: string,
  events: { id: string; type: string }[],
) {
  if (!events.length) return;
  await sql`
    select omneural_add_job(${CAMPAIGN_ENTRY_JOB},
             json_build_object('workspaceId', ${workspaceId}::text, 'events', json_agg(u.id order by u.n)),
             max_attempts := 10)
    from (
      select u.id, u.n, (row_number() over (order by u.n) - 1) / ${ENTRY_JOB_CHUNK} as chunk
      from unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.type)}::text[])
        with ordinality as u(id, type, n)
      where u.type in (select entry_event_type from campaigns
                       where workspace_id = ${workspaceId} and entry_mode = 'event' and status = 'running')
    ) u
    group by u.chunk`.execute(db);
}

/** The running continuous campaigns that enter from an audience. */
export async function listContinuousCampaigns(db: Executor, workspaceId: string, audienceId: string) {
  return db
    .selectFrom("campaigns")
    .select("id")
    .where("workspace_id", "=", workspaceId)
    .where("audience_id", "=", audienceId)
    .where("entry_mode", "=", "continuous")
    .where("status", "=", "running")
    .execute();
}

/** The running event-entry campaigns of a workspace that enter on one of these event types. */
export async function listEventCampaigns(db: Executor, workspaceId: string, types: string[]) {
  if (!types.length) return [];
  return db
    .selectFrom("campaigns")
    .select(["id", "entry_event_type", "entry_where", "launched_at"])
    .where("workspace_id", "=", workspaceId)
    .where("entry_mode", "=", "event")
    .where("status", "=", "running")
    .where("entry_event_type", "in", types)
    .execute();
}

export async function selectEventsById(db: Executor, workspaceId: string, ids: string[]) {
  if (!ids.length) return [];
  const { rows } = await sql<{
    id: string;
    contact_id: string;
    type: string;
    properties: Record<string, unknown>;
    occurred_at: Date;
  }>`
    select id, contact_id, type, properties, occurred_at from events
    where workspace_id = ${workspaceId} and id = any(${ids}::text[])
    order by occurred_at, id`.execute(db);
  return rows;
}

/** Which of these contacts the predicate (a compiled audience) selects. */
export async function selectContactsAmong(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
  where: RawBuilder<boolean>,
): Promise<Set<string>> {
  if (!contactIds.length) return new Set();
  const { rows } = await sql<{ id: string }>`
    select c.id from contacts c
    where c.workspace_id = ${workspaceId} and c.id = any(${contactIds}::uuid[]) and ${where}`.execute(db);
  return new Set(rows.map((r) => r.id));
}

/** The causes among these that already let someone into the campaign. */
export async function findEntryCauses(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  causes: string[],
): Promise<Set<string>> {
  if (!causes.length) return new Set();
  const { rows } = await sql<{ cause: string }>`
    select cause from campaign_entries
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and cause = any(${causes}::text[])`.execute(
    db,
  );
  return new Set(rows.map((r) => r.cause));
}

/**
 * These contacts' enrollments in the campaign, locked until the caller commits (in key order, so that
 * two entry jobs cannot deadlock; the stepper skips locked rows and wake-ups wait for them).
 */
export async function lockEnrollmentsOf(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  contactIds: string[],
) {
  if (!contactIds.length) return [];
  const { rows } = await sql<{ contact_id: string; state: string; enrolled_at: Date; iteration: number }>`
    select contact_id, state, enrolled_at, iteration from enrollments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
      and contact_id = any(${[...contactIds].sort()}::uuid[])
    order by contact_id
    for update`.execute(db);
  return rows;
}

/** First entries: new enrollments due now at the entry node. Returns the contacts enrolled. */
export async function insertEntrants(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  entryNodeId: string,
  entrants: { contactId: string; event: object | null }[],
  now: Date,
  holdoutPercent: number,
): Promise<Set<string>> {
  if (!entrants.length) return new Set();
  const { rows } = await sql<{ contact_id: string }>`
    insert into enrollments (workspace_id, campaign_id, contact_id, node_id, state, due_at, enrolled_at,
                             node_entered_at, updated_at, holdout, trigger_event)
    select ${workspaceId}, ${campaignId}, u.contact_id, ${entryNodeId}, 'active', ${now}, ${now}, ${now}, ${now},
           ${holdoutSql(campaignId, sql`u.contact_id`, holdoutPercent)}, u.event
    from unnest(${entrants.map((e) => e.contactId)}::uuid[],
                ${entrants.map((e) => (e.event ? JSON.stringify(e.event) : null))}::jsonb[]) as u(contact_id, event)
    order by u.contact_id
    on conflict do nothing
    returning contact_id`.execute(db);
  return new Set(rows.map((r) => r.contact_id));
}

/**
 * Re-entry: finished enrollments start again at the entry node, due now, as iteration + 1, with their
 * entering event replaced (holdout unchanged). `enrolled_at` becomes the time of this entry: goals,
 * waits and re-entry delays count from it. Each gets a history row saying so.
 */
export async function reenterEnrollments(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  entryNodeId: string,
  entrants: { contactId: string; event: object | null; reason: string }[],
  now: Date,
): Promise<{ contact_id: string; iteration: number }[]> {
  if (!entrants.length) return [];
  const { rows } = await sql<{ contact_id: string; iteration: number }>`
    with u as (
      select * from unnest(${entrants.map((e) => e.contactId)}::uuid[],
                           ${entrants.map((e) => (e.event ? JSON.stringify(e.event) : null))}::jsonb[],
                           ${entrants.map((e) => e.reason)}::text[]) as u(contact_id, event, reason)
    ), reentered as (
      update enrollments e set iteration = e.iteration + 1, node_id = ${entryNodeId}, state = 'active',
        due_at = ${now}, enrolled_at = ${now}, node_entered_at = ${now}, error = null, seq = e.seq + 1,
        trigger_event = u.event, updated_at = ${now}
      from u
      where e.workspace_id = ${workspaceId} and e.campaign_id = ${campaignId} and e.contact_id = u.contact_id
        and e.state in ('completed', 'converted', 'cancelled', 'failed')
      returning e.contact_id, e.iteration, e.seq, u.reason
    ), logged as (
      insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
      select ${workspaceId}, ${campaignId}, contact_id, seq, ${now}, 'entry',
             jsonb_build_array(jsonb_build_object('at', ${now.toISOString()}::text, 'nodeId', ${entryNodeId}::text,
               'nodeType', 'entry', 'action', 're-entered', 'reason', reason))
      from reentered
    )
    select contact_id, iteration from reentered`.execute(db);
  return rows;
}

export async function insertEntryCauses(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  entries: { cause: string; contactId: string; iteration: number }[],
  now: Date,
) {
  if (!entries.length) return;
  await sql`
    insert into campaign_entries (workspace_id, campaign_id, cause, contact_id, iteration, at)
    select ${workspaceId}, ${campaignId}, u.cause, u.contact_id, u.iteration, ${now}
    from unnest(${entries.map((e) => e.cause)}::text[], ${entries.map((e) => e.contactId)}::uuid[],
                ${entries.map((e) => e.iteration)}::int[]) as u(cause, contact_id, iteration)
    on conflict do nothing`.execute(db);
}

/** The entering event and iteration of the enrollments behind these ledger rows (those that have one). */
export async function selectTriggerEvents(
  db: Executor,
  keys: { workspaceId: string; campaignId: string; contactId: string }[],
) {
  if (!keys.length) return [];
  const { rows } = await sql<{
    workspace_id: string;
    campaign_id: string;
    contact_id: string;
    iteration: number;
    trigger_event: { properties?: Record<string, unknown> };
  }>`
    select e.workspace_id, e.campaign_id, e.contact_id, e.iteration, e.trigger_event
    from (select distinct * from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.campaignId)}::uuid[],
                                        ${keys.map((k) => k.contactId)}::uuid[]) as k(workspace_id, campaign_id, contact_id)) k
    -- Only event-entry campaigns' members have an entering event: the others cost no enrollment read.
    join campaigns c on c.workspace_id = k.workspace_id and c.id = k.campaign_id and c.entry_mode = 'event'
    join enrollments e on e.workspace_id = k.workspace_id and e.campaign_id = k.campaign_id
      and e.contact_id = k.contact_id
    where e.trigger_event is not null`.execute(db);
  return rows;
}
