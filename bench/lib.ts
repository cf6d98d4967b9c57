/** Shared benchmark plumbing: a database server to measure on, and the report format. */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type EmbeddedCluster, openEmbeddedCluster, withDatabase } from "@omneural/core/db/embedded-cluster";
import { migrate, migrateJobQueue } from "@omneural/core/db/migrate";
import pg from "pg";

export interface BenchDatabase {
  url: string;
  serverUrl: string;
  close(): Promise<void>;
}

/** A fresh database on DATABASE_URL's server, or on an embedded PostgreSQL with default settings. */
export async function benchDatabase(name: string): Promise<BenchDatabase> {
  let cluster: EmbeddedCluster | undefined;
  let dataDir: string | undefined;
  let serverUrl: string;
  if (process.env.DATABASE_URL) {
    serverUrl = withDatabase(process.env.DATABASE_URL, "postgres");
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-bench-"));
    fs.chmodSync(dataDir, 0o755);
    cluster = await openEmbeddedCluster({
      dataDir,
      own: true,
      log: { info: () => undefined, warn: (m) => console.error(m) },
    });
    serverUrl = cluster.url;
    // An interrupted bench must not leave its PostgreSQL running.
    const started = cluster;
    const dir = dataDir;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        void started.stop().finally(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          process.exit(130);
        });
      });
    }
  }
  const database = `omneural_bench_${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${database}`);
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = withDatabase(serverUrl, database);
  await migrate(url);
  await migrateJobQueue(url);
  return {
    url,
    serverUrl,
    async close() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists ${database} with (force)`);
      await client.end();
      await cluster?.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface BenchReport {
  bench: string;
  figures: Record<string, number>;
  baselines: Record<string, number>;
  ratios: Record<string, number>;
  goals: Record<string, string>;
  met: boolean;
}

export function printReport(report: BenchReport) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

export function argValue(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i === -1) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
  return value;
}

export const round = (n: number, digits = 0) => Number(n.toFixed(digits));

/** What bench/tracking-load.ts reports of one autocannon run. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ok: number;
  status4xx: number;
  status5xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** The load generator's CPU per answered request (µs). */
  cpuMicrosPerRequest: number;
}

/**
 * autocannon in its own process (bench/tracking-load.ts), so that the load generator does not share an
 * event loop with the server it measures: `requests` GETs of the paths in `pathsFile` over `connections`.
 */
export async function runTrackingLoad(url: string, pathsFile: string, requests: number, connections: number) {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(path.dirname(fileURLToPath(import.meta.url)), "tracking-load.ts"),
      url,
      pathsFile,
      String(requests),
      String(connections),
    ],
    { maxBuffer: 10 * 1024 * 1024 },
  );
  if (stderr.trim()) process.stderr.write(stderr);
  return JSON.parse(stdout.trim().split("\n").pop()!) as LoadResult;
}
