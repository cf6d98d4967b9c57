/** SQL of audiences: definitions, list members, cached counts, materialised membership. */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { AudienceRow, ContactRow } from "../db/schema.ts";

export async function insertAudience(
  db: Executor,
  row: {
    workspaceId: string;
    id: string;
    name: string;
    description: string | null;
    kind: "segment" | "list";
    definition: unknown;
    listened: boolean;
  },
): Promise<AudienceRow> {
  return db
    .insertInto("audiences")
    .values({
      workspace_id: row.workspaceId,
      id: row.id,
      name: row.name,
      description: row.description,
      kind: row.kind,
      definition: row.definition === null ? null : JSON.stringify(row.definition),
      listened: row.listened,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findAudience(
  db: Executor,
  workspaceId: string,
  id: string,
): Promise<AudienceRow | undefined> {
  return db
    .selectFrom("audiences")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .executeTakeFirst();
}

export async function findAudienceByName(
  db: Executor,
  workspaceId: string,
  name: string,
): Promise<AudienceRow | undefined> {
  return db
    .selectFrom("audiences")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where(sql`lower(name)`, "=", name.toLowerCase())
    .executeTakeFirst();
}

export async function listAudiences(
  db: Executor,
  workspaceId: string,
  limit: number,
  afterId?: string,
): Promise<AudienceRow[]> {
  let query = db.selectFrom("audiences").selectAll().where("workspace_id", "=", workspaceId);
  if (afterId) query = query.where("id", "<", afterId);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function listListenedSegments(db: Executor, workspaceId?: string): Promise<AudienceRow[]> {
  let query = db
    .selectFrom("audiences")
    .selectAll()
    .where("listened", "=", true)
    .where("kind", "=", "segment");
  if (workspaceId) query = query.where("workspace_id", "=", workspaceId);
  return query.orderBy("workspace_id").orderBy("id").execute();
}

export async function updateAudience(
  db: Executor,
  workspaceId: string,
  id: string,
  values: { name?: string; description?: string | null; definition?: unknown; listened?: boolean },
): Promise<AudienceRow> {
  return db
    .updateTable("audiences")
    .set({
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
      ...(values.definition !== undefined ? { definition: JSON.stringify(values.definition) } : {}),
      ...(values.listened !== undefined ? { listened: values.listened } : {}),
      updated_at: sql`now()`,
    })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteAudience(db: Executor, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom("audiences")
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** Audiences whose definition names `id` (as an audience or a list). */
export async function findReferencingAudiences(
  db: Executor,
  workspaceId: string,
  id: string,
): Promise<AudienceRow[]> {
  return db
    .selectFrom("audiences")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("kind", "=", "segment")
    .where(sql<boolean>`definition::text like ${`%${id}%`}`)
    .execute();
}

export async function countWhere(
  db: Executor,
  workspaceId: string,
  where: RawBuilder<boolean>,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from contacts c where c.workspace_id = ${workspaceId} and ${where}`.execute(db);
  return rows[0]?.n ?? 0;
}

export async function selectContactsWhere(
  db: Executor,
  workspaceId: string,
  where: RawBuilder<boolean>,
  limit: number,
  afterId?: string,
): Promise<ContactRow[]> {
  const { rows } = await sql<ContactRow>`
    select c.* from contacts c
    where c.workspace_id = ${workspaceId} and ${where} ${afterId ? sql`and c.id < ${afterId}` : sql``}
    order by c.id desc limit ${limit}`.execute(db);
  return rows;
}

/** A list's members, archived contacts aside (their membership rows stay, for when they are restored). */
export async function countListMembers(db: Executor, workspaceId: string, listId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from list_members m
    where m.workspace_id = ${workspaceId} and m.list_id = ${listId}
      and not exists (select 1 from contacts c where c.workspace_id = m.workspace_id and c.id = m.contact_id
                      and c.archived_at is not null)`.execute(db);
  return rows[0]?.n ?? 0;
}

/** How many members each channel may reach now; see countReachWhere. */
export interface ReachCounts {
  count: number;
  email: number;
  sms: number;
  mail: number;
}

/**
 * The members the predicate selects, and of them those each channel may reach now, in one statement.
 * The rules are the dispatcher's at send time (delivery/dispatcher.ts prepareEmail and prepareSms,
 * mail-dispatch.ts prepareMail): an address on the channel, a consent that allows marketing on it (email
 * and mail: subscribed or never asked; SMS: subscribed only), and for email and SMS no suppression of the
 * address (stored lowercased for email, as given for a phone). Tombstones of erased contacts are not
 * matched: a contact created with a tombstoned address had its consent set to the opt-out already.
 */
export async function countReachWhere(
  db: Executor,
  workspaceId: string,
  where: RawBuilder<boolean>,
): Promise<ReachCounts> {
  const { rows } = await sql<ReachCounts>`
    select count(*)::int as count,
      (count(*) filter (where coalesce(c.email, '') <> ''
        and c.email_consent in ('subscribed', 'never_asked')
        and not exists (select 1 from suppressions s where s.workspace_id = c.workspace_id
                        and s.channel = 'email' and s.address = lower(c.email))))::int as email,
      (count(*) filter (where coalesce(c.phone, '') <> ''
        and c.sms_consent = 'subscribed'
        and not exists (select 1 from suppressions s where s.workspace_id = c.workspace_id
                        and s.channel = 'sms' and s.address = c.phone)))::int as sms,
      (count(*) filter (where c.mail_consent in ('subscribed', 'never_asked')
        and (btrim(coalesce(c.address_line1, '')) <> '' or btrim(coalesce(c.address_line2, '')) <> ''
             or btrim(coalesce(c.city, '')) <> '' or btrim(coalesce(c.postal_code, '')) <> '')))::int as mail
    from contacts c where c.workspace_id = ${workspaceId} and ${where}`.execute(db);
  return rows[0] ?? { count: 0, email: 0, sms: 0, mail: 0 };
}

/** The predicate on `contacts c` of a static list's members (archived contacts are no one's). */
export function listMemberWhere(workspaceId: string, listId: string): RawBuilder<boolean> {
  return sql<boolean>`c.archived_at is null and exists (select 1 from list_members m
    where m.workspace_id = ${workspaceId} and m.list_id = ${listId} and m.contact_id = c.id)`;
}

export async function readCachedCount(db: Executor, workspaceId: string, audienceId: string) {
  return db
    .selectFrom("audience_counts")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("audience_id", "=", audienceId)
    .executeTakeFirst();
}

export async function storeCount(
  db: Executor,
  workspaceId: string,
  audienceId: string,
  count: number,
  at: Date,
) {
  await db
    .insertInto("audience_counts")
    .values({ workspace_id: workspaceId, audience_id: audienceId, count, computed_at: at })
    .onConflict((oc) => oc.columns(["workspace_id", "audience_id"]).doUpdateSet({ count, computed_at: at }))
    .execute();
}

/** Any change to an audience or list may change the counts of audiences built on it. */
export async function forgetCounts(db: Executor, workspaceId: string) {
  await db.deleteFrom("audience_counts").where("workspace_id", "=", workspaceId).execute();
}

export async function addListMembers(
  db: Executor,
  workspaceId: string,
  listId: string,
  contactIds: string[],
) {
  const { rows } = await sql<{ contact_id: string; added: boolean }>`
    with wanted as (
      select c.id from contacts c where c.workspace_id = ${workspaceId} and c.id = any(${contactIds}::uuid[])
    ), inserted as (
      insert into list_members (workspace_id, list_id, contact_id)
      select ${workspaceId}, ${listId}, id from wanted
      on conflict do nothing
      returning contact_id
    )
    select w.id as contact_id, (i.contact_id is not null) as added from wanted w left join inserted i on i.contact_id = w.id`.execute(
    db,
  );
  return rows;
}

export async function removeListMembers(
  db: Executor,
  workspaceId: string,
  listId: string,
  contactIds: string[],
) {
  const { rows } = await sql<{ contact_id: string; removed: boolean }>`
    with wanted as (
      select c.id from contacts c where c.workspace_id = ${workspaceId} and c.id = any(${contactIds}::uuid[])
    ), deleted as (
      delete from list_members m using wanted w
      where m.workspace_id = ${workspaceId} and m.list_id = ${listId} and m.contact_id = w.id
      returning m.contact_id
    )
    select w.id as contact_id, (d.contact_id is not null) as removed from wanted w left join deleted d on d.contact_id = w.id`.execute(
    db,
  );
  return rows;
}

export async function selectListMembers(
  db: Executor,
  workspaceId: string,
  listId: string,
  limit: number,
  afterId?: string,
) {
  const { rows } = await sql<ContactRow>`
    select c.* from list_members m join contacts c on c.workspace_id = m.workspace_id and c.id = m.contact_id
    where m.workspace_id = ${workspaceId} and m.list_id = ${listId} and c.archived_at is null
      ${afterId ? sql`and c.id < ${afterId}` : sql``}
    order by c.id desc limit ${limit}`.execute(db);
  return rows;
}

/** Copies a segment's current members into a list, set-based. */
export async function insertListFromWhere(
  db: Executor,
  workspaceId: string,
  listId: string,
  where: RawBuilder<boolean>,
) {
  const result = await sql`
    insert into list_members (workspace_id, list_id, contact_id)
    select ${workspaceId}, ${listId}, c.id from contacts c where c.workspace_id = ${workspaceId} and ${where}`.execute(
    db,
  );
  return Number(result.numAffectedRows ?? 0);
}

export async function listTransitions(db: Executor, workspaceId: string, audienceId: string, limit: number) {
  return db
    .selectFrom("audience_transitions")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("audience_id", "=", audienceId)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}

/** Campaigns that enroll from this audience (their foreign key keeps it from being deleted). */
export async function findCampaignsUsingAudience(db: Executor, workspaceId: string, audienceId: string) {
  return db
    .selectFrom("campaigns")
    .select(["id", "name"])
    .where("workspace_id", "=", workspaceId)
    .where("audience_id", "=", audienceId)
    .execute();
}
