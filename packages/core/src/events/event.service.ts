/**
 * Event ingestion: a batch of up to 1,000 events in one transaction, idempotent by event id. A
 * conversion event is also attributed to the message that led to it (a `message.converted` response).
 */
import { randomUUID } from "node:crypto";
import type { EventBatchResult, EventInput } from "@omneural/contracts/events";
import { queueMembershipCheck } from "../audiences/membership.ts";
import { queueEventEntries } from "../campaigns/campaign.repository.ts";
import {
  type AttributedMessage,
  findGoalMessages,
  findLastSentMessagesWithoutGoal,
  insertCampaignConversions,
  selectGoalEventTypes,
} from "../campaigns/goal.repository.ts";
import { goalConversionEventId } from "../campaigns/goal.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { normalizeEmail } from "../contacts/normalize.ts";
import type { Db, Executor } from "../db/database.ts";
import { wakeEnrollments } from "../engine/wake.ts";
import {
  findContactsByIdentities,
  insertEvents,
  insertMinimalContacts,
  type NewEventRow,
} from "./event.repository.ts";

type Identified =
  | { index: number; id: string; by: "contactId"; value: string }
  | {
      index: number;
      id: string;
      by: "externalId" | "email";
      value: string;
      externalId: string | null;
      email: string | null;
    };

/** How far in the future an occurredAt may lie (clock skew between systems). */
const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/**
 * Event types that are conversions for campaigns without a goal: each new one is attributed to the
 * contact's most recent message of such a campaign sent within CONVERSION_WINDOW_DAYS before it, as a
 * `message.converted` event of that message's campaign, node and channel. A campaign with a goal credits
 * its goal event type only, within its own window (see campaigns/goal.ts).
 */
export const CONVERSION_EVENT_TYPES: readonly string[] = ["purchase", "conversion", "order_completed"];

/** How long after a message was sent a conversion is still credited to it (campaigns without a goal). */
export const CONVERSION_WINDOW_DAYS = 7;

/** The id of the `message.converted` event of a conversion: the same for every replay of it. */
export const conversionEventId = (sourceEventId: string) => `converted:${sourceEventId}`;

/**
 * `message.converted` events for the new conversion events that follow a message of a campaign; and,
 * for goal events, each enrollment's first conversion within the goal's window of entry (holdout and
 * treatment alike, for lift).
 */
async function attributeConversions(trx: Executor, workspaceId: string, fresh: NewEventRow[]) {
  if (fresh.length === 0) return [];
  const conversions = fresh.filter((e) => CONVERSION_EVENT_TYPES.includes(e.type));
  const messages = await findLastSentMessagesWithoutGoal(
    trx,
    workspaceId,
    conversions.map((e) => ({ contactId: e.contactId, at: e.occurredAt })),
    CONVERSION_WINDOW_DAYS,
  );
  const goalTypes = await selectGoalEventTypes(trx, workspaceId, [...new Set(fresh.map((e) => e.type))]);
  const goals = fresh.filter((e) => goalTypes.has(e.type));
  const goalMessages = await findGoalMessages(trx, workspaceId, goals);
  await insertCampaignConversions(trx, workspaceId, goals);

  const converted = (event: NewEventRow, message: AttributedMessage, id: string): NewEventRow => {
    const { value, currency } = event.properties;
    return {
      id,
      contactId: event.contactId,
      type: "message.converted",
      properties: {
        campaignId: message.campaignId,
        nodeId: message.nodeId,
        messageId: message.messageId,
        channel: message.channel,
        sourceEventId: event.id,
        sourceEventType: event.type,
        ...(value !== undefined ? { value } : {}),
        ...(currency !== undefined ? { currency } : {}),
      },
      occurredAt: event.occurredAt,
    };
  };
  const rows: NewEventRow[] = [];
  conversions.forEach((event, i) => {
    const message = messages[i];
    if (message) rows.push(converted(event, message, conversionEventId(event.id)));
  });
  for (const { index, message } of goalMessages) {
    const event = goals[index]!;
    rows.push(converted(event, message, goalConversionEventId(event.id, message.campaignId)));
  }
  const inserted = await insertEvents(trx, workspaceId, rows);
  return rows.filter((r) => inserted.has(r.id));
}

export async function recordEvents(
  db: Db,
  ws: WorkspaceContext,
  events: EventInput[],
  now: Date = new Date(),
): Promise<EventBatchResult> {
  const results: EventBatchResult["results"] = events.map((e, index) => ({
    index,
    id: e.id ?? randomUUID(),
    status: "rejected",
    contactId: null,
    contactCreated: false,
  }));
  const identified: Identified[] = [];
  events.forEach((event, index) => {
    const result = results[index]!;
    if (event.occurredAt && Date.parse(event.occurredAt) > now.getTime() + MAX_FUTURE_MS) {
      result.error = "occurredAt is more than a day in the future";
      return;
    }
    if (event.contactId) {
      identified.push({ index, id: result.id, by: "contactId", value: event.contactId });
      return;
    }
    let email: string | null = null;
    if (event.email !== undefined) {
      const normalized = normalizeEmail(event.email);
      if (!normalized.ok) {
        result.error = `email: ${normalized.error.message}`;
        return;
      }
      email = normalized.value;
    }
    const externalId = event.externalId?.trim() || null;
    if (externalId)
      identified.push({ index, id: result.id, by: "externalId", value: externalId, externalId, email });
    else if (email)
      identified.push({ index, id: result.id, by: "email", value: email, externalId: null, email });
    else result.error = "identify the contact with contactId, externalId or email";
  });

  return db.transaction().execute(async (trx) => {
    const keys = {
      ids: identified.filter((i) => i.by === "contactId").map((i) => i.value),
      externalIds: identified.filter((i) => i.by === "externalId").map((i) => i.value),
      emails: identified.filter((i) => i.by === "email").map((i) => i.value),
    };
    let known = await findContactsByIdentities(trx, ws.id, keys);
    const lookup = () => ({
      contactId: new Map(known.map((c) => [c.id, c.id])),
      externalId: new Map(known.filter((c) => c.external_id).map((c) => [c.external_id!, c.id])),
      email: new Map(known.filter((c) => c.email).map((c) => [c.email!, c.id])),
    });
    let maps = lookup();
    const missing = identified.filter(
      (i): i is Extract<Identified, { by: "externalId" | "email" }> =>
        i.by !== "contactId" && !maps[i.by].has(i.value),
    );
    if (missing.length) {
      // An email that already belongs to another contact is not copied onto a new contact.
      await insertMinimalContacts(
        trx,
        ws.id,
        missing.map((m) => ({
          externalId: m.externalId,
          email: m.by === "externalId" && m.email && maps.email.has(m.email) ? null : m.email,
          timezone: ws.defaultTimezone,
        })),
      );
      known = await findContactsByIdentities(trx, ws.id, keys);
      maps = lookup();
    }
    const createdKeys = new Set(missing.map((m) => `${m.by}:${m.value}`));
    const rows: NewEventRow[] = [];
    const rowIndex: number[] = [];
    for (const item of identified) {
      const result = results[item.index]!;
      const contactId = maps[item.by].get(item.value);
      if (!contactId) {
        result.error =
          item.by === "contactId"
            ? `contact ${item.value} does not exist`
            : "the contact could not be created";
        continue;
      }
      const event = events[item.index]!;
      result.contactId = contactId;
      result.contactCreated = createdKeys.has(`${item.by}:${item.value}`);
      rowIndex.push(item.index);
      rows.push({
        id: result.id,
        contactId,
        type: event.type,
        properties: event.properties ?? {},
        occurredAt: event.occurredAt ? new Date(event.occurredAt) : now,
      });
    }
    const inserted = await insertEvents(trx, ws.id, rows);
    const touched = [...new Set(rows.filter((r) => inserted.has(r.id)).map((r) => r.contactId))];
    await queueMembershipCheck(trx, ws.id, touched, "event");
    const fresh = rows.filter((r) => inserted.has(r.id));
    const converted = await attributeConversions(trx, ws.id, fresh);
    await wakeEnrollments(trx, ws.id, [...fresh, ...converted], now);
    // Event-entry campaigns: the worker enters the contacts (a replayed event is not fresh).
    await queueEventEntries(trx, ws.id, [...fresh, ...converted]);
    rows.forEach((row, i) => {
      const result = results[rowIndex[i]!]!;
      if (inserted.has(row.id)) {
        result.status = "accepted";
        inserted.delete(row.id); // a second copy of the id in this batch is a duplicate
      } else result.status = "duplicate";
    });
    return {
      accepted: results.filter((r) => r.status === "accepted").length,
      duplicates: results.filter((r) => r.status === "duplicate").length,
      rejected: results.filter((r) => r.status === "rejected").length,
      results,
    };
  });
}
