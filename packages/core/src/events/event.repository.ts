import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { uuidv7 } from "../shared/ids.ts";

export interface ContactIdentityRow {
  id: string;
  external_id: string | null;
  email: string | null;
}

export async function findContactsByIdentities(
  db: Executor,
  workspaceId: string,
  keys: { ids: string[]; externalIds: string[]; emails: string[] },
): Promise<ContactIdentityRow[]> {
  if (!keys.ids.length && !keys.externalIds.length && !keys.emails.length) return [];
  return db
    .selectFrom("contacts")
    .select(["id", "external_id", "email"])
    .where("workspace_id", "=", workspaceId)
    .where((eb) =>
      eb.or([
        eb("id", "=", sql<string>`any(${keys.ids}::uuid[])`),
        eb("external_id", "=", sql<string>`any(${keys.externalIds}::text[])`),
        eb("email", "=", sql<string>`any(${keys.emails}::text[])`),
      ]),
    )
    .execute();
}

/** Inserts contacts known only by external id and/or email; existing ones are left alone. */
export async function insertMinimalContacts(
  db: Executor,
  workspaceId: string,
  rows: { externalId: string | null; email: string | null; timezone: string }[],
): Promise<void> {
  if (!rows.length) return;
  await sql`
    insert into contacts (workspace_id, id, external_id, email, timezone)
    select ${workspaceId}::uuid, r.id, r.external_id, r.email, r.timezone
    from unnest(${rows.map(() => uuidv7())}::uuid[], ${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.email)}::text[],
                ${rows.map((r) => r.timezone)}::text[]) as r(id, external_id, email, timezone)
    on conflict do nothing`.execute(db);
}

export interface NewEventRow {
  id: string;
  contactId: string;
  type: string;
  properties: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * Inserts events; returns the ids that were new (a replayed id is skipped). An id is new when it can be
 * added to `event_ids`: `events` is partitioned by time and cannot hold a unique key on the id alone.
 */
export async function insertEvents(
  db: Executor,
  workspaceId: string,
  events: NewEventRow[],
): Promise<Set<string>> {
  if (!events.length) return new Set();
  const result = await sql<{ id: string }>`
    with input as materialized (
      select e.id, e.contact_id, e.type, e.properties, e.occurred_at, e.n
      from unnest(
        ${events.map((e) => e.id)}::text[],
        ${events.map((e) => e.contactId)}::uuid[],
        ${events.map((e) => e.type)}::text[],
        ${events.map((e) => JSON.stringify(e.properties))}::jsonb[],
        ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[]
      ) with ordinality as e(id, contact_id, type, properties, occurred_at, n)
    ), firsts as materialized (
      select distinct on (i.id) * from input i order by i.id, i.n
    ), fresh as (
      insert into event_ids (workspace_id, id, occurred_at)
      select ${workspaceId}::uuid, f.id, f.occurred_at from firsts f
      on conflict do nothing
      returning id
    )
    insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
    select ${workspaceId}::uuid, f.id, f.contact_id, f.type, f.properties, f.occurred_at
    from firsts f join fresh using (id)
    order by f.n
    returning id`.execute(db);
  return new Set(result.rows.map((r) => r.id));
}

export async function listContactEvents(db: Executor, workspaceId: string, contactId: string, limit: number) {
  return db
    .selectFrom("events")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("contact_id", "=", contactId)
    .orderBy("occurred_at", "desc")
    .limit(limit)
    .execute();
}
