import type { Executor } from "../db/database.ts";
import type { WorkspaceRow } from "../db/schema.ts";

export async function insertWorkspace(
  db: Executor,
  row: { name: string; defaultCountry: string; defaultTimezone: string },
): Promise<WorkspaceRow> {
  return db
    .insertInto("workspaces")
    .values({ name: row.name, default_country: row.defaultCountry, default_timezone: row.defaultTimezone })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findWorkspace(db: Executor, id: string): Promise<WorkspaceRow | undefined> {
  return db.selectFrom("workspaces").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function listWorkspaces(db: Executor): Promise<WorkspaceRow[]> {
  return db.selectFrom("workspaces").selectAll().orderBy("created_at").execute();
}
