/** SQL for the dev inbox's `outbox` table. */
import type { Executor } from "../db/database.ts";
import { uuidv7 } from "../shared/ids.ts";

export interface OutboxEntry {
  workspaceId: string;
  messageId: string | null;
  channel: "email" | "sms" | "mail" | "ads" | "webhook";
  recipient: string;
  subject: string | null;
  content: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Records one delivery; returns its outbox id (the existing one when the ledger row was delivered). */
export async function recordInOutbox(db: Executor, entry: OutboxEntry): Promise<string> {
  const id = uuidv7();
  const inserted = await db
    .insertInto("outbox")
    .values({
      workspace_id: entry.workspaceId,
      id,
      message_id: entry.messageId,
      channel: entry.channel,
      recipient: entry.recipient,
      subject: entry.subject,
      content: JSON.stringify(entry.content),
      headers: JSON.stringify(entry.headers),
    })
    .onConflict((oc) =>
      oc.columns(["workspace_id", "message_id"]).where("message_id", "is not", null).doNothing(),
    )
    .returning("id")
    .executeTakeFirst();
  if (inserted) return inserted.id;
  const existing = await db
    .selectFrom("outbox")
    .select("id")
    .where("workspace_id", "=", entry.workspaceId)
    .where("message_id", "=", entry.messageId)
    .executeTakeFirstOrThrow();
  return existing.id;
}

export async function listOutbox(
  db: Executor,
  workspaceId: string,
  options: { limit: number; afterId?: string; channel?: string; recipient?: string },
) {
  let query = db.selectFrom("outbox").selectAll().where("workspace_id", "=", workspaceId);
  if (options.afterId) query = query.where("id", "<", options.afterId);
  if (options.channel) query = query.where("channel", "=", options.channel);
  if (options.recipient) query = query.where("recipient", "=", options.recipient);
  return query.orderBy("id", "desc").limit(options.limit).execute();
}
