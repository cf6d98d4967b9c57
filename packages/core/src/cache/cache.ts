/**
 * The shared cache: what is read on every request and changes rarely (API keys, workspace settings),
 * kept close to the code that reads it. One interface, three modes:
 *
 * - `memory` (the default): a bounded LRU in each process. A change made in one process reaches the
 *   others through PostgreSQL `LISTEN/NOTIFY` on the channel `omneural_cache`.
 * - `redis` (when REDIS_URL is set): the same LRU in front of Redis, shared by every process; a change
 *   deletes the Redis entry and is published on the Redis channel `omneural:cache` to every process.
 * - `off` (CACHE=off): every read goes to the database.
 *
 * Correctness never depends on it: every entry has a time to live, so a change whose notification was
 * lost (a listener reconnecting, a read racing a write) is seen after that long at most; a listener that
 * reconnects forgets everything; and Redis failing makes reads go to the database. Values go through
 * JSON in every mode (a Date comes back as its ISO string), so the three modes give the same results.
 * Misses are not cached: `load` returning undefined is asked again next time.
 */
import { Redis } from "ioredis";
import pg from "pg";
import type { Logger } from "pino";
import { cacheLookups } from "../ops/metrics.ts";

export type CacheMode = "memory" | "redis" | "off";

export interface SharedCache {
  readonly mode: CacheMode;
  /** The cached value of `key` in `namespace`, or what `load` returns (then cached for `ttlMs`). */
  getOrLoad<T>(
    namespace: string,
    key: string,
    ttlMs: number,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined>;
  /** Forgets `key` here at once and, shortly after, in every other process. Call it after the change commits. */
  invalidate(namespace: string, key: string): Promise<void>;
  close(): Promise<void>;
}

export interface CacheOptions {
  mode: CacheMode;
  /** The database whose NOTIFY channel carries invalidations in `memory` mode (none: this process only). */
  databaseUrl?: string;
  redisUrl?: string;
  /** Entries the in-process LRU keeps (default 10,000). */
  maxEntries?: number;
  logger?: Logger;
  /** The clock (tests). */
  now?: () => number;
}

const NOTIFY_CHANNEL = "omneural_cache";
const REDIS_CHANNEL = "omneural:cache";
const REDIS_PREFIX = "omneural:cache:";
const SEPARATOR = "\u001f";

/** A bounded LRU of JSON values with a time to live per entry. */
export class MemoryLru {
  private readonly entries = new Map<string, { value: unknown; expires: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): { value: unknown } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { value: entry.value };
  }

  set(key: string, value: unknown, ttlMs: number) {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string) {
    this.entries.delete(key);
  }

  clear() {
    this.entries.clear();
  }

  get size() {
    return this.entries.size;
  }
}

/** The value as every mode returns it: through JSON. */
const throughJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function createCache(options: CacheOptions): SharedCache {
  if (options.mode === "off") return uncached();
  if (options.mode === "redis") {
    if (!options.redisUrl) throw new Error("the redis cache needs REDIS_URL");
    return redisCache(options as CacheOptions & { redisUrl: string });
  }
  return memoryCache(options);
}

function uncached(): SharedCache {
  return {
    mode: "off",
    async getOrLoad(namespace, _key, _ttl, load) {
      cacheLookups.inc({ cache: namespace, result: "miss" });
      const value = await load();
      return value === undefined ? undefined : throughJson(value);
    },
    async invalidate() {},
    async close() {},
  };
}

function memoryCache(options: CacheOptions): SharedCache {
  const lru = new MemoryLru(options.maxEntries ?? 10_000, options.now);
  const listener = options.databaseUrl
    ? listenForInvalidations(options.databaseUrl, lru, options.logger)
    : undefined;
  return {
    mode: "memory",
    async getOrLoad(namespace, key, ttlMs, load) {
      const id = namespace + SEPARATOR + key;
      const hit = lru.get(id);
      cacheLookups.inc({ cache: namespace, result: hit ? "hit" : "miss" });
      if (hit) return hit.value as never;
      const value = await load();
      if (value === undefined) return undefined;
      const stored = throughJson(value);
      lru.set(id, stored, ttlMs);
      return stored;
    },
    async invalidate(namespace, key) {
      const id = namespace + SEPARATOR + key;
      lru.delete(id);
      await listener?.notify(id);
    },
    async close() {
      await listener?.close();
    },
  };
}

/** Drops entries other processes changed, as their NOTIFY arrives; forgets everything on reconnect. */
function listenForInvalidations(url: string, lru: MemoryLru, logger?: Logger) {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  // One warning per outage, not one per retry.
  let down = false;
  const publisher = new pg.Pool({ connectionString: url, max: 1, application_name: "omneural-cache" });
  publisher.on("error", () => undefined);
  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, application_name: "omneural-cache" });
    next.on("notification", (message) => {
      if (message.channel === NOTIFY_CHANNEL && message.payload) lru.delete(message.payload);
    });
    next.on("error", () => reconnect());
    try {
      await next.connect();
      await next.query(`listen ${NOTIFY_CHANNEL}`);
      client = next;
      // Whatever changed while no one listened is unknown: start afresh.
      lru.clear();
      if (down) logger?.info("cache: listening for invalidations again");
      down = false;
    } catch (error) {
      if (!down)
        logger?.warn({ err: error }, "cache: cannot listen for invalidations; retrying every second");
      down = true;
      next.end().catch(() => undefined);
      reconnect();
    }
  };
  const reconnect = () => {
    client = undefined;
    lru.clear();
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 1000);
    retry.unref();
  };
  const ready = connect();
  return {
    async notify(id: string) {
      await ready;
      await publisher.query("select pg_notify($1, $2)", [NOTIFY_CHANNEL, id]).catch((error) => {
        logger?.warn(
          { err: error },
          "cache: invalidation not sent; other processes see the change when the entry expires",
        );
      });
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await ready;
      await client?.end().catch(() => undefined);
      await publisher.end();
    },
  };
}

function redisCache(options: CacheOptions & { redisUrl: string }): SharedCache {
  const lru = new MemoryLru(options.maxEntries ?? 10_000, options.now);
  const settings = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  const redis = new Redis(options.redisUrl, settings);
  const subscriber = new Redis(options.redisUrl, settings);
  let warned = 0;
  const warn = (error: unknown, what: string) => {
    // At most one warning a minute: a Redis outage must not flood the logs.
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    options.logger?.warn({ err: error }, `cache: Redis ${what} failed; reading from the database`);
  };
  redis.on("error", (error) => warn(error, "connection"));
  // Commands fail at once while Redis is away (no offline queue): only the first ones wait for the
  // connection, a second at most, so that a process starting up does not begin with misses.
  const connected = new Promise<void>((resolve) => {
    redis.once("ready", resolve);
    setTimeout(resolve, 1000).unref();
  });
  subscriber.on("error", () => lru.clear());
  // Every (re)subscription starts afresh: invalidations published meanwhile were missed.
  subscriber.on("ready", () => {
    lru.clear();
    subscriber.subscribe(REDIS_CHANNEL).catch(() => undefined);
  });
  subscriber.on("message", (channel, id) => {
    if (channel === REDIS_CHANNEL) lru.delete(id);
  });
  return {
    mode: "redis",
    async getOrLoad(namespace, key, ttlMs, load) {
      const id = namespace + SEPARATOR + key;
      const hit = lru.get(id);
      if (hit) {
        cacheLookups.inc({ cache: namespace, result: "hit" });
        return hit.value as never;
      }
      await connected;
      const shared = await redis.get(REDIS_PREFIX + id).catch((error) => warn(error, "read"));
      if (typeof shared === "string") {
        cacheLookups.inc({ cache: namespace, result: "hit" });
        const value = JSON.parse(shared);
        lru.set(id, value, ttlMs);
        return value;
      }
      cacheLookups.inc({ cache: namespace, result: "miss" });
      const value = await load();
      if (value === undefined) return undefined;
      const text = JSON.stringify(value);
      await redis.set(REDIS_PREFIX + id, text, "PX", ttlMs).catch((error) => warn(error, "write"));
      const stored = JSON.parse(text);
      lru.set(id, stored, ttlMs);
      return stored;
    },
    async invalidate(namespace, key) {
      const id = namespace + SEPARATOR + key;
      lru.delete(id);
      await connected;
      await redis
        .multi()
        .del(REDIS_PREFIX + id)
        .publish(REDIS_CHANNEL, id)
        .exec()
        .catch((error) => warn(error, "invalidation"));
    },
    async close() {
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
