/**
 * Templates: create, read, rename, edit content (checked before it is saved), delete (refused while a
 * published workflow uses it), and preview for a real, hypothetical or sample contact. Every content
 * change records an immutable numbered version; an old version can be restored as a new one.
 */
import { isDeepStrictEqual } from "node:util";
import type {
  EmailContent,
  MailContent,
  SmsContent,
  Template,
  TemplateContent,
  TemplateCreate,
  TemplateDraftPreviewRequest,
  TemplatePatch,
  TemplatePreview,
  TemplatePreviewRequest,
  TemplateVersion,
  TemplateVersionSummary,
} from "@omneural/contracts/templates";
import { getContact, type WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import type { TemplateRow } from "../db/schema.ts";
import { AppError, type FieldProblem, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf, cleanName, pageOf } from "../shared/pagination.ts";
import {
  missingContent,
  type RenderContact,
  SAMPLE_CONTACT,
  TemplateRenderError,
  TemplateRenderer,
} from "./render.ts";
import {
  countVersionsUsingTemplate,
  deleteTemplate,
  findTemplate,
  findTemplateByName,
  findTemplateVersion,
  insertTemplate,
  insertTemplateVersion,
  listTemplates,
  listTemplateVersions,
  type TemplateVersionRow,
  updateTemplate,
} from "./template.repository.ts";
import { validateTemplateContent } from "./template.ts";

/** One renderer per process: its caches keep compiled MJML per content version. */
export const templateRenderer = new TemplateRenderer();

type Channel = Template["channel"];

/** Who changed a template, recorded on the versions it makes (as `source` and `actor`). */
export interface TemplateActor {
  source: "api" | "ui" | "system";
  /** The API key, when there is one. */
  id: string | null;
}

export function toTemplate(row: TemplateRow): Template {
  return {
    id: row.id,
    name: row.name,
    channel: row.channel as Channel,
    content: row.content as TemplateContent,
    missing: missingContent(row.channel, row.content),
    version: row.version,
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

/** Refuses content that does not fit its channel, does not parse, or uses an unknown variable. */
async function assertContentValid(channel: Channel, content: Record<string, unknown>) {
  const problems = await validateTemplateContent(channel, content, templateRenderer);
  if (problems.length > 0) throw validationFailed(problems);
}

export async function createTemplate(
  db: Db,
  ws: WorkspaceContext,
  input: TemplateCreate,
  actor?: TemplateActor,
): Promise<Template> {
  const name = cleanName(input.name);
  const content = (input.content ?? {}) as Record<string, unknown>;
  await assertContentValid(input.channel, content);
  return db.transaction().execute(async (trx) => {
    await assertNameFree(trx, ws, name);
    const row = await insertTemplate(trx, {
      workspaceId: ws.id,
      id: uuidv7(),
      name,
      channel: input.channel,
      content,
    });
    await insertTemplateVersion(trx, {
      workspaceId: ws.id,
      templateId: row.id,
      version: row.version,
      content,
      change: "created",
      ...actorColumns(actor),
    });
    return toTemplate(row);
  });
}

function actorColumns(actor: TemplateActor | undefined) {
  return { source: actor?.source ?? null, actor: actor?.id ?? null };
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
  actor?: TemplateActor,
): Promise<Template> {
  const name = patch.name === undefined ? undefined : cleanName(patch.name);
  const content = patch.content as Record<string, unknown> | undefined;
  if (content !== undefined) {
    const existing = await findTemplate(db, ws.id, id);
    if (!existing) throw notFound("template", id);
    await assertContentValid(existing.channel as Channel, content);
  }
  return db.transaction().execute(async (trx) => {
    // Locked, so that concurrent edits number their versions one after the other.
    const current = await findTemplate(trx, ws.id, id, true);
    if (!current) throw notFound("template", id);
    const renamed = name !== undefined && name !== current.name;
    const edited = content !== undefined && !isDeepStrictEqual(content, current.content);
    // A PATCH that changes nothing changes nothing: no version, and updatedAt stays.
    if (!renamed && !edited) return toTemplate(current);
    if (renamed) await assertNameFree(trx, ws, name, id);
    const row = await updateTemplate(trx, ws.id, id, {
      ...(renamed ? { name } : {}),
      ...(edited ? { content, version: current.version + 1 } : {}),
    });
    if (!row) throw notFound("template", id);
    if (edited) {
      await insertTemplateVersion(trx, {
        workspaceId: ws.id,
        templateId: id,
        version: row.version,
        content,
        change: "edited",
        ...actorColumns(actor),
      });
    }
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

// Versions ------------------------------------------------------------------------------------------

function toVersionSummary(
  row: Pick<
    TemplateVersionRow,
    "template_id" | "version" | "change" | "restored_from" | "source" | "actor" | "created_at"
  >,
): TemplateVersionSummary {
  return {
    templateId: row.template_id,
    version: row.version,
    change: row.change,
    restoredFrom: row.restored_from,
    actor: row.source ? { source: row.source, id: row.actor } : null,
    createdAt: row.created_at.toISOString(),
  };
}

function toVersion(row: TemplateVersionRow, channel: string): TemplateVersion {
  return {
    ...toVersionSummary(row),
    content: row.content as TemplateContent,
    missing: missingContent(channel, row.content),
  };
}

/** Version pages continue below the last version shown: the cursor is that number, opaquely. */
const versionCursor = (version: number) => Buffer.from(`v${version}`).toString("base64url");

function beforeVersionOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^v([1-9][0-9]{0,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw validationFailed([{ field: "cursor", message: "is not a cursor returned by this API" }]);
  return Number(match[1]);
}

export async function listTemplateVersionsPage(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  query: { limit?: number; cursor?: string },
): Promise<{ data: TemplateVersionSummary[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const before = beforeVersionOf(query.cursor);
  if (!(await findTemplate(db, ws.id, id))) throw notFound("template", id);
  const rows = await listTemplateVersions(db, ws.id, id, limit + 1, before);
  const page = rows.slice(0, limit);
  return {
    data: page.map(toVersionSummary),
    nextCursor: rows.length > limit ? versionCursor(page[page.length - 1]!.version) : null,
  };
}

export async function getTemplateVersion(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  version: number,
): Promise<TemplateVersion> {
  const template = await findTemplate(db, ws.id, id);
  if (!template) throw notFound("template", id);
  const row = await findTemplateVersion(db, ws.id, id, version);
  if (!row) throw notFound(`version ${version} of template`, id);
  return toVersion(row, template.channel);
}

/**
 * Makes a version's content current again, as a new version (history is never rewritten). The content
 * is checked as an edit would be, since the checks may have grown stricter since it was saved.
 * Restoring the content that is already current changes nothing.
 */
export async function restoreTemplateVersion(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  version: number,
  actor?: TemplateActor,
): Promise<Template> {
  const target = await getTemplateVersion(db, ws, id, version);
  const content = target.content as Record<string, unknown>;
  const template = await findTemplate(db, ws.id, id);
  if (!template) throw notFound("template", id);
  await assertContentValid(template.channel as Channel, content);
  return db.transaction().execute(async (trx) => {
    const current = await findTemplate(trx, ws.id, id, true);
    if (!current) throw notFound("template", id);
    if (isDeepStrictEqual(content, current.content)) return toTemplate(current);
    const row = await updateTemplate(trx, ws.id, id, { content, version: current.version + 1 });
    if (!row) throw notFound("template", id);
    await insertTemplateVersion(trx, {
      workspaceId: ws.id,
      templateId: id,
      version: row.version,
      content,
      change: "restored",
      restoredFrom: version,
      ...actorColumns(actor),
    });
    return toTemplate(row);
  });
}

// Previews ------------------------------------------------------------------------------------------

const TEXT_FIELDS = ["id", "externalId", "email", "phone", "firstName", "lastName", "timezone"] as const;
const ADDRESS_FIELDS = ["line1", "line2", "city", "region", "postalCode", "country"] as const;

/** A hypothetical contact from a preview request, checked field by field. */
function hypotheticalContact(input: Record<string, unknown>): RenderContact {
  const problems: FieldProblem[] = [];
  const contact: RenderContact = {};
  const text = (value: unknown, field: string) => {
    if (value === null || typeof value === "string") return value;
    problems.push({ field, message: "must be a string or null" });
    return null;
  };
  for (const [key, value] of Object.entries(input)) {
    if ((TEXT_FIELDS as readonly string[]).includes(key)) {
      contact[key as (typeof TEXT_FIELDS)[number]] = text(value, `contact.${key}`);
    } else if (key === "address" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      const address: Record<string, string | null> = {};
      for (const [part, partValue] of Object.entries(value)) {
        if (!(ADDRESS_FIELDS as readonly string[]).includes(part)) {
          problems.push({ field: `contact.address.${part}`, message: "is not an address field" });
        } else address[part] = text(partValue, `contact.address.${part}`);
      }
      contact.address = address;
    } else if (key === "attributes" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      contact.attributes = value as Record<string, unknown>;
    } else if (key !== "consent" && key !== "createdAt" && key !== "updatedAt") {
      problems.push({ field: `contact.${key}`, message: "is not a contact field a template can use" });
    }
  }
  if (problems.length > 0) throw validationFailed(problems);
  return contact;
}

async function previewContactOf(
  db: Db,
  ws: WorkspaceContext,
  request: TemplatePreviewRequest,
): Promise<{ contact: RenderContact; source: TemplatePreview["contact"] }> {
  const hypothetical = request.contact ? hypotheticalContact(request.contact) : undefined;
  if (request.contactId) {
    const real = await getContact(db, ws, request.contactId);
    const contact: RenderContact = hypothetical
      ? {
          ...real,
          ...hypothetical,
          address: { ...real.address, ...hypothetical.address },
          attributes: { ...real.attributes, ...hypothetical.attributes },
        }
      : real;
    return { contact, source: { source: "contact", id: real.id } };
  }
  if (hypothetical) return { contact: hypothetical, source: { source: "hypothetical", id: null } };
  return { contact: SAMPLE_CONTACT, source: { source: "sample", id: null } };
}

/** Renders content for one contact; a failure is this member's reason, returned as a value. */
async function renderPreview(
  channel: Channel,
  content: Record<string, unknown>,
  contact: RenderContact,
  source: TemplatePreview["contact"],
  firstMessage: boolean,
): Promise<TemplatePreview> {
  const base = { channel, contact: source };
  try {
    switch (channel) {
      case "email":
        return {
          ...base,
          ok: true,
          errors: [],
          email: await templateRenderer.renderEmail(content as EmailContent, contact),
        };
      case "sms":
        return {
          ...base,
          ok: true,
          errors: [],
          sms: templateRenderer.renderSms(content as SmsContent, contact, {
            firstMessageToNumber: firstMessage,
          }),
        };
      case "mail":
        return {
          ...base,
          ok: true,
          errors: [],
          mail: templateRenderer.renderMail(content as MailContent, contact),
        };
      default:
        return { ...base, ok: true, errors: [] };
    }
  } catch (error) {
    if (!(error instanceof TemplateRenderError)) throw error;
    return { ...base, ok: false, errors: [{ field: error.field, message: error.message }] };
  }
}

export async function previewTemplate(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  request: TemplatePreviewRequest,
): Promise<TemplatePreview> {
  const template = await getTemplate(db, ws, id);
  const { contact, source } = await previewContactOf(db, ws, request);
  const content = template.content as Record<string, unknown>;
  return renderPreview(template.channel, content, contact, source, request.firstMessage ?? false);
}

/** Renders content that is not saved, after the checks a save would make. */
export async function previewDraft(
  db: Db,
  ws: WorkspaceContext,
  request: TemplateDraftPreviewRequest,
): Promise<TemplatePreview> {
  const content = request.content as Record<string, unknown>;
  await assertContentValid(request.channel, content);
  const { contact, source } = await previewContactOf(db, ws, request);
  return renderPreview(request.channel, content, contact, source, request.firstMessage ?? false);
}
