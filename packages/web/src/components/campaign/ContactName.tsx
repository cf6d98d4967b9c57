/** A contact shown by email, name or phone (as the message list gives them), linking to their trace. */
import type { MessageContact } from "@omneural/contracts/workflows";
import { Link } from "wouter";

export function contactLabel(contact: MessageContact | null): string {
  if (!contact) return "A removed contact";
  return contact.email || contact.name || contact.phone || "A contact";
}

export function ContactTraceLink({
  campaignId,
  contactId,
  contact,
}: {
  campaignId: string;
  contactId: string;
  contact: MessageContact | null;
}) {
  const label = contactLabel(contact);
  const secondary = contact?.email && contact.name ? contact.name : null;
  return (
    <span className="contact-cell">
      <Link href={`/reports/${campaignId}/members/${contactId}`}>{label}</Link>
      {secondary ? <span className="muted small"> {secondary}</span> : null}
    </span>
  );
}
