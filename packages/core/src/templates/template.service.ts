/** Templates: create, read, rename, edit content, delete (refused while a published workflow uses it). */
import type { Template, TemplateCreate, TemplatePatch } from "@omneural/contracts/templates";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import type { TemplateRow } from "../db/schema.ts";
import { AppError, notFound } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf, cleanName, pageOf } from "../shared/pagination.ts";
import {
  countVersionsUsingTemplate,
  deleteTemplate,
  findTemplate,
  findTemplateByName,
  insertTemplate,
  listTemplates,
  updateTemplate,
} from "./template.repository.ts";

export function toTemplate(row: TemplateRow): Template {
  return {
    id: row.id,
    name: row.name,
    channel: row.channel as Template["channel"],
    content: row.content,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

async function assertNameFree(db: Executor, ws: WorkspaceContext, name: string, selfId?: string) {
  const other = await findTemplateByName(db, ws.id, name);
  if (other && other.id !== selfId) {
    throw new AppError("CONFLICT", `a template named "${other.name}" already exists`, {
      errors: [{ field: "name", message: "is already used by another template" }],
      templateId: other.id,
    });
  }
}

export async function createTemplate(db: Db, ws: WorkspaceContext, input: TemplateCreate): Promise<Template> {
  const name = cleanName(input.name);
  return db.transaction().execute(async (trx) => {
    await assertNameFree(trx, ws, name);
    const row = await insertTemplate(trx, {
      workspaceId: ws.id,
      id: uuidv7(),
      name,
      channel: input.channel,
      content: input.content ?? {},
    });
    return toTemplate(row);
  });
}

export async function getTemplate(db: Db, ws: WorkspaceContext, id: string): Promise<Template> {
  const row = await findTemplate(db, ws.id, id);
  if (!row) throw notFound("template", id);
  return toTemplate(row);
}

export async function listTemplatesPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string; channel?: string },
) {
  const limit = query.limit ?? 50;
  const rows = await listTemplates(db, ws.id, limit + 1, afterIdOf(query.cursor), query.channel);
  return pageOf(rows, limit, toTemplate);
}

export async function patchTemplate(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: TemplatePatch,
): Promise<Template> {
  const name = patch.name === undefined ? undefined : cleanName(patch.name);
  return db.transaction().execute(async (trx) => {
    if (name !== undefined) await assertNameFree(trx, ws, name, id);
    const row = await updateTemplate(trx, ws.id, id, {
      ...(name !== undefined ? { name } : {}),
      ...(patch.content !== undefined ? { content: patch.content } : {}),
    });
    if (!row) throw notFound("template", id);
    return toTemplate(row);
  });
}

export async function removeTemplate(db: Db, ws: WorkspaceContext, id: string) {
  if (!(await findTemplate(db, ws.id, id))) throw notFound("template", id);
  const uses = await countVersionsUsingTemplate(db, ws.id, id);
  if (uses > 0) {
    throw new AppError("CONFLICT", `template ${id} is used by ${uses} published workflow version(s)`, {
      errors: [{ field: "id", message: "is used by a published workflow" }],
    });
  }
  await deleteTemplate(db, ws.id, id);
}
