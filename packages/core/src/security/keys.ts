/**
 * The instance's secret key, and the keys derived from it: one signs the links in messages (tracked
 * clicks, the open pixel, unsubscribe), one encrypts the provider credentials workspaces store, one
 * hashes the suppression tombstones of erased contacts.
 *
 * The key comes from SECRET_KEY, or, when that is unset, from `secret.key` in the data directory,
 * created (mode 0600) on first use. Every process of one installation must share it: processes on
 * other machines need SECRET_KEY set to the same value.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Keys {
  /** Signs tokens in links (HMAC-SHA256). */
  readonly links: Buffer;
  /** Encrypts stored credentials (AES-256-GCM). */
  readonly credentials: Buffer;
  /** Hashes erased contacts' suppressed addresses (HMAC-SHA256; see contacts/suppression.ts). */
  readonly tombstones: Buffer;
}

export const SECRET_KEY_FILE = "secret.key";

/** Derives the purpose keys from the master secret (HKDF-SHA256); equal secrets give equal keys. */
export function deriveKeys(secret: string): Keys {
  const master = Buffer.from(secret, "utf8");
  const derive = (purpose: string) =>
    Buffer.from(hkdfSync("sha256", master, Buffer.from("omneural"), Buffer.from(purpose), 32));
  const links = derive("links v1");
  return { links, credentials: derive("credentials v1"), tombstones: tombstoneKeyFrom(links) };
}

/**
 * The tombstone key, derived from the links key rather than from the secret directly: the dispatcher,
 * which must match tombstones on every send, is handed the links key already (LinkSettings), so it
 * needs no second key passed down. Changing SECRET_KEY changes it, and then older tombstones no
 * longer match (as older links no longer verify).
 */
export function tombstoneKeyFrom(linksKey: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", linksKey, Buffer.from("omneural"), Buffer.from("tombstones v1"), 32));
}

/** SECRET_KEY when given, else the data directory's key file, created when missing. */
export function resolveSecret(secretKey: string | undefined, dataDir: string): string {
  if (secretKey) return secretKey;
  const file = join(dataDir, SECRET_KEY_FILE);
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  try {
    // `wx`: when two processes start at once, one creates the file and the other reads it.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return readFileSync(file, "utf8").trim();
  }
}

/** A fixed key set for tests. */
export const TEST_KEYS: Keys = deriveKeys("omneural test secret, never used outside tests");

/** HMAC-SHA256 of `data`, truncated to `bytes` (16 bytes: 128 bits, as tokens in links carry). */
export function mac(key: Buffer, data: Buffer | string, bytes = 16): Buffer {
  return createHmac("sha256", key).update(data).digest().subarray(0, bytes);
}

const SEALED_VERSION = 1;

/** AES-256-GCM: version byte, 12-byte nonce, 16-byte tag, ciphertext. `context` binds it to its owner. */
export function seal(key: Buffer, plaintext: string, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.from([SEALED_VERSION]), iv, cipher.getAuthTag(), body]);
}

export class UnsealError extends Error {}

/** Opens what `seal` made with the same key and context; throws UnsealError otherwise. */
export function unseal(key: Buffer, sealed: Buffer, context: string): string {
  if (sealed.length < 29 || sealed[0] !== SEALED_VERSION) throw new UnsealError("not a sealed value");
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(1, 13));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(sealed.subarray(13, 29));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString("utf8");
  } catch {
    throw new UnsealError("the value cannot be opened with this SECRET_KEY (was it changed?)");
  }
}

export const sealJson = (key: Buffer, value: unknown, context: string) =>
  seal(key, JSON.stringify(value), context);
export const unsealJson = <T>(key: Buffer, sealed: Buffer, context: string): T =>
  JSON.parse(unseal(key, sealed, context)) as T;
