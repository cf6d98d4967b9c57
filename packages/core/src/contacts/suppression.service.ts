/**
 * New contacts and the suppression list: a contact created (by the API or an import) with an email or
 * phone that is suppressed, plainly or by an erased contact's tombstone, starts unsubscribed on that
 * channel, and the consent ledger says why. Existing contacts keep the consent they have (a change of it
 * is the workspace's to make); the dispatcher refuses to send to a suppressed address in every case.
 */
import type { Executor } from "../db/database.ts";
import type { ContactRow } from "../db/schema.ts";
import { findContactById } from "./contact.repository.ts";
import {
  hasTombstones,
  newContactAddresses,
  type SuppressionHit,
  selectNewContactsOnPlainList,
  selectSuppressionsOf,
  selectTombstones,
  unsubscribeForSuppressions,
} from "./suppression.repository.ts";
import { addressesOf, suppressedConsentReason, tombstoneAddress } from "./suppression.ts";

export interface SuppressionCheck {
  /** Who wrote the contact, for the consent ledger: `api`, `import` … and the API key or import id. */
  source: string;
  actor: string | null;
  /** Keys.tombstones. Without it only plain entries are matched, never erased contacts' tombstones. */
  tombstoneKey?: Buffer | undefined;
}

const ledgerOf = (check: SuppressionCheck) => ({
  source: check.source,
  actor: check.actor,
  reason: (hit: SuppressionHit) => suppressedConsentReason(hit.channel, hit.reason),
});

/** For a contact just created: returns the row as it is after the check. */
export async function applySuppressionsToNewContact(
  trx: Executor,
  workspaceId: string,
  row: ContactRow,
  check: SuppressionCheck,
): Promise<ContactRow> {
  const addresses = addressesOf(row);
  if (addresses.length === 0) return row;
  const candidates = addresses.flatMap((a) => [
    { channel: a.channel, address: a.address },
    ...(check.tombstoneKey
      ? [{ channel: a.channel, address: tombstoneAddress(check.tombstoneKey, workspaceId, a.address) }]
      : []),
  ]);
  const found = await selectSuppressionsOf(trx, workspaceId, candidates);
  if (found.length === 0) return row;
  const hits = found.map((s) => ({ contactId: row.id, channel: s.channel, reason: s.reason }));
  const changed = await unsubscribeForSuppressions(trx, workspaceId, hits, ledgerOf(check));
  return changed > 0 ? ((await findContactById(trx, workspaceId, row.id)) ?? row) : row;
}

/**
 * For every contact the current transaction created (an import's): returns how many consents changed.
 * The plain list costs a join from the list; tombstones, only when the workspace has any, a pass over
 * the new contacts' addresses, hashed here (the key never goes to the database).
 */
export async function applySuppressionsToNewContacts(
  trx: Executor,
  workspaceId: string,
  check: SuppressionCheck,
): Promise<number> {
  const hits = await selectNewContactsOnPlainList(trx, workspaceId);
  if (check.tombstoneKey && (await hasTombstones(trx, workspaceId))) {
    const key = check.tombstoneKey;
    const tombstones = await selectTombstones(trx, workspaceId);
    for await (const batch of newContactAddresses(trx, workspaceId)) {
      for (const c of batch) {
        for (const a of addressesOf({ ...c, email_consent: "never_asked", sms_consent: "never_asked" })) {
          const reason = tombstones.get(`${a.channel}:${tombstoneAddress(key, workspaceId, a.address)}`);
          if (reason !== undefined) hits.push({ contactId: c.id, channel: a.channel, reason });
        }
      }
    }
  }
  if (hits.length === 0) return 0;
  return unsubscribeForSuppressions(trx, workspaceId, hits, ledgerOf(check));
}
