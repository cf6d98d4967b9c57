import { sql } from "kysely";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { openDatabase } from "./database.ts";
import { APP_ROLE, acrossWorkspaces, inWorkspace, scopedWorkspace } from "./tenancy.ts";

const database = useTestDatabase();

async function seedContacts(workspaceId: string, prefix: string, count: number) {
  await sql`insert into contacts (workspace_id, id, email)
    select ${workspaceId}::uuid, gen_random_uuid(), ${prefix} || i || '@example.org' from generate_series(1, ${count}) i`.execute(
    database.handle.db,
  );
}

describe("row-level security", () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = (await newWorkspaceContext(database.handle.db, "rls a")).id;
    b = (await newWorkspaceContext(database.handle.db, "rls b")).id;
    await seedContacts(a, "a", 3);
    await seedContacts(b, "b", 2);
  });

  it("is enabled, forced and has the workspace policy on every table with a workspace_id", async () => {
    const { rows } = await sql<{ table: string; enabled: boolean; forced: boolean; policy: boolean }>`
      select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
             exists (select from pg_policy p where p.polrelid = c.oid and p.polname = 'workspace_isolation') as policy
        from pg_class c
        join pg_namespace ns on ns.oid = c.relnamespace
       where ns.nspname = 'public' and c.relkind in ('r', 'p')
         and (c.relname = 'workspaces' or exists (
               select from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped))
       order by 1`.execute(database.handle.db);
    // contacts, campaigns, events and its partitions … (a guard against the query matching nothing).
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.map((r) => r.table)).toEqual(
      expect.arrayContaining(["contacts", "events", "events_default"]),
    );
    const unprotected = rows.filter((r) => !(r.enabled && r.forced && r.policy)).map((r) => r.table);
    expect(unprotected).toEqual([]);
  });

  it("protects the event partitions made after the migration", async () => {
    await sql`select omneural_create_event_partition('2044-02-10T00:00:00Z')`.execute(database.handle.db);
    const { rows } = await sql<{ forced: boolean; policies: number }>`
      select c.relforcerowsecurity as forced, (select count(*) from pg_policy p where p.polrelid = c.oid) as policies
        from pg_class c where c.relname = 'events_2044_02'`.execute(database.handle.db);
    expect(rows).toEqual([{ forced: true, policies: 1 }]);
  });

  it("runs the application role neither as an owner of any table nor with BYPASSRLS", async () => {
    const { rows } = await sql<{ super: boolean; bypass: boolean; owns: number }>`
      select r.rolsuper as super, r.rolbypassrls as bypass,
             (select count(*) from pg_class c where c.relowner = r.oid) as owns
        from pg_roles r where r.rolname = ${APP_ROLE}`.execute(database.handle.db);
    expect(rows).toEqual([{ super: false, bypass: false, owns: 0 }]);
  });

  it("shows a connection of the application role with no workspace set no row at all", async () => {
    const client = new pg.Client({ connectionString: database.url, options: `-c role=${APP_ROLE}` });
    await client.connect();
    try {
      const count = async (query: string) => Number((await client.query(query)).rows[0].n);
      expect(await count("select count(*) as n from contacts")).toBe(0);
      expect(await count("select count(*) as n from workspaces")).toBe(0);
      // Garbage in the setting is no workspace either.
      await client.query("select set_config('omneural.workspace_id', 'not-a-uuid', false)");
      expect(await count("select count(*) as n from contacts")).toBe(0);
      await client.query("select set_config('omneural.workspace_id', $1, false)", [a]);
      expect(await count("select count(*) as n from contacts")).toBe(3);
    } finally {
      await client.end();
    }
    // The owner's own connections (outside any scope) still see every workspace.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from contacts`.execute(
      database.handle.db,
    );
    expect(rows[0]!.n).toBe(5);
  });

  it("limits code in a workspace scope to that workspace, even when its query forgets to filter", async () => {
    const { db } = database.handle;
    const emails = () => db.selectFrom("contacts").select("email").execute();
    expect(await inWorkspace(a, emails)).toHaveLength(3);
    expect(await inWorkspace(b, emails)).toHaveLength(2);
    expect(await acrossWorkspaces(emails)).toHaveLength(5);
    // Updates and deletes of the other workspace's rows touch nothing.
    const touched = await inWorkspace(a, async () => {
      const update = await db
        .updateTable("contacts")
        .set({ first_name: "Mallory" })
        .where("workspace_id", "=", b)
        .executeTakeFirst();
      const remove = await db.deleteFrom("contacts").where("workspace_id", "=", b).executeTakeFirst();
      return [Number(update.numUpdatedRows), Number(remove.numDeletedRows)];
    });
    expect(touched).toEqual([0, 0]);
    // A row written for another workspace is refused.
    await expect(
      inWorkspace(a, () =>
        sql`insert into contacts (workspace_id, id, email) values (${b}, gen_random_uuid(), 'x@example.org')`.execute(
          db,
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    // … and so is moving a row of its own to another workspace.
    await expect(
      inWorkspace(a, () =>
        sql`update contacts set workspace_id = ${b} where workspace_id = ${a}`.execute(db),
      ),
    ).rejects.toThrow(/row-level security|foreign key/);
    expect(await inWorkspace(b, emails)).toHaveLength(2);
  });

  it("keeps each scope's workspace when one connection serves workspaces in turn", async () => {
    const single = openDatabase(database.url, { poolSize: 1 });
    try {
      const count = () =>
        sql<{ n: number }>`select count(*)::int as n from contacts`
          .execute(single.db)
          .then((r) => r.rows[0]!.n);
      const seen: number[] = [];
      for (const ws of [a, b, a, a, b]) seen.push(await inWorkspace(ws, count));
      seen.push(await count());
      expect(seen).toEqual([3, 2, 3, 3, 2, 5]);
      // Concurrent scopes queue on the one connection and still each see their own rows.
      const parallel = await Promise.all([a, b, a, b].map((ws) => inWorkspace(ws, count)));
      expect(parallel).toEqual([3, 2, 3, 2]);
      // A transaction keeps its scope's workspace throughout.
      const inTx = await inWorkspace(b, () =>
        single.db.transaction().execute(async (trx) => {
          const first = await sql<{ n: number }>`select count(*)::int as n from contacts`.execute(trx);
          const second = await trx.selectFrom("workspaces").select("id").execute();
          return [first.rows[0]!.n, second.map((w) => w.id)];
        }),
      );
      expect(inTx).toEqual([2, [b]]);
    } finally {
      await single.close();
    }
  });

  it("leaves no scope behind: code outside inWorkspace is not limited", async () => {
    expect(scopedWorkspace()).toBeUndefined();
    await inWorkspace(a, async () => {
      expect(scopedWorkspace()).toBe(a);
      await Promise.resolve();
      expect(scopedWorkspace()).toBe(a);
      expect(acrossWorkspaces(() => scopedWorkspace())).toBeUndefined();
    });
    expect(scopedWorkspace()).toBeUndefined();
  });
});
