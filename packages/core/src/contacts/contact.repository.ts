import type { Insertable, Updateable } from "kysely";
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { ConsentStatus, ContactRow, ContactsTable } from "../db/schema.ts";
import { uuidv7 } from "../shared/ids.ts";
import type { Channel } from "./normalize.ts";

type Identity = "external_id" | "email" | "phone";

export async function findContactById(db: Executor, workspaceId: string, id: string, forUpdate = false) {
  let query = db
    .selectFrom("contacts")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function findContactByIdentity(
  db: Executor,
  workspaceId: string,
  column: Identity,
  value: string,
  forUpdate = false,
): Promise<ContactRow | undefined> {
  let query = db
    .selectFrom("contacts")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where(column, "=", value);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function insertContact(
  db: Executor,
  workspaceId: string,
  values: Omit<
    Insertable<ContactsTable>,
    "workspace_id" | "id" | "created_at" | "updated_at" | "attributes"
  > & {
    attributes: Record<string, unknown>;
  },
): Promise<ContactRow> {
  return db
    .insertInto("contacts")
    .values({
      id: uuidv7(),
      ...values,
      workspace_id: workspaceId,
      attributes: JSON.stringify(values.attributes),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateContact(
  db: Executor,
  workspaceId: string,
  id: string,
  values: Omit<Updateable<ContactsTable>, "workspace_id" | "id" | "created_at" | "attributes"> & {
    attributes?: Record<string, unknown>;
  },
): Promise<ContactRow> {
  const { attributes, ...rest } = values;
  return db
    .updateTable("contacts")
    .set({
      ...rest,
      ...(attributes ? { attributes: JSON.stringify(attributes) } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Archives (`at`) or restores (null) contacts, those not already so; returns the ids that changed. The
 * caller exits journeys and queues the membership re-check.
 */
export async function setContactsArchived(
  db: Executor,
  workspaceId: string,
  ids: string[],
  at: Date | null,
  now: Date,
): Promise<string[]> {
  if (!ids.length) return [];
  const { rows } = await sql<{ id: string }>`
    update contacts set archived_at = ${at}, updated_at = ${now}
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])
      and ${at === null ? sql`archived_at is not null` : sql`archived_at is null`}
    returning id`.execute(db);
  return rows.map((r) => r.id);
}

export async function insertConsentChanges(
  db: Executor,
  workspaceId: string,
  changes: {
    contactId: string;
    channel: Channel;
    status: ConsentStatus;
    previous: ConsentStatus | null;
    source: string;
    actor: string | null;
    reason?: string | null;
  }[],
): Promise<void> {
  if (!changes.length) return;
  await db
    .insertInto("consent_changes")
    .values(
      changes.map((c) => ({
        workspace_id: workspaceId,
        contact_id: c.contactId,
        channel: c.channel,
        status: c.status,
        previous_status: c.previous,
        source: c.source,
        actor: c.actor,
        reason: c.reason ?? null,
      })),
    )
    .execute();
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (m) => `\\${m}`);

export interface ContactSearch {
  emailPrefix?: string;
  phone?: string;
  phonePrefix?: string;
  text?: string;
  attributes: { key: string; value: unknown }[];
  /** Archived contacts: hidden (default), listed with the others, or listed alone. */
  archived?: "exclude" | "include" | "only";
  afterId?: string;
  limit: number;
}

export async function listContacts(
  db: Executor,
  workspaceId: string,
  search: ContactSearch,
): Promise<ContactRow[]> {
  let query = db.selectFrom("contacts").selectAll().where("workspace_id", "=", workspaceId);
  if (search.emailPrefix !== undefined)
    query = query.where("email", "like", `${escapeLike(search.emailPrefix)}%`);
  if (search.phone !== undefined) query = query.where("phone", "=", search.phone);
  if (search.phonePrefix !== undefined)
    query = query.where("phone", "like", `${escapeLike(search.phonePrefix)}%`);
  if (search.text !== undefined) {
    const pattern = `%${escapeLike(search.text)}%`;
    query = query.where((eb) =>
      eb.or([
        eb(sql`coalesce(first_name, '') || ' ' || coalesce(last_name, '')`, "ilike", pattern),
        eb("email", "like", `${escapeLike(search.text!.toLowerCase())}%`),
        eb("external_id", "=", search.text!),
      ]),
    );
  }
  for (const filter of search.attributes) {
    query = query.where(sql<boolean>`attributes @> ${JSON.stringify({ [filter.key]: filter.value })}::jsonb`);
  }
  const archived = search.archived ?? "exclude";
  if (archived === "exclude") query = query.where("archived_at", "is", null);
  // `only` is served by the partial index contacts_archived (000027).
  else if (archived === "only") query = query.where("archived_at", "is not", null);
  if (search.afterId) query = query.where("id", "<", search.afterId);
  // Newest first: ids are UUIDv7, so id order is creation order and the primary key serves the sort.
  return query.orderBy("id", "desc").limit(search.limit).execute();
}
