/** Runs the queued background jobs once, as the worker role would, on a pool the test owns. */
import { Logger, runOnce } from "graphile-worker";
import pg from "pg";
import type { DatabaseHandle } from "../db/database.ts";
import { buildTaskList } from "../jobs/tasks.ts";

const silent = new Logger(() => () => undefined);

/**
 * graphile-worker's own pool would outlive the call when a job fails half-way; this one is ended before
 * returning, and its clients ignore the termination notice PostgreSQL sends when the test database is
 * dropped, so nothing of it can surface later as an unhandled error.
 */
export async function runQueuedJobs(database: DatabaseHandle) {
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  try {
    await runOnce({ pgPool: pool, taskList: buildTaskList(database), logger: silent });
  } finally {
    await pool.end();
  }
}
