/** SQL for campaigns as code: everything a workspace defines, in creation order, and draft re-pointing. */
import type { Executor } from "../db/database.ts";

export async function listAllTemplates(db: Executor, workspaceId: string) {
  return db
    .selectFrom("templates")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .orderBy("id")
    .execute();
}

export async function listAllAudiences(db: Executor, workspaceId: string) {
  return db
    .selectFrom("audiences")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .orderBy("id")
    .execute();
}

export async function listAllWorkflows(db: Executor, workspaceId: string) {
  return db
    .selectFrom("workflows")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .orderBy("id")
    .execute();
}

export async function listAllCampaigns(db: Executor, workspaceId: string) {
  return db
    .selectFrom("campaigns")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .orderBy("id")
    .execute();
}

export async function listAllAdDestinations(db: Executor, workspaceId: string) {
  return db
    .selectFrom("ad_destinations")
    .select(["id", "name"])
    .where("workspace_id", "=", workspaceId)
    .orderBy("id")
    .execute();
}

/** Points a campaign that is still a draft at another audience or workflow version. */
export async function repointDraftCampaign(
  db: Executor,
  workspaceId: string,
  id: string,
  to: { audienceId: string; workflowId: string; workflowVersion: number; wakeEventTypes: string[] },
) {
  return db
    .updateTable("campaigns")
    .set({
      audience_id: to.audienceId,
      workflow_id: to.workflowId,
      workflow_version: to.workflowVersion,
      wake_event_types: to.wakeEventTypes,
      updated_at: new Date(),
    })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .where("status", "=", "draft")
    .returningAll()
    .executeTakeFirst();
}
