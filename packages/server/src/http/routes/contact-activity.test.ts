/**
 * GET /api/v1/contacts/{id}/audiences and /activity: the contact's lists and listened segments, and its
 * events, responses, send-ledger rows and consent changes as one newest-first timeline, paged, one
 * workspace's only, open to viewers.
 */
import { seedSentEmails } from "@omneural/core/testing/responses";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

interface Item {
  kind: string;
  id: string;
  at: string;
  type?: string;
  status?: string;
  reason?: string | null;
  campaign?: { id: string; name: string | null } | null;
}

let contactId: string;
let listId: string;
let campaignId: string;
let messageId: string;

async function ok(response: { statusCode: number; body: string; json: () => unknown }, status = 200) {
  expect(response.statusCode, response.body).toBe(status);
  return response.json() as Record<string, unknown>;
}

beforeAll(async () => {
  const db = t.database.handle.db;
  const ws = { id: t.a.id, defaultCountry: "US", defaultTimezone: "America/New_York" };
  const sent = await seedSentEmails(db, ws, 1, new Date(Date.now() - 2 * 60 * 60_000));
  contactId = sent.messages[0]!.contactId;
  messageId = sent.messages[0]!.id;
  campaignId = sent.campaignId;
  await sql`update messages set status = 'skipped', reason = 'email consent is unsubscribed'
            where id = ${messageId}`.execute(db);

  const list = await ok(
    await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name: "VIP list", kind: "list" } }),
    201,
  );
  listId = list.id as string;
  await ok(
    await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${listId}/members`,
      payload: { contactIds: [contactId] },
    }),
  );
  const hour = 60 * 60_000;
  await ok(
    await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [
          {
            contactId,
            type: "purchase",
            properties: { total: 42 },
            occurredAt: new Date(Date.now() - hour).toISOString(),
          },
          {
            contactId,
            type: "message.opened",
            properties: { campaignId, messageId, channel: "email" },
            occurredAt: new Date(Date.now() - hour / 2).toISOString(),
          },
        ],
      },
    }),
  );
  await ok(
    await t.asA({
      method: "PATCH",
      url: `/api/v1/contacts/${contactId}`,
      payload: { consent: { sms: "subscribed" } },
    }),
  );
});

describe("GET /api/v1/contacts/{id}/audiences", () => {
  it("lists the lists the contact is on", async () => {
    const body = await ok(await t.asA({ method: "GET", url: `/api/v1/contacts/${contactId}/audiences` }));
    expect(body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: listId, name: "VIP list", kind: "list" })]),
    );
  });

  it("answers 404 for another workspace's contact, and for an unknown one", async () => {
    const other = await t.asB({ method: "GET", url: `/api/v1/contacts/${contactId}/audiences` });
    expect(other.statusCode).toBe(404);
    const unknown = await t.asA({
      method: "GET",
      url: "/api/v1/contacts/00000000-0000-4000-8000-000000000000/audiences",
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe("GET /api/v1/contacts/{id}/activity", () => {
  it("merges events, responses, messages and consent changes, newest first", async () => {
    const body = await ok(await t.asA({ method: "GET", url: `/api/v1/contacts/${contactId}/activity` }));
    const items = body.data as Item[];
    expect(items.map((item) => item.kind)).toEqual(
      expect.arrayContaining(["event", "response", "message", "consent"]),
    );
    const times = items.map((item) => item.at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(items.find((item) => item.kind === "event")).toMatchObject({ type: "purchase" });
    expect(items.find((item) => item.kind === "response")).toMatchObject({
      type: "message.opened",
      campaign: { id: campaignId },
    });
    const message = items.find((item) => item.kind === "message");
    expect(message).toMatchObject({
      id: messageId,
      status: "skipped",
      reason: "email consent is unsubscribed",
      channel: "email",
      campaign: { id: campaignId, name: expect.any(String) },
      template: { id: expect.any(String), name: expect.any(String) },
    });
    expect(items.find((item) => item.kind === "consent")).toMatchObject({
      channel: "sms",
      status: "subscribed",
    });
    expect(body.nextCursor).toBeNull();
  });

  it("pages with a cursor without repeating or skipping a row, even when rows share a time", async () => {
    const at = new Date(Date.now() - 3 * 60 * 60_000).toISOString();
    await ok(
      await t.asA({
        method: "POST",
        url: "/api/v1/events",
        payload: {
          events: Array.from({ length: 7 }, (_, i) => ({
            contactId,
            type: `same_time_${i}`,
            occurredAt: at,
          })),
        },
      }),
    );
    const all = (
      await ok(await t.asA({ method: "GET", url: `/api/v1/contacts/${contactId}/activity?limit=200` }))
    ).data as Item[];
    const seen: Item[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `limit=3&cursor=${encodeURIComponent(cursor)}` : "limit=3";
      const body = await ok(
        await t.asA({ method: "GET", url: `/api/v1/contacts/${contactId}/activity?${query}` }),
      );
      const data = body.data as Item[];
      expect(data.length).toBeLessThanOrEqual(3);
      seen.push(...data);
      cursor = body.nextCursor as string | null;
      pages += 1;
    } while (cursor && pages < 20);
    expect(seen.map((item) => `${item.kind}:${item.id}`)).toEqual(
      all.map((item) => `${item.kind}:${item.id}`),
    );
    expect(seen.length).toBeGreaterThanOrEqual(11);
  });

  it("rejects a cursor it did not make", async () => {
    const response = await t.asA({
      method: "GET",
      url: `/api/v1/contacts/${contactId}/activity?cursor=nonsense`,
    });
    expect(response.statusCode).toBe(400);
  });

  it("answers 404 for another workspace's contact", async () => {
    const response = await t.asB({ method: "GET", url: `/api/v1/contacts/${contactId}/activity` });
    expect(response.statusCode).toBe(404);
  });

  it("is open to viewers, who only read", async () => {
    const viewer = await t.member(t.a, "viewer");
    const activity = await t.asSession(viewer, {
      method: "GET",
      url: `/api/v1/contacts/${contactId}/activity`,
    });
    expect(activity.statusCode, activity.body).toBe(200);
    const audiences = await t.asSession(viewer, {
      method: "GET",
      url: `/api/v1/contacts/${contactId}/audiences`,
    });
    expect(audiences.statusCode, audiences.body).toBe(200);
    expect(
      (await t.anonymous({ method: "GET", url: `/api/v1/contacts/${contactId}/activity` })).statusCode,
    ).toBe(401);
  });
});
