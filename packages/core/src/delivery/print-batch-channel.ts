/**
 * The print-batch direct-mail provider. `send` records the rendered piece as pending (the ledger row
 * becomes `sent`: the provider took it); at the daily cut-off a graphile-worker cron task gathers each
 * workspace's pending pieces into one merged PDF and CSV manifest for the print shop (writePrintBatch),
 * records the batch and marks its pieces printed. A piece the batch refuses fails its ledger row with the
 * reason.
 *
 * Crash safety, in two passes per batch. Pass one, one transaction: a `print_batches` row (`writing`)
 * is made and the pending pieces are moved into it; from then on they belong to that batch only. Then the
 * files are written (each renamed into place, the manifest last). Pass two, one transaction: the batch
 * becomes `written`, its pieces `printed` or `rejected`, rejected pieces' ledger rows `failed`. A process
 * that dies between the passes leaves the batch `writing`: the next run writes the same pieces again
 * under the same file names and finishes it. A run twice over does nothing the second time, and no
 * piece is ever in two batches.
 */
import { mkdir } from "node:fs/promises";
import type { Db } from "../db/database.ts";
import type { Logger } from "../shared/logger.ts";
import type { MailChannel, OutgoingMailPiece, SendResult } from "./channel.ts";
import {
  claimPendingPieces,
  finishBatch,
  insertPrintPiece,
  type PrintBatchRow,
  selectBatchPieces,
  selectUnfinishedBatches,
  selectWorkspaceCountry,
  selectWorkspacesWithPendingPieces,
} from "./mail.repository.ts";
import { writePrintBatch } from "./print-batch.ts";

export function createPrintBatchChannel(db: Db): MailChannel {
  return {
    provider: "print-batch",
    // One pending piece per ledger row (unique idempotency key): a second submission is the first.
    acceptsIdempotencyKey: true,
    async send(piece: OutgoingMailPiece): Promise<SendResult> {
      const id = await insertPrintPiece(db, piece);
      return { kind: "sent", providerMessageId: id, detail: "waiting for the print batch cut-off" };
    },
    async close() {},
  };
}

export interface PrintBatchSettings {
  /** PRINT_BATCH_DIR: where batches are written (created when missing). */
  directory: string;
  /** PRINT_BATCH_CUTOFF: the daily cut-off, "HH:MM" in UTC. */
  cutoff: string;
  costPerLetter?: number;
  costPerPostcard?: number;
  currency?: string;
}

/** The latest cut-off at or before `now`: today's "HH:MM" UTC if it has passed, else yesterday's. */
export function latestCutoff(cutoff: string, now: Date): Date {
  const [hours, minutes] = cutoff.split(":").map(Number) as [number, number];
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hours, minutes));
  return today.getTime() <= now.getTime() ? today : new Date(today.getTime() - 86_400_000);
}

/** graphile-worker's cron line for the cut-off (its cron runs in UTC); a missed run is made up within a day. */
export function printBatchCronLine(cutoff: string, task: string): string {
  const [hours, minutes] = cutoff.split(":").map(Number) as [number, number];
  return `${minutes} ${hours} * * * ${task} ?fill=1d&max=1&jobKey=${task}&jobKeyMode=replace`;
}

export interface PrintBatchSummary {
  workspaceId: string;
  batchId: string;
  fileName: string;
  pieces: number;
  pages: number;
  estimatedCost: number;
  currency: string;
  pdfPath: string | null;
  manifestPath: string | null;
  rejected: number;
}

/** `YYYY-MM-DD-<batch id>`: sorts by day, unique, and a plain file name. */
function fileNameOf(cutoffAt: Date) {
  return (batchId: string) => `${cutoffAt.toISOString().slice(0, 10)}-${batchId}`;
}

/**
 * The cut-off: finishes batches a stopped process left half-done, then makes one batch per workspace of
 * the pieces recorded up to `cutoffAt` (default: the latest cut-off before `now`).
 */
export async function runPrintBatchCutoff(
  db: Db,
  settings: PrintBatchSettings,
  options: { now?: Date; cutoffAt?: Date; logger?: Logger } = {},
): Promise<PrintBatchSummary[]> {
  const now = options.now ?? new Date();
  const cutoffAt = options.cutoffAt ?? latestCutoff(settings.cutoff, now);
  const written: PrintBatchSummary[] = [];
  for (const batch of await selectUnfinishedBatches(db)) {
    options.logger?.warn(
      { workspaceId: batch.workspace_id, batchId: batch.id },
      "print batch: writing again a batch a stopped process left unfinished",
    );
    const summary = await writeAndFinish(db, settings, batch, now);
    if (summary) written.push(summary);
  }
  for (const workspaceId of await selectWorkspacesWithPendingPieces(db, cutoffAt)) {
    const batch = await claimPendingPieces(db, workspaceId, cutoffAt, fileNameOf(cutoffAt));
    if (!batch) continue; // another run took them
    const summary = await writeAndFinish(db, settings, batch, now);
    if (summary) written.push(summary);
  }
  for (const s of written) {
    options.logger?.info(
      { workspaceId: s.workspaceId, batchId: s.batchId, pieces: s.pieces, rejected: s.rejected },
      "print batch written",
    );
  }
  return written;
}

async function writeAndFinish(
  db: Db,
  settings: PrintBatchSettings,
  batch: PrintBatchRow,
  now: Date,
): Promise<PrintBatchSummary | undefined> {
  const rows = await selectBatchPieces(db, batch.workspace_id, batch.id);
  const homeCountry = (await selectWorkspaceCountry(db, batch.workspace_id)) ?? "US";
  await mkdir(settings.directory, { recursive: true });
  const result = await writePrintBatch(
    rows.map((row) => row.piece),
    {
      directory: settings.directory,
      batchId: batch.file_name,
      homeCountry,
      ...(settings.costPerLetter !== undefined ? { costPerLetter: settings.costPerLetter } : {}),
      ...(settings.costPerPostcard !== undefined ? { costPerPostcard: settings.costPerPostcard } : {}),
      ...(settings.currency !== undefined ? { currency: settings.currency } : {}),
    },
  );
  const finished = await db
    .transaction()
    .execute((trx) => finishBatch(trx, { workspaceId: batch.workspace_id, id: batch.id }, result, now));
  if (!finished) return undefined; // another run finished it first
  return {
    workspaceId: batch.workspace_id,
    batchId: batch.id,
    fileName: batch.file_name,
    pieces: result.pieces,
    pages: result.pages,
    estimatedCost: result.estimatedCost,
    currency: result.currency,
    pdfPath: result.pdfPath,
    manifestPath: result.manifestPath,
    rejected: result.rejected.length,
  };
}
