/**
 * A primary PostgreSQL and an asynchronous streaming-replication standby, for the failover test: two
 * embedded clusters (db/embedded-cluster.ts) from the same binaries in one temporary directory.
 *
 * The embedded binaries have no pg_basebackup, so the standby is made with the low-level backup API
 * (PostgreSQL docs, "Making a Base Backup Using the Low Level API"): pg_backup_start on the primary,
 * a copy of its data directory without the files the docs exclude, pg_backup_stop, and its backup_label
 * written into the copy; then standby.signal and primary_conninfo. The WAL the standby needs is kept
 * by a physical replication slot and streamed.
 *
 * The standby connects through a TCP relay in this process, the "link" between the regions: `cut()`
 * drops everything sent over it from then on, as a partition between regions does, so the test decides
 * how much the standby is behind when the primary fails instead of leaving it to chance (on loopback
 * the standby is otherwise less than a millisecond behind).
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import {
  type ClusterLog,
  type EmbeddedCluster,
  freePort,
  openEmbeddedCluster,
} from "../db/embedded-cluster.ts";

export interface ReplicationLink {
  readonly port: number;
  /** When the link was cut (undefined while it carries the stream). */
  readonly cutAt: Date | undefined;
  /** Drops every byte from now on, both ways; the connections stay open and silent. */
  cut(): void;
  close(): Promise<void>;
}

export interface ReplicaPair {
  primary: EmbeddedCluster;
  standby: EmbeddedCluster;
  link: ReplicationLink;
  /** Stops the primary the way a crash does (SIGQUIT: `pg_ctl stop -m immediate`) and waits for it to exit. */
  crashPrimary(): Promise<void>;
  /** `pg_promote()` on the standby; resolves once it accepts writes. */
  promoteStandby(): Promise<void>;
  /** Stops both clusters (those still running) and the link. */
  close(): Promise<void>;
}

const SLOT = "failover_standby";

/** Sends `query` on a fresh connection to `url` and returns its rows. */
export async function queryOnce<T extends pg.QueryResultRow>(
  url: string,
  query: string,
  values: unknown[] = [],
) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(query, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

function postmasterPid(pgDir: string): number | undefined {
  const file = path.join(pgDir, "postmaster.pid");
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, "utf8").split("\n")[0]);
  return pid > 0 ? pid : undefined;
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A TCP relay from a loopback port to `targetPort` that can be cut. */
async function startLink(targetPort: number): Promise<ReplicationLink> {
  const sockets = new Set<net.Socket>();
  let cutAt: Date | undefined;
  const server = net.createServer((down) => {
    sockets.add(down);
    down.on("error", () => undefined);
    if (cutAt) return; // a new connection over a cut link hears nothing
    const up = net.connect(targetPort, "127.0.0.1");
    sockets.add(up);
    up.on("error", () => undefined);
    down.on("data", (chunk) => {
      if (!cutAt) up.write(chunk);
    });
    up.on("data", (chunk) => {
      if (!cutAt) down.write(chunk);
    });
    // Until the cut, a connection closed on one side closes the other; after it, nothing passes.
    down.on("close", () => {
      if (!cutAt) up.destroy();
    });
    up.on("close", () => {
      if (!cutAt) down.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get cutAt() {
      return cutAt;
    },
    cut() {
      cutAt ??= new Date();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Files and directory contents a base backup leaves out (PostgreSQL docs, low-level base backup). */
const EXCLUDED_FILES = new Set(["postmaster.pid", "postmaster.opts", "server.log", "pg_internal.init"]);
const EMPTIED_DIRS = new Set([
  "pg_wal",
  "pg_replslot",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_stat_tmp",
  "pg_subtrans",
]);

/** Copies a running cluster's data directory; files that vanish meanwhile are skipped. */
function copyDataDirectory(from: string, to: string, top = true) {
  fs.mkdirSync(to, { recursive: true, mode: fs.statSync(from).mode & 0o777 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const name = entry.name;
    if (EXCLUDED_FILES.has(name) || name.startsWith("pgsql_tmp")) continue;
    const source = path.join(from, name);
    const target = path.join(to, name);
    try {
      if (entry.isDirectory()) {
        if (top && EMPTIED_DIRS.has(name)) fs.mkdirSync(target, { mode: fs.statSync(source).mode & 0o777 });
        else copyDataDirectory(source, target, false);
      } else if (entry.isSymbolicLink()) {
        fs.symlinkSync(fs.readlinkSync(source), target);
      } else {
        fs.copyFileSync(source, target);
        fs.chmodSync(target, fs.statSync(source).mode & 0o777);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  if (top) {
    fs.mkdirSync(path.join(to, "pg_wal", "archive_status"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(to, "pg_wal", "summaries"), { recursive: true, mode: 0o700 });
  }
}

function chownTree(dir: string, uid: number, gid: number) {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}

/**
 * Starts a primary in `root/primary` and a standby of it in `root/standby`, streaming through a link
 * that `cut()` partitions: asynchronous, or synchronous (`synchronous_standby_names`) on request. `root` must be reachable by the OS user postgres when running
 * as root (e.g. a 0755 directory under /tmp).
 */
export async function startReplicaPair(
  root: string,
  log: ClusterLog,
  options: { synchronous?: boolean } = {},
): Promise<ReplicaPair> {
  const primaryDir = path.join(root, "primary");
  const standbyDir = path.join(root, "standby");
  for (const dir of [primaryDir, standbyDir]) {
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755);
  }
  const primary = await openEmbeddedCluster({ dataDir: primaryDir, own: true, tuning: "test", log });
  const password = decodeURIComponent(new URL(primary.url).password);
  let standby: EmbeddedCluster | undefined;
  let link: ReplicationLink | undefined;
  try {
    // The test tuning turns local synchronous commit off; a production primary has it on, so that a
    // commit is on the primary's disk (not yet on the standby's) when the client hears of it.
    await queryOnce(primary.url, "alter system set synchronous_commit = on");
    await queryOnce(primary.url, "select pg_reload_conf()");
    await queryOnce(primary.url, `select pg_create_physical_replication_slot('${SLOT}')`);
    link = await startLink(primary.port);

    // The low-level base backup: one session from start to stop.
    const standbyPg = path.join(standbyDir, "pg");
    const session = new pg.Client({ connectionString: primary.url });
    await session.connect();
    try {
      await session.query("select pg_backup_start('omneural failover test', true)");
      copyDataDirectory(primary.pgDir, standbyPg);
      const { rows } = await session.query<{ labelfile: string; spcmapfile: string | null }>(
        "select labelfile, spcmapfile from pg_backup_stop(false)",
      );
      fs.writeFileSync(path.join(standbyPg, "backup_label"), rows[0]!.labelfile);
      if (rows[0]!.spcmapfile) fs.writeFileSync(path.join(standbyPg, "tablespace_map"), rows[0]!.spcmapfile);
    } finally {
      await session.end();
    }
    fs.writeFileSync(path.join(standbyPg, "standby.signal"), "");
    fs.appendFileSync(
      path.join(standbyPg, "postgresql.auto.conf"),
      [
        "",
        `primary_conninfo = 'host=127.0.0.1 port=${link.port} user=postgres password=${password} application_name=standby'`,
        `primary_slot_name = '${SLOT}'`,
        "",
      ].join("\n"),
    );
    const owner = fs.statSync(primary.pgDir);
    if (typeof process.getuid === "function" && process.getuid() === 0)
      chownTree(standbyPg, owner.uid, owner.gid);
    fs.chmodSync(standbyPg, 0o700);
    // The standby's embedded-cluster state: its own port, the primary's password (the copy has its roles).
    fs.writeFileSync(
      path.join(standbyDir, "cluster.json"),
      `${JSON.stringify({ port: await freePort(), password, pgDir: standbyPg }, null, 2)}\n`,
      { mode: 0o600 },
    );
    standby = await openEmbeddedCluster({ dataDir: standbyDir, own: true, tuning: "test", log });
    const standbyUrl = standby.url;
    await waitFor("the standby to stream from the primary", 30_000, async () => {
      const rows = await queryOnce<{ status: string }>(
        standbyUrl,
        "select status from pg_stat_wal_receiver",
      ).catch(() => []); // still starting up
      return rows[0]?.status === "streaming" ? true : undefined;
    });
    if (options.synchronous) {
      // A commit returns once the standby has flushed it (synchronous_commit = on, set above).
      await queryOnce(primary.url, "alter system set synchronous_standby_names = 'standby'");
      await queryOnce(primary.url, "select pg_reload_conf()");
      await waitFor("the standby to be synchronous", 30_000, async () => {
        const rows = await queryOnce<{ sync_state: string }>(
          primary.url,
          "select sync_state from pg_stat_replication where application_name = 'standby'",
        );
        return rows[0]?.sync_state === "sync" ? true : undefined;
      });
    }
  } catch (error) {
    await standby?.stop();
    await link?.close();
    await primary.stop();
    throw error;
  }

  const pair: ReplicaPair = {
    primary,
    standby,
    link,
    async crashPrimary() {
      const pid = postmasterPid(primary.pgDir);
      if (pid === undefined) return;
      process.kill(pid, "SIGQUIT");
      await waitFor("the primary's postmaster to exit", 30_000, async () =>
        isAlive(pid) ? undefined : true,
      );
    },
    async promoteStandby() {
      const url = pair.standby.url;
      await queryOnce(url, "select pg_promote(true, 60)");
      await waitFor("the promoted standby to accept writes", 30_000, async () => {
        const rows = await queryOnce<{ r: boolean }>(url, "select pg_is_in_recovery() as r");
        return rows[0]?.r === false ? true : undefined;
      });
    },
    async close() {
      await pair.link.close();
      await pair.standby.stop();
      const pid = postmasterPid(primary.pgDir);
      if (pid !== undefined && isAlive(pid)) await primary.stop();
    },
  };
  return pair;
}
