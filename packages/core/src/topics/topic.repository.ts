/** SQL for subscription topics and contacts' choices of them. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { TopicRow } from "../db/schema.ts";

export async function insertTopic(
  db: Executor,
  row: { workspaceId: string; id: string; name: string; description: string | null },
): Promise<TopicRow> {
  return db
    .insertInto("topics")
    .values({ workspace_id: row.workspaceId, id: row.id, name: row.name, description: row.description })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTopic(db: Executor, workspaceId: string, id: string, forUpdate = false) {
  let query = db
    .selectFrom("topics")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function findTopicByName(db: Executor, workspaceId: string, name: string) {
  return db
    .selectFrom("topics")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
    .executeTakeFirst();
}

export async function listTopics(db: Executor, workspaceId: string, limit: number, afterId?: string) {
  let query = db.selectFrom("topics").selectAll().where("workspace_id", "=", workspaceId);
  if (afterId) query = query.where("id", "<", afterId);
  return query.orderBy("id", "desc").limit(limit).execute();
}

/** Every topic of the workspace, by name: what the preference centre shows. */
export async function listAllTopics(db: Executor, workspaceId: string) {
  return db
    .selectFrom("topics")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .orderBy(sql`lower(name)`)
    .orderBy("id")
    .execute();
}

export async function updateTopic(
  db: Executor,
  workspaceId: string,
  id: string,
  values: { name: string; description: string | null },
): Promise<TopicRow> {
  return db
    .updateTable("topics")
    .set(values)
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteTopic(db: Executor, workspaceId: string, id: string) {
  await db.deleteFrom("topics").where("workspace_id", "=", workspaceId).where("id", "=", id).execute();
}

/** A running or paused campaign of the topic (they still send under it), if any. */
export async function findActiveCampaignOfTopic(db: Executor, workspaceId: string, topicId: string) {
  return db
    .selectFrom("campaigns")
    .select(["id", "name", "status"])
    .where("workspace_id", "=", workspaceId)
    .where("topic_id", "=", topicId)
    .where("status", "in", ["running", "paused"])
    .orderBy("id")
    .executeTakeFirst();
}

/** Sets a contact's choice for a topic (no-op when unchanged, so `changed_at` says when it last changed). */
export async function upsertContactTopic(
  db: Executor,
  row: { workspaceId: string; contactId: string; topicId: string; subscribed: boolean; now: Date },
) {
  await sql`
    insert into contact_topics (workspace_id, contact_id, topic_id, subscribed, changed_at)
    values (${row.workspaceId}, ${row.contactId}, ${row.topicId}, ${row.subscribed}, ${row.now})
    on conflict (workspace_id, contact_id, topic_id) do update
      set subscribed = excluded.subscribed, changed_at = excluded.changed_at
      where contact_topics.subscribed <> excluded.subscribed`.execute(db);
  return db
    .selectFrom("contact_topics")
    .selectAll()
    .where("workspace_id", "=", row.workspaceId)
    .where("contact_id", "=", row.contactId)
    .where("topic_id", "=", row.topicId)
    .executeTakeFirstOrThrow();
}

/** The contact's stored choices, topic id → subscribed (topics without a row are subscribed). */
export async function selectContactTopicChoices(db: Executor, workspaceId: string, contactId: string) {
  const rows = await db
    .selectFrom("contact_topics")
    .select(["topic_id", "subscribed"])
    .where("workspace_id", "=", workspaceId)
    .where("contact_id", "=", contactId)
    .execute();
  return new Map(rows.map((r) => [r.topic_id, r.subscribed]));
}

/** The topic of the campaign a message belongs to, if it has one. */
export async function findTopicOfMessage(db: Executor, workspaceId: string, messageId: string) {
  const { rows } = await sql<TopicRow>`
    select t.* from messages m
    join campaigns c on c.workspace_id = m.workspace_id and c.id = m.campaign_id
    join topics t on t.workspace_id = c.workspace_id and t.id = c.topic_id
    where m.workspace_id = ${workspaceId} and m.id = ${messageId}`.execute(db);
  return rows[0];
}

/** Every topic of the workspace with the contact's choice (no row: subscribed). */
export async function listContactTopics(db: Executor, workspaceId: string, contactId: string) {
  return db
    .selectFrom("topics as t")
    .leftJoin("contact_topics as ct", (join) =>
      join
        .onRef("ct.workspace_id", "=", "t.workspace_id")
        .onRef("ct.topic_id", "=", "t.id")
        .on("ct.contact_id", "=", contactId),
    )
    .select(["t.id", "t.name", "ct.subscribed", "ct.changed_at"])
    .where("t.workspace_id", "=", workspaceId)
    .orderBy("t.name")
    .execute();
}
