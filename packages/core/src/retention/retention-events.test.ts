/**
 * The `old_events` policy: its dry run counts what the real run removes; a month whose events all belong
 * to workspaces removing them goes as a whole partition; another workspace's events in a shared month
 * stay; replay records go with the events; the policy cannot keep fewer days than outdated prospects
 * look back.
 */
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { insertEvents } from "../events/event.repository.ts";
import { listEventPartitions } from "../events/partitions.ts";
import { newWorkspaceContext, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { putRetentionPolicy, runRetentionPolicy, runScheduledRetention } from "./retention.service.ts";

const database = useTestDatabase();
const db = () => database.handle.db;
const NOW = new Date("2031-06-15T12:00:00Z");

let a: WorkspaceContext;
let b: WorkspaceContext;

/** `n` events for the workspace's contact, one a day from `from`. */
async function seedEvents(ws: WorkspaceContext, contactId: string, prefix: string, from: string, n: number) {
  await insertEvents(
    db(),
    ws.id,
    Array.from({ length: n }, (_, i) => ({
      id: `${prefix}-${i}`,
      contactId,
      type: i % 3 === 0 ? "message.clicked" : "page.viewed",
      properties: {},
      occurredAt: new Date(new Date(from).getTime() + i * 86_400_000),
    })),
  );
}

const countEvents = async (ws: WorkspaceContext) =>
  Number(
    (await sql<{ n: string }>`select count(*) as n from events where workspace_id = ${ws.id}`.execute(db()))
      .rows[0]!.n,
  );
const countIds = async (ws: WorkspaceContext) =>
  Number(
    (
      await sql<{ n: string }>`select count(*) as n from event_ids where workspace_id = ${ws.id}`.execute(
        db(),
      )
    ).rows[0]!.n,
  );

beforeAll(async () => {
  a = await newWorkspaceContext(db(), "Old events A");
  b = await newWorkspaceContext(db(), "Old events B");
  const [ca] = (await seedContactsInList(db(), a.id, 1)).contactIds;
  const [cb] = (await seedContactsInList(db(), b.id, 1)).contactIds;
  for (const month of ["2030-01-01", "2030-02-01", "2031-05-01", "2031-06-01"])
    await sql`select omneural_create_event_partition(${month}::timestamptz)`.execute(db());
  // A: January 2030 (its own), February 2030 (shared with B), May–June 2031 (recent).
  await seedEvents(a, ca!, "jan", "2030-01-01T08:00:00Z", 31);
  await seedEvents(a, ca!, "feb", "2030-02-01T08:00:00Z", 10);
  await seedEvents(a, ca!, "recent", "2031-05-20T08:00:00Z", 20);
  await seedEvents(b, cb!, "feb", "2030-02-05T08:00:00Z", 5);
});

describe("old_events policy", () => {
  it("refuses to keep fewer days of events than outdated prospects look back", async () => {
    await putRetentionPolicy(db(), a, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 400, action: "archive" },
    });
    await expect(
      putRetentionPolicy(db(), a, "old_events", { enabled: true, settings: { olderThanDays: 365 } }),
    ).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      extra: { errors: [expect.objectContaining({ field: "settings.olderThanDays" })] },
    });
    // Disabled, either may be anything; enabled, the other side is checked too.
    await putRetentionPolicy(db(), a, "outdated_prospects", {
      enabled: false,
      settings: { inactiveDays: 400, action: "archive" },
    });
    await putRetentionPolicy(db(), a, "old_events", { enabled: true, settings: { olderThanDays: 365 } });
    await expect(
      putRetentionPolicy(db(), a, "outdated_prospects", {
        enabled: true,
        settings: { inactiveDays: 400, action: "archive" },
      }),
    ).rejects.toMatchObject({
      extra: { errors: [expect.objectContaining({ field: "settings.inactiveDays" })] },
    });
  });

  it("dry run counts what the real run removes: a month of its own dropped whole, a shared month row by row", async () => {
    const dry = await runRetentionPolicy(db(), a, "old_events", { now: NOW });
    // 365 days before 2031-06-15: January and February 2030 go, May–June 2031 stay.
    expect(dry.counts).toEqual({ events: 41, partitions: 1 });
    expect(dry.sample.map((s) => s.id).sort()).toEqual(["message.clicked", "page.viewed"]);
    expect(await countEvents(a)).toBe(61);

    const run = await runRetentionPolicy(db(), a, "old_events", { now: NOW, dryRun: false, batchSize: 1 });
    expect(run.status).toBe("completed");
    expect(run.counts.events).toBe(dry.counts.events);
    expect(run.counts.partitions).toBe(1);
    expect(run.counts.eventIds).toBe(41);
    expect(await countEvents(a)).toBe(20);
    expect(await countIds(a)).toBe(20);
    const names = (await listEventPartitions(db())).map((p) => p.name);
    expect(names).not.toContain("events_2030_01");
    expect(names).toContain("events_2030_02");
    // B keeps its events of the shared month, and its replay records.
    expect(await countEvents(b)).toBe(5);
    expect(await countIds(b)).toBe(5);

    const again = await runRetentionPolicy(db(), a, "old_events", { now: NOW });
    expect(again.counts).toEqual({ events: 0, partitions: 0 });
  });

  it("drops a shared month whole once every workspace in it removes its events, on the daily run", async () => {
    await putRetentionPolicy(db(), b, "old_events", { enabled: true, settings: { olderThanDays: 400 } });
    const dry = await runRetentionPolicy(db(), b, "old_events", { now: NOW });
    expect(dry.counts).toEqual({ events: 5, partitions: 1 });
    const runs = await runScheduledRetention(db(), { now: NOW });
    const bRun = runs.find((r) => r.kind === "old_events" && r.counts.events === 5);
    expect(bRun?.counts.partitions).toBe(1);
    expect(await countEvents(b)).toBe(0);
    expect((await listEventPartitions(db())).map((p) => p.name)).not.toContain("events_2030_02");
    // A's recent events are untouched by either run.
    expect(await countEvents(a)).toBe(20);
  });
});
