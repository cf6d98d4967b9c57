/**
 * GDPR erasure: removes a contact and every row that names them or their addresses, in one transaction.
 *
 * In order: the contact row is locked; its opted-out or suppressed email and phone become tombstones
 * (suppression.ts) and their plain suppression rows go; journeys in progress are exited (cancelled, with
 * a history step saying why) and queued sends cancelled, so that reports count them as cancelled; then
 * the rendered messages (dev inbox, print pieces not yet printed), PURLs, short links, ledger rows,
 * journeys, memberships, events, consent ledger and the profile are deleted, test sends and report keys
 * that named the contact are anonymised, and an erasure-log row records the counts under a random id.
 *
 * What stays: report rollups (the delete triggers are told to keep counts), tombstones, the erasure log,
 * and, outside the database, print batches already written (merged PDFs handed to the print shop) and
 * whatever providers keep. See docs/data-lifecycle.md.
 */
import { randomUUID } from "node:crypto";
import type { ContactErased } from "@omneural/contracts/contacts";
import type { Db, Executor } from "../db/database.ts";
import type { ContactRow } from "../db/schema.ts";
import { forgetSampleEmailsOf } from "../retention/retention.repository.ts";
import { notFound } from "../shared/errors.ts";
import { findContactById } from "./contact.repository.ts";
import type { WorkspaceContext } from "./contact.service.ts";
import {
  anonymiseFirstResponses,
  anonymiseTestSends,
  deleteByCampaignAndContact,
  deleteByContact,
  deleteByMessages,
  deleteContactRows,
  deleteImportRejections,
  deleteOutbox,
  exitEnrollments,
  insertErasureLog,
  keepReportCounts,
  selectMessages,
  type Tally,
} from "./erasure.repository.ts";
import { deletePlainSuppressions, insertTombstones, selectSuppressionsOf } from "./suppression.repository.ts";
import {
  addressesOf,
  OPTED_OUT,
  type SuppressionChannel,
  tombstoneAddress,
  tombstoneReason,
} from "./suppression.ts";

export interface ErasureOptions {
  /**
   * Keys.tombstones: hashes the addresses kept on the suppression list. Required whenever the contact
   * has an address to keep suppressed; erasing without it then fails rather than forget the opt-out.
   */
  tombstoneKey?: Buffer | undefined;
  /** Who asked, for the erasure log: `api` with the API key's id, or `system` (a retention job). */
  requestedBy?: { source: string; actor: string | null };
  now?: Date;
}

export type ErasureResult = Omit<ContactErased, "id" | "erased" | "detail">;

/** The reason journeys and queued sends carry when their contact is erased (reports: "contact erased"). */
export const ERASED_REASON = "the contact was erased: it no longer exists";

/**
 * Makes the contacts' tombstones and removes their plain suppression rows. An address gets a tombstone
 * when it is suppressed or its channel's consent is unsubscribed, bounced or complained. Returns, per
 * contact, the tombstones made and the plain rows removed.
 */
export async function buryAddresses(
  trx: Executor,
  workspaceId: string,
  contacts: ContactRow[],
  key: Buffer | undefined,
): Promise<Map<string, { tombstones: number; removed: number }>> {
  const byContact = new Map(contacts.map((c) => [c.id, { tombstones: 0, removed: 0 }]));
  const owned = contacts.flatMap((c) => addressesOf(c).map((a) => ({ ...a, contactId: c.id })));
  const plain = await selectSuppressionsOf(trx, workspaceId, owned);
  const tombstones: { channel: SuppressionChannel; address: string; reason: string }[] = [];
  for (const a of owned) {
    const mine = plain.filter((s) => s.channel === a.channel && s.address === a.address);
    const suppression = mine[0];
    const counts = byContact.get(a.contactId)!;
    counts.removed += mine.filter((s) => s.source !== "erasure").length;
    if (!suppression && !OPTED_OUT.has(a.consent)) continue;
    if (!key) throw new Error("erasing a contact with a suppressed address needs the tombstone key");
    tombstones.push({
      channel: a.channel,
      address: tombstoneAddress(key, workspaceId, a.address),
      reason: tombstoneReason(suppression?.source ?? null, a.consent),
    });
    counts.tombstones++;
  }
  await insertTombstones(trx, workspaceId, tombstones);
  await deletePlainSuppressions(trx, workspaceId, owned);
  return byContact;
}

/** The contacts' rows, locked, in id order (so that concurrent erasures cannot deadlock). */
export async function lockContactRows(
  trx: Executor,
  workspaceId: string,
  ids: string[],
): Promise<ContactRow[]> {
  if (ids.length === 0) return [];
  return trx
    .selectFrom("contacts")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "in", ids)
    .orderBy("id")
    .forUpdate()
    .execute();
}

/** Who owns each address of the contacts (email lower-cased), to attribute rows found by address. */
function addressOwners(contacts: ContactRow[]) {
  const owners = new Map<string, string>();
  for (const c of contacts) {
    if (c.email && !owners.has(`email:${c.email.toLowerCase()}`))
      owners.set(`email:${c.email.toLowerCase()}`, c.id);
    if (c.phone && !owners.has(`sms:${c.phone}`)) owners.set(`sms:${c.phone}`, c.id);
  }
  return owners;
}

/**
 * Erases the contacts inside the caller's transaction, one statement per table for all of them (a
 * retention batch erases hundreds at once). Returns what was done for each contact that existed; each
 * gets its own erasure-log row with its own counts under a random id.
 */
export async function eraseContactsWithin(
  trx: Executor,
  workspaceId: string,
  contactIds: string[],
  options: ErasureOptions,
): Promise<Map<string, ErasureResult>> {
  const now = options.now ?? new Date();
  const contacts = await lockContactRows(trx, workspaceId, contactIds);
  if (contacts.length === 0) return new Map();
  const ids = contacts.map((c) => c.id);
  const emails = contacts.flatMap((c) => (c.email ? [c.email.toLowerCase()] : []));
  const phones = contacts.flatMap((c) => (c.phone ? [c.phone] : []));
  const owners = addressOwners(contacts);
  await keepReportCounts(trx, true);

  const buried = await buryAddresses(trx, workspaceId, contacts, options.tombstoneKey);
  const exited = await exitEnrollments(trx, workspaceId, ids, now, ERASED_REASON);
  const messages = await selectMessages(trx, workspaceId, ids);
  const messageIds = messages.map((m) => m.id);
  const ownerOfMessage = new Map(messages.map((m) => [m.id, m.contactId]));
  /** Per-message counts summed per contact. */
  const byOwner = (perMessage: Tally): Tally => {
    const out: Tally = new Map();
    for (const [messageId, n] of perMessage) {
      const owner = ownerOfMessage.get(messageId);
      if (owner) out.set(owner, (out.get(owner) ?? 0) + n);
    }
    return out;
  };
  const outboxRows = await deleteOutbox(trx, workspaceId, messageIds, emails, phones);
  const outbox: Tally = new Map();
  for (const row of outboxRows) {
    const owner =
      (row.messageId && ownerOfMessage.get(row.messageId)) || owners.get(`${row.channel}:${row.recipient}`);
    if (owner) outbox.set(owner, (outbox.get(owner) ?? 0) + 1);
  }
  const byAddress = (texts: string[], exact: boolean): Tally => {
    const out: Tally = new Map();
    for (const text of texts) {
      for (const [address, owner] of owners) {
        const plain = address.slice(address.indexOf(":") + 1);
        if (exact ? text === plain : text.includes(plain.toLowerCase())) {
          out.set(owner, (out.get(owner) ?? 0) + 1);
          break;
        }
      }
    }
    return out;
  };
  const removed = {
    outbox,
    printPieces: byOwner(await deleteByMessages(trx, "print_pieces", workspaceId, messageIds)),
    purls: byOwner(await deleteByMessages(trx, "purls", workspaceId, messageIds)),
    shortLinks: byOwner(await deleteByMessages(trx, "short_links", workspaceId, messageIds)),
    messages: await deleteByContact(trx, "messages", workspaceId, ids),
    enrollmentSteps: await deleteByCampaignAndContact(trx, "enrollment_steps", workspaceId, ids),
    enrollments: await deleteByCampaignAndContact(trx, "enrollments", workspaceId, ids),
    conversions: await deleteByCampaignAndContact(trx, "campaign_conversions", workspaceId, ids),
    campaignEntries: await deleteByContact(trx, "campaign_entries", workspaceId, ids),
    splitAssignments: await deleteByContact(trx, "split_assignments", workspaceId, ids),
    listMemberships: await deleteByContact(trx, "list_members", workspaceId, ids),
    audienceMemberships: await deleteByContact(trx, "audience_members", workspaceId, ids),
    audienceTransitions: await deleteByContact(trx, "audience_transitions", workspaceId, ids),
    adAudienceMemberships: await deleteByContact(trx, "ad_audience_members", workspaceId, ids),
    topicChoices: await deleteByContact(trx, "contact_topics", workspaceId, ids),
    events: await deleteByContact(trx, "events", workspaceId, ids),
    consentChanges: await deleteByContact(trx, "consent_changes", workspaceId, ids),
    suppressions: new Map([...buried].map(([id, b]) => [id, b.removed])) as Tally,
    importRejections: byAddress(await deleteImportRejections(trx, workspaceId, emails, phones), false),
    contact: await deleteContactRows(trx, workspaceId, ids),
  };
  const anonymised = {
    testSends: byAddress(await anonymiseTestSends(trx, workspaceId, emails, phones), true),
    firstResponses: await anonymiseFirstResponses(trx, workspaceId, ids),
  };
  const of = <K extends string>(tallies: Record<K, Tally>, id: string) =>
    Object.fromEntries(Object.entries<Tally>(tallies).map(([k, t]) => [k, t.get(id) ?? 0])) as Record<
      K,
      number
    >;
  const results = new Map<string, ErasureResult>();
  for (const id of ids) {
    results.set(id, {
      erasureId: randomUUID(),
      removed: of(removed, id),
      anonymised: of(anonymised, id),
      exited: { enrollments: exited.enrollments.get(id) ?? 0, messages: exited.messages.get(id) ?? 0 },
      tombstones: buried.get(id)?.tombstones ?? 0,
    });
  }
  await insertErasureLog(
    trx,
    workspaceId,
    now,
    [...results.values()].map((r) => ({
      id: r.erasureId,
      source: options.requestedBy?.source ?? "system",
      actor: options.requestedBy?.actor ?? null,
      counts: { removed: r.removed, anonymised: r.anonymised, exited: r.exited },
      tombstones: r.tombstones,
    })),
  );
  await keepReportCounts(trx, false);
  return results;
}

/**
 * Erases one contact inside the caller's transaction. Returns undefined when the workspace has no such
 * contact.
 */
export async function eraseContactWithin(
  trx: Executor,
  workspaceId: string,
  contactId: string,
  options: ErasureOptions,
): Promise<ErasureResult | undefined> {
  return (await eraseContactsWithin(trx, workspaceId, [contactId], options)).get(contactId);
}

/** GDPR erasure of one contact (DELETE /api/v1/contacts/{id}). */
export async function eraseContact(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  options: ErasureOptions = {},
): Promise<ContactErased> {
  const result = await db.transaction().execute(async (trx) => {
    const contact = await findContactById(trx, ws.id, id, true);
    if (!contact) return undefined;
    const erased = await eraseContactWithin(trx, ws.id, id, options);
    // Retention runs' samples (a dry run's) may show the address: it goes from them too. Not in
    // eraseContactWithin: a retention batch clears its 500 contacts' sample emails in one statement.
    await forgetSampleEmailsOf(trx, ws.id, id, contact.email?.toLowerCase() ?? null);
    return erased;
  });
  if (!result) throw notFound("contact", id);
  return {
    id,
    erased: true,
    ...result,
    detail:
      "The contact's profile, events, consent history, memberships, journeys, send-ledger rows, rendered messages, PURLs and short links were permanently deleted. Report counts stay as anonymised aggregates; an opted-out or suppressed email or phone stays on the suppression list as a keyed hash (a tombstone), so the person is not contacted again.",
  };
}
