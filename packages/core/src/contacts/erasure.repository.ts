/**
 * SQL of erasure: every statement that removes or anonymises a row naming one contact or its addresses.
 * All run in the caller's transaction (erasure.service.ts), which keeps report counts (000022).
 */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";

const affected = (result: { numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0);

/** Reports keep the counts of the rows this transaction deletes (see 000022_erasure.sql). */
export async function keepReportCounts(db: Executor, on: boolean) {
  await sql`select set_config('omneural.keep_report_counts', ${on ? "on" : ""}, true)`.execute(db);
}

/**
 * Journeys still in progress (active, or failed and waiting for a retry) leave as `cancelled`, with a
 * history step giving `reason`, and the contact's queued sends are cancelled with it: the reports then
 * count the member as cancelled and the sends as dropped, as they would for a campaign that ended.
 */
export async function exitEnrollments(
  db: Executor,
  workspaceId: string,
  contactId: string,
  now: Date,
  reason: string,
): Promise<{ enrollments: number; messages: number }> {
  const { rows } = await sql<{ n: number }>`
    with ended as (
      update enrollments e set state = 'cancelled', due_at = null, seq = e.seq + 1, updated_at = ${now}
      from campaigns c
      where c.workspace_id = ${workspaceId} and e.workspace_id = c.workspace_id and e.campaign_id = c.id
        and e.contact_id = ${contactId} and e.state in ('active', 'failed')
      returning e.campaign_id, e.node_id, e.seq
    ), logged as (
      insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
      select ${workspaceId}, campaign_id, ${contactId}, seq, ${now}, 'erasure',
             jsonb_build_array(jsonb_build_object('at', ${now.toISOString()}::text, 'nodeId', node_id,
               'nodeType', '', 'action', 'cancelled', 'reason', ${reason}::text))
      from ended
      returning 1
    )
    select count(*)::int as n from logged`.execute(db);
  const cancelled = await sql`
    update messages set status = 'cancelled', reason = ${reason}
    where workspace_id = ${workspaceId} and contact_id = ${contactId} and status = 'queued'`.execute(db);
  return { enrollments: rows[0]?.n ?? 0, messages: affected(cancelled) };
}

export async function selectMessageIds(
  db: Executor,
  workspaceId: string,
  contactId: string,
): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select id from messages where workspace_id = ${workspaceId} and contact_id = ${contactId}`.execute(db);
  return rows.map((r) => r.id);
}

/** Rows of a table that hang off the contact's ledger rows (outbox, print pieces, PURLs, short links). */
export async function deleteByMessages(
  db: Executor,
  table: "print_pieces" | "purls" | "short_links",
  workspaceId: string,
  messageIds: string[],
): Promise<number> {
  if (messageIds.length === 0) return 0;
  return affected(
    await sql`
      delete from ${sql.table(table)}
      where workspace_id = ${workspaceId} and message_id = any(${messageIds}::uuid[])`.execute(db),
  );
}

/** The dev inbox: what went out for the contact's ledger rows, and anything else sent to its addresses. */
export async function deleteOutbox(
  db: Executor,
  workspaceId: string,
  messageIds: string[],
  email: string | null,
  phone: string | null,
): Promise<number> {
  return affected(
    await sql`
      delete from outbox
      where workspace_id = ${workspaceId}
        and (message_id = any(${messageIds}::uuid[])
             or (channel = 'email' and lower(recipient) = ${email}::text)
             or (channel = 'sms' and recipient = ${phone}::text))`.execute(db),
  );
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
  contactId: string,
): Promise<number> {
  return affected(
    await sql`
      delete from ${sql.table(table)} where workspace_id = ${workspaceId} and contact_id = ${contactId}`.execute(
      db,
    ),
  );
}

/** Tables keyed by campaign first: reached through the workspace's (few) campaigns. */
export async function deleteByCampaignAndContact(
  db: Executor,
  table: "enrollment_steps" | "enrollments" | "campaign_conversions",
  workspaceId: string,
  contactId: string,
): Promise<number> {
  return affected(
    await sql`
      delete from ${sql.table(table)} t using campaigns c
      where c.workspace_id = ${workspaceId} and t.workspace_id = c.workspace_id and t.campaign_id = c.id
        and t.contact_id = ${contactId}`.execute(db),
  );
}

export async function deleteContactRow(
  db: Executor,
  workspaceId: string,
  contactId: string,
): Promise<number> {
  return affected(
    await sql`delete from contacts where workspace_id = ${workspaceId} and id = ${contactId}`.execute(db),
  );
}

/**
 * Report rows of responses that had no message are keyed 'contact:<id>'; the key only makes each such
 * response count once, so a random one keeps the count and forgets the contact.
 */
export async function anonymiseFirstResponses(
  db: Executor,
  workspaceId: string,
  contactId: string,
): Promise<number> {
  return affected(
    await sql`
      update report_first_responses r set response_key = 'erased:' || gen_random_uuid()
      from campaigns c
      where c.workspace_id = ${workspaceId} and r.workspace_id = c.workspace_id and r.campaign_id = c.id
        and r.response_key = ${`contact:${contactId}`}`.execute(db),
  );
}

/** Test sends are kept (the workspace's rate limit counts them); their recipient is not. */
export async function anonymiseTestSends(
  db: Executor,
  workspaceId: string,
  email: string | null,
  phone: string | null,
): Promise<number> {
  if (!email && !phone) return 0;
  return affected(
    await sql`
      update template_test_sends set recipient = '(erased)'
      where workspace_id = ${workspaceId}
        and ((channel = 'email' and lower(recipient) = ${email}::text) or (channel = 'sms' and recipient = ${phone}::text))`.execute(
      db,
    ),
  );
}

/**
 * Rejected import lines keep the file's own text: those that carry the email or the phone (as written in
 * E.164) go. A phone written another way in the file cannot be recognised.
 */
export async function deleteImportRejections(
  db: Executor,
  workspaceId: string,
  email: string | null,
  phone: string | null,
): Promise<number> {
  const conditions: RawBuilder<unknown>[] = [];
  if (email) conditions.push(sql`strpos(lower(raw), ${email}) > 0 or strpos(lower(reason), ${email}) > 0`);
  if (phone) conditions.push(sql`strpos(raw, ${phone}) > 0 or strpos(reason, ${phone}) > 0`);
  if (conditions.length === 0) return 0;
  return affected(
    await sql`
      delete from import_rejections
      where workspace_id = ${workspaceId} and (${sql.join(conditions, sql` or `)})`.execute(db),
  );
}

export async function insertErasureLog(
  db: Executor,
  entry: {
    workspaceId: string;
    id: string;
    erasedAt: Date;
    source: string;
    actor: string | null;
    counts: Record<string, unknown>;
    tombstones: number;
  },
): Promise<void> {
  await sql`
    insert into erasure_log (workspace_id, id, erased_at, source, actor, counts, tombstones)
    values (${entry.workspaceId}, ${entry.id}, ${entry.erasedAt}, ${entry.source}, ${entry.actor},
            ${JSON.stringify(entry.counts)}::jsonb, ${entry.tombstones})`.execute(db);
}
