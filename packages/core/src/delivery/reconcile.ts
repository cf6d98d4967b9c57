/**
 * Ledger reconciliation: the send ledger (messages) compared with what the provider says it accepted.
 *
 * After a failover to an asynchronous standby, the newest committed transactions of the old primary may
 * be missing: ledger rows (the stepper's steps) and outcomes (the dispatcher's `sent`). The database
 * cannot tell what it lost; the provider can. Its log of accepted messages is the evidence, matched to
 * ledger rows by the message id:
 *
 *   - SMTP: the Message-ID header, `<digest@domain>`, where digest is derived from the row's idempotency
 *     key (channel.ts `messageIdFor`), so a row re-created by a re-done step carries the same id as the
 *     lost one, whatever the domain;
 *   - any provider: the id the ledger recorded as `provider_message_id` (a Twilio sid, a Lob id).
 *
 * What it reports, each with the rows and members concerned:
 *
 *   duplicated       the provider accepted the same message more than once: the member got it twice
 *   unrecorded       the provider accepted it, and no ledger row has its id: a lost row nothing re-created
 *   outcomeLost      the provider accepted it, and its ledger row says queued / sending / unknown: the
 *                    outcome was lost (a queued row will be sent again unless the reconciliation is applied)
 *   recreated        the ledger row was queued after the provider had accepted its message: the row was
 *                    lost and re-created, i.e. the member's step was re-done (compares the provider's clock
 *                    with the database's: both must be right to within the failover's gap)
 *   sentNotAccepted  the ledger says sent (by this provider, within the log's window) and the provider
 *                    has no record of it
 *   unconfirmed      the ledger says sending or unknown (a process died mid-send) and the provider log
 *                    has no record of it either: most likely never delivered
 *
 * Without a provider log (`evidence: false`) only `unconfirmed` can be reported (every sending or
 * unknown row): the ledger alone cannot show what it lost.
 *
 * It never guesses: a message the provider accepted but whose log the caller did not pass is not seen.
 */
import { createHash } from "node:crypto";

/** One message the provider accepted, from its own log. */
export interface ProviderAcceptance {
  /** The Message-ID header (`<…@…>`), or the provider's own message id. */
  messageId: string;
  acceptedAt: Date;
  /** The address (or number) it went to, when the log has it. */
  recipient?: string;
}

/** One ledger row, as the reconciliation reads it. */
export interface ReconciledLedgerRow {
  id: string;
  campaignId: string;
  contactId: string;
  nodeId: string;
  channel: string;
  idempotencyKey: string;
  status: string;
  provider: string | null;
  providerMessageId: string | null;
  queuedAt: Date;
  sentAt: Date | null;
}

export interface DuplicatedMessage {
  messageId: string;
  times: number;
  acceptedAt: Date[];
  recipient?: string;
  /** The ledger row it belongs to, when the ledger has one. */
  row?: ReconciledLedgerRow;
}

export interface UnrecordedMessage {
  messageId: string;
  acceptedAt: Date;
  recipient?: string;
}

export interface LostOutcome {
  messageId: string;
  acceptedAt: Date;
  row: ReconciledLedgerRow;
}

export interface RecreatedRow {
  messageId: string;
  firstAcceptedAt: Date;
  row: ReconciledLedgerRow;
}

export interface LedgerReconciliation {
  /** The window compared: provider records and ledger sends from `since` to `until`. */
  since: Date;
  until: Date;
  /** Ledger rows and provider records examined. */
  ledgerRows: number;
  acceptances: number;
  duplicated: DuplicatedMessage[];
  unrecorded: UnrecordedMessage[];
  outcomeLost: LostOutcome[];
  recreated: RecreatedRow[];
  sentNotAccepted: ReconciledLedgerRow[];
  unconfirmed: ReconciledLedgerRow[];
  /** Whether a provider log was compared; without one, only `unconfirmed` is filled. */
  evidence: boolean;
  /** Contacts with a duplicated, lost or re-created message (recipients the ledger does not know excluded). */
  membersAffected: string[];
}

/** Ledger statuses that say "not sent (yet), or we do not know". */
const UNSETTLED = new Set(["queued", "sending", "unknown"]);

/**
 * The key a message id is matched on: the local part of `<local@domain>` (the digest of an SMTP
 * Message-ID does not depend on the domain), else the id as it is.
 */
export function messageKey(messageId: string): string {
  const m = /^<?([^@<>\s]+)@[^<>\s]+>?$/.exec(messageId.trim());
  return m ? m[1]! : messageId.trim();
}

/** The digest part of the Message-ID the SMTP channel gives a row (channel.ts `messageIdFor`). */
export function messageKeyOfIdempotencyKey(idempotencyKey: string): string {
  return createHash("sha256").update(idempotencyKey).digest("base64url").slice(0, 32);
}

/** Compares ledger rows with the provider's acceptances over [since, until]. Pure. */
export function reconcileRows(
  rows: readonly ReconciledLedgerRow[],
  acceptances: readonly ProviderAcceptance[],
  window: { since: Date; until: Date; provider?: string; evidence?: boolean },
): LedgerReconciliation {
  const { since, until } = window;
  const evidence = window.evidence ?? true;
  const inWindow = acceptances.filter((a) => a.acceptedAt >= since && a.acceptedAt <= until);
  const byKey = new Map<string, ProviderAcceptance[]>();
  for (const a of inWindow) {
    const key = messageKey(a.messageId);
    const list = byKey.get(key);
    if (list) list.push(a);
    else byKey.set(key, [a]);
  }
  for (const list of byKey.values()) list.sort((x, y) => x.acceptedAt.getTime() - y.acceptedAt.getTime());

  const rowOf = new Map<string, ReconciledLedgerRow>();
  for (const row of rows) {
    rowOf.set(messageKeyOfIdempotencyKey(row.idempotencyKey), row);
    if (row.providerMessageId) rowOf.set(messageKey(row.providerMessageId), row);
  }

  const report: LedgerReconciliation = {
    since,
    until,
    ledgerRows: rows.length,
    acceptances: inWindow.length,
    duplicated: [],
    unrecorded: [],
    outcomeLost: [],
    recreated: [],
    sentNotAccepted: [],
    unconfirmed: [],
    evidence,
    membersAffected: [],
  };
  const affected = new Set<string>();
  for (const [key, list] of byKey) {
    const first = list[0]!;
    const row = rowOf.get(key);
    const recipient = list.find((a) => a.recipient)?.recipient;
    if (list.length > 1) {
      report.duplicated.push({
        messageId: first.messageId,
        times: list.length,
        acceptedAt: list.map((a) => a.acceptedAt),
        ...(recipient ? { recipient } : {}),
        ...(row ? { row } : {}),
      });
      if (row) affected.add(row.contactId);
    }
    if (!row) {
      report.unrecorded.push({
        messageId: first.messageId,
        acceptedAt: first.acceptedAt,
        ...(recipient ? { recipient } : {}),
      });
      continue;
    }
    if (UNSETTLED.has(row.status)) {
      report.outcomeLost.push({ messageId: first.messageId, acceptedAt: first.acceptedAt, row });
      affected.add(row.contactId);
    }
    if (row.queuedAt > first.acceptedAt) {
      report.recreated.push({ messageId: first.messageId, firstAcceptedAt: first.acceptedAt, row });
      affected.add(row.contactId);
    }
  }
  const accepted = (row: ReconciledLedgerRow) =>
    byKey.has(messageKeyOfIdempotencyKey(row.idempotencyKey)) ||
    (row.providerMessageId !== null && byKey.has(messageKey(row.providerMessageId)));
  for (const row of rows) {
    if ((row.status === "sending" || row.status === "unknown") && !accepted(row))
      report.unconfirmed.push(row);
    if (!evidence || row.status !== "sent" || row.sentAt === null) continue;
    if (row.sentAt < since || row.sentAt > until) continue;
    if (window.provider && row.provider !== window.provider) continue;
    if (!accepted(row)) report.sentNotAccepted.push(row);
  }
  report.membersAffected = [...affected].sort();
  return report;
}

/** The counts of a reconciliation, for a one-line summary or JSON. */
export function reconciliationSummary(report: LedgerReconciliation) {
  return {
    since: report.since.toISOString(),
    until: report.until.toISOString(),
    ledgerRows: report.ledgerRows,
    acceptances: report.acceptances,
    duplicated: report.duplicated.length,
    extraDeliveries: report.duplicated.reduce((n, d) => n + d.times - 1, 0),
    unrecorded: report.unrecorded.length,
    outcomeLost: report.outcomeLost.length,
    recreated: report.recreated.length,
    sentNotAccepted: report.sentNotAccepted.length,
    unconfirmed: report.unconfirmed.length,
    evidence: report.evidence,
    membersAffected: report.membersAffected.length,
  };
}

/** Thrown for a provider log line that is not a record we can use; names the line. */
export class ProviderLogError extends Error {}

/**
 * Parses a provider log in JSON Lines: one object per accepted message,
 * `{"messageId": "<…@…>", "acceptedAt": "2026-11-28T12:00:00.000Z", "recipient": "a@example.com"}`
 * (`recipient` optional). Blank lines are skipped.
 */
export function parseProviderLog(text: string): ProviderAcceptance[] {
  const out: ProviderAcceptance[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ProviderLogError(`line ${i + 1}: not JSON`);
    }
    const { messageId, acceptedAt, recipient } = record;
    if (typeof messageId !== "string" || messageId.trim() === "")
      throw new ProviderLogError(`line ${i + 1}: "messageId" must be a non-empty string`);
    const at = typeof acceptedAt === "string" ? new Date(acceptedAt) : undefined;
    if (!at || Number.isNaN(at.getTime()))
      throw new ProviderLogError(`line ${i + 1}: "acceptedAt" must be an ISO 8601 time`);
    out.push({
      messageId,
      acceptedAt: at,
      ...(typeof recipient === "string" && recipient !== "" ? { recipient } : {}),
    });
  }
  return out;
}
