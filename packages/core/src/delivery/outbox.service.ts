/** Reading the dev inbox: what the development provider "sent", newest first. */
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { afterIdOf, pageOf } from "../shared/pagination.ts";
import { listOutbox } from "./outbox.repository.ts";

export async function listOutboxPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string; channel?: string; recipient?: string },
) {
  const limit = query.limit ?? 50;
  const rows = await listOutbox(db, ws.id, {
    limit: limit + 1,
    ...(query.cursor !== undefined ? { afterId: afterIdOf(query.cursor) } : {}),
    ...(query.channel ? { channel: query.channel } : {}),
    ...(query.recipient ? { recipient: query.recipient } : {}),
  });
  return pageOf(rows, limit, (row) => ({
    id: row.id,
    messageId: row.message_id,
    channel: row.channel as "email" | "sms" | "mail" | "ads" | "webhook",
    recipient: row.recipient,
    subject: row.subject,
    content: row.content,
    headers: row.headers as Record<string, string>,
    createdAt: row.created_at.toISOString(),
  }));
}
