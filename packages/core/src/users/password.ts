/**
 * Passwords: argon2id with OWASP's recommended cost (19 MiB, 2 passes, 1 lane), as a PHC string that
 * carries its own parameters, so they can be raised later without invalidating stored hashes.
 */
import { type Algorithm, hash, verify } from "@node-rs/argon2";

const OPTIONS = { algorithm: 2 as Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A hash of nothing anyone knows, verified against when the email is unknown: the same work either way. */
let decoy: Promise<string> | undefined;

/** Whether the password matches the hash; with no hash, spends the same time and answers false. */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    decoy ??= hashPassword("omneural-decoy-password-for-unknown-emails");
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
