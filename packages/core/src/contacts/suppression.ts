/**
 * Suppression tombstones: what stays of an erased contact's opted-out or suppressed email and phone.
 *
 * A tombstone is a suppression row (source `erasure`) whose address is `hmac-sha256:<64 hex>`, the
 * HMAC-SHA256 of `<workspace id>:<address>` under the instance's tombstone key (Keys.tombstones). The
 * address is the one suppressions store (email lower case, phone E.164). Whoever holds the key can test
 * an address against the list (the dispatcher before every send, contact creation); the database alone
 * cannot say whose address it was, and the workspace id in the hash keeps one person's tombstones in two
 * workspaces from being linked.
 */

import type { ConsentStatus, ContactRow } from "../db/schema.ts";
import { mac } from "../security/keys.ts";

export const TOMBSTONE_PREFIX = "hmac-sha256:";

export function tombstoneAddress(key: Buffer, workspaceId: string, address: string): string {
  return TOMBSTONE_PREFIX + mac(key, `${workspaceId}:${address}`, 32).toString("hex");
}

export const isTombstone = (address: string) => address.startsWith(TOMBSTONE_PREFIX);

/** A consent that says "do not contact": an erased contact's address with one is kept as a tombstone. */
export const OPTED_OUT: ReadonlySet<ConsentStatus> = new Set(["unsubscribed", "bounced", "complained"]);

/** Consents that a suppression overrides when a contact is created with a suppressed address. */
export const OVERRIDABLE: readonly ConsentStatus[] = ["subscribed", "never_asked"];

export type SuppressionChannel = "email" | "sms";

/** The contact's addresses as suppressions store them, with the consent of their channel. */
export function addressesOf(
  row: Pick<ContactRow, "email" | "phone" | "email_consent" | "sms_consent">,
): { channel: SuppressionChannel; address: string; consent: ConsentStatus }[] {
  const out: { channel: SuppressionChannel; address: string; consent: ConsentStatus }[] = [];
  if (row.email) out.push({ channel: "email", address: row.email.toLowerCase(), consent: row.email_consent });
  if (row.phone) out.push({ channel: "sms", address: row.phone, consent: row.sms_consent });
  return out;
}

/** The reason a tombstone carries: what the address's state was, never the address. */
export function tombstoneReason(suppressedBy: string | null, consent: ConsentStatus): string {
  const was = suppressedBy ? `suppressed (${suppressedBy})` : `opted out (consent ${consent})`;
  return `${was} before the contact was erased`;
}

/** The consent ledger's reason when a new contact starts unsubscribed because of a suppression. */
export function suppressedConsentReason(channel: SuppressionChannel, reason: string): string {
  return `the ${channel === "email" ? "email address" : "phone number"} is suppressed: ${reason}`;
}
