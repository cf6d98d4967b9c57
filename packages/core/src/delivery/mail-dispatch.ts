/**
 * Direct mail in the dispatcher: decides, at send time, whether one ledger row's piece may go, and
 * renders it. Skipped: the contact is gone, has no postal address at all, or has opted out of mail
 * (consent `unsubscribed`, `bounced` for returned mail, or `complained`; `never_asked` may be mailed,
 * as for email). Failed, with the reason: an address too incomplete to be delivered, no return address,
 * a template that is not a mail template or does not render. Otherwise the member gets a PURL (the same
 * one on every retry of the row) and the piece goes to the channel.
 */
import type { MailContent } from "@omneural/contracts/templates";
import type { Db } from "../db/database.ts";
import { templateRenderer } from "../templates/template.service.ts";
import type { MailChannel, OutgoingMailPiece, SendResult } from "./channel.ts";
import type { ClaimedMessage, Outcome, RecipientRow } from "./dispatch.repository.ts";
import { type SendFacts, toRenderContact } from "./dispatcher.ts";
import { purlCodeForMessage } from "./mail.repository.ts";
import { checkMailAddress } from "./print-batch.ts";
import { newPurlCode, purlUrl } from "./purl.ts";

const MAIL_CONSENTED = new Set(["subscribed", "never_asked"]);

export async function prepareMail(
  db: Db,
  message: ClaimedMessage,
  facts: SendFacts,
  channel: MailChannel,
): Promise<Outcome | { send: () => Promise<SendResult>; provider: string }> {
  const { recipient, template, sender } = facts;
  if (!recipient) return { status: "skipped", reason: "the contact no longer exists" };
  const to = mailAddressOf(recipient);
  if (!hasAnyAddress(recipient)) return { status: "skipped", reason: "the contact has no postal address" };
  const consent = recipient.mail_consent;
  if (!MAIL_CONSENTED.has(consent)) return { status: "skipped", reason: `mail consent is ${consent}` };
  const problem = checkMailAddress(to);
  if (problem) return { status: "failed", reason: `address incomplete: ${problem}` };
  if (!sender) {
    return {
      status: "failed",
      reason:
        "the workspace has no return address for direct mail: set postalAddress with PUT /api/v1/workspace/sender",
    };
  }
  if (template?.channel !== "mail") {
    return { status: "failed", reason: `template ${message.template_id} is missing or not a mail template` };
  }

  const code = await purlCodeForMessage(
    db,
    {
      workspaceId: message.workspace_id,
      messageId: message.id,
      contactId: message.contact_id,
      campaignId: message.campaign_id,
    },
    newPurlCode,
  );
  const purl = purlUrl(facts.links.publicUrl, code);
  // A render error is thrown and becomes this row's failure (see the dispatcher's deliver).
  const rendered = templateRenderer.renderMail(template.content as MailContent, toRenderContact(recipient), {
    links: { purl },
    event: facts.event,
  });
  const piece: OutgoingMailPiece = {
    workspaceId: message.workspace_id,
    messageId: message.id,
    idempotencyKey: message.idempotency_key,
    layout: rendered.layout,
    to,
    returnAddress: returnAddressOf(sender),
    body: rendered.body,
    purl,
  };
  return { send: () => channel.send(piece), provider: channel.provider };
}

function hasAnyAddress(r: RecipientRow): boolean {
  return [r.address_line1, r.address_line2, r.city, r.postal_code].some((v) => v?.trim());
}

function mailAddressOf(r: RecipientRow): OutgoingMailPiece["to"] {
  return {
    name: [r.first_name, r.last_name]
      .map((part) => part?.trim())
      .filter(Boolean)
      .join(" "),
    line1: r.address_line1?.trim() ?? "",
    line2: r.address_line2?.trim() || null,
    city: r.city?.trim() ?? "",
    region: r.region?.trim() || null,
    postalCode: r.postal_code?.trim() ?? "",
    country: r.country?.trim() ?? "",
  };
}

/** The sender's postal address, under the sender's name unless the address already starts with it. */
export function returnAddressOf(sender: { from_name: string | null; postal_address: string }): string {
  const address = sender.postal_address.trim();
  const name = sender.from_name?.trim();
  if (!name || address.toLowerCase().startsWith(name.toLowerCase())) return address;
  return `${name}\n${address}`;
}
