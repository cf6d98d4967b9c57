/**
 * SQL of duplicate finding and merging. Every statement is set-based and bounded by the workspace; the
 * keys and indexes are in migration 000023.
 */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { ContactRow } from "../db/schema.ts";
import { type DuplicateReason, emptyCounts, MAX_DUPLICATES_PER_MERGE, type MergeCounts } from "./merge.ts";

export interface DuplicateGroupRow {
  key: string;
  /** Contacts in the group. */
  size: number;
  /** The first MAX_DUPLICATES_PER_MERGE + 1 of them, oldest first. */
  ids: string[];
  /** How many different external ids the group's contacts have. */
  external_ids: number;
}

const SHOWN = MAX_DUPLICATES_PER_MERGE + 1;

/**
 * Groups of a reason whose key comes after `afterKey`, in key order. Email and phone: a contact whose
 * address is its own key is only found through another contact's key (the unique index on email or phone
 * finds it), so the scan runs over the few contacts whose key differs (a partial index). Name and
 * address: a grouped scan of its expression index, stopping after `limit` groups.
 */
export async function findDuplicateGroups(
  db: Executor,
  workspaceId: string,
  reason: DuplicateReason,
  afterKey: string,
  limit: number,
): Promise<DuplicateGroupRow[]> {
  if (reason === "name_and_address") {
    const key = sql`omneural_name_address_key(first_name, last_name, address_line1, postal_code)`;
    const { rows } = await sql<DuplicateGroupRow>`
      select ${key} as key, count(*)::int as size,
             (array_agg(id order by created_at, id))[1:${SHOWN}]::text[] as ids,
             count(distinct external_id)::int as external_ids
      from contacts
      where workspace_id = ${workspaceId}
        and first_name is not null and last_name is not null and address_line1 is not null and postal_code is not null
        and ${key} > ${afterKey}
      group by 1 having count(*) > 1
      order by 1 limit ${limit}`.execute(db);
    return rows;
  }
  // The column, its key, and the partial index's predicate: "the key is not the column itself".
  const [column, key, differs]: RawBuilder<unknown>[] =
    reason === "email"
      ? [sql`email`, sql`omneural_email_key(email)`, sql`omneural_email_key(email) <> email`]
      : [sql`phone`, sql`omneural_phone_key(phone)`, sql`phone !~ '^[+][0-9]+$'`];
  const { rows } = await sql<DuplicateGroupRow>`
    with keys as (
      select distinct ${key} as key from contacts
      where workspace_id = ${workspaceId} and ${differs} and ${key} > ${afterKey}
    )
    select keys.key, g.size, g.ids, g.external_ids from keys
    cross join lateral (
      select count(*)::int as size, (array_agg(m.id order by m.created_at, m.id))[1:${SHOWN}]::text[] as ids,
             count(distinct m.external_id)::int as external_ids
      from (
        select id, created_at, external_id from contacts
        where workspace_id = ${workspaceId} and ${column} = keys.key
        union all
        select id, created_at, external_id from contacts
        where workspace_id = ${workspaceId} and ${differs} and ${key} = keys.key
      ) m
    ) g
    where g.size > 1
    order by keys.key limit ${limit}`.execute(db);
  return rows;
}

export async function findContactsByIds(
  db: Executor,
  workspaceId: string,
  ids: string[],
): Promise<ContactRow[]> {
  if (!ids.length) return [];
  const { rows } = await sql<ContactRow>`
    select * from contacts where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(db);
  return rows;
}

/** Locks the contacts of a merge, in id order so that two merges sharing a contact cannot deadlock. */
export async function lockContacts(db: Executor, workspaceId: string, ids: string[]): Promise<ContactRow[]> {
  const { rows } = await sql<ContactRow>`
    select * from contacts where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])
    order by id for update`.execute(db);
  return rows;
}

/**
 * Reports keep the counts of the rows a merge deletes (a dropped journey was real: it ends as cancelled,
 * its conversion happened): the delete triggers of 000022 read this transaction-local setting.
 */
export async function keepReportCounts(db: Executor) {
  await sql`select set_config('omneural.keep_report_counts', 'on', true)`.execute(db);
}

/** The duplicates give up their unique identifiers first, so that the survivor can take them. */
export async function clearIdentifiers(db: Executor, workspaceId: string, ids: string[]) {
  await sql`
    update contacts set external_id = null, email = null, phone = null
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(db);
}

export async function deleteContacts(db: Executor, workspaceId: string, ids: string[]) {
  await sql`delete from contacts where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(
    db,
  );
}

const count = (result: { numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0);

interface Journeys {
  /** Campaigns where a duplicate's enrollment moves to the survivor, and whose. */
  kept: { campaignId: string; contactId: string }[];
  /** Campaigns where a duplicate's enrollment is dropped: the survivor (or another duplicate) has one. */
  dropped: { campaignId: string; contactId: string }[];
}

/**
 * Which duplicates' enrollments move and which are dropped: in a campaign the survivor is in, the
 * survivor's enrollment stays and every duplicate's is dropped; in one only duplicates are in, the
 * earliest enrolled moves (ties: the first in `duplicateIds`) and the others are dropped. Enrollments have
 * no index by contact: they are reached through the workspace's campaigns, as erasure does.
 */
async function decideJourneys(
  db: Executor,
  workspaceId: string,
  survivorId: string,
  duplicateIds: string[],
): Promise<Journeys> {
  const { rows } = await sql<{ campaign_id: string; contact_id: string; keep: boolean }>`
    select e.campaign_id, e.contact_id,
           row_number() over (partition by e.campaign_id
                              order by e.enrolled_at, array_position(${duplicateIds}::uuid[], e.contact_id)) = 1
           and not exists (select 1 from enrollments s
                           where s.workspace_id = e.workspace_id and s.campaign_id = e.campaign_id
                             and s.contact_id = ${survivorId}) as keep
    from campaigns c
    join enrollments e on e.workspace_id = c.workspace_id and e.campaign_id = c.id
    where c.workspace_id = ${workspaceId} and e.contact_id = any(${duplicateIds}::uuid[])`.execute(db);
  const pick = (keep: boolean) =>
    rows.filter((r) => r.keep === keep).map((r) => ({ campaignId: r.campaign_id, contactId: r.contact_id }));
  return { kept: pick(true), dropped: pick(false) };
}

/** `(campaign_id, contact_id) in (…)` for a list of pairs. */
function inPairs(pairs: { campaignId: string; contactId: string }[]) {
  return sql`(campaign_id, contact_id) in (
    select * from unnest(${pairs.map((p) => p.campaignId)}::uuid[], ${pairs.map((p) => p.contactId)}::uuid[]))`;
}

/**
 * Tables keyed by campaign first, without an index by contact, are reached through the workspace's
 * (few) campaigns, so that the primary key finds a contact's rows.
 */
function reachedByCampaign(table: string, workspaceId: string, alias: string) {
  return table === "campaign_conversions"
    ? sql`and ${sql.raw(alias)}.campaign_id in (select id from campaigns where workspace_id = ${workspaceId})`
    : sql``;
}

/**
 * Rows of a table keyed by (…, contact_id) where the survivor may already have one for the same key: each
 * key the survivor lacks takes one duplicate's row (the first by `order`); the other duplicates' rows
 * stay behind, to go with their contact. Returns how many moved.
 */
async function moveKeyedRows(
  db: Executor,
  workspaceId: string,
  survivorId: string,
  duplicateIds: string[],
  table: string,
  keys: string[],
  order: string,
): Promise<number> {
  const t = sql.table(table);
  const scope = reachedByCampaign(table, workspaceId, "d");
  const keyList = sql.raw(keys.join(", "));
  const sameKey = sql.raw(keys.map((k) => `s.${k} = d.${k}`).join(" and "));
  const result = await sql`
    update ${t} set contact_id = ${survivorId}
    where workspace_id = ${workspaceId} and (${keyList}, contact_id) in (
      select distinct on (${keyList}) ${keyList}, contact_id from ${t} d
      where d.workspace_id = ${workspaceId} and d.contact_id = any(${duplicateIds}::uuid[]) ${scope}
        and not exists (select 1 from ${t} s
                        where s.workspace_id = d.workspace_id and ${sameKey} and s.contact_id = ${survivorId})
      order by ${keyList}, ${sql.raw(order)}, array_position(${duplicateIds}::uuid[], d.contact_id))`.execute(
    db,
  );
  return count(result);
}

async function moveAll(
  db: Executor,
  workspaceId: string,
  survivorId: string,
  duplicateIds: string[],
  table: string,
): Promise<number> {
  const result = await sql`
    update ${sql.table(table)} set contact_id = ${survivorId}
    where workspace_id = ${workspaceId} and contact_id = any(${duplicateIds}::uuid[])`.execute(db);
  return count(result);
}

/**
 * Moves everything that references the duplicates to the survivor, and drops what cannot move (a second
 * enrollment in one campaign, a second membership of one list). Run in the merge's transaction, with the
 * contacts locked, before the duplicates are deleted.
 */
export async function moveContactData(
  db: Executor,
  workspaceId: string,
  survivorId: string,
  duplicateIds: string[],
  now: Date,
): Promise<{ moved: MergeCounts; dropped: MergeCounts }> {
  const moved = emptyCounts();
  const dropped = emptyCounts();
  const ws = workspaceId;

  // Journeys first: what is dropped decides what happens to the rows that belong to a journey.
  const journeys = await decideJourneys(db, ws, survivorId, duplicateIds);
  if (journeys.dropped.length) {
    // A dropped journey ends as `cancelled` (the report counts it so, and keeps its counts when the rows
    // go: see keepReportCounts), and its sends not yet dispatched are cancelled.
    const reason = `contact merged into ${survivorId}, whose own journey in this campaign continues`;
    await sql`
      update enrollments set state = 'cancelled', due_at = null, seq = seq + 1, updated_at = ${now}
      where workspace_id = ${ws} and ${inPairs(journeys.dropped)} and state in ('active', 'failed')`.execute(
      db,
    );
    dropped.cancelledMessages = count(
      await sql`
        update messages set status = 'cancelled', reason = ${reason}
        where workspace_id = ${ws} and contact_id = any(${duplicateIds}::uuid[]) and status = 'queued'
          and ${inPairs(journeys.dropped)}`.execute(db),
    );
    for (const [table, name] of [
      ["enrollment_steps", "enrollmentSteps"],
      ["split_assignments", "splitAssignments"],
      ["campaign_conversions", "campaignConversions"],
      ["enrollments", "enrollments"],
    ] as const) {
      dropped[name] = count(
        await sql`delete from ${sql.table(table)} where workspace_id = ${ws} and ${inPairs(journeys.dropped)}`.execute(
          db,
        ),
      );
    }
  }
  if (journeys.kept.length) {
    for (const [table, name] of [
      ["enrollments", "enrollments"],
      ["enrollment_steps", "enrollmentSteps"],
    ] as const) {
      moved[name] = count(
        await sql`
          update ${sql.table(table)} set contact_id = ${survivorId}
          where workspace_id = ${ws} and ${inPairs(journeys.kept)}`.execute(db),
      );
    }
  }

  // Rows of the send ledger's side tables follow their message; the PURL row names the contact too.
  moved.purls = count(
    await sql`
      update purls p set contact_id = ${survivorId}
      where p.workspace_id = ${ws} and p.contact_id = any(${duplicateIds}::uuid[])
        and p.message_id in (select id from messages m
                             where m.workspace_id = ${ws} and m.contact_id = any(${duplicateIds}::uuid[]))`.execute(
      db,
    ),
  );
  moved.messages = await moveAll(db, ws, survivorId, duplicateIds, "messages");
  moved.events = await moveAll(db, ws, survivorId, duplicateIds, "events");
  moved.consentChanges = await moveAll(db, ws, survivorId, duplicateIds, "consent_changes");
  moved.audienceTransitions = await moveAll(db, ws, survivorId, duplicateIds, "audience_transitions");
  moved.campaignEntries = await moveAll(db, ws, survivorId, duplicateIds, "campaign_entries");

  // Memberships: one per list, audience and ad destination; the survivor's own (or the earliest) stays.
  moved.listMemberships = await moveKeyedRows(
    db,
    ws,
    survivorId,
    duplicateIds,
    "list_members",
    ["list_id"],
    "added_at",
  );
  moved.audienceMemberships = await moveKeyedRows(
    db,
    ws,
    survivorId,
    duplicateIds,
    "audience_members",
    ["audience_id"],
    "entered_at",
  );
  // A duplicate still in a destination's audience is preferred to one taken out of it.
  moved.adAudienceMemberships = await moveKeyedRows(
    db,
    ws,
    survivorId,
    duplicateIds,
    "ad_audience_members",
    ["destination_id"],
    "removed_at nulls first, added_at",
  );
  // What is left of journeys the survivor does not have (their enrollment is gone, e.g. by retention).
  moved.splitAssignments = await moveKeyedRows(
    db,
    ws,
    survivorId,
    duplicateIds,
    "split_assignments",
    ["campaign_id", "node_id", "iteration"],
    "at",
  );
  moved.campaignConversions = await moveKeyedRows(
    db,
    ws,
    survivorId,
    duplicateIds,
    "campaign_conversions",
    ["campaign_id", "iteration"],
    "converted_at",
  );
  for (const [table, name] of [
    ["list_members", "listMemberships"],
    ["audience_members", "audienceMemberships"],
    ["ad_audience_members", "adAudienceMemberships"],
    ["split_assignments", "splitAssignments"],
    ["campaign_conversions", "campaignConversions"],
  ] as const) {
    // list_members and audience_members have no foreign key to contacts: their leftovers go here.
    dropped[name] += count(
      await sql`
        delete from ${sql.table(table)} t
        where t.workspace_id = ${ws} and t.contact_id = any(${duplicateIds}::uuid[])
          ${reachedByCampaign(table, ws, "t")}`.execute(db),
    );
  }

  // Topics: an opt-out of any of them wins (a topic without a row is received).
  const { rows: topicRows } = await sql<{ changed: number }>`
    with theirs as (
      select topic_id, bool_and(subscribed) as subscribed, max(changed_at) as changed_at
      from contact_topics
      where workspace_id = ${ws} and contact_id = any(${duplicateIds}::uuid[])
      group by topic_id
    ), opted_out as (
      update contact_topics s set subscribed = false, changed_at = ${now}
      from theirs
      where s.workspace_id = ${ws} and s.contact_id = ${survivorId} and s.topic_id = theirs.topic_id
        and s.subscribed and not theirs.subscribed
      returning 1
    ), taken as (
      insert into contact_topics (workspace_id, contact_id, topic_id, subscribed, changed_at)
      select ${ws}, ${survivorId}, topic_id, subscribed, changed_at from theirs
      on conflict do nothing
      returning 1
    )
    select ((select count(*) from opted_out) + (select count(*) from taken))::int as changed`.execute(db);
  moved.topics = topicRows[0]?.changed ?? 0;

  // Reports count a response without a message once per contact, under "contact:<id>".
  const keys = duplicateIds.map((id) => `contact:${id}`);
  const survivorKey = `contact:${survivorId}`;
  moved.reportResponses = count(
    await sql`
      update report_first_responses set response_key = ${survivorKey}
      where workspace_id = ${ws} and (campaign_id, response_key, kind) in (
        select distinct on (d.campaign_id, d.kind) d.campaign_id, d.response_key, d.kind
        from campaigns c
        join report_first_responses d on d.workspace_id = c.workspace_id and d.campaign_id = c.id
        where c.workspace_id = ${ws} and d.response_key = any(${keys}::text[])
          and not exists (select 1 from report_first_responses s
                          where s.workspace_id = d.workspace_id and s.campaign_id = d.campaign_id
                            and s.kind = d.kind and s.response_key = ${survivorKey})
        order by d.campaign_id, d.kind, d.at)`.execute(db),
  );
  await sql`
    delete from report_first_responses r using campaigns c
    where c.workspace_id = ${ws} and r.workspace_id = c.workspace_id and r.campaign_id = c.id
      and r.response_key = any(${keys}::text[])`.execute(db);

  // Earlier merges into a duplicate now belong to the survivor's history.
  moved.merges = count(
    await sql`
      update contact_merges set survivor_id = ${survivorId}
      where workspace_id = ${ws} and survivor_id = any(${duplicateIds}::uuid[])`.execute(db),
  );
  return { moved, dropped };
}

export async function insertMergeLog(
  db: Executor,
  entry: {
    workspaceId: string;
    id: string;
    survivorId: string;
    duplicateIds: string[];
    cause: string;
    actor: string | null;
    summary: unknown;
    at: Date;
  },
) {
  await sql`
    insert into contact_merges (workspace_id, id, survivor_id, duplicate_ids, cause, actor, summary, merged_at)
    values (${entry.workspaceId}, ${entry.id}, ${entry.survivorId}, ${entry.duplicateIds}::uuid[], ${entry.cause},
            ${entry.actor}, ${JSON.stringify(entry.summary)}::jsonb, ${entry.at})`.execute(db);
}
