/**
 * A contact's profile beside its record: the audiences it belongs to now, and one timeline of what
 * happened to it — events (custom ones and message.* responses), send-ledger rows and consent changes —
 * newest first, merged by time and paged with a keyset cursor.
 *
 * The queries are small and used only here, so they live beside the orchestration rather than in a
 * repository of their own.
 */
import type {
  ContactActivityItem,
  ContactActivityPage,
  ContactAudience,
} from "@omneural/contracts/contact-activity";
import { sql } from "kysely";
import type { Db, Executor } from "../db/database.ts";
import { notFound, validationFailed } from "../shared/errors.ts";
import { findContactById } from "./contact.repository.ts";
import type { WorkspaceContext } from "./contact.service.ts";

const iso = (value: Date | string) => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));

async function assertContact(db: Executor, ws: WorkspaceContext, id: string) {
  if (!(await findContactById(db, ws.id, id))) throw notFound("contact", id);
}

/**
 * The lists the contact is on and the kept-up-to-date (listened) segments it is in now. Segments that
 * are not kept up to date have no stored membership (they are evaluated when a campaign launches), so
 * they are not listed.
 */
export async function contactAudiences(db: Db, ws: WorkspaceContext, id: string): Promise<ContactAudience[]> {
  await assertContact(db, ws, id);
  const { rows } = await sql<{ id: string; name: string; kind: "segment" | "list"; since: Date }>`
    select a.id, a.name, a.kind, m.added_at as since from list_members m
    join audiences a on a.workspace_id = m.workspace_id and a.id = m.list_id
    where m.workspace_id = ${ws.id} and m.contact_id = ${id}
    union all
    select a.id, a.name, a.kind, m.entered_at as since from audience_members m
    join audiences a on a.workspace_id = m.workspace_id and a.id = m.audience_id
    where m.workspace_id = ${ws.id} and m.contact_id = ${id}
    order by kind, name, id`.execute(db);
  return rows.map((row) => ({ id: row.id, name: row.name, kind: row.kind, since: iso(row.since) }));
}

/** Where a page starts: the time (to the microsecond, as PostgreSQL keeps it) and the row's sort key. */
interface ActivityCursor {
  at: string;
  key: string;
}

function encodeActivityCursor(cursor: ActivityCursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.key])).toString("base64url");
}

function decodeActivityCursor(raw: string): ActivityCursor {
  try {
    const [at, key] = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as unknown[];
    if (
      typeof at === "string" &&
      typeof key === "string" &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(at) &&
      key.length <= 300
    ) {
      return { at, key };
    }
  } catch {
    // Falls through to the validation error.
  }
  throw validationFailed([{ field: "cursor", message: "is not a cursor returned by this API" }]);
}

interface ActivityRow {
  source: "event" | "message" | "consent";
  id: string;
  at: Date;
  at_key: string;
  sort_key: string;
  type: string | null;
  channel: string | null;
  properties: unknown;
  campaign_id: string | null;
  campaign_name: string | null;
  status: string | null;
  previous_status: string | null;
  reason: string | null;
  delivery_status: string | null;
  queued_at: Date | null;
  sent_at: Date | null;
  template_id: string | null;
  template_name: string | null;
  template_version: number | null;
}

const RESPONSE_PREFIX = "message.";

function toActivityItem(row: ActivityRow): ContactActivityItem {
  const campaign = row.campaign_id ? { id: row.campaign_id, name: row.campaign_name } : null;
  switch (row.source) {
    case "message":
      return {
        kind: "message",
        id: row.id,
        at: iso(row.at),
        channel: row.channel ?? "",
        status: row.status ?? "",
        reason: row.reason,
        deliveryStatus: row.delivery_status,
        queuedAt: iso(row.queued_at ?? row.at),
        sentAt: isoOrNull(row.sent_at),
        campaign,
        template: row.template_id
          ? { id: row.template_id, name: row.template_name, version: row.template_version }
          : null,
      };
    case "consent":
      return {
        kind: "consent",
        id: row.id,
        at: iso(row.at),
        channel: row.channel ?? "",
        status: row.status ?? "",
        previousStatus: row.previous_status,
        source: row.type ?? "",
        reason: row.reason,
      };
    default:
      return {
        kind: row.type?.startsWith(RESPONSE_PREFIX) ? "response" : "event",
        id: row.id,
        at: iso(row.at),
        type: row.type ?? "",
        channel: row.channel,
        campaign,
        properties: row.properties ?? {},
      };
  }
}

/**
 * One page of the contact's timeline, newest first. Rows are ordered by their time, then by a sort key
 * (source and id) that breaks ties, and the cursor carries both, so a page never repeats or skips a row
 * however many share a timestamp.
 */
export async function contactActivity(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  query: { limit?: number | undefined; cursor?: string | undefined },
): Promise<ContactActivityPage> {
  const limit = query.limit ?? 50;
  const after = query.cursor === undefined ? undefined : decodeActivityCursor(query.cursor);
  await assertContact(db, ws, id);
  const atKey = (column: string) =>
    sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  // Each branch reads at most one page past the cursor from its own index, then the union is cut.
  const branchBound = after
    ? (at: string, key: string) =>
        sql`and (${sql.raw(at)}, ${sql.raw(key)}) < (${after.at}::timestamptz, ${after.key})`
    : () => sql``;
  const eventKey = "'e:' || e.id";
  const messageKey = "'m:' || m.id::text";
  const consentKey = "'c:' || lpad(k.id::text, 20, '0')";
  const messageAt = "coalesce(m.sent_at, m.queued_at)";
  const { rows } = await sql<ActivityRow>`
    select * from (
      (select 'event' as source, e.id, e.occurred_at as at, ${atKey("e.occurred_at")} as at_key,
        ${sql.raw(eventKey)} as sort_key, e.type, e.channel, e.properties,
        c.id::text as campaign_id, c.name as campaign_name, null::text as status, null::text as previous_status,
        null::text as reason, null::text as delivery_status, null::timestamptz as queued_at,
        null::timestamptz as sent_at, null::text as template_id, null::text as template_name,
        null::integer as template_version
      from events e
      left join campaigns c on c.workspace_id = e.workspace_id and c.id::text = e.campaign_id
      where e.workspace_id = ${ws.id} and e.contact_id = ${id} ${branchBound("e.occurred_at", eventKey)}
      order by e.occurred_at desc, ${sql.raw(eventKey)} desc limit ${limit + 1})
      union all
      (select 'message', m.id::text, ${sql.raw(messageAt)}, ${atKey(messageAt)}, ${sql.raw(messageKey)},
        null, m.channel, null, m.campaign_id::text, c.name, m.status, null, m.reason, m.delivery_status,
        m.queued_at, m.sent_at, m.template_id::text, t.name, m.template_version
      from messages m
      left join campaigns c on c.workspace_id = m.workspace_id and c.id = m.campaign_id
      left join templates t on t.workspace_id = m.workspace_id and t.id = m.template_id
      where m.workspace_id = ${ws.id} and m.contact_id = ${id} ${branchBound(messageAt, messageKey)}
      order by ${sql.raw(messageAt)} desc, ${sql.raw(messageKey)} desc limit ${limit + 1})
      union all
      (select 'consent', k.id::text, k.changed_at, ${atKey("k.changed_at")}, ${sql.raw(consentKey)},
        k.source, k.channel, null, null, null, k.status, k.previous_status, k.reason, null,
        null, null, null, null, null
      from consent_changes k
      where k.workspace_id = ${ws.id} and k.contact_id = ${id} ${branchBound("k.changed_at", consentKey)}
      order by k.changed_at desc, ${sql.raw(consentKey)} desc limit ${limit + 1})
    ) activity
    order by at desc, sort_key desc
    limit ${limit + 1}`.execute(db);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(toActivityItem),
    nextCursor:
      rows.length > limit && last ? encodeActivityCursor({ at: last.at_key, key: last.sort_key }) : null,
  };
}
