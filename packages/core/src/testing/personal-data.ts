/** Test helper for erasure and anonymisation: where in the whole database a value still appears. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

/**
 * Every value of a text, JSON, UUID, array or bytea column in the public schema, searched for each
 * needle (case-insensitively). Returns `table.column: needle` for each hit. Throws when the schema
 * looks empty, so a scan that looked nowhere cannot pass.
 */
export async function scanEveryTable(db: Executor, needles: string[]): Promise<string[]> {
  const { rows: columns } = await sql<{ table_name: string; column_name: string; data_type: string }>`
    select c.table_name, c.column_name, c.data_type
    from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
      and c.data_type in ('text', 'character varying', 'jsonb', 'json', 'uuid', 'ARRAY', 'bytea')`.execute(
    db,
  );
  if (columns.length <= 100)
    throw new Error(`only ${columns.length} columns to scan: is this the right database?`);
  const hits: string[] = [];
  for (const c of columns) {
    const value =
      c.data_type === "bytea"
        ? sql`encode(${sql.ref(c.column_name)}, 'escape')`
        : sql`${sql.ref(c.column_name)}::text`;
    for (const needle of needles) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from ${sql.table(c.table_name)}
        where strpos(lower(${value}), ${needle.toLowerCase()}) > 0`.execute(db);
      if (rows[0]!.n > 0) hits.push(`${c.table_name}.${c.column_name}: ${needle}`);
    }
  }
  return hits;
}
