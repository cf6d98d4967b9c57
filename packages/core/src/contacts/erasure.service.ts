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
  deleteContactRow,
  deleteImportRejections,
  deleteOutbox,
  exitEnrollments,
  insertErasureLog,
  keepReportCounts,
  selectMessageIds,
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
 * Makes the contact's tombstones and removes its plain suppression rows. An address gets a tombstone
 * when it is suppressed or its channel's consent is unsubscribed, bounced or complained.
 */
export async function buryAddresses(
  trx: Executor,
  workspaceId: string,
  contact: ContactRow,
  key: Buffer | undefined,
) {
  const addresses = addressesOf(contact);
  const plain = await selectSuppressionsOf(trx, workspaceId, addresses);
  const tombstones: { channel: SuppressionChannel; address: string; reason: string }[] = [];
  for (const a of addresses) {
    const suppression = plain.find((s) => s.channel === a.channel && s.address === a.address);
    if (!suppression && !OPTED_OUT.has(a.consent)) continue;
    if (!key) throw new Error("erasing a contact with a suppressed address needs the tombstone key");
    tombstones.push({
      channel: a.channel,
      address: tombstoneAddress(key, workspaceId, a.address),
      reason: tombstoneReason(suppression?.source ?? null, a.consent),
    });
  }
  await insertTombstones(trx, workspaceId, tombstones);
  const removed = await deletePlainSuppressions(trx, workspaceId, addresses);
  return { tombstones: tombstones.length, removed };
}

/**
 * Erases one contact inside the caller's transaction (a retention job erasing many runs this per
 * contact). Returns undefined when the workspace has no such contact.
 */
export async function eraseContactWithin(
  trx: Executor,
  workspaceId: string,
  contactId: string,
  options: ErasureOptions,
): Promise<ErasureResult | undefined> {
  const now = options.now ?? new Date();
  const contact = await findContactById(trx, workspaceId, contactId, true);
  if (!contact) return undefined;
  const email = contact.email?.toLowerCase() ?? null;
  const phone = contact.phone;
  await keepReportCounts(trx, true);

  const buried = await buryAddresses(trx, workspaceId, contact, options.tombstoneKey);
  const exited = await exitEnrollments(trx, workspaceId, contactId, now, ERASED_REASON);
  const messageIds = await selectMessageIds(trx, workspaceId, contactId);
  const removed = {
    outbox: await deleteOutbox(trx, workspaceId, messageIds, email, phone),
    printPieces: await deleteByMessages(trx, "print_pieces", workspaceId, messageIds),
    purls: await deleteByMessages(trx, "purls", workspaceId, messageIds),
    shortLinks: await deleteByMessages(trx, "short_links", workspaceId, messageIds),
    messages: await deleteByContact(trx, "messages", workspaceId, contactId),
    enrollmentSteps: await deleteByCampaignAndContact(trx, "enrollment_steps", workspaceId, contactId),
    enrollments: await deleteByCampaignAndContact(trx, "enrollments", workspaceId, contactId),
    conversions: await deleteByCampaignAndContact(trx, "campaign_conversions", workspaceId, contactId),
    campaignEntries: await deleteByContact(trx, "campaign_entries", workspaceId, contactId),
    splitAssignments: await deleteByContact(trx, "split_assignments", workspaceId, contactId),
    listMemberships: await deleteByContact(trx, "list_members", workspaceId, contactId),
    audienceMemberships: await deleteByContact(trx, "audience_members", workspaceId, contactId),
    audienceTransitions: await deleteByContact(trx, "audience_transitions", workspaceId, contactId),
    adAudienceMemberships: await deleteByContact(trx, "ad_audience_members", workspaceId, contactId),
    topicChoices: await deleteByContact(trx, "contact_topics", workspaceId, contactId),
    events: await deleteByContact(trx, "events", workspaceId, contactId),
    consentChanges: await deleteByContact(trx, "consent_changes", workspaceId, contactId),
    suppressions: buried.removed,
    importRejections: await deleteImportRejections(trx, workspaceId, email, phone),
    contact: await deleteContactRow(trx, workspaceId, contactId),
  };
  const anonymised = {
    testSends: await anonymiseTestSends(trx, workspaceId, email, phone),
    firstResponses: await anonymiseFirstResponses(trx, workspaceId, contactId),
  };
  const erasureId = randomUUID();
  await insertErasureLog(trx, {
    workspaceId,
    id: erasureId,
    erasedAt: now,
    source: options.requestedBy?.source ?? "system",
    actor: options.requestedBy?.actor ?? null,
    counts: { removed, anonymised, exited },
    tombstones: buried.tombstones,
  });
  await keepReportCounts(trx, false);
  return { erasureId, removed, anonymised, exited, tombstones: buried.tombstones };
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
