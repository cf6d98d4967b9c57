/** The worker role: the journey engine's stepper, and graphile-worker running jobs and the cron schedule. */

import { runCampaignSchedule } from "@omneural/core/campaigns/schedule.service";
import type { Config } from "@omneural/core/config/config";
import { type DatabaseHandle, openJobQueuePool } from "@omneural/core/db/database";
import { startDispatcher } from "@omneural/core/delivery/dispatcher";
import { channelsFor, printBatchSettingsFor } from "@omneural/core/delivery/email-channel";
import { startStepper } from "@omneural/core/engine/stepper";
import { ensureEventPartitions } from "@omneural/core/events/partitions";
import { recoverStalledImports } from "@omneural/core/imports/import.service";
import { buildTaskList, crontabFor } from "@omneural/core/jobs/tasks";
import { readGaugesFrom } from "@omneural/core/ops/metrics";
import { startReportFolder } from "@omneural/core/reports/report.service";
import type { Keys } from "@omneural/core/security/keys";
import type { Logger } from "@omneural/core/shared/logger";
import Fastify from "fastify";
import { type Runner, run, Logger as WorkerLogger } from "graphile-worker";
import { serveMetrics } from "../http/metrics.ts";

export interface WorkerRole {
  stop(): Promise<void>;
}

/** Routes graphile-worker's logs to pino; its per-job INFO lines become debug. */
function workerLogger(log: Logger) {
  return new WorkerLogger((scope) => (level, message, meta) => {
    const fields = { ...scope, ...(meta ?? {}) };
    if (level === "error") log.error(fields, message);
    else if (level === "warning") log.warn(fields, message);
    else log.debug(fields, message);
  });
}

export async function startWorker(
  config: Config,
  database: DatabaseHandle,
  keys: Keys,
  log: Logger,
): Promise<WorkerRole> {
  const recovered = await recoverStalledImports(database.db);
  if (recovered.length) log.warn({ imports: recovered }, "requeued imports abandoned by a stopped worker");
  // The coming months' partitions of events, in case no worker ran on the days the cron would have.
  const partitions = await ensureEventPartitions(database.db);
  if (partitions) log.info({ partitions }, "created monthly partitions of events");
  // Catch up at once on campaigns due to start or end while no worker ran; cron takes over from here.
  const schedule = await runCampaignSchedule(database.db);
  if (schedule.started.length || schedule.ended.length) log.info(schedule, "caught up on campaign schedules");
  // Direct mail by print batch: the daily cut-off job writes each workspace's batch.
  const printBatch = printBatchSettingsFor(config);
  const jobsPool = openJobQueuePool(database.url, config.workerConcurrency + 2);
  const runner: Runner = await run({
    pgPool: jobsPool,
    concurrency: config.workerConcurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: buildTaskList(database, { printBatch, tombstoneKey: keys.tombstones }),
    crontab: crontabFor({ printBatch }),
    logger: workerLogger(log.child({ role: "worker" })),
  });
  const stepper = startStepper(database.db, {
    batchSize: config.stepperBatchSize,
    logger: log.child({ role: "stepper" }),
  });
  const channels = channelsFor(config, database.db);
  const dispatcher = startDispatcher(database.db, {
    channels,
    links: { publicUrl: config.publicUrl, key: keys.links },
    credentialsKey: keys.credentials,
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    adsAllowHosts: config.adsAllowHosts,
    logger: log.child({ role: "dispatcher" }),
    maxPerSecond: { email: config.emailMaxPerSecond, sms: config.smsMaxPerSecond },
  });
  const reportFolder = startReportFolder(database.db, { logger: log.child({ role: "reports" }) });
  log.info(
    {
      concurrency: config.workerConcurrency,
      stepperBatchSize: config.stepperBatchSize,
      email: channels.email.provider,
      sms: channels.sms?.provider,
      webhook: channels.webhook?.provider,
      mail: channels.mail?.provider,
      ...(printBatch ? { printBatchCutoffUtc: printBatch.cutoff } : {}),
    },
    "worker started",
  );
  return {
    async stop() {
      await stepper.stop();
      await dispatcher.stop();
      await reportFolder.stop();
      await runner.stop();
      await jobsPool.end();
    },
  };
}

/**
 * A worker-only process has no HTTP server: with METRICS_PORT set it serves /metrics (its engine and
 * dispatcher counters, the installation's queue gauges) and /healthz there.
 */
export async function startMetricsServer(config: Config, database: DatabaseHandle, log: Logger) {
  const app = Fastify({ logger: false });
  readGaugesFrom(database.db);
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/metrics", (request, reply) => serveMetrics(request, reply, config.metricsToken));
  await app.listen({ host: config.host, port: config.metricsPort ?? 0 });
  log.info({ port: config.metricsPort }, "metrics served on /metrics");
  return { stop: () => app.close() };
}
