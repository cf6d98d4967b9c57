/** Event ingestion wakes the enrollments an event can move (wait_for and goal nodes). */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

/**
 * Marks due now the active enrollments of these contacts in campaigns whose workflow waits for one of
 * these event types, in the caller's transaction. It waits for (does not skip) rows a stepper holds:
 * that stepper may have read the member's events before this one, so the member must be looked at again
 * after its batch commits. Rows are locked in key order so that concurrent batches cannot deadlock.
 * Members who have not taken their first step (seq 0) are left alone: they are due at their entry time.
 */
export async function wakeEnrollments(
  db: Executor,
  workspaceId: string,
  events: { contactId: string; type: string }[],
  now: Date,
): Promise<number> {
  if (events.length === 0) return 0;
  const unique = [...new Map(events.map((e) => [`${e.contactId}:${e.type}`, e])).values()];
  const { rows } = await sql<{ n: number }>`
    with targets as (
      select e.campaign_id, e.contact_id
      from unnest(${unique.map((e) => e.contactId)}::uuid[], ${unique.map((e) => e.type)}::text[]) as p(contact_id, type)
      join campaigns c on c.workspace_id = ${workspaceId} and c.status in ('running', 'paused')
        and p.type = any(c.wake_event_types)
      join enrollments e on e.workspace_id = c.workspace_id and e.campaign_id = c.id and e.contact_id = p.contact_id
      where e.state = 'active'
      order by e.campaign_id, e.contact_id
      for update of e
    ), woken as (
      update enrollments e set due_at = ${now}
      from (select distinct campaign_id, contact_id from targets) t
      where e.workspace_id = ${workspaceId} and e.campaign_id = t.campaign_id and e.contact_id = t.contact_id
        and e.state = 'active' and e.due_at > ${now}
        -- Not a member still waiting at the entry for their local start (startLocal): an event must not
        -- let them in early. Events before their entry are read when they step anyway.
        and e.seq > 0
      returning 1
    )
    select count(*)::int as n from woken`.execute(db);
  return rows[0]?.n ?? 0;
}
