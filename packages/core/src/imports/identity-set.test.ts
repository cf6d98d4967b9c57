import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IdentitySet } from "./identity-set.ts";

describe("IdentitySet", () => {
  it("reports a value the second time it is added, across growth", () => {
    const set = new IdentitySet(4);
    for (let i = 0; i < 50_000; i++) expect(set.addAndCheck(`person${i}@example.com`)).toBe(false);
    for (let i = 0; i < 50_000; i += 997) expect(set.addAndCheck(`person${i}@example.com`)).toBe(true);
    expect(set.size).toBe(50_000);
  });

  it("agrees with a Set on random strings", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 8 }), { maxLength: 300 }), (values) => {
        const set = new IdentitySet(2);
        const reference = new Set<string>();
        for (const v of values) {
          expect(set.addAndCheck(v)).toBe(reference.has(v));
          reference.add(v);
        }
      }),
      { numRuns: 300 },
    );
  });
});
