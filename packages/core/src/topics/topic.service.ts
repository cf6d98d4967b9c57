/**
 * Subscription topics: create, read, rename, delete, and a contact's choice of a topic. A topic that a
 * running or paused campaign still sends under cannot be deleted. Names are unique in the workspace
 * whatever their case.
 */
import type { ContactTopic, Topic, TopicCreate, TopicPatch } from "@omneural/contracts/topics";
import { findContactById } from "../contacts/contact.repository.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import { AppError, notFound } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf, cleanName, pageOf } from "../shared/pagination.ts";
import {
  deleteTopic,
  findActiveCampaignOfTopic,
  findTopic,
  findTopicByName,
  insertTopic,
  listContactTopics,
  listTopics,
  updateTopic,
  upsertContactTopic,
} from "./topic.repository.ts";
import { cleanDescription, toContactTopic, toTopic } from "./topic.ts";

function nameTaken(name: string, otherId: string): AppError {
  return new AppError("CONFLICT", `a topic named "${name}" already exists`, {
    errors: [{ field: "name", message: "is already used by another topic" }],
    topicId: otherId,
  });
}

async function assertNameFree(db: Executor, ws: WorkspaceContext, name: string, selfId?: string) {
  const other = await findTopicByName(db, ws.id, name);
  if (other && other.id !== selfId) throw nameTaken(other.name, other.id);
}

/** A concurrent create or rename that took the name first loses on the unique index: the same 409. */
async function onNameRace<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      throw new AppError("CONFLICT", `a topic named "${name}" already exists`, {
        errors: [{ field: "name", message: "is already used by another topic" }],
      });
    }
    throw error;
  }
}

export async function requireTopic(db: Executor, ws: WorkspaceContext, id: string, forUpdate = false) {
  const row = await findTopic(db, ws.id, id, forUpdate);
  if (!row) throw notFound("topic", id);
  return row;
}

export async function createTopic(db: Db, ws: WorkspaceContext, input: TopicCreate): Promise<Topic> {
  const name = cleanName(input.name);
  return onNameRace(name, () =>
    db.transaction().execute(async (trx) => {
      await assertNameFree(trx, ws, name);
      const row = await insertTopic(trx, {
        workspaceId: ws.id,
        id: uuidv7(),
        name,
        description: cleanDescription(input.description),
      });
      return toTopic(row);
    }),
  );
}

export async function getTopic(db: Db, ws: WorkspaceContext, id: string): Promise<Topic> {
  return toTopic(await requireTopic(db, ws, id));
}

export async function listTopicsPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string },
) {
  const limit = query.limit ?? 50;
  const rows = await listTopics(db, ws.id, limit + 1, afterIdOf(query.cursor));
  return pageOf(rows, limit, toTopic);
}

export async function patchTopic(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: TopicPatch,
): Promise<Topic> {
  const name = patch.name === undefined ? undefined : cleanName(patch.name);
  return onNameRace(name ?? "", () =>
    db.transaction().execute(async (trx) => {
      const row = await requireTopic(trx, ws, id, true);
      if (name !== undefined) await assertNameFree(trx, ws, name, id);
      const updated = await updateTopic(trx, ws.id, id, {
        name: name ?? row.name,
        description: patch.description === undefined ? row.description : cleanDescription(patch.description),
      });
      return toTopic(updated);
    }),
  );
}

/**
 * Deletes a topic and every contact's choice of it. Refused while a running or paused campaign belongs
 * to it: its queued messages would lose the opt-outs they are checked against. Other campaigns of the
 * topic (drafts, finished ones) keep no topic.
 */
export async function removeTopic(db: Db, ws: WorkspaceContext, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await requireTopic(trx, ws, id, true);
    const campaign = await findActiveCampaignOfTopic(trx, ws.id, id);
    if (campaign) {
      throw new AppError(
        "CONFLICT",
        `topic ${id} is used by the ${campaign.status} campaign "${campaign.name}": cancel it or let it finish first`,
        { campaignId: campaign.id },
      );
    }
    await deleteTopic(trx, ws.id, id);
  });
}

/** Sets whether a contact receives a topic's campaigns (the API's counterpart of the preference centre). */
export async function setContactTopic(
  db: Db,
  ws: WorkspaceContext,
  contactId: string,
  topicId: string,
  subscribed: boolean,
  now = new Date(),
): Promise<ContactTopic> {
  return db.transaction().execute(async (trx) => {
    if (!(await findContactById(trx, ws.id, contactId))) throw notFound("contact", contactId);
    await requireTopic(trx, ws, topicId);
    const row = await upsertContactTopic(trx, { workspaceId: ws.id, contactId, topicId, subscribed, now });
    return toContactTopic(row);
  });
}

/** The contact's choice for every topic of the workspace. */
export async function getContactTopics(db: Db, ws: WorkspaceContext, contactId: string) {
  if (!(await findContactById(db, ws.id, contactId))) throw notFound("contact", contactId);
  const rows = await listContactTopics(db, ws.id, contactId);
  return {
    data: rows.map((r) => ({
      topicId: r.id,
      name: r.name,
      subscribed: r.subscribed ?? true,
      changedAt: r.changed_at?.toISOString() ?? null,
    })),
  };
}
