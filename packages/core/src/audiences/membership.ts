/**
 * Event-driven membership of listened-to segments. When a contact changes or an event arrives, a job
 * re-evaluates just those contacts against the workspace's listened segments and records who entered
 * and who left. An hourly job re-checks every listened segment in full, for rules relative to time
 * ("more than 90 days ago") that change without any event. None of this runs in a request. Contacts who
 * enter an audience that a running continuous campaign enters from are queued to enter it (entry.ts).
 */
import type { Rule } from "@omneural/contracts/audiences";
import { type RawBuilder, sql } from "kysely";
import { queueJoinedEntries } from "../campaigns/campaign.repository.ts";
import type { Db, Executor } from "../db/database.ts";
import type { AudienceRow } from "../db/schema.ts";
import { listListenedSegments, updateAudience } from "./audience.repository.ts";
import { compileForWorkspace } from "./audience.service.ts";

export const MEMBERSHIP_JOB = "audience_membership";
export const REFRESH_AUDIENCES_JOB = "refresh_listened_audiences";

export interface TransitionCounts {
  entered: number;
  left: number;
}

/**
 * Diffs `audience_members` of `segments` against their current members, in one statement, and logs
 * each entry and exit. With `contactIds`, only those contacts are evaluated and diffed.
 */
async function applyMembership(
  db: Executor,
  workspaceId: string,
  segments: AudienceRow[],
  cause: string,
  now: Date,
  contactIds?: string[],
): Promise<TransitionCounts> {
  const onlyContacts = contactIds ? sql`and c.id = any(${contactIds}::uuid[])` : sql``;
  const onlyMembers = contactIds ? sql`and m.contact_id = any(${contactIds}::uuid[])` : sql``;
  const branches: RawBuilder<unknown>[] = await Promise.all(
    segments.map(async (segment) => {
      const where = await compileForWorkspace(
        db,
        workspaceId,
        segment.definition as Rule,
        now,
        new Map(),
        contactIds,
      );
      return sql`select ${segment.id}::uuid as audience_id, c.id from contacts c
        where c.workspace_id = ${workspaceId} ${onlyContacts} and ${where}`;
    }),
  );
  const { rows } = await sql<
    TransitionCounts & { joined: { audienceId: string; transitionId: number; contactId: string }[] }
  >`
    with current_members as materialized (${sql.join(branches, sql` union all `)}),
    entered as (
      insert into audience_members (workspace_id, audience_id, contact_id, entered_at)
      select ${workspaceId}, audience_id, id, ${now} from current_members
      on conflict do nothing
      returning audience_id, contact_id
    ),
    departed as (
      delete from audience_members m
      where m.workspace_id = ${workspaceId} and m.audience_id = any(${segments.map((s) => s.id)}::uuid[]) ${onlyMembers}
        and not exists (select 1 from current_members cm where cm.audience_id = m.audience_id and cm.id = m.contact_id)
      returning m.audience_id, m.contact_id
    ),
    log_entered as (
      insert into audience_transitions (workspace_id, audience_id, contact_id, transition, cause, at)
      select ${workspaceId}, audience_id, contact_id, 'entered', ${cause}, ${now} from entered
      returning id, audience_id, contact_id
    ),
    log_departed as (
      insert into audience_transitions (workspace_id, audience_id, contact_id, transition, cause, at)
      select ${workspaceId}, audience_id, contact_id, 'left', ${cause}, ${now} from departed
    )
    select (select count(*) from entered)::int as entered, (select count(*) from departed)::int as left,
      -- Entries into audiences a running continuous campaign enters from: those contacts enter it.
      (select coalesce(json_agg(json_build_object('audienceId', l.audience_id, 'transitionId', l.id,
                                                  'contactId', l.contact_id)), '[]'::json)
       from log_entered l
       where exists (select 1 from campaigns c
                     where c.workspace_id = ${workspaceId} and c.audience_id = l.audience_id
                       and c.entry_mode = 'continuous' and c.status = 'running')) as joined`.execute(db);
  const { joined = [], ...counts } = rows[0] ?? { entered: 0, left: 0 };
  await queueJoinedEntries(db, workspaceId, joined);
  return counts;
}

/** Re-evaluates a whole listened segment (on listening start, definition change, and hourly). */
export async function refreshAudienceMembership(
  db: Db,
  audience: AudienceRow,
  cause: string,
  now = new Date(),
) {
  return db.transaction().execute(async (trx) => {
    // One refresh of a segment at a time, so two workers never log the same transition.
    await sql`select pg_advisory_xact_lock(hashtext(${audience.id}))`.execute(trx);
    return applyMembership(trx, audience.workspace_id, [audience], cause, now);
  });
}

/**
 * Starts listening to a segment inside the caller's transaction (a continuous campaign's launch): its
 * current members are recorded now, so that only contacts who enter it later are logged as entering.
 */
export async function listenInTransaction(trx: Executor, audience: AudienceRow, now: Date) {
  await updateAudience(trx, audience.workspace_id, audience.id, { listened: true });
  await sql`select pg_advisory_xact_lock(hashtext(${audience.id}))`.execute(trx);
  return applyMembership(trx, audience.workspace_id, [audience], "listening started", now);
}

/**
 * Re-evaluates the given contacts against every listened segment of their workspace, in one statement:
 * the predicates are restricted to these contacts (event subqueries included), so the cost follows the
 * number of contacts and segments, not the size of the workspace.
 */
export async function reevaluateContacts(
  db: Db,
  workspaceId: string,
  contactIds: string[],
  cause: string,
  now = new Date(),
): Promise<TransitionCounts> {
  const segments = await listListenedSegments(db, workspaceId);
  if (!segments.length || !contactIds.length) return { entered: 0, left: 0 };
  const ids = [...new Set(contactIds)].sort();
  return db.transaction().execute(async (trx) => {
    // Serialise re-checks of the same contacts (in a fixed order, so two batches cannot deadlock).
    await sql`select pg_advisory_xact_lock(hashtext(id)) from unnest(${ids}::text[]) as id order by id`.execute(
      trx,
    );
    return applyMembership(trx, workspaceId, segments, cause, now, ids);
  });
}

/**
 * Queues a membership check for changed contacts, in the caller's transaction, when the workspace
 * listens to any segment (otherwise there is nothing to do and no job is made).
 */
export async function queueMembershipCheck(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
  cause: string,
) {
  if (!contactIds.length) return;
  await sql`
    select omneural_add_job(${MEMBERSHIP_JOB},
      json_build_object('workspaceId', ${workspaceId}::text, 'contactIds', ${JSON.stringify(contactIds)}::json, 'cause', ${cause}::text),
      max_attempts := 10)
    where exists (select 1 from audiences where workspace_id = ${workspaceId} and listened and kind = 'segment')`.execute(
    db,
  );
}

/** The hourly re-check of every listened segment of every workspace. */
export async function refreshAllListenedAudiences(db: Db, now = new Date()) {
  const segments = await listListenedSegments(db);
  for (const segment of segments) await refreshAudienceMembership(db, segment, "scheduled re-check", now);
  return segments.length;
}
