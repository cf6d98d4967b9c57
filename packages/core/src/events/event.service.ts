/** Event ingestion: a batch of up to 1,000 events in one transaction, idempotent by event id. */
import { randomUUID } from "node:crypto";
import type { EventBatchResult, EventInput } from "@omneural/contracts/events";
import { queueMembershipCheck } from "../audiences/membership.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { normalizeEmail } from "../contacts/normalize.ts";
import type { Db } from "../db/database.ts";
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
    await wakeEnrollments(trx, ws.id, fresh, now);
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
