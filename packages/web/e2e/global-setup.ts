/**
 * Starts the real server for the end-to-end tests: `omneural start` on a free port, with a fresh
 * embedded PostgreSQL in a temporary data directory, or, when DATABASE_URL is set, a fresh database on
 * that server, after building the web app. Returns the teardown. `startServer` starts another one (a
 * spec that needs a fresh installation of its own).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const WEB = fileURLToPath(new URL("..", import.meta.url));
const ROOT = path.resolve(WEB, "../..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function admin(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function waitForHealth(base: string, server: ChildProcess, output: () => string) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null)
      throw new Error(`omneural start exited with ${server.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`omneural start did not answer /healthz within 90 s:\n${output()}`);
}

/** A running `omneural start` on a fresh database: its URL, and how to stop it and remove its data. */
export interface E2eServer {
  base: string;
  stop(): Promise<void>;
}

/**
 * Starts `omneural start` serving the web build in `webDist` on a free port, with a fresh embedded
 * PostgreSQL in a temporary data directory, or, when DATABASE_URL is set, a fresh database on that server.
 */
export async function startServer(webDist: string): Promise<E2eServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    PUBLIC_URL: base,
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    OMNEURAL_WEB_DIST: webDist,
  };
  let dataDir: string | undefined;
  let database: { server: string; name: string } | undefined;
  if (process.env.DATABASE_URL) {
    const name = `omneural_e2e_${Math.random().toString(36).slice(2, 10)}`;
    const server = withDatabase(process.env.DATABASE_URL, "postgres");
    await admin(server, `create database ${name}`);
    database = { server, name };
    env.DATABASE_URL = withDatabase(process.env.DATABASE_URL, name);
  } else {
    dataDir = mkdtempSync(path.join(tmpdir(), "omneural-e2e-"));
    chmodSync(dataDir, 0o755); // the embedded PostgreSQL may run as the OS user postgres
    env.OMNEURAL_DATA_DIR = dataDir;
    delete env.DATABASE_URL;
  }

  let output = "";
  const server = spawn(process.execPath, [path.join(ROOT, "packages/server/bin/omneural.js"), "start"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  server.stdout?.on("data", keep);
  server.stderr?.on("data", keep);
  try {
    await waitForHealth(base, server, () => output);
  } catch (error) {
    server.kill("SIGTERM");
    throw error;
  }

  return {
    base,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
        if (server.exitCode === null) server.kill("SIGKILL");
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (database) await admin(database.server, `drop database if exists ${database.name} with (force)`);
    },
  };
}

export default async function globalSetup() {
  // Always from the current sources (a few seconds), so the tests never run an old build; into a
  // directory of this run's own, so runs side by side (or the dev server's build) never collide.
  const webDist = mkdtempSync(path.join(tmpdir(), "omneural-e2e-web-"));
  execFileSync("npx", ["vite", "build", "--logLevel", "warn", "--outDir", webDist, "--emptyOutDir"], {
    cwd: WEB,
    stdio: "inherit",
  });
  const server = await startServer(webDist);
  process.env.E2E_BASE_URL = server.base;
  // For specs that need an installation of their own (journey.spec.ts: a newcomer on a fresh install).
  process.env.E2E_WEB_DIST = webDist;

  return async () => {
    await server.stop();
    rmSync(webDist, { recursive: true, force: true });
  };
}
