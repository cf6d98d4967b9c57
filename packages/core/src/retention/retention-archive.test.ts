/**
 * The `archive` action and the `duplicates` policy. Archive: the dry run counts what the real run
 * archives, without the confirmation threshold; an archived contact keeps its data but is in no segment
 * or list count, no campaign launch or entry, and is sent nothing; restore (or a new engagement) brings
 * it back; an archive policy does not select it again, a delete policy does; GDPR export and erasure
 * still work. Duplicates: the dry run counts what the real run merges, in batches, with the most
 * restrictive consent, and a second run finds nothing.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import {
  audienceMembers,
  countAudience,
  createAudience,
  previewAudience,
} from "../audiences/audience.service.ts";
import { enrollOne } from "../campaigns/campaign.service.ts";
import { enterCampaign } from "../campaigns/entry.ts";
import {
  getContact,
  restoreContact,
  searchContacts,
  type WorkspaceContext,
} from "../contacts/contact.service.ts";
import { eraseContact } from "../contacts/erasure.service.ts";
import { exportContact } from "../contacts/export.service.ts";
import type { ConsentStatus } from "../db/schema.ts";
import { createDevInboxEmailChannel } from "../delivery/dev-inbox.ts";
import { dispatchBatch } from "../delivery/dispatcher.ts";
import { setSender } from "../delivery/sender.service.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { launchGraph, newWorkspaceContext, queueOneSend, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { RETURN_ADDRESS } from "../testing/mail.ts";
import {
  ARCHIVED_REASON,
  putRetentionPolicy,
  runRetentionPolicy,
  runScheduledRetention,
} from "./retention.service.ts";

const database = useTestDatabase();
const db = () => database.handle.db;
const DAY = 86_400_000;
const T0 = new Date("2031-01-01T12:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const KEY = TEST_KEYS.tombstones;

const EXIT_GRAPH: WorkflowGraph = {
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
};

let clock = at(-500).getTime();

interface Seed {
  email?: string | null;
  phone?: string | null;
  firstName?: string;
  lastName?: string;
  line1?: string;
  postalCode?: string;
  externalId?: string;
  createdDaysAgo?: number;
  emailConsent?: ConsentStatus;
}

/** A contact as stored; without createdDaysAgo each one is a second newer than the last (merge order). */
async function addContact(ws: WorkspaceContext, s: Seed = {}): Promise<string> {
  const created = s.createdDaysAgo === undefined ? new Date((clock += 1000)) : at(-(s.createdDaysAgo ?? 400));
  const id = uuidv7(created.getTime());
  await sql`
    insert into contacts (workspace_id, id, external_id, email, phone, first_name, last_name, address_line1,
                          postal_code, email_consent, created_at, updated_at)
    values (${ws.id}, ${id}, ${s.externalId ?? null}, ${s.email === undefined ? `${id}@example.com` : s.email},
            ${s.phone ?? null}, ${s.firstName ?? null}, ${s.lastName ?? null}, ${s.line1 ?? null},
            ${s.postalCode ?? null}, ${s.emailConsent ?? "subscribed"}, ${created}, ${created})`.execute(
    db(),
  );
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
  const list = await createAudience(db(), ws, { name: `list ${uuidv7()}`, kind: "list" });
  for (const contactId of contactIds)
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${list.id}, ${contactId})`.execute(
      db(),
    );
  return list.id;
}

const archivedAt = async (ws: WorkspaceContext, id: string) => (await getContact(db(), ws, id)).archivedAt;

describe("the archive action", () => {
  let ws: WorkspaceContext;
  let silent: string[];
  let engaged: string;
  let fresh: string;
  let listId: string;
  let segmentId: string;
  const HAS_EMAIL = { kind: "field", field: "email", type: "string", condition: { op: "exists" } } as const;

  beforeAll(async () => {
    ws = await newWorkspaceContext(db());
    silent = [await addContact(ws), await addContact(ws), await addContact(ws)];
    await addEvent(ws, silent[0]!, "purchase", at(-300), { sku: "kept" });
    engaged = await addContact(ws, { createdDaysAgo: 400 });
    await addEvent(ws, engaged, "message.clicked", at(-3));
    fresh = await addContact(ws, { createdDaysAgo: 2 });
    listId = await newList(ws, [silent[0]!, silent[1]!, engaged]);
    segmentId = (await createAudience(db(), ws, { name: "has email", definition: HAS_EMAIL })).id;
    // A tiny maxShare: archiving is not held by the confirmation threshold.
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "archive" },
      maxShare: 0.01,
    });
  });

  it("archives exactly what the dry run counted, unconfirmed, keeping every row", async () => {
    expect((await countAudience(db(), ws, segmentId, 0, T0)).count).toBe(5);
    expect((await countAudience(db(), ws, listId, 0, T0)).count).toBe(3);

    const dry = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: T0 });
    expect(dry.counts).toEqual({ archived: 3 });
    expect(dry.sample.map((s) => s.id).sort()).toEqual([...silent].sort());
    expect(dry.sample.every((s) => s.action === "archive")).toBe(true);
    for (const id of silent) expect(await archivedAt(ws, id)).toBeNull();

    const real = await runRetentionPolicy(db(), ws, "outdated_prospects", {
      now: T0,
      dryRun: false,
      batchSize: 2,
    });
    expect(real).toMatchObject({ status: "completed", counts: { archived: 3 }, batches: 2 });
    for (const id of silent) expect(await archivedAt(ws, id)).toBe(T0.toISOString());
    expect(await archivedAt(ws, engaged)).toBeNull();
    expect(await archivedAt(ws, fresh)).toBeNull();
    // Nothing of theirs is gone: profile, events and memberships stay.
    const kept = await getContact(db(), ws, silent[0]!);
    expect(kept.email).toBe(`${silent[0]}@example.com`);
    const { rows } = await sql<{ events: number; members: number }>`
      select (select count(*)::int from events where workspace_id = ${ws.id} and contact_id = ${silent[0]!}) as events,
             (select count(*)::int from list_members where workspace_id = ${ws.id} and list_id = ${listId}) as members`.execute(
      db(),
    );
    expect(rows[0]).toEqual({ events: 1, members: 3 });
  });

  it("does not select an archived contact again", async () => {
    expect((await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(1) })).counts).toEqual({
      archived: 0,
    });
    const again = await runRetentionPolicy(db(), ws, "outdated_prospects", { now: at(1), dryRun: false });
    expect(again).toMatchObject({ status: "completed", counts: {}, batches: 0 });
  });

  it("leaves archived contacts out of segment and list counts, previews and members", async () => {
    expect((await countAudience(db(), ws, segmentId, 0, at(1))).count).toBe(2);
    expect((await countAudience(db(), ws, listId, 0, at(1))).count).toBe(1);
    const preview = await previewAudience(db(), ws, HAS_EMAIL, at(1));
    expect(preview.count).toBe(2);
    expect(preview.sample.map((c) => c.id).sort()).toEqual([engaged, fresh].sort());
    expect((await audienceMembers(db(), ws, listId, {}, at(1))).data.map((c) => c.id)).toEqual([engaged]);
    expect((await audienceMembers(db(), ws, segmentId, {}, at(1))).data).toHaveLength(2);
  });

  it("hides archived contacts from the contact list unless asked", async () => {
    const ids = async (archived?: "exclude" | "include" | "only") =>
      (await searchContacts(db(), ws, archived ? { archived } : {})).data.map((c) => c.id).sort();
    expect(await ids()).toEqual([engaged, fresh].sort());
    expect(await ids("only")).toEqual([...silent].sort());
    expect(await ids("include")).toHaveLength(5);
  });

  it("enrolls no archived contact at launch, by entry or one by one", async () => {
    const campaign = await launchGraph(db(), ws, listId, EXIT_GRAPH, at(1));
    expect(campaign.enrolled).toBe(1);
    const entered = await enterCampaign(
      db(),
      ws.id,
      campaign.id,
      [{ contactId: silent[1]!, cause: "event:archived-1", event: null, why: "test" }],
      at(1),
    );
    expect(entered).toEqual({ entered: 0, reentered: 0 });
    await expect(enrollOne(db(), ws, campaign.id, silent[1]!, at(1))).rejects.toMatchObject({
      code: "CONFLICT",
    });

    // Restored, the contact is a member again: counted, entered.
    const restored = await restoreContact(db(), ws, silent[1]!, at(2));
    expect(restored.archivedAt).toBeNull();
    expect((await countAudience(db(), ws, listId, 0, at(2))).count).toBe(2);
    expect((await countAudience(db(), ws, segmentId, 0, at(2))).count).toBe(3);
    const back = await enterCampaign(
      db(),
      ws.id,
      campaign.id,
      [{ contactId: silent[1]!, cause: "event:restored-1", event: null, why: "test" }],
      at(2),
    );
    expect(back).toEqual({ entered: 1, reentered: 0 });
    // Restoring a contact that is not archived changes nothing.
    expect((await restoreContact(db(), ws, engaged, at(2))).archivedAt).toBeNull();
  });

  it("is restored by a new engagement, not by a mail scanner's open", async () => {
    const id = silent[2]!;
    await addEvent(ws, id, "message.opened", at(3), { machine: true });
    expect(await archivedAt(ws, id)).toBe(T0.toISOString());
    await addEvent(ws, id, "purchase", at(3));
    expect(await archivedAt(ws, id)).toBeNull();
  });

  it("exports and erases an archived contact", async () => {
    const exported = await exportContact(db(), ws, silent[0]!, { tombstoneKey: KEY });
    expect(exported.contact).toMatchObject({ id: silent[0], archivedAt: T0.toISOString() });
    expect(exported.events).toHaveLength(1);
    // The archive dry run's sample showed its email (an archived contact keeps it) ...
    const email = `${silent[0]}@example.com`;
    const samplesWith = async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from retention_runs
        where workspace_id = ${ws.id} and strpos(sample::text, ${email}) > 0`.execute(db());
      return rows[0]!.n;
    };
    expect(await samplesWith()).toBe(1);
    const erased = await eraseContact(db(), ws, silent[0]!, { tombstoneKey: KEY });
    expect(erased.erased).toBe(true);
    await expect(getContact(db(), ws, silent[0]!)).rejects.toMatchObject({ code: "NOT_FOUND" });
    // ... and erasure removes it from there too.
    expect(await samplesWith()).toBe(0);
  });
});

describe("archiving and sending", () => {
  it("cancels queued sends at archiving; the dispatcher skips a send still queued", async () => {
    const ws = await newWorkspaceContext(db());
    await setSender(db(), ws, {
      fromName: "Acme Books",
      fromAddress: "news@acme.example",
      postalAddress: RETURN_ADDRESS,
    });
    const template = (
      await createTemplate(db(), ws, {
        name: "hello",
        channel: "email",
        content: { subject: "Hi", html: "<p>Hello</p>" },
      })
    ).id;
    // Undeliverable by email (bounced), with an email queued to it all the same.
    const bounced = await addContact(ws, { emailConsent: "bounced" });
    const archivedLater = await addContact(ws);
    const bystander = await addContact(ws);
    const campaign = await queueOneSend(
      db(),
      ws,
      [bounced, archivedLater, bystander],
      { channel: "email", templateId: template },
      T0,
    );
    await putRetentionPolicy(db(), ws, "undeliverable", { enabled: true, settings: { action: "archive" } });
    const dry = await runRetentionPolicy(db(), ws, "undeliverable", { now: at(0.5) });
    expect(dry.counts).toEqual({ archived: 1 });
    const real = await runRetentionPolicy(db(), ws, "undeliverable", { now: at(0.5), dryRun: false });
    expect(real.counts).toEqual({ archived: 1 });

    // A contact archived with a send still queued (here, by hand): the dispatcher skips it.
    await sql`update contacts set archived_at = ${at(0.5)} where workspace_id = ${ws.id} and id = ${archivedLater}`.execute(
      db(),
    );
    await dispatchBatch(db(), "email", {
      links: TEST_LINKS,
      channels: { email: createDevInboxEmailChannel(db()) },
      now: at(0.6),
    });
    const { rows } = await sql<{ contact_id: string; status: string; reason: string | null }>`
      select contact_id, status, reason from messages
      where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(db());
    const byContact = new Map(rows.map((r) => [r.contact_id, r]));
    expect(byContact.get(bounced)).toMatchObject({ status: "cancelled", reason: ARCHIVED_REASON });
    expect(byContact.get(archivedLater)).toMatchObject({ status: "skipped" });
    expect(byContact.get(archivedLater)!.reason).toMatch(/^the contact is archived/);
    expect(byContact.get(bystander)).toMatchObject({ status: "sent" });

    // A delete policy still takes an archived contact: archiving does not shield it from deletion.
    await putRetentionPolicy(db(), ws, "undeliverable", {
      enabled: true,
      settings: { action: "archive" },
    });
    expect((await runRetentionPolicy(db(), ws, "undeliverable", { now: at(1) })).counts).toEqual({
      archived: 0,
    });
    await putRetentionPolicy(db(), ws, "undeliverable", {
      enabled: true,
      settings: { action: "delete" },
      maxShare: 1,
    });
    const deleted = await runRetentionPolicy(db(), ws, "undeliverable", {
      now: at(1),
      dryRun: false,
      tombstoneKey: KEY,
    });
    expect(deleted.counts).toEqual({ deleted: 1 });
    await expect(getContact(db(), ws, bounced)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("a campaign's launch leaves out an archived member of its list", async () => {
    const ws = await newWorkspaceContext(db());
    const archived = await addContact(ws);
    const active = await addContact(ws);
    await sql`update contacts set archived_at = ${T0} where workspace_id = ${ws.id} and id = ${archived}`.execute(
      db(),
    );
    const listId = await newList(ws, [archived, active]);
    const campaign = await launchGraph(db(), ws, listId, EXIT_GRAPH, T0);
    const { rows } = await sql<{ contact_id: string }>`
      select contact_id from enrollments where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(
      db(),
    );
    expect(rows.map((r) => r.contact_id)).toEqual([active]);
  });
});

describe("the duplicates policy", () => {
  let ws: WorkspaceContext;
  const c = {} as Record<
    | "ada"
    | "adaTwin"
    | "zoe"
    | "zoeTwin"
    | "zoeThird"
    | "phone"
    | "phoneTwin"
    | "conflictA"
    | "conflictB"
    | "alone",
    string
  >;

  beforeAll(async () => {
    ws = await newWorkspaceContext(db());
    // Email: one Gmail mailbox spelled twice; the newer one unsubscribed.
    c.ada = await addContact(ws, { email: "ada.lovelace@gmail.com", emailConsent: "subscribed" });
    c.adaTwin = await addContact(ws, { email: "adalovelace+news@gmail.com", emailConsent: "unsubscribed" });
    // Name and address: three of them, no email.
    const zoe = { firstName: "Zoë", lastName: "Müller", line1: "1 Main St.", postalCode: "10115" };
    c.zoe = await addContact(ws, { ...zoe, email: null });
    c.zoeTwin = await addContact(ws, { ...zoe, firstName: "ZOE", email: null });
    c.zoeThird = await addContact(ws, { ...zoe, lastName: "MULLER", email: null });
    // Phone: one written around the normaliser.
    c.phone = await addContact(ws, { phone: "+14155550101", email: null });
    c.phoneTwin = await addContact(ws, { phone: "+1 (415) 555-0101", email: null });
    // Different external ids: the source system says they are two people.
    c.conflictA = await addContact(ws, { email: "sam.smith@gmail.com", externalId: "crm-1" });
    c.conflictB = await addContact(ws, { email: "samsmith@gmail.com", externalId: "crm-2" });
    c.alone = await addContact(ws);
    await putRetentionPolicy(db(), ws, "duplicates", { enabled: true, settings: {}, maxShare: 0.2 });
  });

  const contactsLeft = async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from contacts where workspace_id = ${ws.id}`.execute(db());
    return rows[0]!.n;
  };

  it("rejects unknown reasons", async () => {
    await expect(
      putRetentionPolicy(db(), ws, "duplicates", { enabled: true, settings: { match: ["name"] } }),
    ).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("merges exactly what the dry run counted, in batches, keeping the most restrictive consent", async () => {
    const dry = await runRetentionPolicy(db(), ws, "duplicates", { now: T0 });
    expect(dry.counts).toEqual({
      groups: 3,
      merged: 4,
      email: 1,
      phone: 1,
      name_and_address: 2,
      skippedConflictingExternalIds: 1,
    });
    expect(dry.sample).toContainEqual({
      id: c.adaTwin,
      email: "adalovelace+news@gmail.com",
      action: "merge",
      into: c.ada,
    });
    expect(await contactsLeft()).toBe(10);

    // Four of ten contacts merged away is more than maxShare (0.2): a real run needs confirmation.
    const unconfirmed = await runRetentionPolicy(db(), ws, "duplicates", { now: T0, dryRun: false });
    expect(unconfirmed).toMatchObject({ status: "needs_confirmation", counts: { merged: 4 } });
    expect(await contactsLeft()).toBe(10);

    const real = await runRetentionPolicy(db(), ws, "duplicates", {
      now: T0,
      dryRun: false,
      confirm: true,
      batchSize: 1,
    });
    expect(real.status).toBe("completed");
    expect(real.counts).toEqual(dry.counts);
    expect(real.batches).toBeGreaterThan(1);
    // A real run's sample keeps no email of the contacts merged away.
    expect(real.sample.every((s) => s.email === null)).toBe(true);
    expect(await contactsLeft()).toBe(6);

    const ada = await getContact(db(), ws, c.ada);
    expect(ada.consent.email).toBe("unsubscribed");
    const { rows } = await sql<{ cause: string; actor: string }>`
      select cause, actor from contact_merges where workspace_id = ${ws.id} order by cause`.execute(db());
    expect(rows.map((r) => r.cause)).toEqual(["policy:email", "policy:name_and_address", "policy:phone"]);
    const ledger = await sql<{ source: string; status: string }>`
      select source, status from consent_changes where workspace_id = ${ws.id} and contact_id = ${c.ada}`.execute(
      db(),
    );
    expect(ledger.rows).toContainEqual({ source: "merge", status: "unsubscribed" });
    for (const id of [c.zoe, c.phone, c.conflictA, c.conflictB, c.alone])
      expect((await getContact(db(), ws, id)).id).toBe(id);
  });

  it("finds nothing the second time", async () => {
    const again = await runRetentionPolicy(db(), ws, "duplicates", { now: at(1) });
    expect(again.counts).toEqual({ groups: 0, merged: 0, skippedConflictingExternalIds: 1 });
    const real = await runRetentionPolicy(db(), ws, "duplicates", { now: at(1), dryRun: false });
    expect(real).toMatchObject({ status: "completed", counts: { skippedConflictingExternalIds: 1 } });
    expect(await contactsLeft()).toBe(6);
  });

  it("stops after maxGroups and says there is more", async () => {
    const other = await newWorkspaceContext(db());
    for (const name of ["a.b", "c.d", "e.f"]) {
      await addContact(other, { email: `${name}@gmail.com` });
      await addContact(other, { email: `${name.replace(".", "")}@gmail.com` });
    }
    await putRetentionPolicy(db(), other, "duplicates", {
      enabled: true,
      settings: { match: ["email"], maxGroups: 2 },
      maxShare: 1,
    });
    const dry = await runRetentionPolicy(db(), other, "duplicates", { now: T0 });
    expect(dry.counts).toEqual({ groups: 2, merged: 2, email: 2, more: 1 });
    const real = await runRetentionPolicy(db(), other, "duplicates", { now: T0, dryRun: false });
    expect(real.counts).toEqual(dry.counts);
    const last = await runRetentionPolicy(db(), other, "duplicates", { now: T0, dryRun: false });
    expect(last.counts).toEqual({ groups: 1, merged: 1, email: 1 });
  });

  it("keeps the merged contact visible when only the survivor was archived", async () => {
    const other = await newWorkspaceContext(db());
    const older = await addContact(other, { email: "archived.one@gmail.com" });
    const newer = await addContact(other, { email: "archivedone@gmail.com" });
    await sql`update contacts set archived_at = ${T0} where workspace_id = ${other.id} and id = ${older}`.execute(
      db(),
    );
    await putRetentionPolicy(db(), other, "duplicates", { enabled: true, settings: {}, maxShare: 1 });
    const real = await runRetentionPolicy(db(), other, "duplicates", { now: T0, dryRun: false });
    expect(real.counts).toMatchObject({ groups: 1, merged: 1 });
    expect(await archivedAt(other, older)).toBeNull();
    await expect(getContact(db(), other, newer)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("runs daily when enabled, as the other policies", async () => {
    const other = await newWorkspaceContext(db());
    await addContact(other, { email: "daily.run@gmail.com" });
    await addContact(other, { email: "dailyrun@gmail.com" });
    await putRetentionPolicy(db(), other, "duplicates", { enabled: true, settings: {}, maxShare: 1 });
    const runs = await runScheduledRetention(db(), { now: at(10), tombstoneKey: KEY });
    const own = runs.filter((r) => r.kind === "duplicates" && r.counts.email === 1);
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({
      trigger: "schedule",
      status: "completed",
      counts: { groups: 1, merged: 1 },
    });
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from contacts where workspace_id = ${other.id}`.execute(db());
    expect(rows[0]!.n).toBe(1);
  });
});
