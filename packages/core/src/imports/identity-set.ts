/**
 * A compact set of strings for an import's duplicate check: two 32-bit hashes per entry in typed
 * arrays (8 bytes a slot) instead of a Set of strings (≈100 bytes an entry), so a million emails cost a
 * few megabytes. Two different strings can share both hashes (≈1 in 2^64 per pair); the caller treats
 * a hit only as "look closer" (the row takes the exact, SQL-side path), so a false hit is never wrong.
 */
export class IdentitySet {
  private h1: Uint32Array;
  private h2: Uint32Array;
  private used = 0;

  constructor(capacity = 1 << 16) {
    let size = 1 << 10;
    while (size < capacity * 2) size <<= 1;
    this.h1 = new Uint32Array(size);
    this.h2 = new Uint32Array(size);
  }

  get size(): number {
    return this.used;
  }

  /** Adds the value; returns true if it (or a value with the same hashes) was already present. */
  addAndCheck(value: string): boolean {
    // FNV-1a and a multiplicative variant, one pass. 0 marks an empty slot, so h1 is never 0.
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a = a >>> 0 || 1;
    b >>>= 0;
    const mask = this.h1.length - 1;
    let slot = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
    for (;;) {
      const stored = this.h1[slot]!;
      if (stored === 0) break;
      if (stored === a && this.h2[slot] === b) return true;
      slot = (slot + 1) & mask;
    }
    this.h1[slot] = a;
    this.h2[slot] = b;
    this.used++;
    if (this.used * 2 > this.h1.length) this.grow();
    return false;
  }

  private grow() {
    const oldA = this.h1;
    const oldB = this.h2;
    this.h1 = new Uint32Array(oldA.length * 2);
    this.h2 = new Uint32Array(oldA.length * 2);
    const mask = this.h1.length - 1;
    for (let i = 0; i < oldA.length; i++) {
      const a = oldA[i]!;
      if (a === 0) continue;
      const b = oldB[i]!;
      let slot = (a ^ Math.imul(b, 0x9e3779b1)) & mask;
      while (this.h1[slot] !== 0) slot = (slot + 1) & mask;
      this.h1[slot] = a;
      this.h2[slot] = b;
    }
  }
}
