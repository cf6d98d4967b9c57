/**
 * Kill -9 the stepper again and again while a campaign runs on the real clock: every member still ends
 * at the exit exactly once, with exactly one ledger row per send and an unbroken step history.
 *
 * The stepper runs in a child process (testing/stepper-process.ts). Before each kill the child is
 * frozen (SIGSTOP) and its PostgreSQL sessions are read, so the test knows whether the kill cut a batch
 * transaction in half; kills aimed at a batch thaw and refreeze the child until one is in flight.
 *
 * CRASH_TEST_MEMBERS sets the campaign's size (default 20,000; `npm run bench -- engine-crash` runs
 * 100,000). CRASH_TEST_KILLS (default 10) sets the number of kills; the bench also runs it with 0 as its
 * baseline. CRASH_TEST_REPORT names a file to write the run's figures to, as JSON.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { launchSendWaitSend, newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";

const database = useTestDatabase();
const runner = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../testing/stepper-process.ts");
const MEMBERS = Number(process.env.CRASH_TEST_MEMBERS ?? 20_000);
const KILLS = Number(process.env.CRASH_TEST_KILLS ?? 10);
const BATCH_SIZE = 1000;
const DRAIN_TIMEOUT_MS = 120_000 + MEMBERS;

const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

const randomBetween = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** Resolves once the child has printed `word`; rejects if it exits first. */
function printed(child: ChildProcess, workerId: string, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.split("\n").includes(word)) {
        child.stdout!.off("data", onData);
        child.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`stepper process ${workerId} exited (${code ?? signal}) before "${word}"`));
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
}

interface StandbyStepper {
  child: ChildProcess;
  workerId: string;
  /** Starts the stepper loop and resolves once it runs. */
  start(): Promise<void>;
}

/**
 * Spawns a stepper process in standby: it loads its modules (seconds under tsx) while the previous one
 * runs, so that a killed stepper is replaced at once.
 */
function spawnStandbyStepper(workerId: string): Promise<StandbyStepper> {
  const standby = spawnStepper(workerId);
  // Awaited later, or never if the test fails first: a standby killed by afterAll is no error.
  standby.catch(() => undefined);
  return standby;
}

async function spawnStepper(workerId: string): Promise<StandbyStepper> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", runner, database.url, workerId, String(BATCH_SIZE), "--standby"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  await printed(child, workerId, "ready");
  return {
    child,
    workerId,
    async start() {
      const started = printed(child, workerId, "started");
      child.stdin!.write("start\n");
      await started;
    },
  };
}

interface Session {
  pid: number;
  state: string | null;
  wait_event: string | null;
  in_transaction: boolean;
}

async function sessionsOf(workerId: string): Promise<Session[]> {
  const { rows } = await sql<Session>`
    select pid, state, wait_event, xact_start is not null as in_transaction
    from pg_stat_activity where application_name = ${`stepper:${workerId}`} order by pid`.execute(
    database.handle.db,
  );
  return rows;
}

/**
 * The sessions of a frozen stepper once they stop changing: a statement it sent still runs to its end,
 * then waits for the client (idle, idle in transaction, or blocked writing its result).
 */
async function settledSessions(workerId: string): Promise<Session[]> {
  let previous = "";
  return waitFor(`the sessions of frozen stepper ${workerId} to settle`, 10_000, async () => {
    const sessions = await sessionsOf(workerId);
    const waiting = sessions.every((s) => s.state !== "active" || s.wait_event === "ClientWrite");
    const shape = JSON.stringify(sessions);
    const stable = waiting && shape === previous;
    previous = shape;
    if (stable) return sessions;
    await delay(50);
    return undefined;
  });
}

interface Progress {
  /** Members still active. */
  active: number;
  /** Committed steps of all members (two per member when the campaign is done). */
  steps: number;
  /** Committed sends of the second send node. */
  secondSends: number;
}

async function progressOf(workspaceId: string, campaignId: string): Promise<Progress> {
  const { rows } = await sql<Progress>`
    select
      (select count(*)::int from enrollments
       where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and state = 'active') as active,
      (select count(*)::int from enrollment_steps
       where workspace_id = ${workspaceId} and campaign_id = ${campaignId}) as steps,
      (select count(*)::int from messages
       where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and node_id = 's2')
        as "secondSends"`.execute(database.handle.db);
  return rows[0]!;
}

function assertAlive(child: ChildProcess, workerId: string) {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`stepper process ${workerId} died on its own (${child.exitCode ?? child.signalCode})`);
  }
}

interface Kill extends Progress {
  workerId: string;
  /** Whether a batch transaction was open (members claimed, nothing committed) when it was killed. */
  inBatch: boolean;
}

/**
 * Lets the stepper commit `target` steps in all, waits a random moment more, freezes it (thawing and
 * refreezing until it is inside a batch, when asked) and kills it.
 */
async function killAtRandom(
  child: ChildProcess,
  workerId: string,
  campaign: { workspaceId: string; id: string },
  target: number,
  aimAtBatch: boolean,
): Promise<Kill> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await waitFor(`stepper ${workerId} to reach ${target} steps`, DRAIN_TIMEOUT_MS, async () => {
    assertAlive(child, workerId);
    const { steps } = await progressOf(campaign.workspaceId, campaign.id);
    return steps >= target ? true : undefined;
  });
  await delay(randomBetween(100, 700));
  assertAlive(child, workerId);
  let inBatch = false;
  for (let attempt = 0; ; attempt++) {
    child.kill("SIGSTOP");
    const sessions = await settledSessions(workerId);
    inBatch = sessions.some((s) => s.in_transaction);
    if (inBatch || !aimAtBatch || attempt >= 50) break;
    child.kill("SIGCONT");
    await delay(randomBetween(5, 60));
  }
  const progress = await progressOf(campaign.workspaceId, campaign.id);
  child.kill("SIGKILL");
  await exited;
  // PostgreSQL ends the dead client's sessions, rolling back its open batch and freeing its rows.
  await waitFor(`the sessions of killed stepper ${workerId} to end`, 10_000, async () =>
    (await sessionsOf(workerId)).length === 0 ? true : undefined,
  );
  return { workerId, inBatch, ...progress };
}

describe("the stepper killed with SIGKILL, again and again", () => {
  it(
    "loses no member and sends nothing twice",
    async () => {
      const db = database.handle.db;
      const ws = await newWorkspaceContext(db);
      const campaign = await launchSendWaitSend(db, ws, MEMBERS);
      expect(campaign.enrolled).toBe(MEMBERS);

      // Spread the kills over both passes (first send, then wait and second send): kill i comes a
      // random moment after a random number of steps in the i-th tenth of the first 90% of the work.
      const started = performance.now();
      const slice = (0.9 * 2 * MEMBERS) / Math.max(KILLS, 1);
      const kills: Kill[] = [];
      let next = spawnStandbyStepper("crash-1");
      for (let i = 0; i < KILLS; i++) {
        const stepper = await next;
        await stepper.start();
        next = spawnStandbyStepper(i + 1 < KILLS ? `crash-${i + 2}` : "crash-final");
        const target = Math.floor((i + Math.random()) * slice);
        kills.push(
          await killAtRandom(
            stepper.child,
            stepper.workerId,
            { workspaceId: ws.id, id: campaign.id },
            target,
            i % 2 === 0,
          ),
        );
      }
      const final = await next;
      await final.start();
      const last = final.child;

      await waitFor("every member to leave the campaign", DRAIN_TIMEOUT_MS, async () => {
        assertAlive(last, "crash-final");
        return (await progressOf(ws.id, campaign.id)).active === 0 ? true : undefined;
      });
      // The stepper's idle loop completes a campaign with no active member left.
      const status = await waitFor("the campaign to complete", 10_000, async () => {
        const row = await db
          .selectFrom("campaigns")
          .select("status")
          .where("id", "=", campaign.id)
          .executeTakeFirstOrThrow();
        return row.status === "completed" ? row.status : undefined;
      });
      last.kill("SIGKILL");
      const seconds = (performance.now() - started) / 1000;
      if (process.env.CRASH_TEST_REPORT) {
        const report = {
          members: MEMBERS,
          kills: kills.length,
          killsMidBatch: kills.filter((k) => k.inBatch).length,
          seconds,
        };
        fs.writeFileSync(process.env.CRASH_TEST_REPORT, JSON.stringify(report));
      }

      // The kills were real: they hit a live stepper with work left, in both passes, some of them in
      // the middle of a batch.
      expect(kills).toHaveLength(KILLS);
      if (KILLS >= 2) {
        expect(kills.filter((k) => k.active > 0 && k.secondSends === 0).length).toBeGreaterThan(0);
        expect(kills.filter((k) => k.active > 0 && k.secondSends > 0).length).toBeGreaterThan(0);
        expect(kills.filter((k) => k.inBatch).length).toBeGreaterThan(0);
      }

      expect(status).toBe("completed");
      const states = await sql<{ state: string; node_id: string; seq: number; n: number }>`
        select state, node_id, seq, count(*)::int as n from enrollments
        where campaign_id = ${campaign.id} group by state, node_id, seq`.execute(db);
      expect(states.rows).toEqual([{ state: "completed", node_id: "exit", seq: 2, n: MEMBERS }]);

      const ledger = await sql<{ node_id: string; rows: number; members: number; keys: number }>`
        select node_id, count(*)::int as rows, count(distinct contact_id)::int as members,
               count(distinct idempotency_key)::int as keys
        from messages where campaign_id = ${campaign.id} group by node_id order by node_id`.execute(db);
      expect(ledger.rows).toEqual([
        { node_id: "s1", rows: MEMBERS, members: MEMBERS, keys: MEMBERS },
        { node_id: "s2", rows: MEMBERS, members: MEMBERS, keys: MEMBERS },
      ]);

      // Each member's history is 1..k with no gap and no repeat, k being the enrollment's seq.
      const history = await sql<{ members: number; broken: number; workers: number }>`
        with steps as (
          select contact_id, count(*) as n, count(distinct seq) as distinct_seqs, min(seq) as lo,
                 max(seq) as hi
          from enrollment_steps where campaign_id = ${campaign.id} group by contact_id
        )
        select count(*)::int as members,
               count(*) filter (where s.contact_id is null or s.n <> s.distinct_seqs or s.lo <> 1
                                  or s.hi <> s.n or s.hi <> e.seq)::int as broken,
               (select count(distinct worker)::int from enrollment_steps
                where campaign_id = ${campaign.id}) as workers
        from enrollments e left join steps s using (contact_id)
        where e.campaign_id = ${campaign.id}`.execute(db);
      expect(history.rows[0]!.members).toBe(MEMBERS);
      expect(history.rows[0]!.broken).toBe(0);
      // Members completed across restarts: no single process did all the work.
      if (KILLS > 0) expect(history.rows[0]!.workers).toBeGreaterThan(1);
    },
    DRAIN_TIMEOUT_MS + 120_000,
  );
});
