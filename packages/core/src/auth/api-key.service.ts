import type { SharedCache } from "../cache/cache.ts";
import type { Executor } from "../db/database.ts";
import { notFound, validationFailed } from "../shared/errors.ts";
import {
  findActiveKeyByHash,
  insertApiKey,
  listApiKeys,
  revokeApiKeyRow,
  touchApiKey,
} from "./api-key.repository.ts";
import { generateApiKey, hashApiKey, looksLikeApiKey } from "./api-key.ts";

export interface Principal {
  workspaceId: string;
  apiKeyId: string;
}

const TOUCH_EVERY_MS = 60_000;
/** How long a key's lookup is cached (revoking a key invalidates it at once; see cache/cache.ts). */
export const API_KEY_CACHE_TTL_MS = 30_000;
export const API_KEY_CACHE = "api_keys";

/** When this process last recorded each key's use. */
const touched = new Map<string, number>();

/**
 * Resolves a bearer key to its workspace, or undefined. The lookup is cached by the key's hash (never
 * the key); last use is recorded at most once a minute per process.
 */
export async function authenticateApiKey(
  db: Executor,
  key: string,
  cache?: SharedCache,
): Promise<Principal | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const hash = hashApiKey(key);
  const lookUp = async () => {
    const row = await findActiveKeyByHash(db, hash);
    return (
      row && { workspaceId: row.workspaceId, keyId: row.keyId, lastUsedAt: row.lastUsedAt?.getTime() ?? 0 }
    );
  };
  const found = cache
    ? await cache.getOrLoad(API_KEY_CACHE, hash.toString("hex"), API_KEY_CACHE_TTL_MS, lookUp)
    : await lookUp();
  if (!found) return undefined;
  const last = touched.get(found.keyId) ?? found.lastUsedAt;
  if (Date.now() - last > TOUCH_EVERY_MS) {
    touched.set(found.keyId, Date.now());
    if (touched.size > 10_000) touched.delete(touched.keys().next().value as string);
    await touchApiKey(db, found.workspaceId, found.keyId);
  }
  return { workspaceId: found.workspaceId, apiKeyId: found.keyId };
}

export interface ApiKeySummary {
  id: string;
  name: string;
  /** The key's first characters (`omn_AbC123`), to recognise it; the rest is never stored. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const summary = (row: Awaited<ReturnType<typeof listApiKeys>>[number]): ApiKeySummary => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at.toISOString(),
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
  revokedAt: row.revoked_at?.toISOString() ?? null,
});

export async function listWorkspaceApiKeys(db: Executor, workspaceId: string): Promise<ApiKeySummary[]> {
  return (await listApiKeys(db, workspaceId)).map(summary);
}

/** A new key for the workspace; the key itself is in the answer and nowhere else, ever. */
export async function createWorkspaceApiKey(
  db: Executor,
  workspaceId: string,
  name: string,
): Promise<ApiKeySummary & { key: string }> {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100)
    throw validationFailed([{ field: "name", message: "must be 1 to 100 characters" }]);
  const key = generateApiKey();
  const created = await insertApiKey(db, { workspaceId, name: trimmed, prefix: key.prefix, hash: key.hash });
  return {
    id: created.id,
    name: trimmed,
    prefix: key.prefix,
    createdAt: created.createdAt.toISOString(),
    lastUsedAt: null,
    revokedAt: null,
    key: key.key,
  };
}

/**
 * Revokes a key: it stops working at once in this process and, through the cache's invalidation, in
 * every other one. The key making the request may revoke itself. Revoking the last live key is allowed:
 * members can still sign in to the web app and make a new one.
 */
export async function revokeWorkspaceApiKey(
  db: Executor,
  workspaceId: string,
  keyId: string,
  cache?: SharedCache,
  now = new Date(),
): Promise<ApiKeySummary> {
  const hash = await revokeApiKeyRow(db, workspaceId, keyId, now);
  if (!hash) throw notFound("API key", keyId);
  await cache?.invalidate(API_KEY_CACHE, hash.toString("hex"));
  const row = (await listApiKeys(db, workspaceId)).find((k) => k.id === keyId)!;
  return summary(row);
}
