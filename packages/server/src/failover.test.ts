/**
 * Regional failover with streaming replication, measured.
 *
 * A primary and a standby (two embedded clusters in a temporary directory, whatever DATABASE_URL says);
 * the worker role runs a campaign (email → wait 1 s → exit) against the primary, sending to a real SMTP
 * server that keeps the provider's log. Mid-run the link between the regions is cut
 * (testing/replication.ts), the old region fails (its primary crashes), the standby is promoted and a
 * new worker role finishes the campaign on it.
 *
 * - Asynchronous standby: the old region works on alone after the cut until it has delivered a few
 *   hundred messages, some from ledger rows the standby never got. What that cost is measured against
 *   the ground truth (the old primary's state, read just before it crashed) and printed (a
 *   FAILOVER_FIGURES JSON line); the ledger reconciliation, given only the provider's log, must find
 *   every message delivered twice and every lost or re-created ledger row, in process and as the
 *   `omneural ledger reconcile` command.
 * - Synchronous standby: after the cut every commit waits for the standby, so nothing the old region
 *   did after it is known to anyone; with the reconciliation run before the new workers start, every
 *   member gets the message exactly once.
 *
 * The assertions are invariants, not counts: how much is lost depends on timing.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { loadConfig } from "@omneural/core/config/config";
import { type DatabaseHandle, openDatabase } from "@omneural/core/db/database";
import type { ClusterLog } from "@omneural/core/db/embedded-cluster";
import { migrate, migrateJobQueue } from "@omneural/core/db/migrate";
import {
  messageKey,
  messageKeyOfIdempotencyKey,
  parseProviderLog,
  reconciliationSummary,
} from "@omneural/core/delivery/reconcile";
import { reconcileLedger } from "@omneural/core/delivery/reconcile.service";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { createTemplate } from "@omneural/core/templates/template.service";
import { launchGraph, seedContactsInList } from "@omneural/core/testing/campaigns";
import { mailWorkspace } from "@omneural/core/testing/mail";
import { type ProviderLogServer, startProviderLogServer } from "@omneural/core/testing/provider-log";
import { queryOnce, type ReplicaPair, startReplicaPair, waitFor } from "@omneural/core/testing/replication";
import { type Kysely, sql } from "kysely";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type WorkerRole } from "./roles/worker.ts";

/** How much the old region sends after the link is cut before it fails (asynchronous case). */
const SENT_AFTER_CUT = 100;
const quiet: ClusterLog = { info: () => undefined, warn: () => undefined };
const log = pino({ level: "silent" });
const execFileAsync = promisify(execFile);
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/omneural.js");

let root = "";
const pairs: ReplicaPair[] = [];
const providers: ProviderLogServer[] = [];
const handles: DatabaseHandle[] = [];
const workers: WorkerRole[] = [];

beforeAll(() => {
  // Not "omneural-test-*": a test run starting meanwhile removes those it takes for abandoned.
  root = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-failover-"));
  fs.chmodSync(root, 0o755); // the servers may run as the OS user postgres
});

afterAll(async () => {
  for (const worker of workers.splice(0)) await worker.stop().catch(() => undefined);
  for (const handle of handles.splice(0)) await handle.close().catch(() => undefined);
  for (const pair of pairs.splice(0)) await pair.close().catch(() => undefined);
  for (const provider of providers.splice(0)) await provider.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Two regions (primary, standby) and a provider, with the schema migrated on the primary. */
async function startRegions(name: string, synchronous: boolean) {
  const provider = await startProviderLogServer();
  providers.push(provider);
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const pair = await startReplicaPair(dir, quiet, { synchronous });
  pairs.push(pair);
  await migrate(pair.primary.url);
  await migrateJobQueue(pair.primary.url);
  return { pair, provider };
}

async function startWorkerOn(url: string, provider: ProviderLogServer, stepperBatchSize = 1000) {
  const handle = openDatabase(url, { poolSize: 8, applicationName: "omneural-failover-test" });
  handles.push(handle);
  const config = loadConfig({
    DATABASE_URL: url,
    OMNEURAL_DATA_DIR: root,
    SMTP_URL: `smtp://127.0.0.1:${provider.port}`,
    STEPPER_BATCH_SIZE: String(stepperBatchSize),
    LOG_LEVEL: "silent",
  });
  const worker = await startWorker(config, handle, TEST_KEYS, log);
  workers.push(worker);
  return { handle, worker };
}

async function stopWorker(worker: WorkerRole) {
  workers.splice(workers.indexOf(worker), 1);
  await worker.stop();
}

/** A workspace with a sender, and a campaign email → wait 1 s → exit over `members` new contacts. */
async function launchCampaign(url: string, members: number) {
  const setup = openDatabase(url, { poolSize: 2 });
  try {
    const db = setup.db;
    const ws = await mailWorkspace(db);
    const template = await createTemplate(db, ws, {
      name: "hello",
      channel: "email",
      content: { subject: "Hello", html: "<p>Hello</p>" },
    });
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s1" } },
        { id: "s1", type: "send", channel: "email", templateId: template.id, outlets: { next: "w" } },
        { id: "w", type: "wait", mode: "duration", duration: { seconds: 1 }, outlets: { next: "exit" } },
        { id: "exit", type: "exit", outlets: {} },
      ],
    };
    const { listId } = await seedContactsInList(db, ws.id, members);
    const launchedAt = new Date();
    const campaign = await launchGraph(db, ws, listId, graph, launchedAt);
    // The reconciliation's window starts before the campaign's first message.
    return { ws, campaignId: campaign.id, since: new Date(launchedAt.getTime() - 1000) };
  } finally {
    await setup.close();
  }
}

const count = async (url: string, query: string, values: unknown[]) =>
  (await queryOnce<{ n: number }>(url, query, values))[0]!.n;

/**
 * Resolves once every member has left the campaign, the campaign is completed, and every ledger row is
 * sent but those in `unsettledAllowed` (rows the old region was sending: their lease runs for minutes).
 */
async function finished(db: Kysely<never>, campaignId: string, unsettledAllowed: ReadonlySet<string>) {
  await waitFor("the campaign to finish on the promoted standby", 90_000, async () => {
    const { rows } = await sql<{ active: number; unsettled: string[]; status: string }>`
      select
        (select count(*)::int from enrollments where campaign_id = ${campaignId} and state = 'active') as active,
        (select coalesce(array_agg(idempotency_key), '{}') from messages
         where campaign_id = ${campaignId} and status <> 'sent') as unsettled,
        (select status from campaigns where id = ${campaignId}) as status`.execute(db);
    const r = rows[0]!;
    return r.active === 0 && r.status === "completed" && r.unsettled.every((k) => unsettledAllowed.has(k))
      ? true
      : undefined;
  });
}

interface LedgerState {
  /** By idempotency key. */
  rows: Map<string, { status: string; contactId: string }>;
  /** Committed steps per member (enrollments.seq). */
  seq: Map<string, number>;
  steps: number;
}

/** The campaign's ledger and journey state as one database has it. */
async function ledgerState(url: string, campaignId: string): Promise<LedgerState> {
  const rows = await queryOnce<{ idempotency_key: string; status: string; contact_id: string }>(
    url,
    "select idempotency_key, status, contact_id from messages where campaign_id = $1",
    [campaignId],
  );
  const seq = await queryOnce<{ contact_id: string; seq: number }>(
    url,
    "select contact_id, seq from enrollments where campaign_id = $1",
    [campaignId],
  );
  return {
    rows: new Map(rows.map((r) => [r.idempotency_key, { status: r.status, contactId: r.contact_id }])),
    seq: new Map(seq.map((r) => [r.contact_id, r.seq])),
    steps: await count(url, "select count(*)::int as n from enrollment_steps where campaign_id = $1", [
      campaignId,
    ]),
  };
}

/** Every member completed, once: two committed steps each, one ledger row each. */
async function expectEveryMemberOnce(url: string, campaignId: string, members: number) {
  const states = await queryOnce<{ state: string; node_id: string; seq: number; n: number }>(
    url,
    "select state, node_id, seq, count(*)::int as n from enrollments where campaign_id = $1 group by 1, 2, 3",
    [campaignId],
  );
  expect(states).toEqual([{ state: "completed", node_id: "exit", seq: 2, n: members }]);
  const final = await ledgerState(url, campaignId);
  expect(final.steps).toBe(2 * members);
  expect(final.rows.size).toBe(members);
  return final;
}

/** Deliveries per message (by Message-ID digest), from the provider's side. */
function deliveriesOf(provider: ProviderLogServer, upTo = provider.accepted.length) {
  const deliveries = new Map<string, number>();
  for (const a of provider.accepted.slice(0, upTo)) {
    const key = messageKey(a.messageId);
    deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
  }
  return deliveries;
}

describe("a failover in the middle of a campaign", () => {
  it("to an asynchronous standby: every member finishes once, and the reconciliation finds every duplicate and lost row", async () => {
    const MEMBERS = 2000;
    const { pair, provider } = await startRegions("async", false);
    const primaryUrl = pair.primary.url;
    const { ws, campaignId, since } = await launchCampaign(primaryUrl, MEMBERS);
    const accepted = provider.accepted;

    // The old region: a worker on the primary. The link is cut once its first steps are committed
    // (watched on one open connection, so that the cut comes a few stepper batches after them at most).
    const watch = openDatabase(primaryUrl, { poolSize: 1 });
    await sql`select 1`.execute(watch.db);
    // Small stepper batches: the first steps take many commits, so the link is cut between two of them.
    const old = await startWorkerOn(primaryUrl, provider, 25);
    try {
      await waitFor("the first steps", 30_000, async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from messages where campaign_id = ${campaignId}`.execute(watch.db);
        return rows[0]!.n > 0 ? true : undefined;
      });
      pair.link.cut();
    } finally {
      await watch.close();
    }
    const cutAt = pair.link.cutAt!;
    const acceptedAtCut = accepted.length;
    // The old region goes on alone: steps, sends and outcomes the standby never sees. It fails once it
    // has sent a hundred messages or more, among them some whose ledger rows the standby does not have
    // (or, should the standby have got every row before the cut, once it has sent those hundred).
    const standbyUrl = pair.standby.url;
    const standbyLacked = await waitFor("the old region to work on past the cut", 60_000, async () => {
      if (accepted.length < acceptedAtCut + SENT_AFTER_CUT) return undefined;
      const rows = await queryOnce<{ idempotency_key: string }>(
        standbyUrl,
        "select idempotency_key from messages where campaign_id = $1",
        [campaignId],
      );
      const known = new Set(rows.map((r) => messageKeyOfIdempotencyKey(r.idempotency_key)));
      if (accepted.some((a) => !known.has(messageKey(a.messageId)))) return true;
      return rows.length === MEMBERS ? false : undefined;
    });
    await stopWorker(old.worker);
    const lost = await ledgerState(primaryUrl, campaignId);
    const deliveredBeforeFailure = accepted.length;
    await pair.crashPrimary();
    const failedAt = new Date();

    // The new region: promote the standby, point a worker at it at once.
    await pair.promoteStandby();
    const promotedAt = new Date();
    const survived = await ledgerState(standbyUrl, campaignId);
    const sendingAtPromotion = new Set(
      [...survived.rows].filter(([, r]) => r.status === "sending").map(([key]) => key),
    );
    const next = await startWorkerOn(standbyUrl, provider);
    await finished(next.handle.db as unknown as Kysely<never>, campaignId, sendingAtPromotion);
    await stopWorker(next.worker);
    const finishedAt = new Date();

    // ---- What the failover cost, against the old primary's last state ----
    const rowsLost = [...lost.rows.keys()].filter((key) => !survived.rows.has(key));
    const outcomesLost = [...lost.rows].filter(
      ([key, r]) =>
        r.status === "sent" && survived.rows.has(key) && survived.rows.get(key)!.status !== "sent",
    );
    const enrollmentsRedone = [...lost.seq].filter(
      ([contact, seq]) => seq > (survived.seq.get(contact) ?? 0),
    );
    const deliveries = deliveriesOf(provider);
    const duplicatedKeys = [...deliveries].filter(([, n]) => n > 1).map(([k]) => k);

    // ---- The reconciliation, from the provider's log alone (exported and read back as a file would be) ----
    const finalDb = next.handle.db;
    const acceptances = parseProviderLog(provider.exportJsonl());
    const report = await reconcileLedger(finalDb, { workspaceId: ws.id, since, acceptances });

    const figures = {
      replication: "asynchronous",
      members: MEMBERS,
      messages: MEMBERS,
      partitionMs: failedAt.getTime() - cutAt.getTime(),
      deliveredDuringPartition: deliveredBeforeFailure - acceptedAtCut,
      stepsCommittedOnPrimary: lost.steps,
      stepsOnStandby: survived.steps,
      stepsLost: lost.steps - survived.steps,
      enrollmentsRedone: enrollmentsRedone.length,
      ledgerRowsLost: rowsLost.length,
      outcomesLost: outcomesLost.length,
      sendingAtPromotion: sendingAtPromotion.size,
      duplicateDeliveries: duplicatedKeys.length,
      membersWithDuplicates: new Set(
        accepted.filter((a) => (deliveries.get(messageKey(a.messageId)) ?? 0) > 1).map((a) => a.recipient),
      ).size,
      promoteMs: promotedAt.getTime() - failedAt.getTime(),
      finishAfterPromotionMs: finishedAt.getTime() - promotedAt.getTime(),
      reconciliation: reconciliationSummary(report),
    };
    console.log(
      [
        `failover to an asynchronous standby: ${MEMBERS} members, one email and a wait each; link cut ${figures.partitionMs} ms before the primary crashed`,
        `  delivered by the old region during the partition: ${figures.deliveredDuringPartition}`,
        `  steps lost: ${figures.stepsLost} of ${figures.stepsCommittedOnPrimary} (enrollments re-done: ${figures.enrollmentsRedone})`,
        `  ledger rows lost and re-created: ${figures.ledgerRowsLost}; outcomes lost (sent → queued/sending): ${figures.outcomesLost}`,
        `  messages delivered twice: ${figures.duplicateDeliveries} (members: ${figures.membersWithDuplicates}); left 'sending' at promotion: ${figures.sendingAtPromotion}`,
        `  reconciliation: ${JSON.stringify(figures.reconciliation)}`,
      ].join("\n"),
    );
    console.log(`FAILOVER_FIGURES ${JSON.stringify(figures)}`);

    // ---- Invariants ----
    const final = await expectEveryMemberOnce(standbyUrl, campaignId, MEMBERS);
    // The failover did cost something: steps and outcomes, and (nearly always: the cut comes a few
    // stepper batches after the first) delivered messages whose rows the standby lacked.
    expect(figures.stepsLost).toBeGreaterThan(0);
    expect(outcomesLost.length).toBeGreaterThan(0);
    if (standbyLacked) expect(report.recreated.length).toBeGreaterThan(0);
    // Every lost row was re-created with the same idempotency key (the same Message-ID).
    for (const key of rowsLost) expect(final.rows.has(key)).toBe(true);

    // Nothing silently lost: every member got the message, or its ledger row says it was not sent.
    for (const [key, row] of final.rows)
      if (!deliveries.has(messageKeyOfIdempotencyKey(key))) expect(row.status).not.toBe("sent");
    expect(report.sentNotAccepted).toEqual([]);
    expect(report.unrecorded).toEqual([]);

    // Every message delivered twice is reported as duplicated, with its ledger row.
    expect(report.duplicated.map((d) => messageKey(d.messageId)).sort()).toEqual([...duplicatedKeys].sort());
    for (const d of report.duplicated) expect(d.row).toBeDefined();
    // Every lost row the provider had accepted before the failure is reported as re-created, and its
    // member among those affected.
    const acceptedBeforeFailure = deliveriesOf(provider, deliveredBeforeFailure);
    const recreated = new Set(report.recreated.map((r) => r.row.idempotencyKey));
    const affected = new Set(report.membersAffected);
    for (const key of rowsLost) {
      if (!acceptedBeforeFailure.has(messageKeyOfIdempotencyKey(key))) continue;
      expect(recreated.has(key)).toBe(true);
      expect(affected.has(lost.rows.get(key)!.contactId)).toBe(true);
    }
    // Every lost outcome is either a duplicate (the row was queued again and re-sent) or reported lost.
    const duplicated = new Set(duplicatedKeys);
    const outcomeLost = new Set(report.outcomeLost.map((o) => o.row.idempotencyKey));
    for (const [key] of outcomesLost)
      expect(duplicated.has(messageKeyOfIdempotencyKey(key)) || outcomeLost.has(key)).toBe(true);

    // The command an operator runs finds the same, from the exported log.
    const logFile = path.join(root, "provider-log.jsonl");
    fs.writeFileSync(logFile, provider.exportJsonl());
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        bin,
        ...["ledger", "reconcile", "--workspace", ws.id, "--since", since.toISOString()],
        ...["--until", report.until.toISOString(), "--provider-log", logFile, "--json"],
      ],
      {
        env: { ...process.env, DATABASE_URL: standbyUrl, OMNEURAL_DATA_DIR: root, LOG_LEVEL: "warn" },
        timeout: 60_000,
      },
    );
    const fromCli = JSON.parse(stdout) as { summary: ReturnType<typeof reconciliationSummary> };
    expect(fromCli.summary).toEqual(reconciliationSummary(report));

    // Applied, the reconciliation settles the rows whose outcome was lost: every row is then sent.
    const applied = await reconcileLedger(finalDb, { workspaceId: ws.id, since, acceptances, apply: true });
    expect(applied.applied).toBe(report.outcomeLost.length);
    const after = await ledgerState(standbyUrl, campaignId);
    expect([...after.rows.values()].every((r) => r.status === "sent")).toBe(true);
  }, 180_000);

  it("to a synchronous standby, reconciled before the workers restart: every member gets the message exactly once", async () => {
    const MEMBERS = 500;
    const { pair, provider } = await startRegions("sync", true);
    const primaryUrl = pair.primary.url;
    const { ws, campaignId, since } = await launchCampaign(primaryUrl, MEMBERS);
    const accepted = provider.accepted;

    // The old region sends; the link is cut as its first messages go out. From then on every commit
    // waits for a standby that hears nothing: the old region stops making progress.
    const old = await startWorkerOn(primaryUrl, provider);
    await waitFor("the first message", 30_000, async () => (accepted.length > 0 ? true : undefined));
    pair.link.cut();
    const acceptedAtCut = accepted.length;
    await waitFor("the old region to wait for the standby", 30_000, async () =>
      (await count(
        primaryUrl,
        "select count(*)::int as n from pg_stat_activity where wait_event = 'SyncRep'",
        [],
      )) > 0
        ? true
        : undefined,
    );
    await pair.crashPrimary();
    // Its worker, cut off from its database, stops; whatever it had in flight is in the provider's log.
    await stopWorker(old.worker);
    const deliveredBeforeFailure = accepted.length;

    await pair.promoteStandby();
    const standbyUrl = pair.standby.url;
    const survived = await ledgerState(standbyUrl, campaignId);
    // The runbook's order: reconcile with the provider's log up to now, then start the workers.
    const standby = openDatabase(standbyUrl, { poolSize: 2 });
    handles.push(standby);
    const before = await reconcileLedger(standby.db, {
      workspaceId: ws.id,
      since,
      acceptances: parseProviderLog(provider.exportJsonl()),
      apply: true,
      requeueUnconfirmed: true,
    });
    // Synchronous replication lost no row the provider has seen, and no step was committed without it.
    expect(before.unrecorded).toEqual([]);
    expect(before.duplicated).toEqual([]);
    const next = await startWorkerOn(standbyUrl, provider);
    await finished(next.handle.db as unknown as Kysely<never>, campaignId, new Set());
    await stopWorker(next.worker);

    const after = await reconcileLedger(standby.db, {
      workspaceId: ws.id,
      since,
      acceptances: parseProviderLog(provider.exportJsonl()),
    });
    const figures = {
      replication: "synchronous",
      members: MEMBERS,
      deliveredDuringPartition: deliveredBeforeFailure - acceptedAtCut,
      sendingAtPromotion: [...survived.rows.values()].filter((r) => r.status === "sending").length,
      outcomesRecordedByReconciliation: before.applied,
      requeuedByReconciliation: before.requeued,
      duplicateDeliveries: after.duplicated.length,
      reconciliation: reconciliationSummary(after),
    };
    console.log(
      `failover to a synchronous standby: ${MEMBERS} members; outcomes recorded from the provider log: ${figures.outcomesRecordedByReconciliation}, requeued: ${figures.requeuedByReconciliation}, duplicates: ${figures.duplicateDeliveries}`,
    );
    console.log(`FAILOVER_FIGURES ${JSON.stringify(figures)}`);

    const final = await expectEveryMemberOnce(standbyUrl, campaignId, MEMBERS);
    const deliveries = deliveriesOf(provider);
    for (const key of final.rows.keys()) expect(deliveries.get(messageKeyOfIdempotencyKey(key))).toBe(1);
    expect([...final.rows.values()].every((r) => r.status === "sent")).toBe(true);
    expect(figures.reconciliation).toMatchObject({
      duplicated: 0,
      unrecorded: 0,
      outcomeLost: 0,
      recreated: 0,
      sentNotAccepted: 0,
      unconfirmed: 0,
    });
  }, 180_000);
});
