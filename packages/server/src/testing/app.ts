/** An API on a fresh test database, with two workspaces to prove isolation. */
import { loadConfig } from "@omneural/core/config/config";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { useTestDatabase } from "@omneural/core/testing/database";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { buildApp } from "../http/app.ts";

export interface TestWorkspace {
  id: string;
  apiKey: string;
}

export function useTestApp(env: Record<string, string> = {}) {
  const database = useTestDatabase();
  const state: { app?: FastifyInstance; a?: TestWorkspace; b?: TestWorkspace } = {};
  beforeAll(async () => {
    const config = loadConfig({ PUBLIC_URL: "http://omneural.test", ...env });
    state.app = await buildApp({
      deps: { config, database: database.handle, jobsEnabled: true, keys: TEST_KEYS },
      logger: false,
    });
    const a = await createWorkspace(database.handle.db, {
      name: "Acme",
      defaultCountry: "US",
      defaultTimezone: "America/New_York",
    });
    const b = await createWorkspace(database.handle.db, {
      name: "Globex",
      defaultCountry: "GB",
      defaultTimezone: "Europe/London",
    });
    state.a = { id: a.workspace.id, apiKey: a.apiKey };
    state.b = { id: b.workspace.id, apiKey: b.apiKey };
  });
  afterAll(async () => {
    await state.app?.close();
  });
  const call = (who: TestWorkspace | undefined, options: InjectOptions) =>
    state.app!.inject({
      ...options,
      headers: { ...(who ? { authorization: `Bearer ${who.apiKey}` } : {}), ...(options.headers ?? {}) },
    });
  return {
    database,
    get app() {
      return state.app!;
    },
    /** The first workspace (US defaults). */
    get a() {
      return state.a!;
    },
    /** The second workspace (GB defaults). */
    get b() {
      return state.b!;
    },
    asA: (options: InjectOptions) => call(state.a, options),
    asB: (options: InjectOptions) => call(state.b, options),
    anonymous: (options: InjectOptions) => call(undefined, options),
  };
}
