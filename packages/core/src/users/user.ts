/**
 * Users, roles and sessions: the pure parts. Tokens (sessions, invitations) are 32 random bytes; only
 * their SHA-256 is stored, like API keys, since there is nothing to brute-force in 256 bits.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const ROLES = ["owner", "admin", "marketer", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Who a request acts for: an API key (full rights) or a signed-in member with a role. */
export interface Actor {
  kind: "api_key" | "user";
  id: string;
  role: Role;
}

/** What a request needs of its actor's role. */
export type Access = "read" | "write" | "admin";

/** Whether a role may make a request of the given kind (docs/users-and-roles.md has the matrix). */
export function roleAllows(role: Role, access: Access): boolean {
  switch (access) {
    case "read":
      return true;
    case "write":
      return role !== "viewer";
    case "admin":
      return role === "owner" || role === "admin";
  }
}

/** Only owners may make someone an owner or change what an owner is. */
export function canAssignRole(actorRole: Role, targetCurrentRole: Role | undefined, newRole: Role): boolean {
  if (!roleAllows(actorRole, "admin")) return false;
  if (actorRole === "owner") return true;
  return newRole !== "owner" && targetCurrentRole !== "owner";
}

/** Session lifetimes. The idle timeout counts from the last request; the absolute one from sign-in. */
export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
export const SESSION_ABSOLUTE_MS = 30 * 24 * 3600_000;
/** A session's last_seen_at is written at most this often. */
export const SESSION_TOUCH_MS = 60_000;
export const INVITATION_TTL_MS = 7 * 24 * 3600_000;

export function sessionIsLive(
  session: { lastSeenAt: Date; expiresAt: Date },
  now: Date,
  idleMs = SESSION_IDLE_MS,
): boolean {
  return now < session.expiresAt && now.getTime() - session.lastSeenAt.getTime() < idleMs;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function generateToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

export function looksLikeToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Failed sign-ins, counted per email and address and per address alone, in fixed windows. In memory:
 * each API process counts its own, which bounds guessing well enough for a password hashed with argon2id.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, { count: number; windowStart: number }>();

  constructor(
    private readonly options = { perEmail: 5, perAddress: 50, windowMs: 15 * 60_000, maxKeys: 10_000 },
  ) {}

  /** Seconds to wait before trying again, or 0 when an attempt may go ahead. */
  retryAfterSeconds(email: string, address: string, now: number): number {
    const waits = [
      this.wait(`e:${email}|${address}`, this.options.perEmail, now),
      this.wait(`a:${address}`, this.options.perAddress, now),
    ];
    return Math.max(...waits);
  }

  recordFailure(email: string, address: string, now: number) {
    this.bump(`e:${email}|${address}`, now);
    this.bump(`a:${address}`, now);
  }

  recordSuccess(email: string, address: string) {
    this.failures.delete(`e:${email}|${address}`);
  }

  private wait(key: string, limit: number, now: number): number {
    const entry = this.failures.get(key);
    if (!entry || now - entry.windowStart >= this.options.windowMs || entry.count < limit) return 0;
    return Math.ceil((entry.windowStart + this.options.windowMs - now) / 1000);
  }

  private bump(key: string, now: number) {
    const entry = this.failures.get(key);
    if (!entry || now - entry.windowStart >= this.options.windowMs) {
      if (this.failures.size >= this.options.maxKeys) this.prune(now);
      this.failures.set(key, { count: 1, windowStart: now });
    } else entry.count += 1;
  }

  private prune(now: number) {
    for (const [key, entry] of this.failures) {
      if (now - entry.windowStart >= this.options.windowMs) this.failures.delete(key);
    }
    // Still full (an attack from many addresses): forget the oldest half rather than grow without bound.
    if (this.failures.size >= this.options.maxKeys) {
      let drop = Math.floor(this.failures.size / 2);
      for (const key of this.failures.keys()) {
        if (drop-- <= 0) break;
        this.failures.delete(key);
      }
    }
  }
}
