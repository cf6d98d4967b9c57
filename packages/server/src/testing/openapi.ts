/**
 * The API's operations as its OpenAPI document lists them, read from an app built without a database:
 * tests that must cover every operation (access rules, audit actions) check against this list, so a new
 * route is covered the day it is added.
 */
import { loadConfig } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { buildApp } from "../http/app.ts";

/** Every operation, as "METHOD /path/{param}" (OpenAPI's own spelling). */
export async function openApiOperations(): Promise<string[]> {
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
    return Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
  } finally {
    await app.close();
  }
}
