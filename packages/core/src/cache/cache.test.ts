import { beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../testing/database.ts";
import { requireRedis, TEST_REDIS_URL } from "../testing/redis.ts";
import { createCache, MemoryLru, type SharedCache } from "./cache.ts";

const database = useTestDatabase();

/** Polls `check` until it holds or two seconds pass (a notification crosses a real connection). */
async function eventually(check: () => Promise<boolean>) {
  const deadline = Date.now() + 2000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("not within 2 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A loader that counts its calls and answers from a mutable "database". */
function source(initial: Record<string, unknown>) {
  const rows = { ...initial };
  let loads = 0;
  return {
    rows,
    get loads() {
      return loads;
    },
    load: (key: string) => async () => {
      loads++;
      return rows[key];
    },
  };
}

describe("MemoryLru", () => {
  it("expires entries after their time to live, by the injected clock", () => {
    let now = 1000;
    const lru = new MemoryLru(10, () => now);
    lru.set("a", 1, 500);
    expect(lru.get("a")).toEqual({ value: 1 });
    now = 1499;
    expect(lru.get("a")).toEqual({ value: 1 });
    now = 1500;
    expect(lru.get("a")).toBeUndefined();
  });

  it("evicts the least recently used entry beyond its size", () => {
    const lru = new MemoryLru(2);
    lru.set("a", 1, 60_000);
    lru.set("b", 2, 60_000);
    lru.get("a");
    lru.set("c", 3, 60_000);
    expect([lru.get("a")?.value, lru.get("b")?.value, lru.get("c")?.value]).toEqual([1, undefined, 3]);
  });
});

describe.each(["memory", "off"] as const)("the %s cache", (mode) => {
  it("answers like the database, values through JSON, misses never cached", async () => {
    const cache = createCache({ mode });
    try {
      const db = source({ k: { at: new Date("2030-01-02T03:04:05Z"), n: 1 } });
      const first = await cache.getOrLoad("things", "k", 60_000, db.load("k"));
      const second = await cache.getOrLoad("things", "k", 60_000, db.load("k"));
      // A Date comes back as its ISO string in every mode, so no caller depends on the mode.
      expect(first).toEqual({ at: "2030-01-02T03:04:05.000Z", n: 1 });
      expect(second).toEqual(first);
      expect(db.loads).toBe(mode === "off" ? 2 : 1);
      expect(await cache.getOrLoad("things", "missing", 60_000, db.load("missing"))).toBeUndefined();
      db.rows.missing = "now here";
      expect(await cache.getOrLoad("things", "missing", 60_000, db.load("missing"))).toBe("now here");
      // Namespaces do not share keys.
      expect(await cache.getOrLoad("other", "k", 60_000, async () => "other's")).toBe("other's");
    } finally {
      await cache.close();
    }
  });
});

describe("invalidation across processes", () => {
  it("reaches the other memory caches of the database through NOTIFY", async () => {
    const caches = [0, 1].map(() => createCache({ mode: "memory", databaseUrl: database.url }));
    try {
      const db = source({ key: "v1" });
      for (const cache of caches)
        expect(await cache.getOrLoad("api_keys", "key", 60_000, db.load("key"))).toBe("v1");
      db.rows.key = "v2";
      // Cached: both still answer v1 without asking.
      for (const cache of caches)
        expect(await cache.getOrLoad("api_keys", "key", 60_000, db.load("key"))).toBe("v1");
      expect(db.loads).toBe(2);
      await caches[0]!.invalidate("api_keys", "key");
      // The invalidating process sees the change at once, the other as soon as the notification lands.
      expect(await caches[0]!.getOrLoad("api_keys", "key", 60_000, db.load("key"))).toBe("v2");
      await eventually(
        async () => (await caches[1]!.getOrLoad("api_keys", "key", 60_000, db.load("key"))) === "v2",
      );
    } finally {
      await Promise.all(caches.map((cache) => cache.close()));
    }
  });

  describe("through Redis", () => {
    let redis = false;
    beforeAll(async () => {
      redis = await requireRedis("the Redis cache tests");
    });

    it("shares entries between processes and invalidates them everywhere", async ({ skip }) => {
      if (!redis) skip();
      const namespace = `test_${Math.random().toString(36).slice(2)}`;
      const caches: SharedCache[] = [0, 1].map(() =>
        createCache({ mode: "redis", redisUrl: TEST_REDIS_URL }),
      );
      try {
        const db = source({ key: "v1" });
        expect(await caches[0]!.getOrLoad(namespace, "key", 60_000, db.load("key"))).toBe("v1");
        // The second process finds it in Redis: no second load.
        expect(await caches[1]!.getOrLoad(namespace, "key", 60_000, db.load("key"))).toBe("v1");
        expect(db.loads).toBe(1);
        db.rows.key = "v2";
        await caches[1]!.invalidate(namespace, "key");
        expect(await caches[1]!.getOrLoad(namespace, "key", 60_000, db.load("key"))).toBe("v2");
        await eventually(
          async () => (await caches[0]!.getOrLoad(namespace, "key", 60_000, db.load("key"))) === "v2",
        );
      } finally {
        await Promise.all(caches.map((cache) => cache.close()));
      }
    });
  });

  it("reads from the database when Redis is down", async () => {
    const cache = createCache({ mode: "redis", redisUrl: "redis://127.0.0.1:1" });
    try {
      const db = source({ key: "from the database" });
      expect(await cache.getOrLoad("things", "key", 60_000, db.load("key"))).toBe("from the database");
      await cache.invalidate("things", "key");
      db.rows.key = "changed";
      expect(await cache.getOrLoad("things", "key", 60_000, db.load("key"))).toBe("changed");
    } finally {
      await cache.close();
    }
  });
});
