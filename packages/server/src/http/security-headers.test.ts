import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { openToken } from "@omneural/core/tracking/tokens";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildAppOptions, buildApp } from "./app.ts";
import { buildTrackingApp } from "./tracking/app.ts";

// Headers need no database: the routes checked here answer before touching one.
const options = (env: Record<string, string>, webRoot?: string): BuildAppOptions => ({
  deps: {
    config: loadConfig({ PUBLIC_URL: "http://omneural.test", ...env }),
    database: {} as DatabaseHandle,
    jobsEnabled: false,
    keys: TEST_KEYS,
    responses: { record() {} },
  },
  logger: false,
  ...(webRoot ? { webRoot } : {}),
});

const HTML = { accept: "text/html" };
const APP_ORIGIN = "https://app.acme.example";

describe("security headers", () => {
  let dist: string;
  let plain: FastifyInstance;
  let secure: FastifyInstance;
  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), "omneural-web-"));
    writeFileSync(path.join(dist, "index.html"), "<!doctype html><title>Omneural</title><div id=root></div>");
    plain = await buildApp(options({}, dist));
    secure = await buildApp(options({ PUBLIC_URL: "https://omneural.acme.example" }, dist));
  });
  afterAll(async () => {
    await plain.close();
    await secure.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it("gives the web app a policy of its own scripts and styles only, never framed", async () => {
    const response = await plain.inject({ method: "GET", url: "/contacts", headers: HTML });
    expect(response.statusCode).toBe(200);
    const csp = String(response.headers["content-security-policy"]);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "script-src-attr 'none'",
      "style-src 'self'",
      "img-src 'self' data:",
      "object-src 'none'",
      "frame-ancestors 'none'",
      "base-uri 'self'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(response.headers).toMatchObject({
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "same-origin",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin",
    });
  });

  it("sends HSTS and upgrade-insecure-requests only when PUBLIC_URL is https", async () => {
    const overHttp = await plain.inject({ method: "GET", url: "/healthz" });
    expect(overHttp.headers["strict-transport-security"]).toBeUndefined();
    const overHttps = await secure.inject({ method: "GET", url: "/healthz" });
    expect(overHttps.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect(String(overHttps.headers["content-security-policy"])).toContain("upgrade-insecure-requests");
  });

  it("puts the headers on the API's problems too", async () => {
    const response = await plain.inject({ method: "GET", url: "/api/v1/contacts" });
    expect(response.statusCode).toBe(401);
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["content-security-policy"]).toContain("default-src 'self'");
  });

  it("lets the API docs load their own scripts and styles (checked in Chromium: no CSP report)", async () => {
    const page = await plain.inject({ method: "GET", url: "/api/docs/" });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'"); // Swagger UI sets one inline style
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    // The page has no inline script: everything it runs comes from its own static files.
    expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)/);
    for (const src of page.body.matchAll(/<script src="([^"]+)"/g)) {
      const url = new URL(src[1]!, "http://omneural.test/api/docs/").pathname;
      expect((await plain.inject({ method: "GET", url })).statusCode, url).toBe(200);
    }
  });

  it("lets mail clients load the open pixel from another origin, and keeps the pages' own policy", async () => {
    const token = openToken(TEST_KEYS.links, {
      workspaceId: "0193b0c4-7d6e-7000-8000-000000000001",
      messageId: "0193b0c4-7d6e-7000-8000-000000000002",
    });
    for (const app of [plain, await buildTrackingApp(options({}))]) {
      const pixel = await app.inject({ method: "GET", url: `/t/o/${token}` });
      expect(pixel.statusCode).toBe(200);
      expect(pixel.headers["content-type"]).toBe("image/gif");
      expect(pixel.headers["cross-origin-resource-policy"]).toBe("cross-origin");
      const page = await app.inject({ method: "GET", url: "/t/c/not-a-token" });
      expect(page.statusCode).toBe(404);
      expect(page.headers["content-security-policy"]).toBe(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(page.headers["x-content-type-options"]).toBe("nosniff");
      const health = await app.inject({ method: "GET", url: "/healthz" });
      expect(health.headers["x-frame-options"]).toBe("DENY");
      expect(health.headers["content-security-policy"]).toContain("default-src 'self'");
      if (app !== plain) await app.close();
    }
  });
});

describe("CORS", () => {
  let closed: FastifyInstance;
  let open: FastifyInstance;
  beforeAll(async () => {
    closed = await buildApp(options({}));
    open = await buildApp(options({ CORS_ORIGINS: `${APP_ORIGIN},http://localhost:5173` }));
  });
  afterAll(async () => {
    await closed.close();
    await open.close();
  });

  const preflight = (app: FastifyInstance, origin: string, url = "/api/v1/contacts") =>
    app.inject({
      method: "OPTIONS",
      url,
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("answers no cross-origin request by default", async () => {
    const answer = await preflight(closed, APP_ORIGIN);
    expect(answer.statusCode).toBe(404);
    expect(answer.headers["access-control-allow-origin"]).toBeUndefined();
    const get = await closed.inject({
      method: "GET",
      url: "/api/v1/contacts",
      headers: { origin: APP_ORIGIN },
    });
    expect(get.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers the preflight of a listed origin, with its own origin and without credentials", async () => {
    const answer = await preflight(open, APP_ORIGIN);
    expect(answer.statusCode).toBe(204);
    expect(answer.headers["access-control-allow-origin"]).toBe(APP_ORIGIN);
    expect(answer.headers["access-control-allow-methods"]).toContain("POST");
    expect(String(answer.headers["access-control-allow-headers"])).toContain("authorization");
    expect(answer.headers["access-control-allow-credentials"]).toBeUndefined();
    const get = await open.inject({
      method: "GET",
      url: "/api/v1/contacts",
      headers: { origin: APP_ORIGIN },
    });
    expect(get.statusCode).toBe(401);
    expect(get.headers["access-control-allow-origin"]).toBe(APP_ORIGIN);
    expect(String(get.headers["access-control-expose-headers"])).toContain("x-request-id");
    expect(String(get.headers.vary)).toMatch(/origin/i);
  });

  it("refuses other origins, and gives no CORS headers outside the API", async () => {
    for (const origin of ["https://evil.example", "https://app.acme.example.evil.example", "null"]) {
      const answer = await preflight(open, origin);
      expect(answer.statusCode, origin).toBe(404);
      expect(answer.headers["access-control-allow-origin"], origin).toBeUndefined();
    }
    const hook = await preflight(open, APP_ORIGIN, "/hooks/twilio/inbound");
    expect(hook.headers["access-control-allow-origin"]).toBeUndefined();
    const health = await open.inject({ method: "GET", url: "/healthz", headers: { origin: APP_ORIGIN } });
    expect(health.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
