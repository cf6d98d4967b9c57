/** SQL of the provider webhooks: which workspace a number belongs to, and which ledger row feedback is about. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

export interface SmsNumberWorkspace {
  id: string;
  name: string;
  default_country: string;
  sms_help_text: string | null;
}

/** The workspaces that send SMS from `number` (normally one), oldest first. */
export async function selectWorkspacesBySmsNumber(
  db: Executor,
  number: string,
): Promise<SmsNumberWorkspace[]> {
  const { rows } = await sql<SmsNumberWorkspace>`
    select w.id, w.name, w.default_country, s.sms_help_text
    from workspace_senders s join workspaces w on w.id = s.workspace_id
    where s.sms_from = ${number}
    order by w.created_at, w.id`.execute(db);
  return rows;
}

export async function selectWorkspaceForSms(db: Executor, workspaceId: string) {
  const { rows } = await sql<SmsNumberWorkspace>`
    select w.id, w.name, w.default_country, s.sms_help_text
    from workspaces w left join workspace_senders s on s.workspace_id = w.id
    where w.id = ${workspaceId}`.execute(db);
  return rows[0];
}

export interface LedgerRef {
  workspace_id: string;
  id: string;
  contact_id: string;
}

/** SMS ledger rows the provider knows by `providerMessageId` (a Twilio MessageSid), in any workspace. */
export async function selectSmsMessagesByProviderId(
  db: Executor,
  providerMessageId: string,
): Promise<LedgerRef[]> {
  const { rows } = await sql<LedgerRef>`
    select workspace_id, id, contact_id from messages
    where provider_message_id = ${providerMessageId} and channel = 'sms'
    order by workspace_id limit 10`.execute(db);
  return rows;
}

/** The contact's most recent message on the channel that went out. */
export async function selectLatestMessageTo(
  db: Executor,
  workspaceId: string,
  contactId: string,
  channel: "email" | "sms",
): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    select id from messages
    where workspace_id = ${workspaceId} and contact_id = ${contactId} and channel = ${channel}
      and sent_at is not null
    order by sent_at desc, id desc limit 1`.execute(db);
  return rows[0]?.id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The workspace's email ledger row a provider's reference names: our ledger id, the Message-ID header
 * the SMTP channel recorded as the provider's id (with or without its angle brackets), the dev inbox's
 * entry id, or the Message-ID header of a dev-inbox entry.
 */
export async function selectEmailMessageByReference(
  db: Executor,
  workspaceId: string,
  reference: string,
): Promise<LedgerRef | undefined> {
  const bare = reference.trim().replace(/^<|>$/g, "");
  if (bare === "") return undefined;
  const spellings = [bare, `<${bare}>`];
  const byId = UUID.test(bare) ? sql`or id = ${bare}::uuid` : sql``;
  const { rows } = await sql<LedgerRef>`
    select workspace_id, id, contact_id from messages
    where workspace_id = ${workspaceId} and channel = 'email'
      and (provider_message_id = any(${spellings}::text[]) ${byId})
    limit 1`.execute(db);
  if (rows[0]) return rows[0];
  const { rows: fromOutbox } = await sql<LedgerRef>`
    select m.workspace_id, m.id, m.contact_id
    from outbox o join messages m on m.workspace_id = o.workspace_id and m.id = o.message_id
    where o.workspace_id = ${workspaceId} and o.channel = 'email'
      and o.headers ->> 'Message-ID' = any(${spellings}::text[])
    limit 1`.execute(db);
  return fromOutbox[0];
}

/** What the provider said after taking the message; the ledger status stays what dispatch recorded. */
export async function updateDeliveryStatus(
  db: Executor,
  workspaceId: string,
  messageId: string,
  status: "delivered" | "undelivered" | "failed" | "bounced",
  reason: string | null,
  at: Date,
) {
  await sql`
    update messages set delivery_status = ${status}, delivery_reason = ${reason}, delivery_updated_at = ${at}
    where workspace_id = ${workspaceId} and id = ${messageId}`.execute(db);
}

/**
 * Sets a contact's consent on a channel and appends the change to the consent ledger, unless it is
 * already `status` or one of `keep` (a complaint is not downgraded to a bounce). True when it changed.
 */
export async function changeConsent(
  db: Executor,
  change: {
    workspaceId: string;
    contactId: string;
    channel: "email" | "sms";
    status: "subscribed" | "unsubscribed" | "bounced" | "complained";
    keep?: string[];
    source: string;
    actor: string | null;
    reason: string | null;
    at: Date;
  },
): Promise<boolean> {
  const column = sql.ref(`${change.channel}_consent`);
  const keep = [change.status, ...(change.keep ?? [])];
  const { rows } = await sql<{ contact_id: string }>`
    with changed as (
      -- Locking the row in a subquery first returns the status it had (a CTE reading the row beside the
      -- update would not see it once the same statement has updated it).
      update contacts c set ${column} = ${change.status}, updated_at = ${change.at}
      from (
        select id, ${column} as previous from contacts
        where workspace_id = ${change.workspaceId} and id = ${change.contactId} for update
      ) p
      where c.workspace_id = ${change.workspaceId} and c.id = p.id and p.previous <> all(${keep}::text[])
      returning c.id, p.previous
    )
    insert into consent_changes
      (workspace_id, contact_id, channel, status, previous_status, source, actor, reason, changed_at)
    select ${change.workspaceId}, id, ${change.channel}, ${change.status}, previous,
           ${change.source}, ${change.actor}, ${change.reason}, ${change.at}
    from changed
    returning contact_id`.execute(db);
  return rows.length > 0;
}
