/**
 * The shared rate limit needs a Redis: REDIS_URL, or one on 127.0.0.1:6379 (CI has one). Without it the
 * shared-bucket tests are skipped with a warning; the fallback test runs everywhere.
 */
import { once } from "node:events";
import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { requireRedis, TEST_REDIS_URL } from "../testing/redis.ts";
import { connectRedis, RedisTokenBucket } from "./redis-rate-limit.ts";

const url = TEST_REDIS_URL;
const hasRedis = await requireRedis("the shared rate-limit tests are");

describe.skipIf(!hasRedis)("RedisTokenBucket (needs Redis)", () => {
  const clients: Redis[] = [];
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  it("shares one rate between processes: two buckets on one key hand out the burst once", async () => {
    const key = `omneural:test:rate:${crypto.randomUUID()}`;
    const a = connectRedis(url);
    const b = connectRedis(url);
    clients.push(a, b);
    // Until connected, a bucket counts locally (commands are not queued): wait for both.
    await Promise.all([a, b].map((c) => (c.status === "ready" ? undefined : once(c, "ready"))));
    const first = new RedisTokenBucket(a, key, 5);
    const second = new RedisTokenBucket(b, key, 5);
    const waits = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? first : second).take(Date.now())),
    );
    // A burst of 5 tokens between them, then each further take waits for the refill.
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    for (const w of waits.filter((w) => w > 0)) expect(w).toBeLessThanOrEqual(200);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await first.take(Date.now())).toBe(0);
    expect(await a.pttl(key)).toBeGreaterThan(0);
  });
});

describe("RedisTokenBucket without a reachable Redis", () => {
  it("falls back to counting in this process, so sends neither stop nor run unlimited", async () => {
    const redis = connectRedis("redis://127.0.0.1:1");
    redis.on("error", () => {});
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, message: string) => warnings.push(message) } as never;
    const bucket = new RedisTokenBucket(redis, "omneural:test:down", 2, 2, logger);
    try {
      const now = Date.now();
      expect(await bucket.take(now)).toBe(0);
      expect(await bucket.take(now)).toBe(0);
      expect(await bucket.take(now)).toBe(500);
      expect(warnings).toEqual(["rate limit: Redis unavailable, counting in this process"]);
    } finally {
      redis.disconnect();
    }
  });
});
