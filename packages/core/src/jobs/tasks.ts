/** The background jobs run by the worker role (graphile-worker), and its cron schedule. */
import type { Task, TaskList } from "graphile-worker";
import type { DatabaseHandle } from "../db/database.ts";
import { IMPORT_JOB, recoverStalledImports } from "../imports/import.service.ts";
import { runImportInThread } from "../imports/import-runner.ts";

export const RECOVER_IMPORTS_JOB = "recover_stalled_imports";

/** Every minute: requeue imports whose worker died. */
export const CRONTAB = `* * * * * ${RECOVER_IMPORTS_JOB} ?max=1&jobKey=${RECOVER_IMPORTS_JOB}&jobKeyMode=replace`;

export function buildTaskList(handle: DatabaseHandle): TaskList {
  const importContacts: Task = async (payload) => {
    const { workspaceId, importId } = payload as { workspaceId: string; importId: string };
    await runImportInThread(handle.url, workspaceId, importId);
  };
  const recoverImports: Task = async () => {
    await recoverStalledImports(handle.db);
  };
  return { [IMPORT_JOB]: importContacts, [RECOVER_IMPORTS_JOB]: recoverImports };
}
