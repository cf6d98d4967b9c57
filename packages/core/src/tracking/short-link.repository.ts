import type { Executor } from "../db/database.ts";

export interface ShortLink {
  workspaceId: string;
  messageId: string;
  url: string;
}

/** The short link a code stands for (any workspace: the code alone identifies it), or undefined. */
export async function selectShortLink(db: Executor, code: string): Promise<ShortLink | undefined> {
  const row = await db
    .selectFrom("short_links")
    .select(["workspace_id", "message_id", "url"])
    .where("code", "=", code)
    .executeTakeFirst();
  return row && { workspaceId: row.workspace_id, messageId: row.message_id, url: row.url };
}
