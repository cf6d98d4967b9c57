/** SQL of changing a campaign's definition. */
import type { Updateable } from "kysely";
import type { Executor } from "../db/database.ts";
import type { CampaignsTable } from "../db/schema.ts";

export async function updateCampaignRow(
  db: Executor,
  workspaceId: string,
  id: string,
  set: Updateable<CampaignsTable>,
) {
  return db
    .updateTable("campaigns")
    .set(set)
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
