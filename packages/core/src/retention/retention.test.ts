/**
 * Retention policies: each policy's dry run counts exactly what its real run then does, and the rows are
 * really gone; machine opens are not engagement; journeys in progress protect a contact; re-permission
 * enrolls first and acts only after the grace period; the confirmation threshold; a run killed after
 * one batch leaves whole contacts and the next run finishes it; opted-out addresses leave tombstones.
 */
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { tombstoneAddress } from "../contacts/suppression.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { uuidv7 } from "../shared/ids.ts";
import { drain, launchGraph, newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { listRetentionRuns, putRetentionPolicy, runRetentionPolicy } from "./retention.service.ts";

const database = useTestDatabase();
const db = () => database.handle.db;
const DAY = 86_400_000;
const T0 = new Date("2031-01-01T12:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const KEY = TEST_KEYS.tombstones;

const WAIT_GRAPH: WorkflowGraph = {
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "w" } },
    { id: "w", type: "wait", mode: "duration", duration: { days: 300 }, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
};
const EXIT_GRAPH: WorkflowGraph = {
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
};

interface Seed {
  email?: string | null;
  phone?: string | null;
  line1?: string | null;
  createdDaysAgo?: number;
  email_consent?: string;
  sms_consent?: string;
  mail_consent?: string;
}

async function addContact(ws: WorkspaceContext, s: Seed = {}): Promise<string> {
  const id = uuidv7();
  const created = at(-(s.createdDaysAgo ?? 400));
  await sql`
    insert into contacts (workspace_id, id, email, phone, address_line1, email_consent, sms_consent, mail_consent,
                          created_at, updated_at)
    values (${ws.id}, ${id}, ${s.email === undefined ? `${id}@example.com` : s.email}, ${s.phone ?? null},
            ${s.line1 ?? null}, ${s.email_consent ?? "subscribed"}, ${s.sms_consent ?? "never_asked"},
            ${s.mail_consent ?? "never_asked"}, ${created}, ${created})`.execute(db());
  return id;
}

async function addEvent(ws: WorkspaceContext, contactId: string, type: string, when: Date, properties = {}) {
  await sql`
    insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
    values (${ws.id}, ${uuidv7()}, ${contactId}, ${type}, ${JSON.stringify(properties)}::jsonb, ${when})`.execute(
    db(),
  );
}

async function newList(ws: WorkspaceContext, contactIds: string[]) {
  const id = uuidv7();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${id}, ${`list ${id}`}, 'list')`.execute(
    db(),
  );
  for (const contactId of contactIds)
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${id}, ${contactId})`.execute(
      db(),
    );
  return id;
}

async function existing(ws: WorkspaceContext, ids: string[]) {
  const { rows } = await sql<{ id: string }>`
    select id from contacts where workspace_id = ${ws.id} and id = any(${ids}::uuid[])`.execute(db());
  return new Set(rows.map((r) => r.id));
}

describe("outdated_prospects", () => {
  let ws: WorkspaceContext;
  const c = {} as Record<
    "engaged" | "custom" | "machineOnly" | "oldOpen" | "silent" | "optedOut" | "fresh" | "inJourney",
    string
  >;
  beforeAll(async () => {
    ws = await newWorkspaceContext(db());
    c.engaged = await addContact(ws);
    await addEvent(ws, c.engaged, "message.clicked", at(-10));
    c.custom = await addContact(ws);
    await addEvent(ws, c.custom, "purchase", at(-30));
    c.machineOnly = await addContact(ws);
    await addEvent(ws, c.machineOnly, "message.opened", at(-5), { machine: true });
    c.oldOpen = await addContact(ws);
    await addEvent(ws, c.oldOpen, "message.opened", at(-200));
    c.silent = await addContact(ws);
    c.optedOut = await addContact(ws, { email: "gone@example.com", email_consent: "unsubscribed" });
    c.fresh = await addContact(ws, { createdDaysAgo: 5 });
    c.inJourney = await addContact(ws);
    for (let i = 0; i < 6; i++) await addContact(ws, { createdDaysAgo: 1 });
    await launchGraph(db(), ws, await newList(ws, [c.inJourney]), WAIT_GRAPH, at(-1));
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "delete" },
      maxShare: 0.5,
    });
  });

  it("deletes exactly what the dry run counted: no engagement for N days, no journey in progress", async () => {
    const dry = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0 });
    expect(dry.dryRun).toBe(true);
    expect(dry.counts).toEqual({ deleted: 4 });
    const expected = [c.machineOnly, c.oldOpen, c.silent, c.optedOut];
    expect(dry.sample.map((s) => s.id).sort()).toEqual([...expected].sort());
    expect((await existing(ws, expected)).size).toBe(4);

    const real = await runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: T0,
      dryRun: false,
      tombstoneKey: KEY,
      batchSize: 3,
    });
    expect(real.status).toBe("completed");
    expect(real.counts).toEqual(dry.counts);
    expect(real.batches).toBe(2);
    expect(await existing(ws, expected)).toEqual(new Set());
    expect((await existing(ws, [c.engaged, c.custom, c.fresh, c.inJourney])).size).toBe(4);

    // The opted-out address stays suppressed as a tombstone.
    const { rows } = await sql`
      select 1 from suppressions where workspace_id = ${ws.id} and source = 'erasure'
        and address = ${tombstoneAddress(KEY, ws.id, "gone@example.com")}`.execute(db());
    expect(rows).toHaveLength(1);

    // Idempotent: nothing is left to do.
    const again = await runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: T0,
      dryRun: false,
      tombstoneKey: KEY,
    });
    expect(again.counts).toEqual({});
    const runs = await listRetentionRuns(db(), ws);
    expect(runs.map((r) => r.status)).toEqual(["completed", "completed", "completed"]);
  });
});

describe("the confirmation threshold and interrupted runs", () => {
  it("stops at needs_confirmation above maxShare, and a killed run resumes with whole contacts", async () => {
    const ws = await newWorkspaceContext(db());
    const outdated: string[] = [];
    for (let i = 0; i < 7; i++) outdated.push(await addContact(ws));
    for (let i = 0; i < 3; i++) await addContact(ws, { createdDaysAgo: 1 });
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "delete" },
    });
    const refused = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0, dryRun: false });
    expect(refused.status).toBe("needs_confirmation");
    expect(refused.counts).toEqual({ deleted: 7, workspaceContacts: 10 });
    expect((await existing(ws, outdated)).size).toBe(7);

    const killed = runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: T0,
      dryRun: false,
      confirm: true,
      batchSize: 3,
      afterBatch: () => {
        throw new Error("killed");
      },
    });
    await expect(killed).rejects.toThrow("killed");
    expect((await existing(ws, outdated)).size).toBe(4);
    // Whole contacts only: no orphan left by a half-erased contact.
    const { rows } = await sql`
      select 1 from list_members m where workspace_id = ${ws.id}
        and not exists (select 1 from contacts c where c.workspace_id = m.workspace_id and c.id = m.contact_id)`.execute(
      db(),
    );
    expect(rows).toHaveLength(0);
    const [failed] = await listRetentionRuns(db(), ws);
    expect(failed?.status).toBe("failed");
    expect(failed?.counts).toEqual({ deleted: 3 });

    const dry = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0 });
    expect(dry.counts).toEqual({ deleted: 4 });
    const rest = await runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: T0,
      dryRun: false,
      confirm: true,
    });
    expect(rest.counts).toEqual(dry.counts);
    expect(await existing(ws, outdated)).toEqual(new Set());
  });

  it("continues a run left running by a stopped process", async () => {
    const ws = await newWorkspaceContext(db());
    const ids = [await addContact(ws), await addContact(ws)];
    for (let i = 0; i < 8; i++) await addContact(ws, { createdDaysAgo: 1 });
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "delete" },
    });
    const { rows } = await sql<{ id: string }>`
      insert into retention_runs (workspace_id, kind, dry_run, status, counts, batches)
      values (${ws.id}, 'outdated_prospects', false, 'running', '{"deleted": 5}', 2) returning id`.execute(
      db(),
    );
    const run = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0, dryRun: false });
    expect(run.id).toBe(rows[0]?.id);
    expect(run.counts).toEqual({ deleted: 7 });
    expect(run.batches).toBe(3);
    expect(await existing(ws, ids)).toEqual(new Set());
  });
});

describe("outdated_prospects with a re-permission campaign", () => {
  it("enrolls first, then deletes only those still silent graceDays after", async () => {
    const ws = await newWorkspaceContext(db());
    const a = await addContact(ws);
    const b = await addContact(ws);
    const anchor = await addContact(ws, { createdDaysAgo: 1 });
    const campaign = await launchGraph(db(), ws, await newList(ws, [anchor]), WAIT_GRAPH, at(-1));
    await drain(db(), ws.id, campaign.id, { now: at(-1) });
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "delete", repermissionCampaignId: campaign.id, graceDays: 14 },
      maxShare: 1,
    });
    const dry = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0 });
    expect(dry.counts).toEqual({ deleted: 0, enrolled: 2 });
    const first = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0, dryRun: false });
    expect(first.counts).toEqual({ enrolled: 2 });
    const { rows } = await sql<{ n: number; enrolled: number }>`
      select (select count(*)::int from enrollments where workspace_id = ${ws.id} and campaign_id = ${campaign.id}) as n,
             (select enrolled from campaigns where workspace_id = ${ws.id} and id = ${campaign.id}) as enrolled`.execute(
      db(),
    );
    expect(rows[0]).toEqual({ n: 3, enrolled: 3 });

    // Within the grace period nothing happens; then b engages.
    expect((await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(7) })).counts).toEqual({
      deleted: 0,
      enrolled: 0,
    });
    await addEvent(ws, b, "message.clicked", at(8));
    const later = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(15) });
    expect(later.counts).toEqual({ deleted: 1, enrolled: 0 });
    const real = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(15), dryRun: false });
    expect(real.counts).toEqual({ deleted: 1 });
    expect(await existing(ws, [a, b, anchor])).toEqual(new Set([b, anchor]));
  });
});

describe("undeliverable", () => {
  it("deletes contacts whose every address is bounced, complained or suppressed", async () => {
    const ws = await newWorkspaceContext(db());
    const bouncedAll = await addContact(ws, {
      phone: "+14155550101",
      email_consent: "bounced",
      sms_consent: "complained",
    });
    const emailOnlyBounced = await addContact(ws, { email_consent: "bounced" });
    const suppressedEmail = await addContact(ws, { email: "blocked@example.com" });
    await sql`insert into suppressions (workspace_id, channel, address, reason, source)
              values (${ws.id}, 'email', 'blocked@example.com', 'hard bounce', 'bounce')`.execute(db());
    const bouncedOnOne = await addContact(ws, { phone: "+14155550102", email_consent: "bounced" });
    const mailStillGood = await addContact(ws, { line1: "1 Main St", email_consent: "bounced" });
    const healthy = await addContact(ws);
    const noAddress = await addContact(ws, { email: null });
    await putRetentionPolicy(db(), ws, "undeliverable", {
      enabled: true,
      settings: { action: "delete" },
      maxShare: 1,
    });
    const dry = await runRetentionPolicy(db(), ws, "undeliverable", { now: T0 });
    expect(dry.counts).toEqual({ deleted: 3 });
    const real = await runRetentionPolicy(db(), ws, "undeliverable", {
      now: T0,
      dryRun: false,
      tombstoneKey: KEY,
    });
    expect(real.counts).toEqual(dry.counts);
    expect(
      await existing(ws, [
        bouncedAll,
        emailOnlyBounced,
        suppressedEmail,
        bouncedOnOne,
        mailStillGood,
        healthy,
        noAddress,
      ]),
    ).toEqual(new Set([bouncedOnOne, mailStillGood, healthy, noAddress]));
    const { rows } = await sql`
      select address from suppressions where workspace_id = ${ws.id} and address = 'blocked@example.com'`.execute(
      db(),
    );
    expect(rows).toHaveLength(0); // became a tombstone
    const { rows: tombs } = await sql`
      select 1 from suppressions where workspace_id = ${ws.id} and source = 'erasure'`.execute(db());
    expect(tombs.length).toBe(4); // bouncedAll: email + sms; emailOnlyBounced; suppressedEmail
  });
});

describe("finished_journeys", () => {
  it("purges the history of old finished journeys and old rendered bodies, keeping enrollments and counts", async () => {
    const ws = await newWorkspaceContext(db());
    const members = [await addContact(ws), await addContact(ws), await addContact(ws)];
    const done = await launchGraph(db(), ws, await newList(ws, members), EXIT_GRAPH, at(-100));
    await drain(db(), ws.id, done.id, { now: at(-100) });
    const waiting = await launchGraph(db(), ws, await newList(ws, [members[0]!]), WAIT_GRAPH, at(-100));
    await drain(db(), ws.id, waiting.id, { now: at(-100) });
    await sql`
      insert into outbox (workspace_id, id, channel, recipient, subject, content, headers, created_at)
      values (${ws.id}, ${uuidv7()}, 'email', 'old@example.com', 'old', '{}', '{}', ${at(-60)}),
             (${ws.id}, ${uuidv7()}, 'email', 'new@example.com', 'new', '{}', '{}', ${at(-1)})`.execute(db());
    const report = () =>
      sql<{ metric: string; n: number }>`
      select metric, sum(count)::int as n from report_deltas where workspace_id = ${ws.id} group by metric order by metric`.execute(
        db(),
      );
    const before = (await report()).rows;
    await putRetentionPolicy(db(), ws, "finished_journeys", {
      enabled: true,
      settings: { olderThanDays: 30 },
    });
    const dry = await runRetentionPolicy(db(), ws, "finished_journeys", { now: T0 });
    expect(dry.counts.journeys).toBe(3);
    expect(dry.counts.outbox).toBe(1);
    const real = await runRetentionPolicy(db(), ws, "finished_journeys", {
      now: T0,
      dryRun: false,
      batchSize: 2,
    });
    expect(real.counts).toEqual(dry.counts);
    const { rows } = await sql<{ campaign_id: string; n: number }>`
      select campaign_id, count(*)::int as n from enrollment_steps where workspace_id = ${ws.id} group by campaign_id`.execute(
      db(),
    );
    expect(rows).toEqual([{ campaign_id: waiting.id, n: expect.any(Number) }]);
    const { rows: enrollments } = await sql`select 1 from enrollments where workspace_id = ${ws.id}`.execute(
      db(),
    );
    expect(enrollments).toHaveLength(4);
    const { rows: outbox } = await sql<{
      subject: string;
    }>`select subject from outbox where workspace_id = ${ws.id}`.execute(db());
    expect(outbox).toEqual([{ subject: "new" }]);
    expect((await report()).rows).toEqual(before);
  });
});

describe("print_files", () => {
  it("deletes the files of old written batches and records it", async () => {
    const ws = await newWorkspaceContext(db());
    const dir = await mkdtemp(join(tmpdir(), "retention-"));
    const batch = async (days: number, name: string) => {
      const pdf = join(dir, `${name}.pdf`);
      const csv = join(dir, `${name}.csv`);
      await writeFile(pdf, "pdf");
      await writeFile(csv, "csv");
      await sql`
        insert into print_batches (workspace_id, id, status, cutoff_at, file_name, pdf_path, manifest_path, written_at)
        values (${ws.id}, ${uuidv7()}, 'written', ${at(days)}, ${name}, ${pdf}, ${csv}, ${at(days)})`.execute(
        db(),
      );
    };
    await batch(-100, "old");
    await batch(-2, "new");
    await putRetentionPolicy(db(), ws, "print_files", { enabled: true, settings: { olderThanDays: 30 } });
    const dry = await runRetentionPolicy(db(), ws, "print_files", { now: T0 });
    expect(dry.counts).toEqual({ batches: 1 });
    const real = await runRetentionPolicy(db(), ws, "print_files", { now: T0, dryRun: false });
    expect(real.counts).toEqual({ batches: 1, files: 2 });
    expect((await readdir(dir)).sort()).toEqual(["new.csv", "new.pdf"]);
    expect((await runRetentionPolicy(db(), ws, "print_files", { now: T0 })).counts).toEqual({ batches: 0 });
  });
});
