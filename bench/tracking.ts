/**
 * Tracking benchmark. In one process, two HTTP servers on loopback:
 *   (a) baseline: a bare Fastify hello-world route;
 *   (b) product: the tracking app (packages/server/src/http/tracking) answering click redirects
 *       `GET /t/c/<token>` with valid signed tokens for real sent ledger rows, each click handed to
 *       the response ingest, which writes it to PostgreSQL in batches while the load runs.
 * and, to show what recording costs, (c) the same tracking app with a sink that discards responses.
 * autocannon runs in a separate process (bench/tracking-load.ts) with the same number of requests and
 * connections against each, after a warm-up; (a), (b) and (c) take turns for `--runs` rounds and
 * medians are reported. After the runs the ingest is flushed and the click events in the database must equal the
 * 2xx/3xx answers. Goals: (b) ≥ 50% of (a) req/s, p99 of (b) < 20 ms.
 */
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@omneural/core/config/config";
import { type Db, openDatabase } from "@omneural/core/db/database";
import { createResponseIngest } from "@omneural/core/responses/ingest";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { createLogger } from "@omneural/core/shared/logger";
import { newWorkspaceContext } from "@omneural/core/testing/campaigns";
import { seedSentEmails } from "@omneural/core/testing/responses";
import { clickToken } from "@omneural/core/tracking/tokens";
import { buildTrackingApp } from "@omneural/server/http/tracking/app";
import Fastify, { type FastifyInstance } from "fastify";
import { sql } from "kysely";
import { argValue, benchDatabase, type LoadResult, printReport, round, runTrackingLoad } from "./lib.ts";

async function listen(app: FastifyInstance) {
  await app.listen({ host: "127.0.0.1", port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const microsEach = (used: NodeJS.CpuUsage, requests: number) => (used.user + used.system) / requests;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * CPU time (µs) used so far by one PostgreSQL server's processes (the postmaster and its children), from
 * /proc (Linux; undefined elsewhere). On loopback the database shares the cores with the server and the
 * load generator, so what it spends on each click counts against the click rate.
 */
function databaseCpuMicros(postmaster: number | undefined): number | undefined {
  if (process.platform !== "linux" || !postmaster) return undefined;
  const ticksPerSecond = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pid) !== postmaster && Number(fields[1]) !== postmaster) continue; // fields[1]: ppid
      total += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return (total / ticksPerSecond) * 1e6;
}

/** The postmaster's pid: the parent of this connection's backend (Linux only). */
async function postmasterPid(db: Db): Promise<number | undefined> {
  if (process.platform !== "linux") return undefined;
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  try {
    const stat = fs.readFileSync(`/proc/${rows[0]!.pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // the database is on another machine (or in a container)
  }
}

export async function main(args: string[]) {
  const requests = argValue(args, "--requests", 50_000);
  const connections = argValue(args, "--connections", 10);
  const runs = argValue(args, "--runs", 3);
  const messages = argValue(args, "--messages", 2000);
  // --profile <file>: a CPU profile (.cpuprofile, for Chrome DevTools) of the last run's clicks.
  const profileAt = args.indexOf("--profile");
  const profileFile = profileAt >= 0 ? args[profileAt + 1] : undefined;

  const bench = await benchDatabase("tracking");
  const handle = openDatabase(bench.url, { poolSize: 8 });
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-bench-spool-"));
  const pathsFile = path.join(spoolDir, "..", `omneural-bench-paths-${process.pid}.json`);
  const helloPathsFile = path.join(spoolDir, "..", `omneural-bench-hello-${process.pid}.json`);
  const log = createLogger({ level: "warn", format: "json", name: "bench", destination: 2 });
  const ingest = createResponseIngest(handle.db, { spoolDir, logger: log });
  const hello = Fastify({ logger: false });
  hello.get("/hello", async () => ({ hello: "world" }));
  let tracking: FastifyInstance | undefined;
  let discarding: FastifyInstance | undefined;
  try {
    const ws = await newWorkspaceContext(handle.db, "Tracking bench");
    // Sent an hour ago: these clicks are a person's, not a scanner's right after delivery.
    const sent = await seedSentEmails(handle.db, ws, messages, new Date(Date.now() - 60 * 60_000));
    const paths = sent.messages.map(
      (m, i) =>
        `/t/c/${clickToken(TEST_KEYS.links, {
          workspaceId: ws.id,
          messageId: m.id,
          index: i % 4,
          url: `https://shop.example/spring/${i % 4}?utm_source=email&utm_campaign=spring`,
        })}`,
    );
    fs.writeFileSync(pathsFile, JSON.stringify(paths));
    fs.writeFileSync(helloPathsFile, JSON.stringify(["/hello"]));

    const config = loadConfig({ PUBLIC_URL: "http://bench.omneural.test" });
    tracking = await buildTrackingApp({
      deps: { config, database: handle, jobsEnabled: false, keys: TEST_KEYS, responses: ingest },
      logger: false,
    });
    discarding = await buildTrackingApp({
      deps: { config, database: handle, jobsEnabled: false, keys: TEST_KEYS, responses: { record() {} } },
      logger: false,
    });
    const helloUrl = await listen(hello);
    const trackingUrl = await listen(tracking);
    const discardingUrl = await listen(discarding);
    console.error(
      `${messages.toLocaleString()} sent messages; ${requests.toLocaleString()} requests per run over ${connections} connections, ${runs} runs`,
    );

    // Warm-up (JIT, connection pools), counted like any other click.
    let clickAnswers = 0;
    let clickFailures = 0;
    const count = (r: LoadResult) => {
      clickAnswers += r.ok;
      clickFailures += r.status4xx + r.status5xx + r.errors + r.timeouts;
    };
    await runTrackingLoad(helloUrl, helloPathsFile, Math.min(requests, 10_000), connections);
    count(await runTrackingLoad(trackingUrl, pathsFile, Math.min(requests, 10_000), connections));

    await runTrackingLoad(discardingUrl, pathsFile, Math.min(requests, 10_000), connections);

    const helloRuns: LoadResult[] = [];
    const clickRuns: LoadResult[] = [];
    const discardRuns: LoadResult[] = [];
    const serverCpuPerClick: number[] = [];
    const serverCpuPerHello: number[] = [];
    const serverCpuPerDiscarded: number[] = [];
    const postmaster = await postmasterPid(handle.db);
    const databaseCpuPerClick: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const helloCpu = process.cpuUsage();
      const a = await runTrackingLoad(helloUrl, helloPathsFile, requests, connections);
      serverCpuPerHello.push(microsEach(process.cpuUsage(helloCpu), requests));
      helloRuns.push(a);
      const profiler = profileFile && run === runs ? new Session() : undefined;
      if (profiler) {
        profiler.connect();
        await profiler.post("Profiler.enable");
        await profiler.post("Profiler.start");
      }
      const cpu = process.cpuUsage();
      const dbCpu = databaseCpuMicros(postmaster);
      const b = await runTrackingLoad(trackingUrl, pathsFile, requests, connections);
      await ingest.flush();
      const used = process.cpuUsage(cpu);
      serverCpuPerClick.push(microsEach(used, requests));
      if (dbCpu !== undefined) databaseCpuPerClick.push((databaseCpuMicros(postmaster)! - dbCpu) / requests);
      if (profiler && profileFile) {
        const { profile } = await profiler.post("Profiler.stop");
        fs.writeFileSync(profileFile, JSON.stringify(profile));
        profiler.disconnect();
      }
      clickRuns.push(b);
      count(b);
      const discardCpu = process.cpuUsage();
      const c = await runTrackingLoad(discardingUrl, pathsFile, requests, connections);
      serverCpuPerDiscarded.push(microsEach(process.cpuUsage(discardCpu), requests));
      discardRuns.push(c);
      const s = ingest.stats();
      console.error(
        `run ${run}: hello ${Math.round(a.requestsPerSecond)} req/s, p99 ${a.p99Ms} ms, ${Math.round(serverCpuPerHello.at(-1)!)} µs CPU each (load generator ${Math.round(a.cpuMicrosPerRequest)} µs) · clicks ${Math.round(b.requestsPerSecond)} req/s, p99 ${b.p99Ms} ms (${round(b.requestsPerSecond / a.requestsPerSecond, 2)}×; CPU a click: server ${Math.round(serverCpuPerClick.at(-1)!)} µs, database ${databaseCpuPerClick.length ? `${Math.round(databaseCpuPerClick.at(-1)!)} µs` : "not measured"}, load generator ${Math.round(b.cpuMicrosPerRequest)} µs) · clicks discarded ${Math.round(c.requestsPerSecond)} req/s, p99 ${c.p99Ms} ms, ${Math.round(serverCpuPerDiscarded.at(-1)!)} µs CPU each · ingest: ${s.recorded} written, ${s.buffered} buffered, ${s.spooled} spooled`,
      );
    }

    // Everything answered must be recorded, once.
    const flushStarted = performance.now();
    await ingest.flush();
    const flushMs = performance.now() - flushStarted;
    const { rows } = await sql<{ n: number; machine: number }>`
      select count(*)::int as n, count(*) filter (where properties ? 'machine')::int as machine
      from events where workspace_id = ${ws.id} and type = 'message.clicked'`.execute(handle.db);
    const clickEvents = rows[0]!.n;
    const stats = ingest.stats();

    const helloRate = median(helloRuns.map((r) => r.requestsPerSecond));
    const helloP99 = median(helloRuns.map((r) => r.p99Ms));
    const clickRate = median(clickRuns.map((r) => r.requestsPerSecond));
    const clickP99 = median(clickRuns.map((r) => r.p99Ms));
    const discardRate = median(discardRuns.map((r) => r.requestsPerSecond));
    const ratio = clickRate / helloRate;
    const counted = clickEvents === clickAnswers && clickFailures === 0;
    console.error(
      `hello world ${Math.round(helloRate)} req/s (p99 ${helloP99} ms) · click redirects ${Math.round(clickRate)} req/s (p99 ${clickP99} ms): ${round(ratio, 2)}× (goal ≥ 0.5, p99 < 20 ms) · the same redirects with responses discarded ${Math.round(discardRate)} req/s (${round(discardRate / helloRate, 2)}×)`,
    );
    console.error(
      `clicks answered 2xx/3xx: ${clickAnswers}, failed: ${clickFailures}; click events recorded: ${clickEvents} (${rows[0]!.machine} flagged as machine); final flush ${Math.round(flushMs)} ms; ingest ${JSON.stringify(stats)}`,
    );
    printReport({
      bench: "tracking",
      figures: {
        clickRequestsPerSecond: Math.round(clickRate),
        clickP99Ms: clickP99,
        clickP50Ms: median(clickRuns.map((r) => r.p50Ms)),
        clickServerCpuMicrosPerRequest: Math.round(median(serverCpuPerClick)),
        ...(databaseCpuPerClick.length
          ? { clickDatabaseCpuMicrosPerRequest: Math.round(median(databaseCpuPerClick)) }
          : {}),
        clickLoadGeneratorCpuMicrosPerRequest: Math.round(
          median(clickRuns.map((r) => r.cpuMicrosPerRequest)),
        ),
        clickDiscardedRequestsPerSecond: Math.round(discardRate),
        clickDiscardedServerCpuMicrosPerRequest: Math.round(median(serverCpuPerDiscarded)),
        clickAnswers,
        clickEvents,
        clickFailures,
        spooled: stats.spooled,
      },
      baselines: {
        helloRequestsPerSecond: Math.round(helloRate),
        helloP99Ms: helloP99,
        helloServerCpuMicrosPerRequest: Math.round(median(serverCpuPerHello)),
        helloLoadGeneratorCpuMicrosPerRequest: Math.round(
          median(helloRuns.map((r) => r.cpuMicrosPerRequest)),
        ),
      },
      ratios: { clickVsHello: round(ratio, 3), clickDiscardedVsHello: round(discardRate / helloRate, 3) },
      goals: { clickVsHello: ">= 0.5", p99Ms: "< 20" },
      met: ratio >= 0.5 && clickP99 < 20 && counted,
    });
  } finally {
    await hello.close();
    await tracking?.close();
    await discarding?.close();
    await ingest.close();
    await handle.close();
    await bench.close();
    fs.rmSync(spoolDir, { recursive: true, force: true });
    fs.rmSync(pathsFile, { force: true });
    fs.rmSync(helloPathsFile, { force: true });
  }
}
