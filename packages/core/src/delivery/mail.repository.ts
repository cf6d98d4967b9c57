/**
 * SQL of direct mail: PURLs, the print-batch provider's pieces and batches, and the few contact and
 * workspace facts a mail piece needs. (The new tables are read with raw SQL and typed here.)
 */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { uuidv7 } from "../shared/ids.ts";
import type { OutgoingMailPiece } from "./channel.ts";

export async function selectMailConsent(
  db: Executor,
  workspaceId: string,
  contactId: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ mail_consent: string }>`
    select mail_consent from contacts where workspace_id = ${workspaceId} and id = ${contactId}`.execute(db);
  return rows[0]?.mail_consent;
}

/** The workspace's country (ISO 3166-1 alpha-2): pieces to other countries get a country line. */
export async function selectWorkspaceCountry(db: Executor, workspaceId: string): Promise<string | undefined> {
  const { rows } = await sql<{ default_country: string }>`
    select default_country from workspaces where id = ${workspaceId}`.execute(db);
  return rows[0]?.default_country;
}

export interface PurlRow {
  workspace_id: string;
  code: string;
  message_id: string;
  contact_id: string;
  campaign_id: string;
  created_at: Date;
}

/**
 * The ledger row's PURL code: the one it already has (a retry), else a new one from `newCode`. A new
 * code that happens to be taken already is drawn again.
 */
export async function purlCodeForMessage(
  db: Executor,
  key: { workspaceId: string; messageId: string; contactId: string; campaignId: string },
  newCode: () => string,
): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { rows } = await sql<{ code: string }>`
      with inserted as (
        insert into purls (workspace_id, code, message_id, contact_id, campaign_id)
        values (${key.workspaceId}, ${newCode()}, ${key.messageId}, ${key.contactId}, ${key.campaignId})
        on conflict do nothing
        returning code
      )
      select code from inserted
      union all
      select code from purls where workspace_id = ${key.workspaceId} and message_id = ${key.messageId}`.execute(
      db,
    );
    if (rows[0]) return rows[0].code;
    // Neither inserted nor found: the new code belongs to another row. Draw again.
  }
  throw new Error(`could not draw a free PURL code for message ${key.messageId}`);
}

export async function selectPurl(db: Executor, code: string): Promise<PurlRow | undefined> {
  const { rows } = await sql<PurlRow>`
    select workspace_id, code, message_id, contact_id, campaign_id, created_at from purls
    where code = ${code}`.execute(db);
  return rows[0];
}

/** Records a piece for the next print batch; a second call for the same ledger row returns the first. */
export async function insertPrintPiece(db: Executor, piece: OutgoingMailPiece): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    with inserted as (
      insert into print_pieces (workspace_id, id, message_id, idempotency_key, piece)
      values (${piece.workspaceId}, ${uuidv7()}, ${piece.messageId}, ${piece.idempotencyKey},
              ${JSON.stringify(piece)}::jsonb)
      on conflict (workspace_id, idempotency_key) do nothing
      returning id
    )
    select id from inserted
    union all
    select id from print_pieces
    where workspace_id = ${piece.workspaceId} and idempotency_key = ${piece.idempotencyKey}`.execute(db);
  return rows[0]!.id;
}

export interface PrintBatchRow {
  workspace_id: string;
  id: string;
  status: "writing" | "written";
  cutoff_at: Date;
  file_name: string;
  pieces: number | null;
  pages: number | null;
  /** numeric: read as a string. */
  estimated_cost: string | null;
  currency: string | null;
  pdf_path: string | null;
  manifest_path: string | null;
  created_at: Date;
  written_at: Date | null;
}

/** Batches a cut-off began and did not finish (its process stopped): they are written again. */
export async function selectUnfinishedBatches(db: Executor): Promise<PrintBatchRow[]> {
  const { rows } = await sql<PrintBatchRow>`
    select * from print_batches where status = 'writing' order by created_at`.execute(db);
  return rows;
}

/** Workspaces with pieces recorded up to `cutoffAt` and not yet in a batch. */
export async function selectWorkspacesWithPendingPieces(db: Executor, cutoffAt: Date): Promise<string[]> {
  const { rows } = await sql<{ workspace_id: string }>`
    select distinct workspace_id from print_pieces
    where status = 'pending' and created_at <= ${cutoffAt}`.execute(db);
  return rows.map((r) => r.workspace_id);
}

/**
 * Opens a batch holding the workspace's pending pieces recorded up to `cutoffAt`, in one transaction
 * (pass one): from then on they belong to this batch and to no other. Undefined when there are none.
 */
export async function claimPendingPieces(
  db: Executor,
  workspaceId: string,
  cutoffAt: Date,
  fileNameOf: (batchId: string) => string,
): Promise<PrintBatchRow | undefined> {
  const id = uuidv7();
  const { rows } = await sql<PrintBatchRow>`
    with claimed as (
      update print_pieces set status = 'batched', batch_id = ${id}
      where workspace_id = ${workspaceId} and status = 'pending' and created_at <= ${cutoffAt}
      returning id
    )
    insert into print_batches (workspace_id, id, cutoff_at, file_name)
    select ${workspaceId}, ${id}, ${cutoffAt}, ${fileNameOf(id)}
    where exists (select 1 from claimed)
    returning *`.execute(db);
  return rows[0];
}

export interface BatchPieceRow {
  id: string;
  message_id: string | null;
  idempotency_key: string;
  piece: OutgoingMailPiece;
}

/** A batch's pieces in the order they were recorded: the order of the PDF and the manifest. */
export async function selectBatchPieces(
  db: Executor,
  workspaceId: string,
  batchId: string,
): Promise<BatchPieceRow[]> {
  const { rows } = await sql<BatchPieceRow>`
    select id, message_id, idempotency_key, piece from print_pieces
    where workspace_id = ${workspaceId} and batch_id = ${batchId}
    order by created_at, id`.execute(db);
  return rows;
}

/**
 * Pass two, in one transaction with the ledger updates: the batch is written, its pieces printed or
 * rejected. Only a batch still `writing` changes, so a second finish of the same batch does nothing.
 */
export async function finishBatch(
  db: Executor,
  batch: { workspaceId: string; id: string },
  result: {
    pieces: number;
    pages: number;
    estimatedCost: number;
    currency: string;
    pdfPath: string | null;
    manifestPath: string | null;
    rejected: { idempotencyKey: string; reason: string }[];
  },
  now: Date,
): Promise<boolean> {
  const updated = await sql`
    update print_batches set status = 'written', pieces = ${result.pieces}, pages = ${result.pages},
      estimated_cost = ${result.estimatedCost}, currency = ${result.currency}, pdf_path = ${result.pdfPath},
      manifest_path = ${result.manifestPath}, written_at = ${now}
    where workspace_id = ${batch.workspaceId} and id = ${batch.id} and status = 'writing'`.execute(db);
  if (Number(updated.numAffectedRows ?? 0) === 0) return false;
  const keys = result.rejected.map((r) => r.idempotencyKey);
  const reasons = result.rejected.map((r) => r.reason);
  await sql`
    update print_pieces p set status = 'rejected', reason = r.reason
    from unnest(${keys}::text[], ${reasons}::text[]) as r(idempotency_key, reason)
    where p.workspace_id = ${batch.workspaceId} and p.batch_id = ${batch.id}
      and p.idempotency_key = r.idempotency_key`.execute(db);
  await sql`
    update print_pieces set status = 'printed'
    where workspace_id = ${batch.workspaceId} and batch_id = ${batch.id} and status = 'batched'`.execute(db);
  // The dispatcher recorded these rows `sent` when the provider took the piece; the print shop never
  // gets it, so they fail with the reason.
  await sql`
    update messages m set status = 'failed', reason = 'print batch: ' || p.reason
    from print_pieces p
    where p.workspace_id = ${batch.workspaceId} and p.batch_id = ${batch.id} and p.status = 'rejected'
      and m.workspace_id = p.workspace_id and m.id = p.message_id and m.status = 'sent'`.execute(db);
  return true;
}

export async function selectPrintBatch(
  db: Executor,
  workspaceId: string,
  id: string,
): Promise<PrintBatchRow | undefined> {
  const { rows } = await sql<PrintBatchRow>`
    select * from print_batches where workspace_id = ${workspaceId} and id = ${id}`.execute(db);
  return rows[0];
}

export async function selectOutboxEntry(db: Executor, workspaceId: string, id: string) {
  return db
    .selectFrom("outbox")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .executeTakeFirst();
}
