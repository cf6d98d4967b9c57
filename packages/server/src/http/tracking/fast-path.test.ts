/**
 * The fast path for open pixels and click redirects (links.ts), over real HTTP on loopback (inject()
 * never reaches it): it answers exactly what the Fastify routes answer, records each response once, and
 * leaves everything it does not fully understand to Fastify.
 */
import type { AddressInfo } from "node:net";
import { loadConfig } from "@omneural/core/config/config";
import { openDatabase } from "@omneural/core/db/database";
import type { ResponseInput } from "@omneural/core/responses/response";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { clickToken, openToken, unsubscribeToken } from "@omneural/core/tracking/tokens";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildTrackingApp } from "./app.ts";
import { PIXEL_GIF } from "./links.ts";

const KEY = TEST_KEYS.links;
const OTHER_KEY = Buffer.alloc(32, 7);
const WORKSPACE = uuidv7();
// No database: these answers never need one.
const database = openDatabase("postgres://omneural@127.0.0.1:1/unreachable", { poolSize: 1 });
const recorded: ResponseInput[] = [];
let app: FastifyInstance;
let base: string;
let seenByFastify: string[] = [];

beforeAll(async () => {
  app = await buildTrackingApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "https://t.omneural.test" }),
      database,
      jobsEnabled: false,
      keys: TEST_KEYS,
      responses: { record: (response) => recorded.push(response) },
    },
    logger: false,
  });
  app.addHook("onRequest", async (request) => {
    seenByFastify.push(`${request.method} ${request.url}`);
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
  await database.close();
});
beforeEach(() => {
  recorded.length = 0;
  seenByFastify = [];
});

const VOLATILE = new Set(["date", "connection", "keep-alive", "x-request-id", "transfer-encoding"]);
/** The headers that must be the same whichever way the answer was made. */
function stable(headers: Record<string, unknown>) {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !VOLATILE.has(name))
      .map(([name, value]) => [name, String(value)])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
  );
}

const click = (url: string, key = KEY) =>
  `/t/c/${clickToken(key, { workspaceId: WORKSPACE, messageId: uuidv7(), index: 3, url })}`;
const pixel = (key = KEY) => `/t/o/${openToken(key, { workspaceId: WORKSPACE, messageId: uuidv7() })}`;

async function get(path: string, init: RequestInit = {}) {
  const response = await fetch(`${base}${path}`, { redirect: "manual", ...init });
  const body = Buffer.from(await response.arrayBuffer());
  return { response, body, headers: Object.fromEntries(response.headers) };
}

describe("the link fast path", () => {
  it("redirects a click with the routes' headers, records it once, and never reaches Fastify", async () => {
    const path = click("https://shop.example/spring?utm_source=email");
    const { response, body, headers } = await get(path, { headers: { "user-agent": "Mozilla/5.0 test" } });
    expect(response.status).toBe(302);
    expect(headers.location).toBe("https://shop.example/spring?utm_source=email");
    expect(body.length).toBe(0);
    expect(seenByFastify).toEqual([]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      workspaceId: WORKSPACE,
      kind: "clicked",
      properties: {
        url: "https://shop.example/spring?utm_source=email",
        index: 3,
        userAgent: "Mozilla/5.0 test",
        method: "GET",
        ip: "127.0.0.1",
      },
    });
    expect(recorded[0]!.at).toBeInstanceOf(Date);

    // The same request through Fastify's route (inject never takes the fast path): same answer.
    recorded.length = 0;
    const routed = await app.inject({
      method: "GET",
      url: path,
      headers: { "user-agent": "Mozilla/5.0 test" },
    });
    expect(routed.statusCode).toBe(302);
    expect(stable(headers)).toEqual(stable(routed.headers));
    expect(stable(headers)).toMatchObject({
      "strict-transport-security": "max-age=31536000",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store, no-cache, must-revalidate, private, max-age=0",
    });
    expect(recorded).toHaveLength(1);
  });

  it("serves the pixel with the routes' headers and records the open", async () => {
    const path = pixel();
    const { response, body, headers } = await get(path);
    expect(response.status).toBe(200);
    expect(body.equals(PIXEL_GIF)).toBe(true);
    expect(seenByFastify).toEqual([]);
    expect(recorded).toMatchObject([{ kind: "opened", properties: { method: "GET" } }]);
    const routed = await app.inject({ method: "GET", url: path });
    expect(stable(headers)).toEqual(stable(routed.headers));
  });

  it("answers HEAD without a body and records it as a HEAD, which the ingest may call a machine", async () => {
    const clicked = await get(click("https://a.example/x"), { method: "HEAD" });
    expect(clicked.response.status).toBe(302);
    const opened = await get(pixel(), { method: "HEAD" });
    expect(opened.response.status).toBe(200);
    expect(opened.headers["content-length"]).toBe(String(PIXEL_GIF.length));
    expect(opened.body.length).toBe(0);
    expect(recorded.map((r) => [r.kind, r.properties.method])).toEqual([
      ["clicked", "HEAD"],
      ["opened", "HEAD"],
    ]);
    expect(seenByFastify).toEqual([]);
  });

  it("takes the token without a query string a mail client appended", async () => {
    const { response, headers } = await get(`${click("https://a.example/y")}?utm_medium=forward`);
    expect(response.status).toBe(302);
    expect(headers.location).toBe("https://a.example/y");
    expect(recorded).toHaveLength(1);
    expect(seenByFastify).toEqual([]);
  });

  it("echoes a sane x-request-id and makes one otherwise", async () => {
    const given = await get(click("https://a.example/"), { headers: { "x-request-id": "req-123" } });
    expect(given.headers["x-request-id"]).toBe("req-123");
    const made = await get(click("https://a.example/"), { headers: { "x-request-id": "a b" } });
    expect(made.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("leaves forged, foreign-kind and odd requests to Fastify, which answers them as before", async () => {
    const unsubscribe = unsubscribeToken(KEY, {
      workspaceId: WORKSPACE,
      contactId: uuidv7(),
      messageId: null,
      channel: "email",
      issuedAt: new Date(),
    });
    const cases: [string, RequestInit, number][] = [
      [click("https://shop.example/", OTHER_KEY), {}, 404], // forged
      [`/t/c/${unsubscribe}`, {}, 404], // a token of another kind
      [click("javascript:alert(1)"), {}, 404], // not a web URL
      [`${click("https://shop.example/")}/`, {}, 404], // a trailing slash
      ["/t/c/", {}, 404],
      [pixel(OTHER_KEY), {}, 200], // a forged pixel still gets the image, and nothing is recorded
    ];
    for (const [path, init, status] of cases) {
      seenByFastify = [];
      const { response } = await get(path, init);
      expect(response.status, path).toBe(status);
      expect(seenByFastify, path).toHaveLength(1);
    }
    // Another method goes to Fastify too.
    seenByFastify = [];
    const posted = await get(click("https://shop.example/"), { method: "POST", body: "x" });
    expect(posted.response.status).toBe(404);
    expect(seenByFastify).toHaveLength(1);
    expect(recorded).toEqual([]);
  });

  it("counts its answers in the request-duration metric", async () => {
    await get(click("https://metrics.example/"));
    const metrics = await get("/metrics");
    expect(metrics.body.toString()).toMatch(
      /omneural_http_request_duration_seconds_count\{method="GET",route="\/t\/c\/:token",status="302"\} [1-9]/,
    );
  });
});
