/**
 * The ledger reconciliation after a failover (see reconcile.ts for what it compares and reports, and
 * docs/failover.md for when to run it).
 */
import type { Db } from "../db/database.ts";
import { markAcceptedAsSent, requeueUnaccepted, selectLedgerRowsSince } from "./reconcile.repository.ts";
import { type LedgerReconciliation, type ProviderAcceptance, reconcileRows } from "./reconcile.ts";

export interface ReconcileLedgerOptions {
  workspaceId: string;
  /** Earlier than the first message of the provider log, e.g. a few minutes before the failure. */
  since: Date;
  /** Default: now. Ledger sends after it are not compared (the log may not cover them). */
  until?: Date;
  /**
   * The provider's log of accepted messages: the only evidence of what the ledger lost. Absent: only
   * the rows whose outcome the ledger itself does not know (sending, unknown) are reported.
   */
  acceptances?: readonly ProviderAcceptance[];
  /** Default "email". */
  channel?: string;
  /** The provider the ledger records for these sends (default "smtp"): only its sends are compared. */
  provider?: string;
  /**
   * Record as sent the rows whose outcome was lost (queued, sending, unknown, yet accepted by the
   * provider), so that no dispatcher sends a queued one again. Default false: report only.
   */
  apply?: boolean;
  /**
   * Queue again the rows left sending or unknown that the provider log does not have, so that they are
   * sent. Only when the log is complete up to now and nothing else can still send them (the old
   * region's workers are stopped): otherwise this sends them twice. Default false.
   */
  requeueUnconfirmed?: boolean;
}

export interface LedgerReconciliationResult extends LedgerReconciliation {
  /** Rows recorded as sent by `apply`. */
  applied: number;
  /** Rows queued again by `requeueUnconfirmed`. */
  requeued: number;
}

export async function reconcileLedger(
  db: Db,
  options: ReconcileLedgerOptions,
): Promise<LedgerReconciliationResult> {
  const until = options.until ?? new Date();
  const provider = options.provider ?? "smtp";
  const rows = await selectLedgerRowsSince(
    db,
    options.workspaceId,
    options.channel ?? "email",
    options.since,
  );
  const report = reconcileRows(rows, options.acceptances ?? [], {
    since: options.since,
    until,
    provider,
    evidence: options.acceptances !== undefined,
  });
  let applied = 0;
  if (options.apply && report.evidence) {
    applied = await markAcceptedAsSent(
      db,
      options.workspaceId,
      provider,
      report.outcomeLost.map((o) => ({
        id: o.row.id,
        providerMessageId: o.messageId,
        acceptedAt: o.acceptedAt,
      })),
    );
  }
  let requeued = 0;
  if (options.requeueUnconfirmed && report.evidence) {
    requeued = await requeueUnaccepted(
      db,
      options.workspaceId,
      report.unconfirmed.map((row) => row.id),
    );
  }
  return { ...report, applied, requeued };
}
