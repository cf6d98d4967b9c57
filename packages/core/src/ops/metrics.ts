/**
 * Prometheus metrics of this process (`GET /metrics`; docs/deploy.md, "Metrics"). Counters are this
 * process's own (HTTP requests, member-steps, dispatch outcomes); the gauges read the installation's
 * state from the database at each scrape (job queue, due journey members, queued messages), so any one
 * process shows them. No metric carries a workspace, contact or address.
 */

import { sql } from "kysely";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Db } from "../db/database.ts";

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpDuration = new Histogram({
  name: "omneural_http_request_duration_seconds",
  help: "HTTP requests by method, route (its pattern) and status code",
  labelNames: ["method", "route", "status"],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const memberSteps = new Counter({
  name: "omneural_engine_member_steps_total",
  help: "Journey members moved by this process's engine",
  registers: [registry],
});

export const dispatchOutcomes = new Counter({
  name: "omneural_dispatch_messages_total",
  help: "Messages this process's dispatcher handled, by channel and outcome (sent, retried, deferred, failed, skipped)",
  labelNames: ["channel", "outcome"],
  registers: [registry],
});

export const cacheLookups = new Counter({
  name: "omneural_cache_lookups_total",
  help: "Cache lookups by cache (api_keys, workspaces, compiled_templates, workflow_versions, short_links) and result (hit, miss); hit rate = hits / all",
  labelNames: ["cache", "result"],
  registers: [registry],
});

export const circuitOpen = new Gauge({
  name: "omneural_provider_circuit_open",
  help: "1 while this process's circuit breaker holds a channel's provider back after repeated failures",
  labelNames: ["channel"],
  registers: [registry],
});

/** The database the gauges read (the process's own handle; the last one set wins). */
let source: Db | undefined;
export function readGaugesFrom(db: Db | undefined) {
  source = db;
}

interface QueueState {
  jobs: number;
  jobsLag: number;
  due: number;
  dueLag: number;
  queued: { channel: string; n: number }[];
}

/** One round trip per scrape, shared by the gauges below. */
let pending: Promise<QueueState | undefined> | undefined;
function queueState(): Promise<QueueState | undefined> {
  if (!source) return Promise.resolve(undefined);
  pending ??= (async () => {
    try {
      const { rows } = await sql<{
        jobs: number;
        jobs_lag: number | null;
        due: number;
        due_lag: number | null;
        queued: { channel: string; n: number }[] | null;
      }>`
        select
          (select count(*)::int from graphile_worker.jobs where locked_at is null and run_at <= now()
             and attempts < max_attempts) as jobs,
          (select extract(epoch from now() - min(run_at))::float8 from graphile_worker.jobs
             where locked_at is null and run_at <= now() and attempts < max_attempts) as jobs_lag,
          (select count(*)::int from enrollments where state = 'active' and due_at <= now()) as due,
          (select extract(epoch from now() - min(due_at))::float8 from enrollments
             where state = 'active' and due_at <= now()) as due_lag,
          (select json_agg(json_build_object('channel', channel, 'n', n)) from (
             select channel, count(*)::int as n from messages where status = 'queued' group by channel) q) as queued`.execute(
        source!,
      );
      const r = rows[0]!;
      return {
        jobs: r.jobs,
        jobsLag: r.jobs_lag ?? 0,
        due: r.due,
        dueLag: r.due_lag ?? 0,
        queued: r.queued ?? [],
      };
    } catch {
      return undefined;
    } finally {
      setImmediate(() => {
        pending = undefined;
      });
    }
  })();
  return pending;
}

const gauge = (name: string, help: string, read: (s: QueueState) => number) =>
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const state = await queueState();
      if (state) this.set(read(state));
    },
  });

gauge("omneural_jobs_waiting", "Background jobs due and not taken by a worker", (s) => s.jobs);
gauge("omneural_jobs_lag_seconds", "How long the oldest job due has waited for a worker", (s) => s.jobsLag);
gauge(
  "omneural_enrollments_due",
  "Journey members due for their next step and not yet moved (due but unclaimed)",
  (s) => s.due,
);
gauge(
  "omneural_enrollments_due_lag_seconds",
  "How long the longest-waiting due journey member has waited",
  (s) => s.dueLag,
);
new Gauge({
  name: "omneural_messages_queued",
  help: "Messages in the send ledger waiting to be sent, by channel",
  labelNames: ["channel"],
  registers: [registry],
  async collect() {
    const state = await queueState();
    if (!state) return;
    this.reset();
    for (const { channel, n } of state.queued) this.set({ channel }, n);
  },
});
