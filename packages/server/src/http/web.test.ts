import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import { TEST_KEYS } from "@omneural/core/security/keys";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "./app.ts";

// Serving files needs no database: an app on a stand-in handle serves the web app's routes.
const build = (webRoot: string) =>
  buildApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "http://omneural.test" }),
      database: {} as DatabaseHandle,
      jobsEnabled: false,
      keys: TEST_KEYS,
      responses: { record() {} },
    },
    logger: false,
    webRoot,
  });

const HTML = { accept: "text/html,application/xhtml+xml" };

describe("the web app", () => {
  let dist: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), "omneural-web-"));
    mkdirSync(path.join(dist, "assets"));
    writeFileSync(path.join(dist, "index.html"), "<!doctype html><title>Omneural</title><div id=root></div>");
    writeFileSync(path.join(dist, "assets", "index-Ab12Cd.js"), "console.log('app')");
    app = await build(dist);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it("serves index.html at / and for the app's own paths, never cached", async () => {
    for (const url of ["/", "/contacts/0193b0c4-7d6e-7000-8000-000000000000", "/invite/abc"]) {
      const response = await app.inject({ method: "GET", url, headers: HTML });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers["content-type"]).toMatch(/text\/html/);
      expect(response.headers["cache-control"]).toBe("no-cache");
      expect(response.headers["referrer-policy"]).toBe("same-origin");
      expect(response.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(response.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(response.headers["x-frame-options"]).toBe("DENY");
      expect(response.body).toContain("<div id=root>");
    }
  });

  it("caches hashed assets for a year", async () => {
    const response = await app.inject({ method: "GET", url: "/assets/index-Ab12Cd.js" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
  });

  it("answers missing files, API paths and programs' unknown paths with the 404 problem", async () => {
    for (const [url, headers] of [
      ["/assets/missing.js", HTML],
      ["/api/v1/nope", HTML],
      ["/api/nope", HTML],
      ["/hooks/nope", HTML],
      ["/nope", {}],
    ] as const) {
      const response = await app.inject({ method: "GET", url, headers });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers["content-type"], url).toMatch(/problem\+json/);
    }
  });

  it("keeps the router's 414 for a tracking token longer than any", async () => {
    const response = await app.inject({ method: "GET", url: `/t/c/${"A".repeat(6000)}` });
    expect(response.statusCode).toBe(414);
  });

  it("says how to build it when it is not built", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "omneural-web-empty-"));
    const bare = await build(empty);
    try {
      const response = await bare.inject({ method: "GET", url: "/", headers: HTML });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain("npm run build -w @omneural/web");
      expect((await bare.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
