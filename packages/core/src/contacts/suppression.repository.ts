/** SQL of the suppression list as contacts meet it: tombstones, and new contacts with suppressed addresses. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { ConsentStatus } from "../db/schema.ts";
import { OVERRIDABLE, type SuppressionChannel } from "./suppression.ts";

export interface SuppressionRow {
  channel: SuppressionChannel;
  address: string;
  reason: string;
  source: string;
  created_at: Date;
}

/** The rows of these addresses (plain, or already hashed), on their channels. */
export async function selectSuppressionsOf(
  db: Executor,
  workspaceId: string,
  addresses: { channel: SuppressionChannel; address: string }[],
): Promise<SuppressionRow[]> {
  if (addresses.length === 0) return [];
  const { rows } = await sql<SuppressionRow>`
    select s.channel, s.address, s.reason, s.source, s.created_at
    from unnest(${addresses.map((a) => a.channel)}::text[], ${addresses.map((a) => a.address)}::text[]) as k(channel, address)
    join suppressions s on s.workspace_id = ${workspaceId} and s.channel = k.channel and s.address = k.address
    order by s.created_at`.execute(db);
  return rows;
}

/** Removes the plain rows of these addresses; returns how many there were. */
export async function deletePlainSuppressions(
  db: Executor,
  workspaceId: string,
  addresses: { channel: SuppressionChannel; address: string }[],
): Promise<number> {
  if (addresses.length === 0) return 0;
  const result = await sql`
    delete from suppressions s
    using unnest(${addresses.map((a) => a.channel)}::text[], ${addresses.map((a) => a.address)}::text[]) as k(channel, address)
    where s.workspace_id = ${workspaceId} and s.channel = k.channel and s.address = k.address
      and s.source <> 'erasure'`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Adds tombstones (addresses already hashed); one that exists (an earlier erasure) stays as it is. */
export async function insertTombstones(
  db: Executor,
  workspaceId: string,
  tombstones: { channel: SuppressionChannel; address: string; reason: string }[],
): Promise<void> {
  if (tombstones.length === 0) return;
  await sql`
    insert into suppressions (workspace_id, channel, address, reason, source, message_id)
    select ${workspaceId}, t.channel, t.address, t.reason, 'erasure', null
    from unnest(${tombstones.map((t) => t.channel)}::text[], ${tombstones.map((t) => t.address)}::text[],
                ${tombstones.map((t) => t.reason)}::text[]) as t(channel, address, reason)
    on conflict (workspace_id, channel, address) do nothing`.execute(db);
}

export async function hasTombstones(db: Executor, workspaceId: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists (select 1 from suppressions where workspace_id = ${workspaceId} and source = 'erasure') as found`.execute(
    db,
  );
  return rows[0]?.found ?? false;
}

/** The workspace's tombstones, by channel and hashed address. */
export async function selectTombstones(db: Executor, workspaceId: string): Promise<Map<string, string>> {
  const { rows } = await sql<{ channel: string; address: string; reason: string }>`
    select channel, address, reason from suppressions
    where workspace_id = ${workspaceId} and source = 'erasure'`.execute(db);
  return new Map(rows.map((r) => [`${r.channel}:${r.address}`, r.reason]));
}

/** Contacts this transaction created: rows it wrote (xmin) whose created_at is its start (now()). */
const CREATED_BY_THIS_TRANSACTION = sql`c.xmin::text = (txid_current() % 4294967296)::text and c.created_at = now()`;

export interface SuppressionHit {
  contactId: string;
  channel: SuppressionChannel;
  reason: string;
}

/** Contacts this transaction created whose email or phone is on the plain suppression list. */
export async function selectNewContactsOnPlainList(
  db: Executor,
  workspaceId: string,
): Promise<SuppressionHit[]> {
  // Driven from the (short) list through the identity indexes, so a large import pays nothing per row.
  const { rows } = await sql<{ contact_id: string; channel: SuppressionChannel; reason: string }>`
    select c.id as contact_id, s.channel, s.reason
    from suppressions s join contacts c on c.workspace_id = s.workspace_id and c.email = s.address
    where s.workspace_id = ${workspaceId} and s.channel = 'email' and s.source <> 'erasure' and ${CREATED_BY_THIS_TRANSACTION}
    union all
    select c.id, s.channel, s.reason
    from suppressions s join contacts c on c.workspace_id = s.workspace_id and c.phone = s.address
    where s.workspace_id = ${workspaceId} and s.channel = 'sms' and s.source <> 'erasure' and ${CREATED_BY_THIS_TRANSACTION}`.execute(
    db,
  );
  return rows.map((r) => ({ contactId: r.contact_id, channel: r.channel, reason: r.reason }));
}

/**
 * The addresses of the contacts this transaction created, a batch at a time (a cursor, so that a large
 * import's thread holds one batch in memory), for hashing against the tombstones.
 */
export async function* newContactAddresses(
  db: Executor,
  workspaceId: string,
  batchSize = 5000,
): AsyncGenerator<{ id: string; email: string | null; phone: string | null }[]> {
  await sql`
    declare omneural_new_contacts no scroll cursor for
    select c.id, c.email, c.phone from contacts c
    where c.workspace_id = ${workspaceId} and (c.email is not null or c.phone is not null)
      and ${CREATED_BY_THIS_TRANSACTION}`.execute(db);
  try {
    for (;;) {
      const { rows } = await sql<{ id: string; email: string | null; phone: string | null }>`
        fetch forward ${sql.raw(String(batchSize))} from omneural_new_contacts`.execute(db);
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    await sql`close omneural_new_contacts`.execute(db);
  }
}

/**
 * Records these contacts' consent on the hit channel as unsubscribed, where it is subscribed or never
 * asked, with a ledger entry saying why. Returns the number of consents changed.
 */
export async function unsubscribeForSuppressions(
  db: Executor,
  workspaceId: string,
  hits: SuppressionHit[],
  ledger: { source: string; actor: string | null; reason: (hit: SuppressionHit) => string },
): Promise<number> {
  let changed = 0;
  for (const channel of ["email", "sms"] as const) {
    const mine = hits.filter((h) => h.channel === channel);
    if (mine.length === 0) continue;
    const column = sql.ref(`${channel}_consent`);
    const { rows } = await sql<{ n: number }>`
      with t as (
        select distinct on (contact_id) contact_id, reason
        from unnest(${mine.map((h) => h.contactId)}::uuid[], ${mine.map((h) => ledger.reason(h))}::text[])
          as t(contact_id, reason)
      ), changed as (
        update contacts c set ${column} = 'unsubscribed', updated_at = now()
        from (
          select c2.id, c2.${sql.ref(`${channel}_consent`)} as previous
          from contacts c2 join t on c2.workspace_id = ${workspaceId} and c2.id = t.contact_id
          for update of c2
        ) p
        where c.workspace_id = ${workspaceId} and c.id = p.id and p.previous = any(${OVERRIDABLE as ConsentStatus[]}::text[])
        returning c.id, p.previous
      ), logged as (
        insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor, reason)
        select ${workspaceId}, ch.id, ${channel}, 'unsubscribed', ch.previous, ${ledger.source}, ${ledger.actor}, t.reason
        from changed ch join t on t.contact_id = ch.id
        returning 1
      )
      select count(*)::int as n from logged`.execute(db);
    changed += rows[0]?.n ?? 0;
  }
  return changed;
}
