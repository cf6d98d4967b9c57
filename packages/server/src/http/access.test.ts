import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiOperations } from "../testing/openapi.ts";
import { ROUTE_ACCESS } from "./access.ts";

const docs = readFileSync(new URL("../../../../docs/users-and-roles.md", import.meta.url), "utf8");

async function operations(): Promise<Set<string>> {
  return new Set(await openApiOperations());
}

describe("ROUTE_ACCESS", () => {
  it("names only operations that exist, each listed in docs/users-and-roles.md", async () => {
    const existing = await operations();
    for (const route of Object.keys(ROUTE_ACCESS)) {
      const openApi = route.replace(/:(\w+)/g, "{$1}");
      expect(existing, `${route} is not an operation of the API`).toContain(openApi);
      expect(docs, `${route} is not in docs/users-and-roles.md`).toContain(`\`${openApi}\``);
    }
  });
});
