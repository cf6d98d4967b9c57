import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";

const t = useTestApp();

/**
 * A trigger records who wrote each contact: the role and the workspace setting of the connection. That
 * is the proof that a request's queries run under row-level security, not just filtered by the handler.
 */
describe("API requests and row-level security", () => {
  beforeAll(async () => {
    await sql`
      create table contact_writers (contact_id uuid, role text, setting text);
      create function record_contact_writer() returns trigger language plpgsql as $$
      begin
        insert into contact_writers values (new.id, current_user, current_setting('omneural.workspace_id', true));
        return new;
      end $$;
      create trigger record_contact_writer after insert on contacts
        for each row execute function record_contact_writer();`.execute(t.database.handle.db);
  });

  const writerOf = async (contactId: string) =>
    (
      await sql<{ role: string; setting: string }>`
        select role, setting from contact_writers where contact_id = ${contactId}`.execute(
        t.database.handle.db,
      )
    ).rows;

  it("runs an API-key request as the application role limited to the key's workspace", async () => {
    const res = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "rls-a@example.org" },
    });
    expect(res.statusCode).toBe(201);
    expect(await writerOf(res.json().id)).toEqual([{ role: "omneural_app", setting: t.a.id }]);
  });

  it("runs a session request limited to the member's workspace", async () => {
    const member = await t.member(t.b, "marketer");
    const res = await t.asSession(member, {
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "rls-b@example.org" },
    });
    expect(res.statusCode).toBe(201);
    expect(await writerOf(res.json().id)).toEqual([{ role: "omneural_app", setting: t.b.id }]);
  });

  it("gives requests of the two workspaces only their own rows, whatever the pool hands them", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? t.asB : t.asA)({ method: "GET", url: "/api/v1/contacts?limit=100" }),
      ),
    );
    for (const [i, res] of results.entries()) {
      const emails = (res.json().data as { email: string }[]).map((c) => c.email);
      expect(emails).toContain(i % 2 ? "rls-b@example.org" : "rls-a@example.org");
      expect(emails).not.toContain(i % 2 ? "rls-a@example.org" : "rls-b@example.org");
    }
  });
});
