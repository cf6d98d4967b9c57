/**
 * Time-ordered UUIDs (RFC 9562 version 7), made in the application so that bulk inserts append to the
 * primary key's right edge instead of scattering over it, and so that id order is creation order (the
 * contact list paginates by id). Works the same on every PostgreSQL version.
 */
import { randomFillSync } from "node:crypto";

const pool = Buffer.alloc(16 * 4096);
let poolOffset = pool.length;
let lastMs = 0;
let sequence = 0;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  // 12 bits of sequence keep ids made in the same millisecond in order.
  if (now <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++;
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const r = pool;
  const o = poolOffset;
  poolOffset += 10;
  const hi = Math.floor(now / 0x10000);
  const lo = now % 0x10000;
  return (
    HEX[(hi >>> 24) & 0xff]! +
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    "-" +
    HEX[lo >>> 8]! +
    HEX[lo & 0xff]! +
    "-" +
    HEX[0x70 | (sequence >>> 8)]! +
    HEX[sequence & 0xff]! +
    "-" +
    HEX[0x80 | (r[o]! & 0x3f)]! +
    HEX[r[o + 1]!]! +
    "-" +
    HEX[r[o + 2]!]! +
    HEX[r[o + 3]!]! +
    HEX[r[o + 4]!]! +
    HEX[r[o + 5]!]! +
    HEX[r[o + 6]!]! +
    HEX[r[o + 7]!]!
  );
}
