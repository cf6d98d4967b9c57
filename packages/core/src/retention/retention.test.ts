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
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import { getContact, upsertContact, type WorkspaceContext } from "../contacts/contact.service.ts";
import { tombstoneAddress } from "../contacts/suppression.ts";
import { createDevInboxEmailChannel, createDevInboxSmsChannel } from "../delivery/dev-inbox.ts";
import { type DispatchKind, dispatchBatch } from "../delivery/dispatcher.ts";
import { createPrintBatchChannel } from "../delivery/print-batch-channel.ts";
import { setSender } from "../delivery/sender.service.ts";
import { recordEvents } from "../events/event.service.ts";
import { getCampaignReport } from "../reports/report.service.ts";
import { writeResponses } from "../responses/response.service.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { sendTestMessage } from "../templates/test-send.ts";
import { drain, launchGraph, newWorkspaceContext, publishGraph, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { ADDRESS, mailTemplate, RETURN_ADDRESS } from "../testing/mail.ts";
import { scanEveryTable } from "../testing/personal-data.ts";
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

describe("the anonymise action", () => {
  const PERSON = {
    externalId: "crm-ottoline-0042",
    email: "ottoline.wexford@example.org",
    phone: "+14155550177",
    firstName: "Ottoline",
    lastName: "Wexford",
    line1: "77 Quillfeather Lane",
    favourite: "Brambleworth",
  };
  let ws: WorkspaceContext;
  let contactId: string;
  let campaignId: string;
  let listId: string;
  let emailTemplate: string;
  let smsTemplate: string;
  let bystander: string;

  const dispatch = (kind: DispatchKind, now: Date) =>
    dispatchBatch(db(), kind, {
      links: TEST_LINKS,
      channels: {
        email: createDevInboxEmailChannel(db()),
        sms: createDevInboxSmsChannel(db()),
        mail: createPrintBatchChannel(db()),
      },
      now,
    });

  beforeAll(async () => {
    ws = await newWorkspaceContext(db());
    await setSender(db(), ws, {
      fromName: "Acme Books",
      fromAddress: "news@acme.example",
      postalAddress: RETURN_ADDRESS,
      smsFrom: "+14155550100",
    });
    emailTemplate = (
      await createTemplate(db(), ws, {
        name: "welcome",
        channel: "email",
        content: {
          subject: "Hello {{ firstName }}",
          html: '<p>Hi {{ firstName }} {{ lastName }}, see <a href="https://shop.example/books">our books</a></p>',
        },
      })
    ).id;
    smsTemplate = (
      await createTemplate(db(), ws, {
        name: "nudge",
        channel: "sms",
        content: { body: "{{ firstName }}, 20% off today: https://shop.example/sms-sale" },
      })
    ).id;
    const letter = await mailTemplate(db(), ws, "letter");
    const { contact } = await upsertContact(
      db(),
      ws,
      {
        externalId: PERSON.externalId,
        email: PERSON.email,
        phone: PERSON.phone,
        firstName: PERSON.firstName,
        lastName: PERSON.lastName,
        address: {
          line1: PERSON.line1,
          city: ADDRESS.city,
          region: ADDRESS.region,
          postalCode: ADDRESS.postalCode,
          country: "US",
        },
        timezone: "Europe/Paris", // 13:00 at T0: inside the SMS sending hours
        attributes: { favouriteAuthor: PERSON.favourite },
        consent: { email: "subscribed", sms: "subscribed", mail: "subscribed" },
      },
      { source: "api", id: "key-1" },
    );
    contactId = contact.id;
    // Someone else, engaged recently: untouched by the policy.
    bystander = (
      await upsertContact(db(), ws, { email: "bystander@example.org" }, { source: "api", id: "key-1" })
    ).contact.id;
    await recordEvents(
      db(),
      ws,
      [{ contactId, type: "purchase", properties: { note: `gift for ${PERSON.firstName}`, amount: 42 } }],
      T0,
    );
    listId = await newList(ws, [contactId]);
    const { workflowId } = await publishGraph(db(), ws, {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "email" } },
        { id: "email", type: "send", channel: "email", templateId: emailTemplate, outlets: { next: "sms" } },
        { id: "sms", type: "send", channel: "sms", templateId: smsTemplate, outlets: { next: "letter" } },
        { id: "letter", type: "send", channel: "mail", templateId: letter, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    });
    campaignId = (await createCampaign(db(), ws, { name: "spring", audienceId: listId, workflowId })).id;
    await launchCampaign(db(), ws, campaignId, T0);
    await drain(db(), ws.id, campaignId, { now: T0 });
    for (const kind of ["email", "sms", "mail"] as const)
      expect(await dispatch(kind, at(0.001)), kind).toMatchObject({ sent: 1 });
    const { rows: sent } = await sql<{ id: string; channel: string }>`
      select id, channel from messages where workspace_id = ${ws.id} and contact_id = ${contactId}`.execute(
      db(),
    );
    await writeResponses(
      db(),
      [
        { kind: "opened", at: at(0.002), properties: {} },
        { kind: "clicked", at: at(0.003), properties: { url: "https://shop.example/books" } },
        { kind: "unsubscribed", at: at(0.004), properties: { method: "one-click" } },
      ].map((r) => ({
        ...r,
        id: uuidv7(),
        workspaceId: ws.id,
        messageId: sent.find((m) => m.channel === "email")!.id,
      })) as never,
      at(0.005),
    );
    await sendTestMessage(
      db(),
      ws,
      emailTemplate,
      { to: PERSON.email, contactId },
      { email: createDevInboxEmailChannel(db()), now: at(0.006) },
    );
    // Rows that can quote the person: an entering event, an audience log cause, a consent-change reason.
    await sql`
      update enrollments set trigger_event = ${JSON.stringify({ type: "signup", properties: { email: PERSON.email } })}::jsonb
      where workspace_id = ${ws.id} and contact_id = ${contactId}`.execute(db());
    await sql`
      insert into audience_transitions (workspace_id, audience_id, contact_id, transition, cause, at)
      values (${ws.id}, ${listId}, ${contactId}, 'entered', ${`import of ${PERSON.email}`}, ${T0})`.execute(
      db(),
    );
    await sql`
      insert into consent_changes (workspace_id, contact_id, channel, status, source, actor, reason, changed_at)
      values (${ws.id}, ${contactId}, 'sms', 'subscribed', 'api', ${PERSON.email}, ${`texted by ${PERSON.phone}`},
              ${T0})`.execute(db());
    await addEvent(ws, bystander, "purchase", at(395));
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "anonymise" },
      maxShare: 1,
    });
  });

  const needles = () => [
    PERSON.externalId,
    PERSON.email,
    PERSON.phone,
    PERSON.firstName,
    PERSON.lastName,
    PERSON.line1,
    PERSON.favourite,
  ];

  it("keeps the contact and every count, and leaves no personal data in any table", async () => {
    const reportBefore = await getCampaignReport(db(), ws, campaignId, at(1));
    const countsBefore = await rowCounts(ws, contactId);
    const hitsBefore = await scanEveryTable(db(), needles());
    expect(hitsBefore).toEqual(
      expect.arrayContaining([
        `contacts.email: ${PERSON.email}`,
        `contacts.external_id: ${PERSON.externalId}`,
        `contacts.attributes: ${PERSON.favourite}`,
        `events.properties: ${PERSON.firstName}`,
        `outbox.content: ${PERSON.lastName}`,
        `print_pieces.piece: ${PERSON.line1}`,
        `template_test_sends.recipient: ${PERSON.email}`,
        `enrollments.trigger_event: ${PERSON.email}`,
        `audience_transitions.cause: ${PERSON.email}`,
        `consent_changes.reason: ${PERSON.phone}`,
      ]),
    );

    const dry = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(400) });
    expect(dry.counts).toEqual({ anonymised: 1 });
    expect(dry.sample).toEqual([{ id: contactId, email: PERSON.email, action: "anonymise" }]);
    const real = await runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: at(400),
      dryRun: false,
      tombstoneKey: KEY,
    });
    expect(real.status).toBe("completed");
    expect(real.counts).toEqual(dry.counts);

    expect(await scanEveryTable(db(), needles())).toEqual([]);
    // The contact, its consent statuses and everything that counts stay.
    const contact = await getContact(db(), ws, contactId);
    expect(contact).toMatchObject({
      id: contactId,
      externalId: null,
      email: null,
      phone: null,
      firstName: null,
      lastName: null,
      address: { line1: null, line2: null, city: null, region: null, postalCode: null, country: null },
      timezone: null,
      attributes: {},
      consent: { email: "unsubscribed", sms: "subscribed", mail: "subscribed" },
      anonymisedAt: at(400).toISOString(),
    });
    expect((await getContact(db(), ws, bystander)).anonymisedAt).toBeNull();
    const countsAfter = await rowCounts(ws, contactId);
    expect(countsAfter).toEqual({
      ...countsBefore,
      // Deleted as erasure deletes them: rendered bodies, print pieces, PURLs, short links.
      outbox: 0,
      print_pieces: 0,
      purls: 0,
      short_links: 0,
    });
    expect(countsBefore.outbox).toBeGreaterThan(0);
    expect(await getCampaignReport(db(), ws, campaignId, at(1))).toEqual(reportBefore);

    // The opted-out email and the subscribed phone: only the opted-out one is kept, as a tombstone.
    const { rows: tombstones } = await sql<{ channel: string; address: string }>`
      select channel, address from suppressions where workspace_id = ${ws.id} and source = 'erasure'`.execute(
      db(),
    );
    expect(tombstones).toEqual([{ channel: "email", address: tombstoneAddress(KEY, ws.id, PERSON.email) }]);
  });

  it("is idempotent: an anonymised contact is never selected again, by either contact policy", async () => {
    const again = await runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: at(400),
      dryRun: false,
      tombstoneKey: KEY,
    });
    expect(again.counts).toEqual({});
    // Later, the bystander is outdated too; the anonymised contact is still not selected.
    const later = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(800) });
    expect(later.sample.map((r) => r.id)).toEqual([bystander]);
    await putRetentionPolicy(db(), ws, "undeliverable", {
      enabled: true,
      settings: { action: "anonymise" },
      maxShare: 1,
    });
    expect((await runRetentionPolicy(db(), ws, "undeliverable", { now: at(800) })).counts).toEqual({
      anonymised: 0,
    });
    expect((await getContact(db(), ws, contactId)).anonymisedAt).toBe(at(400).toISOString());
  });

  it("sends nothing to an anonymised contact: it has no address", async () => {
    // SMS consent is still `subscribed`: only the missing phone number stops the send.
    const { workflowId } = await publishGraph(db(), ws, {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "sms" } },
        { id: "sms", type: "send", channel: "sms", templateId: smsTemplate, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    });
    const again = (await createCampaign(db(), ws, { name: "summer", audienceId: listId, workflowId })).id;
    await launchCampaign(db(), ws, again, at(801));
    await drain(db(), ws.id, again, { now: at(801) });
    await dispatch("sms", at(801.001));
    const { rows } = await sql<{ status: string; reason: string | null }>`
      select status, reason from messages where workspace_id = ${ws.id} and campaign_id = ${again}`.execute(
      db(),
    );
    expect(rows).toEqual([{ status: "skipped", reason: "the contact has no phone number" }]);
  });
});

/** Rows per table that belong to the contact (directly or through its ledger rows). */
async function rowCounts(ws: WorkspaceContext, contactId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of [
    "contacts",
    "messages",
    "events",
    "enrollments",
    "enrollment_steps",
    "list_members",
    "audience_transitions",
    "consent_changes",
  ]) {
    const column = table === "contacts" ? "id" : "contact_id";
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from ${sql.table(table)}
      where workspace_id = ${ws.id} and ${sql.ref(column)} = ${contactId}`.execute(db());
    counts[table] = rows[0]!.n;
  }
  for (const table of ["outbox", "print_pieces", "purls", "short_links"]) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from ${sql.table(table)} t
      where t.workspace_id = ${ws.id} and t.message_id in (
        select id from messages where workspace_id = ${ws.id} and contact_id = ${contactId})`.execute(db());
    counts[table] = rows[0]!.n;
  }
  return counts;
}
