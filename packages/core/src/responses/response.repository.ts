/**
 * SQL of response recording: the send-ledger facts a response is enriched with, the events it becomes,
 * the consent change of an unsubscribe, and the message a conversion is attributed to. Responses of
 * several workspaces are written in one batch, so these statements take the workspace per row.
 */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

export interface ResponseTarget {
  workspaceId: string;
  messageId: string | null;
  /**
   * The contact, when the response names one: used when there is no message, or when its message is
   * gone (an unsubscribe from a deleted campaign's message still counts).
   */
  contactId: string | null;
}

export interface LedgerFacts {
  contactId: string;
  campaignId: string | null;
  nodeId: string | null;
  messageId: string | null;
  channel: string | null;
  sentAt: Date | null;
}

/**
 * For each target (by position), the contact and ledger facts it resolves to, or null when neither its
 * message nor its contact exists (any more). One statement for the whole batch.
 */
export async function resolveResponseTargets(
  db: Executor,
  targets: ResponseTarget[],
): Promise<(LedgerFacts | null)[]> {
  const found: (LedgerFacts | null)[] = targets.map(() => null);
  if (!targets.length) return found;
  // sent_at as epoch milliseconds: a number is far cheaper for the driver to read than a timestamp.
  const { rows } = await sql<{
    n: number;
    contact_id: string;
    campaign_id: string | null;
    node_id: string | null;
    message_id: string | null;
    channel: string | null;
    sent_ms: number | null;
  }>`
    select r.n::int as n, c.id as contact_id, m.campaign_id, m.node_id, m.id as message_id, m.channel,
           (extract(epoch from m.sent_at) * 1000)::float8 as sent_ms
    from unnest(${targets.map((t) => t.workspaceId)}::uuid[], ${targets.map((t) => t.messageId)}::uuid[],
                ${targets.map((t) => t.contactId)}::uuid[]) with ordinality as r(workspace_id, message_id, contact_id, n)
    left join messages m on m.workspace_id = r.workspace_id and m.id = r.message_id
    join contacts c on c.workspace_id = r.workspace_id and c.id = coalesce(m.contact_id, r.contact_id)`.execute(
    db,
  );
  for (const row of rows) {
    found[row.n - 1] = {
      contactId: row.contact_id,
      campaignId: row.campaign_id,
      nodeId: row.node_id,
      messageId: row.message_id,
      channel: row.channel,
      sentAt: row.sent_ms === null ? null : new Date(row.sent_ms),
    };
  }
  return found;
}

export interface ResponseEventRow {
  workspaceId: string;
  id: string;
  contactId: string;
  type: string;
  properties: Record<string, unknown>;
  occurredAt: Date;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** How JSON.stringify writes a NUL character or a lone surrogate (and, harmlessly, `\\u0000` text). */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;

function storable(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("\u0000", "").replace(LONE_SURROGATE, "\ufffd");
  if (Array.isArray(value)) return value.map(storable);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k) as string, storable(v)]));
  }
  return value;
}

/**
 * JSON text for a jsonb parameter. PostgreSQL's jsonb refuses NUL characters and lone surrogates,
 * which request text (a user agent, a reply) may carry: those are removed or replaced.
 */
export function jsonbText(value: unknown): string {
  const json = JSON.stringify(value);
  return UNSTORABLE_ESCAPE.test(json) ? JSON.stringify(storable(value)) : json;
}

/**
 * Inserts the events; returns the keys (`workspace:id`) of those that were recorded before (usually
 * none, so the answer is small). The rows travel as one JSON document: cheaper to build and to parse
 * than six arrays of escaped text.
 */
export async function insertResponseEvents(db: Executor, rows: ResponseEventRow[]): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const payload = jsonbText(
    rows.map((r) => ({
      w: r.workspaceId,
      i: r.id,
      c: r.contactId,
      t: r.type,
      p: r.properties,
      o: r.occurredAt.toISOString(),
    })),
  );
  // An id is new when it can be added to `event_ids` (`events` is partitioned by time and cannot hold
  // a unique key on the id alone). Ids within one batch are distinct (the ingest dedupes them). The
  // insert into events runs whether or not the answer reads it (a data-modifying WITH always does).
  const { rows: seen } = await sql<{ workspace_id: string; id: string }>`
    with input as materialized (
      select * from jsonb_to_recordset(${payload}::jsonb) as e(w uuid, i text, c uuid, t text, p jsonb, o timestamptz)
    ), fresh as (
      insert into event_ids (workspace_id, id, occurred_at)
      select e.w, e.i, e.o from input e
      on conflict do nothing
      returning workspace_id, id
    ), stored as (
      insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
      select e.w, e.i, e.c, e.t, e.p, e.o
      from input e join fresh f on f.workspace_id = e.w and f.id = e.i
      returning 1
    )
    select e.w as workspace_id, e.i as id from input e
    where not exists (select 1 from fresh f where f.workspace_id = e.w and f.id = e.i)`.execute(db);
  return new Set(seen.map((r) => `${r.workspace_id}:${r.id}`));
}

/** What listens to responses in each workspace: which follow-up statements a batch needs at all. */
export interface ResponseListeners {
  /** A running or paused campaign waits for one of these event types (wait_for, goal). */
  wakes: boolean;
  /** A running campaign enters on one of these event types. */
  enters: boolean;
  /** A listened segment may gain or lose these contacts. */
  listens: boolean;
}

/** Per workspace of the batch, what listens to events of these types. One statement. */
export async function findResponseListeners(
  db: Executor,
  workspaceIds: string[],
  types: string[],
): Promise<Map<string, ResponseListeners>> {
  const { rows } = await sql<{ workspace_id: string; wakes: boolean; enters: boolean; listens: boolean }>`
    select w.id as workspace_id,
      exists (select 1 from campaigns c where c.workspace_id = w.id and c.status in ('running', 'paused')
              and c.wake_event_types && ${types}::text[]) as wakes,
      exists (select 1 from campaigns c where c.workspace_id = w.id and c.entry_mode = 'event'
              and c.status = 'running' and c.entry_event_type = any(${types}::text[])) as enters,
      exists (select 1 from audiences a where a.workspace_id = w.id and a.listened and a.kind = 'segment') as listens
    from unnest(${workspaceIds}::uuid[]) as w(id)`.execute(db);
  return new Map(rows.map((r) => [r.workspace_id, { wakes: r.wakes, enters: r.enters, listens: r.listens }]));
}

export const CONSENT_CHANNELS = ["email", "sms", "mail", "ads"] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

export interface Unsubscribe {
  workspaceId: string;
  contactId: string;
  channel: ConsentChannel;
  /** The response's id, as the ledger's actor. */
  responseId: string;
  reason: string | null;
  at: Date;
}

/**
 * Sets the channel's consent to `unsubscribed` and appends the change to the consent ledger, for
 * contacts that were `subscribed` or `never_asked` (a bounced or complained address keeps that, the
 * stronger status), unless the channel's consent changed after the unsubscribe was made: a later
 * choice (a START texted in, a re-subscription) wins over an unsubscribe written late (from the
 * spool, or after a flush interval). Returns how many contacts changed.
 */
export async function applyUnsubscribes(db: Executor, changes: Unsubscribe[]): Promise<number> {
  let changed = 0;
  for (const channel of CONSENT_CHANNELS) {
    // One change per contact: the first of the batch is the one recorded.
    const byContact = new Map<string, Unsubscribe>();
    for (const c of changes) {
      const key = `${c.workspaceId}:${c.contactId}`;
      if (c.channel === channel && !byContact.has(key)) byContact.set(key, c);
    }
    const unique = [...byContact.values()];
    if (!unique.length) continue;
    const column = sql.ref(`${channel}_consent`);
    const qualified = sql.ref(`c.${channel}_consent`);
    const { rows } = await sql<{ n: number }>`
      with t as (
        select * from unnest(${unique.map((c) => c.workspaceId)}::uuid[], ${unique.map((c) => c.contactId)}::uuid[],
                             ${unique.map((c) => c.responseId)}::text[], ${unique.map((c) => c.reason)}::text[],
                             ${unique.map((c) => c.at.toISOString())}::timestamptz[])
          as t(workspace_id, contact_id, response_id, reason, at)
      ), previous as (
        select c.workspace_id, c.id, ${qualified} as status
        from contacts c join t on c.workspace_id = t.workspace_id and c.id = t.contact_id
        where not exists (
          select 1 from consent_changes cc
          where cc.workspace_id = t.workspace_id and cc.contact_id = t.contact_id and cc.channel = ${channel}
            and cc.changed_at > t.at)
        order by c.workspace_id, c.id
        for update of c
      ), changed as (
        update contacts c set ${column} = 'unsubscribed', updated_at = now()
        from previous p
        where c.workspace_id = p.workspace_id and c.id = p.id and p.status in ('subscribed', 'never_asked')
        returning c.workspace_id, c.id, p.status as previous_status
      ), logged as (
        insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor,
                                     reason, changed_at)
        select ch.workspace_id, ch.id, ${channel}, 'unsubscribed', ch.previous_status, 'response', t.response_id,
               t.reason, t.at
        from changed ch join t on t.workspace_id = ch.workspace_id and t.contact_id = ch.id
        returning 1
      )
      select count(*)::int as n from logged`.execute(db);
    changed += rows[0]?.n ?? 0;
  }
  return changed;
}
