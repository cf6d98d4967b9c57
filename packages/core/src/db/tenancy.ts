/**
 * Which workspace the database may show the code that is running: the second wall behind the services'
 * own `where workspace_id = …` (row-level security, migration 000032).
 *
 * Code running inside `inWorkspace(id, fn)` — every authenticated /api/v1 request handler — gets its
 * connections from a pool that connects as the role `omneural_app` (neither owner of the tables nor
 * BYPASSRLS) with `omneural.workspace_id` set to that workspace, so a query that forgets its workspace
 * filter still sees, and can write, only that workspace's rows. Everything else (the worker, tracking,
 * the CLI, authentication itself) works across workspaces by design: it connects as the owner with
 * `omneural.workspace_id = '*'`. A connection with no setting at all sees nothing.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The database role tenant-scoped connections run as (created by migration 000032). */
export const APP_ROLE = "omneural_app";
/** The setting the row-level security policies read. */
export const WORKSPACE_SETTING = "omneural.workspace_id";
/** Its value for connections that work across workspaces. */
export const ALL_WORKSPACES = "*";

interface Scope {
  readonly workspaceId: string;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Runs `fn` (and everything it starts) with database access limited to one workspace. */
export function inWorkspace<T>(workspaceId: string, fn: () => T): T {
  return scopes.run({ workspaceId }, fn);
}

/**
 * Runs `fn` outside any workspace scope: for the few steps of a request that are cross-workspace by
 * nature (dropping a month's event partition every workspace agreed to drop, refreshing planner
 * statistics, which only the owner may do) and for work a request hands to a shared background buffer.
 */
export function acrossWorkspaces<T>(fn: () => T): T {
  return scopes.exit(fn);
}

/** The workspace the running code is limited to, if any. */
export function scopedWorkspace(): string | undefined {
  return scopes.getStore()?.workspaceId;
}
