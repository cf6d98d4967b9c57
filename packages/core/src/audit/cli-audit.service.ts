/**
 * Audit entries of the `omneural` commands that change a workspace's data (workspace create, import
 * contacts): written after the change, by the `cli` actor (the operating-system user and host).
 * See docs/audit-log.md.
 */
import type { Executor } from "../db/database.ts";
import { cliActor } from "./actors.ts";
import { recordAudit } from "./audit.service.ts";

export interface CliChange {
  /** `<object type>.<verb>`, as the API's entries: workspace.create, api_key.create, import.create. */
  action: string;
  objectId: string | null;
  details?: Record<string, unknown>;
}

/** Records each change in the workspace, all by the same command. */
export async function auditCliChanges(
  db: Executor,
  workspaceId: string,
  changes: readonly CliChange[],
  actor = cliActor(),
) {
  for (const change of changes) {
    await recordAudit(db, workspaceId, {
      actor,
      action: change.action,
      objectId: change.objectId,
      ...(change.details ? { details: change.details } : {}),
    });
  }
}
