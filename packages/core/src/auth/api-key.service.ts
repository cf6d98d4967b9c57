import type { Executor } from "../db/database.ts";
import { findActiveKeyByHash, touchApiKey } from "./api-key.repository.ts";
import { hashApiKey, looksLikeApiKey } from "./api-key.ts";

export interface Principal {
  workspaceId: string;
  apiKeyId: string;
}

const TOUCH_EVERY_MS = 60_000;

/** Resolves a bearer key to its workspace, or undefined. Records last use at most once a minute. */
export async function authenticateApiKey(db: Executor, key: string): Promise<Principal | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const found = await findActiveKeyByHash(db, hashApiKey(key));
  if (!found) return undefined;
  if (!found.lastUsedAt || Date.now() - found.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await touchApiKey(db, found.workspaceId, found.keyId);
  }
  return { workspaceId: found.workspaceId, apiKeyId: found.keyId };
}
