/** SQL for workflows and their published versions. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { WorkflowRow } from "../db/schema.ts";

export async function insertWorkflow(
  db: Executor,
  row: { workspaceId: string; id: string; name: string; description: string | null; graph: unknown },
): Promise<WorkflowRow> {
  return db
    .insertInto("workflows")
    .values({
      workspace_id: row.workspaceId,
      id: row.id,
      name: row.name,
      description: row.description,
      graph: JSON.stringify(row.graph),
      latest_version: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findWorkflow(db: Executor, workspaceId: string, id: string, forUpdate = false) {
  let query = db
    .selectFrom("workflows")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function findWorkflowByName(db: Executor, workspaceId: string, name: string) {
  return db
    .selectFrom("workflows")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
    .executeTakeFirst();
}

export async function listWorkflows(db: Executor, workspaceId: string, limit: number, afterId?: string) {
  let query = db.selectFrom("workflows").selectAll().where("workspace_id", "=", workspaceId);
  if (afterId) query = query.where("id", "<", afterId);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function updateWorkflow(
  db: Executor,
  workspaceId: string,
  id: string,
  patch: { name?: string; description?: string | null; graph?: unknown; latestVersion?: number },
) {
  return db
    .updateTable("workflows")
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.graph !== undefined ? { graph: JSON.stringify(patch.graph) } : {}),
      ...(patch.latestVersion !== undefined ? { latest_version: patch.latestVersion } : {}),
      updated_at: new Date(),
    })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteWorkflow(db: Executor, workspaceId: string, id: string) {
  await db.deleteFrom("workflows").where("workspace_id", "=", workspaceId).where("id", "=", id).execute();
}

/**
 * A published version: its graph, and the version of each template its send nodes use
 * (`{templateId: version}`, migration 000013; read with raw SQL until db/schema.ts declares the column).
 */
export interface WorkflowVersionRow {
  workspace_id: string;
  workflow_id: string;
  version: number;
  graph: unknown;
  template_versions: Record<string, number>;
  published_at: Date;
}

export async function insertVersion(
  db: Executor,
  row: {
    workspaceId: string;
    workflowId: string;
    version: number;
    graph: unknown;
    templateVersions: Record<string, number>;
  },
): Promise<WorkflowVersionRow> {
  const { rows } = await sql<WorkflowVersionRow>`
    insert into workflow_versions (workspace_id, workflow_id, version, graph, template_versions)
    values (${row.workspaceId}, ${row.workflowId}, ${row.version}, ${JSON.stringify(row.graph)}::jsonb,
            ${JSON.stringify(row.templateVersions)}::jsonb)
    returning workspace_id, workflow_id, version, graph, template_versions, published_at`.execute(db);
  return rows[0]!;
}

export async function findVersion(
  db: Executor,
  workspaceId: string,
  workflowId: string,
  version: number,
): Promise<WorkflowVersionRow | undefined> {
  const { rows } = await sql<WorkflowVersionRow>`
    select workspace_id, workflow_id, version, graph, template_versions, published_at
    from workflow_versions
    where workspace_id = ${workspaceId} and workflow_id = ${workflowId} and version = ${version}`.execute(db);
  return rows[0];
}

export async function listVersions(db: Executor, workspaceId: string, workflowId: string) {
  return db
    .selectFrom("workflow_versions")
    .select(["workflow_id", "version", "published_at"])
    .where("workspace_id", "=", workspaceId)
    .where("workflow_id", "=", workflowId)
    .orderBy("version", "desc")
    .execute();
}

export async function countCampaignsOfWorkflow(db: Executor, workspaceId: string, workflowId: string) {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from campaigns where workspace_id = ${workspaceId} and workflow_id = ${workflowId}`.execute(
    db,
  );
  return rows[0]?.n ?? 0;
}
