import { describe, expect, it } from "vitest";
import {
  canAssignRole,
  generateToken,
  hashToken,
  looksLikeToken,
  ROLES,
  roleAllows,
  SESSION_ABSOLUTE_MS,
  SESSION_IDLE_MS,
  SignInThrottle,
  sessionIsLive,
} from "./user.ts";

describe("roleAllows", () => {
  it.each([
    ["owner", [true, true, true]],
    ["admin", [true, true, true]],
    ["marketer", [true, true, false]],
    ["viewer", [true, false, false]],
  ] as const)("%s may read, write, administer: %j", (role, expected) => {
    expect((["read", "write", "admin"] as const).map((access) => roleAllows(role, access))).toEqual(expected);
  });
});

describe("canAssignRole", () => {
  it("lets owners assign any role and admins any but owner, on non-owners", () => {
    for (const role of ROLES) expect(canAssignRole("owner", "owner", role)).toBe(true);
    expect(canAssignRole("admin", "marketer", "viewer")).toBe(true);
    expect(canAssignRole("admin", "viewer", "admin")).toBe(true);
    expect(canAssignRole("admin", "viewer", "owner")).toBe(false);
    expect(canAssignRole("admin", "owner", "viewer")).toBe(false);
    expect(canAssignRole("marketer", "viewer", "viewer")).toBe(false);
  });
});

describe("sessionIsLive", () => {
  const start = new Date("2026-01-01T00:00:00Z");
  const session = { lastSeenAt: start, expiresAt: new Date(start.getTime() + SESSION_ABSOLUTE_MS) };
  it("ends after the idle timeout", () => {
    expect(sessionIsLive(session, new Date(start.getTime() + SESSION_IDLE_MS - 1))).toBe(true);
    expect(sessionIsLive(session, new Date(start.getTime() + SESSION_IDLE_MS))).toBe(false);
  });
  it("ends at the absolute expiry however recently it was used", () => {
    const end = session.expiresAt.getTime();
    expect(sessionIsLive({ ...session, lastSeenAt: new Date(end - 1000) }, new Date(end))).toBe(false);
  });
});

describe("tokens", () => {
  it("are 256-bit base64url strings stored as their SHA-256", () => {
    const { token, hash } = generateToken();
    expect(looksLikeToken(token)).toBe(true);
    expect(hash.equals(hashToken(token))).toBe(true);
    expect(looksLikeToken("../etc/passwd")).toBe(false);
  });
});

describe("SignInThrottle", () => {
  it("blocks an email and address after five failures until the window ends", () => {
    const throttle = new SignInThrottle();
    const now = 1_000_000;
    for (let i = 0; i < 5; i++) {
      expect(throttle.retryAfterSeconds("a@x", "1.2.3.4", now)).toBe(0);
      throttle.recordFailure("a@x", "1.2.3.4", now);
    }
    expect(throttle.retryAfterSeconds("a@x", "1.2.3.4", now)).toBe(900);
    expect(throttle.retryAfterSeconds("a@x", "5.6.7.8", now)).toBe(0);
    expect(throttle.retryAfterSeconds("b@x", "1.2.3.4", now)).toBe(0);
    expect(throttle.retryAfterSeconds("a@x", "1.2.3.4", now + 15 * 60_000)).toBe(0);
  });

  it("blocks an address that tries many emails", () => {
    const throttle = new SignInThrottle();
    for (let i = 0; i < 50; i++) throttle.recordFailure(`user${i}@x`, "9.9.9.9", 0);
    expect(throttle.retryAfterSeconds("fresh@x", "9.9.9.9", 1000)).toBeGreaterThan(0);
  });

  it("forgets an email's failures after a success", () => {
    const throttle = new SignInThrottle();
    for (let i = 0; i < 4; i++) throttle.recordFailure("a@x", "1.2.3.4", 0);
    throttle.recordSuccess("a@x", "1.2.3.4");
    throttle.recordFailure("a@x", "1.2.3.4", 0);
    expect(throttle.retryAfterSeconds("a@x", "1.2.3.4", 0)).toBe(0);
  });

  it("stays bounded in memory", () => {
    const throttle = new SignInThrottle({ perEmail: 5, perAddress: 50, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) throttle.recordFailure(`u${i}@x`, `10.0.0.${i}`, 0);
    expect((throttle as unknown as { failures: Map<string, unknown> }).failures.size).toBeLessThanOrEqual(
      101,
    );
  });
});
