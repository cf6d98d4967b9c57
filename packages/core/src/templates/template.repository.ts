/** SQL for templates. */
import type { Executor } from "../db/database.ts";
import type { TemplateRow } from "../db/schema.ts";

export async function insertTemplate(
  db: Executor,
  row: { workspaceId: string; id: string; name: string; channel: string; content: Record<string, unknown> },
): Promise<TemplateRow> {
  return db
    .insertInto("templates")
    .values({
      workspace_id: row.workspaceId,
      id: row.id,
      name: row.name,
      channel: row.channel,
      content: JSON.stringify(row.content),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTemplate(db: Executor, workspaceId: string, id: string) {
  return db
    .selectFrom("templates")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .executeTakeFirst();
}

export async function findTemplateByName(db: Executor, workspaceId: string, name: string) {
  return db
    .selectFrom("templates")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
    .executeTakeFirst();
}

/** The templates of a workspace among these ids: an id of another workspace is simply not found. */
export async function findTemplatesByIds(db: Executor, workspaceId: string, ids: string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom("templates")
    .select(["id", "channel", "content"])
    .where("workspace_id", "=", workspaceId)
    .where("id", "in", ids)
    .execute();
}

export async function listTemplates(
  db: Executor,
  workspaceId: string,
  limit: number,
  afterId?: string,
  channel?: string,
) {
  let query = db.selectFrom("templates").selectAll().where("workspace_id", "=", workspaceId);
  if (afterId) query = query.where("id", "<", afterId);
  if (channel) query = query.where("channel", "=", channel);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function updateTemplate(
  db: Executor,
  workspaceId: string,
  id: string,
  patch: { name?: string; content?: Record<string, unknown> },
) {
  return db
    .updateTable("templates")
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.content !== undefined ? { content: JSON.stringify(patch.content) } : {}),
      updated_at: new Date(),
    })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteTemplate(db: Executor, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom("templates")
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Published workflow versions whose send nodes name this template. */
export async function countVersionsUsingTemplate(db: Executor, workspaceId: string, id: string) {
  const row = await db
    .selectFrom("workflow_versions")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("workspace_id", "=", workspaceId)
    .where((eb) => eb(eb.cast("graph", "text"), "like", `%${id}%`))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
