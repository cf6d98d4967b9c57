/**
 * The database goes away under the response ingest: responses keep being taken, go to the spool, and
 * are written exactly once when PostgreSQL is back; a process that starts with spool files left by one
 * that is gone replays them.
 *
 * Stopping the run's shared test server would break the test files running beside this one, so this
 * file starts its own embedded cluster in a temporary directory (with DATABASE_URL too).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { type DatabaseHandle, openDatabase } from "../db/database.ts";
import { type ClusterLog, type EmbeddedCluster, openEmbeddedCluster } from "../db/embedded-cluster.ts";
import { migrate, migrateJobQueue } from "../db/migrate.ts";
import { uuidv7 } from "../shared/ids.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { type SentMessages, seedSentEmails } from "../testing/responses.ts";
import { createResponseIngest } from "./ingest.ts";
import type { ResponseInput } from "./response.ts";

const quiet: ClusterLog = { info: () => undefined, warn: () => undefined };
const MEMBERS = 200;

let dataDir = "";
let spoolRoot = "";
let cluster: EmbeddedCluster | undefined;
let handle: DatabaseHandle | undefined;
let ws: WorkspaceContext;
let sent: SentMessages;

function openCluster() {
  return openEmbeddedCluster({ dataDir, own: true, tuning: "test", log: quiet });
}

beforeAll(async () => {
  // Not "omneural-test-*": a test run starting meanwhile removes those that have no live owner.pid,
  // and this cluster has none while it is down between stop and start.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-ingest-outage-"));
  fs.chmodSync(dataDir, 0o755); // the server may run as the OS user postgres
  spoolRoot = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-spool-test-"));
  cluster = await openCluster();
  await migrate(cluster.url);
  await migrateJobQueue(cluster.url);
  handle = openDatabase(cluster.url, { poolSize: 4, applicationName: "omneural-ingest-outage-test" });
  ws = await newWorkspaceContext(handle.db);
  sent = await seedSentEmails(handle.db, ws, MEMBERS, new Date(Date.now() - 60 * 60_000));
});

afterAll(async () => {
  await handle?.close();
  await cluster?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  if (spoolRoot) fs.rmSync(spoolRoot, { recursive: true, force: true });
});

let sequence = 0;
function clicks(count: number): ResponseInput[] {
  return Array.from({ length: count }, () => {
    const message = sent.messages[sequence++ % sent.messages.length]!;
    return {
      id: uuidv7(),
      workspaceId: ws.id,
      messageId: message.id,
      kind: "clicked" as const,
      at: new Date(),
      properties: {
        url: "https://shop.example/",
        index: 0,
        userAgent: "Mozilla/5.0 (X11) Firefox/128.0",
        method: "GET",
      },
    };
  });
}

async function stopPostgres() {
  await cluster!.stop();
}

async function startPostgres() {
  const before = cluster!;
  cluster = await openCluster();
  // The ingest's pool knows only the old address.
  expect(cluster.port).toBe(before.port);
}

async function clickEvents(ids: string[]) {
  const { rows } = await sql<{ n: number; distinct_ids: number }>`
    select count(*)::int as n, count(distinct id)::int as distinct_ids from events
    where workspace_id = ${ws.id} and id = any(${ids}::text[])`.execute(handle!.db);
  return rows[0]!;
}

const spoolFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

async function until(what: string, timeoutMs: number, done: () => boolean | Promise<boolean>) {
  await expect.poll(done, { timeout: timeoutMs, interval: 25, message: what }).toBe(true);
}

describe("the response ingest while PostgreSQL is down", () => {
  it("takes every response, spools it, and writes each exactly once when the database is back", async () => {
    const spoolDir = path.join(spoolRoot, "outage");
    const ingest = createResponseIngest(handle!.db, {
      spoolDir,
      flushIntervalMs: 20,
      maxBatch: 100,
      maxBackoffMs: 200,
    });
    try {
      // N responses while the database is up.
      const before = clicks(500);
      for (const r of before) ingest.record(r);
      await ingest.flush();
      expect(await clickEvents(before.map((r) => r.id))).toEqual({ n: 500, distinct_ids: 500 });

      // More, and the server stops while the loop may be writing them.
      const during = clicks(300);
      for (const r of during) ingest.record(r);
      await stopPostgres();

      // M more while it is down: all taken at once, kept on disk.
      const down = clicks(700);
      for (const r of down) ingest.record(r);
      // And some of the first ones again (a client retrying): they must not count twice.
      for (const r of before.slice(0, 50)) ingest.record({ ...r });
      await ingest.flush();
      const whileDown = ingest.stats();
      expect(whileDown).toMatchObject({ databaseAvailable: false, buffered: 0, failed: 0, dropped: 0 });
      expect(whileDown.spooled).toBeGreaterThanOrEqual(700 + 50);
      expect(spoolFiles(spoolDir).length).toBeGreaterThan(0);
      // Still taking responses (and spooling them) while the loop backs off.
      const more = clicks(200);
      for (const r of more) ingest.record(r);

      await startPostgres();
      // The loop finds the database back by itself and replays the spool.
      await until("the spool to be replayed", 30_000, () => {
        const s = ingest.stats();
        return s.databaseAvailable && s.buffered === 0 && spoolFiles(spoolDir).length === 0;
      });
      const all = [...before, ...during, ...down, ...more].map((r) => r.id);
      expect(await clickEvents(all)).toEqual({ n: all.length, distinct_ids: all.length });
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from events where workspace_id = ${ws.id} and type = 'message.clicked'`.execute(
        handle!.db,
      );
      expect(rows[0]!.n).toBe(all.length);
      expect(ingest.stats()).toMatchObject({ failed: 0, dropped: 0, badSpoolLines: 0 });
    } finally {
      await ingest.close();
    }
  }, 90_000);

  it("spools the buffer on close while the database is down; the next process replays what is left", async () => {
    const spoolDir = path.join(spoolRoot, "restart");
    await stopPostgres();
    const first = createResponseIngest(handle!.db, { spoolDir, flushIntervalMs: 20, maxBackoffMs: 200 });
    const kept = clicks(400);
    for (const r of kept) first.record(r);
    await first.close();
    expect(first.stats()).toMatchObject({ buffered: 0, spooled: 400, recorded: 0 });
    const [own] = spoolFiles(spoolDir);
    expect(own).toBeDefined();
    // The process was killed in the middle of an append: its last line is torn.
    fs.appendFileSync(path.join(spoolDir, own!), '{"id":"0193-torn","workspaceId":"');

    // A file of another process that is gone (a crash on the same host): taken over and replayed.
    const dead = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid!;
    const orphaned = clicks(150);
    fs.writeFileSync(
      path.join(spoolDir, `responses-${String(Date.now() - 60_000).padStart(15, "0")}-${dead}-000001.jsonl`),
      orphaned.map((r) => `${JSON.stringify(r)}\n`).join(""),
    );

    await startPostgres();
    const next = createResponseIngest(handle!.db, { spoolDir, flushIntervalMs: 20, maxBackoffMs: 200 });
    try {
      // Replayed at start, without anything recorded.
      await until("the leftover spool to be replayed", 30_000, () => spoolFiles(spoolDir).length === 0);
      expect(next.stats()).toMatchObject({ recorded: 550, replayedFiles: 2, badSpoolLines: 1, failed: 0 });
      const ids = [...kept, ...orphaned].map((r) => r.id);
      expect(await clickEvents(ids)).toEqual({ n: 550, distinct_ids: 550 });
    } finally {
      await next.close();
    }
  }, 90_000);
});
