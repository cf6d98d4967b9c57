/** SQL for ad destinations and their members (ad_audience_members). Every statement filters by workspace. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { AdDestinationRow, AdPlatform } from "./ad-destination.ts";

const COLUMNS =
  sql.raw(`workspace_id, id, name, platform, audience_id, customer_id, login_customer_id, base_url,
  credentials, created_at, updated_at`);

export async function insertAdDestination(
  db: Executor,
  row: {
    workspaceId: string;
    id: string;
    name: string;
    platform: AdPlatform;
    audienceId: string | null;
    customerId: string | null;
    loginCustomerId: string | null;
    baseUrl: string | null;
    credentials: Buffer | null;
  },
): Promise<AdDestinationRow> {
  const { rows } = await sql<AdDestinationRow>`
    insert into ad_destinations (workspace_id, id, name, platform, audience_id, customer_id, login_customer_id,
                                 base_url, credentials)
    values (${row.workspaceId}, ${row.id}, ${row.name}, ${row.platform}, ${row.audienceId}, ${row.customerId},
            ${row.loginCustomerId}, ${row.baseUrl}, ${row.credentials})
    returning ${COLUMNS}`.execute(db);
  return rows[0]!;
}

export async function findAdDestination(
  db: Executor,
  workspaceId: string,
  id: string,
  forUpdate = false,
): Promise<AdDestinationRow | undefined> {
  const lock = forUpdate ? sql` for update` : sql``;
  const { rows } = await sql<AdDestinationRow>`
    select ${COLUMNS} from ad_destinations where workspace_id = ${workspaceId} and id = ${id}${lock}`.execute(
    db,
  );
  return rows[0];
}

export async function findAdDestinationByName(db: Executor, workspaceId: string, name: string) {
  const { rows } = await sql<{ id: string; name: string }>`
    select id, name from ad_destinations
    where workspace_id = ${workspaceId} and lower(name) = ${name.toLowerCase()}`.execute(db);
  return rows[0];
}

/** The destinations of a workspace among these ids: an id of another workspace is simply not found. */
export async function findAdDestinationsByIds(db: Executor, workspaceId: string, ids: string[]) {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ id: string; platform: AdPlatform }>`
    select id, platform from ad_destinations
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(db);
  return rows;
}

export async function listAdDestinations(
  db: Executor,
  workspaceId: string,
  limit: number,
  afterId?: string,
  platform?: AdPlatform,
): Promise<AdDestinationRow[]> {
  const after = afterId ? sql`and id < ${afterId}` : sql``;
  const onPlatform = platform ? sql`and platform = ${platform}` : sql``;
  const { rows } = await sql<AdDestinationRow>`
    select ${COLUMNS} from ad_destinations
    where workspace_id = ${workspaceId} ${after} ${onPlatform}
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

export async function updateAdDestination(
  db: Executor,
  workspaceId: string,
  id: string,
  row: {
    name: string;
    audienceId: string | null;
    customerId: string | null;
    loginCustomerId: string | null;
    baseUrl: string | null;
    credentials: Buffer | null;
  },
  now: Date,
): Promise<AdDestinationRow | undefined> {
  const { rows } = await sql<AdDestinationRow>`
    update ad_destinations set name = ${row.name}, audience_id = ${row.audienceId}, customer_id = ${row.customerId},
      login_customer_id = ${row.loginCustomerId}, base_url = ${row.baseUrl}, credentials = ${row.credentials},
      updated_at = ${now}
    where workspace_id = ${workspaceId} and id = ${id}
    returning ${COLUMNS}`.execute(db);
  return rows[0];
}

/** Deletes the destination and, with it, its member rows. */
export async function deleteAdDestination(db: Executor, workspaceId: string, id: string): Promise<boolean> {
  const result = await sql`
    delete from ad_destinations where workspace_id = ${workspaceId} and id = ${id}`.execute(db);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/** How many contacts are in each of these destinations' audiences now. */
export async function countCurrentMembers(
  db: Executor,
  workspaceId: string,
  destinationIds: string[],
): Promise<Map<string, number>> {
  if (destinationIds.length === 0) return new Map();
  const { rows } = await sql<{ destination_id: string; n: number }>`
    select destination_id, count(*)::int as n from ad_audience_members
    where workspace_id = ${workspaceId} and destination_id = any(${destinationIds}::uuid[]) and removed_at is null
    group by destination_id`.execute(db);
  return new Map(rows.map((r) => [r.destination_id, r.n]));
}

/** One page of a destination's current members with their identifiers, in contact id order. */
export async function listCurrentMembers(
  db: Executor,
  workspaceId: string,
  destinationId: string,
  limit: number,
  afterContactId?: string,
) {
  const after = afterContactId ? sql`and m.contact_id > ${afterContactId}` : sql``;
  const { rows } = await sql<{ contact_id: string; email: string | null; phone: string | null }>`
    select m.contact_id, c.email, c.phone
    from ad_audience_members m
    join contacts c on c.workspace_id = m.workspace_id and c.id = m.contact_id
    where m.workspace_id = ${workspaceId} and m.destination_id = ${destinationId} and m.removed_at is null ${after}
    order by m.contact_id
    limit ${limit}`.execute(db);
  return rows;
}

// ---- The dispatcher's facts and writes ----

export interface AdRecipientRow {
  workspace_id: string;
  id: string;
  email: string | null;
  phone: string | null;
  ads_consent: string;
  archived_at: Date | null;
}

export async function selectAdRecipients(
  db: Executor,
  keys: { workspaceId: string; contactId: string }[],
): Promise<AdRecipientRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<AdRecipientRow>`
    select c.workspace_id, c.id, c.email, c.phone, c.ads_consent, c.archived_at
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.contactId)}::uuid[]) as k(w, c_id)
    join contacts c on c.workspace_id = k.w and c.id = k.c_id`.execute(db);
  return rows;
}

export async function selectAdDestinations(
  db: Executor,
  keys: { workspaceId: string; destinationId: string }[],
): Promise<AdDestinationRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<AdDestinationRow>`
    select d.workspace_id, d.id, d.name, d.platform, d.audience_id, d.customer_id, d.login_customer_id,
           d.base_url, d.credentials, d.created_at, d.updated_at
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.destinationId)}::uuid[]) as k(w, d_id)
    join ad_destinations d on d.workspace_id = k.w and d.id = k.d_id`.execute(db);
  return rows;
}

/**
 * For each of these leased rows, the earliest due time of an earlier `ads` row of the same contact and
 * destination that is not finished yet (queued, or leased — by this batch too): a member's changes to one
 * audience go in the order the journeys made them. Rows with nothing earlier pending are not returned.
 */
export async function selectEarlierPendingChanges(
  db: Executor,
  rows: { workspaceId: string; id: string }[],
): Promise<Map<string, Date>> {
  if (rows.length === 0) return new Map();
  const ids = rows.map((r) => r.id);
  const { rows: blocked } = await sql<{ id: string; due: Date }>`
    select m.id, min(coalesce(e.next_attempt_at, e.queued_at)) as due
    from unnest(${rows.map((r) => r.workspaceId)}::uuid[], ${ids}::uuid[]) as k(w, m_id)
    join messages m on m.workspace_id = k.w and m.id = k.m_id
    join messages e on e.workspace_id = m.workspace_id and e.contact_id = m.contact_id
      and e.channel = 'ads' and e.status in ('queued', 'sending')
      and e.details ->> 'destination' = m.details ->> 'destination'
      and (e.queued_at, e.id) < (m.queued_at, m.id)
    group by m.id`.execute(db);
  return new Map(blocked.map((r) => [r.id, new Date(r.due)]));
}

/** Puts these contacts in the destination's audience (back in, when they had been removed). */
export async function addAudienceMembers(
  db: Executor,
  workspaceId: string,
  destinationId: string,
  members: { contactId: string; messageId: string }[],
  now: Date,
) {
  if (members.length === 0) return;
  await sql`
    insert into ad_audience_members (workspace_id, destination_id, contact_id, added_at, message_id)
    select ${workspaceId}, ${destinationId}, c.contact_id, ${now}, c.message_id
    from unnest(${members.map((m) => m.contactId)}::uuid[], ${members.map((m) => m.messageId)}::uuid[])
      as c(contact_id, message_id)
    -- a contact erased meanwhile is not added back
    where exists (select 1 from contacts k where k.workspace_id = ${workspaceId} and k.id = c.contact_id)
    on conflict (workspace_id, destination_id, contact_id) do update
      set added_at = case when ad_audience_members.removed_at is null then ad_audience_members.added_at
                          else excluded.added_at end,
          removed_at = null, message_id = excluded.message_id`.execute(db);
}

/** Takes these contacts out of the destination's audience (no-op for those not in it). */
export async function removeAudienceMembers(
  db: Executor,
  workspaceId: string,
  destinationId: string,
  members: { contactId: string; messageId: string }[],
  now: Date,
) {
  if (members.length === 0) return;
  await sql`
    update ad_audience_members a set removed_at = ${now}, message_id = c.message_id
    from unnest(${members.map((m) => m.contactId)}::uuid[], ${members.map((m) => m.messageId)}::uuid[])
      as c(contact_id, message_id)
    where a.workspace_id = ${workspaceId} and a.destination_id = ${destinationId}
      and a.contact_id = c.contact_id and a.removed_at is null`.execute(db);
}
