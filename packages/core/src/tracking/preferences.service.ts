/**
 * The preference centre behind an unsubscribe link (`/u/<token>/preferences`): which channels a contact
 * receives, and changing them. The token names the workspace and the contact, so everything here is
 * looked up by both: a token never reaches another workspace's contact. Every change is written to the
 * consent ledger (`consent_changes`) with the source `preference_centre`, in the transaction that
 * changes the contact, and queues the audience membership check as any contact change does.
 */
import { queueMembershipCheck } from "../audiences/membership.ts";
import { findContactById, insertConsentChanges, updateContact } from "../contacts/contact.repository.ts";
import { CONSENT_COLUMN } from "../contacts/contact.ts";
import type { Db } from "../db/database.ts";
import type { ConsentStatus, ContactRow } from "../db/schema.ts";
import { findWorkspace } from "../workspaces/workspace.repository.ts";

/** The channels a recipient chooses among (ad audiences are not a message they receive). */
export const PREFERENCE_CHANNELS = ["email", "sms", "mail"] as const;
export type PreferenceChannel = (typeof PREFERENCE_CHANNELS)[number];

export const PREFERENCE_SOURCE = "preference_centre";

export interface Preferences {
  workspaceName: string;
  /** Per channel: the stored consent, and whether messages go out under it (what the box shows). */
  channels: Record<PreferenceChannel, { status: ConsentStatus; receiving: boolean }>;
}

/**
 * Whether the dispatcher sends on the channel under this consent: email and direct mail go to contacts
 * never asked (the usual opt-out rule for them), SMS only to those who said yes.
 */
export function isReceiving(channel: PreferenceChannel, status: ConsentStatus): boolean {
  return status === "subscribed" || (status === "never_asked" && channel !== "sms");
}

function preferencesOf(workspaceName: string, contact: ContactRow): Preferences {
  const channels = Object.fromEntries(
    PREFERENCE_CHANNELS.map((channel) => {
      const status = contact[CONSENT_COLUMN[channel]];
      return [channel, { status, receiving: isReceiving(channel, status) }];
    }),
  ) as Preferences["channels"];
  return { workspaceName, channels };
}

/** The contact's channels, or undefined when the workspace has no such contact. */
export async function readPreferences(
  db: Db,
  workspaceId: string,
  contactId: string,
): Promise<Preferences | undefined> {
  const workspace = await findWorkspace(db, workspaceId);
  if (!workspace) return undefined;
  const contact = await findContactById(db, workspaceId, contactId);
  return contact && preferencesOf(workspace.name, contact);
}

/**
 * Makes the contact receive exactly the channels in `wanted`: a channel switched on becomes
 * `subscribed`, one switched off `unsubscribed`; a channel whose box did not change keeps its status
 * (so an address that bounced stays `bounced` until its owner ticks the box again). Returns the new
 * preferences, or undefined when the workspace has no such contact.
 */
export async function savePreferences(
  db: Db,
  workspaceId: string,
  contactId: string,
  wanted: Record<PreferenceChannel, boolean>,
): Promise<Preferences | undefined> {
  return db.transaction().execute(async (trx) => {
    const workspace = await findWorkspace(trx, workspaceId);
    if (!workspace) return undefined;
    const contact = await findContactById(trx, workspaceId, contactId, true);
    if (!contact) return undefined;
    const changes = PREFERENCE_CHANNELS.flatMap((channel) => {
      const previous = contact[CONSENT_COLUMN[channel]];
      if (wanted[channel] === isReceiving(channel, previous)) return [];
      const status: ConsentStatus = wanted[channel] ? "subscribed" : "unsubscribed";
      return [{ channel, status, previous }];
    });
    if (!changes.length) return preferencesOf(workspace.name, contact);
    const updated = await updateContact(
      trx,
      workspaceId,
      contactId,
      Object.fromEntries(changes.map((c) => [CONSENT_COLUMN[c.channel], c.status])),
    );
    await insertConsentChanges(
      trx,
      workspaceId,
      changes.map((c) => ({ ...c, contactId, source: PREFERENCE_SOURCE, actor: null })),
    );
    await queueMembershipCheck(trx, workspaceId, [contactId], "consent changed in the preference centre");
    return preferencesOf(workspace.name, updated);
  });
}
