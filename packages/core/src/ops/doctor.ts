/**
 * `omneural doctor`: checks what an installation needs and says what to fix. It reads, connects and
 * asks; it changes nothing (no migration, no cluster created, no message sent).
 *
 * Checks, in order: the configuration; Node.js; the database (reachable, version, migrations, the clock
 * beside this machine's, connections, the coming months' event partitions, work waiting for a worker);
 * the secret key and PUBLIC_URL for the providers in use; Redis; the SMTP server; the HTTP providers
 * (Twilio, Lob); the print-batch directory.
 */
import fs from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import nodemailer from "nodemailer";
import pg from "pg";
import { type Config, ConfigError, loadConfig } from "../config/config.ts";
import { openEmbeddedCluster, withDatabase } from "../db/embedded-cluster.ts";
import { pendingMigrations } from "../db/migrate.ts";
import { redactUrl } from "../shared/logger.ts";

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warning or failure. */
  fix?: string;
}

export interface DoctorOptions {
  /** The database of the embedded cluster that `omneural start` uses. */
  embeddedDatabase: string;
  /** This machine's clock (tests move it). */
  now?: () => Date;
  /** Per network check. Default 3 s. */
  timeoutMs?: number;
}

const MIN_NODE = [20, 19];
const MIN_POSTGRES = 150000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const message = (error: unknown) => {
  const e = error as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(": ") || String(error);
};

const isLocal = (url: string) => /^https?:\/\/(localhost|127\.|\[::1\]|0\.0\.0\.0)/i.test(url);

export async function runDoctor(env: Record<string, string | undefined>, options: DoctorOptions) {
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? 3000;
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);

  let config: Config;
  try {
    config = loadConfig(env);
    add({ name: "configuration", status: "ok", detail: "every variable is valid" });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    add({
      name: "configuration",
      status: "fail",
      detail: error.message,
      fix: "correct that variable (docs/configuration.md lists them all); the other checks need a valid configuration",
    });
    return checks;
  }

  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  add(
    major > MIN_NODE[0]! || (major === MIN_NODE[0] && minor >= MIN_NODE[1]!)
      ? { name: "node", status: "ok", detail: `Node.js ${process.versions.node}` }
      : {
          name: "node",
          status: "fail",
          detail: `Node.js ${process.versions.node} is older than ${MIN_NODE.join(".")}`,
          fix: `install Node.js ${MIN_NODE.join(".")} or newer`,
        },
  );

  await checkDatabase(config, options.embeddedDatabase, add, now);
  checkKeysAndUrls(config, add);
  await checkRedis(config, add, timeoutMs);
  await checkSmtp(config, add, timeoutMs);
  for (const [name, url] of [
    ["twilio", config.twilioUrl],
    ["lob", config.lobUrl],
  ] as const) {
    await checkHttpProvider(name, url, add, timeoutMs);
  }
  if (config.printBatchDir) {
    try {
      fs.mkdirSync(config.printBatchDir, { recursive: true });
      fs.accessSync(config.printBatchDir, fs.constants.W_OK);
      add({ name: "print batches", status: "ok", detail: `${config.printBatchDir} is writable` });
    } catch (error) {
      add({
        name: "print batches",
        status: "fail",
        detail: `${config.printBatchDir}: ${message(error)}`,
        fix: "make PRINT_BATCH_DIR a directory the worker can write",
      });
    }
  }
  return checks;
}

async function checkDatabase(
  config: Config,
  embeddedDatabase: string,
  add: (c: Check) => void,
  now: () => Date,
) {
  let url = config.databaseUrl;
  let where = url ? redactUrl(url) : "";
  if (!url) {
    if (!fs.existsSync(path.join(config.dataDir, "cluster.json"))) {
      add({
        name: "database",
        status: "warn",
        detail: `DATABASE_URL is unset and ${config.dataDir} has no embedded PostgreSQL yet`,
        fix: "`omneural start` creates and starts it; or set DATABASE_URL to a PostgreSQL 15+ database",
      });
      return;
    }
    try {
      const cluster = await openEmbeddedCluster({
        dataDir: config.dataDir,
        startIfStopped: false,
        log: { info: () => undefined, warn: () => undefined },
      });
      url = withDatabase(cluster.url, embeddedDatabase);
      where = `the embedded PostgreSQL of ${config.dataDir}`;
    } catch (error) {
      add({ name: "database", status: "warn", detail: message(error), fix: "run `omneural start`" });
      return;
    }
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    add({
      name: "database",
      status: "fail",
      detail: `cannot connect to ${where}: ${message(error)}`,
      fix: "check DATABASE_URL (host, port, user, password, database) and that PostgreSQL is running",
    });
    return;
  }
  try {
    const { rows } = await client.query<{
      version: string;
      num: string;
      at: Date;
      max: string;
      used: string;
    }>(
      `select current_setting('server_version') as version, current_setting('server_version_num') as num,
              clock_timestamp() as at, current_setting('max_connections') as max,
              (select count(*) from pg_stat_activity) as used`,
    );
    const info = rows[0]!;
    add(
      Number(info.num) >= MIN_POSTGRES
        ? { name: "database", status: "ok", detail: `PostgreSQL ${info.version} at ${where}` }
        : {
            name: "database",
            status: "fail",
            detail: `PostgreSQL ${info.version} at ${where} is older than 15`,
            fix: "upgrade to PostgreSQL 15 or newer",
          },
    );

    const skewMs = Math.abs(now().getTime() - info.at.getTime());
    add(
      skewMs <= 2000
        ? { name: "clock", status: "ok", detail: `this machine and the database agree within ${skewMs} ms` }
        : {
            name: "clock",
            status: skewMs > 30_000 ? "fail" : "warn",
            detail: `this machine's clock is ${(skewMs / 1000).toFixed(1)} s away from the database's`,
            fix: "run NTP (chrony, systemd-timesyncd) on every machine: waits, quiet hours and schedules use both clocks",
          },
    );

    const pending = await pendingMigrations((sql) => client.query(sql));
    add(
      pending.length === 0
        ? { name: "migrations", status: "ok", detail: "every migration is applied" }
        : {
            name: "migrations",
            status: "warn",
            detail: `${pending.length} not applied: ${pending.slice(0, 3).join(", ")}${pending.length > 3 ? ", …" : ""}`,
            fix: "run `omneural migrate` (every role also migrates when it starts)",
          },
    );

    const perProcess = config.databasePoolSize + config.workerConcurrency + 2;
    const max = Number(info.max);
    add(
      perProcess * 4 <= max
        ? {
            name: "connections",
            status: "ok",
            detail: `${info.used} of ${max} in use; a worker process opens up to ${perProcess}`,
          }
        : {
            name: "connections",
            status: "warn",
            detail: `max_connections is ${max}: four processes of up to ${perProcess} connections each would not fit`,
            fix: "raise max_connections, lower DATABASE_POOL_SIZE, or put PgBouncer (transaction mode) in front",
          },
    );

    if (!pending.length) await checkWaitingWork(client, add);
  } catch (error) {
    add({ name: "database", status: "fail", detail: `a query failed: ${message(error)}` });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Work that only a worker does: months of events partitions, members due, jobs waiting. */
async function checkWaitingWork(client: pg.Client, add: (c: Check) => void) {
  const { rows: parts } = await client.query<{ missing: number }>(
    `select count(*)::int as missing from generate_series(0, 1) i
     where to_regclass('events_' || to_char((omneural_month_start(now()) + make_interval(months => i)) at time zone 'UTC', 'YYYY_MM')) is null`,
  );
  add(
    parts[0]!.missing === 0
      ? { name: "event partitions", status: "ok", detail: "this month's and next month's exist" }
      : {
          name: "event partitions",
          status: "warn",
          detail: "this month's or next month's partition of events is missing: events go to events_default",
          fix: "run a worker (`omneural worker` or `omneural start`): it creates them at start and daily",
        },
  );
  const { rows } = await client.query<{ members: number; jobs: number }>(
    `select (select count(*)::int from enrollments e join campaigns c
               on c.workspace_id = e.workspace_id and c.id = e.campaign_id
             where e.state = 'active' and c.status = 'running' and e.due_at < now() - interval '5 minutes') as members,
            (select count(*)::int from graphile_worker.jobs
             where run_at < now() - interval '5 minutes' and locked_at is null and attempts < max_attempts) as jobs`,
  );
  const { members, jobs } = rows[0]!;
  add(
    members === 0 && jobs === 0
      ? { name: "workers", status: "ok", detail: "no journey step or job has waited more than 5 minutes" }
      : {
          name: "workers",
          status: "warn",
          detail: `${members} journey members and ${jobs} jobs have been due for more than 5 minutes`,
          fix: "start a worker (`omneural worker`), or add workers if the ones running cannot keep up",
        },
  );
}

function checkKeysAndUrls(config: Config, add: (c: Check) => void) {
  add(
    config.secretKey || !config.databaseUrl
      ? {
          name: "secret key",
          status: "ok",
          detail: config.secretKey
            ? "SECRET_KEY is set"
            : `kept in ${path.join(config.dataDir, "secret.key")} (one machine)`,
        }
      : {
          name: "secret key",
          status: "warn",
          detail: "SECRET_KEY is unset: this process keeps a key of its own in its data directory",
          fix: "set the same SECRET_KEY (32+ random characters) for every process of the installation, or links signed by one process fail on another",
        },
  );
  const real = [
    config.smtpUrl && "SMTP_URL",
    config.twilioUrl && "TWILIO_URL",
    config.lobUrl && "LOB_URL",
  ].filter(Boolean);
  if (!real.length) {
    add({
      name: "public url",
      status: "ok",
      detail: `${config.publicUrl} (no real provider: messages go to the dev inbox)`,
    });
  } else if (isLocal(config.publicUrl) || config.publicUrl.startsWith("http:")) {
    add({
      name: "public url",
      status: "warn",
      detail: `${real.join(", ")} ${real.length > 1 ? "are" : "is"} set but PUBLIC_URL is ${config.publicUrl}: links in real messages would ${isLocal(config.publicUrl) ? "point at this machine" : "not use HTTPS"}`,
      fix: "set PUBLIC_URL to the public HTTPS address of the tracking endpoints",
    });
  } else {
    add({ name: "public url", status: "ok", detail: config.publicUrl });
  }
}

async function checkRedis(config: Config, add: (c: Check) => void, timeoutMs: number) {
  if (!config.redisUrl) {
    add({
      name: "redis",
      status: "ok",
      detail: "REDIS_URL is unset: provider rate limits are kept per process",
    });
    return;
  }
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  redis.on("error", () => undefined);
  try {
    await withTimeout(redis.connect(), timeoutMs, "connect");
    const started = performance.now();
    await withTimeout(redis.ping(), timeoutMs, "PING");
    add({
      name: "redis",
      status: "ok",
      detail: `${redactUrl(config.redisUrl)} answers PING in ${(performance.now() - started).toFixed(1)} ms`,
    });
  } catch (error) {
    add({
      name: "redis",
      status: "fail",
      detail: `${redactUrl(config.redisUrl)}: ${message(error)}`,
      fix: "start Redis or correct REDIS_URL (or unset it: rate limits are then kept per process)",
    });
  } finally {
    redis.disconnect();
  }
}

async function checkSmtp(config: Config, add: (c: Check) => void, timeoutMs: number) {
  if (!config.smtpUrl) {
    add({ name: "smtp", status: "ok", detail: "SMTP_URL is unset: email goes to the dev inbox" });
    return;
  }
  // The same reading of SMTP_URL as the email channel's (delivery/email-channel.ts).
  const url = new URL(config.smtpUrl);
  const secure = url.protocol === "smtps:";
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    await withTimeout(transport.verify(), timeoutMs * 2, "SMTP");
    add({
      name: "smtp",
      status: "ok",
      detail: `${redactUrl(config.smtpUrl)} accepts a connection and login`,
    });
  } catch (error) {
    add({
      name: "smtp",
      status: "fail",
      detail: `${redactUrl(config.smtpUrl)}: ${message(error)}`,
      fix: "check SMTP_URL's host, port, user and password (smtps:// for port 465)",
    });
  } finally {
    transport.close();
  }
}

/** Any HTTP answer means the provider is reachable; credentials are checked when something is sent. */
async function checkHttpProvider(
  name: string,
  url: string | undefined,
  add: (c: Check) => void,
  timeoutMs: number,
) {
  if (!url) return;
  const u = new URL(url);
  const shown = redactUrl(url).replace(/\/\/[^@/]*@/, "//***@");
  u.username = "";
  u.password = "";
  try {
    const res = await fetch(u, { method: "GET", signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.body?.cancel();
    add({ name, status: "ok", detail: `${shown} answers (HTTP ${res.status})` });
  } catch (error) {
    add({
      name,
      status: "fail",
      detail: `${shown}: ${message((error as { cause?: unknown }).cause ?? error)}`,
      fix: `check ${name.toUpperCase()}_URL and that this machine can reach it`,
    });
  }
}

const MARK: Record<CheckStatus, string> = { ok: "✓", warn: "!", fail: "✗" };

/** The report as the CLI prints it. */
export function formatDoctor(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => [
    `  ${MARK[c.status]} ${c.name.padEnd(width)}  ${c.detail}`,
    ...(c.fix && c.status !== "ok" ? [`    ${" ".repeat(width)}  fix: ${c.fix}`] : []),
  ]);
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const warnings = count("warn");
  const failures = count("fail");
  lines.push(
    "",
    `${count("ok")} passed, ${warnings} warning${warnings === 1 ? "" : "s"}, ${failures} failure${failures === 1 ? "" : "s"}`,
  );
  return `${lines.join("\n")}\n`;
}
