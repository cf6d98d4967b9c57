/** Audience use cases: define, validate, count, preview, list members, freeze into a list. */
import type { Audience, AudienceCreate, AudiencePatch, Rule } from "@omneural/contracts/audiences";
import type { Contact } from "@omneural/contracts/contacts";
import { sql } from "kysely";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { encodeCursor, toContact } from "../contacts/contact.ts";
import type { Db, Executor } from "../db/database.ts";
import type { AudienceRow } from "../db/schema.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf } from "../shared/pagination.ts";
import {
  addListMembers,
  countListMembers,
  countReachWhere,
  countWhere,
  deleteAudience as deleteAudienceRow,
  findAudience,
  findAudienceByName,
  findCampaignsUsingAudience,
  findReferencingAudiences,
  forgetCounts,
  insertAudience,
  insertListFromWhere,
  listAudiences,
  listMemberWhere,
  listTransitions,
  readCachedCount,
  removeListMembers,
  selectContactsWhere,
  selectListMembers,
  storeCount,
  updateAudience,
} from "./audience.repository.ts";
import { AudienceCompileError, compileRule } from "./audience-compiler.ts";
import { validateRule } from "./audience-rules.ts";
import { refreshAudienceMembership } from "./membership.ts";

export function toAudience(row: AudienceRow): Audience {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    definition: row.definition ?? null,
    listened: row.listened,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * Compiles a definition for this workspace; `overrides` stands in for audiences being edited.
 * `options.enrollment`: the rule is a workflow condition whose query joins the member's enrollment `en`
 * (see CompileContext.enrollment), so `entry_event` rules are allowed.
 *
 * An audience never selects an archived contact: every use of an audience (counts, previews, members,
 * freezing, listened membership, a campaign's launch and entry) goes through here, so the exclusion is
 * made once. A workflow condition is asked about members already enrolled, and is left as written.
 */
export async function compileForWorkspace(
  db: Executor,
  workspaceId: string,
  rule: Rule,
  now: Date,
  overrides: Map<string, { kind: "segment" | "list"; definition: Rule | null }> = new Map(),
  onlyContacts?: string[],
  options: { enrollment?: boolean } = {},
) {
  try {
    const where = await compileRule(rule, {
      workspaceId,
      now,
      ...(onlyContacts ? { onlyContacts } : {}),
      ...(options.enrollment ? { enrollment: true } : {}),
      resolveAudience: async (id) => {
        const override = overrides.get(id);
        if (override) return override;
        const row = await findAudience(db, workspaceId, id);
        return row ? { kind: row.kind, definition: (row.definition as Rule | null) ?? null } : undefined;
      },
    });
    return options.enrollment ? where : sql<boolean>`(c.archived_at is null and ${where})`;
  } catch (error) {
    if (error instanceof AudienceCompileError)
      throw validationFailed([{ field: error.field, message: error.message }]);
    throw error;
  }
}

function checkDefinition(definition: unknown): Rule {
  const checked = validateRule(definition, "definition");
  if (!checked.ok) throw validationFailed(checked.errors);
  return checked.rule;
}

async function assertNameFree(db: Executor, ws: WorkspaceContext, name: string, selfId?: string) {
  const other = await findAudienceByName(db, ws.id, name);
  if (other && other.id !== selfId) {
    throw new AppError("CONFLICT", `an audience named "${other.name}" already exists`, {
      errors: [{ field: "name", message: "is already used by another audience" }],
      audienceId: other.id,
    });
  }
}

export async function createAudience(
  db: Db,
  ws: WorkspaceContext,
  input: AudienceCreate,
  now = new Date(),
): Promise<Audience> {
  const kind = input.kind ?? "segment";
  const name = input.name.trim();
  if (!name) throw validationFailed([{ field: "name", message: "must not be blank" }]);
  let definition: Rule | null = null;
  if (kind === "list") {
    if (input.definition !== undefined)
      throw validationFailed([
        { field: "definition", message: "a list has no definition; add members instead" },
      ]);
    if (input.listened)
      throw validationFailed([{ field: "listened", message: "only segments are listened to" }]);
  } else {
    if (input.definition === undefined)
      throw validationFailed([{ field: "definition", message: "is required for a segment" }]);
    definition = checkDefinition(input.definition);
  }
  const id = uuidv7();
  if (definition)
    await compileForWorkspace(db, ws.id, definition, now, new Map([[id, { kind, definition }]]));
  const row = await db.transaction().execute(async (trx) => {
    await assertNameFree(trx, ws, name);
    return insertAudience(trx, {
      workspaceId: ws.id,
      id,
      name,
      description: input.description ?? null,
      kind,
      definition,
      listened: input.listened ?? false,
    });
  });
  if (row.listened) await refreshAudienceMembership(db, row, "listening started", now);
  return toAudience(row);
}

async function requireAudience(db: Executor, ws: WorkspaceContext, id: string): Promise<AudienceRow> {
  const row = await findAudience(db, ws.id, id);
  if (!row) throw notFound("audience", id);
  return row;
}

export async function getAudience(db: Db, ws: WorkspaceContext, id: string): Promise<Audience> {
  return toAudience(await requireAudience(db, ws, id));
}

export async function listAudiencesPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string },
) {
  const limit = query.limit ?? 50;
  const afterId = afterIdOf(query.cursor);
  const rows = await listAudiences(db, ws.id, limit + 1, afterId);
  const page = rows.slice(0, limit);
  return {
    data: page.map(toAudience),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}

export async function patchAudience(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: AudiencePatch,
  now = new Date(),
) {
  const existing = await requireAudience(db, ws, id);
  let definition: Rule | undefined;
  if (patch.definition !== undefined) {
    if (existing.kind === "list")
      throw validationFailed([{ field: "definition", message: "a list has no definition" }]);
    definition = checkDefinition(patch.definition);
    // Compile with the new definition in place of the old, so a cycle through this audience is caught.
    await compileForWorkspace(db, ws.id, definition, now, new Map([[id, { kind: "segment", definition }]]));
  }
  if (patch.listened && existing.kind === "list")
    throw validationFailed([{ field: "listened", message: "only segments are listened to" }]);
  const row = await db.transaction().execute(async (trx) => {
    if (patch.name !== undefined) await assertNameFree(trx, ws, patch.name.trim(), id);
    const updated = await updateAudience(trx, ws.id, id, {
      name: patch.name?.trim(),
      description: patch.description,
      definition,
      listened: patch.listened,
    });
    await forgetCounts(trx, ws.id);
    return updated;
  });
  if (row.listened && (definition !== undefined || (patch.listened && !existing.listened))) {
    await refreshAudienceMembership(
      db,
      row,
      definition !== undefined ? "definition changed" : "listening started",
      now,
    );
  }
  return toAudience(row);
}

export async function removeAudience(db: Db, ws: WorkspaceContext, id: string) {
  await requireAudience(db, ws, id);
  const users = await findReferencingAudiences(db, ws.id, id);
  const realUsers = users.filter((u) => u.id !== id);
  if (realUsers.length) {
    throw new AppError(
      "CONFLICT",
      `the audience is used by ${realUsers.map((u) => `"${u.name}"`).join(", ")}; change those first`,
      {
        usedBy: realUsers.map((u) => u.id),
      },
    );
  }
  const campaigns = await findCampaignsUsingAudience(db, ws.id, id);
  if (campaigns.length) {
    throw new AppError(
      "CONFLICT",
      `the audience is used by campaign ${campaigns.map((c) => `"${c.name}"`).join(", ")}; it cannot be deleted`,
      { usedBy: campaigns.map((c) => c.id) },
    );
  }
  await db.transaction().execute(async (trx) => {
    await deleteAudienceRow(trx, ws.id, id);
    await forgetCounts(trx, ws.id);
  });
  return { id, deleted: true as const };
}

/** The count of a definition right now, and a sample of members. */
export async function previewAudience(db: Db, ws: WorkspaceContext, definition: unknown, now = new Date()) {
  const rule = checkDefinition(definition);
  const started = performance.now();
  const where = await compileForWorkspace(db, ws.id, rule, now);
  const [count, sample] = await Promise.all([
    countWhere(db, ws.id, where),
    selectContactsWhere(db, ws.id, where, 20),
  ]);
  return {
    count,
    sample: sample.map((row) => toContact(row)),
    tookMs: Math.round(performance.now() - started),
  };
}

/** An audience's size, from the cache when it is at most `maxAgeSeconds` old. */
export async function countAudience(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  maxAgeSeconds = 60,
  now = new Date(),
) {
  const row = await requireAudience(db, ws, id);
  const cached = await readCachedCount(db, ws.id, id);
  if (cached && now.getTime() - cached.computed_at.getTime() <= maxAgeSeconds * 1000) {
    return {
      count: Number(cached.count),
      computedAt: cached.computed_at.toISOString(),
      ageSeconds: Math.max(0, (now.getTime() - cached.computed_at.getTime()) / 1000),
      cached: true,
    };
  }
  const count =
    row.kind === "list"
      ? await countListMembers(db, ws.id, id)
      : await countWhere(db, ws.id, await compileForWorkspace(db, ws.id, row.definition as Rule, now));
  await storeCount(db, ws.id, id, count, now);
  return { count, computedAt: now.toISOString(), ageSeconds: 0, cached: false };
}

/**
 * The audience's count with, per channel, how many members it may reach now (countReachWhere): always
 * computed for this request, in one statement; the count is cached as countAudience's would be.
 */
export async function countAudienceReach(db: Db, ws: WorkspaceContext, id: string, now = new Date()) {
  const row = await requireAudience(db, ws, id);
  const where =
    row.kind === "list"
      ? listMemberWhere(ws.id, id)
      : await compileForWorkspace(db, ws.id, row.definition as Rule, now);
  const { count, email, sms, mail } = await countReachWhere(db, ws.id, where);
  await storeCount(db, ws.id, id, count, now);
  return { count, computedAt: now.toISOString(), ageSeconds: 0, cached: false, reach: { email, sms, mail } };
}

export async function audienceMembers(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  query: { limit?: number; cursor?: string },
  now = new Date(),
): Promise<{ data: Contact[]; nextCursor: string | null }> {
  const row = await requireAudience(db, ws, id);
  const limit = query.limit ?? 50;
  const afterId = afterIdOf(query.cursor);
  const rows =
    row.kind === "list"
      ? await selectListMembers(db, ws.id, id, limit + 1, afterId)
      : await selectContactsWhere(
          db,
          ws.id,
          await compileForWorkspace(db, ws.id, row.definition as Rule, now),
          limit + 1,
          afterId,
        );
  const page = rows.slice(0, limit);
  return {
    data: page.map((r) => toContact(r)),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
  };
}

async function requireList(db: Executor, ws: WorkspaceContext, id: string) {
  const row = await requireAudience(db, ws, id);
  if (row.kind !== "list") {
    throw new AppError(
      "VALIDATION_FAILED",
      "members can be added to or removed from lists only; a segment's members follow its definition",
      {
        errors: [{ field: "id", message: "is a segment, not a list" }],
      },
    );
  }
  return row;
}

export async function changeListMembers(
  db: Db,
  ws: WorkspaceContext,
  listId: string,
  contactIds: string[],
  change: "add" | "remove",
) {
  await requireList(db, ws, listId);
  const unique = [...new Set(contactIds)];
  return db.transaction().execute(async (trx) => {
    const rows =
      change === "add"
        ? (await addListMembers(trx, ws.id, listId, unique)).map((r) => ({
            id: r.contact_id,
            changed: r.added,
          }))
        : (await removeListMembers(trx, ws.id, listId, unique)).map((r) => ({
            id: r.contact_id,
            changed: r.removed,
          }));
    await forgetCounts(trx, ws.id);
    const found = new Set(rows.map((r) => r.id));
    return {
      changed: rows.filter((r) => r.changed).length,
      unchanged: rows.filter((r) => !r.changed).length,
      notFound: unique.filter((id) => !found.has(id)),
    };
  });
}

/** Freezes a segment's members at this moment into a new list. */
export async function freezeAudience(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  input: { name: string; description?: string },
  now = new Date(),
) {
  const source = await requireAudience(db, ws, id);
  const where =
    source.kind === "segment"
      ? await compileForWorkspace(db, ws.id, source.definition as Rule, now)
      : await compileForWorkspace(db, ws.id, { kind: "list", listId: source.id }, now);
  const listId = uuidv7();
  const row = await db.transaction().execute(async (trx) => {
    await assertNameFree(trx, ws, input.name.trim());
    const list = await insertAudience(trx, {
      workspaceId: ws.id,
      id: listId,
      name: input.name.trim(),
      description: input.description ?? `Members of "${source.name}" on ${now.toISOString()}`,
      kind: "list",
      definition: null,
      listened: false,
    });
    await insertListFromWhere(trx, ws.id, listId, where);
    return list;
  });
  return toAudience(row);
}

export async function audienceTransitions(db: Db, ws: WorkspaceContext, id: string, limit = 100) {
  await requireAudience(db, ws, id);
  const rows = await listTransitions(db, ws.id, id, limit);
  return {
    data: rows.map((r) => ({
      contactId: r.contact_id,
      transition: r.transition,
      cause: r.cause,
      at: r.at.toISOString(),
    })),
  };
}
