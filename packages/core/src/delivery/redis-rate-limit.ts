/**
 * A token bucket kept in Redis, so that every dispatcher process of an installation together keeps to a
 * provider's rate. One Lua script refills and takes atomically, on the Redis server's clock (processes'
 * clocks may differ). When Redis cannot be reached the bucket falls back to a local one, so a Redis
 * outage slows nothing down that the provider would not (its own 429s are still honoured).
 */
import { Redis } from "ioredis";
import type { Logger } from "../shared/logger.ts";
import { TokenBucket } from "./guards.ts";

export interface RateLimiter {
  /** Takes a token: 0 when one was free, else how many ms until one will be. */
  take(now: number): number | Promise<number>;
}

const TAKE = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 60000)
return wait
`;

export class RedisTokenBucket implements RateLimiter {
  private readonly local: TokenBucket;
  private warned = false;

  constructor(
    private readonly redis: Redis,
    /** e.g. `omneural:rate:email:smtp` — one key per provider account. */
    private readonly key: string,
    readonly perSecond: number,
    readonly burst = Math.max(1, Math.ceil(perSecond)),
    private readonly logger?: Logger,
  ) {
    this.local = new TokenBucket(perSecond, burst);
  }

  async take(now: number): Promise<number> {
    try {
      const wait = (await this.redis.eval(TAKE, 1, this.key, this.perSecond, this.burst)) as number;
      this.warned = false;
      return Number(wait);
    } catch (error) {
      if (!this.warned) {
        this.logger?.warn({ err: String(error) }, "rate limit: Redis unavailable, counting in this process");
        this.warned = true;
      }
      return this.local.take(now);
    }
  }
}

/** A Redis client for shared state; commands fail fast (no offline queue) so callers fall back. */
export function connectRedis(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: false,
  });
}
