/**
 * Duplicate contacts: each kind of likely duplicate is found (and only within its workspace); a merge
 * fills the survivor, keeps the most restrictive consent and says so in the ledger, moves events,
 * memberships and journeys, drops the duplicate's journey where the survivor has its own, and logs
 * itself; the policy's dry run counts what the real run then does.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { ConsentStatus } from "../db/schema.ts";
import { AppError } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createTopic, setContactTopic } from "../topics/topic.service.ts";
import type { WorkspaceContext } from "./contact.service.ts";
import { listDuplicateGroups, mergeContacts, mergeLikelyDuplicates } from "./merge.service.ts";
import { isMoreRestrictive, planMerge } from "./merge.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const db = () => database.handle.db;

interface NewContact {
  externalId?: string;
  email?: string;
  phone?: string;
  firstName?: string;
  lastName?: string;
  line1?: string;
  postalCode?: string;
  city?: string;
  attributes?: Record<string, unknown>;
  consent?: Partial<Record<"email" | "sms" | "mail" | "ads", ConsentStatus>>;
}

let clock = T0.getTime() - 1_000_000;

/** Inserts a contact as stored (unnormalised values included); each one is newer than the last. */
async function addContact(ws: WorkspaceContext, c: NewContact): Promise<string> {
  const createdAt = new Date((clock += 1000));
  const id = uuidv7(createdAt.getTime());
  await db()
    .insertInto("contacts")
    .values({
      workspace_id: ws.id,
      id,
      external_id: c.externalId ?? null,
      email: c.email ?? null,
      phone: c.phone ?? null,
      first_name: c.firstName ?? null,
      last_name: c.lastName ?? null,
      address_line1: c.line1 ?? null,
      postal_code: c.postalCode ?? null,
      city: c.city ?? null,
      attributes: JSON.stringify(c.attributes ?? {}),
      email_consent: c.consent?.email ?? "never_asked",
      sms_consent: c.consent?.sms ?? "never_asked",
      mail_consent: c.consent?.mail ?? "never_asked",
      ads_consent: c.consent?.ads ?? "never_asked",
      created_at: createdAt,
      updated_at: createdAt,
    })
    .execute();
  return id;
}

async function addEvents(ws: WorkspaceContext, contactId: string, count: number) {
  await sql`
    insert into events (workspace_id, id, contact_id, type, occurred_at)
    select ${ws.id}, ${contactId}::text || '-' || i, ${contactId}, 'purchase', ${T0}
    from generate_series(1, ${count}) as i`.execute(db());
}

async function newList(ws: WorkspaceContext, contactIds: string[]) {
  const id = uuidv7();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${id}, ${`list ${id}`}, 'list')`.execute(
    db(),
  );
  for (const contactId of contactIds) {
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${id}, ${contactId})`.execute(
      db(),
    );
  }
  return id;
}

async function exists(ws: WorkspaceContext, id: string) {
  const { rows } = await sql`select 1 from contacts where workspace_id = ${ws.id} and id = ${id}`.execute(
    db(),
  );
  return rows.length === 1;
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

async function allGroups(ws: WorkspaceContext, limit = 100) {
  const groups = [];
  let cursor: string | undefined;
  do {
    const page = await listDuplicateGroups(db(), ws, { limit, ...(cursor ? { cursor } : {}) });
    groups.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return groups;
}

describe("isMoreRestrictive", () => {
  it("orders complained > bounced > unsubscribed > subscribed > never_asked", () => {
    const order: ConsentStatus[] = ["never_asked", "subscribed", "unsubscribed", "bounced", "complained"];
    for (let i = 0; i < order.length; i++) {
      for (let j = 0; j < order.length; j++) {
        expect(isMoreRestrictive(order[i]!, order[j]!)).toBe(i > j);
      }
    }
  });
});

describe("listDuplicateGroups", () => {
  let ws: WorkspaceContext;
  let other: WorkspaceContext;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    ws = await newWorkspaceContext(db());
    other = await newWorkspaceContext(db());
    ids.gmail1 = await addContact(ws, { email: "adalovelace@gmail.com" });
    ids.gmail2 = await addContact(ws, { email: "Ada.Lovelace+news@gmail.com" });
    ids.gmail3 = await addContact(ws, { email: "ada.lovelace@googlemail.com" });
    ids.plain1 = await addContact(ws, { email: "bob@example.com" });
    ids.plain2 = await addContact(ws, { email: " Bob@Example.com " });
    // Dots count outside Gmail: these are two mailboxes.
    ids.dots1 = await addContact(ws, { email: "c.d@example.com" });
    ids.dots2 = await addContact(ws, { email: "cd@example.com" });
    ids.phone1 = await addContact(ws, { phone: "+14155550100" });
    ids.phone2 = await addContact(ws, { phone: "+1 (415) 555-0100" });
    ids.name1 = await addContact(ws, {
      email: "zoe@example.com",
      firstName: "Zoë",
      lastName: "Müller",
      line1: "12 Main St.",
      postalCode: "02134",
    });
    ids.name2 = await addContact(ws, {
      email: "z.muller@example.org",
      firstName: "ZOE",
      lastName: "MULLER",
      line1: "12 main st",
      postalCode: "02 134",
    });
    // Same name, another house.
    ids.name3 = await addContact(ws, {
      firstName: "Zoe",
      lastName: "Muller",
      line1: "13 Main St",
      postalCode: "02134",
      externalId: "z3",
    });
    // The same person in another workspace is no duplicate of this one's.
    await addContact(other, { email: "ada.lovelace@gmail.com" });
    await addContact(other, { phone: "+1 415 555 0100" });
    await addContact(other, {
      firstName: "Zoe",
      lastName: "Muller",
      line1: "12 Main St",
      postalCode: "02134",
    });
  });

  it("finds each kind of duplicate, oldest first, and nothing else", async () => {
    const groups = await allGroups(ws);
    expect(groups.map((g) => [g.reason, g.contacts.map((c) => c.id)])).toEqual([
      ["email", [ids.gmail1, ids.gmail2, ids.gmail3]],
      ["email", [ids.plain1, ids.plain2]],
      ["phone", [ids.phone1, ids.phone2]],
      ["name_and_address", [ids.name1, ids.name2]],
    ]);
    const first = groups[0]!;
    expect(first).toMatchObject({ size: 3, survivorId: ids.gmail1 });
    expect(first.contacts[1]).toMatchObject({
      email: "Ada.Lovelace+news@gmail.com",
      phone: null,
      name: null,
    });
    expect(groups[3]!.contacts[0]).toMatchObject({ name: "Zoë Müller", email: "zoe@example.com" });
  });

  it("pages through the groups with a cursor, across reasons", async () => {
    const all = await allGroups(ws);
    const onePerPage = await allGroups(ws, 1);
    expect(onePerPage).toEqual(all);
    const phones = await listDuplicateGroups(db(), ws, { reason: "phone" });
    expect(phones.data.map((g) => g.reason)).toEqual(["phone"]);
    expect(phones.nextCursor).toBeNull();
  });

  it("refuses a cursor it did not make", async () => {
    const error = await rejection(listDuplicateGroups(db(), ws, { cursor: "bm9wZQ" }));
    expect(error.code).toBe("VALIDATION_FAILED");
  });
});

describe("planMerge", () => {
  it("keeps the survivor's values, takes what it lacks, and the address only whole", async () => {
    const ws = await newWorkspaceContext(db());
    const survivorId = await addContact(ws, { email: "s@example.com", attributes: { plan: "gold", a: 1 } });
    const firstId = await addContact(ws, {
      phone: "+14155550111",
      firstName: "First",
      line1: "1 A St",
      postalCode: "11111",
      attributes: { plan: "silver", b: 2 },
    });
    const secondId = await addContact(ws, {
      phone: "+14155550112",
      lastName: "Second",
      city: "Elsewhere",
      attributes: { b: 3, c: 4 },
    });
    const rows = await db()
      .selectFrom("contacts")
      .selectAll()
      .where("id", "in", [survivorId, firstId, secondId])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const plan = planMerge(byId.get(survivorId)!, [byId.get(firstId)!, byId.get(secondId)!]);
    expect(plan.values).toMatchObject({
      phone: "+14155550111",
      first_name: "First",
      last_name: "Second",
      address_line1: "1 A St",
      postal_code: "11111",
    });
    expect(plan.values).not.toHaveProperty("city");
    expect(plan.values).not.toHaveProperty("email");
    expect(plan.attributes).toEqual({ plan: "gold", a: 1, b: 2, c: 4 });
    expect(plan.filled).toEqual([
      "phone",
      "firstName",
      "lastName",
      "address",
      "attributes.b",
      "attributes.c",
    ]);
  });
});

describe("mergeContacts", () => {
  let ws: WorkspaceContext;
  let other: WorkspaceContext;

  beforeAll(async () => {
    ws = await newWorkspaceContext(db());
    other = await newWorkspaceContext(db());
  });

  it("keeps the most restrictive consent per channel and says so in the consent ledger", async () => {
    const survivorId = await addContact(ws, {
      email: "consent-s@example.com",
      consent: { email: "subscribed", sms: "unsubscribed", mail: "never_asked", ads: "bounced" },
    });
    const duplicateId = await addContact(ws, {
      email: "consent-d@example.com",
      consent: { email: "complained", sms: "subscribed", mail: "subscribed", ads: "unsubscribed" },
    });
    await sql`
      insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, changed_at)
      values (${ws.id}, ${duplicateId}, 'email', 'complained', 'subscribed', 'provider', ${T0})`.execute(
      db(),
    );

    const result = await mergeContacts(db(), ws, { survivorId, duplicateIds: [duplicateId] }, "key-1", T0);

    expect(result.survivor.consent).toEqual({
      email: "complained",
      sms: "unsubscribed",
      mail: "subscribed",
      ads: "bounced",
    });
    expect(result.consent).toEqual([
      { channel: "email", previous: "subscribed", status: "complained", fromContactId: duplicateId },
      { channel: "mail", previous: "never_asked", status: "subscribed", fromContactId: duplicateId },
    ]);
    expect(result.moved.consentChanges).toBe(1);
    const ledger = await db()
      .selectFrom("consent_changes")
      .select(["channel", "status", "previous_status", "source", "actor", "reason"])
      .where("workspace_id", "=", ws.id)
      .where("contact_id", "=", survivorId)
      .orderBy("id")
      .execute();
    expect(ledger).toEqual([
      {
        channel: "email",
        status: "complained",
        previous_status: "subscribed",
        source: "provider",
        actor: null,
        reason: null,
      },
      {
        channel: "email",
        status: "complained",
        previous_status: "subscribed",
        source: "merge",
        actor: "key-1",
        reason: `merged with contact ${duplicateId}, whose email consent was complained`,
      },
      {
        channel: "mail",
        status: "subscribed",
        previous_status: "never_asked",
        source: "merge",
        actor: "key-1",
        reason: `merged with contact ${duplicateId}, whose mail consent was subscribed`,
      },
    ]);
    expect(await exists(ws, duplicateId)).toBe(false);
    expect(result.survivor.email).toBe("consent-s@example.com");
  });

  it("fills missing identifiers from the duplicates, which the unique indexes allow", async () => {
    const survivorId = await addContact(ws, { email: "ids-s@example.com", attributes: { tier: "a" } });
    const firstId = await addContact(ws, {
      email: "ids-d1@example.com",
      phone: "+14155550123",
      attributes: { tier: "b", source: "crm" },
    });
    const secondId = await addContact(ws, { externalId: "crm-42", phone: "+14155550124" });

    const result = await mergeContacts(db(), ws, { survivorId, duplicateIds: [firstId, secondId] }, null, T0);

    expect(result.survivor).toMatchObject({
      id: survivorId,
      email: "ids-s@example.com",
      phone: "+14155550123",
      externalId: "crm-42",
      attributes: { tier: "a", source: "crm" },
    });
    expect(result.filled).toEqual(["externalId", "phone", "attributes.source"]);
    expect(await exists(ws, firstId)).toBe(false);
    expect(await exists(ws, secondId)).toBe(false);
    const log = await sql<{ survivor_id: string; duplicate_ids: string[]; cause: string; summary: unknown }>`
      select survivor_id, duplicate_ids, cause, summary from contact_merges
      where workspace_id = ${ws.id} and id = ${result.mergeId}`.execute(db());
    expect(log.rows).toEqual([
      {
        survivor_id: survivorId,
        duplicate_ids: [firstId, secondId],
        cause: "api",
        summary: expect.objectContaining({ filled: result.filled, moved: result.moved }),
      },
    ]);
  });

  it("moves events, list memberships, topics and journeys, and drops the duplicate's journey where the survivor has one", async () => {
    const survivorId = await addContact(ws, { email: "journey-s@example.com" });
    const duplicateId = await addContact(ws, { email: "journey-d@example.com" });
    await addEvents(ws, survivorId, 2);
    await addEvents(ws, duplicateId, 3);
    const onlyTheirs = await newList(ws, [duplicateId]);
    const both = await newList(ws, [survivorId, duplicateId]);
    const news = await createTopic(db(), ws, { name: `news ${uuidv7()}` });
    const offers = await createTopic(db(), ws, { name: `offers ${uuidv7()}` });
    await setContactTopic(db(), ws, survivorId, news.id, true);
    await setContactTopic(db(), ws, duplicateId, news.id, false);
    await setContactTopic(db(), ws, duplicateId, offers.id, false);

    const template = await createTemplate(db(), ws, {
      name: `t ${uuidv7()}`,
      channel: "email",
      content: { subject: "Hi", html: "<p>Hi</p>" },
    });
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "hello" } },
        { id: "hello", type: "send", channel: "email", templateId: template.id, outlets: { next: "w" } },
        { id: "w", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const theirsOnly = await launchGraph(db(), ws, onlyTheirs, graph, T0);
    const shared = await launchGraph(db(), ws, both, graph, T0);
    await drain(db(), ws.id, theirsOnly.id, { now: T0 });
    await drain(db(), ws.id, shared.id, { now: T0 });

    const result = await mergeContacts(db(), ws, { survivorId, duplicateIds: [duplicateId] }, null, T0);

    expect(result.moved).toMatchObject({
      events: 3,
      listMemberships: 1,
      enrollments: 1,
      messages: 2,
      topics: 2,
    });
    expect(result.moved.enrollmentSteps).toBeGreaterThan(0);
    expect(result.dropped).toMatchObject({ enrollments: 1, listMemberships: 1, cancelledMessages: 1 });

    const count = async (table: string, where = sql``) => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from ${sql.table(table)}
        where workspace_id = ${ws.id} and contact_id = ${survivorId} ${where}`.execute(db());
      return rows[0]!.n;
    };
    expect(await count("events")).toBe(5);
    expect(await count("list_members")).toBe(2);
    const lists = await sql<{ list_id: string }>`
      select list_id from list_members where workspace_id = ${ws.id} and contact_id = ${survivorId} order by list_id`.execute(
      db(),
    );
    expect(lists.rows.map((r) => r.list_id).sort()).toEqual([onlyTheirs, both].sort());

    // The duplicate's journey in the campaign only it was in continues as the survivor's.
    const journeys = await sql<{ campaign_id: string; state: string; node_id: string }>`
      select campaign_id, state, node_id from enrollments
      where workspace_id = ${ws.id} and campaign_id in (${theirsOnly.id}, ${shared.id}) and contact_id = ${survivorId}
      order by campaign_id`.execute(db());
    expect(journeys.rows).toHaveLength(2);
    expect(journeys.rows.every((r) => r.state === "active" && r.node_id === "w")).toBe(true);
    const leftovers = await sql`
      select 1 from enrollments e where e.workspace_id = ${ws.id} and e.campaign_id in (${theirsOnly.id}, ${shared.id})
        and e.contact_id = ${duplicateId}
      union all
      select 1 from list_members where workspace_id = ${ws.id} and contact_id = ${duplicateId}
      union all
      select 1 from messages where workspace_id = ${ws.id} and contact_id = ${duplicateId}`.execute(db());
    expect(leftovers.rows).toEqual([]);

    // The dropped journey's send not yet dispatched is cancelled; the kept journey's stays queued.
    const sends = await sql<{ campaign_id: string; status: string; reason: string | null }>`
      select campaign_id, status, reason from messages
      where workspace_id = ${ws.id} and contact_id = ${survivorId} order by campaign_id, status`.execute(
      db(),
    );
    expect(sends.rows).toEqual(
      [
        { campaign_id: theirsOnly.id, status: "queued", reason: null },
        { campaign_id: shared.id, status: "queued", reason: null },
        {
          campaign_id: shared.id,
          status: "cancelled",
          reason: `contact merged into ${survivorId}, whose own journey in this campaign continues`,
        },
      ].sort((a, b) => (a.campaign_id + a.status).localeCompare(b.campaign_id + b.status)),
    );

    // The report counts the dropped journey as cancelled, and still counts it.
    const members = await sql<{ dim: string; n: number }>`
      select dim, sum(count)::int as n from report_deltas
      where workspace_id = ${ws.id} and campaign_id = ${shared.id} and metric = 'members'
      group by dim having sum(count) <> 0 order by dim`.execute(db());
    expect(members.rows).toEqual([
      { dim: "active", n: 1 },
      { dim: "cancelled", n: 1 },
    ]);

    // An opt-out of any of them wins.
    const topics = await sql<{ topic_id: string; subscribed: boolean }>`
      select topic_id, subscribed from contact_topics where workspace_id = ${ws.id} and contact_id = ${survivorId}`.execute(
      db(),
    );
    expect(Object.fromEntries(topics.rows.map((r) => [r.topic_id, r.subscribed]))).toEqual({
      [news.id]: false,
      [offers.id]: false,
    });
  });

  it("refuses a survivor among the duplicates, more than 50 duplicates, and another workspace's contacts", async () => {
    const survivorId = await addContact(ws, { email: "refuse-s@example.com" });
    const duplicateId = await addContact(ws, { email: "refuse-d@example.com" });
    const theirs = await addContact(other, { email: "refuse-theirs@example.com" });

    const self = await rejection(mergeContacts(db(), ws, { survivorId, duplicateIds: [survivorId] }, null));
    expect([self.code, self.status]).toEqual(["VALIDATION_FAILED", 400]);
    const tooMany = Array.from({ length: 51 }, () => uuidv7());
    const many = await rejection(mergeContacts(db(), ws, { survivorId, duplicateIds: tooMany }, null));
    expect([many.code, many.status]).toEqual(["VALIDATION_FAILED", 400]);

    for (const request of [
      { survivorId, duplicateIds: [theirs] },
      { survivorId: theirs, duplicateIds: [duplicateId] },
      { survivorId, duplicateIds: [duplicateId, theirs] },
    ]) {
      const error = await rejection(mergeContacts(db(), ws, request, null));
      expect([error.code, error.status]).toEqual(["NOT_FOUND", 404]);
    }
    expect(await exists(ws, survivorId)).toBe(true);
    expect(await exists(ws, duplicateId)).toBe(true);
    expect(await exists(other, theirs)).toBe(true);
    const { rows } = await sql`select email from contacts where id = ${duplicateId}`.execute(db());
    expect(rows).toEqual([{ email: "refuse-d@example.com" }]);
  });
});

describe("mergeLikelyDuplicates", () => {
  it("merges each group into its oldest contact, and a dry run counts exactly that without changing anything", async () => {
    const ws = await newWorkspaceContext(db());
    const bystander = await newWorkspaceContext(db());
    const oldest = await addContact(ws, { email: "maxmuster@gmail.com", consent: { email: "subscribed" } });
    const younger = await addContact(ws, {
      email: "max.muster+promo@gmail.com",
      phone: "+4915112345678",
      consent: { email: "unsubscribed" },
    });
    await addEvents(ws, younger, 4);
    // After the email merge the survivor has this phone: the phone pass then finds its twin.
    const phoneTwin = await addContact(ws, { phone: "+49 151 1234 5678", firstName: "Max" });
    const home1 = await addContact(ws, {
      firstName: "Jo",
      lastName: "Ng",
      line1: "1 Elm Rd",
      postalCode: "SW1A 1AA",
    });
    const home2 = await addContact(ws, {
      firstName: "jo",
      lastName: "NG",
      line1: "1 elm rd",
      postalCode: "sw1a1aa",
    });
    // Different external ids: the source system says these are two people.
    await addContact(ws, {
      externalId: "x1",
      firstName: "A",
      lastName: "B",
      line1: "2 Elm Rd",
      postalCode: "1",
    });
    await addContact(ws, {
      externalId: "x2",
      firstName: "A",
      lastName: "B",
      line1: "2 Elm Rd",
      postalCode: "1",
    });
    const theirs = await addContact(bystander, { email: "max.muster@gmail.com" });
    await addContact(bystander, { email: "maxmuster@gmail.com" });

    const snapshot = async () => {
      const { rows } = await sql`
        select id, email, phone, email_consent, attributes from contacts where workspace_id in (${ws.id}, ${bystander.id})
        order by id`.execute(db());
      const events =
        await sql`select contact_id, count(*)::int from events where workspace_id = ${ws.id} group by 1 order by 1`.execute(
          db(),
        );
      const merges =
        await sql`select count(*)::int from contact_merges where workspace_id = ${ws.id}`.execute(db());
      return { contacts: rows, events: events.rows, merges: merges.rows };
    };
    const before = await snapshot();

    const dryRun = await mergeLikelyDuplicates(db(), ws, { now: T0 });
    expect(await snapshot()).toEqual(before);
    expect(dryRun).toMatchObject({
      dryRun: true,
      groups: 3,
      contactsMerged: 3,
      byReason: {
        email: { groups: 1, contacts: 1 },
        phone: { groups: 1, contacts: 1 },
        name_and_address: { groups: 1, contacts: 1 },
      },
      skipped: { tooLarge: 0, conflictingExternalIds: 1, changed: 0 },
      more: false,
    });
    expect(dryRun.moved.events).toBe(4);
    expect(dryRun.sample).toEqual([
      { reason: "email", survivorId: oldest, duplicateIds: [younger], mergeId: null },
      { reason: "phone", survivorId: oldest, duplicateIds: [phoneTwin], mergeId: null },
      { reason: "name_and_address", survivorId: home1, duplicateIds: [home2], mergeId: null },
    ]);

    const real = await mergeLikelyDuplicates(db(), ws, { dryRun: false, now: T0 });
    const { sample: realSample, dryRun: realFlag, ...realCounts } = real;
    const { sample: drySample, dryRun: _dry, ...dryCounts } = dryRun;
    expect(realFlag).toBe(false);
    expect(realCounts).toEqual(dryCounts);
    expect(realSample.map(({ mergeId: _id, ...rest }) => rest)).toEqual(
      drySample.map(({ mergeId: _id, ...rest }) => rest),
    );
    expect(realSample.every((s) => s.mergeId !== null)).toBe(true);

    const survivor = await db()
      .selectFrom("contacts")
      .selectAll()
      .where("workspace_id", "=", ws.id)
      .where("id", "=", oldest)
      .executeTakeFirstOrThrow();
    expect(survivor).toMatchObject({
      email: "maxmuster@gmail.com",
      phone: "+4915112345678",
      first_name: "Max",
      email_consent: "unsubscribed",
    });
    for (const gone of [younger, phoneTwin, home2]) expect(await exists(ws, gone)).toBe(false);
    expect(await exists(bystander, theirs)).toBe(true);
    const remaining = await allGroups(ws);
    expect(remaining.map((g) => g.reason)).toEqual(["name_and_address"]);
    expect((await mergeLikelyDuplicates(db(), ws, { dryRun: false })).groups).toBe(0);
  });

  it("stops at maxGroups and says there is more", async () => {
    const ws = await newWorkspaceContext(db());
    for (let i = 0; i < 3; i++) {
      await addContact(ws, { email: `p${i}@gmail.com` });
      await addContact(ws, { email: `p.${i}@gmail.com` });
    }
    const first = await mergeLikelyDuplicates(db(), ws, { dryRun: false, maxGroups: 2 });
    expect(first).toMatchObject({ groups: 2, more: true });
    const second = await mergeLikelyDuplicates(db(), ws, { dryRun: false, maxGroups: 2 });
    expect(second).toMatchObject({ groups: 1, more: false });
  });
});
