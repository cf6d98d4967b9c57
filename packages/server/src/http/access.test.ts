import { readFileSync } from "node:fs";
import { loadConfig } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { describe, expect, it } from "vitest";
import { ROUTE_ACCESS } from "./access.ts";
import { buildApp } from "./app.ts";

const docs = readFileSync(new URL("../../../../docs/users-and-roles.md", import.meta.url), "utf8");

async function operations(): Promise<Set<string>> {
  const app = await buildApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "http://omneural.test" }),
      database: {} as DatabaseHandle,
      jobsEnabled: false,
      keys: TEST_KEYS,
      responses: { record() {} },
    },
    logger: false,
  });
  try {
    const document = (await app.inject({ method: "GET", url: "/api/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    return new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
  } finally {
    await app.close();
  }
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
