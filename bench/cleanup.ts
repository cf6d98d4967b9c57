/**
 * Cleanup benchmark: the outdated-prospects retention policy over `--contacts` contacts of which
 * `--outdated` (a share) have shown no engagement for a year, while ordinary work goes on.
 *
 * Measured windows of `--seconds` each, in the same database:
 *   (baseline) API reads at a fixed rate (`--rate` req/s, autocannon in its own process: a contact's
 *              profile and the first page of the contact list, by API key) and the journey engine
 *              stepping a running campaign's members in batches, with nothing else running: one window
 *              before the cleanup and one after it;
 *   (cleanup)  the same, while the policy's real run erases (or `--action` anonymises / archives) the
 *              outdated contacts in its batches: up to `--windows` windows, one after the other.
 * Figures: the cleanup's contacts per second, and the p99 latency of the API reads and of the engine's
 * step batches: the mean of the two baseline windows beside the median of the cleanup windows. Goal: cleanup slows the concurrent work by less than 20% (p99 ratio
 * < 1.2). The run also checks that the dry run's count equals what the real run did.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { createCampaign, launchCampaign } from "@omneural/core/campaigns/campaign.service";
import { loadConfig } from "@omneural/core/config/config";
import { openDatabase } from "@omneural/core/db/database";
import { stepCampaignBatch } from "@omneural/core/engine/stepper";
import { putRetentionPolicy, runRetentionPolicy } from "@omneural/core/retention/retention.service";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { newWorkspaceContext, publishGraph, seedContactsInList } from "@omneural/core/testing/campaigns";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import { buildApp } from "@omneural/server/http/app";
import { sql } from "kysely";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

const PATH: WorkflowGraph = {
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "w1" } },
    { id: "w1", type: "wait", mode: "duration", duration: { seconds: 1 }, outlets: { next: "w2" } },
    { id: "w2", type: "wait", mode: "duration", duration: { seconds: 1 }, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
};

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  ok: number;
  failed: number;
}

async function load(url: string, pathsFile: string, rate: number, seconds: number, apiKey: string) {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(here, "rate-load.ts"),
      url,
      pathsFile,
      String(rate),
      String(seconds),
      JSON.stringify({ authorization: `Bearer ${apiKey}` }),
    ],
    { maxBuffer: 10 * 1024 * 1024 },
  );
  if (stderr.trim()) process.stderr.write(stderr);
  return JSON.parse(stdout.trim().split("\n").pop()!) as LoadResult;
}

const percentile = (xs: number[], p: number) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/**
 * Steps the campaign's members in batches for `seconds` (or until none is left); returns each batch's
 * duration (ms). The engine's clock is a day ahead, so each claim takes a member down its whole path.
 */
async function stepFor(
  db: Parameters<typeof stepCampaignBatch>[0],
  workspaceId: string,
  campaignId: string,
  seconds: number,
  batchSize: number,
) {
  // Waits are due at once: the engine's clock is a day ahead.
  const now = new Date(Date.now() + 86_400_000);
  const durations: number[] = [];
  let steps = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    const r = await stepCampaignBatch(db, workspaceId, campaignId, { batchSize, now });
    // Every member done before the window ends: the batches measured are all there are.
    if (r.claimed === 0) break;
    durations.push(performance.now() - started);
    steps += r.moved;
    // A worker's pace, not a tight loop: the engine shares the machine with the API as in production.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { durations, steps };
}

export async function main(args: string[]) {
  const contacts = argValue(args, "--contacts", 1_000_000);
  const outdatedShare = argValue(args, "--outdated", 0.2);
  const seconds = argValue(args, "--seconds", 20);
  const rate = argValue(args, "--rate", 200);
  const engineMembers = argValue(args, "--engine-members", 100_000);
  const windows = argValue(args, "--windows", 3);
  const stepBatch = argValue(args, "--step-batch", 200);
  const actionIndex = args.indexOf("--action");
  const action = (actionIndex >= 0 ? args[actionIndex + 1] : "delete") as "delete" | "anonymise" | "archive";

  const bench = await benchDatabase("cleanup");
  const handle = openDatabase(bench.url, { poolSize: 12 });
  const { db } = handle;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-bench-cleanup-"));
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    // The workspace to clean: contacts created 400 days ago; the engaged ones viewed a page in the last
    // 20 days, the outdated ones last did 300 days ago.
    const created = await createWorkspace(db, { name: "Cleanup bench", defaultTimezone: "UTC" });
    const ws = { id: created.workspace.id, defaultCountry: "US", defaultTimezone: "UTC" };
    const every = Math.round(1 / outdatedShare);
    console.error(`seeding ${contacts.toLocaleString()} contacts (1 in ${every} outdated) and their events…`);
    let seedStarted = performance.now();
    await sql`
      insert into contacts (workspace_id, id, external_id, email, first_name, last_name, email_consent,
                            created_at, updated_at)
      select ${ws.id}::uuid, gen_random_uuid(), g::text, 'person' || g || '@bench.example', 'First' || g,
             'Last' || g, 'subscribed', now() - interval '400 days', now() - interval '400 days'
      from generate_series(1, ${contacts}) g`.execute(db);
    await sql`
      insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
      select c.workspace_id, 'seed-' || c.external_id, c.id, 'page.viewed', '{"path": "/pricing"}',
             case when c.external_id::int % ${every} = 0 then now() - interval '300 days'
                  else now() - make_interval(secs => (c.external_id::int % 1728000)) end
      from contacts c where c.workspace_id = ${ws.id}`.execute(db);
    await sql`vacuum analyze`.execute(db);
    console.error(`  seeded in ${round((performance.now() - seedStarted) / 1000, 1)} s`);

    // The engine's campaign (in a workspace of its own), launched before the windows.
    seedStarted = performance.now();
    const engineWs = await newWorkspaceContext(db, "Engine");
    const { listId } = await seedContactsInList(db, engineWs.id, engineMembers);
    // As an import of that size does (imports/import.service.ts): launches are planned on fresh statistics.
    await sql`analyze contacts, list_members`.execute(db);
    const { workflowId } = await publishGraph(db, engineWs, PATH);
    // One campaign per window, so that each window steps members at the same points of their path.
    const campaigns: string[] = [];
    for (let i = 0; i < windows + 2; i++) {
      const campaign = await createCampaign(db, engineWs, {
        name: `window ${i}`,
        audienceId: listId,
        workflowId,
      });
      await launchCampaign(db, engineWs, campaign.id);
      campaigns.push(campaign.id);
    }
    console.error(
      `  engine: ${windows + 2} campaigns of ${engineMembers.toLocaleString()} members launched in ${round((performance.now() - seedStarted) / 1000, 1)} s`,
    );

    // The API, and what it reads: engaged contacts' profiles and the list's first page.
    app = await buildApp({
      deps: {
        // The load is one API key at a fixed rate above the API's per-key limit: no limit here.
        config: loadConfig({ PUBLIC_URL: "http://bench.omneural.test", API_RATE_LIMIT: "0" }),
        database: handle,
        jobsEnabled: false,
        keys: TEST_KEYS,
        responses: { record() {} },
      },
      logger: false,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const { rows: kept } = await sql<{ id: string }>`
      select id from contacts where workspace_id = ${ws.id} and external_id::int % ${every} <> 0
      order by random() limit 2000`.execute(db);
    const paths = kept.flatMap((r, i) =>
      i % 10 === 0 ? [`/api/v1/contacts?limit=50`, `/api/v1/contacts/${r.id}`] : [`/api/v1/contacts/${r.id}`],
    );
    const pathsFile = path.join(tmp, "paths.json");
    fs.writeFileSync(pathsFile, JSON.stringify(paths));
    // Warm-up: JIT, connection pools, caches.
    await load(apiUrl, pathsFile, rate, 3, created.apiKey);

    await putRetentionPolicy(db, ws, "outdated_prospects", {
      enabled: false,
      settings: { inactiveDays: 180, action },
      maxShare: 0.5,
    });
    const dry = await runRetentionPolicy(db, ws, "outdated_prospects", { dryRun: true });
    const expected = Object.values(dry.counts).reduce((a, b) => a + b, 0);
    console.error(`dry run: ${JSON.stringify(dry.counts)}`);

    const window = (campaignId: string) =>
      Promise.all([
        load(apiUrl, pathsFile, rate, seconds, created.apiKey),
        stepFor(db, engineWs.id, campaignId, seconds, stepBatch),
      ]);
    let nextCampaign = 0;

    // (baseline) no cleanup.
    console.error(`baseline window: ${seconds} s of API reads at ${rate}/s and engine steps…`);
    const quiet = [await window(campaigns[nextCampaign++]!)];

    // (cleanup) the same while the policy runs.
    console.error(`cleanup windows: the same while the policy's real run ${action}s the outdated contacts…`);
    let batches = 0;
    let lastReport = performance.now();
    const cleanupStarted = performance.now();
    let cleanupMs = 0;
    const cleanup = runRetentionPolicy(db, ws, "outdated_prospects", {
      dryRun: false,
      confirm: true,
      tombstoneKey: TEST_KEYS.tombstones,
      afterBatch: () => {
        batches++;
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          console.error(
            `  cleanup: ${batches} batches after ${round((lastReport - cleanupStarted) / 1000, 1)} s`,
          );
        }
      },
    }).then((run) => {
      cleanupMs = performance.now() - cleanupStarted;
      return run;
    });
    const busy: Awaited<ReturnType<typeof window>>[] = [];
    let windowCovered = true;
    while (busy.length < windows && cleanupMs === 0) {
      const measured = await window(campaigns[nextCampaign++]!);
      if (cleanupMs !== 0) {
        // The cleanup ended inside this window: a partial window is not counted (unless it is the only one).
        if (busy.length === 0) {
          busy.push(measured);
          windowCovered = false;
        }
        break;
      }
      busy.push(measured);
    }
    const run = await cleanup;
    console.error(`baseline window after the cleanup…`);
    quiet.push(await window(campaigns[nextCampaign++]!));
    const done = Object.values(run.counts).reduce((a, b) => a + b, 0);
    const rowsPerSecond = done / (cleanupMs / 1000);
    const { rows: left } = await sql<{ n: number }>`
      select count(*)::int as n from contacts where workspace_id = ${ws.id}
        and external_id::int % ${every} = 0 and archived_at is null and anonymised_at is null`.execute(db);

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs: number[]) => percentile(xs, 50);
    const apiQuiet = {
      p99Ms: mean(quiet.map(([api]) => api.p99Ms)),
      p50Ms: mean(quiet.map(([api]) => api.p50Ms)),
    };
    const apiBusy = {
      p99Ms: median(busy.map(([api]) => api.p99Ms)),
      p50Ms: median(busy.map(([api]) => api.p50Ms)),
    };
    const failed = [...quiet, ...busy].reduce((n, [api]) => n + api.failed, 0);
    const engineQuietP99 = mean(quiet.map(([, engine]) => percentile(engine.durations, 99)));
    const engineBusyP99 = median(busy.map(([, engine]) => percentile(engine.durations, 99)));
    const engineQuietSteps = mean(quiet.map(([, engine]) => engine.steps));
    const engineBusySteps = median(busy.map(([, engine]) => engine.steps));
    console.error(
      `windows: API p99 ${quiet.map(([api]) => api.p99Ms).join(", ")} ms without cleanup, ${busy.map(([api]) => api.p99Ms).join(", ")} during it; engine p99 ${quiet.map(([, e]) => round(percentile(e.durations, 99), 1)).join(", ")} ms without, ${busy.map(([, e]) => round(percentile(e.durations, 99), 1)).join(", ")} during`,
    );
    const apiRatio = apiBusy.p99Ms / Math.max(apiQuiet.p99Ms, 1);
    const engineRatio = engineBusyP99 / engineQuietP99;
    console.error(
      `cleanup: ${done.toLocaleString()} contacts (${JSON.stringify(run.counts)}) in ${round(cleanupMs / 1000, 1)} s = ${Math.round(rowsPerSecond).toLocaleString()}/s, ${run.batches} batches; dry run said ${expected.toLocaleString()}; outdated contacts left: ${left[0]!.n}`,
    );
    console.error(
      `API reads at ${rate}/s: p99 ${apiQuiet.p99Ms} ms without cleanup, ${apiBusy.p99Ms} ms during it (${round(apiRatio, 2)}×); p50 ${apiQuiet.p50Ms} → ${apiBusy.p50Ms} ms; failed ${failed}`,
    );
    console.error(
      `engine step batches of ${stepBatch}: p99 ${round(engineQuietP99, 1)} ms without cleanup, ${round(engineBusyP99, 1)} ms during it (${round(engineRatio, 2)}×); ${Math.round(engineQuietSteps).toLocaleString()} → ${Math.round(engineBusySteps).toLocaleString()} member-steps in ${seconds} s`,
    );
    if (!windowCovered)
      console.error("!! the cleanup ended before the window did: raise --contacts or lower --seconds");
    const correct = done === expected && left[0]!.n === 0 && failed === 0;
    printReport({
      bench: "cleanup",
      figures: {
        cleanupContactsPerSecond: Math.round(rowsPerSecond),
        cleanedContacts: done,
        apiP99MsDuringCleanup: round(apiBusy.p99Ms, 1),
        engineStepP99MsDuringCleanup: round(engineBusyP99, 1),
        engineStepsDuringCleanup: Math.round(engineBusySteps),
        cleanupWindows: busy.length,
      },
      baselines: {
        dryRunCount: expected,
        apiP99Ms: round(apiQuiet.p99Ms, 1),
        engineStepP99Ms: round(engineQuietP99, 1),
        engineSteps: Math.round(engineQuietSteps),
      },
      ratios: { apiP99: round(apiRatio, 3), engineStepP99: round(engineRatio, 3) },
      goals: { apiP99: "< 1.2", engineStepP99: "< 1.2" },
      met: apiRatio < 1.2 && engineRatio < 1.2 && correct && windowCovered,
    });
  } finally {
    await app?.close();
    await handle.close();
    await bench.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
