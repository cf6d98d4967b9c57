/**
 * Contact imports, end to end:
 *   upload   → the CSV is streamed into import_chunks (never held whole in memory); its header is checked
 *              as soon as the first bytes arrive, so a file that cannot be imported is refused at once;
 *   process  → a worker parses and normalises rows, streams good ones into an unlogged staging table with
 *              COPY and records bad ones with their line numbers;
 *   merge    → one transaction merges staging into contacts set-based: nothing is ever half-merged.
 * A killed worker's import is picked up again from the start of its file (see recoverStalledImports).
 */

import { once } from "node:events";
import os from "node:os";
import type { Import } from "@omneural/contracts/imports";
import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { type NormalizedContact, normalizeContactInput } from "../contacts/normalize.ts";
import { applySuppressionsToNewContacts } from "../contacts/suppression.service.ts";
import type { DatabaseHandle, Db } from "../db/database.ts";
import type { Database, ImportRow } from "../db/schema.ts";
import { AppError, notFound } from "../shared/errors.ts";
import {
  type ColumnMapping,
  detectColumnMapping,
  hasIdentifierColumn,
  headerLooksLikeData,
} from "./column-mapping.ts";
import { type CsvItem, CsvReader, type CsvSniff, sniffCsv } from "./csv-reader.ts";
import { IdentitySet } from "./identity-set.ts";
import {
  addImportedToList,
  claimImport,
  clearRejections,
  copyContactsSql,
  copyStagingSql,
  createStagingTable,
  deleteChunks,
  dropStagingTable,
  findImport,
  findStalledImports,
  heartbeatImport,
  insertChunk,
  insertConsentForNewContacts,
  insertImport,
  insertRejections,
  listImports,
  listRejections,
  mergeStaging,
  readChunk,
  streamChunks,
  updateImport,
} from "./import.repository.ts";
import {
  ContactIds,
  CopyRows,
  compileRowMapper,
  csvCell,
  timezoneRank,
  uuidBytes,
  writeContactRow,
  writeStagingRow,
} from "./import.ts";

/** Imports of at least this many rows refresh the planner statistics of what they changed. */
const ANALYZE_AFTER_ROWS = 10_000;

export const CHUNK_BYTES = 1024 * 1024;
const SNIFF_BYTES = 64 * 1024;
const PUSH_BYTES = 64 * 1024;
const MAX_RAW_CHARS = 4000;
/** An import with no heartbeat for this long is considered abandoned by its worker. */
export const IMPORT_STALE_MS = 2 * 60 * 1000;
export const IMPORT_JOB = "import_contacts";
/**
 * The job that re-checks listened segments (audiences/membership.ts's REFRESH_AUDIENCES_JOB; a test
 * keeps the two equal). Named here rather than imported because that module pulls the audience
 * compiler and TypeBox into the import thread: a second and 40 MB more at every import's start.
 */
export const REFRESH_AUDIENCES_AFTER_IMPORT_JOB = "refresh_listened_audiences";

export interface ImportOptions {
  mapping?: Record<string, string>;
  /** A static list that every contact the import creates or updates joins. */
  listId?: string;
}

export interface DetectedLayout {
  delimiter: string;
  encoding: string;
  columns: ColumnMapping[];
  /** What was settled automatically and the user may want to check (e.g. an unnamed column). */
  warnings: string[];
}

/** Parses the `mapping` query/body parameter: a JSON object of header → target. */
export function parseMappingParam(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new AppError("VALIDATION_FAILED", "mapping must be a JSON object of CSV header to target", {
      errors: [{ field: "mapping", message: "is not valid JSON" }],
    });
  }
  if (
    !value ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    !Object.values(value).every((v) => typeof v === "string")
  ) {
    throw new AppError("VALIDATION_FAILED", "mapping must be a JSON object whose values are strings", {
      errors: [{ field: "mapping", message: "must map header names to target names" }],
    });
  }
  return value as Record<string, string>;
}

/** Reads the header from the first bytes of a file and decides the column mapping, or refuses the file. */
export function detectLayout(
  head: Uint8Array,
  options: ImportOptions,
): { sniff: CsvSniff; layout: DetectedLayout } {
  if (head.length === 0) throw new AppError("INVALID_CSV", "the file is empty");
  const sniff = sniffCsv(head);
  const reader = new CsvReader({ delimiter: sniff.delimiter, encoding: sniff.encoding });
  const items = [...reader.push(head), ...(head.length < SNIFF_BYTES ? reader.end() : [])];
  const first = items[0];
  if (!first) throw new AppError("INVALID_CSV", "the file has no header line");
  if (first.kind === "bad")
    throw new AppError("INVALID_CSV", `the header line cannot be read: ${first.bad.reason}`);
  const headers = first.record.fields.map((h) => h.trim());
  const looksLikeData = headerLooksLikeData(headers);
  if (looksLikeData) {
    throw new AppError(
      "INVALID_CSV",
      `the first line must be a header naming the columns, but it looks like data: ${looksLikeData}`,
    );
  }
  const { columns, errors, warnings } = detectColumnMapping(headers, options.mapping);
  if (errors.length) {
    throw new AppError("INVALID_CSV", `the column mapping is not valid: ${errors.join("; ")}`, {
      errors: errors.map((message) => ({ field: "mapping", message })),
    });
  }
  if (!hasIdentifierColumn(columns)) {
    throw new AppError(
      "INVALID_CSV",
      `no column holds an email, phone or external id (headers: ${headers.join(", ")}); name one in the mapping, e.g. {"E-Mail Adresse": "email"}`,
      { errors: [{ field: "mapping", message: "map a column to email, phone or externalId" }] },
    );
  }
  return { sniff, layout: { delimiter: sniff.delimiter, encoding: sniff.encoding, columns, warnings } };
}

/**
 * Stores an uploaded CSV and queues it. `source` is the request body (or a file) as a byte stream; it is
 * consumed chunk by chunk. The job is enqueued in the same transaction that marks the import queued.
 */
export async function receiveImport(
  db: Db,
  ws: WorkspaceContext,
  input: {
    filename: string | null;
    options: ImportOptions;
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    maxBytes: number;
    enqueue: boolean;
  },
): Promise<ImportRow> {
  if (input.options.listId) {
    const list = await db
      .selectFrom("audiences")
      .select("kind")
      .where("workspace_id", "=", ws.id)
      .where("id", "=", input.options.listId)
      .executeTakeFirst();
    if (list?.kind !== "list") {
      throw new AppError(
        "VALIDATION_FAILED",
        `listId ${input.options.listId} is not a list of this workspace`,
        {
          errors: [{ field: "listId", message: list ? "is a segment, not a list" : "does not exist" }],
        },
      );
    }
  }
  const created = await insertImport(db, {
    workspaceId: ws.id,
    filename: input.filename,
    options: input.options as Record<string, unknown>,
  });
  let seq = 0;
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let checked = false;
  // Two chunks are stored at a time, on two connections, so that one chunk's write and commit overlap
  // the next one's; a failed insert is reported at the next chunk or at the end.
  const inFlight: Promise<void>[] = [];
  let insertError: unknown;
  const store = async (data: Buffer) => {
    if (inFlight.length >= 2) await inFlight.shift();
    if (insertError) throw insertError;
    inFlight.push(
      insertChunk(db, ws.id, created.id, seq++, data).catch((error: unknown) => {
        insertError ??= error;
      }),
    );
  };
  const settle = async () => {
    await Promise.all(inFlight.splice(0));
    if (insertError) throw insertError;
  };
  const flush = async (final: boolean) => {
    if (!checked && (pendingBytes >= SNIFF_BYTES || final)) {
      const head = Buffer.concat(pending);
      const { layout } = detectLayout(
        final ? head : head.subarray(0, Math.max(SNIFF_BYTES, head.length)),
        input.options,
      );
      await updateImport(db, ws.id, created.id, { detected: layout as unknown as Record<string, unknown> });
      checked = true;
    }
    while (pendingBytes >= CHUNK_BYTES || (final && pendingBytes > 0)) {
      const all = Buffer.concat(pending);
      const take = all.subarray(0, Math.min(CHUNK_BYTES, all.length));
      await store(Buffer.from(take));
      const rest = all.subarray(take.length);
      pending = rest.length ? [rest] : [];
      pendingBytes = rest.length;
    }
  };
  try {
    for await (const chunk of input.source) {
      size += chunk.length;
      if (size > input.maxBytes) {
        throw new AppError(
          "PAYLOAD_TOO_LARGE",
          `the file is larger than the limit of ${input.maxBytes} bytes`,
        );
      }
      pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK_BYTES || (!checked && pendingBytes >= SNIFF_BYTES)) await flush(false);
    }
    await flush(true);
    await settle();
  } catch (error) {
    // Nothing of a refused upload is kept but the record of the refusal (once no insert is under way).
    await Promise.all(inFlight.splice(0));
    await deleteChunks(db, ws.id, created.id);
    await updateImport(db, ws.id, created.id, {
      status: "failed",
      size_bytes: size,
      error: (error as Error).message,
      finished_at: new Date(),
    });
    throw error;
  }
  await db.transaction().execute(async (trx) => {
    await updateImport(trx, ws.id, created.id, { status: "queued", size_bytes: size });
    if (input.enqueue) {
      await sql`select omneural_add_job(${IMPORT_JOB}, json_build_object('workspaceId', ${ws.id}::text, 'importId', ${created.id}::text),
        job_key := ${`import:${created.id}`}, max_attempts := 5)`.execute(trx);
    }
  });
  return (await findImport(db, ws.id, created.id))!;
}

export interface ImportProgress {
  rows: number;
  bytes: number;
  totalBytes: number;
  phase: "parsing" | "merging" | "done";
}

export interface ProcessImportOptions {
  lockedBy?: string;
  onProgress?: (progress: ImportProgress) => void;
  /** Rows per COPY write; larger batches amortise per-call overhead. */
  batchRows?: number;
  now?: () => Date;
  /**
   * Keys.tombstones: new contacts with an erased contact's opted-out address then start unsubscribed
   * (contacts/suppression.service.ts). Without it, only plain suppression entries are matched.
   */
  tombstoneKey?: Buffer | undefined;
}

export const workerIdentity = () => `${os.hostname()}:${process.pid}`;

async function* chunksOf(db: Db, workspaceId: string, importId: string): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const chunk = await readChunk(db, workspaceId, importId, seq);
    if (!chunk) return;
    yield chunk;
  }
}

class ImportTakenOver extends Error {}

/** A Kysely instance over one client, so repository SQL runs inside that client's open transaction. */
function onClient(client: pg.PoolClient): Db {
  // Kysely releases the connection after each query; this client must stay ours until commit.
  const pinned = new Proxy(client, {
    get(target, prop) {
      if (prop === "release") return () => undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: { connect: async () => pinned, end: async () => undefined } as unknown as pg.Pool,
    }),
  });
}

/** Loads the workspace's existing identifiers into the duplicate-check sets. */
async function loadIdentities(client: pg.PoolClient, workspaceId: string, sets: IdentitySets) {
  const stream = client.query(
    copyTo(
      `copy (select coalesce(external_id, ''), coalesce(email, ''), coalesce(phone, '') from contacts where workspace_id = '${workspaceId}') to stdout`,
    ),
  );
  let rest = "";
  const take = (line: string) => {
    const [ext, email, phone] = line.split("\t").map(unescapeCopy);
    if (ext) sets.externalId.addAndCheck(ext);
    if (email) sets.email.addAndCheck(email);
    if (phone) sets.phone.addAndCheck(phone);
  };
  for await (const chunk of stream) {
    const text = rest + (chunk as Buffer).toString("utf8");
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) take(line);
  }
  if (rest) take(rest);
}

function unescapeCopy(value: string): string {
  if (!value.includes("\\")) return value;
  return value.replace(/\\(.)/g, (_, c: string) =>
    c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c,
  );
}

interface IdentitySets {
  externalId: IdentitySet;
  email: IdentitySet;
  phone: IdentitySet;
}

/**
 * Processes a queued (or abandoned) import. Returns false when another worker holds it.
 *
 * Rows whose identifiers are new to the workspace and to the file so far (the common case) are COPYed
 * straight into contacts; the others (a match with an existing contact, or a repeat within the file)
 * go to a staging table and take the exact, set-based merge. Both happen inside one transaction that
 * also marks the import completed: an import is applied whole or not at all.
 */
export async function processImport(
  handle: DatabaseHandle,
  workspaceId: string,
  importId: string,
  options: ProcessImportOptions = {},
): Promise<boolean> {
  const { db, pool } = handle;
  const now = options.now ?? (() => new Date());
  const lockedBy = options.lockedBy ?? workerIdentity();
  const attempt = await claimImport(
    db,
    workspaceId,
    importId,
    lockedBy,
    new Date(now().getTime() - IMPORT_STALE_MS),
  );
  if (attempt === undefined) return false;
  const row = (await findImport(db, workspaceId, importId))!;
  const workspace = await db
    .selectFrom("workspaces")
    .selectAll()
    .where("id", "=", workspaceId)
    .executeTakeFirstOrThrow();
  const totalBytes = Number(row.size_bytes);
  const importOptions = row.options as ImportOptions;
  const mergeClient: pg.PoolClient = await pool.connect();
  const stagingClient: pg.PoolClient = await pool.connect();
  const chunkClient: pg.PoolClient = await pool.connect();
  let clientsBroken = false;
  try {
    await clearRejections(db, workspaceId, importId);
    await createStagingTable(db, importId);
    await mergeClient.query("begin");
    await mergeClient.query("set local work_mem = '256MB'");

    const sets: IdentitySets = {
      externalId: new IdentitySet(),
      // Sized for one row per 200 bytes (CRM exports run 100–150): a million rows fit in 2^21 slots
      // (16 MB) without growing; a file of shorter rows grows the set as it goes.
      email: new IdentitySet(Math.max(1 << 16, Math.floor(totalBytes / 200))),
      phone: new IdentitySet(),
    };
    await loadIdentities(mergeClient, workspaceId, sets);

    let progress: ImportProgress = { rows: 0, bytes: 0, totalBytes, phase: "parsing" };
    const rejections: { line: number; field: string | null; reason: string; raw: string }[] = [];
    let rejectedCount = 0;
    let fastCount = 0;
    const fastConsent: { id: string; consent: NormalizedContact["consent"] }[] = [];
    const flushRejections = async () => {
      if (!rejections.length) return;
      await insertRejections(db, workspaceId, importId, rejections.splice(0));
    };

    const fast = mergeClient.query(copyFrom(copyContactsSql));
    const slow = stagingClient.query(copyFrom(copyStagingSql(importId)));
    const finished = (stream: NodeJS.WritableStream) =>
      new Promise<void>((resolve, reject) => {
        stream.on("finish", resolve);
        stream.on("error", reject);
      });
    const fastDone = finished(fast);
    const slowDone = finished(slow);
    // Surface a COPY failure (e.g. a concurrent insert of the same email) as soon as it happens.
    let copyError: unknown;
    fastDone.catch((e) => {
      copyError ??= e;
    });
    slowDone.catch((e) => {
      copyError ??= e;
    });

    let reader: CsvReader | undefined;
    let mapper: ReturnType<typeof compileRowMapper> | undefined;
    let layout: DetectedLayout | undefined;
    let header = true;
    let head: Buffer[] = [];
    let headBytes = 0;
    let lastBeat = Date.now();
    const ids = new ContactIds();
    const workspaceIdBytes = uuidBytes(workspaceId);
    const fastRows = new CopyRows();
    fastRows.binaryHeader();
    const slowRows = new CopyRows();
    const normalizeOptions = {
      defaultCountry: workspace.default_country,
      defaultTimezone: workspace.default_timezone,
    };

    const handleItems = async (items: CsvItem[]) => {
      for (const item of items) {
        if (item.kind === "bad") {
          if (header) throw new AppError("INVALID_CSV", `the header line cannot be read: ${item.bad.reason}`);
          rejectedCount++;
          progress.rows++;
          rejections.push({
            line: item.bad.line,
            field: null,
            reason: item.bad.reason,
            raw: item.bad.raw.slice(0, MAX_RAW_CHARS),
          });
          continue;
        }
        if (header) {
          header = false;
          continue;
        }
        progress.rows++;
        const { record } = item;
        const mapped = mapper!(record.fields);
        if (!mapped.ok) {
          rejectedCount++;
          rejections.push({
            line: record.line,
            field: mapped.problem.field,
            reason: mapped.problem.reason,
            raw: record.raw.slice(0, MAX_RAW_CHARS),
          });
          continue;
        }
        const normalized = normalizeContactInput(mapped.input, normalizeOptions);
        if (!normalized.ok) {
          rejectedCount++;
          rejections.push({
            line: record.line,
            field: normalized.errors[0]?.field ?? null,
            reason: normalized.errors.map((e) => `${e.field}: ${e.message}`).join("; "),
            raw: record.raw.slice(0, MAX_RAW_CHARS),
          });
          continue;
        }
        const n = normalized.value;
        const rank = timezoneRank(n, mapped.tzExplicit, workspace.default_timezone);
        // Every identifier is added to its set, so a later row repeating it is seen as a repeat.
        let seen = false;
        if (n.externalId !== null && sets.externalId.addAndCheck(n.externalId)) seen = true;
        if (n.email !== null && sets.email.addAndCheck(n.email)) seen = true;
        if (n.phone !== null && sets.phone.addAndCheck(n.phone)) seen = true;
        ids.next();
        if (seen) {
          writeStagingRow(slowRows, record.line, ids.text(), n, rank);
        } else {
          fastCount++;
          writeContactRow(fastRows, workspaceIdBytes, ids.bytes, n);
          if (n.consent.email || n.consent.sms || n.consent.mail || n.consent.ads)
            fastConsent.push({ id: ids.text(), consent: n.consent });
        }
        if (fastRows.byteLength > 256 * 1024 && !fast.write(fastRows.take())) await once(fast, "drain");
        if (slowRows.byteLength > 256 * 1024 && !slow.write(slowRows.take())) await once(slow, "drain");
      }
      if (fastRows.byteLength && !fast.write(fastRows.take())) await once(fast, "drain");
      if (slowRows.byteLength && !slow.write(slowRows.take())) await once(slow, "drain");
      if (copyError) throw copyError;
      if (rejections.length >= 1000) await flushRejections();
    };

    const beat = async () => {
      if (Date.now() - lastBeat < 1000) return;
      lastBeat = Date.now();
      if (!(await heartbeatImport(db, workspaceId, importId, attempt, progress))) throw new ImportTakenOver();
      options.onProgress?.({ ...progress });
    };

    // The reader is fed a slice at a time so that a batch's records die young: a megabyte's worth
    // (8,000 records) outlives the young generation and turns into old-generation garbage, which
    // measured 30% more CPU per row than 64 KiB slices.
    const pushSlices = async (bytes: Buffer) => {
      for (let at = 0; at < bytes.length; at += PUSH_BYTES) {
        await handleItems(reader!.push(bytes.subarray(at, at + PUSH_BYTES)));
      }
    };

    const startReader = async (bytes: Buffer) => {
      const detected = detectLayout(bytes, importOptions);
      layout = detected.layout;
      mapper = compileRowMapper(layout.columns);
      reader = new CsvReader({ delimiter: detected.sniff.delimiter, encoding: detected.sniff.encoding });
      await pushSlices(bytes);
    };

    for await (const chunk of streamChunks(chunkClient, workspaceId, importId)) {
      progress.bytes += chunk.length;
      if (!reader) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes < SNIFF_BYTES && progress.bytes < totalBytes) continue;
        const all = Buffer.concat(head);
        head = [];
        await startReader(all);
      } else {
        await pushSlices(chunk);
      }
      await beat();
    }
    if (!reader) {
      if (!head.length) throw new AppError("INVALID_CSV", "the file is empty");
      await startReader(Buffer.concat(head));
    }
    await handleItems(reader!.end());
    fastRows.binaryTrailer();
    fast.end(fastRows.take());
    slow.end();
    await Promise.all([fastDone, slowDone]);
    await flushRejections();

    progress = { ...progress, phase: "merging" };
    options.onProgress?.({ ...progress });
    await heartbeatImport(db, workspaceId, importId, attempt, progress);

    const trx = onClient(mergeClient);
    const current = await trx
      .selectFrom("imports")
      .select(["attempt", "status"])
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", importId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (current.attempt !== attempt || current.status !== "processing") throw new ImportTakenOver();
    await insertConsentForNewContacts(trx, workspaceId, importId, fastConsent);
    const merged = await mergeStaging(trx, workspaceId, importId);
    await applySuppressionsToNewContacts(trx, workspaceId, {
      source: "import",
      actor: importId,
      tombstoneKey: options.tombstoneKey,
    });
    if (merged.conflicts.length) {
      const raws = await rawLines(
        handle,
        workspaceId,
        importId,
        layout!,
        new Set(merged.conflicts.map((c) => c.line)),
      );
      await insertRejections(
        trx,
        workspaceId,
        importId,
        merged.conflicts.map((c) => ({
          line: c.line,
          field: c.field,
          reason: c.reason,
          raw: raws.get(c.line) ?? "",
        })),
      );
    }
    await updateImport(trx, workspaceId, importId, {
      status: "completed",
      total_rows: progress.rows,
      processed_rows: progress.rows,
      processed_bytes: totalBytes,
      inserted: fastCount + merged.inserted,
      updated: merged.updated,
      rejected: rejectedCount + merged.conflicts.length,
      merged_duplicates: merged.mergedDuplicates,
      finished_at: now(),
      locked_by: null,
    });
    if (importOptions.listId) await addImportedToList(trx, workspaceId, importOptions.listId);
    // Rejected rows keep their own text, so the upload is no longer needed.
    await deleteChunks(trx, workspaceId, importId);
    // An import may change any number of contacts: listened segments are re-checked in full.
    await sql`select omneural_add_job(${REFRESH_AUDIENCES_AFTER_IMPORT_JOB}, '{}'::json, job_key := ${REFRESH_AUDIENCES_AFTER_IMPORT_JOB},
        job_key_mode := 'replace')
      where exists (select 1 from audiences where workspace_id = ${workspaceId} and listened and kind = 'segment')`.execute(
      trx,
    );
    await mergeClient.query("commit");
    options.onProgress?.({ ...progress, phase: "done" });
    // Fresh planner statistics after a large import: a campaign launched on the imported list a minute
    // later (before autovacuum's analyze) would otherwise be planned for an empty table, as nested
    // loops over every member. Sampled, so it takes a fraction of a second at any size.
    if (progress.rows >= ANALYZE_AFTER_ROWS) {
      await mergeClient
        .query(importOptions.listId ? "analyze contacts, list_members" : "analyze contacts")
        .catch(() => undefined);
    }
    return true;
  } catch (error) {
    await mergeClient.query("rollback").catch(() => {
      clientsBroken = true;
    });
    // A client whose COPY was cut off mid-stream is not reusable.
    clientsBroken = true;
    if (error instanceof ImportTakenOver) return false;
    const transient = isTransient(error);
    await updateImport(db, workspaceId, importId, {
      status: transient ? "queued" : "failed",
      error: transient ? `will retry: ${(error as Error).message}` : (error as Error).message,
      locked_by: null,
      ...(transient ? {} : { finished_at: now() }),
    }).catch(() => undefined);
    if (transient) throw error;
    return true;
  } finally {
    mergeClient.release(clientsBroken);
    stagingClient.release(clientsBroken);
    chunkClient.release(clientsBroken);
    await dropStagingTable(db, importId).catch(() => undefined);
  }
}

function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return (
    code === "23505" || // a concurrent insert took an identifier this import was adding: start over
    code.startsWith("08") ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    code === "40001" ||
    code === "40P01" ||
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    /Connection terminated|connection timeout/i.test((error as Error).message ?? "")
  );
}

/** Re-reads the file for the original text of a few lines (rows refused during the merge). */
async function rawLines(
  handle: DatabaseHandle,
  workspaceId: string,
  importId: string,
  layout: DetectedLayout,
  lines: Set<number>,
) {
  const found = new Map<number, string>();
  const reader = new CsvReader({
    delimiter: layout.delimiter as CsvSniff["delimiter"],
    encoding: layout.encoding as CsvSniff["encoding"],
  });
  const take = (items: CsvItem[]) => {
    for (const item of items) {
      if (item.kind === "record" && lines.has(item.record.line))
        found.set(item.record.line, item.record.raw.slice(0, MAX_RAW_CHARS));
    }
  };
  for await (const chunk of chunksOf(handle.db, workspaceId, importId)) {
    take(reader.push(chunk));
    if (found.size === lines.size) return found;
  }
  take(reader.end());
  return found;
}

/** Queues again the imports whose worker died, so that another worker starts them over. */
export async function recoverStalledImports(db: Db, now: Date = new Date()): Promise<string[]> {
  const stale = await findStalledImports(db, new Date(now.getTime() - IMPORT_STALE_MS));
  const host = os.hostname();
  const recovered: string[] = [];
  for (const row of stale) {
    const [lockHost, lockPid] = (row.locked_by ?? "").split(":");
    const ownerDead = lockHost === host && lockPid !== undefined && !pidAlive(Number(lockPid));
    const heartbeatOld =
      row.heartbeat_at !== null && row.heartbeat_at.getTime() < now.getTime() - IMPORT_STALE_MS;
    if (row.status === "processing" && !ownerDead && !heartbeatOld) continue;
    await db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable("imports")
        .set({ status: "queued", locked_by: null, heartbeat_at: null })
        .where("workspace_id", "=", row.workspace_id)
        .where("id", "=", row.id)
        .where("attempt", "=", row.attempt)
        .where("status", "in", ["processing", "queued"])
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) return;
      await sql`select omneural_add_job(${IMPORT_JOB}, json_build_object('workspaceId', ${row.workspace_id}::text, 'importId', ${row.id}::text),
        job_key := ${`import:${row.id}`}, max_attempts := 5)`.execute(trx);
      recovered.push(row.id);
    });
  }
  return recovered;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function toImport(
  row: ImportRow,
  rejections: { line_no: number; field: string | null; reason: string; raw: string }[],
  baseUrl: string,
): Import {
  const detected = row.detected as unknown as DetectedLayout | null;
  return {
    id: row.id,
    status: row.status,
    filename: row.filename,
    sizeBytes: Number(row.size_bytes),
    detected: detected
      ? {
          delimiter: detected.delimiter,
          encoding: detected.encoding,
          columns: detected.columns.map((c) => ({
            header: c.header,
            target:
              c.target.kind === "field"
                ? c.target.field
                : c.target.kind === "attribute"
                  ? `attributes.${c.target.key}`
                  : "ignore",
            detected: c.detected,
          })),
          warnings: detected.warnings ?? [],
        }
      : null,
    counts: {
      rows: row.status === "completed" ? row.total_rows : row.processed_rows,
      inserted: row.inserted,
      updated: row.updated,
      rejected: row.status === "completed" ? row.rejected : rejections.length,
      mergedDuplicates: row.merged_duplicates,
    },
    progress:
      row.status === "processing" && Number(row.size_bytes) > 0
        ? Math.min(1, Number(row.processed_bytes) / Number(row.size_bytes))
        : row.status === "completed"
          ? 1
          : 0,
    error: row.error,
    rejections: rejections.map((r) => ({ line: r.line_no, field: r.field, reason: r.reason, raw: r.raw })),
    rejectionsUrl:
      row.rejected > 0 || rejections.length > 0
        ? `${baseUrl}/api/v1/contacts/imports/${row.id}/rejections.csv`
        : null,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

export async function getImport(db: Db, ws: WorkspaceContext, id: string, baseUrl: string): Promise<Import> {
  const row = await findImport(db, ws.id, id);
  if (!row) throw notFound("import", id);
  return toImport(row, await listRejections(db, ws.id, id, 100), baseUrl);
}

export async function recentImports(db: Db, ws: WorkspaceContext, baseUrl: string): Promise<Import[]> {
  const rows = await listImports(db, ws.id, 50);
  return Promise.all(
    rows.map(async (row) => toImport(row, await listRejections(db, ws.id, row.id, 100), baseUrl)),
  );
}

/** All rejected rows as CSV: line, error, then the row's original cells under the file's own header. */
export async function* rejectionsCsv(db: Db, ws: WorkspaceContext, id: string): AsyncGenerator<string> {
  const row = await findImport(db, ws.id, id);
  if (!row) throw notFound("import", id);
  const layout = row.detected as unknown as DetectedLayout | null;
  const headers = layout?.columns.map((c) => c.header) ?? [];
  yield `${["line", "error", ...headers].map(csvCell).join(",")}\r\n`;
  const rejections = await listRejections(db, ws.id, id);
  for (const r of rejections) {
    let cells: string[] = [r.raw];
    if (layout) {
      const reader = new CsvReader({
        delimiter: layout.delimiter as CsvSniff["delimiter"],
        encoding: "utf-8",
      });
      const items = [...reader.push(Buffer.from(r.raw, "utf8")), ...reader.end()];
      const first = items[0];
      if (first?.kind === "record") cells = first.record.fields;
    }
    yield `${[String(r.line_no), r.reason, ...cells].map(csvCell).join(",")}\r\n`;
  }
}
