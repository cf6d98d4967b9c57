import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { getEnrollment } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { seedSentEmails } from "../testing/responses.ts";
import { CONVERSION_WINDOW_DAYS, conversionEventId, recordEvents } from "./event.service.ts";

const database = useTestDatabase();

const T0 = new Date("2026-05-04T09:00:00Z");
const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;

beforeAll(async () => {
  ws = await newWorkspaceContext(database.handle.db);
});

async function convertedEvents(contactId: string) {
  return database.handle.db
    .selectFrom("events")
    .selectAll()
    .where("workspace_id", "=", ws.id)
    .where("contact_id", "=", contactId)
    .where("type", "=", "message.converted")
    .execute();
}

describe("recordEvents: conversions", () => {
  it("attributes a purchase to the contact's most recent message sent within the window", async () => {
    const db = database.handle.db;
    const older = await seedSentEmails(db, ws, 1, at(0));
    const contactId = older.messages[0]!.contactId;
    // A second campaign's email to the same contact, later: the most recent one gets the credit.
    const newer = await seedSentEmails(db, ws, 1, at(DAY));
    await sql`
      update messages set contact_id = ${contactId}
      where workspace_id = ${ws.id} and id = ${newer.messages[0]!.id}`.execute(db);

    const result = await recordEvents(
      db,
      ws,
      [
        {
          id: "order-1001",
          contactId,
          type: "purchase",
          properties: { value: 59.9, currency: "EUR", sku: "TEE-1" },
          occurredAt: at(3 * DAY).toISOString(),
        },
      ],
      at(3 * DAY),
    );
    expect(result).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 });
    const [converted, ...others] = await convertedEvents(contactId);
    expect(others).toEqual([]);
    expect(converted).toMatchObject({
      id: conversionEventId("order-1001"),
      type: "message.converted",
      occurred_at: at(3 * DAY),
      campaign_id: newer.campaignId,
      channel: "email",
      properties: {
        campaignId: newer.campaignId,
        nodeId: "s1",
        messageId: newer.messages[0]!.id,
        channel: "email",
        sourceEventId: "order-1001",
        sourceEventType: "purchase",
        value: 59.9,
        currency: "EUR",
      },
    });
  });

  it("records the conversion once when the event is sent again", async () => {
    const db = database.handle.db;
    const { messages } = await seedSentEmails(db, ws, 1, at(0));
    const contactId = messages[0]!.contactId;
    const event = { id: "conv-replayed", contactId, type: "conversion", occurredAt: at(HOUR).toISOString() };
    await recordEvents(db, ws, [event], at(HOUR));
    const again = await recordEvents(db, ws, [event, event], at(2 * HOUR));
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    const converted = await convertedEvents(contactId);
    expect(converted.map((e) => e.id)).toEqual([conversionEventId("conv-replayed")]);
    expect(converted[0]!.properties).not.toHaveProperty("value");
  });

  it("attributes nothing outside the window, before the send, or for other event types", async () => {
    const db = database.handle.db;
    const { messages } = await seedSentEmails(db, ws, 4, at(10 * DAY));
    const [late, early, edge, other] = messages.map((m) => m.contactId) as [string, string, string, string];
    const window = CONVERSION_WINDOW_DAYS * DAY;
    await recordEvents(
      db,
      ws,
      [
        {
          id: "late",
          contactId: late,
          type: "order_completed",
          occurredAt: at(10 * DAY + window + HOUR).toISOString(),
        },
        { id: "early", contactId: early, type: "purchase", occurredAt: at(10 * DAY - HOUR).toISOString() },
        {
          id: "edge",
          contactId: edge,
          type: "purchase",
          occurredAt: at(10 * DAY + window - HOUR).toISOString(),
        },
        { id: "viewed", contactId: other, type: "page_view", occurredAt: at(10 * DAY + HOUR).toISOString() },
      ],
      at(20 * DAY),
    );
    expect(await convertedEvents(late)).toEqual([]);
    expect(await convertedEvents(early)).toEqual([]);
    expect(await convertedEvents(other)).toEqual([]);
    expect((await convertedEvents(edge)).map((e) => e.id)).toEqual([conversionEventId("edge")]);
  });

  it("does not credit a message that was never sent", async () => {
    const db = database.handle.db;
    const { messages } = await seedSentEmails(db, ws, 1, at(0));
    const contactId = messages[0]!.contactId;
    await sql`
      update messages set status = 'failed', sent_at = null where workspace_id = ${ws.id} and id = ${messages[0]!.id}`.execute(
      db,
    );
    await recordEvents(
      db,
      ws,
      [{ id: "unsent", contactId, type: "purchase", occurredAt: at(HOUR).toISOString() }],
      at(HOUR),
    );
    expect(await convertedEvents(contactId)).toEqual([]);
  });

  it("wakes a member waiting for the conversion", async () => {
    const db = database.handle.db;
    const template = await createTemplate(db, ws, {
      name: "offer",
      channel: "email",
      content: { subject: "Offer", html: "<p>Offer</p>" },
    });
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s1" } },
        { id: "s1", type: "send", channel: "email", templateId: template.id, outlets: { next: "wf" } },
        {
          id: "wf",
          type: "wait_for",
          for: { kind: "response", response: "converted", sendNodeId: "s1" },
          timeout: { days: 5 },
          outlets: { matched: "bought", timed_out: "not_yet" },
        },
        { id: "bought", type: "exit", outlets: {} },
        { id: "not_yet", type: "exit", outlets: {} },
      ],
    };
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 1);
    const campaign = await launchGraph(db, ws, listId, graph, at(0));
    await drain(db, ws.id, campaign.id, { now: at(0) });
    await sql`
      update messages set status = 'sent', sent_at = ${at(HOUR)}
      where workspace_id = ${ws.id} and campaign_id = ${campaign.id}`.execute(db);
    const contactId = contactIds[0]!;
    await recordEvents(
      db,
      ws,
      [{ id: "woke", contactId, type: "purchase", occurredAt: at(DAY).toISOString() }],
      at(DAY),
    );
    expect((await getEnrollment(db, ws, campaign.id, contactId)).dueAt).toBe(at(DAY).toISOString());
    await drain(db, ws.id, campaign.id, { now: at(DAY) });
    expect((await getEnrollment(db, ws, campaign.id, contactId)).nodeId).toBe("bought");
  });
});
