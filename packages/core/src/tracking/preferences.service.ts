/**
 * The preference centre behind an unsubscribe link (`/u/<token>/preferences`): which channels a contact
 * receives, and changing them. The token names the workspace and the contact, so everything here is
 * looked up by both: a token never reaches another workspace's contact. Every change is written to the
 * consent ledger (`consent_changes`) with the source `preference_centre`, in the transaction that
 * changes the contact, and queues the audience membership check as any contact change does.
 *
 * Besides channels, the contact chooses among the workspace's subscription topics (contact_topics; no
 * row means receiving). A topic choice is no consent change: it has no ledger row, only `changed_at`.
 */
import { queueMembershipCheck } from "../audiences/membership.ts";
import { findContactById, insertConsentChanges, updateContact } from "../contacts/contact.repository.ts";
import { CONSENT_COLUMN } from "../contacts/contact.ts";
import type { Db } from "../db/database.ts";
import type { ConsentStatus, ContactRow, TopicRow } from "../db/schema.ts";
import {
  findTopicOfMessage,
  listAllTopics,
  selectContactTopicChoices,
  upsertContactTopic,
} from "../topics/topic.repository.ts";
import { findWorkspace } from "../workspaces/workspace.repository.ts";

/** The channels a recipient chooses among (ad audiences are not a message they receive). */
export const PREFERENCE_CHANNELS = ["email", "sms", "mail"] as const;
export type PreferenceChannel = (typeof PREFERENCE_CHANNELS)[number];

export const PREFERENCE_SOURCE = "preference_centre";

export interface Preferences {
  workspaceName: string;
  /** Per channel: the stored consent, and whether messages go out under it (what the box shows). */
  channels: Record<PreferenceChannel, { status: ConsentStatus; receiving: boolean }>;
  /** The workspace's topics, by name, and whether the contact receives each (unless they opted out). */
  topics: { id: string; name: string; description: string | null; receiving: boolean }[];
}

/**
 * Whether the dispatcher sends on the channel under this consent: email and direct mail go to contacts
 * never asked (the usual opt-out rule for them), SMS only to those who said yes.
 */
export function isReceiving(channel: PreferenceChannel, status: ConsentStatus): boolean {
  return status === "subscribed" || (status === "never_asked" && channel !== "sms");
}

function preferencesOf(
  workspaceName: string,
  contact: ContactRow,
  topics: TopicRow[],
  choices: Map<string, boolean>,
): Preferences {
  const channels = Object.fromEntries(
    PREFERENCE_CHANNELS.map((channel) => {
      const status = contact[CONSENT_COLUMN[channel]];
      return [channel, { status, receiving: isReceiving(channel, status) }];
    }),
  ) as Preferences["channels"];
  return {
    workspaceName,
    channels,
    topics: topics.map((t) => ({
      id: t.id,
      name: t.name,
      description: t.description,
      receiving: choices.get(t.id) ?? true,
    })),
  };
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
  if (!contact) return undefined;
  const topics = await listAllTopics(db, workspaceId);
  return preferencesOf(
    workspace.name,
    contact,
    topics,
    await selectContactTopicChoices(db, workspaceId, contactId),
  );
}

/**
 * Makes the contact receive exactly the channels in `wanted`: a channel switched on becomes
 * `subscribed`, one switched off `unsubscribed`; a channel whose box did not change keeps its status
 * (so an address that bounced stays `bounced` until its owner ticks the box again). `topics` says, for
 * each topic the page showed, whether its box was ticked; topics not in it (made since the page was
 * shown, or deleted) are left alone. Returns the new preferences, or undefined when the workspace has
 * no such contact.
 */
export async function savePreferences(
  db: Db,
  workspaceId: string,
  contactId: string,
  wanted: Record<PreferenceChannel, boolean>,
  topics: ReadonlyMap<string, boolean> = new Map(),
  now = new Date(),
): Promise<Preferences | undefined> {
  return db.transaction().execute(async (trx) => {
    const workspace = await findWorkspace(trx, workspaceId);
    if (!workspace) return undefined;
    const contact = await findContactById(trx, workspaceId, contactId, true);
    if (!contact) return undefined;
    const allTopics = await listAllTopics(trx, workspaceId);
    const choices = await selectContactTopicChoices(trx, workspaceId, contactId);
    for (const topic of allTopics) {
      const subscribed = topics.get(topic.id);
      if (subscribed === undefined || subscribed === (choices.get(topic.id) ?? true)) continue;
      await upsertContactTopic(trx, { workspaceId, contactId, topicId: topic.id, subscribed, now });
      choices.set(topic.id, subscribed);
    }
    const changes = PREFERENCE_CHANNELS.flatMap((channel) => {
      const previous = contact[CONSENT_COLUMN[channel]];
      if (wanted[channel] === isReceiving(channel, previous)) return [];
      const status: ConsentStatus = wanted[channel] ? "subscribed" : "unsubscribed";
      return [{ channel, status, previous }];
    });
    if (!changes.length) return preferencesOf(workspace.name, contact, allTopics, choices);
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
    return preferencesOf(workspace.name, updated, allTopics, choices);
  });
}

/** The topic of the campaign an unsubscribe link came from, if the link came from one with a topic. */
export async function topicOfLink(
  db: Db,
  workspaceId: string,
  messageId: string | null,
): Promise<{ id: string; name: string } | undefined> {
  if (messageId === null) return undefined;
  const topic = await findTopicOfMessage(db, workspaceId, messageId);
  return topic && { id: topic.id, name: topic.name };
}

/**
 * "Unsubscribe from <topic> only": the contact stops receiving the topic of the link's campaign and
 * keeps the channel. Returns the topic, or undefined when the link's campaign has none (any more) or
 * the contact no longer exists.
 */
export async function unsubscribeFromTopic(
  db: Db,
  workspaceId: string,
  contactId: string,
  messageId: string | null,
  now = new Date(),
): Promise<{ id: string; name: string } | undefined> {
  if (messageId === null) return undefined;
  return db.transaction().execute(async (trx) => {
    const topic = await findTopicOfMessage(trx, workspaceId, messageId);
    if (!topic || !(await findContactById(trx, workspaceId, contactId, true))) return undefined;
    await upsertContactTopic(trx, { workspaceId, contactId, topicId: topic.id, subscribed: false, now });
    return { id: topic.id, name: topic.name };
  });
}
