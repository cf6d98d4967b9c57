/**
 * API_RATE_LIMIT: per API key, per session, per address without either; tracking is not limited. The
 * shared count needs a Redis: REDIS_URL, or one on 127.0.0.1:6379 (CI has one). Without it that test is
 * skipped with a loud warning; the others run everywhere.
 */
import { requireRedis, TEST_REDIS_URL } from "@omneural/core/testing/redis";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";

const LIMIT = 5;
const hasRedis = await requireRedis("the shared API rate-limit test is");
const redisUrl = TEST_REDIS_URL;

describe("API rate limit, in this process", () => {
  const t = useTestApp({ API_RATE_LIMIT: String(LIMIT) });

  it("answers 429 RATE_LIMITED with Retry-After past the limit, per API key", async () => {
    for (let i = 0; i < LIMIT; i++) {
      expect((await t.asA({ method: "GET", url: "/api/v1/workspace" })).statusCode).toBe(200);
    }
    const limited = await t.asA({ method: "GET", url: "/api/v1/workspace" });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["content-type"]).toContain("application/problem+json");
    expect(limited.json().code).toBe("RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // Another key (another workspace here) has its own count.
    expect((await t.asB({ method: "GET", url: "/api/v1/workspace" })).statusCode).toBe(200);
  });

  it("counts requests without a credential by address, sign-in included, and leaves tracking alone", async () => {
    const from = { remoteAddress: "198.51.100.7" };
    for (let i = 0; i < LIMIT; i++) {
      const res = await t.anonymous({ method: "GET", url: "/api/setup", ...from });
      expect(res.statusCode).toBe(200);
    }
    expect((await t.anonymous({ method: "GET", url: "/api/setup", ...from })).statusCode).toBe(429);
    expect(
      (
        await t.anonymous({
          method: "POST",
          url: "/api/session",
          payload: { email: "x@example.com", password: "wrong password!" },
          ...from,
        })
      ).statusCode,
    ).toBe(429);
    // Another address is not held back by this one.
    expect(
      (await t.anonymous({ method: "GET", url: "/api/setup", remoteAddress: "198.51.100.8" })).statusCode,
    ).toBe(200);
    // Recipients clicking and pixels loading are never limited by the API's limit.
    for (let i = 0; i < LIMIT * 2; i++) {
      const res = await t.anonymous({ method: "GET", url: "/t/o/not-a-token", ...from });
      expect(res.statusCode).not.toBe(429);
    }
  });
});

describe.skipIf(!hasRedis)("API rate limit shared through Redis (needs Redis)", () => {
  // Two API processes of one installation: one count per key between them.
  const one = useTestApp({ API_RATE_LIMIT: String(LIMIT), REDIS_URL: redisUrl });
  const two = useTestApp({ API_RATE_LIMIT: String(LIMIT), REDIS_URL: redisUrl });

  it("holds a key back on every process once it used its minute on any", async () => {
    const key = one.a.apiKey;
    // The second app has a database of its own, where the key is unknown: without the shared count it
    // would answer 401; with it, the key has used its minute.
    for (let i = 0; i < LIMIT; i++) {
      expect((await one.asA({ method: "GET", url: "/api/v1/workspace" })).statusCode).toBe(200);
    }
    const elsewhere = await two.anonymous({
      method: "GET",
      url: "/api/v1/workspace",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(elsewhere.statusCode).toBe(429);
  });
});
