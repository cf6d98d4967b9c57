/** SQL of the audit log: append an entry, list a workspace's entries with filters, newest first. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { AuditLogTable } from "../db/schema.ts";
import type { AuditActor, AuditCursor } from "./audit.ts";

export interface AuditRow {
  workspace_id: string;
  id: string;
  at: Date;
  actor_kind: AuditLogTable["actor_kind"];
  actor_id: string;
  actor_label: string;
  action: string;
  object_type: string;
  object_id: string | null;
  request_id: string | null;
  status: number | null;
  ip: string | null;
  details: Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The actor's label, read in the insert itself: a member's email, or an API key's name and prefix
 * (never the key). An id that names no user or key of the workspace is labelled by the id itself.
 */
function labelOf(workspaceId: string, actor: AuditActor) {
  if (actor.kind === "cli" || actor.kind === "anonymous") {
    return sql<string>`${(actor.label ?? actor.id).slice(0, 400)}::text`;
  }
  if (actor.kind === "system" || !UUID.test(actor.id)) return sql<string>`${actor.id}::text`;
  if (actor.kind === "user") {
    return sql<string>`coalesce((select u.email from users u where u.id = ${actor.id}::uuid), ${actor.id}::text)`;
  }
  return sql<string>`coalesce(
    (select k.name || ' (' || k.prefix || '…)' from api_keys k
     where k.workspace_id = ${workspaceId} and k.id = ${actor.id}::uuid),
    ${actor.id}::text)`;
}

export async function insertAuditEntry(
  db: Executor,
  row: Omit<AuditRow, "actor_label" | "actor_kind" | "actor_id"> & { actor: AuditActor },
): Promise<AuditRow> {
  const { rows } = await sql<AuditRow>`
    insert into audit_log (workspace_id, id, at, actor_kind, actor_id, actor_label, action, object_type,
                           object_id, request_id, status, ip, details)
    values (${row.workspace_id}, ${row.id}, ${row.at}, ${row.actor.kind}, ${row.actor.id},
            ${labelOf(row.workspace_id, row.actor)}, ${row.action}, ${row.object_type}, ${row.object_id},
            ${row.request_id}, ${row.status}, ${row.ip}, ${JSON.stringify(row.details)}::jsonb)
    returning *`.execute(db);
  return rows[0]!;
}

export interface AuditFilter {
  actorId?: string | undefined;
  action?: { exact: string } | { prefix: string } | undefined;
  objectType?: string | undefined;
  objectId?: string | undefined;
  /** At or after. */
  from?: Date | undefined;
  /** Before. */
  to?: Date | undefined;
  /** Entries strictly older than this position. */
  after?: AuditCursor | undefined;
}

/** Up to `limit` entries of the workspace matching the filter, newest first (instant, then id). */
export async function listAuditEntries(
  db: Executor,
  workspaceId: string,
  filter: AuditFilter,
  limit: number,
): Promise<AuditRow[]> {
  let query = db.selectFrom("audit_log").selectAll().where("workspace_id", "=", workspaceId);
  if (filter.actorId !== undefined) query = query.where("actor_id", "=", filter.actorId);
  if (filter.action && "exact" in filter.action) query = query.where("action", "=", filter.action.exact);
  if (filter.action && "prefix" in filter.action) {
    query = query.where(sql<boolean>`starts_with(action, ${filter.action.prefix})`);
  }
  if (filter.objectType !== undefined) query = query.where("object_type", "=", filter.objectType);
  if (filter.objectId !== undefined) query = query.where("object_id", "=", filter.objectId);
  if (filter.from) query = query.where("at", ">=", filter.from);
  if (filter.to) query = query.where("at", "<", filter.to);
  if (filter.after) {
    query = query.where(sql<boolean>`(at, id) < (${filter.after.at}::timestamptz, ${filter.after.id}::uuid)`);
  }
  const rows = await query.orderBy("at", "desc").orderBy("id", "desc").limit(limit).execute();
  return rows as AuditRow[];
}
