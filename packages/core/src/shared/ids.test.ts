import { describe, expect, it } from "vitest";
import { uuidv7 } from "./ids.ts";

describe("uuidv7", () => {
  it("makes version-7 UUIDs with the RFC 9562 variant", () => {
    const id = uuidv7();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("orders ids by creation, also within one millisecond and when the clock steps back", () => {
    const ids = [
      uuidv7(1_700_000_000_000),
      ...Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_001)),
      uuidv7(1_699_999_999_000),
    ];
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("encodes the time in the first 48 bits", () => {
    const ms = 1_764_201_600_123;
    const id = uuidv7(ms + 10_000_000); // later than any id made so far in this file
    expect(Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBeGreaterThanOrEqual(ms);
  });
});
