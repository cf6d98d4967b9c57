/** SQL of the dispatcher: leases on send-ledger rows, and the facts a send decision needs. */

import type { CampaignPolicies } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { tombstoneAddress } from "../contacts/suppression.ts";
import type { Executor } from "../db/database.ts";
import { THROUGHPUT_WINDOW_MS, throughputDecision, throughputReason } from "./campaign-policies.ts";

export interface ClaimedMessage {
  workspace_id: string;
  id: string;
  idempotency_key: string;
  campaign_id: string;
  contact_id: string;
  node_id: string;
  channel: string;
  template_id: string | null;
  /** The template version pinned when the row was queued; null on rows queued before pinning. */
  template_version: number | null;
  details: Record<string, unknown>;
  attempts: number;
}

/**
 * Rows whose `sending` lease ran out belong to a process that died mid-send: the provider may or may not
 * have taken them. They become `unknown` (reported, never resent), or `queued` again when the provider
 * drops a second submission with the same idempotency key.
 */
export async function expireSendingLeases(db: Executor, channel: string, now: Date, resendable: boolean) {
  const result = resendable
    ? await sql`
        update messages set status = 'queued', lease_until = null,
          reason = 'resent: the process sending it stopped, and the provider takes an idempotency key'
        where status = 'sending' and channel = ${channel} and lease_until < ${now}`.execute(db)
    : await sql`
        update messages set status = 'unknown', lease_until = null,
          reason = 'the process sending it stopped: the provider may or may not have accepted it'
        where status = 'sending' and channel = ${channel} and lease_until < ${now}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Leases up to `limit` due rows of one channel (`sending`, one more attempt), oldest first, skipping
 * rows another dispatcher holds and rows of paused campaigns (they wait for resume). Rows of a campaign
 * with a throughput limit on the channel go only while it has room in the rolling hour; the rest stay
 * queued, deferred (see claimDueMessagesWithinLimits).
 */
export async function claimDueMessages(
  db: Executor,
  channel: string,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<ClaimedMessage[]> {
  return (await claimDueMessagesWithinLimits(db, channel, now, leaseUntil, limit)).claimed;
}

interface DueRow {
  workspace_id: string;
  id: string;
  campaign_id: string;
  throughput: number | null;
}

/**
 * The claim, in one transaction: lock the due rows (SKIP LOCKED), then, for campaigns with a throughput
 * limit on this channel, take a transaction lock per campaign and channel and count its messages sent
 * in the last hour or being sent now from the ledger. Two dispatchers claiming rows of the same campaign
 * therefore count one after the other, each seeing the other's leases: together they never exceed the
 * limit. Rows over the limit stay `queued` with `next_attempt_at` and the reason (not an attempt).
 */
export async function claimDueMessagesWithinLimits(
  db: Executor,
  channel: string,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<{ claimed: ClaimedMessage[]; deferred: number }> {
  return db.transaction().execute(async (trx) => {
    const { rows: due } = await sql<DueRow>`
      select q.workspace_id, q.id, q.campaign_id,
             (c.policies -> 'throughputPerHour' ->> ${channel})::int as throughput
      from messages q
      join campaigns c on c.workspace_id = q.workspace_id and c.id = q.campaign_id
      where q.status = 'queued' and q.channel = ${channel}
        and coalesce(q.next_attempt_at, q.queued_at) <= ${now}
        and c.status in ('running', 'completed')
      order by coalesce(q.next_attempt_at, q.queued_at)
      limit ${limit}
      for update of q skip locked`.execute(trx);
    if (due.length === 0) return { claimed: [], deferred: 0 };

    const limited = new Map<
      string,
      { workspaceId: string; campaignId: string; limit: number; rows: DueRow[] }
    >();
    for (const row of due) {
      if (row.throughput === null) continue;
      const key = `${row.workspace_id}:${row.campaign_id}`;
      const entry = limited.get(key);
      if (entry) entry.rows.push(row);
      else
        limited.set(key, {
          workspaceId: row.workspace_id,
          campaignId: row.campaign_id,
          limit: row.throughput,
          rows: [row],
        });
    }
    const held = new Set<string>();
    if (limited.size > 0) {
      const campaigns = [...limited.values()];
      // In key order, so that two claims locking several campaigns cannot deadlock.
      const lockKeys = campaigns.map((c) => `throughput:${c.workspaceId}:${c.campaignId}:${channel}`);
      await sql`
        select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${lockKeys}::text[]) as k order by k`.execute(
        trx,
      );
      const recent = await selectCampaignSendTimes(trx, channel, campaigns, now);
      const deferrals: { workspaceId: string; id: string; until: Date; reason: string }[] = [];
      for (const c of campaigns) {
        const decision = throughputDecision(
          c.limit,
          recent.get(`${c.workspaceId}:${c.campaignId}`) ?? [],
          c.rows.length,
          now,
        );
        c.rows.slice(decision.admit).forEach((row, i) => {
          held.add(row.id);
          deferrals.push({
            workspaceId: row.workspace_id,
            id: row.id,
            until: decision.deferUntil[i]!,
            reason: throughputReason(c.limit),
          });
        });
      }
      if (deferrals.length > 0) {
        await sql`
          update messages m set next_attempt_at = d.until, reason = d.reason
          from unnest(${deferrals.map((d) => d.workspaceId)}::uuid[], ${deferrals.map((d) => d.id)}::uuid[],
                      ${deferrals.map((d) => d.until.toISOString())}::timestamptz[],
                      ${deferrals.map((d) => d.reason)}::text[]) as d(workspace_id, id, until, reason)
          where m.workspace_id = d.workspace_id and m.id = d.id`.execute(trx);
      }
    }

    const admitted = due.filter((row) => !held.has(row.id));
    if (admitted.length === 0) return { claimed: [], deferred: held.size };
    const { rows } = await sql<ClaimedMessage>`
      update messages m set status = 'sending', lease_until = ${leaseUntil}, attempts = m.attempts + 1
      from unnest(${admitted.map((r) => r.workspace_id)}::uuid[], ${admitted.map((r) => r.id)}::uuid[])
        as a(workspace_id, id)
      where m.workspace_id = a.workspace_id and m.id = a.id
      returning m.workspace_id, m.id, m.idempotency_key, m.campaign_id, m.contact_id, m.node_id, m.channel,
                m.template_id, m.template_version, m.details, m.attempts`.execute(trx);
    // In due order, as they were locked: rows to one contact are sent in this order.
    const order = new Map(admitted.map((r, i) => [r.id, i]));
    rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    return { claimed: rows, deferred: held.size };
  });
}

/**
 * When each of these campaigns' messages on this channel went in the hour before `now`: sent ones at
 * their sent_at, ones being sent (leased) now at `now`. Keyed `workspace:campaign`.
 */
async function selectCampaignSendTimes(
  trx: Executor,
  channel: string,
  campaigns: { workspaceId: string; campaignId: string }[],
  now: Date,
): Promise<Map<string, Date[]>> {
  const since = new Date(now.getTime() - THROUGHPUT_WINDOW_MS);
  const { rows } = await sql<{ workspace_id: string; campaign_id: string; at: Date }>`
    select m.workspace_id, m.campaign_id, m.sent_at as at
    from unnest(${campaigns.map((c) => c.workspaceId)}::uuid[], ${campaigns.map((c) => c.campaignId)}::uuid[])
      as k(workspace_id, campaign_id)
    join messages m on m.workspace_id = k.workspace_id and m.campaign_id = k.campaign_id
    where m.status = 'sent' and m.channel = ${channel} and m.sent_at > ${since}
    union all
    select m.workspace_id, m.campaign_id, ${now}::timestamptz
    from unnest(${campaigns.map((c) => c.workspaceId)}::uuid[], ${campaigns.map((c) => c.campaignId)}::uuid[])
      as k(workspace_id, campaign_id)
    join messages m on m.workspace_id = k.workspace_id and m.campaign_id = k.campaign_id
    where m.status = 'sending' and m.channel = ${channel} and m.sent_at is null`.execute(trx);
  const times = new Map<string, Date[]>();
  for (const row of rows) {
    const key = `${row.workspace_id}:${row.campaign_id}`;
    const list = times.get(key);
    if (list) list.push(new Date(row.at));
    else times.set(key, [new Date(row.at)]);
  }
  return times;
}

export interface RecipientRow {
  workspace_id: string;
  id: string;
  external_id: string | null;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  timezone: string | null;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
  attributes: Record<string, unknown>;
  email_consent: string;
  sms_consent: string;
  mail_consent: string;
  /** Set while the contact is archived: nothing is sent to it. */
  archived_at: Date | null;
}

export async function selectRecipients(db: Executor, keys: { workspaceId: string; contactId: string }[]) {
  if (keys.length === 0) return [];
  const { rows } = await sql<RecipientRow>`
    select c.workspace_id, c.id, c.external_id, c.email, c.phone, c.first_name, c.last_name, c.timezone,
           c.address_line1, c.address_line2, c.city, c.region, c.postal_code, c.country, c.attributes,
           c.email_consent, c.sms_consent, c.mail_consent, c.archived_at
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.contactId)}::uuid[]) as k(w, c_id)
    join contacts c on c.workspace_id = k.w and c.id = k.c_id`.execute(db);
  return rows;
}

/**
 * Which claimed rows go to a contact who opted out of their campaign's topic: message id → the topic's
 * name. One query per batch; a contact without a choice for the topic receives it.
 */
export async function selectTopicOptOuts(
  db: Executor,
  claimed: ClaimedMessage[],
): Promise<Map<string, string>> {
  if (claimed.length === 0) return new Map();
  const { rows } = await sql<{ workspace_id: string; id: string; name: string }>`
    select k.w as workspace_id, k.m_id as id, t.name
    from unnest(${claimed.map((m) => m.workspace_id)}::uuid[], ${claimed.map((m) => m.id)}::uuid[],
                ${claimed.map((m) => m.campaign_id)}::uuid[], ${claimed.map((m) => m.contact_id)}::uuid[])
         as k(w, m_id, campaign, contact)
    join campaigns c on c.workspace_id = k.w and c.id = k.campaign and c.topic_id is not null
    join contact_topics ct on ct.workspace_id = k.w and ct.contact_id = k.contact and ct.topic_id = c.topic_id
                          and not ct.subscribed
    join topics t on t.workspace_id = k.w and t.id = c.topic_id`.execute(db);
  return new Map(rows.map((r) => [`${r.workspace_id}:${r.id}`, r.name]));
}

/** Templates' current content: for ledger rows queued before template versions were pinned. */
export async function selectTemplates(db: Executor, keys: { workspaceId: string; templateId: string }[]) {
  if (keys.length === 0) return [];
  const { rows } = await sql<{
    workspace_id: string;
    id: string;
    channel: string;
    content: Record<string, unknown>;
  }>`
    select t.workspace_id, t.id, t.channel, t.content
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.templateId)}::uuid[]) as k(w, t_id)
    join templates t on t.workspace_id = k.w and t.id = k.t_id`.execute(db);
  return rows;
}

export async function selectSenders(db: Executor, workspaceIds: string[]) {
  if (workspaceIds.length === 0) return [];
  return db.selectFrom("workspace_senders").selectAll().where("workspace_id", "in", workspaceIds).execute();
}

export type Outcome =
  | { status: "sent"; provider: string; providerMessageId: string }
  | { status: "queued"; nextAttemptAt: Date; reason: string }
  /** Held back by a policy (quiet hours, frequency cap): not an attempt. */
  | { status: "deferred"; nextAttemptAt: Date; reason: string }
  | { status: "failed" | "skipped"; reason: string; suppress?: boolean };

/** Records what became of a leased row, if this dispatcher still holds its lease. */
export async function recordOutcome(
  db: Executor,
  workspaceId: string,
  id: string,
  outcome: Outcome,
  now: Date,
) {
  const set =
    outcome.status === "sent"
      ? sql`status = 'sent', provider = ${outcome.provider}, provider_message_id = ${outcome.providerMessageId},
            sent_at = ${now}, reason = null`
      : outcome.status === "queued"
        ? sql`status = 'queued', next_attempt_at = ${outcome.nextAttemptAt}, reason = ${outcome.reason}`
        : outcome.status === "deferred"
          ? sql`status = 'queued', next_attempt_at = ${outcome.nextAttemptAt}, reason = ${outcome.reason},
                attempts = attempts - 1`
          : sql`status = ${outcome.status}, reason = ${outcome.reason}`;
  await sql`
    update messages set ${set}, lease_until = null
    where workspace_id = ${workspaceId} and id = ${id} and status = 'sending'`.execute(db);
}

export async function upsertSender(
  db: Executor,
  workspaceId: string,
  sender: {
    fromName: string | null;
    fromAddress: string;
    replyTo: string | null;
    postalAddress: string;
    smsFrom: string | null;
    smsHelpText: string | null;
  },
) {
  return db
    .insertInto("workspace_senders")
    .values({
      workspace_id: workspaceId,
      from_name: sender.fromName,
      from_address: sender.fromAddress,
      reply_to: sender.replyTo,
      postal_address: sender.postalAddress,
      sms_from: sender.smsFrom,
      sms_help_text: sender.smsHelpText,
    })
    .onConflict((oc) =>
      oc.column("workspace_id").doUpdateSet({
        from_name: sender.fromName,
        from_address: sender.fromAddress,
        reply_to: sender.replyTo,
        postal_address: sender.postalAddress,
        sms_from: sender.smsFrom,
        sms_help_text: sender.smsHelpText,
        updated_at: new Date(),
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function selectPolicies(db: Executor, workspaceIds: string[], channel: string) {
  if (workspaceIds.length === 0) return [];
  return db
    .selectFrom("delivery_policies")
    .selectAll()
    .where("workspace_id", "in", workspaceIds)
    .where("channel", "=", channel)
    .execute();
}

export async function selectAllPolicies(db: Executor, workspaceId: string) {
  return db.selectFrom("delivery_policies").selectAll().where("workspace_id", "=", workspaceId).execute();
}

export async function upsertPolicy(
  db: Executor,
  row: {
    workspaceId: string;
    channel: string;
    allowedFrom: string | null;
    allowedTo: string | null;
    capCount: number | null;
    capDays: number | null;
    capAction: string;
  },
) {
  const values = {
    allowed_from: row.allowedFrom,
    allowed_to: row.allowedTo,
    cap_count: row.capCount,
    cap_days: row.capDays,
    cap_action: row.capAction,
  };
  await db
    .insertInto("delivery_policies")
    .values({ workspace_id: row.workspaceId, channel: row.channel, ...values })
    .onConflict((oc) =>
      oc.columns(["workspace_id", "channel"]).doUpdateSet({ ...values, updated_at: new Date() }),
    )
    .execute();
}

/**
 * When each of these contacts was sent to on this channel since `since`, oldest first: every send
 * (`sent`), and those the frequency cap counts (`capped`: not of a campaign exempt from it).
 */
export async function selectRecentSends(
  db: Executor,
  workspaceId: string,
  contactIds: string[],
  channel: string,
  since: Date,
) {
  const { rows } = await sql<{ contact_id: string; sent: Date[]; capped: Date[] }>`
    select m.contact_id, array_agg(m.sent_at order by m.sent_at) as sent,
           coalesce(array_agg(m.sent_at order by m.sent_at)
                      filter (where c.policies ->> 'frequencyCap' is distinct from 'exempt'), '{}') as capped
    from messages m
    join campaigns c on c.workspace_id = m.workspace_id and c.id = m.campaign_id
    where m.workspace_id = ${workspaceId} and m.contact_id = any(${contactIds}::uuid[]) and m.channel = ${channel}
      and m.status = 'sent' and m.sent_at > ${since}
    group by m.contact_id`.execute(db);
  return new Map(
    rows.map((r) => [
      r.contact_id,
      { sent: r.sent.map((d) => new Date(d)), capped: r.capped.map((d) => new Date(d)) },
    ]),
  );
}

/** The send-time policies of these campaigns, keyed `workspace:campaign`. */
export async function selectCampaignPolicies(
  db: Executor,
  keys: { workspaceId: string; campaignId: string }[],
): Promise<Map<string, CampaignPolicies>> {
  if (keys.length === 0) return new Map();
  const { rows } = await sql<{ workspace_id: string; id: string; policies: CampaignPolicies }>`
    select c.workspace_id, c.id, c.policies
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.campaignId)}::uuid[]) as k(w, c_id)
    join campaigns c on c.workspace_id = k.w and c.id = k.c_id`.execute(db);
  return new Map(rows.map((r) => [`${r.workspace_id}:${r.id}`, r.policies]));
}

export async function selectWorkspaceTimezones(db: Executor, workspaceIds: string[]) {
  if (workspaceIds.length === 0) return new Map<string, string>();
  const rows = await db
    .selectFrom("workspaces")
    .select(["id", "default_timezone"])
    .where("id", "in", workspaceIds)
    .execute();
  return new Map(rows.map((r) => [r.id, r.default_timezone]));
}

/**
 * Which of these addresses are suppressed on the channel, with the reason, keyed `workspace:address`.
 * With the tombstone key, an address also matches an erased contact's tombstone (its keyed hash).
 */
export async function selectSuppressions(
  db: Executor,
  channel: "email" | "sms",
  keys: { workspaceId: string; address: string }[],
  tombstoneKey?: Buffer,
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const hashed = keys.map((k) =>
    tombstoneKey ? tombstoneAddress(tombstoneKey, k.workspaceId, k.address) : null,
  );
  const { rows } = await sql<{ workspace_id: string; address: string; reason: string }>`
    select k.w as workspace_id, k.a as address, s.reason
    from unnest(${keys.map((k) => k.workspaceId)}::uuid[], ${keys.map((k) => k.address)}::text[], ${hashed}::text[])
      as k(w, a, h)
    join suppressions s on s.workspace_id = k.w and s.channel = ${channel} and s.address = any(array[k.a, k.h])`.execute(
    db,
  );
  return new Map(rows.map((r) => [`${r.workspace_id}:${r.address}`, r.reason]));
}

export async function insertSuppression(
  db: Executor,
  s: {
    workspaceId: string;
    channel: "email" | "sms";
    address: string;
    reason: string;
    source: "provider" | "bounce" | "complaint" | "manual";
    messageId: string | null;
  },
) {
  await sql`
    insert into suppressions (workspace_id, channel, address, reason, source, message_id)
    values (${s.workspaceId}, ${s.channel}, ${s.address}, ${s.reason}, ${s.source}, ${s.messageId})
    on conflict do nothing`.execute(db);
}

/** The short links of an SMS; a retry writes the same codes again. */
export async function insertShortLinks(
  db: Executor,
  workspaceId: string,
  messageId: string,
  links: { code: string; url: string }[],
) {
  if (links.length === 0) return;
  await sql`
    insert into short_links (code, workspace_id, message_id, url)
    select code, ${workspaceId}, ${messageId}, url
    from unnest(${links.map((l) => l.code)}::text[], ${links.map((l) => l.url)}::text[]) as l(code, url)
    on conflict (code) do nothing`.execute(db);
}
