/** The background jobs run by the worker role (graphile-worker), and its cron schedule. */
import type { Task, TaskList } from "graphile-worker";
import {
  MEMBERSHIP_JOB,
  REFRESH_AUDIENCES_JOB,
  reevaluateContacts,
  refreshAllListenedAudiences,
} from "../audiences/membership.ts";
import type { DatabaseHandle } from "../db/database.ts";
import { IMPORT_JOB, recoverStalledImports } from "../imports/import.service.ts";
import { runImportInThread } from "../imports/import-runner.ts";

export const RECOVER_IMPORTS_JOB = "recover_stalled_imports";

/**
 * Every minute: requeue imports whose worker died. Every hour: re-check listened segments in full
 * (rules relative to time change without any event).
 */
export const CRONTAB = [
  `* * * * * ${RECOVER_IMPORTS_JOB} ?max=1&jobKey=${RECOVER_IMPORTS_JOB}&jobKeyMode=replace`,
  `7 * * * * ${REFRESH_AUDIENCES_JOB} ?max=1&jobKey=${REFRESH_AUDIENCES_JOB}&jobKeyMode=replace`,
].join("\n");

export function buildTaskList(handle: DatabaseHandle): TaskList {
  const importContacts: Task = async (payload) => {
    const { workspaceId, importId } = payload as { workspaceId: string; importId: string };
    await runImportInThread(handle.url, workspaceId, importId);
  };
  const recoverImports: Task = async () => {
    await recoverStalledImports(handle.db);
  };
  const membership: Task = async (payload) => {
    const { workspaceId, contactIds, cause } = payload as {
      workspaceId: string;
      contactIds: string[];
      cause: string;
    };
    await reevaluateContacts(handle.db, workspaceId, contactIds, cause);
  };
  const refreshAudiences: Task = async () => {
    await refreshAllListenedAudiences(handle.db);
  };
  return {
    [IMPORT_JOB]: importContacts,
    [RECOVER_IMPORTS_JOB]: recoverImports,
    [MEMBERSHIP_JOB]: membership,
    [REFRESH_AUDIENCES_JOB]: refreshAudiences,
  };
}
