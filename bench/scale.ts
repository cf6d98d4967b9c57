/**
 * Scale-out benchmark: the worker role as 1, 2 and 4 real `omneural worker` processes against one
 * PostgreSQL and one Redis, and the tracking role with and without Redis. In the same run:
 *   (a) engine: member-steps per second for a campaign entry → wait 1 s → condition → wait 1 s → exit
 *       over `--engine-members` contacts (3 steps each), from its launch until no member is active;
 *   (b) dispatch: messages per second for a campaign entry → email → exit over `--messages` new
 *       contacts, from its launch until every ledger row is sent, to an SMTP server on loopback in this
 *       process that keeps the provider's log (so that a message delivered twice would show);
 *   (c) tracking: `omneural tracking` answering click redirects (autocannon in its own process, as in
 *       the tracking bench), with REDIS_URL (the shared cache in Redis) and without (each process's own
 *       LRU), alternating for `--runs` rounds.
 * The baseline of (a) and (b) is the 1-worker figure of this run; (c) compares the two tracking modes.
 * Duplicates: member-steps committed twice (enrollment_steps per member and seq), ledger rows twice
 * (per member and send node) and deliveries twice (per Message-ID) must all be 0.
 * On 2 cores a plateau is expected: the goal is that 2 and 4 workers do no worse than 0.9× of 1.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import { type Db, openDatabase } from "@omneural/core/db/database";
import { messageKey } from "@omneural/core/delivery/reconcile";
import { setSender } from "@omneural/core/delivery/sender.service";
import { deriveKeys } from "@omneural/core/security/keys";
import { createTemplate } from "@omneural/core/templates/template.service";
import { launchGraph, newWorkspaceContext, seedContactsInList } from "@omneural/core/testing/campaigns";
import { seedSentEmails } from "@omneural/core/testing/responses";
import { clickToken } from "@omneural/core/tracking/tokens";
import {
  type DeliverySink,
  installationEnv,
  type RoleProcess,
  startDeliverySink,
  startRole,
  waitUntil,
} from "@omneural/server/testing/role-processes";
import { Redis } from "ioredis";
import { sql } from "kysely";
import { argValue, benchDatabase, printReport, round, runTrackingLoad } from "./lib.ts";

const SECRET_KEY = "scale bench secret key, 32 characters or more";
const WORKER_COUNTS = [1, 2, 4] as const;
const ENGINE_STEPS_PER_MEMBER = 3;

const enginePath: WorkflowGraph = {
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

interface Installation {
  url: string;
  redisUrl: string | undefined;
  smtp: DeliverySink;
  dataDir: string;
}

function roleEnv(inst: Installation, withRedis: boolean) {
  return installationEnv({
    DATABASE_URL: inst.url,
    SECRET_KEY,
    SMTP_URL: `smtp://127.0.0.1:${inst.smtp.port}`,
    // The links in the bench's emails are never followed; the tracking runs sign their own tokens.
    PUBLIC_URL: "http://127.0.0.1:9",
    OMNEURAL_DATA_DIR: inst.dataDir,
    DATABASE_POOL_SIZE: "6",
    LOG_LEVEL: "info",
    ...(withRedis && inst.redisUrl ? { REDIS_URL: inst.redisUrl } : {}),
  });
}

async function startWorkers(inst: Installation, count: number): Promise<RoleProcess[]> {
  const env = roleEnv(inst, true);
  const settled = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startRole("worker", `worker-${i + 1}`, env, { timeoutMs: 120_000 }),
    ),
  );
  const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(started.map((p) => p.stop()));
    throw failed.reason;
  }
  return started;
}

/** (a) A new campaign over the engine list; member-steps per second until no member is active. */
async function measureEngine(db: Db, ws: WorkspaceContext, listId: string, members: number) {
  const campaign = await launchGraph(db, ws, listId, enginePath);
  const started = performance.now();
  await waitUntil(
    "the engine campaign to finish",
    600_000,
    async () => {
      const { rows } = await sql<{ active: boolean }>`
        select exists (select 1 from enrollments where workspace_id = ${ws.id} and campaign_id = ${campaign.id}
                       and state = 'active') as active`.execute(db);
      return rows[0]!.active ? undefined : true;
    },
    100,
  );
  const ms = performance.now() - started;
  const { rows } = await sql<{ steps: number; distinct_steps: number; completed: number }>`
    select count(*)::int as steps, count(distinct (contact_id, seq))::int as distinct_steps,
           (select count(*)::int from enrollments where workspace_id = ${ws.id} and campaign_id = ${campaign.id}
              and state = 'completed' and seq = ${ENGINE_STEPS_PER_MEMBER}) as completed
    from enrollment_steps where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(db);
  const r = rows[0]!;
  if (r.completed !== members || r.distinct_steps !== members * ENGINE_STEPS_PER_MEMBER)
    throw new Error(`engine run incomplete: ${JSON.stringify(r)} for ${members} members`);
  return { rate: r.steps / (ms / 1000), duplicates: r.steps - r.distinct_steps, ms };
}

/** (b) A new campaign entry → email → exit over new contacts; messages per second until all are sent. */
async function measureDispatch(
  db: Db,
  ws: WorkspaceContext,
  templateId: string,
  messages: number,
  smtp: DeliverySink,
) {
  const { listId } = await seedContactsInList(db, ws.id, messages);
  await sql`analyze contacts`.execute(db);
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "email" } },
      { id: "email", type: "send", channel: "email", templateId, outlets: { next: "exit" } },
      { id: "exit", type: "exit", outlets: {} },
    ],
  };
  const acceptedBefore = smtp.accepted.length;
  const started = performance.now();
  const campaign = await launchGraph(db, ws, listId, graph);
  await waitUntil(
    "every message to be sent",
    600_000,
    async () => {
      const { rows } = await sql<{ sent: number; rows: number }>`
        select count(*) filter (where status = 'sent')::int as sent, count(*)::int as rows
        from messages where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(db);
      return rows[0]!.sent === messages ? true : undefined;
    },
    100,
  );
  const ms = performance.now() - started;
  const { rows } = await sql<{ rows: number; members: number }>`
    select count(*)::int as rows, count(distinct (contact_id, node_id))::int as members
    from messages where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(db);
  // Deliveries of this run: every Message-ID once.
  const keys = smtp.accepted.slice(acceptedBefore).map((a) => messageKey(a.messageId));
  const deliveryDuplicates = keys.length - new Set(keys).size;
  return {
    rate: messages / (ms / 1000),
    duplicates: deliveryDuplicates + (rows[0]!.rows - rows[0]!.members),
    delivered: keys.length,
    ms,
  };
}

export async function main(args: string[]) {
  const engineMembers = argValue(args, "--engine-members", 30_000);
  const messages = argValue(args, "--messages", 3000);
  const requests = argValue(args, "--requests", 20_000);
  const connections = argValue(args, "--connections", 10);
  const runs = argValue(args, "--runs", 1);
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const redisUp = await redisAnswers(redisUrl);
  if (!redisUp)
    console.error(
      `*** no Redis at ${redisUrl}: the workers run without it and tracking is measured without only ***`,
    );

  const bench = await benchDatabase("scale");
  const handle = openDatabase(bench.url, { poolSize: 4 });
  const { db } = handle;
  const smtp = await startDeliverySink();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-bench-scale-"));
  const pathsFile = path.join(dataDir, "paths.json");
  const inst: Installation = { url: bench.url, redisUrl: redisUp ? redisUrl : undefined, smtp, dataDir };
  const running: RoleProcess[] = [];
  try {
    const ws = await newWorkspaceContext(db, "Scale bench");
    await setSender(db, ws, {
      fromName: "Acme",
      fromAddress: "news@acme.example",
      postalAddress: "1 High St",
    });
    const template = await createTemplate(db, ws, {
      name: "Scale",
      channel: "email",
      content: { subject: "Hello", html: '<p>Hello</p><p><a href="https://shop.example/">Shop</a></p>' },
    });
    console.error(`building ${engineMembers.toLocaleString()} contacts for the engine…`);
    const engineList = await seedContactsInList(
      db,
      ws.id,
      engineMembers,
      sql`jsonb_build_object('score', i % 100)`,
    );
    await sql`vacuum analyze`.execute(db);

    const engineRates = new Map<number, number[]>();
    const dispatchRates = new Map<number, number[]>();
    let duplicates = 0;
    for (let run = 1; run <= runs; run++) {
      for (const workers of WORKER_COUNTS) {
        const processes = await startWorkers(inst, workers);
        running.push(...processes);
        try {
          const engine = await measureEngine(db, ws, engineList.listId, engineMembers);
          const dispatch = await measureDispatch(db, ws, template.id, messages, smtp);
          for (const p of processes)
            if (p.child.exitCode !== null) throw new Error(`${p.name} exited:\n${p.output()}`);
          engineRates.set(workers, [...(engineRates.get(workers) ?? []), engine.rate]);
          dispatchRates.set(workers, [...(dispatchRates.get(workers) ?? []), dispatch.rate]);
          duplicates += engine.duplicates + dispatch.duplicates;
          console.error(
            `run ${run}, ${workers} worker process${workers > 1 ? "es" : ""}: engine ${Math.round(engine.rate).toLocaleString()} member-steps/s (${round(engine.ms / 1000, 1)} s) · dispatch ${Math.round(dispatch.rate)} messages/s (${round(dispatch.ms / 1000, 1)} s, ${dispatch.delivered} delivered) · duplicates ${engine.duplicates + dispatch.duplicates}`,
          );
        } finally {
          await Promise.all(processes.map((p) => p.stop()));
          for (const p of processes) running.splice(running.indexOf(p), 1);
        }
      }
    }

    // (c) tracking, with and without Redis.
    const keys = deriveKeys(SECRET_KEY);
    const sent = await seedSentEmails(db, ws, 2000, new Date(Date.now() - 60 * 60_000));
    fs.writeFileSync(
      pathsFile,
      JSON.stringify(
        sent.messages.map(
          (m, i) =>
            `/t/c/${clickToken(keys.links, {
              workspaceId: ws.id,
              messageId: m.id,
              index: i % 4,
              url: `https://shop.example/spring/${i % 4}?utm_source=email`,
            })}`,
        ),
      ),
    );
    const modes = redisUp ? (["redis", "without"] as const) : (["without"] as const);
    const trackingRates: Record<string, number[]> = { redis: [], without: [] };
    const trackingP99: Record<string, number[]> = { redis: [], without: [] };
    let trackingFailures = 0;
    const trackers: Record<string, RoleProcess> = {};
    for (const mode of modes) {
      const tracker = await startRole("tracking", `tracking-${mode}`, roleEnv(inst, mode === "redis"), {
        timeoutMs: 120_000,
      });
      running.push(tracker);
      trackers[mode] = tracker;
      await runTrackingLoad(tracker.url!, pathsFile, Math.min(requests, 5000), connections); // warm-up
    }
    for (let run = 1; run <= Math.max(3, runs); run++) {
      for (const mode of modes) {
        const r = await runTrackingLoad(trackers[mode]!.url!, pathsFile, requests, connections);
        trackingRates[mode]!.push(r.requestsPerSecond);
        trackingP99[mode]!.push(r.p99Ms);
        trackingFailures += r.status4xx + r.status5xx + r.errors + r.timeouts;
        console.error(
          `tracking ${mode === "redis" ? "with Redis" : "without Redis"}, run ${run}: ${Math.round(r.requestsPerSecond)} req/s, p99 ${r.p99Ms} ms`,
        );
      }
    }

    const e = (n: number) => median(engineRates.get(n)!);
    const d = (n: number) => median(dispatchRates.get(n)!);
    const tWith = redisUp ? median(trackingRates.redis!) : Number.NaN;
    const tWithout = median(trackingRates.without!);
    const ratios = {
      engine2vs1: round(e(2) / e(1), 2),
      engine4vs1: round(e(4) / e(1), 2),
      dispatch2vs1: round(d(2) / d(1), 2),
      dispatch4vs1: round(d(4) / d(1), 2),
      trackingRedisVsWithout: round(tWith / tWithout, 2),
    };
    console.error(
      `engine member-steps/s by worker processes 1/2/4: ${[1, 2, 4].map((n) => Math.round(e(n))).join(" / ")} · dispatch messages/s: ${[1, 2, 4].map((n) => Math.round(d(n))).join(" / ")} · duplicates ${duplicates} · tracking req/s with Redis ${Math.round(tWith)}, without ${Math.round(tWithout)}`,
    );
    printReport({
      bench: "scale",
      figures: {
        engineStepsPerSecond2Workers: Math.round(e(2)),
        engineStepsPerSecond4Workers: Math.round(e(4)),
        dispatchMessagesPerSecond2Workers: Math.round(d(2)),
        dispatchMessagesPerSecond4Workers: Math.round(d(4)),
        trackingRequestsPerSecondWithRedis: Math.round(tWith),
        trackingP99MsWithRedis: redisUp ? median(trackingP99.redis!) : Number.NaN,
        duplicates,
        trackingFailures,
        engineMembers,
        messages,
        runs,
      },
      baselines: {
        engineStepsPerSecond1Worker: Math.round(e(1)),
        dispatchMessagesPerSecond1Worker: Math.round(d(1)),
        trackingRequestsPerSecondWithoutRedis: Math.round(tWithout),
        trackingP99MsWithoutRedis: median(trackingP99.without!),
      },
      ratios,
      goals: {
        engine2vs1: ">= 0.9",
        engine4vs1: ">= 0.9",
        dispatch2vs1: ">= 0.9",
        dispatch4vs1: ">= 0.9",
        duplicates: "= 0",
      },
      met:
        ratios.engine2vs1 >= 0.9 &&
        ratios.engine4vs1 >= 0.9 &&
        ratios.dispatch2vs1 >= 0.9 &&
        ratios.dispatch4vs1 >= 0.9 &&
        duplicates === 0 &&
        trackingFailures === 0,
    });
  } finally {
    await Promise.all(running.map((p) => p.stop()));
    await smtp.close();
    await handle.close();
    await bench.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
