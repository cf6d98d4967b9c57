/** Connection handling: one pg Pool per process, wrapped by Kysely. */
import { Kysely, PostgresDialect, type PostgresPool, type Transaction } from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";
import { ALL_WORKSPACES, APP_ROLE, scopedWorkspace, WORKSPACE_SETTING } from "./tenancy.ts";

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
  const settings = {
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? "omneural",
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  };
  // Dates without an offset (e.g. date attributes) are read in UTC, whatever the server's default.
  // Connections outside a workspace scope work across workspaces (see tenancy.ts).
  const pool = guardedPool({
    ...settings,
    options: `-c TimeZone=UTC -c ${WORKSPACE_SETTING}=${ALL_WORKSPACES}`,
  });
  // Connections for code limited to one workspace: the application role, under row-level security,
  // made at first use (after migrations have created the role). Each connection remembers which
  // workspace it was last set to, so a request only pays a round trip when its connection last served
  // another workspace.
  let tenantPool: pg.Pool | undefined;
  const workspaceOf = new WeakMap<pg.PoolClient, string>();
  const router: PostgresPool = {
    async connect() {
      const workspaceId = scopedWorkspace();
      if (workspaceId === undefined) return pool.connect();
      tenantPool ??= guardedPool({
        ...settings,
        options: `-c TimeZone=UTC -c role=${APP_ROLE} -c ${WORKSPACE_SETTING}=none`,
      });
      const client = await tenantPool.connect();
      if (workspaceOf.get(client) !== workspaceId) {
        try {
          await client.query("select set_config($1, $2, false)", [WORKSPACE_SETTING, workspaceId]);
        } catch (error) {
          client.release(error as Error);
          throw error;
        }
        workspaceOf.set(client, workspaceId);
      }
      return client;
    },
    async end() {
      await Promise.all([pool.end(), tenantPool?.end()]);
    },
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: router }) });
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
 * A pg Pool that survives the database going away: a dropped connection (e.g. PostgreSQL restarting)
 * must not crash the process; the pool reconnects. Idle clients report it on the pool; a client checked
 * out (a transaction in flight) reports it on itself, after its query has already failed: the pool
 * discards it when it is released.
 */
function guardedPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  return pool;
}

/**
 * A pg Pool for graphile-worker, owned by the caller: it survives connections dropped while the database
 * stops (a pool graphile-worker made for itself can still be reporting one after `runner.stop()`,
 * crashing the process), and the caller ends it after the runner has stopped.
 */
export function openJobQueuePool(url: string, max: number): pg.Pool {
  return guardedPool({
    connectionString: url,
    max,
    application_name: "omneural-jobs",
    options: `-c ${WORKSPACE_SETTING}=${ALL_WORKSPACES}`,
  });
}
