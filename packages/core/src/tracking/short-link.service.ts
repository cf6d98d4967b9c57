/**
 * SMS short links (`/s/<code>`) resolved through an in-process LRU cache. A code's row never changes
 * (the code is an HMAC of message and URL), so a cached answer never goes stale and a hot code costs no
 * database round trip. Unknown codes are not cached: the row of a link being sent may appear any moment.
 */

import type { Executor } from "../db/database.ts";
import { cacheLookups } from "../ops/metrics.ts";
import { type ShortLink, selectShortLink } from "./short-link.repository.ts";

/** What a short-link code can look like (`short_links.code`: base64url, 16–64 characters). */
const SHORT_CODE = /^[A-Za-z0-9_-]{16,64}$/;

export interface ShortLinkResolver {
  /** The link, or undefined for a code that is malformed or unknown. */
  resolve(code: string): Promise<ShortLink | undefined>;
  readonly size: number;
}

export interface ShortLinkResolverOptions {
  /** How many codes the cache keeps (default 10,000, a few MB at most). */
  maxEntries?: number;
}

export function createShortLinkResolver(
  db: Executor,
  options: ShortLinkResolverOptions = {},
): ShortLinkResolver {
  const maxEntries = options.maxEntries ?? 10_000;
  // A Map iterates in insertion order: re-inserting on a hit makes its first key the least recently used.
  const cache = new Map<string, ShortLink>();
  return {
    async resolve(code) {
      if (!SHORT_CODE.test(code)) return undefined;
      const hit = cache.get(code);
      cacheLookups.inc({ cache: "short_links", result: hit ? "hit" : "miss" });
      if (hit) {
        cache.delete(code);
        cache.set(code, hit);
        return hit;
      }
      const link = await selectShortLink(db, code);
      if (!link) return undefined;
      cache.set(code, link);
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      return link;
    },
    get size() {
      return cache.size;
    },
  };
}
