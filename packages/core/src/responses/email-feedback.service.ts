/**
 * Applies email feedback a provider posted for one workspace: hard bounces and complaints suppress the
 * address and set the contact's email consent (`bounced`, `complained`) with a consent-ledger row; every
 * bounce, complaint and delivery is recorded as a response to the message it is about (found by its
 * Message-ID or ledger id, else the most recent email to the address).
 */
import { queueMembershipCheck } from "../audiences/membership.ts";
import { findContactByIdentity } from "../contacts/contact.repository.ts";
import type { Db } from "../db/database.ts";
import { insertSuppression } from "../delivery/dispatch.repository.ts";
import { uuidv7 } from "../shared/ids.ts";
import type { EmailFeedbackEvent, EmailFeedbackFormat } from "./email-feedback.ts";
import {
  changeConsent,
  type LedgerRef,
  selectEmailMessageByReference,
  selectLatestMessageTo,
  updateDeliveryStatus,
} from "./provider-feedback.repository.ts";
import type { ResponseSink } from "./response.ts";
import { stableResponseId } from "./stable-id.ts";

export interface EmailFeedbackDeps {
  db: Db;
  responses: ResponseSink;
  now?: () => Date;
}

export interface EmailFeedbackSummary {
  received: number;
  /** Addresses newly or again suppressed (hard bounces and complaints). */
  suppressed: number;
  /** Events recorded as responses (those whose message or contact was found). */
  recorded: number;
  /** Events about an address the workspace has neither a contact nor a message for. */
  unmatched: number;
}

async function findMessage(
  db: Db,
  workspaceId: string,
  event: EmailFeedbackEvent,
  contactId: string | undefined,
) {
  let message: LedgerRef | undefined;
  if (event.messageRef) message = await selectEmailMessageByReference(db, workspaceId, event.messageRef);
  if (message || !contactId) return message;
  const latest = await selectLatestMessageTo(db, workspaceId, contactId, "email");
  return latest ? { workspace_id: workspaceId, id: latest, contact_id: contactId } : undefined;
}

export async function receiveEmailFeedback(
  deps: EmailFeedbackDeps,
  workspaceId: string,
  format: EmailFeedbackFormat,
  events: EmailFeedbackEvent[],
): Promise<EmailFeedbackSummary> {
  const summary: EmailFeedbackSummary = { received: events.length, suppressed: 0, recorded: 0, unmatched: 0 };
  for (const event of events) {
    const now = deps.now?.() ?? new Date();
    const at = event.occurredAt ?? now;
    const contact = await findContactByIdentity(deps.db, workspaceId, "email", event.email);
    const message = await findMessage(deps.db, workspaceId, event, contact?.id);
    const contactId = contact?.id ?? message?.contact_id;
    const suppress = event.type === "complaint" || (event.type === "bounce" && event.bounceType === "hard");
    const reason = event.reason ?? (event.type === "bounce" ? `${event.bounceType} bounce` : event.type);

    if (suppress || (event.type === "bounce" && message)) {
      await deps.db.transaction().execute(async (trx) => {
        if (event.type === "bounce" && message) {
          await updateDeliveryStatus(
            trx,
            workspaceId,
            message.id,
            "bounced",
            `${event.bounceType}: ${reason}`,
            now,
          );
        }
        if (!suppress) return;
        await insertSuppression(trx, {
          workspaceId,
          channel: "email",
          address: event.email,
          reason: `${event.type === "bounce" ? "hard bounce" : "complaint"} (${format}): ${reason}`,
          source: event.type === "bounce" ? "bounce" : "complaint",
          messageId: message?.id ?? null,
        });
        if (contact) {
          const changed = await changeConsent(trx, {
            workspaceId,
            contactId: contact.id,
            channel: "email",
            status: event.type === "bounce" ? "bounced" : "complained",
            // A complaint says more than a bounce: it is not overwritten by one.
            keep: event.type === "bounce" ? ["complained"] : [],
            source: event.type === "bounce" ? "bounce" : "complaint",
            actor: format,
            reason: reason.slice(0, 500),
            at: now,
          });
          if (changed) {
            await queueMembershipCheck(trx, workspaceId, [contact.id], `email ${event.type} reported`);
          }
        }
      });
      if (suppress) summary.suppressed += 1;
    }

    if (event.type === "delivered" && message) {
      await updateDeliveryStatus(deps.db, workspaceId, message.id, "delivered", null, now);
    }
    if (!message && !contactId) {
      summary.unmatched += 1;
      continue;
    }
    const kind =
      event.type === "bounce" ? "bounced" : event.type === "complaint" ? "complained" : "delivered";
    deps.responses.record({
      id: event.eventId
        ? stableResponseId(workspaceId, "email-feedback", event.eventId)
        : event.occurredAt
          ? stableResponseId(
              workspaceId,
              "email-feedback",
              kind,
              event.email,
              event.messageRef ?? "",
              at.toISOString(),
            )
          : uuidv7(now.getTime()),
      workspaceId,
      messageId: message?.id ?? null,
      ...(contactId ? { contactId } : {}),
      kind,
      at,
      properties: {
        email: event.email,
        provider: format,
        ...(event.bounceType ? { bounceType: event.bounceType } : {}),
        ...(event.reason ? { reason: event.reason } : {}),
      },
    });
    summary.recorded += 1;
  }
  return summary;
}
