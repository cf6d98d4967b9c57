import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "./errors.ts";

const docs = readFileSync(new URL("../../../../docs/errors.md", import.meta.url), "utf8");

/** The rows of the docs' table: code → status. */
function documentedCodes(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of docs.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
    rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

describe("ERROR_CODES", () => {
  it("are each listed in docs/errors.md with their status, and the docs list no other", () => {
    const documented = documentedCodes();
    const declared = new Map(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(declared));
  });
});
