import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import { createDevInboxEmailChannel, createDevInboxSmsChannel } from "../delivery/dev-inbox.ts";
import { insertSuppression } from "../delivery/dispatch.repository.ts";
import { type DispatchKind, dispatchBatch } from "../delivery/dispatcher.ts";
import { createPrintBatchChannel } from "../delivery/print-batch-channel.ts";
import { setSender } from "../delivery/sender.service.ts";
import { recordEvents } from "../events/event.service.ts";
import { processImport, receiveImport } from "../imports/import.service.ts";
import { getCampaignReport } from "../reports/report.service.ts";
import { writeResponses } from "../responses/response.service.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { sendTestMessage } from "../templates/test-send.ts";
import { drain, newWorkspaceContext, publishGraph, queueOneSend, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { ADDRESS, mailTemplate, RETURN_ADDRESS } from "../testing/mail.ts";
import { scanEveryTable } from "../testing/personal-data.ts";
import { createTopic, setContactTopic } from "../topics/topic.service.ts";
import { upsertContact, type WorkspaceContext } from "./contact.service.ts";
import { eraseContact } from "./erasure.service.ts";
import { exportContact } from "./export.service.ts";
import { TOMBSTONE_PREFIX, tombstoneAddress } from "./suppression.ts";

const database = useTestDatabase();
// After the real clock, which stamps the consent the API records: a later unsubscribe must win.
const T0 = new Date("2031-05-05T18:00:00Z"); // 11:00 in San Francisco, inside the SMS sending hours
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (ms: number) => new Date(T0.getTime() + ms);
const KEY = TEST_KEYS.tombstones;

const PERSON = {
  email: "quintessa.vandermolen@example.org",
  phone: "+14155550123",
  firstName: "Quintessa",
  lastName: "Vandermolen",
};

let ws: WorkspaceContext;
let contactId: string;
let emailTemplate: string;
let finishedCampaign: string;
let runningCampaign: string;
let topicId: string;
let listId: string;

function dispatch(kind: DispatchKind, now: Date) {
  const db = database.handle.db;
  return dispatchBatch(db, kind, {
    links: TEST_LINKS,
    channels: {
      email: createDevInboxEmailChannel(db),
      sms: createDevInboxSmsChannel(db),
      mail: createPrintBatchChannel(db),
    },
    now,
  });
}

async function launch(graph: WorkflowGraph, audienceId: string, now: Date) {
  const db = database.handle.db;
  const { workflowId } = await publishGraph(db, ws, graph);
  const campaign = await createCampaign(db, ws, { name: `campaign ${uuidv7()}`, audienceId, workflowId });
  await launchCampaign(db, ws, campaign.id, now);
  await drain(db, ws.id, campaign.id, { now });
  return campaign.id;
}

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  await setSender(db, ws, {
    fromName: "Acme Books",
    fromAddress: "news@acme.example",
    postalAddress: RETURN_ADDRESS,
    smsFrom: "+14155550100",
  });
  emailTemplate = (
    await createTemplate(db, ws, {
      name: "welcome",
      channel: "email",
      content: {
        subject: "Hello {{ firstName }}",
        html: '<p>Hi {{ firstName }} {{ lastName }}, see <a href="https://shop.example/books">our books</a></p>',
      },
    })
  ).id;
  const smsTemplate = (
    await createTemplate(db, ws, {
      name: "nudge",
      channel: "sms",
      content: { body: "{{ firstName }}, 20% off today: https://shop.example/sms-sale" },
    })
  ).id;
  const letter = await mailTemplate(db, ws, "letter");

  const { contact } = await upsertContact(
    db,
    ws,
    {
      ...PERSON,
      address: {
        line1: ADDRESS.line1,
        city: ADDRESS.city,
        region: ADDRESS.region,
        postalCode: ADDRESS.postalCode,
        country: "US",
      },
      attributes: { favouriteAuthor: "Vandermolen senior" },
      consent: { email: "subscribed", sms: "subscribed", mail: "subscribed" },
    },
    { source: "api", id: "key-1" },
  );
  contactId = contact.id;
  topicId = (await createTopic(db, ws, { name: "Newsletter" })).id;
  await setContactTopic(db, ws, contactId, topicId, false, T0);
  await recordEvents(
    db,
    ws,
    [{ contactId, type: "purchase", properties: { note: "gift for Quintessa", amount: 42 } }],
    T0,
  );

  // A campaign that ran to its end: an email, an SMS with a short link, a letter with a PURL.
  listId = uuidv7();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, 'readers', 'list')`.execute(
    db,
  );
  await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${contactId})`.execute(
    db,
  );
  finishedCampaign = await launch(
    {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "email" } },
        { id: "email", type: "send", channel: "email", templateId: emailTemplate, outlets: { next: "sms" } },
        { id: "sms", type: "send", channel: "sms", templateId: smsTemplate, outlets: { next: "letter" } },
        { id: "letter", type: "send", channel: "mail", templateId: letter, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
    listId,
    T0,
  );
  for (const kind of ["email", "sms", "mail"] as const) {
    expect(await dispatch(kind, at(MINUTE)), kind).toMatchObject({ sent: 1 });
  }
  const { rows: sent } = await sql<{ id: string; channel: string }>`
    select id, channel from messages where workspace_id = ${ws.id} and contact_id = ${contactId}`.execute(db);
  const emailMessage = sent.find((m) => m.channel === "email")!.id;
  await writeResponses(
    db,
    [
      { kind: "opened", at: at(2 * MINUTE), properties: {} },
      { kind: "clicked", at: at(3 * MINUTE), properties: { url: "https://shop.example/books" } },
      { kind: "unsubscribed", at: at(4 * MINUTE), properties: { method: "one-click" } },
    ].map((r) => ({ ...r, id: uuidv7(), workspaceId: ws.id, messageId: emailMessage })) as never,
    at(5 * MINUTE),
  );
  // A reply without a message (an inbound SMS) is keyed by the contact in the report's unique counts.
  await writeResponses(
    db,
    [
      {
        id: uuidv7(),
        workspaceId: ws.id,
        messageId: null,
        contactId,
        kind: "replied",
        at: at(6 * MINUTE),
        properties: { text: "Thanks, Quintessa here", campaignId: finishedCampaign },
      },
    ],
    at(6 * MINUTE),
  );
  // The phone number was refused for good by the SMS provider.
  await insertSuppression(db, {
    workspaceId: ws.id,
    channel: "sms",
    address: PERSON.phone,
    reason: `${PERSON.phone} is unreachable`,
    source: "provider",
    messageId: null,
  });
  await sendTestMessage(
    db,
    ws,
    emailTemplate,
    { to: PERSON.email, contactId },
    { email: createDevInboxEmailChannel(db), now: at(7 * MINUTE) },
  );
  // A rejected import line carrying the email.
  const rejected = await receiveImport(db, ws, {
    filename: "bad.csv",
    options: {},
    source: [Buffer.from(`email,phone\n${PERSON.email},+999\n`)],
    maxBytes: 1_000_000,
    enqueue: false,
  });
  await processImport(database.handle, ws.id, rejected.id, { tombstoneKey: KEY });

  // A campaign still running: the member waits after a send that has not gone out yet.
  runningCampaign = await launch(
    {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "email" } },
        { id: "email", type: "send", channel: "email", templateId: emailTemplate, outlets: { next: "wait" } },
        {
          id: "wait",
          type: "wait",
          mode: "duration",
          duration: { seconds: 86_400 },
          outlets: { next: "done" },
        },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
    listId,
    at(8 * MINUTE),
  );
});

describe("exportContact", () => {
  it("holds everything seeded for the contact", async () => {
    const doc = await exportContact(database.handle.db, ws, contactId, {
      tombstoneKey: KEY,
      now: at(9 * MINUTE),
    });
    expect(doc.contact).toMatchObject({
      id: contactId,
      email: PERSON.email,
      phone: PERSON.phone,
      firstName: "Quintessa",
    });
    expect(doc.contact.consent.email).toBe("unsubscribed");
    expect(doc.consentLedger.map((c) => `${c.channel}:${c.status}:${c.source}`)).toEqual(
      expect.arrayContaining([
        "email:subscribed:api",
        "sms:subscribed:api",
        "mail:subscribed:api",
        "email:unsubscribed:response",
      ]),
    );
    expect(doc.lists).toEqual([expect.objectContaining({ id: listId, name: "readers" })]);
    expect(doc.topics).toEqual([expect.objectContaining({ topicId, name: "Newsletter", subscribed: false })]);
    expect(doc.events.map((e) => e.type)).toEqual(["purchase"]);
    expect(doc.events[0]!.properties).toMatchObject({ note: "gift for Quintessa" });
    expect(doc.responses.map((e) => e.type).sort()).toEqual([
      "message.clicked",
      "message.opened",
      "message.replied",
      "message.unsubscribed",
    ]);
    expect(doc.enrollments).toHaveLength(2);
    const finished = doc.enrollments.find((e) => e.campaignId === finishedCampaign)!;
    expect(finished).toMatchObject({ state: "completed", nodeId: "done" });
    expect(finished.steps.length).toBeGreaterThan(0);
    expect(doc.enrollments.find((e) => e.campaignId === runningCampaign)).toMatchObject({
      state: "active",
      nodeId: "wait",
    });

    const byChannel = (channel: string, campaignId = finishedCampaign) =>
      doc.messages.find((m) => m.channel === channel && m.campaignId === campaignId)!;
    expect(byChannel("email")).toMatchObject({
      status: "sent",
      rendered: { recipient: PERSON.email, subject: "Hello Quintessa" },
    });
    expect(JSON.stringify(byChannel("email").rendered!.content)).toContain("Hi Quintessa Vandermolen");
    expect(byChannel("sms").rendered!.content).toMatchObject({
      body: expect.stringContaining("Quintessa, 20% off"),
    });
    expect(byChannel("sms").shortLinks).toEqual([
      { code: expect.any(String), url: "https://shop.example/sms-sale" },
    ]);
    expect(byChannel("mail")).toMatchObject({
      status: "sent",
      rendered: null,
      printPiece: { status: "pending", piece: { to: { name: "Quintessa Vandermolen" } } },
      purl: expect.stringMatching(/^[0-9A-Z]{10}$/),
    });
    expect(byChannel("email", runningCampaign)).toMatchObject({ status: "queued" });

    expect(doc.testSends).toEqual([expect.objectContaining({ recipient: PERSON.email, channel: "email" })]);
    expect(doc.otherDeliveries).toEqual([
      expect.objectContaining({ recipient: PERSON.email, subject: "[Test] Hello Quintessa" }),
    ]);
    expect(doc.suppressions).toEqual([
      expect.objectContaining({ channel: "sms", address: PERSON.phone, source: "provider" }),
    ]);
  });

  it("is not found for another workspace's contact", async () => {
    const other = await newWorkspaceContext(database.handle.db);
    await expect(exportContact(database.handle.db, other, contactId)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("eraseContact", () => {
  it("leaves no table holding the contact, keeps the reports' figures, tombstones and a log line", async () => {
    const db = database.handle.db;
    const reportBefore = await getCampaignReport(db, ws, finishedCampaign, at(HOUR));
    const needles = [PERSON.email, PERSON.phone, PERSON.firstName, PERSON.lastName, contactId];
    // The scan sees the contact wherever the seeding put it.
    expect(await scanEveryTable(database.handle.db, needles)).toEqual(
      expect.arrayContaining([
        `contacts.email: ${PERSON.email}`,
        `events.properties: ${PERSON.firstName}`,
        `outbox.content: ${PERSON.lastName}`,
        `print_pieces.piece: ${PERSON.lastName}`,
        `purls.contact_id: ${contactId}`,
        `template_test_sends.recipient: ${PERSON.email}`,
        `import_rejections.raw: ${PERSON.email}`,
        `suppressions.address: ${PERSON.phone}`,
        `report_first_responses.response_key: ${contactId}`,
        `enrollments.contact_id: ${contactId}`,
      ]),
    );

    const erased = await eraseContact(db, ws, contactId, {
      tombstoneKey: KEY,
      requestedBy: { source: "api", actor: "key-1" },
      now: at(10 * MINUTE),
    });
    expect(erased).toMatchObject({
      id: contactId,
      erased: true,
      exited: { enrollments: 1, messages: 1 },
      tombstones: 2,
      removed: {
        contact: 1,
        events: 5,
        messages: 4,
        outbox: 3,
        printPieces: 1,
        purls: 1,
        shortLinks: 1,
        enrollments: 2,
        listMemberships: 1,
        topicChoices: 1,
        suppressions: 1,
        importRejections: 1,
      },
      anonymised: { testSends: 1, firstResponses: 1 },
    });

    expect(await scanEveryTable(database.handle.db, needles)).toEqual([]);

    // The finished campaign's report is as it was: erasure keeps anonymised aggregates.
    expect(await getCampaignReport(db, ws, finishedCampaign, at(HOUR))).toEqual(reportBefore);

    const { rows: tombstones } = await sql<{
      channel: string;
      address: string;
      source: string;
      reason: string;
    }>`
      select channel, address, source, reason from suppressions where workspace_id = ${ws.id} order by channel`.execute(
      db,
    );
    expect(tombstones).toEqual([
      {
        channel: "email",
        address: tombstoneAddress(KEY, ws.id, PERSON.email),
        source: "erasure",
        reason: "opted out (consent unsubscribed) before the contact was erased",
      },
      {
        channel: "sms",
        address: tombstoneAddress(KEY, ws.id, PERSON.phone),
        source: "erasure",
        reason: "suppressed (provider) before the contact was erased",
      },
    ]);
    expect(tombstones.every((t) => t.address.startsWith(TOMBSTONE_PREFIX))).toBe(true);

    const { rows: log } = await sql<{
      id: string;
      source: string;
      actor: string;
      counts: { removed: { events: number } };
    }>`
      select id, source, actor, counts from erasure_log where workspace_id = ${ws.id}`.execute(db);
    expect(log).toEqual([
      expect.objectContaining({
        id: erased.erasureId,
        source: "api",
        actor: "key-1",
        counts: expect.objectContaining({ removed: expect.objectContaining({ events: 5 }) }),
      }),
    ]);
    expect(erased.erasureId).not.toBe(contactId);

    await expect(exportContact(db, ws, contactId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(eraseContact(db, ws, contactId, { tombstoneKey: KEY })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("a re-import of the erased address starts unsubscribed, and a send to it is skipped as suppressed", async () => {
    const db = database.handle.db;
    const received = await receiveImport(db, ws, {
      filename: "again.csv",
      options: {},
      source: [Buffer.from(`email,first name,email consent\n${PERSON.email},Quintessa,subscribed\n`)],
      maxBytes: 1_000_000,
      enqueue: false,
    });
    await processImport(database.handle, ws.id, received.id, { tombstoneKey: KEY });
    const { rows } = await sql<{ id: string; email_consent: string }>`
      select id, email_consent from contacts where workspace_id = ${ws.id} and email = ${PERSON.email}`.execute(
      db,
    );
    expect(rows).toEqual([{ id: expect.any(String), email_consent: "unsubscribed" }]);
    const again = rows[0]!.id;
    const { rows: ledger } = await sql<{ status: string; source: string; reason: string | null }>`
      select status, source, reason from consent_changes
      where workspace_id = ${ws.id} and contact_id = ${again} and channel = 'email' order by id`.execute(db);
    expect(ledger.at(-1)).toEqual({
      status: "unsubscribed",
      source: "import",
      reason:
        "the email address is suppressed: opted out (consent unsubscribed) before the contact was erased",
    });

    // Even were its consent set back, the dispatcher matches the tombstone.
    await sql`update contacts set email_consent = 'subscribed' where workspace_id = ${ws.id} and id = ${again}`.execute(
      db,
    );
    const campaign = await queueOneSend(
      db,
      ws,
      [again],
      { channel: "email", templateId: emailTemplate },
      at(HOUR),
    );
    await dispatch("email", at(HOUR + MINUTE));
    const { rows: ledgerRows } = await sql<{ status: string; reason: string }>`
      select status, reason from messages where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(
      db,
    );
    expect(ledgerRows).toEqual([
      {
        status: "skipped",
        reason: `${PERSON.email} is suppressed: opted out (consent unsubscribed) before the contact was erased`,
      },
    ]);
  });

  it("a contact re-created by the API with the erased phone starts unsubscribed from SMS", async () => {
    const db = database.handle.db;
    const { contact, created } = await upsertContact(
      db,
      ws,
      { phone: PERSON.phone, consent: { sms: "subscribed" } },
      { source: "api", id: "key-2" },
      { tombstoneKey: KEY },
    );
    expect(created).toBe(true);
    expect(contact.consent.sms).toBe("unsubscribed");
  });

  it("exits a member erased in the middle of a journey: the report counts them as cancelled", async () => {
    const db = database.handle.db;
    const report = await getCampaignReport(db, ws, runningCampaign, at(HOUR));
    expect(report.members).toEqual({ entered: 1, byState: { cancelled: 1 } });
    expect(report.totals).toMatchObject({ queued: 0, cancelled: 1 });
    expect(report.byNode.find((n) => n.nodeId === "wait")!.actions).toMatchObject({ cancelled: 1 });
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from enrollments where workspace_id = ${ws.id} and campaign_id = ${runningCampaign}`.execute(
      db,
    );
    expect(rows[0]!.n).toBe(0);
  });
});
