/**
 * Forward-only migrations: numbered .sql files in packages/core/migrations, each applied once, in its own
 * transaction, under an advisory lock so concurrent starters do not race. graphile-worker's own schema
 * is migrated by graphile-worker.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");
const LOCK_KEY = 7_340_001;

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{6}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      id: Number(file.slice(0, 6)),
      name: file.replace(/\.sql$/, ""),
      sql: fs.readFileSync(path.join(dir, file), "utf8"),
    }));
}

export interface MigrationResult {
  applied: string[];
  current: number;
}

export async function migrate(url: string): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: url, application_name: "omneural-migrate" });
  await client.connect();
  try {
    await client.query("set client_min_messages = warning");
    await client.query("select pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(`create table if not exists omneural_migrations (
      id integer primary key, name text not null, applied_at timestamptz not null default now())`);
    const done = new Set(
      (await client.query<{ id: number }>("select id from omneural_migrations")).rows.map((r) => r.id),
    );
    const applied: string[] = [];
    for (const migration of listMigrations()) {
      if (done.has(migration.id)) continue;
      await client.query("begin");
      try {
        await client.query(migration.sql);
        await client.query("insert into omneural_migrations (id, name) values ($1, $2)", [
          migration.id,
          migration.name,
        ]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`);
      }
      applied.push(migration.name);
    }
    // A table added by a later migration gets row-level security even if its migration forgot it
    // (000032; a test checks every table has its policy).
    const { rows } = await client.query<{ present: boolean }>(
      "select to_regproc('omneural_protect_tenant_tables') is not null as present",
    );
    if (applied.length > 0 && rows[0]?.present) await client.query("select omneural_protect_tenant_tables()");
    const all = listMigrations();
    return { applied, current: all.length ? all[all.length - 1]!.id : 0 };
  } finally {
    await client.query("select pg_advisory_unlock($1)", [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Whether every migration file has been applied (for /readyz). */
export async function pendingMigrations(
  query: (sql: string) => Promise<{ rows: { id: number }[] }>,
): Promise<string[]> {
  let done: Set<number>;
  try {
    done = new Set((await query("select id from omneural_migrations")).rows.map((r) => r.id));
  } catch {
    done = new Set();
  }
  return listMigrations()
    .filter((m) => !done.has(m.id))
    .map((m) => m.name);
}

/** Applies graphile-worker's own schema migrations (idempotent). */
export async function migrateJobQueue(url: string): Promise<void> {
  const { runMigrations } = await import("graphile-worker");
  const { Logger } = await import("graphile-worker");
  await runMigrations({ connectionString: url, logger: new Logger(() => () => undefined) });
}
