/**
 * Writes a batch of responses in one transaction: resolves each to its contact and send-ledger row,
 * stores it as an event `message.<kind>` (the response's id is the event's id, so a replay is a no-op),
 * applies an unsubscribe's consent change, wakes the enrollments waiting for it and queues the
 * audience-membership check of its contacts. Only responses that were new have effects.
 */

import { queueMembershipCheck } from "../audiences/membership.ts";
import { queueEventEntries } from "../campaigns/campaign.repository.ts";
import type { Db } from "../db/database.ts";
import { wakeEnrollments } from "../engine/wake.ts";
import { detectMachineActivity } from "./machine-activity.ts";
import {
  applyUnsubscribes,
  CONSENT_CHANNELS,
  type ConsentChannel,
  findResponseListeners,
  insertResponseEvents,
  type LedgerFacts,
  type ResponseEventRow,
  type ResponseListeners,
  resolveResponseTargets,
  type Unsubscribe,
} from "./response.repository.ts";
import { RESPONSE_KINDS, type ResponseInput } from "./response.ts";

export interface WriteResult {
  /** New events. */
  recorded: number;
  /** Responses whose id was recorded before (a replay), or repeated within the batch. */
  duplicates: number;
  /** Responses whose message or contact does not exist (any more), or that are malformed. */
  dropped: number;
  /** Contacts whose consent an unsubscribe changed. */
  unsubscribed: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KINDS = new Set<string>(RESPONSE_KINDS);
const MAX_ID_LENGTH = 200;

/** Whether the response can be written at all; a malformed one would fail its whole batch. */
export function isWellFormedResponse(r: ResponseInput): boolean {
  return (
    typeof r.id === "string" &&
    r.id.length > 0 &&
    r.id.length <= MAX_ID_LENGTH &&
    UUID.test(r.workspaceId) &&
    (r.messageId === null || (typeof r.messageId === "string" && UUID.test(r.messageId))) &&
    (r.contactId === undefined || r.contactId === null
      ? r.messageId !== null
      : typeof r.contactId === "string" && UUID.test(r.contactId)) &&
    KINDS.has(r.kind) &&
    r.at instanceof Date &&
    Number.isFinite(r.at.getTime()) &&
    typeof r.properties === "object" &&
    r.properties !== null
  );
}

/** The event's properties: the request's, the ledger's facts (which win), and the machine flag. */
function eventProperties(response: ResponseInput, facts: LedgerFacts): Record<string, unknown> {
  const ledger = facts.messageId
    ? {
        campaignId: facts.campaignId,
        nodeId: facts.nodeId,
        messageId: facts.messageId,
        channel: facts.channel,
      }
    : undefined;
  const machine = detectMachineActivity({
    kind: response.kind,
    at: response.at,
    sentAt: facts.sentAt,
    userAgent: response.properties.userAgent,
    method: response.properties.method,
  });
  // Object.assign, not a spread with added keys: V8 builds the latter an order of magnitude slower.
  return Object.assign(
    {},
    response.properties,
    ledger,
    machine ? { machine: true, machineReason: machine } : undefined,
  );
}

export async function writeResponses(
  db: Db,
  responses: ResponseInput[],
  now: Date = new Date(),
): Promise<WriteResult> {
  const result: WriteResult = { recorded: 0, duplicates: 0, dropped: 0, unsubscribed: 0 };
  const seen = new Set<string>();
  const batch: ResponseInput[] = [];
  for (const response of responses) {
    if (!isWellFormedResponse(response)) {
      result.dropped++;
      continue;
    }
    const key = `${response.workspaceId}:${response.id}`;
    if (seen.has(key)) {
      result.duplicates++;
      continue;
    }
    seen.add(key);
    batch.push(response);
  }
  if (!batch.length) return result;

  await db.transaction().execute(async (trx) => {
    const facts = await resolveResponseTargets(
      trx,
      batch.map((r) => ({
        workspaceId: r.workspaceId,
        messageId: r.messageId,
        contactId: r.contactId ?? null,
      })),
    );
    const rows: ResponseEventRow[] = [];
    const unsubscribes: Unsubscribe[] = [];
    batch.forEach((response, i) => {
      const found = facts[i];
      if (!found) {
        result.dropped++;
        return;
      }
      const properties = eventProperties(response, found);
      rows.push({
        workspaceId: response.workspaceId,
        id: response.id,
        contactId: found.contactId,
        type: `message.${response.kind}`,
        properties,
        occurredAt: response.at,
      });
      if (response.kind === "unsubscribed") {
        const channel = found.channel ?? properties.channel;
        if (CONSENT_CHANNELS.includes(channel as ConsentChannel)) {
          unsubscribes.push({
            workspaceId: response.workspaceId,
            contactId: found.contactId,
            channel: channel as ConsentChannel,
            responseId: response.id,
            reason: typeof properties.reason === "string" ? properties.reason : null,
            at: response.at,
          });
        }
      }
    });

    const recordedBefore = await insertResponseEvents(trx, rows);
    result.recorded = rows.length - recordedBefore.size;
    result.duplicates += recordedBefore.size;
    const isNew = (r: { workspaceId: string; responseId?: string; id?: string }) =>
      !recordedBefore.has(`${r.workspaceId}:${r.responseId ?? r.id}`);
    const fresh = recordedBefore.size ? rows.filter(isNew) : rows;
    const byWorkspace = new Map<string, ResponseEventRow[]>();
    for (const row of fresh) {
      const list = byWorkspace.get(row.workspaceId);
      if (list) list.push(row);
      else byWorkspace.set(row.workspaceId, [row]);
    }
    // Most batches wake nobody, enter no campaign and move no segment: one look says which of those
    // statements (each carrying the whole batch) are needed.
    const listeners = byWorkspace.size
      ? await findResponseListeners(trx, [...byWorkspace.keys()], [...new Set(fresh.map((r) => r.type))])
      : new Map<string, ResponseListeners>();
    // Enrollments before contacts: the stepper claims enrollments (skipping locked ones) and then may
    // update their contacts, so taking them in the same order cannot deadlock with it.
    for (const workspaceId of [...byWorkspace.keys()].sort()) {
      const listening = listeners.get(workspaceId);
      if (listening?.wakes) await wakeEnrollments(trx, workspaceId, byWorkspace.get(workspaceId)!, now);
      // A response may start another campaign (a click on one campaign's email enters a follow-up).
      if (listening?.enters) await queueEventEntries(trx, workspaceId, byWorkspace.get(workspaceId)!);
    }
    result.unsubscribed = await applyUnsubscribes(trx, unsubscribes.filter(isNew));
    for (const [workspaceId, events] of byWorkspace) {
      if (!listeners.get(workspaceId)?.listens) continue;
      await queueMembershipCheck(trx, workspaceId, [...new Set(events.map((e) => e.contactId))], "response");
    }
  });
  return result;
}
