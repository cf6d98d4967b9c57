/**
 * Campaign reports from a read replica (DATABASE_REPLICA_URL): a real streaming standby of a primary,
 * both embedded clusters made for this test. The report follows the replica (a change the replica has
 * not received yet is not in it), and comes from the primary when the replica cannot be reached.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@omneural/core/config/config";
import { type DatabaseHandle, openDatabase } from "@omneural/core/db/database";
import type { ClusterLog } from "@omneural/core/db/embedded-cluster";
import { migrate } from "@omneural/core/db/migrate";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { launchGraph, seedContactsInList } from "@omneural/core/testing/campaigns";
import { queryOnce, type ReplicaPair, startReplicaPair, waitFor } from "@omneural/core/testing/replication";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../app.ts";

const quiet: ClusterLog = { info: () => undefined, warn: () => undefined };

let root = "";
let pair: ReplicaPair | undefined;
let primary: DatabaseHandle | undefined;
let replica: DatabaseHandle | undefined;
let app: FastifyInstance | undefined;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-replica-"));
  fs.chmodSync(root, 0o755); // the servers may run as the OS user postgres
  pair = await startReplicaPair(root, quiet);
  await migrate(pair.primary.url);
  primary = openDatabase(pair.primary.url, { poolSize: 4 });
  replica = openDatabase(pair.standby.url, { poolSize: 4 });
  app = await buildApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "http://omneural.test" }),
      database: primary,
      reportsDatabase: replica,
      jobsEnabled: false,
      keys: TEST_KEYS,
      responses: { record() {} },
    },
    logger: false,
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await primary?.close();
  await replica?.close();
  await pair?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Waits until the standby has replayed everything the primary has written so far. */
async function replicated() {
  const current = await queryOnce<{ lsn: string }>(
    pair!.primary.url,
    "select pg_current_wal_lsn()::text as lsn",
  );
  const lsn = current[0]!.lsn;
  await waitFor("the standby to catch up", 30_000, async () => {
    const rows = await queryOnce<{ caught: boolean }>(
      pair!.standby.url,
      "select pg_last_wal_replay_lsn() >= $1::pg_lsn as caught",
      [lsn],
    );
    return rows[0]?.caught ? true : undefined;
  });
}

describe("reports from a read replica", () => {
  it("reads the report from the replica, and from the primary when the replica is away", async () => {
    const db = primary!.db;
    const { workspace, apiKey } = await createWorkspace(db, { name: "Replica Books" });
    const ws = { id: workspace.id, defaultCountry: "US", defaultTimezone: "UTC" };
    const { listId } = await seedContactsInList(db, ws.id, 25);
    const campaign = await launchGraph(db, ws, listId, {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    });
    const report = () =>
      app!.inject({
        method: "GET",
        url: `/api/v1/campaigns/${campaign.id}/report`,
        headers: { authorization: `Bearer ${apiKey}` },
      });

    await replicated();
    const first = await report();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ name: campaign.name });

    // A change the replica has not received is not in the report: it is read from the replica.
    pair!.link.cut();
    await queryOnce(pair!.primary.url, "update campaigns set name = 'Renamed on the primary' where id = $1", [
      campaign.id,
    ]);
    expect((await report()).json().name).toBe(campaign.name);

    // The replica gone, the report comes from the primary (with the change).
    await pair!.standby.stop();
    const fallback = await report();
    expect(fallback.statusCode, fallback.body).toBe(200);
    expect(fallback.json().name).toBe("Renamed on the primary");
  }, 120_000);
});
