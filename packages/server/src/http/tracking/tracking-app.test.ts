/**
 * The tracking role's app (`omneural tracking`) with its database out of reach: the pixel, clicks and
 * one-click unsubscribes still answer from the request alone and hand their responses on; pages that
 * need the database say "try again later" instead of failing. Nothing here is the database's double:
 * the pool points at a port where nothing listens, as when PostgreSQL is down.
 */
import { loadConfig } from "@omneural/core/config/config";
import { openDatabase } from "@omneural/core/db/database";
import type { ResponseInput } from "@omneural/core/responses/response";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { clickToken, openToken, unsubscribeToken } from "@omneural/core/tracking/tokens";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTrackingApp } from "./app.ts";

const KEY = TEST_KEYS.links;
const WORKSPACE = uuidv7();
const database = openDatabase("postgres://omneural@127.0.0.1:1/unreachable", { poolSize: 1 });
const recorded: ResponseInput[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildTrackingApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "http://omneural.test" }),
      database,
      jobsEnabled: false,
      keys: TEST_KEYS,
      // What the endpoints hand on is all this file checks; the writer has tests of its own.
      responses: { record: (response) => recorded.push(response) },
    },
    logger: false,
  });
});
afterAll(async () => {
  await app.close();
  await database.close();
});

describe("the tracking app", () => {
  it("serves /healthz, the tracking endpoints and the webhooks, not the API", async () => {
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    expect((await app.inject({ method: "GET", url: "/api/v1/workspace" })).statusCode).toBe(404);
    expect((await app.inject({ method: "GET", url: "/api/openapi.json" })).statusCode).toBe(404);
    // The webhooks are there (an unsigned inbound SMS is refused by its route, not missing).
    const hook = await app.inject({
      method: "POST",
      url: "/hooks/twilio/inbound",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "From=%2B14155550100&Body=STOP",
    });
    expect(hook.statusCode).not.toBe(404);
  });
});

describe("with the database down", () => {
  it("answers pixels, clicks and one-click unsubscribes, and hands every response on", async () => {
    const messageId = uuidv7();
    const contactId = uuidv7();
    const pixel = await app.inject({
      method: "GET",
      url: `/t/o/${openToken(KEY, { workspaceId: WORKSPACE, messageId })}`,
    });
    expect(pixel.statusCode).toBe(200);
    const click = await app.inject({
      method: "GET",
      url: `/t/c/${clickToken(KEY, { workspaceId: WORKSPACE, messageId, index: 1, url: "https://shop.example/" })}`,
    });
    expect(click.statusCode).toBe(302);
    expect(click.headers.location).toBe("https://shop.example/");
    const token = unsubscribeToken(KEY, {
      workspaceId: WORKSPACE,
      contactId,
      messageId,
      channel: "email",
      issuedAt: new Date(),
    });
    const oneClick = await app.inject({
      method: "POST",
      url: `/u/${token}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "List-Unsubscribe=One-Click",
    });
    expect(oneClick.statusCode).toBe(200);
    // The confirmation page does without the workspace's name.
    const page = await app.inject({ method: "GET", url: `/u/${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("You will no longer receive emails.");

    expect(recorded.map((r) => [r.kind, r.workspaceId, r.messageId])).toEqual([
      ["opened", WORKSPACE, messageId],
      ["clicked", WORKSPACE, messageId],
      ["unsubscribed", WORKSPACE, messageId],
    ]);
    expect(new Set(recorded.map((r) => r.id)).size).toBe(3);
  });

  it("asks to try again later where a page needs the database", async () => {
    const token = unsubscribeToken(KEY, {
      workspaceId: WORKSPACE,
      contactId: uuidv7(),
      messageId: null,
      channel: "email",
      issuedAt: new Date(),
    });
    for (const url of ["/r/7K3M9QXH2B", `/u/${token}/preferences`, "/s/abcdefghijklmnopqrstuv"]) {
      const res = await app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(503);
      expect(res.headers["retry-after"]).toBe("30");
      expect(res.body).toContain("Please try again in a few minutes.");
    }
  });
});
