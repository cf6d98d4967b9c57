/** SQL for the ledger reconciliation (reconcile.ts). */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { ReconciledLedgerRow } from "./reconcile.ts";

interface Row {
  id: string;
  campaign_id: string;
  contact_id: string;
  node_id: string;
  channel: string;
  idempotency_key: string;
  status: string;
  provider: string | null;
  provider_message_id: string | null;
  queued_at: Date;
  sent_at: Date | null;
}

/**
 * The workspace's ledger rows of `channel` that a provider log from `since` on can concern: queued since
 * then, sent since then, or still unsettled (queued, sending, unknown) whenever they were queued.
 */
export async function selectLedgerRowsSince(
  db: Executor,
  workspaceId: string,
  channel: string,
  since: Date,
): Promise<ReconciledLedgerRow[]> {
  const { rows } = await sql<Row>`
    select id, campaign_id, contact_id, node_id, channel, idempotency_key, status, provider,
           provider_message_id, queued_at, sent_at
    from messages
    where workspace_id = ${workspaceId} and channel = ${channel}
      and (queued_at >= ${since} or sent_at >= ${since} or status in ('queued', 'sending', 'unknown'))`.execute(
    db,
  );
  return rows.map((r) => ({
    id: r.id,
    campaignId: r.campaign_id,
    contactId: r.contact_id,
    nodeId: r.node_id,
    channel: r.channel,
    idempotencyKey: r.idempotency_key,
    status: r.status,
    provider: r.provider,
    providerMessageId: r.provider_message_id,
    queuedAt: r.queued_at,
    sentAt: r.sent_at,
  }));
}

/**
 * Records as sent the rows the provider accepted while the ledger lost the outcome. Only rows still
 * queued, sending or unknown change: a row a dispatcher settled meanwhile keeps its outcome. Returns the
 * number of rows changed.
 */
export async function markAcceptedAsSent(
  db: Executor,
  workspaceId: string,
  provider: string,
  accepted: { id: string; providerMessageId: string; acceptedAt: Date }[],
): Promise<number> {
  if (accepted.length === 0) return 0;
  const result = await sql`
    update messages m
    set status = 'sent', provider = ${provider}, provider_message_id = a.provider_message_id,
        sent_at = a.accepted_at, lease_until = null,
        reason = 'reconciled: the provider''s log shows it accepted this message'
    from unnest(${accepted.map((a) => a.id)}::uuid[], ${accepted.map((a) => a.providerMessageId)}::text[],
                ${accepted.map((a) => a.acceptedAt.toISOString())}::timestamptz[])
      as a(id, provider_message_id, accepted_at)
    where m.workspace_id = ${workspaceId} and m.id = a.id and m.status in ('queued', 'sending', 'unknown')`.execute(
    db,
  );
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Queues again rows left sending or unknown that the provider never accepted (the process sending them
 * died first). Only rows still sending or unknown change. Returns the number of rows changed.
 */
export async function requeueUnaccepted(db: Executor, workspaceId: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await sql`
    update messages
    set status = 'queued', lease_until = null, next_attempt_at = null,
        reason = 'requeued by reconciliation: the provider''s log has no record of it'
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[]) and status in ('sending', 'unknown')`.execute(
    db,
  );
  return Number(result.numAffectedRows ?? 0);
}
