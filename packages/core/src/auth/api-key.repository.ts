import type { Executor } from "../db/database.ts";

export async function insertApiKey(
  db: Executor,
  row: { workspaceId: string; name: string; prefix: string; hash: Buffer },
): Promise<{ id: string; createdAt: Date }> {
  const inserted = await db
    .insertInto("api_keys")
    .values({ workspace_id: row.workspaceId, name: row.name, prefix: row.prefix, key_hash: row.hash })
    .returning(["id", "created_at"])
    .executeTakeFirstOrThrow();
  return { id: inserted.id, createdAt: inserted.created_at };
}

export async function findActiveKeyByHash(
  db: Executor,
  hash: Buffer,
): Promise<{ workspaceId: string; keyId: string; lastUsedAt: Date | null } | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .select(["workspace_id", "id", "last_used_at"])
    .where("key_hash", "=", hash)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return row && { workspaceId: row.workspace_id, keyId: row.id, lastUsedAt: row.last_used_at };
}

export async function touchApiKey(db: Executor, workspaceId: string, keyId: string): Promise<void> {
  await db
    .updateTable("api_keys")
    .set({ last_used_at: new Date() })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", keyId)
    .execute();
}

export async function listApiKeys(db: Executor, workspaceId: string) {
  return db
    .selectFrom("api_keys")
    .select(["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])
    .where("workspace_id", "=", workspaceId)
    .orderBy("created_at", "desc")
    .orderBy("id")
    .limit(1000)
    .execute();
}

/** Revokes the key; returns its hash (for the cache), or undefined when there is no such live key. */
export async function revokeApiKeyRow(
  db: Executor,
  workspaceId: string,
  keyId: string,
  at: Date,
): Promise<Buffer | undefined> {
  const row = await db
    .updateTable("api_keys")
    .set({ revoked_at: at })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", keyId)
    .where("revoked_at", "is", null)
    .returning("key_hash")
    .executeTakeFirst();
  return row?.key_hash;
}
