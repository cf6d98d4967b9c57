/**
 * Workflows: drafts that may be edited freely (and may be invalid while being built), validation that
 * names the nodes at fault, and publishing into immutable numbered versions that campaigns pin.
 */

import { isDeepStrictEqual } from "node:util";
import type { Rule } from "@omneural/contracts/audiences";
import type {
  Workflow,
  WorkflowCreate,
  WorkflowGraph,
  WorkflowPatch,
  WorkflowProblem,
  WorkflowVersion,
} from "@omneural/contracts/workflows";
import { findAdDestinationsByIds } from "../ads/ad-destination.repository.ts";
import { findAudience } from "../audiences/audience.repository.ts";
import { compileForWorkspace } from "../audiences/audience.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import type { WorkflowRow } from "../db/schema.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf, cleanName, pageOf } from "../shared/pagination.ts";
import { missingContent } from "../templates/render.ts";
import { findTemplatesByIds } from "../templates/template.repository.ts";
import {
  countCampaignsOfWorkflow,
  deleteWorkflow,
  findVersion,
  findWorkflow,
  findWorkflowByName,
  insertVersion,
  insertWorkflow,
  listVersions,
  listWorkflows,
  updateWorkflow,
} from "./workflow.repository.ts";
import {
  referencedAdDestinationIds,
  referencedTemplateIds,
  validateWorkflowGraph,
} from "./workflow-validation.ts";

/** A new workflow starts as entry → exit, which is valid and can be built on. */
export const STARTER_GRAPH: WorkflowGraph = {
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "exit" }, position: { x: 0, y: 0 } },
    { id: "exit", type: "exit", outlets: {}, position: { x: 0, y: 160 } },
  ],
};

const MAX_GRAPH_BYTES = 1_000_000;

async function latestGraph(db: Executor, row: WorkflowRow) {
  if (row.latest_version === null) return undefined;
  return (await findVersion(db, row.workspace_id, row.id, row.latest_version))?.graph;
}

async function toWorkflow(db: Executor, row: WorkflowRow): Promise<Workflow> {
  const latest = await latestGraph(db, row);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    graph: row.graph,
    latestVersion: row.latest_version,
    draftChanged: latest === undefined || !isDeepStrictEqual(latest, row.graph),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function checkDraft(graph: unknown): unknown {
  if (typeof graph !== "object" || graph === null || Array.isArray(graph)) {
    throw validationFailed([{ field: "graph", message: "must be an object with a nodes array" }]);
  }
  const json = JSON.stringify(graph);
  if (json.length > MAX_GRAPH_BYTES) {
    throw validationFailed([{ field: "graph", message: `must be under ${MAX_GRAPH_BYTES} bytes of JSON` }]);
  }
  // PostgreSQL's jsonb cannot hold the NUL character.
  if (json.includes("\\u0000")) {
    throw validationFailed([{ field: "graph", message: "must not contain the NUL character (\\u0000)" }]);
  }
  return graph;
}

async function assertNameFree(db: Executor, ws: WorkspaceContext, name: string, selfId?: string) {
  const other = await findWorkflowByName(db, ws.id, name);
  if (other && other.id !== selfId) {
    throw new AppError("CONFLICT", `a workflow named "${other.name}" already exists`, {
      errors: [{ field: "name", message: "is already used by another workflow" }],
      workflowId: other.id,
    });
  }
}

async function requireWorkflow(db: Executor, ws: WorkspaceContext, id: string, forUpdate = false) {
  const row = await findWorkflow(db, ws.id, id, forUpdate);
  if (!row) throw notFound("workflow", id);
  return row;
}

export async function createWorkflow(db: Db, ws: WorkspaceContext, input: WorkflowCreate): Promise<Workflow> {
  const name = cleanName(input.name);
  const graph = input.graph === undefined ? STARTER_GRAPH : checkDraft(input.graph);
  return db.transaction().execute(async (trx) => {
    await assertNameFree(trx, ws, name);
    const row = await insertWorkflow(trx, {
      workspaceId: ws.id,
      id: uuidv7(),
      name,
      description: input.description ?? null,
      graph,
    });
    return toWorkflow(trx, row);
  });
}

export async function getWorkflow(db: Db, ws: WorkspaceContext, id: string): Promise<Workflow> {
  return toWorkflow(db, await requireWorkflow(db, ws, id));
}

export async function listWorkflowsPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string },
) {
  const limit = query.limit ?? 50;
  const rows = await listWorkflows(db, ws.id, limit + 1, afterIdOf(query.cursor));
  return pageOf(rows, limit, (row) => toWorkflow(db, row));
}

export async function patchWorkflow(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: WorkflowPatch,
): Promise<Workflow> {
  const name = patch.name === undefined ? undefined : cleanName(patch.name);
  const graph = patch.graph === undefined ? undefined : checkDraft(patch.graph);
  return db.transaction().execute(async (trx) => {
    await requireWorkflow(trx, ws, id, true);
    if (name !== undefined) await assertNameFree(trx, ws, name, id);
    const row = await updateWorkflow(trx, ws.id, id, {
      ...(name !== undefined ? { name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(graph !== undefined ? { graph } : {}),
    });
    return toWorkflow(trx, row!);
  });
}

export async function removeWorkflow(db: Db, ws: WorkspaceContext, id: string) {
  await requireWorkflow(db, ws, id);
  const campaigns = await countCampaignsOfWorkflow(db, ws.id, id);
  if (campaigns > 0) {
    throw new AppError(
      "CONFLICT",
      `workflow ${id} is used by ${campaigns} campaign(s); it cannot be deleted`,
      {
        errors: [{ field: "id", message: "is used by a campaign" }],
      },
    );
  }
  await deleteWorkflow(db, ws.id, id);
}

/**
 * Every problem of a graph: its structure (workflow-validation.ts), then what only the database knows —
 * templates of this workspace and channel, and the audiences and lists that conditions and updates name.
 */
export async function checkGraph(
  db: Executor,
  ws: WorkspaceContext,
  graph: unknown,
  now = new Date(),
): Promise<
  | { ok: true; graph: WorkflowGraph; templateVersions: Record<string, number> }
  | { ok: false; errors: WorkflowProblem[] }
> {
  const templates = await findTemplatesByIds(db, ws.id, referencedTemplateIds(graph));
  const adDestinations = await findAdDestinationsByIds(db, ws.id, referencedAdDestinationIds(graph));
  const result = validateWorkflowGraph(graph, {
    templates: new Map(templates.map((t) => [t.id, { id: t.id, channel: t.channel }])),
    adDestinations: new Map(adDestinations.map((d) => [d.id, { id: d.id }])),
  });
  if (!result.ok) return result;
  const errors: WorkflowProblem[] = [];
  const contentOf = new Map(templates.map((t) => [t.id, t]));
  for (const [index, node] of result.graph.nodes.entries()) {
    const at = `nodes[${index}]`;
    if (node.type === "send" && node.templateId) {
      const template = contentOf.get(node.templateId.toLowerCase()) ?? contentOf.get(node.templateId);
      const missing = template ? missingContent(template.channel, template.content) : [];
      if (missing.length) {
        errors.push({
          nodeId: node.id,
          field: `${at}.templateId`,
          message: `node "${node.id}": template ${node.templateId} is not ready to send: it has no ${missing.join(", ")}`,
        });
      }
    }
    const rules: [string, Rule][] =
      node.type === "condition"
        ? node.rule
          ? [[`${at}.rule`, node.rule as Rule]]
          : (node.branches ?? []).map((b, i) => [`${at}.branches[${i}].rule`, b.rule as Rule])
        : [];
    for (const [field, rule] of rules) {
      try {
        // A condition's query joins the member's enrollment: entry_event rules may read it.
        await compileForWorkspace(db, ws.id, rule, now, new Map(), undefined, { enrollment: true });
      } catch (error) {
        const problems = error instanceof AppError ? (error.extra.errors ?? []) : [];
        const message = problems.map((p) => p.message).join("; ") || (error as Error).message;
        errors.push({ nodeId: node.id, field, message: `node "${node.id}": ${message}` });
      }
    }
    if (node.type === "update") {
      for (const [key, ids] of [
        ["addToLists", node.addToLists ?? []],
        ["removeFromLists", node.removeFromLists ?? []],
      ] as const) {
        for (const [i, listId] of ids.entries()) {
          const audience = await findAudience(db, ws.id, listId);
          if (audience?.kind !== "list") {
            errors.push({
              nodeId: node.id,
              field: `${at}.${key}[${i}]`,
              message: `node "${node.id}": ${listId} is not a list of this workspace`,
            });
          }
        }
      }
    }
  }
  if (errors.length) return { ok: false, errors };
  // Goal and exit nodes may omit their (empty) outlets; published versions always carry them.
  for (const node of result.graph.nodes) node.outlets ??= {};
  return { ...result, templateVersions: pinsOf(templates) };
}

/** `{templateId: version}` of these templates: what a published version pins. */
function pinsOf(templates: { id: string; version: number }[]): Record<string, number> {
  return Object.fromEntries(templates.map((t) => [t.id, t.version]));
}

/** The current version of each template the graph's send nodes name. */
async function currentTemplateVersions(db: Executor, ws: WorkspaceContext, graph: unknown) {
  return pinsOf(await findTemplatesByIds(db, ws.id, referencedTemplateIds(graph)));
}

export async function validateWorkflow(db: Db, ws: WorkspaceContext, id: string, graph?: unknown) {
  const row = await requireWorkflow(db, ws, id);
  const result = await checkGraph(db, ws, graph ?? row.graph);
  return { valid: result.ok, errors: result.ok ? [] : result.errors };
}

function toVersion(row: {
  workflow_id: string;
  version: number;
  graph: unknown;
  published_at: Date;
}): WorkflowVersion {
  return {
    workflowId: row.workflow_id,
    version: row.version,
    graph: row.graph as WorkflowGraph,
    publishedAt: row.published_at.toISOString(),
  };
}

/**
 * Publishes the draft as the next version, pinning the current version of each template its send nodes
 * use. Idempotent: publishing a draft equal to the latest version, while its templates are still at the
 * versions that version pinned, returns that version; after a template edit it makes a new version with
 * the new pins. An invalid draft is refused with every problem, each naming its node.
 */
export async function publishWorkflow(
  db: Db,
  ws: WorkspaceContext,
  id: string,
): Promise<{ version: WorkflowVersion; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const row = await requireWorkflow(trx, ws, id, true);
    if (row.latest_version !== null) {
      const latest = await findVersion(trx, ws.id, id, row.latest_version);
      if (
        latest &&
        isDeepStrictEqual(latest.graph, row.graph) &&
        isDeepStrictEqual(latest.template_versions, await currentTemplateVersions(trx, ws, row.graph))
      )
        return { version: toVersion(latest), created: false };
    }
    const checked = await checkGraph(trx, ws, row.graph);
    if (!checked.ok) {
      throw new AppError(
        "WORKFLOW_INVALID",
        `the workflow cannot be published: ${checked.errors.map((e) => e.message).join("; ")}`,
        { errors: checked.errors },
      );
    }
    const version = (row.latest_version ?? 0) + 1;
    const inserted = await insertVersion(trx, {
      workspaceId: ws.id,
      workflowId: id,
      version,
      graph: checked.graph,
      templateVersions: checked.templateVersions,
    });
    await updateWorkflow(trx, ws.id, id, { latestVersion: version });
    return { version: toVersion(inserted), created: true };
  });
}

export async function listWorkflowVersions(db: Db, ws: WorkspaceContext, id: string) {
  await requireWorkflow(db, ws, id);
  const rows = await listVersions(db, ws.id, id);
  return {
    data: rows.map((r) => ({
      workflowId: r.workflow_id,
      version: r.version,
      publishedAt: r.published_at.toISOString(),
    })),
  };
}

export async function getWorkflowVersion(
  db: Executor,
  ws: WorkspaceContext,
  id: string,
  version: number,
): Promise<WorkflowVersion> {
  const row = await findVersion(db, ws.id, id, version);
  if (!row) throw notFound("workflow version", `${id} v${version}`);
  return toVersion(row);
}
