/**
 * The campaign scheduler: starts scheduled campaigns whose `startAt` has come and ends campaigns whose
 * `endAt` has passed. The worker runs it every minute (cron) and once at start-up, so a minute missed
 * while no worker ran is caught up. Safe with several workers and idempotent: each campaign is started or
 * ended in its own transaction that locks its row and re-checks its status, so a second scheduler on the
 * same campaign finds nothing left to do.
 */
import type { Db } from "../db/database.ts";
import { listCampaignsDueToEnd, listCampaignsDueToStart } from "./campaign.repository.ts";
import { endCampaign, launchCampaign } from "./campaign.service.ts";

/** Campaigns started or ended per pass; a backlog larger than this is worked through by the next pass. */
const CAMPAIGNS_PER_PASS = 100;

export interface SchedulePassResult {
  started: string[];
  ended: string[];
}

/**
 * One pass at `now`: ends first, so a scheduled campaign whose end has also passed (no worker ran for
 * its whole window) completes without enrolling anyone; then starts, each through the normal launch.
 */
export async function runCampaignSchedule(db: Db, now = new Date()): Promise<SchedulePassResult> {
  const ended: string[] = [];
  for (const c of await listCampaignsDueToEnd(db, now, CAMPAIGNS_PER_PASS)) {
    if ((await endCampaign(db, { id: c.workspace_id }, c.id, now)).ended) ended.push(c.id);
  }
  const started: string[] = [];
  for (const c of await listCampaignsDueToStart(db, now, CAMPAIGNS_PER_PASS)) {
    if ((await launchCampaign(db, { id: c.workspace_id }, c.id, now)).started) started.push(c.id);
  }
  return { started, ended };
}
