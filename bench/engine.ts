/**
 * Journey engine benchmark. Builds 1,000,000 contacts in one workspace and measures, in the same run on
 * the same database:
 *   (c) launch: the product's set-based enrollment of the 1,000,000-member audience, beside a raw
 *       INSERT … SELECT of the same rows into a copy of the enrollments table;
 *   (a) member-steps per second through the engine (two worker processes running the stepper, batches
 *       of 1000) for every member on an entry → wait → condition → wait → exit path, and the peak RSS of
 *       each worker process;
 *   (b) the same workload done the common way: one graphile-worker job per member-step, each doing the
 *       same reads and writes for its one member (lock the enrollment, read the contact, evaluate the
 *       condition in SQL, run the same transition function, update, write history) and queueing the next
 *       step as a job. graphile-worker runs with its batching options on (localQueue 500, batched
 *       completion, concurrency 10). It runs on a sample of members (default 30,000): its rate per
 *       second is what is compared, and a smaller table only helps it.
 * Goals: (a) ≥ 5 × (b); launch ≤ 10 s and ≥ 50% of the raw insert rate; RSS < 300 MB.
 */

import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { Rule } from "@omneural/contracts/audiences";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { compileForWorkspace, createAudience } from "@omneural/core/audiences/audience.service";
import { createCampaign, launchCampaign } from "@omneural/core/campaigns/campaign.service";
import { type Db, openDatabase } from "@omneural/core/db/database";
import { evaluateCondition, loadWorkflowVersion } from "@omneural/core/engine/stepper";
import { newWorkspaceContext, publishGraph } from "@omneural/core/testing/campaigns";
import { memberTimeZone } from "@omneural/core/workflows/local-time";
import { type MemberState, transition } from "@omneural/core/workflows/transition";
import { Logger, run } from "graphile-worker";
import { sql } from "kysely";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const PATH: WorkflowGraph = {
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "w1" } },
    { id: "w1", type: "wait", mode: "duration", duration: { seconds: 1 }, outlets: { next: "c" } },
    {
      id: "c",
      type: "condition",
      rule: { kind: "field", field: "attributes.score", type: "number", condition: { op: "lt", value: 50 } },
      outlets: { yes: "w2", no: "w2" },
    },
    { id: "w2", type: "wait", mode: "duration", duration: { seconds: 1 }, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
};
/** entry → w1; w1 → c → w2; w2 → done. */
const STEPS_PER_MEMBER = 3;

export async function main(args: string[]) {
  const members = argValue(args, "--members", 1_000_000);
  const baselineMembers = argValue(args, "--baseline-members", 30_000);
  const workers = argValue(args, "--workers", 2);
  const bench = await benchDatabase("engine");
  const handle = openDatabase(bench.url, { poolSize: 12 });
  const { db } = handle;
  try {
    const ws = await newWorkspaceContext(db, "Engine bench");
    console.error(`building ${members.toLocaleString()} contacts…`);
    await sql`
      insert into contacts (workspace_id, id, email, attributes)
      select ${ws.id}::uuid, gen_random_uuid(), 'person' || g || '@example.com', jsonb_build_object('score', g % 100)
      from generate_series(1, ${members}) g`.execute(db);
    await sql`vacuum analyze contacts`.execute(db);
    const everyone = await createAudience(db, ws, {
      name: "Everyone with a score",
      definition: {
        kind: "field",
        field: "attributes.score",
        type: "number",
        condition: { op: "gte", value: 0 },
      },
    });
    const { workflowId } = await publishGraph(db, ws, PATH);

    // (c) launch beside a raw INSERT … SELECT of the same rows into a copy of the table.
    const where = await compileForWorkspace(db, ws.id, everyone.definition as Rule, new Date());
    // The same columns, indexes and storage settings as enrollments, without the campaign's foreign key.
    await sql`create table enrollments_raw (like enrollments including all)`.execute(db);
    const rawStarted = performance.now();
    const raw = await sql`
      insert into enrollments_raw (workspace_id, campaign_id, contact_id, node_id, state, due_at, enrolled_at,
                                   node_entered_at, updated_at)
      select ${ws.id}, ${crypto.randomUUID()}::uuid, c.id, 'entry', 'active', now(), now(), now(), now()
      from contacts c where c.workspace_id = ${ws.id} and ${where}
      order by c.id`.execute(db);
    const rawMs = performance.now() - rawStarted;
    await sql`drop table enrollments_raw`.execute(db);
    await sql`checkpoint`.execute(db);

    const campaign = await createCampaign(db, ws, {
      name: "Engine bench",
      audienceId: everyone.id,
      workflowId,
    });
    // The engine runs in worker processes of its own (as `omneural worker` does), started before the
    // launch: they step members as soon as the launch commits.
    const children = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(bench.url, i)));
    const launchStarted = performance.now();
    const launched = await launchCampaign(db, ws, campaign.id);
    const launchMs = performance.now() - launchStarted;
    const engineStarted = performance.now();
    const rawRate = Number(raw.numAffectedRows) / (rawMs / 1000);
    const launchRate = launched.changed / (launchMs / 1000);
    console.error(
      `launch: ${launched.changed.toLocaleString()} members in ${round(launchMs / 1000, 2)} s (${Math.round(launchRate).toLocaleString()}/s); raw INSERT … SELECT ${round(rawMs / 1000, 2)} s (${Math.round(rawRate).toLocaleString()}/s)`,
    );

    // (a) the engine: wait until no member is active, then read each worker's peak RSS.
    let lastReport = performance.now();
    for (;;) {
      const { rows } = await sql<{ active: boolean }>`
        select exists (select 1 from enrollments where workspace_id = ${ws.id} and campaign_id = ${campaign.id}
                       and state = 'active') as active`.execute(db);
      if (!rows[0]!.active) break;
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        const { rows: byNode } = await sql<{ node_id: string; n: number }>`
          select node_id, count(*)::int as n from enrollments
          where workspace_id = ${ws.id} and campaign_id = ${campaign.id} group by node_id order by node_id`.execute(
          db,
        );
        const where = byNode.map((r) => `${r.node_id} ${r.n.toLocaleString()}`).join(", ");
        console.error(`  engine after ${round((lastReport - engineStarted) / 1000)} s: ${where}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const engineMs = performance.now() - engineStarted;
    const peakRssMb = Math.max(...children.map((c) => peakRss(c.pid!)));
    await Promise.all(children.map(stopWorker));
    const completed = await countStates(db, ws.id, campaign.id);
    const { rows: history } = await sql<{ n: number }>`
      select count(*)::int as n from enrollment_steps where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(
      db,
    );
    const stepped = history[0]!.n;
    if (completed.completed !== members || stepped !== members * STEPS_PER_MEMBER) {
      throw new Error(`engine run incomplete: ${JSON.stringify(completed)}, ${stepped} member-steps`);
    }
    const engineRate = stepped / (engineMs / 1000);
    console.error(
      `engine (${workers} worker processes): ${stepped.toLocaleString()} member-steps in ${round(engineMs / 1000, 1)} s = ${Math.round(engineRate).toLocaleString()}/s; peak worker RSS ${peakRssMb} MB`,
    );

    // (b) one graphile-worker job per member-step.
    const baseline = await perMemberJobs(db, bench.url, ws, workflowId, baselineMembers);
    console.error(
      `baseline (one job per member-step): ${baseline.steps.toLocaleString()} member-steps in ${round(baseline.ms / 1000, 1)} s = ${Math.round(baseline.rate).toLocaleString()}/s`,
    );

    const stepRatio = engineRate / baseline.rate;
    const launchRatio = launchRate / rawRate;
    const rssMb = peakRssMb;
    printReport({
      bench: "engine",
      figures: {
        memberStepsPerSecond: Math.round(engineRate),
        launchSeconds: round(launchMs / 1000, 2),
        launchRowsPerSecond: Math.round(launchRate),
        peakWorkerRssMb: Math.round(rssMb),
        members,
      },
      baselines: {
        perMemberJobStepsPerSecond: Math.round(baseline.rate),
        rawInsertRowsPerSecond: Math.round(rawRate),
        baselineMembers,
      },
      ratios: { engineVsPerMemberJobs: round(stepRatio, 2), launchVsRawInsert: round(launchRatio, 2) },
      goals: {
        engineVsPerMemberJobs: ">= 5",
        launchSeconds: "<= 10",
        launchVsRawInsert: ">= 0.5",
        peakWorkerRssMb: "< 300",
      },
      met: stepRatio >= 5 && launchMs <= 10_000 && launchRatio >= 0.5 && rssMb < 300,
    });
  } finally {
    await handle.close();
    await bench.close();
  }
}

const STEPPER_PROCESS = fileURLToPath(
  new URL("../packages/core/src/testing/stepper-process.ts", import.meta.url),
);

async function startWorker(url: string, index: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", STEPPER_PROCESS, url, `bench-${index}`], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`worker ${index} exited with ${code}`)));
    child.stdout!.once("data", () => resolve());
  });
  return child;
}

async function stopWorker(child: ChildProcess) {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** The peak resident set of a process (Linux VmHWM), in MB. */
function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function countStates(db: Db, workspaceId: string, campaignId: string) {
  const { rows } = await sql<{ state: string; n: number }>`
    select state, count(*)::int as n from enrollments where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
    group by state`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.state, r.n])) as Record<string, number>;
}

/**
 * The common way: a job per member-step. Each job locks its member's enrollment, reads the contact,
 * evaluates the condition for that member in SQL when the path reaches it, runs the same transition
 * function, writes the enrollment and a history row, and queues the member's next step as a new job.
 */
async function perMemberJobs(
  db: Db,
  url: string,
  ws: Awaited<ReturnType<typeof newWorkspaceContext>>,
  workflowId: string,
  count: number,
) {
  const audience = await createAudience(db, ws, { name: "Baseline sample", kind: "list" });
  await sql`
    insert into list_members (workspace_id, list_id, contact_id)
    select ${ws.id}, ${audience.id}, id from contacts where workspace_id = ${ws.id} order by id limit ${count}`.execute(
    db,
  );
  const campaign = await createCampaign(db, ws, { name: "Baseline", audienceId: audience.id, workflowId });
  await launchCampaign(db, ws, campaign.id);
  // Keep the engine's stepper away from it: the jobs are the only thing moving these members.
  await sql`update campaigns set status = 'paused' where id = ${campaign.id}`.execute(db);
  const wf = await loadWorkflowVersion(db, ws.id, workflowId, 1);
  await sql`
    select graphile_worker.add_jobs(array_agg(spec))
    from (select (('step', json_build_object('contactId', contact_id), null, null, null, null, null, null))::graphile_worker.job_spec as spec
          from enrollments where campaign_id = ${campaign.id}) s`.execute(db);

  let steps = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let finished = 0;
  const started = performance.now();
  const runner = await run({
    connectionString: url,
    concurrency: 10,
    maxPoolSize: 12,
    noHandleSignals: true,
    pollInterval: 200,
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    logger: new Logger(() => () => undefined),
    taskList: {
      step: async (payload) => {
        const { contactId } = payload as { contactId: string };
        const now = new Date();
        await db.transaction().execute(async (trx) => {
          const row = (
            await sql<{
              node_id: string;
              state: "active";
              enrolled_at: Date;
              node_entered_at: Date;
              iteration: number;
              seq: number;
            }>`
              select node_id, state, enrolled_at, node_entered_at, iteration, seq from enrollments
              where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and contact_id = ${contactId}
              for update`.execute(trx)
          ).rows[0];
          if (row?.state !== "active") return;
          const contact = (
            await sql<{ timezone: string | null; attributes: Record<string, unknown> }>`
              select timezone, attributes from contacts where workspace_id = ${ws.id} and id = ${contactId}`.execute(
              trx,
            )
          ).rows[0]!;
          const member: MemberState = {
            contactId,
            nodeId: row.node_id,
            state: row.state,
            enrolledAt: row.enrolled_at,
            nodeEnteredAt: row.node_entered_at,
            iteration: row.iteration,
            seq: row.seq,
          };
          const outlets = new Map<string, string>();
          let result: ReturnType<typeof transition> | undefined;
          for (let attempt = 0; attempt < 3 && !result; attempt++) {
            let missing: string | undefined;
            const r = transition(
              wf,
              campaign.id,
              member,
              {
                timeZone: memberTimeZone(contact.timezone, ws.defaultTimezone),
                attributes: contact.attributes,
                events: [],
                condition(node) {
                  const outlet = outlets.get(node.id);
                  if (outlet !== undefined) return outlet;
                  missing = node.id;
                  throw new Error("not evaluated");
                },
              },
              now,
            );
            if (missing === undefined) result = r;
            else {
              const node = wf.conditionNodes.find((n) => n.id === missing)!;
              const chosen = await evaluateCondition(trx, ws.id, campaign.id, node, [contactId], now);
              outlets.set(node.id, chosen.get(contactId)!);
            }
          }
          if (!result) throw new Error("transition did not settle");
          await sql`
            update enrollments set node_id = ${result.nodeId}, state = ${result.state}, due_at = ${result.dueAt},
              node_entered_at = ${result.nodeEnteredAt}, error = ${result.error}, seq = seq + 1, updated_at = ${now}
            where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and contact_id = ${contactId}`.execute(
            trx,
          );
          await sql`
            insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
            values (${ws.id}, ${campaign.id}, ${contactId}, ${row.seq + 1}, ${now}, 'baseline',
                    ${JSON.stringify(result.trace)}::jsonb)`.execute(trx);
          if (result.state === "active" && result.dueAt) {
            await sql`select graphile_worker.add_job('step', json_build_object('contactId', ${contactId}::text),
                        run_at := ${result.dueAt})`.execute(trx);
          } else {
            finished++;
            if (finished === count) resolveDone();
          }
        });
        steps++;
      },
    },
  });
  await done;
  const ms = performance.now() - started;
  await runner.stop();
  return { steps, ms, rate: steps / (ms / 1000) };
}
