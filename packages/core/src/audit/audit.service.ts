/**
 * The audit log's use cases: record who did what to which object, and list a workspace's entries.
 * Recording is called by the API for every successful change and every data export
 * (packages/server/src/http/audit.ts); see docs/audit-log.md for what is and is never recorded.
 */
import type { AuditEntry, AuditList, AuditListQuery } from "@omneural/contracts/audit";
import type { Executor } from "../db/database.ts";
import { validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { type AuditRow, insertAuditEntry, listAuditEntries } from "./audit.repository.ts";
import {
  type AuditInput,
  actionFilterOf,
  cleanDetails,
  decodeAuditCursor,
  encodeAuditCursor,
  objectTypeOf,
} from "./audit.ts";

/** Cuts a caller-given text (a request id from a header) to what the column holds. */
const clip = (value: string | null | undefined, max: number) =>
  value === undefined || value === null || value === "" ? null : value.slice(0, max);

/** Appends one entry; details are reduced to ids, roles, flags and counts (`cleanDetails`). */
export async function recordAudit(
  db: Executor,
  workspaceId: string,
  input: AuditInput,
  now: Date = new Date(),
): Promise<AuditEntry> {
  const row = await insertAuditEntry(db, {
    workspace_id: workspaceId,
    id: uuidv7(now.getTime()),
    at: now,
    actor: input.actor,
    action: input.action,
    object_type: objectTypeOf(input.action),
    object_id: clip(input.objectId, 100),
    request_id: clip(input.requestId, 100),
    status: input.status ?? null,
    ip: clip(input.ip, 64),
    details: cleanDetails(input.details),
  });
  return toEntry(row);
}

const DEFAULT_LIMIT = 50;

/** A page of the workspace's entries matching the query, newest first. */
export async function listAudit(
  db: Executor,
  workspaceId: string,
  query: AuditListQuery,
): Promise<AuditList> {
  const after = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor);
  if (query.cursor !== undefined && !after) {
    throw validationFailed([{ field: "cursor", message: "is not a cursor returned by this API" }]);
  }
  const limit = query.limit ?? DEFAULT_LIMIT;
  const rows = await listAuditEntries(
    db,
    workspaceId,
    {
      actorId: query.actor,
      action: query.action === undefined ? undefined : actionFilterOf(query.action),
      objectType: query.objectType,
      objectId: query.objectId,
      from: query.from === undefined ? undefined : new Date(query.from),
      to: query.to === undefined ? undefined : new Date(query.to),
      after,
    },
    limit + 1,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(toEntry),
    nextCursor: rows.length > limit && last ? encodeAuditCursor({ at: last.at, id: last.id }) : null,
  };
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actor: { kind: row.actor_kind, id: row.actor_id, label: row.actor_label },
    action: row.action,
    objectType: row.object_type,
    objectId: row.object_id,
    requestId: row.request_id,
    status: row.status,
    ip: row.ip,
    details: row.details,
  };
}
