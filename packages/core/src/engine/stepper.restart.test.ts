/**
 * PostgreSQL restarted under a running stepper: once with a fast shutdown (sessions terminated, open
 * batches rolled back) and once with an immediate one (a crash: recovery from the WAL at start). The
 * stepper reconnects by itself and every member finishes with exactly one ledger row per send.
 *
 * Restarting the run's shared test server would break the test files running beside this one, so this
 * file starts its own embedded cluster in a temporary directory.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../db/database.ts";
import { type ClusterLog, type EmbeddedCluster, openEmbeddedCluster } from "../db/embedded-cluster.ts";
import { migrate } from "../db/migrate.ts";
import { launchSendWaitSend, newWorkspaceContext } from "../testing/campaigns.ts";
import { type StepperHandle, startStepper } from "./stepper.ts";

const MEMBERS = 3000;
const quiet: ClusterLog = { info: () => undefined, warn: () => undefined };

let dataDir = "";
let cluster: EmbeddedCluster | undefined;
let handle: DatabaseHandle | undefined;
let stepper: StepperHandle | undefined;

function openCluster() {
  return openEmbeddedCluster({ dataDir, own: true, tuning: "test", log: quiet });
}

beforeAll(async () => {
  // Not "omneural-test-*": a test run starting meanwhile removes those that have no live owner.pid,
  // and this cluster has none while it is down between stop and start.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-restart-test-"));
  fs.chmodSync(dataDir, 0o755); // the server may run as the OS user postgres
  cluster = await openCluster();
  await migrate(cluster.url);
  handle = openDatabase(cluster.url, { poolSize: 4, applicationName: "omneural-restart-test" });
});

afterAll(async () => {
  await stepper?.stop();
  await handle?.close();
  await cluster?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

function postmasterPid(pgDir: string): number {
  return Number(fs.readFileSync(path.join(pgDir, "postmaster.pid"), "utf8").split("\n")[0]);
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Stops the server (fast: `pg_ctl stop -m fast`, or immediate: SIGQUIT, a crash) and starts it again. */
async function restartPostgres(mode: "fast" | "immediate") {
  const before = cluster!;
  const pid = postmasterPid(before.pgDir);
  if (mode === "fast") {
    await before.stop();
  } else {
    process.kill(pid, "SIGQUIT");
    await waitFor("the postmaster to exit", 30_000, async () => (isAlive(pid) ? undefined : true));
  }
  cluster = await openCluster();
  // The stepper's pool knows only the old address.
  expect(cluster.port).toBe(before.port);
  expect(postmasterPid(cluster.pgDir)).not.toBe(pid);
}

/** Resolves once the stepper has reconnected and stepped every due member. */
async function caughtUp(running: StepperHandle) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("the stepper did not catch up within 60 s")), 60_000);
  });
  try {
    await Promise.race([running.idle(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("the stepper while PostgreSQL restarts", () => {
  it("reconnects by itself and finishes every member, sending nothing twice", async () => {
    const db = handle!.db;
    const ws = await newWorkspaceContext(db);
    const campaign = await launchSendWaitSend(db, ws, MEMBERS);

    const progress = async () => {
      const { rows } = await sql<{ active: number; first: number; second: number }>`
        select
          (select count(*)::int from enrollments
           where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and state = 'active') as active,
          (select count(*)::int from messages
           where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and node_id = 's1') as first,
          (select count(*)::int from messages
           where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and node_id = 's2') as second`.execute(
        db,
      );
      return rows[0]!;
    };

    // The stepper's "batch failed; retrying" warnings: proof that it saw each outage.
    const failures: unknown[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => failures.push(JSON.parse(line)) });
    stepper = startStepper(db, { workerId: "restart", batchSize: 250, logger });

    // A fast shutdown during the first sends: no member can have finished (the wait is 2 seconds).
    const first = await waitFor("the first sends", 30_000, async () => {
      const p = await progress();
      return p.first > 0 ? p : undefined;
    });
    const failuresBeforeFast = failures.length;
    await restartPostgres("fast");
    await caughtUp(stepper);
    expect(first.active).toBe(MEMBERS);
    expect(failures.length).toBeGreaterThan(failuresBeforeFast);

    // A crash during the second sends, while members are still in the campaign.
    const second = await waitFor("the second sends", 30_000, async () => {
      const p = await progress();
      return p.second > 0 && p.active > 0 ? p : undefined;
    });
    const failuresBeforeCrash = failures.length;
    await restartPostgres("immediate");
    await caughtUp(stepper);
    expect(second.active).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(failuresBeforeCrash);

    await waitFor("every member to leave the campaign", 60_000, async () =>
      (await progress()).active === 0 ? true : undefined,
    );
    // The stepper's idle loop completes a campaign with no active member left.
    await waitFor("the campaign to complete", 10_000, async () => {
      const row = await db
        .selectFrom("campaigns")
        .select("status")
        .where("id", "=", campaign.id)
        .executeTakeFirstOrThrow();
      return row.status === "completed" ? true : undefined;
    });

    const states = await sql<{ state: string; node_id: string; seq: number; n: number }>`
      select state, node_id, seq, count(*)::int as n from enrollments
      where campaign_id = ${campaign.id} group by state, node_id, seq`.execute(db);
    expect(states.rows).toEqual([{ state: "completed", node_id: "exit", seq: 2, n: MEMBERS }]);
    const ledger = await sql<{ node_id: string; rows: number; members: number }>`
      select node_id, count(*)::int as rows, count(distinct contact_id)::int as members
      from messages where campaign_id = ${campaign.id} group by node_id order by node_id`.execute(db);
    expect(ledger.rows).toEqual([
      { node_id: "s1", rows: MEMBERS, members: MEMBERS },
      { node_id: "s2", rows: MEMBERS, members: MEMBERS },
    ]);
    const history = await sql<{ n: number; members: number; first_seq: number; last_seq: number }>`
      select count(*)::int as n, count(distinct contact_id)::int as members, min(seq) as first_seq,
             max(seq) as last_seq
      from enrollment_steps where campaign_id = ${campaign.id}`.execute(db);
    expect(history.rows[0]).toEqual({ n: 2 * MEMBERS, members: MEMBERS, first_seq: 1, last_seq: 2 });
  }, 120_000);
});
