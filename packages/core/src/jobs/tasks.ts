/** The background jobs run by the worker role (graphile-worker), and its cron schedule. */
import type { Task, TaskList } from "graphile-worker";
import {
  MEMBERSHIP_JOB,
  REFRESH_AUDIENCES_JOB,
  reevaluateContacts,
  refreshAllListenedAudiences,
} from "../audiences/membership.ts";
import { CAMPAIGN_ENTRY_JOB, type EntryJobPayload, runCampaignEntryJob } from "../campaigns/entry.ts";
import { runCampaignSchedule } from "../campaigns/schedule.service.ts";
import type { DatabaseHandle } from "../db/database.ts";
import {
  type PrintBatchSettings,
  printBatchCronLine,
  runPrintBatchCutoff,
} from "../delivery/print-batch-channel.ts";
import { EVENT_PARTITIONS_JOB, ensureEventPartitions } from "../events/partitions.ts";
import { IMPORT_JOB, recoverStalledImports } from "../imports/import.service.ts";
import { runImportInThread } from "../imports/import-runner.ts";
import { RETENTION_JOB, runScheduledRetention } from "../retention/retention.service.ts";

export const RECOVER_IMPORTS_JOB = "recover_stalled_imports";
export const PRINT_BATCH_CUTOFF_JOB = "print_batch_cutoff";
export const CAMPAIGN_SCHEDULE_JOB = "campaign_schedule";

/**
 * Every minute: requeue imports whose worker died; start and end campaigns on their schedule. Every
 * hour: re-check listened segments in full (rules relative to time change without any event). Every
 * day at 02:41 UTC: the coming months' partitions of `events`; at 03:17 UTC: every enabled retention
 * policy of every workspace (docs/data-lifecycle.md).
 */
export const CRONTAB = [
  `* * * * * ${RECOVER_IMPORTS_JOB} ?max=1&jobKey=${RECOVER_IMPORTS_JOB}&jobKeyMode=replace`,
  `* * * * * ${CAMPAIGN_SCHEDULE_JOB} ?max=1&jobKey=${CAMPAIGN_SCHEDULE_JOB}&jobKeyMode=replace`,
  `7 * * * * ${REFRESH_AUDIENCES_JOB} ?max=1&jobKey=${REFRESH_AUDIENCES_JOB}&jobKeyMode=replace`,
  `41 2 * * * ${EVENT_PARTITIONS_JOB} ?max=1&jobKey=${EVENT_PARTITIONS_JOB}&jobKeyMode=replace`,
  `17 3 * * * ${RETENTION_JOB} ?max=1&jobKey=${RETENTION_JOB}&jobKeyMode=replace`,
].join("\n");

/** What the worker's jobs need from the configuration. */
export interface TaskOptions {
  /** Direct mail by print batch (PRINT_BATCH_DIR set): the daily cut-off runs. */
  printBatch?: PrintBatchSettings;
  /** Keys.tombstones: imported contacts with an erased contact's opted-out address start unsubscribed. */
  tombstoneKey?: Buffer | undefined;
}

/** The cron schedule: CRONTAB, and the print-batch cut-off (PRINT_BATCH_CUTOFF, UTC) when it is on. */
export function crontabFor(options: TaskOptions = {}): string {
  if (!options.printBatch) return CRONTAB;
  return `${CRONTAB}\n${printBatchCronLine(options.printBatch.cutoff, PRINT_BATCH_CUTOFF_JOB)}`;
}

export function buildTaskList(handle: DatabaseHandle, options: TaskOptions = {}): TaskList {
  const importContacts: Task = async (payload) => {
    const { workspaceId, importId } = payload as { workspaceId: string; importId: string };
    await runImportInThread(handle.url, workspaceId, importId, { tombstoneKey: options.tombstoneKey });
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
  const campaignSchedule: Task = async () => {
    await runCampaignSchedule(handle.db);
  };
  const campaignEntry: Task = async (payload) => {
    await runCampaignEntryJob(handle.db, payload as EntryJobPayload);
  };
  const printBatchCutoff: Task = async (payload) => {
    if (!options.printBatch) return;
    // A cron run closes the cut-off it was scheduled for (a backfilled one too); a run queued by hand,
    // the latest one before now.
    const ts = (payload as { _cron?: { ts?: string } } | null)?._cron?.ts;
    await runPrintBatchCutoff(handle.db, options.printBatch, ts ? { cutoffAt: new Date(ts) } : {});
  };
  const retention: Task = async (_payload, helpers) => {
    // Each policy records its own run (a failure as `failed`); one failing does not stop the rest.
    await runScheduledRetention(handle.db, {
      tombstoneKey: options.tombstoneKey,
      onError: (error, policy) =>
        helpers.logger.error(`retention ${policy.kind} of workspace ${policy.workspace_id} failed: ${error}`),
    });
  };
  const eventPartitions: Task = async (_payload, helpers) => {
    const created = await ensureEventPartitions(handle.db);
    if (created) helpers.logger.info(`created ${created} monthly partition(s) of events`);
  };
  return {
    [IMPORT_JOB]: importContacts,
    [EVENT_PARTITIONS_JOB]: eventPartitions,
    [RETENTION_JOB]: retention,
    [CAMPAIGN_SCHEDULE_JOB]: campaignSchedule,
    [CAMPAIGN_ENTRY_JOB]: campaignEntry,
    [PRINT_BATCH_CUTOFF_JOB]: printBatchCutoff,
    [RECOVER_IMPORTS_JOB]: recoverImports,
    [MEMBERSHIP_JOB]: membership,
    [REFRESH_AUDIENCES_JOB]: refreshAudiences,
  };
}
