/** SQL for campaigns as code: everything a workspace defines, in creation order. */
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
