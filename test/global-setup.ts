/**
 * Once per test run: a PostgreSQL server (embedded in a temporary directory, or DATABASE_URL's server)
 * and a template database migrated once. Each test file clones the template (see
 * packages/core/src/testing/database.ts).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { adminQuery } from "@omneural/core/db/admin";
import { type EmbeddedCluster, openEmbeddedCluster, withDatabase } from "@omneural/core/db/embedded-cluster";
import { migrate, migrateJobQueue } from "@omneural/core/db/migrate";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    databaseServerUrl: string;
    templateDatabase: string;
  }
}

let cluster: EmbeddedCluster | undefined;
let dataDir: string | undefined;
let serverUrl = "";
const template = `omneural_template_${process.pid}`;

const admin = (statement: string) => adminQuery(serverUrl, statement);

/** Stops the PostgreSQL of earlier test runs that were killed before their teardown. */
function stopAbandonedTestClusters() {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith("omneural-test-")) continue;
    const dir = path.join(os.tmpdir(), name);
    const owner = Number(
      fs.existsSync(path.join(dir, "owner.pid")) ? fs.readFileSync(path.join(dir, "owner.pid"), "utf8") : 0,
    );
    if (owner && isAlive(owner)) continue;
    try {
      const state = JSON.parse(fs.readFileSync(path.join(dir, "cluster.json"), "utf8")) as { pgDir: string };
      const pid = Number(fs.readFileSync(path.join(state.pgDir, "postmaster.pid"), "utf8").split("\n")[0]);
      if (pid && isAlive(pid)) process.kill(pid, "SIGQUIT");
    } catch {
      // no cluster, or already stopped
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    serverUrl = withDatabase(process.env.DATABASE_URL, "postgres");
    process.stderr.write(`tests: using the PostgreSQL server of DATABASE_URL\n`);
  } else {
    stopAbandonedTestClusters();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-test-"));
    // Claim the directory at once, so a run starting at the same moment does not take it for abandoned.
    fs.writeFileSync(path.join(dataDir, "owner.pid"), String(process.pid));
    fs.chmodSync(dataDir, 0o755); // the server may run as the OS user postgres
    cluster = await openEmbeddedCluster({
      dataDir,
      own: true,
      tuning: "test",
      log: { info: () => undefined, warn: (m) => process.stderr.write(`tests: ${m}\n`) },
    });
    serverUrl = cluster.url;
    process.stderr.write(`tests: embedded PostgreSQL on port ${cluster.port}\n`);
  }
  await admin(`drop database if exists ${template}`);
  await admin(`create database ${template}`);
  const url = withDatabase(serverUrl, template);
  await migrate(url);
  await migrateJobQueue(url);
  project.provide("databaseServerUrl", serverUrl);
  project.provide("templateDatabase", template);
}

export async function teardown() {
  if (serverUrl) await admin(`drop database if exists ${template} with (force)`).catch(() => undefined);
  await cluster?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
