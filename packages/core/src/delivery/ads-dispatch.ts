/** Ad audiences in the dispatcher: due `ads` ledger rows, synced per destination in batches. */
import type { Db } from "../db/database.ts";
import type { DispatchResult } from "./dispatcher.ts";

export interface AdsDispatchOptions {
  /** Opens the destinations' stored credentials. */
  credentialsKey: Buffer;
  now?: Date;
  batchSize?: number;
}

export async function dispatchAdsBatch(_db: Db, _options: AdsDispatchOptions): Promise<DispatchResult> {
  return { claimed: 0, sent: 0, retried: 0, deferred: 0, failed: 0, skipped: 0, expired: 0 };
}
