/** API keys: 32 random bytes, shown once; only their SHA-256 is stored. */
import { createHash, randomBytes } from "node:crypto";

const KEY_PREFIX = "omn_";

export function generateApiKey(): { key: string; prefix: string; hash: Buffer } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, KEY_PREFIX.length + 6), hash: hashApiKey(key) };
}

/** A fast hash suffices: keys carry 256 bits of entropy, so there is nothing to brute-force. */
export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(KEY_PREFIX) && value.length >= KEY_PREFIX.length + 40 && value.length <= 100;
}
