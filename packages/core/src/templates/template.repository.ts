/** SQL for templates, their versions and their test sends. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { TemplateRow, TemplateVersionRow } from "../db/schema.ts";

export type { TemplateVersionRow };

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

export async function findTemplate(db: Executor, workspaceId: string, id: string, forUpdate = false) {
  const query = db
    .selectFrom("templates")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id);
  return (forUpdate ? query.forUpdate() : query).executeTakeFirst();
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
    .select(["id", "name", "channel", "content", "version"])
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

/** A new content comes with its version number; the caller records the version in the same transaction. */
export async function updateTemplate(
  db: Executor,
  workspaceId: string,
  id: string,
  patch: { name?: string; content?: Record<string, unknown>; version?: number },
) {
  return db
    .updateTable("templates")
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.content !== undefined ? { content: JSON.stringify(patch.content) } : {}),
      ...(patch.version !== undefined ? { version: patch.version } : {}),
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

// Versions ------------------------------------------------------------------------------------------

export async function insertTemplateVersion(
  db: Executor,
  row: {
    workspaceId: string;
    templateId: string;
    version: number;
    content: Record<string, unknown>;
    change: "created" | "edited" | "restored";
    restoredFrom?: number;
    source: "api" | "ui" | "system" | null;
    actor: string | null;
  },
): Promise<TemplateVersionRow> {
  return db
    .insertInto("template_versions")
    .values({
      workspace_id: row.workspaceId,
      template_id: row.templateId,
      version: row.version,
      content: JSON.stringify(row.content),
      change: row.change,
      restored_from: row.restoredFrom ?? null,
      source: row.source,
      actor: row.actor,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTemplateVersion(
  db: Executor,
  workspaceId: string,
  templateId: string,
  version: number,
) {
  return db
    .selectFrom("template_versions")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("template_id", "=", templateId)
    .where("version", "=", version)
    .executeTakeFirst();
}

/** Newest first, without their content; `beforeVersion` continues a page. */
export async function listTemplateVersions(
  db: Executor,
  workspaceId: string,
  templateId: string,
  limit: number,
  beforeVersion?: number,
) {
  let query = db
    .selectFrom("template_versions")
    .select(["template_id", "version", "change", "restored_from", "source", "actor", "created_at"])
    .where("workspace_id", "=", workspaceId)
    .where("template_id", "=", templateId);
  if (beforeVersion !== undefined) query = query.where("version", "<", beforeVersion);
  return query.orderBy("version", "desc").limit(limit).execute();
}

/**
 * Given template versions, for the dispatcher: the shape of dispatch.repository's `selectTemplates`
 * plus `version`, so a message can render with the version it was pinned to. A key whose template or
 * version does not exist (or is of another workspace) is simply absent from the result.
 */
export async function selectTemplateVersions(
  db: Executor,
  keys: { workspaceId: string; templateId: string; version: number }[],
) {
  if (keys.length === 0) return [];
  const { rows } = await sql<{
    workspace_id: string;
    id: string;
    version: number;
    channel: string;
    content: Record<string, unknown>;
  }>`
    select v.workspace_id, v.template_id as id, v.version, t.channel, v.content
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.templateId)}::uuid[],
                ${keys.map((k) => k.version)}::int[]) as k(w, t_id, v_no)
    join template_versions v on v.workspace_id = k.w and v.template_id = k.t_id and v.version = k.v_no
    join templates t on t.workspace_id = v.workspace_id and t.id = v.template_id`.execute(db);
  return rows;
}

// Test sends ----------------------------------------------------------------------------------------

/** Test sends of a workspace since `since`: how many, and when the oldest of them was. */
export async function countTestSendsSince(db: Executor, workspaceId: string, since: Date) {
  const row = await db
    .selectFrom("template_test_sends")
    .select((eb) => [eb.fn.countAll<string>().as("n"), eb.fn.min("sent_at").as("oldest")])
    .where("workspace_id", "=", workspaceId)
    .where("sent_at", ">", since)
    .executeTakeFirstOrThrow();
  return { count: Number(row.n), oldest: row.oldest as Date | null };
}

/** Serialises a workspace's test-send reservations until the transaction ends. */
export async function lockTestSends(db: Executor, workspaceId: string) {
  await sql`select pg_advisory_xact_lock(hashtext('template_test_sends'), hashtext(${workspaceId}))`.execute(
    db,
  );
}

export async function insertTestSend(
  db: Executor,
  row: {
    workspaceId: string;
    id: string;
    templateId: string;
    templateVersion: number;
    channel: "email" | "sms";
    recipient: string;
    actor: string | null;
    sentAt: Date;
  },
) {
  await db
    .insertInto("template_test_sends")
    .values({
      workspace_id: row.workspaceId,
      id: row.id,
      template_id: row.templateId,
      template_version: row.templateVersion,
      channel: row.channel,
      recipient: row.recipient,
      actor: row.actor,
      sent_at: row.sentAt,
      outcome: null,
      provider_message_id: null,
    })
    .execute();
}

export async function recordTestSendOutcome(
  db: Executor,
  workspaceId: string,
  id: string,
  outcome: { outcome: string; providerMessageId: string | null },
) {
  await db
    .updateTable("template_test_sends")
    .set({ outcome: outcome.outcome, provider_message_id: outcome.providerMessageId })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .execute();
}
