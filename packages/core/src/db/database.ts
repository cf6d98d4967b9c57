/** Connection handling: one pg Pool per process, wrapped by Kysely. */
import { Kysely, PostgresDialect, type Transaction } from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";

// Return int8 (bigint) counts as numbers and leave timestamps as Date; numeric stays a string.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
// A calendar date (`date`, e.g. a campaign's local start day) is not an instant: keep "YYYY-MM-DD" as is
// rather than let pg turn it into a Date at midnight in the process's timezone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the pool-backed database or a transaction: repositories accept both. */
export type Executor = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export function openDatabase(
  url: string,
  options: { poolSize?: number; applicationName?: string } = {},
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? "omneural",
    connectionTimeoutMillis: 10_000,
    // Dates without an offset (e.g. date attributes) are read in UTC, whatever the server's default.
    options: "-c TimeZone=UTC",
    idleTimeoutMillis: 30_000,
  });
  // A dropped connection (e.g. PostgreSQL restarting) must not crash the process; the pool reconnects.
  // Idle clients report it on the pool; a client checked out (a transaction in flight) reports it on
  // itself, after its query has already failed: the pool discards it when it is released.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    url,
    async close() {
      await db.destroy();
    },
  };
}

/**
 * A pg Pool for graphile-worker, owned by the caller: it survives connections dropped while the database
 * stops (a pool graphile-worker made for itself can still be reporting one after `runner.stop()`,
 * crashing the process), and the caller ends it after the runner has stopped.
 */
export function openJobQueuePool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: "omneural-jobs" });
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  return pool;
}
