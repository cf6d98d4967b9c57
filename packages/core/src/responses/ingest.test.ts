import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAudience } from "../audiences/audience.service.ts";
import { getEnrollment } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { openDatabase } from "../db/database.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { runQueuedJobs } from "../testing/jobs.ts";
import { createResponseIngest, isDatabaseUnavailable, type ResponseIngest } from "./ingest.ts";
import type { ResponseInput } from "./response.ts";

const database = useTestDatabase();

const T0 = new Date("2026-03-02T10:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0.getTime() + ms);
const SENT_AT = at(MINUTE);
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

let ws: WorkspaceContext;
let campaignId: string;
/** contact id → its message of send node s1 (sent at SENT_AT). */
const messageOf = new Map<string, string>();
let contacts: string[] = [];
let spoolDir = "";
let clock = at(HOUR);
const open: ResponseIngest[] = [];

/** An ingest whose loop never fires by itself: the tests flush. */
function newIngest() {
  const made = createResponseIngest(database.handle.db, {
    spoolDir,
    flushIntervalMs: 3_600_000,
    now: () => clock,
  });
  open.push(made);
  return made;
}

function click(contactId: string, overrides: Partial<ResponseInput> = {}): ResponseInput {
  return {
    id: uuidv7(),
    workspaceId: ws.id,
    messageId: messageOf.get(contactId)!,
    kind: "clicked",
    at: at(HOUR),
    properties: {
      url: "https://shop.example/spring",
      index: 0,
      userAgent: CHROME,
      method: "GET",
      ip: "192.0.2.1",
    },
    ...overrides,
  };
}

async function eventsOf(contactId: string) {
  return database.handle.db
    .selectFrom("events")
    .selectAll()
    .where("workspace_id", "=", ws.id)
    .where("contact_id", "=", contactId)
    .orderBy("occurred_at")
    .orderBy("id")
    .execute();
}

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  const template = await createTemplate(db, ws, {
    name: "spring",
    channel: "email",
    content: { subject: "Spring", html: "<p>Hello</p>" },
  });
  const seeded = await seedContactsInList(db, ws.id, 12);
  contacts = seeded.contactIds;
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "s1" } },
      { id: "s1", type: "send", channel: "email", templateId: template.id, outlets: { next: "wf" } },
      {
        id: "wf",
        type: "wait_for",
        for: { kind: "response", response: "clicked", sendNodeId: "s1" },
        timeout: { days: 2 },
        outlets: { matched: "clicked", timed_out: "no_click" },
      },
      { id: "clicked", type: "exit", outlets: {} },
      { id: "no_click", type: "exit", outlets: {} },
    ],
  };
  const campaign = await launchGraph(db, ws, seeded.listId, graph, T0);
  campaignId = campaign.id;
  await drain(db, ws.id, campaignId, { now: T0 });
  const { rows } = await sql<{ id: string; contact_id: string }>`
    update messages set status = 'sent', sent_at = ${SENT_AT}
    where workspace_id = ${ws.id} and campaign_id = ${campaignId} returning id, contact_id`.execute(db);
  for (const row of rows) messageOf.set(row.contact_id, row.id);
  await sql`update contacts set email_consent = 'subscribed' where workspace_id = ${ws.id}`.execute(db);
});

beforeEach(() => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-ingest-test-"));
  clock = at(HOUR);
});

afterEach(async () => {
  for (const made of open.splice(0)) await made.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

describe("createResponseIngest", () => {
  it("answers at once and writes the buffer in one batch, as events enriched from the send ledger", async () => {
    const ingest = newIngest();
    const [a, b] = contacts as [string, string];
    const first = click(a);
    ingest.record(first);
    ingest.record(click(b, { kind: "opened", properties: { userAgent: CHROME, method: "GET" } }));
    // Taken without a database round trip: both wait in the buffer.
    expect(ingest.stats()).toMatchObject({ received: 2, buffered: 2, recorded: 0 });

    await ingest.flush();
    expect(ingest.stats()).toMatchObject({ buffered: 0, recorded: 2, duplicates: 0, dropped: 0 });
    const [event] = await eventsOf(a);
    expect(event).toMatchObject({
      id: first.id,
      contact_id: a,
      type: "message.clicked",
      occurred_at: at(HOUR),
      campaign_id: campaignId,
      channel: "email",
      properties: {
        campaignId,
        nodeId: "s1",
        messageId: messageOf.get(a),
        channel: "email",
        url: "https://shop.example/spring",
        index: 0,
        userAgent: CHROME,
        method: "GET",
        ip: "192.0.2.1",
      },
    });
    expect(event!.properties).not.toHaveProperty("machine");
    expect((await eventsOf(b)).map((e) => e.type)).toEqual(["message.opened"]);
  });

  it("records a response once, however often it is recorded or replayed", async () => {
    const ingest = newIngest();
    const contact = contacts[2]!;
    const response = click(contact);
    ingest.record(response);
    ingest.record({ ...response });
    await ingest.flush();
    ingest.record({ ...response });
    await ingest.flush();
    expect(await eventsOf(contact)).toHaveLength(1);
    expect(ingest.stats()).toMatchObject({ recorded: 1, duplicates: 2 });
  });

  it("writes at maxBatch without waiting for the interval, in batches of maxBatch", async () => {
    const made = createResponseIngest(database.handle.db, {
      spoolDir,
      flushIntervalMs: 3_600_000,
      maxBatch: 10,
      now: () => clock,
    });
    open.push(made);
    const contact = contacts[3]!;
    // The loop's first pass (a replay of the spool) runs at start; let it finish.
    await made.flush();
    for (let i = 0; i < 25; i++) made.record(click(contact));
    await expect
      .poll(() => made.stats().recorded, { timeout: 5000, interval: 10 })
      .toBeGreaterThanOrEqual(20);
    await made.flush();
    expect(await eventsOf(contact)).toHaveLength(25);
  });

  it("flags machine activity at write time and still records it", async () => {
    const ingest = newIngest();
    const contact = contacts[4]!;
    ingest.record(click(contact, { at: new Date(SENT_AT.getTime() + 2000) }));
    ingest.record(click(contact, { properties: { userAgent: "Barracuda Sentinel (EE)", method: "GET" } }));
    ingest.record(click(contact, { properties: { userAgent: CHROME, method: "HEAD" } }));
    ingest.record(
      click(contact, { kind: "opened", properties: { userAgent: "Mozilla/5.0", method: "GET" } }),
    );
    ingest.record(click(contact, { at: at(2 * HOUR) }));
    await ingest.flush();
    const events = await eventsOf(contact);
    expect(
      events.map((e) => [e.type, e.properties.machine ?? false, e.properties.machineReason ?? null]),
    ).toEqual(
      expect.arrayContaining([
        ["message.clicked", true, "soon_after_send"],
        ["message.clicked", true, "scanner_user_agent"],
        ["message.clicked", true, "head_request"],
        ["message.opened", true, "apple_mail_privacy_protection"],
        ["message.clicked", false, null],
      ]),
    );
    expect(events).toHaveLength(5);
  });

  it("drops responses whose message or contact is gone, and malformed ones, and writes the rest", async () => {
    const db = database.handle.db;
    const ingest = newIngest();
    const [kept, erased] = [contacts[5]!, contacts[6]!];
    const erasedMessage = messageOf.get(erased)!;
    await sql`delete from contacts where workspace_id = ${ws.id} and id = ${erased}`.execute(db);
    ingest.record(click(kept, { messageId: uuidv7() })); // no such message
    ingest.record(click(kept, { workspaceId: (await newWorkspaceContext(db)).id })); // another workspace's
    ingest.record(click(erased, { messageId: erasedMessage })); // its contact was erased
    ingest.record(click(kept, { messageId: "not-a-uuid" }));
    ingest.record(click(kept, { kind: "teleported" as never }));
    ingest.record(click(kept));
    await ingest.flush();
    expect(ingest.stats()).toMatchObject({ recorded: 1, dropped: 5, failed: 0, buffered: 0 });
    expect(await eventsOf(kept)).toHaveLength(1);
    // Nothing is kept to be tried again.
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  });

  it("drops a response the database refuses on its own, writing the rest of its batch", async () => {
    const ingest = newIngest();
    const contact = contacts[7]!;
    const good = Array.from({ length: 6 }, () => click(contact));
    ingest.record(good[0]!);
    ingest.record(good[1]!);
    ingest.record(click(contact, { properties: { big: 10n } })); // JSON cannot carry a BigInt
    for (const r of good.slice(2)) ingest.record(r);
    await ingest.flush();
    expect(ingest.stats()).toMatchObject({ recorded: 6, failed: 1, buffered: 0, databaseAvailable: true });
    expect((await eventsOf(contact)).map((e) => e.id).sort()).toEqual(good.map((r) => r.id).sort());
  });

  it("spools what the database cannot take, leaving out only what JSON cannot carry", async () => {
    // A server that is not there: every connection is refused.
    const nowhere = openDatabase("postgres://omneural@127.0.0.1:1/nowhere", { poolSize: 1 });
    try {
      const made = createResponseIngest(nowhere.db, { spoolDir, flushIntervalMs: 3_600_000 });
      open.push(made);
      const contact = contacts[8]!;
      made.record(click(contact));
      made.record(click(contact, { properties: { big: 10n } }));
      made.record(click(contact));
      await made.flush();
      expect(made.stats()).toMatchObject({ databaseAvailable: false, buffered: 0, spooled: 2, failed: 1 });
      const lines = fs
        .readdirSync(spoolDir)
        .flatMap((f) => fs.readFileSync(path.join(spoolDir, f), "utf8").trim().split("\n"));
      expect(lines).toHaveLength(2);
      await made.close();
    } finally {
      await nowhere.close();
    }
  });

  it("keeps NUL characters and lone surrogates of request text out of jsonb", async () => {
    const ingest = newIngest();
    const contact = contacts[8]!;
    ingest.record(click(contact, { properties: { userAgent: `Evil\u0000Agent \ud800`, method: "GET" } }));
    await ingest.flush();
    const [event] = await eventsOf(contact);
    expect(event!.properties.userAgent).toBe("EvilAgent \ufffd");
  });

  it("wakes the member waiting for the click (matched); the one without a click times out", async () => {
    const db = database.handle.db;
    const ingest = newIngest();
    const [clicker, idle] = [contacts[9]!, contacts[10]!];
    clock = at(3 * HOUR);
    ingest.record(click(clicker, { at: at(3 * HOUR) }));
    await ingest.flush();
    const woken = await getEnrollment(db, ws, campaignId, clicker);
    expect(woken.dueAt).toBe(at(3 * HOUR).toISOString());
    await drain(db, ws.id, campaignId, { now: at(3 * HOUR) });
    expect((await getEnrollment(db, ws, campaignId, clicker)).nodeId).toBe("clicked");
    expect((await getEnrollment(db, ws, campaignId, idle)).nodeId).toBe("wf");
    await drain(db, ws.id, campaignId, { now: at(2 * DAY + MINUTE) });
    expect((await getEnrollment(db, ws, campaignId, idle)).nodeId).toBe("no_click");
  });

  it("updates listened segments with a response rule", async () => {
    const db = database.handle.db;
    const segment = await createAudience(db, ws, {
      name: "clicked spring",
      definition: { kind: "response", response: "clicked", campaignId, channel: "email" },
      listened: true,
    });
    const ingest = newIngest();
    const contact = contacts[11]!;
    const before = await sql<{ n: number }>`
      select count(*)::int as n from audience_members where audience_id = ${segment.id} and contact_id = ${contact}`.execute(
      db,
    );
    expect(before.rows[0]!.n).toBe(0);
    ingest.record(click(contact));
    await ingest.flush();
    await runQueuedJobs(database.handle);
    const after = await sql<{ n: number }>`
      select count(*)::int as n from audience_members where audience_id = ${segment.id} and contact_id = ${contact}`.execute(
      db,
    );
    expect(after.rows[0]!.n).toBe(1);
  });
});

describe("unsubscribes", () => {
  async function consentOf(contactId: string) {
    const db = database.handle.db;
    const contact = await db
      .selectFrom("contacts")
      .select(["email_consent", "sms_consent"])
      .where("workspace_id", "=", ws.id)
      .where("id", "=", contactId)
      .executeTakeFirstOrThrow();
    const ledger = await db
      .selectFrom("consent_changes")
      .select(["channel", "status", "previous_status", "source", "actor", "changed_at"])
      .where("workspace_id", "=", ws.id)
      .where("contact_id", "=", contactId)
      .orderBy("id")
      .execute();
    return { ...contact, ledger };
  }

  it("unsubscribes the message's channel once, with a row in the consent ledger", async () => {
    const ingest = newIngest();
    const contact = contacts[0]!;
    const first = click(contact, {
      kind: "unsubscribed",
      contactId: contact,
      properties: { via: "one-click" },
    });
    ingest.record(first);
    ingest.record({ ...first }); // replayed
    ingest.record(click(contact, { kind: "unsubscribed", contactId: contact, at: at(HOUR + MINUTE) })); // again
    await ingest.flush();
    const state = await consentOf(contact);
    expect(state.email_consent).toBe("unsubscribed");
    expect(state.ledger).toEqual([
      {
        channel: "email",
        status: "unsubscribed",
        previous_status: "subscribed",
        source: "response",
        actor: first.id,
        changed_at: at(HOUR),
      },
    ]);
    expect((await eventsOf(contact)).filter((e) => e.type === "message.unsubscribed")).toHaveLength(2);
  });

  it("unsubscribes properties.channel when there is no message, and keeps a later opt-in", async () => {
    const db = database.handle.db;
    const ingest = newIngest();
    const [texter, resubscribed] = [contacts[1]!, contacts[2]!];
    ingest.record({
      id: uuidv7(),
      workspaceId: ws.id,
      messageId: null,
      contactId: texter,
      kind: "unsubscribed",
      at: at(HOUR),
      properties: { channel: "sms", keyword: "STOP" },
    });
    // Subscribed again after the unsubscribe was made, before it was written: the later choice stands.
    await sql`
      insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, changed_at)
      values (${ws.id}, ${resubscribed}, 'email', 'subscribed', 'unsubscribed', 'api', ${at(2 * HOUR)})`.execute(
      db,
    );
    ingest.record(click(resubscribed, { kind: "unsubscribed", contactId: resubscribed, at: at(HOUR) }));
    await ingest.flush();
    expect(await consentOf(texter)).toMatchObject({
      sms_consent: "unsubscribed",
      email_consent: "subscribed",
    });
    expect((await consentOf(texter)).ledger).toMatchObject([{ channel: "sms", status: "unsubscribed" }]);
    expect(await consentOf(resubscribed)).toMatchObject({ email_consent: "subscribed" });
    expect((await consentOf(resubscribed)).ledger).toHaveLength(1);
    // The response itself is recorded all the same.
    expect((await eventsOf(resubscribed)).map((e) => e.type)).toContain("message.unsubscribed");
  });

  it("still unsubscribes the contact when the message is gone", async () => {
    const ingest = newIngest();
    const contact = contacts[3]!;
    ingest.record(
      click(contact, {
        kind: "unsubscribed",
        contactId: contact,
        messageId: uuidv7(),
        properties: { channel: "email" },
      }),
    );
    await ingest.flush();
    expect(await consentOf(contact)).toMatchObject({ email_consent: "unsubscribed" });
  });
});

describe("isDatabaseUnavailable", () => {
  it.each([
    [{ code: "ECONNREFUSED" }, true],
    [{ code: "57P01", message: "terminating connection due to administrator command" }, true],
    [{ code: "08006" }, true],
    [{ code: "53300", message: "too many connections" }, true],
    [{ code: "40P01", message: "deadlock detected" }, true],
    [new Error("Connection terminated unexpectedly"), true],
    [new Error("timeout exceeded when trying to connect"), true],
    [new Error("Cannot use a pool after calling end on the pool"), true],
    [{ code: "23503", message: "foreign key violation" }, false],
    [{ code: "22P02", message: "invalid input syntax" }, false],
    [new TypeError("Do not know how to serialize a BigInt"), false],
  ])("%o → %s", (error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});
