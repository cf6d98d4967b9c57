/** The `omneural` command line: every role and the one-off administration commands. */
import fs from "node:fs";
import path from "node:path";
import { definitionsJsonSchema } from "@omneural/contracts/definitions";
import { auditCliChanges, type CliChange } from "@omneural/core/audit/cli-audit.service";
import { type Config, ConfigError, loadConfig } from "@omneural/core/config/config";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { Executor } from "@omneural/core/db/database";
import {
  applyDefinitions,
  exportDefinitions,
  formatPlanEntry,
} from "@omneural/core/definitions/definition.service";
import {
  formatProblem,
  readDefinitionFile,
  writeDefinitionFile,
} from "@omneural/core/definitions/definition-file";
import {
  type ProviderAcceptance,
  parseProviderLog,
  reconciliationSummary,
} from "@omneural/core/delivery/reconcile";
import { reconcileLedger } from "@omneural/core/delivery/reconcile.service";
import { getImport, parseMappingParam, receiveImport } from "@omneural/core/imports/import.service";
import { runImportInThread } from "@omneural/core/imports/import-runner";
import { formatDoctor, runDoctor } from "@omneural/core/ops/doctor";
import { AppError } from "@omneural/core/shared/errors";
import { createLogger, type Logger } from "@omneural/core/shared/logger";
import { findWorkspace, listWorkspaces } from "@omneural/core/workspaces/workspace.repository";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import cliProgress from "cli-progress";
import { Command, Option } from "commander";
import { type DemoOptions, MIN_WAIT_SECONDS, runDemo } from "./demo.ts";
import { startApi } from "./roles/api.ts";
import { startTracking } from "./roles/tracking.ts";
import { startMetricsServer, startWorker } from "./roles/worker.ts";
import { EMBEDDED_DATABASE, openRuntime, type Runtime } from "./runtime.ts";

const program = new Command();

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`omneural: invalid configuration: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/**
 * The audit entries of a command that changed data (docs/audit-log.md): a failure to write them is
 * logged, and does not undo or fail the command.
 */
async function auditCli(log: Logger, db: Executor, workspaceId: string, changes: readonly CliChange[]) {
  try {
    await auditCliChanges(db, workspaceId, changes);
  } catch (error) {
    log.error({ err: error }, "the audit entry of this command could not be written");
  }
}

/** Logs of one-off commands go to stderr so that stdout carries only the command's output. */
function commandLogger(config: Config): Logger {
  return createLogger({
    level: process.env.LOG_LEVEL ? config.logLevel : "warn",
    format: config.logFormat === "json" ? "json" : "pretty",
    name: "omneural",
    destination: 2,
  });
}

function fail(message: string, code = 1): never {
  process.stderr.write(`omneural: ${message}\n`);
  process.exit(code);
}

/** Runs `body` with a runtime, and stops what it started. */
async function withRuntime<T>(
  config: Config,
  log: Logger,
  body: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  const runtime = await openRuntime(config, log, {
    startIfStopped: true,
    poolSize: 4,
    applicationName: "omneural-cli",
  });
  try {
    return await body(runtime);
  } finally {
    await runtime.close();
  }
}

function onShutdown(config: Config, log: Logger, stop: () => Promise<void>) {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn("second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error("shutdown timed out");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

interface Roles {
  /** The HTTP API (which also serves the tracking endpoints). */
  api: boolean;
  /** Only the tracking endpoints, without the API. */
  tracking?: boolean;
  worker: boolean;
}

function applicationName(roles: Roles): string {
  if (roles.api && roles.worker) return "omneural";
  if (roles.api) return "omneural-api";
  if (roles.tracking) return "omneural-tracking";
  return "omneural-worker";
}

interface Started {
  config: Config;
  runtime: Runtime;
  log: Logger;
  url: string;
}

async function runRoles(
  roles: Roles,
  own: boolean,
  afterStart?: (started: Started) => Promise<void>,
  options: { quiet?: boolean } = {},
) {
  const config = readConfig();
  // Quiet: warnings and errors only, unless LOG_LEVEL asks for more.
  const level = options.quiet && !process.env.LOG_LEVEL ? "warn" : config.logLevel;
  const log = createLogger({ level, format: config.logFormat });
  const started = Date.now();
  let runtime: Runtime;
  try {
    runtime = await openRuntime(config, log, {
      own,
      startIfStopped: own,
      poolSize: config.databasePoolSize,
      applicationName: applicationName(roles),
    });
  } catch (error) {
    log.fatal((error as Error).message);
    process.exit(1);
  }
  const worker = roles.worker ? await startWorker(config, runtime.database, runtime.keys, log) : undefined;
  const metrics =
    roles.worker && !roles.api && !roles.tracking && config.metricsPort
      ? await startMetricsServer(config, runtime.database, log)
      : undefined;
  const http = roles.api
    ? await startApi(config, runtime.database, runtime.keys, log)
    : roles.tracking
      ? await startTracking(config, runtime.database, runtime.keys, log)
      : undefined;
  onShutdown(config, log, async () => {
    // The HTTP server stops taking requests and its response writer empties before the database closes.
    await http?.stop();
    await metrics?.stop();
    await worker?.stop();
    await runtime.close();
  });
  const database = runtime.cluster ? `embedded PostgreSQL in ${config.dataDir}` : "DATABASE_URL";
  const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${config.port}`;
  if (roles.api) {
    log.info(
      { url, database, startupMs: Date.now() - started },
      `Omneural is running at ${url} (API docs: ${url}/api/docs)`,
    );
  } else if (roles.tracking) {
    log.info({ url, database, startupMs: Date.now() - started }, `tracking endpoints at ${url}`);
  } else {
    log.info({ database }, "worker running");
  }
  if (afterStart) {
    try {
      await afterStart({ config, runtime, log, url });
    } catch (error) {
      log.error({ err: error }, (error as Error).message);
    }
  }
}

program
  .name("omneural")
  .description(
    "Omneural: multi-channel marketing campaigns.\nConfiguration comes from environment variables: see docs/configuration.md.",
  )
  .version("0.1.0");

program
  .command("start")
  .description(
    "Run every role in one process (HTTP API with the tracking endpoints, and worker). Without DATABASE_URL, starts an embedded PostgreSQL.",
  )
  .action(() => runRoles({ api: true, worker: true }, true));

program
  .command("demo")
  .description(
    "Run every role like `start`, then create a demo workspace and run a whole campaign (an A/B test decided on clicks, a holdout, a purchase goal) on the dev-inbox providers, with time compressed and simulated recipients, showing progress and then a summary of its report.",
  )
  .option("--contacts <n>", "contacts in the demo audience", "2000")
  .option("--window-seconds <n>", "how long the A/B test runs before the others get the winner", "25")
  .option("--wait-seconds <n>", "how long members wait for a click", "25")
  .action((opts: { contacts: string; windowSeconds: string; waitSeconds: string }) => {
    const options: DemoOptions = {
      contacts: Number(opts.contacts),
      windowSeconds: Number(opts.windowSeconds),
      waitSeconds: Number(opts.waitSeconds),
    };
    if (!Number.isInteger(options.contacts) || options.contacts < 1 || options.contacts > 100_000) {
      fail("--contacts must be a whole number from 1 to 100000");
    }
    // The demo's recipients click no sooner than a person would (see READ_DELAY_SECONDS in demo.ts).
    for (const [flag, value] of [
      ["--window-seconds", options.windowSeconds],
      ["--wait-seconds", options.waitSeconds],
    ] as const) {
      if (!Number.isInteger(value) || value < MIN_WAIT_SECONDS || value > 3600) {
        fail(`${flag} must be a whole number from ${MIN_WAIT_SECONDS} to 3600`);
      }
    }
    return runRoles(
      { api: true, worker: true },
      true,
      ({ runtime, url }) => runDemo(runtime.database.db, runtime.keys, url, options),
      // The demo's own progress lines are what a person watches: a log line per request would bury them.
      { quiet: true },
    );
  });

program
  .command("api")
  .description(
    "Run only the HTTP API, with the tracking endpoints (for scale-out). Needs DATABASE_URL, or a running `omneural start` on the same data directory.",
  )
  .action(() => runRoles({ api: true, worker: false }, false));

program
  .command("tracking")
  .description(
    "Run only the tracking endpoints (open pixel, clicks, SMS short links, PURLs, unsubscribe), the provider webhooks (/hooks) and /healthz on PORT (for scale-out). Needs DATABASE_URL, or a running `omneural start`.",
  )
  .action(() => runRoles({ api: false, tracking: true, worker: false }, false));

program
  .command("worker")
  .description(
    "Run only the background worker (for scale-out). Needs DATABASE_URL, or a running `omneural start`.",
  )
  .action(() => runRoles({ api: false, worker: true }, false));

program
  .command("doctor")
  .description(
    "Check the configuration, database, migrations, clock, workers, Redis and providers, and say what to fix. Changes nothing. Exits 1 when a check fails.",
  )
  .option("--json", "print the checks as one JSON object")
  .action(async (opts: { json?: boolean }) => {
    const checks = await runDoctor(process.env, { embeddedDatabase: EMBEDDED_DATABASE });
    const failed = checks.some((c) => c.status === "fail");
    process.stdout.write(
      opts.json ? `${JSON.stringify({ ok: !failed, checks })}\n` : `omneural doctor\n${formatDoctor(checks)}`,
    );
    process.exit(failed ? 1 : 0);
  });

program
  .command("migrate")
  .description("Apply database migrations and exit.")
  .action(async () => {
    const config = readConfig();
    const log = commandLogger(config);
    await withRuntime(config, log, async () => undefined);
    process.stdout.write("migrations applied\n");
  });

const workspace = program.command("workspace").description("Manage workspaces.");

workspace
  .command("create")
  .description("Create a workspace and its first API key (the key is shown once).")
  .argument("<name>", "the workspace's name, e.g. the company")
  .option("--country <code>", "default country for phone numbers (ISO code)", "US")
  .option("--timezone <zone>", "default IANA timezone for contacts", "UTC")
  .option("--json", "print only a JSON object {workspaceId, apiKey}")
  .action(async (name: string, options: { country: string; timezone: string; json?: boolean }) => {
    const config = readConfig();
    const log = commandLogger(config);
    try {
      const created = await withRuntime(config, log, async (runtime) => {
        const made = await createWorkspace(runtime.database.db, {
          name,
          defaultCountry: options.country,
          defaultTimezone: options.timezone,
        });
        await auditCli(log, runtime.database.db, made.workspace.id, [
          { action: "workspace.create", objectId: made.workspace.id },
          { action: "api_key.create", objectId: made.apiKeyId },
        ]);
        return made;
      });
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ workspaceId: created.workspace.id, apiKey: created.apiKey })}\n`,
        );
      } else {
        process.stdout.write(
          [
            `Created workspace "${created.workspace.name}"`,
            `  workspace id: ${created.workspace.id}`,
            `  API key:      ${created.apiKey}`,
            "",
            "Keep the key safe: it is shown only once. Try it:",
            `  curl -H "Authorization: Bearer ${created.apiKey}" ${config.publicUrl}/api/v1/workspace`,
            "",
          ].join("\n"),
        );
      }
    } catch (error) {
      if (error instanceof AppError) fail(error.message, 2);
      throw error;
    }
  });

workspace
  .command("list")
  .description("List workspaces.")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }) => {
    const config = readConfig();
    const log = commandLogger(config);
    const rows = await withRuntime(config, log, (runtime) => listWorkspaces(runtime.database.db));
    if (options.json)
      process.stdout.write(`${JSON.stringify(rows.map((r) => ({ id: r.id, name: r.name })))}\n`);
    else if (!rows.length)
      process.stdout.write("No workspaces yet. Create one: omneural workspace create <name>\n");
    else for (const r of rows) process.stdout.write(`${r.id}  ${r.name}\n`);
  });

const importCommand = program.command("import").description("Import data.");

importCommand
  .command("contacts")
  .description("Import contacts from a CSV file, with a progress bar and a summary of rejected rows.")
  .argument("<file>", "CSV file (comma, semicolon or tab separated; UTF-8, UTF-16 or Windows-1252)")
  .requiredOption("--workspace <id>", "workspace id")
  .option("--mapping <json>", 'column mapping, e.g. {"E-Mail Adresse":"email","Kundennummer":"externalId"}')
  .option("--list <id>", "also add every imported contact to this static list")
  .option("--json", "print the final import as JSON")
  .addOption(new Option("--no-progress", "do not draw a progress bar"))
  .action(
    async (
      file: string,
      options: { workspace: string; mapping?: string; list?: string; json?: boolean; progress: boolean },
    ) => {
      const config = readConfig();
      const log = commandLogger(config);
      const filePath = path.resolve(file);
      if (!fs.existsSync(filePath) || !fs.statSync(filePath).isFile()) fail(`no such file: ${file}`, 66);
      if (!/^[0-9a-f-]{36}$/i.test(options.workspace))
        fail(`--workspace must be a workspace id (a UUID), got "${options.workspace}"`, 64);
      let mapping: Record<string, string> | undefined;
      try {
        mapping = parseMappingParam(options.mapping);
      } catch (error) {
        fail(`--mapping: ${(error as Error).message}`, 64);
      }
      const size = fs.statSync(filePath).size;
      await withRuntime(config, log, async (runtime) => {
        const { db } = runtime.database;
        const row = await findWorkspace(db, options.workspace);
        if (!row)
          fail(`workspace ${options.workspace} does not exist (list them with: omneural workspace list)`, 2);
        const ws: WorkspaceContext = {
          id: row.id,
          defaultCountry: row.default_country,
          defaultTimezone: row.default_timezone,
        };
        const showBar = options.progress && process.stderr.isTTY === true && !options.json;
        const bar = new cliProgress.SingleBar(
          {
            format: "{phase} [{bar}] {percentage}% | {rows} rows | {eta_formatted} left",
            stream: process.stderr,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        if (showBar) bar.start(size, 0, { phase: "uploading", rows: 0 });
        let received: Awaited<ReturnType<typeof receiveImport>>;
        try {
          received = await receiveImport(db, ws, {
            filename: path.basename(filePath),
            options: { ...(mapping ? { mapping } : {}), ...(options.list ? { listId: options.list } : {}) },
            source: fs.createReadStream(filePath, { highWaterMark: 1024 * 1024 }),
            maxBytes: Number.MAX_SAFE_INTEGER,
            enqueue: false,
          });
        } catch (error) {
          if (showBar) bar.stop();
          if (error instanceof AppError) fail(error.message, 65);
          throw error;
        }
        await auditCli(log, db, ws.id, [
          { action: "import.create", objectId: received.id, details: { listId: options.list ?? null } },
        ]);
        let lastLog = 0;
        await runImportInThread(runtime.database.url, ws.id, received.id, {
          tombstoneKey: runtime.keys.tombstones,
          onProgress: (p) => {
            if (showBar) bar.update(p.phase === "parsing" ? p.bytes : size, { phase: p.phase, rows: p.rows });
            else if (!options.json && Date.now() - lastLog > 2000) {
              lastLog = Date.now();
              process.stderr.write(
                `${p.phase}: ${p.rows} rows, ${Math.round((100 * p.bytes) / Math.max(1, p.totalBytes))}%\n`,
              );
            }
          },
        });
        if (showBar) bar.stop();
        const result = await getImport(db, ws, received.id, config.publicUrl);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
          const c = result.counts;
          const lines = [
            `Import ${result.id}: ${result.status}${result.error ? ` (${result.error})` : ""}`,
            `  rows read:          ${c.rows}`,
            `  contacts inserted:  ${c.inserted}`,
            `  contacts updated:   ${c.updated}`,
            `  merged duplicates:  ${c.mergedDuplicates}`,
            `  rows rejected:      ${c.rejected}`,
          ];
          if (result.detected) {
            lines.push(
              `  detected:           ${result.detected.encoding}, delimiter ${JSON.stringify(result.detected.delimiter)}`,
            );
            lines.push(
              `  columns:            ${result.detected.columns.map((col) => `${col.header} → ${col.target}`).join(", ")}`,
            );
          }
          for (const warning of result.detected?.warnings ?? [])
            lines.push(`  note:               ${warning}`);
          if (result.rejections.length) {
            lines.push("", "First rejected rows:");
            for (const r of result.rejections.slice(0, 10)) lines.push(`  line ${r.line}: ${r.reason}`);
            if (c.rejected > 10) lines.push(`  … and ${c.rejected - 10} more (GET ${result.rejectionsUrl})`);
          }
          process.stdout.write(`${lines.join("\n")}\n`);
        }
        if (result.status === "failed") process.exitCode = 1;
      });
    },
  );

// Campaigns as code (docs/campaigns-as-code.md) --------------------------------------------------------

/** Opens the runtime and finds the workspace of `--workspace`, or fails naming it. */
async function withWorkspace(
  workspaceId: string,
  body: (db: Runtime["database"]["db"], ws: WorkspaceContext) => Promise<void>,
) {
  if (!/^[0-9a-f-]{36}$/i.test(workspaceId))
    fail(`--workspace must be a workspace id (a UUID), got "${workspaceId}"`, 64);
  const config = readConfig();
  await withRuntime(config, commandLogger(config), async (runtime) => {
    const { db } = runtime.database;
    const row = await findWorkspace(db, workspaceId);
    if (!row) fail(`workspace ${workspaceId} does not exist (list them with: omneural workspace list)`, 2);
    await body(db, {
      id: row.id,
      defaultCountry: row.default_country,
      defaultTimezone: row.default_timezone,
    });
  });
}

program
  .command("apply")
  .description(
    "Create or update a workspace's templates, audiences, workflows and campaigns from a definitions file (idempotent by name); prints the plan. A file with an error changes nothing.",
  )
  .requiredOption("-f, --file <file>", "definitions file, YAML or JSON (see `omneural schema`)")
  .requiredOption("--workspace <id>", "workspace id")
  .option("--dry-run", "print the plan and change nothing")
  .action(async (options: { file: string; workspace: string; dryRun?: boolean }) => {
    const filePath = path.resolve(options.file);
    if (!fs.existsSync(filePath) || !fs.statSync(filePath).isFile())
      fail(`no such file: ${options.file}`, 66);
    const read = readDefinitionFile(fs.readFileSync(filePath, "utf8"), options.file);
    if (!read.ok) {
      process.stderr.write(`${read.problems.map(formatProblem).join("\n")}\n`);
      fail(`${options.file}: nothing was applied`, 65);
    }
    await withWorkspace(options.workspace, async (db, ws) => {
      const result = await applyDefinitions(db, ws, read.source, { dryRun: options.dryRun === true });
      if (!result.ok) {
        process.stderr.write(`${result.problems.map(formatProblem).join("\n")}\n`);
        fail(`${options.file}: nothing was applied`, 65);
      }
      const lines = result.plan.map(formatPlanEntry);
      const changes = result.plan.filter((entry) => entry.op !== "=").length;
      lines.push(
        result.dryRun
          ? `Dry run: ${changes} change(s) planned, nothing applied.`
          : `Applied: ${changes} change(s).`,
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    });
  });

program
  .command("export")
  .description(
    "Write a workspace's templates, audiences, workflows and campaigns to stdout, in the format `omneural apply` reads.",
  )
  .requiredOption("--workspace <id>", "workspace id")
  .addOption(new Option("--format <format>", "output format").choices(["yaml", "json"]).default("yaml"))
  .action(async (options: { workspace: string; format: "yaml" | "json" }) => {
    await withWorkspace(options.workspace, async (db, ws) => {
      process.stdout.write(writeDefinitionFile(await exportDefinitions(db, ws), options.format));
    });
  });

// Ledger reconciliation after a failover (docs/failover.md) -------------------------------------------

const ledger = program.command("ledger").description("The send ledger.");

ledger
  .command("reconcile")
  .description(
    "Compare a workspace's send ledger with a provider's log of accepted messages (after a database failover: docs/failover.md): messages delivered twice, accepted but missing from the ledger, re-created, or recorded sent but never accepted.",
  )
  .requiredOption("--workspace <id>", "workspace id")
  .requiredOption("--since <time>", "ISO 8601 time before the first message of the provider log")
  .option("--until <time>", "ISO 8601 end of the window the provider log covers (default: now)")
  .option(
    "--provider-log <file>",
    'the provider\'s accepted messages, JSON Lines: {"messageId","acceptedAt","recipient"} (without it, only rows whose outcome the ledger does not know are listed)',
  )
  .option("--channel <channel>", "the ledger's channel", "email")
  .option("--provider <name>", "the provider the ledger records for these sends", "smtp")
  .option("--apply", "record as sent the rows whose outcome was lost (the provider accepted them)")
  .option(
    "--requeue-unconfirmed",
    "queue again the rows left sending or unknown that the provider log lacks; only once the old workers are stopped and the log is complete up to now",
  )
  .option("--json", "print the whole report as JSON")
  .action(
    async (options: {
      workspace: string;
      since: string;
      until?: string;
      providerLog?: string;
      channel: string;
      provider: string;
      apply?: boolean;
      requeueUnconfirmed?: boolean;
      json?: boolean;
    }) => {
      const time = (flag: string, value: string) => {
        const t = new Date(value);
        if (Number.isNaN(t.getTime())) fail(`${flag} must be an ISO 8601 time, got "${value}"`, 64);
        return t;
      };
      const since = time("--since", options.since);
      const until = options.until ? time("--until", options.until) : undefined;
      let acceptances: ProviderAcceptance[] | undefined;
      if (options.providerLog) {
        try {
          acceptances = parseProviderLog(fs.readFileSync(options.providerLog, "utf8"));
        } catch (error) {
          fail(`${options.providerLog}: ${(error as Error).message}`, 65);
        }
      }
      await withWorkspace(options.workspace, async (db, ws) => {
        const report = await reconcileLedger(db, {
          workspaceId: ws.id,
          since,
          ...(until ? { until } : {}),
          ...(acceptances ? { acceptances } : {}),
          channel: options.channel,
          provider: options.provider,
          apply: options.apply === true,
          requeueUnconfirmed: options.requeueUnconfirmed === true,
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ summary: reconciliationSummary(report), ...report })}\n`);
          return;
        }
        const s = reconciliationSummary(report);
        const lines = [
          `Ledger reconciliation of ${s.since} – ${s.until}: ${s.ledgerRows} ledger row(s), ${s.acceptances} provider record(s)`,
        ];
        if (!report.evidence) lines.push("  no --provider-log: duplicates and lost rows cannot be seen");
        lines.push(
          `  delivered more than once:        ${s.duplicated} (${s.extraDeliveries} extra deliveries)`,
          `  accepted, not in the ledger:     ${s.unrecorded}`,
          `  accepted, ledger not sent:       ${s.outcomeLost}${options.apply ? ` (${report.applied} recorded as sent)` : ""}`,
          `  ledger rows re-created:          ${s.recreated}`,
          `  ledger sent, provider has none:  ${s.sentNotAccepted}`,
          `  sending/unknown, not accepted:   ${s.unconfirmed}${options.requeueUnconfirmed ? ` (${report.requeued} queued again)` : ""}`,
          `  members affected:                ${s.membersAffected}`,
        );
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    },
  );

program
  .command("schema")
  .description("Print the JSON Schema of definitions files (`omneural apply`, `omneural export`).")
  .action(() => {
    process.stdout.write(`${JSON.stringify(definitionsJsonSchema(), null, 2)}\n`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`omneural: ${(error as Error).message}\n`);
  process.exit(1);
});
