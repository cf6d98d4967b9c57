/**
 * The monthly partitions of `events` (migration 000029): creating the coming months' ahead of time, and
 * removing a workspace's events older than a cutoff, by dropping whole partitions where every workspace
 * with events in them wants them gone and by deleting in bounded batches elsewhere.
 *
 * Partitions are `events_YYYY_MM` for UTC months, plus `events_default` for events of months that have
 * no partition (far past or future); `omneural_create_event_partition` moves such rows when their month's
 * partition is made.
 */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

export const EVENT_PARTITIONS_JOB = "event_partitions";
/** Months after the current one whose partitions are kept ready. */
export const EVENT_PARTITION_MONTHS_AHEAD = 3;
/** Rows deleted per statement where a partition cannot be dropped whole. */
export const EVENT_DELETE_BATCH = 5000;

/** Creates the partitions of this month and the next `monthsAhead`; returns how many were new. */
export async function ensureEventPartitions(
  db: Executor,
  monthsAhead = EVENT_PARTITION_MONTHS_AHEAD,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select omneural_ensure_event_partitions(${monthsAhead}::int) as n`.execute(db);
  return rows[0]?.n ?? 0;
}

export interface EventPartition {
  name: string;
  /** The range [from, to); both null for the default partition. */
  from: Date | null;
  to: Date | null;
}

/** The partitions of `events`, oldest first, the default one last. */
export async function listEventPartitions(db: Executor): Promise<EventPartition[]> {
  const { rows } = await sql<{ name: string; bound: string }>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'events'::regclass`.execute(db);
  const partitions = rows.map((row) => {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(row.bound);
    return { name: row.name, from: m ? new Date(m[1]!) : null, to: m ? new Date(m[2]!) : null };
  });
  return partitions.sort((a, b) => (a.from?.getTime() ?? Infinity) - (b.from?.getTime() ?? Infinity));
}

/** The workspaces with at least one event in the partition (a loose index scan: one probe each). */
async function workspacesIn(db: Executor, partition: string): Promise<string[]> {
  const table = sql.table(partition);
  const { rows } = await sql<{ id: string }>`
    with recursive w as (
      (select workspace_id as id from ${table} order by workspace_id limit 1)
      union all
      select (select p.workspace_id from ${table} p where p.workspace_id > w.id order by p.workspace_id limit 1)
      from w where w.id is not null
    )
    select id from w where id is not null`.execute(db);
  return rows.map((r) => r.id);
}

/** How many events of the workspace occurred before the cutoff. */
export async function countOldEvents(db: Executor, workspaceId: string, cutoff: Date): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from events where workspace_id = ${workspaceId} and occurred_at < ${cutoff}`.execute(
    db,
  );
  return Number(rows[0]?.n ?? 0);
}

export interface OldEventsSample {
  type: string;
  count: number;
  oldest: Date;
  newest: Date;
}

/** What a removal would take, by event type (most first). */
export async function sampleOldEvents(
  db: Executor,
  workspaceId: string,
  cutoff: Date,
  limit: number,
): Promise<OldEventsSample[]> {
  const { rows } = await sql<{ type: string; n: string; oldest: Date; newest: Date }>`
    select type, count(*) as n, min(occurred_at) as oldest, max(occurred_at) as newest
    from events where workspace_id = ${workspaceId} and occurred_at < ${cutoff}
    group by type order by count(*) desc, type limit ${limit}`.execute(db);
  return rows.map((r) => ({ type: r.type, count: Number(r.n), oldest: r.oldest, newest: r.newest }));
}

export interface OldEventsBatch {
  /** Events removed (in a dropped partition or by a delete). */
  events: number;
  /** The partition dropped whole, if that is what the batch did. */
  partition: string | null;
  /** Replay records (`event_ids`) removed. */
  ids: number;
}

/** A workspace's cutoff for old events (its own policy's), or null when it keeps its events. */
export type CutoffOf = (db: Executor, workspaceId: string) => Promise<Date | null>;

/**
 * One step of removing the workspace's events that occurred before `cutoff`, in the caller's transaction;
 * null when nothing is left. A partition entirely before the cutoff is dropped whole (cheap: no row is
 * touched) when every other workspace with events in it wants them removed too (`cutoffOf`). Otherwise
 * up to `limit` of the workspace's rows are deleted, and last its ids' replay records. Each step is
 * short, so no lock is held for long, and a run stopped half way resumes where it stopped.
 */
export async function removeOldEventsBatch(
  trx: Executor,
  workspaceId: string,
  cutoff: Date,
  cutoffOf: CutoffOf,
  limit = EVENT_DELETE_BATCH,
): Promise<OldEventsBatch | null> {
  for (const partition of await listEventPartitions(trx)) {
    if (partition.from && partition.from >= cutoff) continue;
    const table = sql.table(partition.name);
    const { rows: any } = await sql<{ one: number }>`
      select 1 as one from ${table} where workspace_id = ${workspaceId} and occurred_at < ${cutoff} limit 1`.execute(
      trx,
    );
    if (!any.length) continue;
    if (
      partition.to !== null &&
      partition.to <= cutoff &&
      (await droppable(trx, partition, workspaceId, cutoffOf))
    ) {
      const dropped = await dropPartition(trx, partition.name);
      if (dropped !== null) return { events: dropped, partition: partition.name, ids: 0 };
    }
    const result = await sql`
      delete from ${table} where ctid = any(array(
        select ctid from ${table} where workspace_id = ${workspaceId} and occurred_at < ${cutoff} limit ${limit}))`.execute(
      trx,
    );
    return { events: Number(result.numAffectedRows ?? 0), partition: null, ids: 0 };
  }
  const ids = await sql`
    delete from event_ids where ctid = any(array(
      select ctid from event_ids where workspace_id = ${workspaceId} and occurred_at < ${cutoff} limit ${limit}))`.execute(
    trx,
  );
  const n = Number(ids.numAffectedRows ?? 0);
  return n ? { events: 0, partition: null, ids: n } : null;
}

/** The partitions a removal for the workspace would drop whole now (for a dry run). */
export async function droppablePartitions(
  db: Executor,
  workspaceId: string,
  cutoff: Date,
  cutoffOf: CutoffOf,
): Promise<string[]> {
  const names: string[] = [];
  for (const partition of await listEventPartitions(db)) {
    if (partition.to === null || partition.to > cutoff) continue;
    const mine = await workspacesIn(db, partition.name);
    if (mine.includes(workspaceId) && (await droppable(db, partition, workspaceId, cutoffOf)))
      names.push(partition.name);
  }
  return names;
}

/**
 * Detaches and drops a partition (under a savepoint); returns the rows it held, or null when its lock
 * could not be had within a few seconds (a long query reading `events`): the caller then deletes row by
 * row, rather than queue every insert into `events` behind the detach.
 */
async function dropPartition(trx: Executor, name: string): Promise<number | null> {
  const table = sql.table(name);
  await sql`savepoint drop_partition`.execute(trx);
  try {
    await sql`set local lock_timeout = '3s'`.execute(trx);
    const { rows } = await sql<{ n: string }>`select count(*) as n from ${table}`.execute(trx);
    await sql`alter table events detach partition ${table}`.execute(trx);
    await sql`drop table ${table}`.execute(trx);
    await sql`release savepoint drop_partition`.execute(trx);
    return Number(rows[0]?.n ?? 0);
  } catch (error) {
    if ((error as { code?: string }).code !== "55P03") throw error;
    await sql`rollback to savepoint drop_partition`.execute(trx);
    return null;
  }
}

async function droppable(
  db: Executor,
  partition: EventPartition,
  workspaceId: string,
  cutoffOf: CutoffOf,
): Promise<boolean> {
  for (const other of await workspacesIn(db, partition.name)) {
    if (other === workspaceId) continue;
    const theirs = await cutoffOf(db, other);
    if (!theirs || theirs < partition.to!) return false;
  }
  return true;
}
