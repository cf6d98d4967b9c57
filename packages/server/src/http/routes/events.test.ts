import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

describe("POST /api/v1/events", () => {
  it("records events by contactId, externalId and email, creating unknown contacts", async () => {
    const contact = (
      await t.asA({ method: "POST", url: "/api/v1/contacts", payload: { email: "known@example.com" } })
    ).json();
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [
          {
            id: "e1",
            contactId: contact.id,
            type: "purchase",
            properties: { total: 42 },
            occurredAt: "2026-11-01T10:00:00Z",
          },
          { id: "e2", email: "KNOWN@example.com", type: "page_view" },
          { id: "e3", externalId: "cust-77", type: "signup" },
          { id: "e4", email: "brand-new@example.com", type: "cart_abandoned", properties: { items: 3 } },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 4, duplicates: 0, rejected: 0 });
    expect(body.results[1].contactId).toBe(contact.id);
    expect(body.results[2].contactCreated).toBe(true);
    expect(body.results[3].contactCreated).toBe(true);
    const created = await t.asA({ method: "GET", url: `/api/v1/contacts/${body.results[3].contactId}` });
    expect(created.json()).toMatchObject({ email: "brand-new@example.com", timezone: "America/New_York" });
    const stored = await t.database.handle.db
      .selectFrom("events")
      .selectAll()
      .where("id", "=", "e1")
      .executeTakeFirstOrThrow();
    expect(stored.properties).toEqual({ total: 42 });
    expect(stored.occurred_at.toISOString()).toBe("2026-11-01T10:00:00.000Z");
  });

  it("ignores an event id seen before, so a retried batch counts once", async () => {
    const batch = {
      events: [
        { id: "retry-1", email: "retry@example.com", type: "click" },
        { id: "retry-2", email: "retry@example.com", type: "click" },
      ],
    };
    const first = await t.asA({ method: "POST", url: "/api/v1/events", payload: batch });
    expect(first.json()).toMatchObject({ accepted: 2, duplicates: 0 });
    const again = await t.asA({ method: "POST", url: "/api/v1/events", payload: batch });
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 2 });
    const within = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [
          { id: "twice", email: "retry@example.com", type: "x" },
          { id: "twice", email: "retry@example.com", type: "x" },
        ],
      },
    });
    expect(within.json().results.map((r: { status: string }) => r.status)).toEqual(["accepted", "duplicate"]);
    const count = await t.database.handle.db
      .selectFrom("events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("id", "in", ["retry-1", "retry-2", "twice"])
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(3);
  });

  it("rejects single events it cannot attribute, and accepts the rest", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [
          { type: "orphan" },
          { contactId: "00000000-0000-4000-8000-000000000000", type: "ghost" },
          { email: "not-an-email", type: "x" },
          { email: "ok@example.com", type: "fine" },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const results = res.json().results;
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      "rejected",
      "rejected",
      "rejected",
      "accepted",
    ]);
    expect(results[1].error).toMatch(/does not exist/);
  });

  it("refuses batches over 1,000, unknown fields and bad types as a whole", async () => {
    const tooMany = {
      events: Array.from({ length: 1001 }, (_, i) => ({ email: `n${i}@example.com`, type: "x" })),
    };
    expect((await t.asA({ method: "POST", url: "/api/v1/events", payload: tooMany })).statusCode).toBe(400);
    const unknown = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ email: "a@example.com", type: "x", colour: "red" }] },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].field).toBe("events.0.colour");
    const badType = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ email: "a@example.com", type: "has spaces" }] },
    });
    expect(badType.statusCode).toBe(400);
    const badDate = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ email: "a@example.com", type: "x", occurredAt: "yesterday" }] },
    });
    expect(badDate.statusCode).toBe(400);
  });

  it("cannot attach events to another workspace's contact", async () => {
    const contact = (
      await t.asA({ method: "POST", url: "/api/v1/contacts", payload: { email: "a-only@example.com" } })
    ).json();
    const res = await t.asB({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ contactId: contact.id, type: "x" }] },
    });
    expect(res.json().results[0]).toMatchObject({ status: "rejected" });
    const byEmail = await t.asB({
      method: "POST",
      url: "/api/v1/events",
      payload: { events: [{ email: "a-only@example.com", type: "x" }] },
    });
    expect(byEmail.json().results[0].contactId).not.toBe(contact.id);
  });
});

describe("workspace, health and docs", () => {
  it("serves the calling workspace", async () => {
    const res = await t.asA({ method: "GET", url: "/api/v1/workspace" });
    expect(res.json()).toMatchObject({ id: t.a.id, name: "Acme", defaultCountry: "US" });
    expect((await t.asB({ method: "GET", url: "/api/v1/workspace" })).json().id).toBe(t.b.id);
  });

  it("answers /healthz and /readyz", async () => {
    expect((await t.anonymous({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    expect((await t.anonymous({ method: "GET", url: "/readyz" })).json()).toEqual({ status: "ready" });
  });

  it("publishes an OpenAPI 3.1 document with every route and the docs UI", async () => {
    const doc = (await t.anonymous({ method: "GET", url: "/api/openapi.json" })).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/events",
        "/api/v1/contacts/imports",
        "/api/v1/contacts/imports/{id}",
      ]),
    );
    const ui = await t.anonymous({ method: "GET", url: "/api/docs/" });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toMatch(/swagger/i);
  });

  it("answers unknown routes with a problem", async () => {
    const res = await t.anonymous({ method: "GET", url: "/nope" });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe("NOT_FOUND");
  });
});
