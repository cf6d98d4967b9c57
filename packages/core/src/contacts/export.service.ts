/**
 * GDPR export (GET /api/v1/contacts/{id}/export): everything the workspace holds about one contact, as
 * one JSON document read in one snapshot — profile, consent ledger, lists, segments and their
 * transitions, topics, events and responses, journeys with their history, entries, conversions, A/B
 * assignments, send-ledger rows with what was rendered for them (dev-inbox copy, print piece, PURL,
 * short links), test sends and other dev-inbox entries to their addresses, ad audiences, and the
 * suppression entries of their addresses, tombstones included.
 */
import type { ContactExport } from "@omneural/contracts/contacts";
import type { Db } from "../db/database.ts";
import { notFound } from "../shared/errors.ts";
import { findContactById } from "./contact.repository.ts";
import type { WorkspaceContext } from "./contact.service.ts";
import { toContact } from "./contact.ts";
import {
  selectAdAudiences,
  selectAudienceTransitions,
  selectCampaignEntries,
  selectConsentLedger,
  selectConversions,
  selectEnrollments,
  selectEvents,
  selectLists,
  selectMessages,
  selectOtherDeliveries,
  selectSegments,
  selectSplitAssignments,
  selectTestSends,
  selectTopicChoices,
} from "./export.repository.ts";
import { selectSuppressionsOf } from "./suppression.repository.ts";
import { addressesOf, tombstoneAddress } from "./suppression.ts";

export interface ExportOptions {
  /** Keys.tombstones: finds the tombstones of the contact's addresses too. */
  tombstoneKey?: Buffer | undefined;
  now?: Date;
}

/** Timestamps read from JSON built in SQL come as PostgreSQL writes them: say them as the API does. */
const iso = (value: Date | string) => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));

const RESPONSE_PREFIX = "message.";

export async function exportContact(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  options: ExportOptions = {},
): Promise<ContactExport> {
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (trx) => {
      const row = await findContactById(trx, ws.id, id);
      if (!row) throw notFound("contact", id);
      const k = { workspaceId: ws.id, contactId: id };
      const email = row.email?.toLowerCase() ?? null;
      const addresses = addressesOf(row);
      const key = options.tombstoneKey;
      const suppressionKeys = addresses.flatMap((a) => [
        { channel: a.channel, address: a.address },
        ...(key ? [{ channel: a.channel, address: tombstoneAddress(key, ws.id, a.address) }] : []),
      ]);
      const events = await selectEvents(trx, k);
      const toEvent = (e: (typeof events)[number]) => ({
        id: e.id,
        type: e.type,
        properties: e.properties,
        occurredAt: iso(e.occurred_at),
        receivedAt: iso(e.received_at),
      });
      return {
        exportedAt: (options.now ?? new Date()).toISOString(),
        workspaceId: ws.id,
        contact: toContact(row),
        consentLedger: (await selectConsentLedger(trx, k)).map((c) => ({
          channel: c.channel,
          status: c.status,
          previousStatus: c.previous_status,
          source: c.source,
          actor: c.actor,
          reason: c.reason,
          changedAt: iso(c.changed_at),
        })),
        lists: (await selectLists(trx, k)).map((l) => ({ id: l.id, name: l.name, addedAt: iso(l.added_at) })),
        segments: (await selectSegments(trx, k)).map((s) => ({
          id: s.id,
          name: s.name,
          enteredAt: iso(s.entered_at),
        })),
        audienceTransitions: (await selectAudienceTransitions(trx, k)).map((t) => ({
          audienceId: t.audience_id,
          audienceName: t.audience_name,
          transition: t.transition,
          cause: t.cause,
          at: iso(t.at),
        })),
        topics: (await selectTopicChoices(trx, k)).map((t) => ({
          topicId: t.topic_id,
          name: t.name,
          subscribed: t.subscribed,
          changedAt: iso(t.changed_at),
        })),
        events: events.filter((e) => !e.type.startsWith(RESPONSE_PREFIX)).map(toEvent),
        responses: events.filter((e) => e.type.startsWith(RESPONSE_PREFIX)).map(toEvent),
        enrollments: (await selectEnrollments(trx, k)).map((e) => ({
          campaignId: e.campaign_id,
          campaignName: e.campaign_name,
          nodeId: e.node_id,
          state: e.state,
          iteration: e.iteration,
          holdout: e.holdout,
          enrolledAt: iso(e.enrolled_at),
          updatedAt: iso(e.updated_at),
          error: e.error,
          triggerEvent: e.trigger_event,
          steps: e.steps.map((s) => ({ seq: s.seq, at: iso(s.at), trace: s.trace })),
        })),
        campaignEntries: (await selectCampaignEntries(trx, k)).map((e) => ({
          campaignId: e.campaign_id,
          cause: e.cause,
          iteration: e.iteration,
          at: iso(e.at),
        })),
        conversions: (await selectConversions(trx, k)).map((c) => ({
          campaignId: c.campaign_id,
          iteration: c.iteration,
          eventId: c.event_id,
          holdout: c.holdout,
          convertedAt: iso(c.converted_at),
        })),
        splitAssignments: (await selectSplitAssignments(trx, k)).map((s) => ({
          campaignId: s.campaign_id,
          nodeId: s.node_id,
          iteration: s.iteration,
          branch: s.branch,
          phase: s.phase,
          at: iso(s.at),
        })),
        messages: (await selectMessages(trx, k)).map((m) => ({
          id: m.id,
          campaignId: m.campaign_id,
          nodeId: m.node_id,
          channel: m.channel,
          templateId: m.template_id,
          templateVersion: m.template_version,
          status: m.status,
          reason: m.reason,
          details: m.details,
          queuedAt: iso(m.queued_at),
          sentAt: isoOrNull(m.sent_at),
          provider: m.provider,
          providerMessageId: m.provider_message_id,
          deliveryStatus: m.delivery_status,
          rendered: m.outbox && {
            recipient: m.outbox.recipient,
            subject: m.outbox.subject,
            content: m.outbox.content,
            headers: m.outbox.headers,
            createdAt: iso(m.outbox.created_at),
          },
          printPiece: m.print_piece && {
            status: m.print_piece.status,
            piece: m.print_piece.piece,
            createdAt: iso(m.print_piece.created_at),
          },
          purl: m.purl,
          shortLinks: m.short_links,
        })),
        otherDeliveries: (await selectOtherDeliveries(trx, ws.id, email, row.phone)).map((o) => ({
          id: o.id,
          channel: o.channel,
          recipient: o.recipient,
          subject: o.subject,
          content: o.content,
          createdAt: iso(o.created_at),
        })),
        testSends: (await selectTestSends(trx, ws.id, email, row.phone)).map((t) => ({
          id: t.id,
          templateId: t.template_id,
          templateVersion: t.template_version,
          channel: t.channel,
          recipient: t.recipient,
          sentAt: iso(t.sent_at),
          outcome: t.outcome,
        })),
        adAudiences: (await selectAdAudiences(trx, k)).map((a) => ({
          destinationId: a.destination_id,
          name: a.name,
          platform: a.platform,
          addedAt: iso(a.added_at),
          removedAt: isoOrNull(a.removed_at),
        })),
        suppressions: (await selectSuppressionsOf(trx, ws.id, suppressionKeys)).map((s) => ({
          channel: s.channel,
          address: s.address,
          reason: s.reason,
          source: s.source,
          createdAt: iso(s.created_at),
        })),
      };
    });
}
