/**
 * The roles on several processes, as an operator runs them: 2 `omneural api`, 2 `omneural worker` and
 * 1 `omneural tracking`, real child processes on loopback ports, against one PostgreSQL (this file's
 * test database: embedded by default, on DATABASE_URL's server when set) and one Redis (the test Redis;
 * skipped loudly without one). Email goes to a real SMTP server in this process that keeps the
 * provider's log (Message-ID and recipient of every message it accepted).
 *
 * Through the two API processes in turn: a workspace (`omneural workspace create --json`), its sender, a
 * list, a CSV import of the members, a template with a link, a workflow entry → email → exit, a campaign,
 * its launch. Once a fifth of the members have their email, the SMTP server holds its answers until both
 * workers have messages in flight, one worker is killed with SIGKILL mid-batch, and the server accepts
 * what it holds (the killed worker's messages too: it had them whole). The other worker finishes the
 * campaign. Then:
 *
 * - every member completed, with exactly one ledger row (one per member per send node: the unique
 *   idempotency key) and one history step per move;
 * - nothing was delivered twice beyond the in-flight window: the only rows not `sent` are the killed
 *   worker's leased batch (at most the dispatcher's batch of 100), left `sending` (`unknown` once the
 *   lease has run out), and at most 5 of them (the messages in flight) reached the provider. SMTP takes no
 *   idempotency key, so such a row is never sent again by itself (its lease expires to `unknown`): a
 *   crash can lose an outcome, never send twice. The ledger reconciliation, given the provider's log,
 *   reports each of those rows as either accepted (outcome lost) or not (unconfirmed), and any
 *   duplicate delivery as duplicated;
 * - applied (the runbook of docs/failover.md), the reconciliation records the accepted ones as sent and
 *   queues the others again; the surviving worker sends them, and every member has had the email
 *   exactly once;
 * - a link of a delivered email, clicked on the tracking process, redirects and is recorded.
 *
 * MULTI_PROCESS_MEMBERS sets the size (default 5,000: 35–40 s on 2 cores, up to 95 s on busy ones); the full size:
 *   MULTI_PROCESS_MEMBERS=200000 npx vitest run packages/server/src/multi-process.test.ts
 * The figures are printed as a MULTI_PROCESS_FIGURES JSON line.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import {
  messageKey,
  messageKeyOfIdempotencyKey,
  reconciliationSummary,
} from "@omneural/core/delivery/reconcile";
import { reconcileLedger } from "@omneural/core/delivery/reconcile.service";
import { useTestDatabase } from "@omneural/core/testing/database";
import { requireRedis, TEST_REDIS_URL } from "@omneural/core/testing/redis";
import { sql } from "kysely";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DeliverySink,
  freePort,
  installationEnv,
  type RoleProcess,
  runCommand,
  startDeliverySink,
  startRole,
  waitUntil,
} from "./testing/role-processes.ts";

const MEMBERS = Number(process.env.MULTI_PROCESS_MEMBERS ?? 5000);
/** The dispatcher's batch (dispatcher.ts, batchSize default): the most rows one worker has leased at once. */
const DISPATCH_BATCH = 100;
/**
 * Messages one worker has with the provider at once (dispatcher.ts, concurrency default; the SMTP
 * channel's pool): the most a crash can leave accepted by the provider yet not recorded as sent.
 */
const IN_FLIGHT = 5;
/** The dispatcher's lease (dispatcher.ts, leaseMs default). */
const LEASE_MS = 120_000;
/** Kill a worker once this many emails were delivered: some delivered, most still to go. */
const KILL_AFTER = Math.max(50, Math.floor(MEMBERS / 5));
const SHOP_URL = "https://shop.example/spring";
/** Generous: the full size sends 200,000 emails on a shared 2-core machine. */
const CAMPAIGN_TIMEOUT_MS = Math.max(120_000, MEMBERS * 15);

const redisUp = await requireRedis("the multi-process test (packages/server/src/multi-process.test.ts)");
const database = useTestDatabase();

let root = "";
let sink: DeliverySink | undefined;
const processes: RoleProcess[] = [];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-multiprocess-"));
  sink = await startDeliverySink({ keepRaw: 5 });
});

afterAll(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop(5000)));
  await sink?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const graphOf = (templateId: string): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "email" } },
    { id: "email", type: "send", channel: "email", templateId, outlets: { next: "exit" } },
    { id: "exit", type: "exit", outlets: {} },
  ],
});

describe.skipIf(!redisUp)("two API, two worker and one tracking process", () => {
  it(
    `run a ${MEMBERS.toLocaleString("en")}-member campaign through a worker's SIGKILL: every member once, no duplicate beyond the in-flight window`,
    async () => {
      const smtp = sink!;
      const shared = (publicUrl: string) =>
        installationEnv({
          DATABASE_URL: database.url,
          REDIS_URL: TEST_REDIS_URL,
          SECRET_KEY: "multi-process test secret, 32 characters or more",
          SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
          OMNEURAL_DATA_DIR: root,
          DATABASE_POOL_SIZE: "6",
          WORKER_CONCURRENCY: "2",
          API_RATE_LIMIT: "0",
          PUBLIC_URL: publicUrl,
        });

      // ---- The installation, started at once; PUBLIC_URL (the links in emails) points at tracking ----
      const startedAt = performance.now();
      const trackingPort = await freePort();
      const env = shared(`http://127.0.0.1:${trackingPort}`);
      const starting = [
        startRole("tracking", "tracking", env, { port: trackingPort }),
        startRole("api", "api-1", env),
        startRole("api", "api-2", env),
        startRole("worker", "worker-1", env),
        startRole("worker", "worker-2", env),
      ];
      // Whatever started is stopped in afterAll, even when another failed to.
      const settled = await Promise.allSettled(starting);
      for (const s of settled) if (s.status === "fulfilled") processes.push(s.value);
      for (const s of settled) if (s.status === "rejected") throw s.reason;
      const [tracking, api1, api2, worker1, worker2] = processes as [
        RoleProcess,
        RoleProcess,
        RoleProcess,
        RoleProcess,
        RoleProcess,
      ];
      const startupMs = performance.now() - startedAt;

      // ---- Through the API processes, in turn ----
      const { workspaceId, apiKey } = JSON.parse(
        await runCommand(["workspace", "create", "Multi-process", "--json"], env),
      ) as { workspaceId: string; apiKey: string };
      let turn = 0;
      const call = async (method: string, url: string, body?: unknown, contentType = "application/json") => {
        const base = [api1, api2][turn++ % 2]!.url!;
        const response = await fetch(`${base}/api/v1${url}`, {
          method,
          headers: {
            authorization: `Bearer ${apiKey}`,
            ...(body === undefined ? {} : { "content-type": contentType }),
          },
          ...(body === undefined
            ? {}
            : { body: contentType === "application/json" ? JSON.stringify(body) : (body as string) }),
        });
        const text = await response.text();
        if (!response.ok) throw new Error(`${method} ${url} (${base}): ${response.status} ${text}`);
        return (text ? JSON.parse(text) : {}) as Record<string, unknown> & { id: string };
      };
      await call("PUT", "/workspace/sender", {
        fromName: "Acme",
        fromAddress: "news@acme.example",
        postalAddress: "Acme Ltd, 1 High Street, Springfield",
      });
      const list = await call("POST", "/audiences", { name: "Everyone", kind: "list" });
      const csv = ["email,first name"];
      for (let i = 1; i <= MEMBERS; i++) csv.push(`member${i}@example.com,Member${i}`);
      const importStarted = performance.now();
      const accepted = await call(
        "POST",
        `/contacts/imports?listId=${list.id}`,
        `${csv.join("\n")}\n`,
        "text/csv",
      );
      const imported = await waitUntil("the import (run by a worker)", 120_000, async () => {
        const job = await call("GET", `/contacts/imports/${accepted.id}`);
        if (job.status === "failed") throw new Error(`import failed: ${JSON.stringify(job)}`);
        return job.status === "completed" ? job : undefined;
      });
      const importMs = performance.now() - importStarted;
      expect((imported.counts as { inserted: number }).inserted).toBe(MEMBERS);
      const template = await call("POST", "/templates", {
        name: "Spring",
        channel: "email",
        content: {
          subject: "Spring is here, {{ firstName }}",
          html: `<p>Hello {{ firstName }},</p><p><a href="${SHOP_URL}">See the collection</a></p>`,
        },
      });
      const workflow = await call("POST", "/workflows", { name: "One email", graph: graphOf(template.id) });
      await call("POST", `/workflows/${workflow.id}/publish`);
      const campaign = await call("POST", "/campaigns", {
        name: "Spring",
        audienceId: list.id,
        workflowId: workflow.id,
      });
      const since = new Date(Date.now() - 1000);
      const launchedAt = performance.now();
      const launch = await call("POST", `/campaigns/${campaign.id}/launch`);
      expect(launch.changed).toBe(MEMBERS);

      // ---- Kill one worker mid-run ----
      await waitUntil(`${KILL_AFTER} deliveries`, CAMPAIGN_TIMEOUT_MS, async () =>
        smtp.accepted.length >= KILL_AFTER ? true : undefined,
      );
      // The provider stops answering for a moment, so that the worker is killed mid-batch: once it holds
      // more messages than one worker has in flight, both workers have their batch leased and messages
      // with the provider, not yet answered. (Held past the SMTP channel's 30 s timeout, they would fail
      // as retryable and be sent again: a slow provider's duplicates, not a crash's.)
      smtp.hold();
      const heldAt = performance.now();
      await waitUntil(
        "both workers to have messages in flight",
        20_000,
        async () => (smtp.held() > IN_FLIGHT ? true : undefined),
        20,
      );
      const heldMs = performance.now() - heldAt;
      const deliveredAtKill = smtp.accepted.length;
      worker1.child.kill("SIGKILL");
      await worker1.exited;
      const killedAt = Date.now();
      processes.splice(processes.indexOf(worker1), 1);
      // The provider accepts what it holds, the killed worker's messages too: it had them whole.
      smtp.release();

      // ---- The other worker finishes: every member has left, every row is sent but the killed batch ----
      const db = database.handle.db;
      const ledger = async () =>
        (
          await sql<{ status: string; n: number; latest_lease: Date | null }>`
          select status, count(*)::int as n, max(lease_until) as latest_lease from messages
          where workspace_id = ${workspaceId} and campaign_id = ${campaign.id} group by status`.execute(db)
        ).rows;
      await waitUntil(
        "the surviving worker to finish the campaign",
        CAMPAIGN_TIMEOUT_MS,
        async () => {
          const { rows } = await sql<{ active: number; status: string }>`
          select (select count(*)::int from enrollments
                  where workspace_id = ${workspaceId} and campaign_id = ${campaign.id} and state = 'active') as active,
                 (select status from campaigns where workspace_id = ${workspaceId} and id = ${campaign.id}) as status`.execute(
            db,
          );
          if (rows[0]!.active > 0 || rows[0]!.status !== "completed") return undefined;
          const byStatus = await ledger();
          const total = byStatus.reduce((n, r) => n + r.n, 0);
          if (total !== MEMBERS || byStatus.some((r) => r.status === "queued")) return undefined;
          // A row the survivor leased would be leased past the kill's time + the lease: none may be left.
          const sending = byStatus.find((r) => r.status === "sending");
          if (sending && sending.latest_lease!.getTime() > killedAt + LEASE_MS) return undefined;
          return true;
        },
        500,
      );
      const finishedMs = performance.now() - launchedAt;
      if (worker2.child.exitCode !== null) throw new Error(`worker-2 exited:\n${worker2.output()}`);

      // ---- Every member completed, once; one ledger row per member per send node ----
      const { rows: states } = await sql<{ state: string; node_id: string; seq: number; n: number }>`
      select state, node_id, seq, count(*)::int as n from enrollments
      where workspace_id = ${workspaceId} and campaign_id = ${campaign.id} group by 1, 2, 3`.execute(db);
      expect(states).toEqual([{ state: "completed", node_id: "exit", seq: 1, n: MEMBERS }]);
      const { rows: counts } = await sql<{ rows: number; members: number; keys: number; steps: number }>`
      select count(*)::int as rows, count(distinct (contact_id, node_id))::int as members,
             count(distinct idempotency_key)::int as keys,
             (select count(*)::int from enrollment_steps
              where workspace_id = ${workspaceId} and campaign_id = ${campaign.id}) as steps
      from messages where workspace_id = ${workspaceId} and campaign_id = ${campaign.id}`.execute(db);
      expect(counts[0]).toEqual({ rows: MEMBERS, members: MEMBERS, keys: MEMBERS, steps: MEMBERS });

      // ---- Deliveries: nothing twice beyond the killed worker's batch ----
      const { rows: ledgerRows } = await sql<{
        id: string;
        idempotency_key: string;
        status: string;
        attempts: number;
        reason: string | null;
      }>`
        select id, idempotency_key, status, attempts, reason from messages
      where workspace_id = ${workspaceId} and campaign_id = ${campaign.id}`.execute(db);
      const keyOfRow = new Map(ledgerRows.map((r) => [messageKeyOfIdempotencyKey(r.idempotency_key), r]));
      const deliveries = new Map<string, number>();
      for (const a of smtp.accepted) {
        const key = messageKey(a.messageId);
        deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      }
      const duplicated = [...deliveries].filter(([, n]) => n > 1).map(([key]) => key);
      const stuck = ledgerRows.filter((r) => r.status !== "sent");
      // The only rows not sent are the killed worker's leased batch: `sending`, or `unknown` once their
      // lease has run out (when the run goes on for longer than the lease after the kill).
      expect(stuck.filter((r) => r.status !== "sending" && r.status !== "unknown")).toEqual([]);
      expect(stuck.length).toBeLessThanOrEqual(DISPATCH_BATCH);
      expect(duplicated.length).toBeLessThanOrEqual(IN_FLIGHT);
      // Every delivery is of a ledger row of this campaign; every sent row was delivered.
      expect([...deliveries.keys()].filter((key) => !keyOfRow.has(key))).toEqual([]);
      for (const row of ledgerRows)
        if (row.status === "sent")
          expect(deliveries.has(messageKeyOfIdempotencyKey(row.idempotency_key))).toBe(true);

      // ---- The reconciliation sees the window: each stuck row accepted or not, each duplicate ----
      const acceptances = [...smtp.accepted];
      const report = await reconcileLedger(db, { workspaceId, since, acceptances });
      expect(report.duplicated.map((d) => messageKey(d.messageId)).sort()).toEqual([...duplicated].sort());
      expect(report.unrecorded).toEqual([]);
      expect(report.sentNotAccepted).toEqual([]);
      expect(report.recreated).toEqual([]);
      const reported = [...report.outcomeLost.map((o) => o.row.id), ...report.unconfirmed.map((r) => r.id)];
      expect(reported.sort()).toEqual(stuck.map((r) => r.id).sort());
      const outcomeLostAtKill = report.outcomeLost.length;
      // The killed worker was caught mid-batch: rows left behind, some of them with the provider.
      expect(stuck.length).toBeGreaterThan(0);
      expect(outcomeLostAtKill).toBeGreaterThan(0);
      expect(outcomeLostAtKill).toBeLessThanOrEqual(IN_FLIGHT);

      // Applied, the runbook's way: accepted rows recorded as sent, the others sent by the survivor.
      const applied = await reconcileLedger(db, {
        workspaceId,
        since,
        acceptances,
        apply: true,
        requeueUnconfirmed: true,
      });
      expect(applied.applied + applied.requeued).toBe(stuck.length);
      await waitUntil("the requeued rows to be sent", 60_000, async () =>
        (await ledger()).every((r) => r.status === "sent") ? true : undefined,
      );
      const finalDeliveries = new Map<string, number>();
      for (const a of smtp.accepted) {
        const key = messageKey(a.messageId);
        finalDeliveries.set(key, (finalDeliveries.get(key) ?? 0) + 1);
      }
      const finalDuplicates = [...finalDeliveries].filter(([, n]) => n > 1).length;
      expect(finalDeliveries.size).toBe(MEMBERS);
      expect(finalDuplicates).toBe(duplicated.length);

      // ---- The tracking process: a click on a delivered email's link redirects and is recorded ----
      const mail = await simpleParser(smtp.raws[0]!);
      const link = new RegExp(`${tracking.url!.replace(/[.:/]/g, "\\$&")}/t/c/[A-Za-z0-9_.~-]+`).exec(
        `${mail.html || ""}\n${mail.text ?? ""}`,
      )?.[0];
      expect(link, "a tracked link in the email").toBeDefined();
      const click = await fetch(link!, {
        redirect: "manual",
        headers: {
          "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
        },
      });
      expect(click.status).toBe(302);
      expect(click.headers.get("location")).toBe(SHOP_URL);
      await waitUntil("the click to be recorded by the tracking process", 15_000, async () => {
        const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from events
        where workspace_id = ${workspaceId} and type = 'message.clicked'`.execute(db);
        return rows[0]!.n === 1 ? true : undefined;
      });

      const figures = {
        members: MEMBERS,
        processes: { api: 2, worker: 2, tracking: 1 },
        startupSeconds: Number((startupMs / 1000).toFixed(1)),
        importSeconds: Number((importMs / 1000).toFixed(1)),
        campaignSeconds: Number((finishedMs / 1000).toFixed(1)),
        membersPerSecond: Math.round(MEMBERS / (finishedMs / 1000)),
        deliveredAtKill,
        providerHeldMs: Math.round(heldMs),
        killedBatchLeftSending: stuck.length,
        killedBatchAcceptedByProvider: outcomeLostAtKill,
        killedBatchNotAccepted: stuck.length - outcomeLostAtKill,
        duplicateDeliveries: duplicated.length,
        // Connections the provider saw reset (the killed worker's, when it died mid-message).
        providerConnectionErrors: smtp.connectionErrors.map(
          (e) => (e as NodeJS.ErrnoException).code ?? e.message,
        ),
        duplicatedRows: duplicated.map((key) => {
          const row = keyOfRow.get(key)!;
          return { status: row.status, attempts: row.attempts, reason: row.reason };
        }),
        reconciliation: reconciliationSummary(report),
      };
      console.log(
        `multi-process: ${MEMBERS} members through 2 api, 2 worker, 1 tracking; worker-1 SIGKILLed after ${deliveredAtKill} deliveries; campaign done in ${figures.campaignSeconds} s (${figures.membersPerSecond} members/s); killed batch left sending: ${stuck.length} (${outcomeLostAtKill} accepted by the provider); duplicate deliveries: ${duplicated.length}`,
      );
      console.log(`MULTI_PROCESS_FIGURES ${JSON.stringify(figures)}`);

      // Clean shutdown of the rest.
      for (const p of processes.splice(0)) await p.stop();
    },
    CAMPAIGN_TIMEOUT_MS + 180_000,
  );
});
