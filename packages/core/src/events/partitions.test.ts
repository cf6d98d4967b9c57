import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { newWorkspaceContext, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { insertEvents } from "./event.repository.ts";
import {
  type CutoffOf,
  droppablePartitions,
  ensureEventPartitions,
  listEventPartitions,
  removeOldEventsBatch,
} from "./partitions.ts";

const database = useTestDatabase();

let a: WorkspaceContext;
let b: WorkspaceContext;
let contactA: string;
let contactB: string;

beforeAll(async () => {
  const db = database.handle.db;
  a = await newWorkspaceContext(db, "Partitions A");
  b = await newWorkspaceContext(db, "Partitions B");
  contactA = (await seedContactsInList(db, a.id, 1)).contactIds[0]!;
  contactB = (await seedContactsInList(db, b.id, 1)).contactIds[0]!;
});

/** Removes in batches, each its own transaction, as a retention run does. */
async function removeOldEvents(workspaceId: string, cutoff: Date, cutoffOf: CutoffOf, limit = 5000) {
  const removal = { events: 0, ids: 0, partitions: [] as string[], batches: 0 };
  for (;;) {
    const batch = await database.handle.db
      .transaction()
      .execute((trx) => removeOldEventsBatch(trx, workspaceId, cutoff, cutoffOf, limit));
    if (!batch) return removal;
    removal.batches++;
    removal.events += batch.events;
    removal.ids += batch.ids;
    if (batch.partition) removal.partitions.push(batch.partition);
  }
}

const event = (id: string, contactId: string, occurredAt: string) => ({
  id,
  contactId,
  type: "page.viewed",
  properties: {},
  occurredAt: new Date(occurredAt),
});

async function partitionOf(workspaceId: string, id: string) {
  const { rows } = await sql<{ part: string }>`
    select tableoid::regclass::text as part from events where workspace_id = ${workspaceId} and id = ${id}`.execute(
    database.handle.db,
  );
  return rows.map((r) => r.part);
}

const count = async (workspaceId: string) =>
  Number(
    (
      await sql<{ n: string }>`select count(*) as n from events where workspace_id = ${workspaceId}`.execute(
        database.handle.db,
      )
    ).rows[0]!.n,
  );

describe("events partitioned by month", () => {
  it("keeps this month and the next three ready, and creating them again does nothing", async () => {
    const db = database.handle.db;
    expect(await ensureEventPartitions(db)).toBe(0);
    const now = new Date();
    const names = (await listEventPartitions(db)).map((p) => p.name);
    for (let i = 0; i <= 3; i++) {
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
      expect(names).toContain(
        `events_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, "0")}`,
      );
    }
    expect(names.at(-1)).toBe("events_default");
  });

  it("stores an event in its month's partition, or in the default one when its month has none", async () => {
    const db = database.handle.db;
    const now = new Date();
    const month = `events_${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
    await insertEvents(db, a.id, [
      event("now-1", contactA, now.toISOString()),
      event("old-1", contactA, "2019-03-10T12:00:00Z"),
    ]);
    expect(await partitionOf(a.id, "now-1")).toEqual([month]);
    expect(await partitionOf(a.id, "old-1")).toEqual(["events_default"]);
  });

  it("ignores a replayed id even when the replay carries another time", async () => {
    const db = database.handle.db;
    const first = await insertEvents(db, a.id, [event("replay-1", contactA, "2026-06-01T00:00:00Z")]);
    const again = await insertEvents(db, a.id, [
      event("replay-1", contactA, "2026-06-02T00:00:00Z"),
      event("replay-2", contactA, "2026-06-02T00:00:00Z"),
      event("replay-2", contactA, "2026-06-03T00:00:00Z"),
    ]);
    expect([...first]).toEqual(["replay-1"]);
    expect([...again]).toEqual(["replay-2"]);
    const { rows } = await sql<{ id: string; occurred_at: Date }>`
      select id, occurred_at from events where workspace_id = ${a.id} and id like 'replay-%' order by id`.execute(
      db,
    );
    expect(rows.map((r) => [r.id, r.occurred_at.toISOString()])).toEqual([
      ["replay-1", "2026-06-01T00:00:00.000Z"],
      ["replay-2", "2026-06-02T00:00:00.000Z"],
    ]);
    // The same id in another workspace is another event.
    expect([
      ...(await insertEvents(db, b.id, [event("replay-1", contactB, "2026-06-01T00:00:00Z")])),
    ]).toEqual(["replay-1"]);
  });

  it("moves the default partition's rows of a month into its partition when that is created, counting nothing twice", async () => {
    const db = database.handle.db;
    await insertEvents(db, b.id, [event("old-b", contactB, "2019-03-20T00:00:00Z")]);
    const deltas = async () =>
      Number((await sql<{ n: string }>`select count(*) as n from report_deltas`.execute(db)).rows[0]!.n);
    const before = { a: await count(a.id), b: await count(b.id), deltas: await deltas() };
    await sql`select omneural_create_event_partition('2019-03-01T00:00:00Z')`.execute(db);
    expect(await partitionOf(a.id, "old-1")).toEqual(["events_2019_03"]);
    expect(await partitionOf(b.id, "old-b")).toEqual(["events_2019_03"]);
    expect({ a: await count(a.id), b: await count(b.id), deltas: await deltas() }).toEqual(before);
    const partition = (await listEventPartitions(db)).find((p) => p.name === "events_2019_03")!;
    expect([partition.from?.toISOString(), partition.to?.toISOString()]).toEqual([
      "2019-03-01T00:00:00.000Z",
      "2019-04-01T00:00:00.000Z",
    ]);
  });

  it("deletes one workspace's old events row by row while another workspace keeps its own", async () => {
    const db = database.handle.db;
    // A few more old and recent events for A, to delete in several batches.
    await insertEvents(
      db,
      a.id,
      Array.from({ length: 7 }, (_, i) => event(`old-more-${i}`, contactA, `2019-03-${10 + i}T00:00:00Z`)),
    );
    await insertEvents(db, a.id, [event("mid-1", contactA, "2026-06-15T00:00:00Z")]);
    const cutoff = new Date("2026-06-10T00:00:00Z");
    expect(await droppablePartitions(db, a.id, cutoff, async (_db, _workspaceId) => null)).toEqual([]);
    const removal = await removeOldEvents(a.id, cutoff, async (_db, _workspaceId) => null, 3);
    expect(removal.partitions).toEqual([]);
    expect(removal.ids).toBe(10);
    expect(removal.batches).toBeGreaterThan(4);
    // Before the cutoff: old-1 and the seven more (2019), replay-1 and replay-2 (June 2026). After it:
    // now-1 and mid-1.
    expect(removal.events).toBe(10);
    expect(await count(a.id)).toBe(2);
    expect(await partitionOf(b.id, "old-b")).toEqual(["events_2019_03"]);
    // Their ids are forgotten with them: the same id is a new event now.
    expect([...(await insertEvents(db, a.id, [event("old-1", contactA, "2019-03-10T12:00:00Z")]))]).toEqual([
      "old-1",
    ]);
  });

  it("drops a partition whole when every workspace with events in it removes them", async () => {
    const db = database.handle.db;
    const cutoff = new Date("2020-01-01T00:00:00Z");
    const cutoffOf: CutoffOf = async (_db, workspaceId) =>
      workspaceId === b.id ? new Date("2019-12-01T00:00:00Z") : null;
    expect(await droppablePartitions(db, a.id, cutoff, cutoffOf)).toEqual(["events_2019_03"]);
    const removal = await removeOldEvents(a.id, cutoff, cutoffOf);
    expect(removal.partitions).toEqual(["events_2019_03"]);
    expect(removal.events).toBe(2);
    expect((await listEventPartitions(db)).map((p) => p.name)).not.toContain("events_2019_03");
    expect(await partitionOf(b.id, "old-b")).toEqual([]);
    // The partition is gone, not the table: events of that month land in the default partition again.
    await insertEvents(db, a.id, [event("old-2", contactA, "2019-03-11T00:00:00Z")]);
    expect(await partitionOf(a.id, "old-2")).toEqual(["events_default"]);
  });
});
