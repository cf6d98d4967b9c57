/**
 * An API on a fresh test database, with two workspaces to prove isolation. Responses from the tracking
 * endpoints go to the real ingest writer (spooling into a temporary directory); `responses.recorded`
 * lists what the endpoints handed it, `responses.flush()` writes them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@omneural/core/config/config";
import { createResponseIngest } from "@omneural/core/responses/ingest";
import type { ResponseInput } from "@omneural/core/responses/response";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { createLogger } from "@omneural/core/shared/logger";
import { useTestDatabase } from "@omneural/core/testing/database";
import { TEST_REDIS_URL } from "@omneural/core/testing/redis";
import { hashPassword } from "@omneural/core/users/password";
import type { Role } from "@omneural/core/users/user";
import { insertMember, insertUser } from "@omneural/core/users/user.repository";
import { createSession } from "@omneural/core/users/user.service";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { buildApp } from "../http/app.ts";

const silentLogger = createLogger({ level: "silent", format: "json", name: "test" });

export interface TestWorkspace {
  id: string;
  apiKey: string;
}

/** A signed-in member: the session cookie's value and the CSRF token its unsafe requests send. */
export interface TestSession {
  userId: string;
  email: string;
  password: string;
  token: string;
  csrfToken: string;
}

export const TEST_PASSWORD = "correct horse battery staple";

/**
 * The cache mode the API tests run with: OMNEURAL_TEST_CACHE=off or redis (with the test Redis), else
 * the default (memory). CI runs the suite in every mode; the results must not differ (cache/cache.ts).
 */
export function testCacheEnv(): Record<string, string> {
  const mode = process.env.OMNEURAL_TEST_CACHE;
  if (mode === "off") return { CACHE: "off" };
  if (mode === "redis") return { CACHE: "redis", REDIS_URL: TEST_REDIS_URL };
  return {};
}

export function useTestApp(env: Record<string, string> = {}) {
  const database = useTestDatabase();
  const state: {
    app?: FastifyInstance;
    a?: TestWorkspace;
    b?: TestWorkspace;
    ingest?: ReturnType<typeof createResponseIngest>;
    spoolDir?: string;
  } = {};
  const recorded: ResponseInput[] = [];
  beforeAll(async () => {
    const config = loadConfig({ PUBLIC_URL: "http://omneural.test", ...testCacheEnv(), ...env });
    state.spoolDir = mkdtempSync(path.join(tmpdir(), "omneural-spool-"));
    const ingest = createResponseIngest(database.handle.db, {
      spoolDir: state.spoolDir,
      logger: silentLogger,
    });
    state.ingest = ingest;
    const responses = {
      record(response: ResponseInput) {
        recorded.push(response);
        ingest.record(response);
      },
    };
    state.app = await buildApp({
      deps: { config, database: database.handle, jobsEnabled: true, keys: TEST_KEYS, responses },
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
    await state.ingest?.close();
    if (state.spoolDir) rmSync(state.spoolDir, { recursive: true, force: true });
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
    /** What the endpoints handed the response sink, in order; `flush()` writes it to the database. */
    responses: {
      recorded,
      flush: () => state.ingest!.flush(),
    },
    asA: (options: InjectOptions) => call(state.a, options),
    asB: (options: InjectOptions) => call(state.b, options),
    anonymous: (options: InjectOptions) => call(undefined, options),
    /**
     * A new user who is a member of `who`'s workspace with `role`, signed in (password TEST_PASSWORD).
     */
    async member(
      who: TestWorkspace,
      role: Role,
      email = `${role}.${Math.random().toString(36).slice(2)}@team.example`,
    ): Promise<TestSession> {
      const db = database.handle.db;
      const user = await insertUser(db, {
        email,
        name: `A ${role}`,
        passwordHash: await hashPassword(TEST_PASSWORD),
      });
      await insertMember(db, { workspaceId: who.id, userId: user.id, role });
      const session = await createSession(db, user.id, who.id, new Date());
      return {
        userId: user.id,
        email,
        password: TEST_PASSWORD,
        token: session.token,
        csrfToken: session.csrfToken,
      };
    },
    /** A request with the member's session cookie and, unless `csrf: false`, its CSRF token. */
    asSession: (session: TestSession, options: InjectOptions, { csrf = true } = {}) =>
      state.app!.inject({
        ...options,
        cookies: { omneural_session: session.token, ...(options.cookies ?? {}) },
        headers: { ...(csrf ? { "x-csrf-token": session.csrfToken } : {}), ...(options.headers ?? {}) },
      }),
  };
}
