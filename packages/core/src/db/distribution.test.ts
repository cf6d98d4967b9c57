import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../testing/database.ts";

/**
 * The schema keeps the shape that lets it be distributed by workspace (docs/scale-out.md): every tenant
 * table's keys lead with workspace_id, and foreign keys between tenant tables include it. The known
 * exceptions are listed here and in the doc; a new one fails until it is added to both, with its plan.
 */
const database = useTestDatabase();

/** Tables found by an opaque token (docs/scale-out.md, "The exceptions"). */
const TOKEN_KEYS = [
  "api_keys.api_keys_key_hash",
  "invitations.invitations_token_hash",
  "purls.purls_code",
  "report_deltas.report_deltas_pkey",
  "sessions.sessions_pkey",
  "sessions.sessions_token_hash",
  "short_links.short_links_pkey",
  "sso_configs.sso_configs_slug",
  "sso_sessions.sso_sessions_session",
];
const REFERENCE_TABLES = ["users", "workspaces"];

const tenantTable = sql`exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped)`;

describe("the schema's distribution by workspace", () => {
  it("has workspace_id in every unique key of a tenant table, but for the token lookups the doc lists", async () => {
    const { rows } = await sql<{ key: string }>`
      select c.relname || '.' || i.relname as key
        from pg_index x
        join pg_class c on c.oid = x.indrelid
        join pg_class i on i.oid = x.indexrelid
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and x.indisunique and not c.relispartition and ${tenantTable}
         and not exists (select from unnest(x.indkey) k
                          join pg_attribute a on a.attrelid = c.oid and a.attnum = k
                         where a.attname = 'workspace_id')
       order by 1`.execute(database.handle.db);
    expect(rows.map((r) => r.key)).toEqual(TOKEN_KEYS);
  });

  it("includes workspace_id in every foreign key between tenant tables", async () => {
    const { rows } = await sql<{ key: string }>`
      select c.relname || ' -> ' || r.relname as key
        from pg_constraint con
        join pg_class c on c.oid = con.conrelid
        join pg_class r on r.oid = con.confrelid
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and con.contype = 'f' and not c.relispartition and ${tenantTable}
         and r.relname not in ('users', 'workspaces')
         and not exists (select from unnest(con.conkey) k
                          join pg_attribute a on a.attrelid = c.oid and a.attnum = k
                         where a.attname = 'workspace_id')
       order by 1`.execute(database.handle.db);
    // sso_sessions follows sessions: both become reference tables together.
    expect(rows.map((r) => r.key)).toEqual(["sso_sessions -> sessions"]);
  });

  it("keeps workspace-less tables to the reference tables and the migrations' own", async () => {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition and not ${tenantTable}
       order by 1`.execute(database.handle.db);
    expect(rows.map((r) => r.name)).toEqual(["omneural_migrations", ...REFERENCE_TABLES]);
  });
});
