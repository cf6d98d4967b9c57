import { loadConfig } from "@omneural/core/config/config";
import { TEST_KEYS } from "@omneural/core/security/keys";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testCacheEnv, useTestApp } from "../../testing/app.ts";
import { buildApp } from "../app.ts";

const t = useTestApp();

/** A second API process on the same database, with its own cache in the same mode as the first. */
let other: FastifyInstance;
beforeAll(async () => {
  other = await buildApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "http://omneural.test", ...testCacheEnv() }),
      database: t.database.handle,
      jobsEnabled: true,
      keys: TEST_KEYS,
      responses: { record() {} },
    },
    logger: false,
  });
});
afterAll(async () => {
  await other?.close();
});

const withKey = (app: FastifyInstance, key: string, url = "/api/v1/workspace") =>
  app.inject({ method: "GET", url, headers: { authorization: `Bearer ${key}` } });

async function eventually(check: () => Promise<boolean>) {
  const deadline = Date.now() + 3000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("not within 3 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("/api/v1/api-keys", () => {
  it("creates a key shown once, lists keys by prefix and never the key, and the key works", async () => {
    const created = await t.asA({ method: "POST", url: "/api/v1/api-keys", payload: { name: "zapier" } });
    expect(created.statusCode).toBe(201);
    const { key, id, prefix } = created.json();
    expect(key).toMatch(/^omn_/);
    expect(key.startsWith(prefix)).toBe(true);
    expect((await withKey(t.app, key)).json().id).toBe(t.a.id);

    const list = await t.asA({ method: "GET", url: "/api/v1/api-keys" });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(key);
    expect(list.json().data.find((k: { id: string }) => k.id === id)).toMatchObject({
      name: "zapier",
      prefix,
      revokedAt: null,
    });
  });

  it("refuses a nameless key with the field's error", async () => {
    const res = await t.asA({ method: "POST", url: "/api/v1/api-keys", payload: { name: "   " } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ field: "name", message: "must be 1 to 100 characters" }]);
  });

  it("revokes a key at once here and, through the cache's invalidation, in another API process", async () => {
    const { key, id } = (
      await t.asA({ method: "POST", url: "/api/v1/api-keys", payload: { name: "to revoke" } })
    ).json();
    // Both processes have it cached.
    for (let i = 0; i < 2; i++) {
      expect((await withKey(t.app, key)).statusCode).toBe(200);
      expect((await withKey(other, key)).statusCode).toBe(200);
    }
    const revoked = await t.asA({ method: "DELETE", url: `/api/v1/api-keys/${id}` });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    expect((await withKey(t.app, key)).statusCode).toBe(401);
    await eventually(async () => (await withKey(other, key)).statusCode === 401);
    // Revoking twice: there is no such live key.
    expect((await t.asA({ method: "DELETE", url: `/api/v1/api-keys/${id}` })).statusCode).toBe(404);
    // The audit log says who revoked which key.
    const audit = await t.asA({ method: "GET", url: `/api/v1/audit?objectId=${id}` });
    expect(audit.json().data.map((e: { action: string }) => e.action)).toEqual([
      "api_key.revoke",
      "api_key.create",
    ]);
  });

  it("is for owners and admins only", async () => {
    const marketer = await t.member(t.a, "marketer");
    const list = await t.asSession(marketer, { method: "GET", url: "/api/v1/api-keys" });
    expect(list.statusCode).toBe(403);
    const create = await t.asSession(marketer, {
      method: "POST",
      url: "/api/v1/api-keys",
      payload: { name: "x" },
    });
    expect(create.statusCode).toBe(403);
    const admin = await t.member(t.a, "admin");
    const made = await t.asSession(admin, {
      method: "POST",
      url: "/api/v1/api-keys",
      payload: { name: "admin's" },
    });
    expect(made.statusCode).toBe(201);
  });
});
