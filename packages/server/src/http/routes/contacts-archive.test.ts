/**
 * Archived contacts over HTTP: GET /contacts hides them unless `archived` says otherwise, a contact shows
 * `archivedAt`, POST /contacts/{id}/restore brings one back, and another workspace cannot restore it.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

async function contact(email: string) {
  const r = await t.asA({ method: "POST", url: "/api/v1/contacts", payload: { email } });
  expect(r.statusCode).toBe(201);
  return r.json().id as string;
}

const ids = async (query = "") => {
  const r = await t.asA({ method: "GET", url: `/api/v1/contacts${query}` });
  expect(r.statusCode, r.body).toBe(200);
  return (r.json().data as { id: string }[]).map((c) => c.id).sort();
};

describe("archived contacts", () => {
  it("are listed only when asked, and restore brings one back", async () => {
    const kept = await contact("kept@example.com");
    const archived = await contact("archived@example.com");
    const at = new Date("2031-01-01T00:00:00Z");
    await sql`update contacts set archived_at = ${at} where id = ${archived}`.execute(t.database.handle.db);

    expect(await ids()).toEqual([kept]);
    expect(await ids("?archived=exclude")).toEqual([kept]);
    expect(await ids("?archived=only")).toEqual([archived]);
    expect(await ids("?archived=include")).toEqual([kept, archived].sort());
    expect(await ids("?archived=only&search=archived%40")).toEqual([archived]);
    expect((await t.asA({ method: "GET", url: "/api/v1/contacts?archived=yes" })).statusCode).toBe(400);

    const shown = await t.asA({ method: "GET", url: `/api/v1/contacts/${archived}` });
    expect(shown.json()).toMatchObject({ email: "archived@example.com", archivedAt: at.toISOString() });
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${kept}` })).json().archivedAt).toBeNull();

    // Another workspace cannot restore it, and cannot tell it exists.
    const byB = await t.asB({ method: "POST", url: `/api/v1/contacts/${archived}/restore` });
    expect(byB.statusCode).toBe(404);
    expect(await ids("?archived=only")).toEqual([archived]);

    const restored = await t.asA({ method: "POST", url: `/api/v1/contacts/${archived}/restore` });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json()).toMatchObject({ id: archived, archivedAt: null, email: "archived@example.com" });
    expect(await ids()).toEqual([kept, archived].sort());
    expect(await ids("?archived=only")).toEqual([]);

    // Restoring again changes nothing; an unknown contact is 404.
    const again = await t.asA({ method: "POST", url: `/api/v1/contacts/${archived}/restore` });
    expect(again.json().archivedAt).toBeNull();
    const unknown = await t.asA({
      method: "POST",
      url: "/api/v1/contacts/00000000-0000-4000-8000-000000000000/restore",
    });
    expect(unknown.statusCode).toBe(404);
  });
});
