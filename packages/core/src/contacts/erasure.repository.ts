/**
 * SQL of erasure: every statement that removes or anonymises a row naming the contacts or their
 * addresses. Each takes a set of contacts (a retention batch erases hundreds in one statement per table)
 * and tells how many rows each contact had, for the erasure log. All run in the caller's transaction
 * (erasure.service.ts), which keeps report counts (000022).
 */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";

/** Reports keep the counts of the rows this transaction deletes (see 000022_erasure.sql). */
export async function keepReportCounts(db: Executor, on: boolean) {
  await sql`select set_config('omneural.keep_report_counts', ${on ? "on" : ""}, true)`.execute(db);
}

/** Rows per contact (or per message): a key with no rows is absent. */
export type Tally = Map<string, number>;

/** Runs a DELETE or UPDATE whose RETURNING names one column `k`, and counts its rows per `k`. */
function tally(db: Executor, change: RawBuilder<unknown>): Promise<Tally> {
  return countRows(db, sql`with d as (${change}) select k::text as k, count(*)::int as n from d group by 1`);
}

async function countRows(db: Executor, query: RawBuilder<unknown>): Promise<Tally> {
  const { rows } = await sql<{ k: string; n: number }>`${query}`.execute(db);
  return new Map(rows.map((r) => [r.k, r.n]));
}

/**
 * Journeys still in progress (active, or failed and waiting for a retry) leave as `cancelled`, with a
 * history step giving `reason`, and the contacts' queued sends are cancelled with them: the reports then
 * count the members as cancelled and the sends as dropped, as they would for a campaign that ended.
 */
export async function exitEnrollments(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
  now: Date,
  reason: string,
): Promise<{ enrollments: Tally; messages: Tally }> {
  if (contactIds.length === 0) return { enrollments: new Map(), messages: new Map() };
  // Data-modifying WITHs must be at the top level: these count themselves.
  const enrollments = await countRows(
    db,
    sql`
    with ended as (
      update enrollments e set state = 'cancelled', due_at = null, seq = e.seq + 1, updated_at = ${now}
      from campaigns c
      where c.workspace_id = ${workspaceId} and e.workspace_id = c.workspace_id and e.campaign_id = c.id
        and e.contact_id = any(${contactIds}::uuid[]) and e.state in ('active', 'failed')
      returning e.campaign_id, e.contact_id, e.node_id, e.seq
    ), logged as (
      insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
      select ${workspaceId}, campaign_id, contact_id, seq, ${now}, 'erasure',
             jsonb_build_array(jsonb_build_object('at', ${now.toISOString()}::text, 'nodeId', node_id,
               'nodeType', '', 'action', 'cancelled', 'reason', ${reason}::text))
      from ended
      returning contact_id
    )
    select contact_id::text as k, count(*)::int as n from logged group by 1`,
  );
  const messages = await tally(
    db,
    sql`
    update messages set status = 'cancelled', reason = ${reason}
    where workspace_id = ${workspaceId} and contact_id = any(${contactIds}::uuid[]) and status = 'queued'
    returning contact_id as k`,
  );
  return { enrollments, messages };
}

/** The contacts' send-ledger rows: id and contact. */
export async function selectMessages(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
): Promise<{ id: string; contactId: string }[]> {
  if (contactIds.length === 0) return [];
  const { rows } = await sql<{ id: string; contact_id: string }>`
    select id, contact_id from messages
    where workspace_id = ${workspaceId} and contact_id = any(${contactIds}::uuid[])`.execute(db);
  return rows.map((r) => ({ id: r.id, contactId: r.contact_id }));
}

/** Rows of a table that hang off ledger rows (print pieces, PURLs, short links), per message. */
export async function deleteByMessages(
  db: Executor,
  table: "print_pieces" | "purls" | "short_links",
  workspaceId: string,
  messageIds: string[],
): Promise<Tally> {
  if (messageIds.length === 0) return new Map();
  return tally(
    db,
    sql`
    delete from ${sql.table(table)}
    where workspace_id = ${workspaceId} and message_id = any(${messageIds}::uuid[])
    returning message_id as k`,
  );
}

/**
 * The dev inbox: what went out for these ledger rows, and anything else sent to these addresses. Returns
 * what each removed row was (its message, or its channel and recipient) for the caller to attribute.
 */
export async function deleteOutbox(
  db: Executor,
  workspaceId: string,
  messageIds: string[],
  emails: string[],
  phones: string[],
): Promise<{ messageId: string | null; channel: string; recipient: string }[]> {
  if (!messageIds.length && !emails.length && !phones.length) return [];
  const { rows } = await sql<{ message_id: string | null; channel: string; recipient: string }>`
    delete from outbox
    where workspace_id = ${workspaceId}
      and (message_id = any(${messageIds}::uuid[])
           or (channel = 'email' and lower(recipient) = any(${emails}::text[]))
           or (channel = 'sms' and recipient = any(${phones}::text[])))
    returning message_id, channel, lower(recipient) as recipient`.execute(db);
  return rows.map((r) => ({ messageId: r.message_id, channel: r.channel, recipient: r.recipient }));
}

/** Tables with the contact's id in `contact_id` and an index that finds it within the workspace. */
export type ContactKeyedTable =
  | "messages"
  | "events"
  | "consent_changes"
  | "contact_topics"
  | "list_members"
  | "audience_members"
  | "audience_transitions"
  | "campaign_entries"
  | "split_assignments"
  | "ad_audience_members";

export async function deleteByContact(
  db: Executor,
  table: ContactKeyedTable,
  workspaceId: string,
  contactIds: string[],
): Promise<Tally> {
  if (contactIds.length === 0) return new Map();
  return tally(
    db,
    sql`
    delete from ${sql.table(table)} where workspace_id = ${workspaceId} and contact_id = any(${contactIds}::uuid[])
    returning contact_id as k`,
  );
}

/** Tables keyed by campaign first: reached through the workspace's (few) campaigns. */
export async function deleteByCampaignAndContact(
  db: Executor,
  table: "enrollment_steps" | "enrollments" | "campaign_conversions",
  workspaceId: string,
  contactIds: string[],
): Promise<Tally> {
  if (contactIds.length === 0) return new Map();
  return tally(
    db,
    sql`
    delete from ${sql.table(table)} t using campaigns c
    where c.workspace_id = ${workspaceId} and t.workspace_id = c.workspace_id and t.campaign_id = c.id
      and t.contact_id = any(${contactIds}::uuid[])
    returning t.contact_id as k`,
  );
}

export async function deleteContactRows(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
): Promise<Tally> {
  if (contactIds.length === 0) return new Map();
  return tally(
    db,
    sql`delete from contacts where workspace_id = ${workspaceId} and id = any(${contactIds}::uuid[]) returning id as k`,
  );
}

/**
 * Report rows of responses that had no message are keyed 'contact:<id>'; the key only makes each such
 * response count once, so a random one keeps the count and forgets the contact.
 */
export async function anonymiseFirstResponses(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
): Promise<Tally> {
  if (contactIds.length === 0) return new Map();
  return tally(
    db,
    sql`
    update report_first_responses r set response_key = 'erased:' || gen_random_uuid()
    from campaigns c, unnest(${contactIds}::text[]) as k(id)
    where c.workspace_id = ${workspaceId} and r.workspace_id = c.workspace_id and r.campaign_id = c.id
      and r.response_key = 'contact:' || k.id
    returning k.id as k`,
  );
}

/**
 * Test sends are kept (the workspace's rate limit counts them); their recipient is not. Returns the
 * recipients replaced (email lower-cased), one per row.
 */
export async function anonymiseTestSends(
  db: Executor,
  workspaceId: string,
  emails: string[],
  phones: string[],
): Promise<string[]> {
  if (!emails.length && !phones.length) return [];
  const { rows } = await sql<{ recipient: string }>`
    with t as (
      select id, case when channel = 'email' then lower(recipient) else recipient end as recipient
      from template_test_sends
      where workspace_id = ${workspaceId}
        and ((channel = 'email' and lower(recipient) = any(${emails}::text[]))
             or (channel = 'sms' and recipient = any(${phones}::text[])))
    )
    update template_test_sends s set recipient = '(erased)' from t
    where s.workspace_id = ${workspaceId} and s.id = t.id
    returning t.recipient`.execute(db);
  return rows.map((r) => r.recipient);
}

/**
 * Rejected import lines keep the file's own text: those that carry one of the emails or phones (as
 * written in E.164) go. A phone written another way in the file cannot be recognised. Returns the lines'
 * text (lower-cased) for the caller to attribute.
 */
export async function deleteImportRejections(
  db: Executor,
  workspaceId: string,
  emails: string[],
  phones: string[],
): Promise<string[]> {
  if (!emails.length && !phones.length) return [];
  const { rows } = await sql<{ text: string }>`
    delete from import_rejections
    where workspace_id = ${workspaceId}
      and (exists (select 1 from unnest(${emails}::text[]) e(a)
                   where strpos(lower(raw), e.a) > 0 or strpos(lower(reason), e.a) > 0)
           or exists (select 1 from unnest(${phones}::text[]) p(a)
                      where strpos(raw, p.a) > 0 or strpos(reason, p.a) > 0))
    returning lower(raw) || ' ' || lower(reason) as text`.execute(db);
  return rows.map((r) => r.text);
}

export interface ErasureLogEntry {
  id: string;
  source: string;
  actor: string | null;
  counts: Record<string, unknown>;
  tombstones: number;
}

export async function insertErasureLog(
  db: Executor,
  workspaceId: string,
  erasedAt: Date,
  entries: ErasureLogEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await sql`
    insert into erasure_log (workspace_id, id, erased_at, source, actor, counts, tombstones)
    select ${workspaceId}, e.id, ${erasedAt}, e.source, e.actor, e.counts, e.tombstones
    from jsonb_to_recordset(${JSON.stringify(entries)}::jsonb)
      as e(id uuid, source text, actor text, counts jsonb, tombstones int)`.execute(db);
}
