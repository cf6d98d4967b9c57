/**
 * The `omneural` binary as a newcomer runs it: real processes, a real embedded PostgreSQL in a temporary
 * data directory, real HTTP on loopback.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CampaignReport } from "@omneural/contracts/reports";
import { freePort } from "@omneural/core/db/embedded-cluster";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = path.join(root, "packages/server/bin/omneural.js");
const fixtures = path.join(root, "test/fixtures");

let dataDir: string;
let port: number;
let env: NodeJS.ProcessEnv;

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return execFileAsync(process.execPath, [bin, ...args], {
    env: { ...env, ...extraEnv },
    cwd: root,
    timeout: 60_000,
  });
}

/** Servers a test started: a failed test's is killed before the next starts on the same port. */
const started: ChildProcess[] = [];

function startServer(args = ["start"]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [bin, ...args], {
    env,
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitForHealthy(server: { output: () => string }) {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    // Polling a process we started is the one wait a test of a real binary needs.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy:\n${server.output()}`);
}

function postmasterRunning(): boolean {
  const state = JSON.parse(fs.readFileSync(path.join(dataDir, "cluster.json"), "utf8")) as { pgDir: string };
  const pidFile = path.join(state.pgDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-cli-"));
  fs.chmodSync(dataDir, 0o755);
  port = await freePort();
  env = {
    ...process.env,
    OMNEURAL_DATA_DIR: dataDir,
    PORT: String(port),
    LOG_FORMAT: "json",
    // These tests are about start, attach and adoption; on a loaded CI machine a clean stop of the
    // embedded PostgreSQL can take longer than the default 10 s.
    SHUTDOWN_TIMEOUT_MS: "30000",
  };
  delete env.DATABASE_URL;
});

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}, 60_000);

afterAll(async () => {
  // Make sure no server outlives the test, whatever failed.
  if (fs.existsSync(path.join(dataDir, "cluster.json")) && postmasterRunning()) {
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, "cluster.json"), "utf8")) as {
      pgDir: string;
    };
    const pid = Number(fs.readFileSync(path.join(state.pgDir, "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, "SIGINT");
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("omneural", () => {
  it("lists its commands with --help", async () => {
    const { stdout } = await cli(["--help"]);
    for (const command of ["start", "api", "worker", "migrate", "workspace", "import"])
      expect(stdout).toContain(command);
  });

  it("fails fast naming a bad configuration variable", async () => {
    const error = await cli(["migrate"], { PORT: "eighty" }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(error).toMatchObject({ code: 78 });
    expect((error as { stderr: string }).stderr).toMatch(/PORT: expected a whole number/);
  });

  it("creates a workspace when no server runs, and stops the database it started", async () => {
    const { stdout } = await cli(["workspace", "create", "Solo", "--json"]);
    const created = JSON.parse(stdout) as { workspaceId: string; apiKey: string };
    expect(created.apiKey).toMatch(/^omn_/);
    expect(postmasterRunning()).toBe(false);
  }, 90_000);

  it("start serves the API on the embedded database; a second command attaches; SIGTERM stops both", async () => {
    const server = startServer();
    await waitForHealthy(server);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/api/docs/`)).status).toBe(200);

    const a = JSON.parse((await cli(["workspace", "create", "Acme", "--json"])).stdout) as {
      workspaceId: string;
      apiKey: string;
    };
    const b = JSON.parse((await cli(["workspace", "create", "Globex", "--json"])).stdout) as {
      apiKey: string;
    };
    expect(postmasterRunning()).toBe(true);

    const created = await fetch(`http://127.0.0.1:${port}/api/v1/contacts`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "cli@example.com" }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const own = await fetch(`http://127.0.0.1:${port}/api/v1/contacts/${id}`, {
      headers: { authorization: `Bearer ${a.apiKey}` },
    });
    expect(own.status).toBe(200);
    const other = await fetch(`http://127.0.0.1:${port}/api/v1/contacts/${id}`, {
      headers: { authorization: `Bearer ${b.apiKey}` },
    });
    expect(other.status).toBe(404);

    const { stdout } = await cli([
      "import",
      "contacts",
      path.join(fixtures, "hubspot-export.csv"),
      "--workspace",
      a.workspaceId,
    ]);
    expect(stdout).toMatch(/contacts inserted:\s+3/);
    expect(stdout).toMatch(/line 5: .*email/);

    // The commands' changes are in the workspace's audit log, by the CLI (docs/audit-log.md).
    const audit = await fetch(`http://127.0.0.1:${port}/api/v1/audit`, {
      headers: { authorization: `Bearer ${a.apiKey}` },
    });
    const entries = ((await audit.json()) as { data: { action: string; actor: { kind: string } }[] }).data;
    const byCli = entries.filter((entry) => entry.actor.kind === "cli").map((entry) => entry.action);
    expect(byCli.sort()).toEqual(["api_key.create", "import.create", "workspace.create"]);

    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(postmasterRunning()).toBe(false);
    // Five CLI processes and a server, each loading TypeScript: minutes on a loaded 2-core machine.
  }, 150_000);

  it("after a SIGKILL, the next start adopts the orphaned database and keeps the data", async () => {
    const first = startServer();
    await waitForHealthy(first);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(postmasterRunning()).toBe(true); // PostgreSQL outlives a killed Node process

    const second = startServer();
    await waitForHealthy(second);
    expect(second.output()).toMatch(/adopting an embedded PostgreSQL/);
    const { stdout } = await cli(["workspace", "list", "--json"]);
    expect((JSON.parse(stdout) as { name: string }[]).map((w) => w.name)).toEqual(["Solo", "Acme", "Globex"]);
    second.child.kill("SIGINT");
    const code = await second.exited;
    expect(code, second.output()).toBe(0);
    expect(postmasterRunning()).toBe(false);
  }, 120_000);

  it("demo runs a whole campaign with an A/B test, a holdout and a goal, reports it, then keeps serving", async () => {
    const demo = startServer(["demo", "--contacts", "400", "--window-seconds", "20", "--wait-seconds", "15"]);
    try {
      // The summary and the commands come in one write, after every member is through.
      for (let i = 0; i < 1500 && !/Look around[\s\S]*API docs: http/.test(demo.output()); i++) {
        // Polling a process we started is the one wait a test of a real binary needs.
        await new Promise((r) => setTimeout(r, 100));
      }
      const output = demo.output();
      expect(output, output).toContain("400/400 members through (100%)");
      const last = output
        .split("\n")
        .filter((l) => l.includes("members through"))
        .at(-1)!;
      // Every channel sent something, and the recipients' opens, clicks and purchases went through.
      for (const channel of ["email", "sms", "mail", "ads"])
        expect(last).toMatch(new RegExp(`${channel} [1-9]`));
      expect(last).toMatch(/opened [1-9].*clicked [1-9].*bought [1-9]/);
      expect(last).not.toContain("to send");
      expect(output).toMatch(/A\/B test decided: "b", the winner: click rate/);

      const key = /export KEY=(omn_\S+)/.exec(output)![1]!;
      const reportUrl = /curl .* (http:\S+\/report) /.exec(output)![1]!;
      const traceUrl = /curl .* "(http:\S+\/trace\?campaignId=\S+)"/.exec(output)![1]!;
      const get = (url: string) => fetch(url, { headers: { authorization: `Bearer ${key}` } });

      // The experiment was decided on its test members, with a real z-test.
      const report = (await (await get(reportUrl)).json()) as CampaignReport;
      expect(report.status).toBe("completed");
      expect(report.experiments).toHaveLength(1);
      const [experiment] = report.experiments;
      expect(experiment).toMatchObject({ nodeId: "subject", status: "decided", winner: "b" });
      expect(experiment!.statistics).toMatchObject({ metric: "click", significant: true, best: "b" });
      for (const figure of ["sent", "opened", "clicked", "converted"] as const)
        expect(report.totals[figure], figure).toBeGreaterThan(0);
      expect(report.variants.filter((v) => v.splitNodeId === "subject").map((v) => v.branch)).toEqual([
        "a",
        "b",
      ]);
      expect(report.holdout).toMatchObject({ percent: 10 });
      expect(report.holdout!.holdout.members).toBeGreaterThan(0);
      expect(report.holdout!.treatment.converted).toBeGreaterThan(0);

      // The holdout got nothing: each of its members' ledger rows is skipped for the holdout.
      const rows: { contactId: string; status: string; reason: string | null }[] = [];
      let cursor: string | null = null;
      do {
        const page = (await (
          await get(
            `${reportUrl.replace(/\/report$/, "/messages")}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
          )
        ).json()) as { data: typeof rows; nextCursor: string | null };
        rows.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor);
      const heldOut = new Set(rows.filter((r) => r.reason === "holdout").map((r) => r.contactId));
      expect(heldOut.size).toBeGreaterThan(0);
      expect(rows.filter((r) => heldOut.has(r.contactId) && r.status !== "skipped")).toEqual([]);
      expect(report.skippedByReason.holdout).toBe(rows.filter((r) => r.reason === "holdout").length);

      // The printed commands answer: the CSV, and the trace of a member who got the winner.
      const csv = await get(`${reportUrl}.csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(await csv.text()).toMatch(/^variant,subject\/b,/m);
      const trace = await get(traceUrl);
      expect(trace.status).toBe(200);
      expect(JSON.stringify(await trace.json())).toContain('routed to variant \\"b\\", the winner');

      // On a fresh installation, a demo user owns the demo workspace: the printed sign-in works.
      const signInLine = /In the web app: (http:\S+)\/ — sign in as (\S+) with the password (\S+)/.exec(
        output,
      );
      expect(signInLine, output).not.toBeNull();
      const [, base, email, password] = signInLine!;
      const signedIn = await fetch(`${base}/api/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      expect(signedIn.status, await signedIn.clone().text()).toBe(200);
      const session = (await signedIn.json()) as { workspace: { name: string }; role: string };
      expect(session.workspace.name).toMatch(/^Demo /);
      expect(session.role).toBe("owner");
    } finally {
      demo.child.kill("SIGINT");
      expect(await demo.exited, demo.output()).toBe(0);
    }
  }, 180_000);
});
