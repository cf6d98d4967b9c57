import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger, parseCrontab, runOnce } from "graphile-worker";
import { sql } from "kysely";
import pg from "pg";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { buildTaskList, CRONTAB, crontabFor, PRINT_BATCH_CUTOFF_JOB } from "../jobs/tasks.ts";
import { TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { ADDRESS, mailLedger, mailTemplate, mailWorkspace, queueMail } from "../testing/mail.ts";
import { qrModulesOf, qrModulesOnPage, readPdf } from "../testing/pdf.ts";
import { createDevInboxEmailChannel } from "./dev-inbox.ts";
import { dispatchBatch } from "./dispatcher.ts";
import { mailChannelFor, printBatchSettingsFor } from "./email-channel.ts";
import {
  createPrintBatchChannel,
  latestCutoff,
  type PrintBatchSettings,
  runPrintBatchCutoff,
} from "./print-batch-channel.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;
let letterId: string;
let postcardId: string;
let directory: string;
let settings: PrintBatchSettings;

beforeAll(async () => {
  ws = await mailWorkspace(database.handle.db);
  letterId = await mailTemplate(database.handle.db, ws, "letter");
  postcardId = await mailTemplate(database.handle.db, ws, "postcard", "Hello {{ firstName }}!\nScan me.");
});
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "print-batches-"));
  settings = { directory, cutoff: "17:00", costPerLetter: 0.9, costPerPostcard: 0.5, currency: "USD" };
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function dispatchToPrintBatch(now: Date) {
  const db = database.handle.db;
  return dispatchBatch(db, "mail", {
    links: TEST_LINKS,
    channels: { email: createDevInboxEmailChannel(db), mail: createPrintBatchChannel(db) },
    now,
  });
}

/** Runs the cut-off task through graphile-worker, as its cron would at `cutoffAt`. */
async function runCutoffJob(cutoffAt: Date) {
  const url = database.handle.url;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  try {
    await pool.query("select graphile_worker.add_job($1, $2::json)", [
      PRINT_BATCH_CUTOFF_JOB,
      JSON.stringify({ _cron: { ts: cutoffAt.toISOString(), backfilled: false } }),
    ]);
    await runOnce({
      pgPool: pool,
      taskList: buildTaskList(database.handle, { printBatch: settings }),
      logger: new Logger(() => () => undefined),
    });
    const { rows } = await pool.query("select last_error from graphile_worker.jobs");
    expect(rows).toEqual([]);
  } finally {
    await pool.end();
  }
}

function parseCsv(text: string): Record<string, string>[] {
  const [header, ...rows] = text
    .trimEnd()
    .split("\r\n")
    .map((line) => line.split(","));
  return rows.map((row) => Object.fromEntries(header!.map((column, i) => [column, row[i]!])));
}

describe("the print-batch provider", () => {
  it("records pieces as pending, then the cut-off task prints each workspace's into one PDF and manifest", async () => {
    const db = database.handle.db;
    const letters = await queueMail(
      db,
      ws,
      letterId,
      [
        { firstName: "Ada", lastName: "Lovelace", ...ADDRESS },
        { firstName: "Charles", lastName: "Babbage", ...ADDRESS, postalCode: null },
      ],
      T0,
    );
    const postcards = await queueMail(
      db,
      ws,
      postcardId,
      [{ firstName: "Alan", lastName: "Turing", ...ADDRESS }],
      T0,
    );
    expect(await dispatchToPrintBatch(at(60_000))).toMatchObject({ claimed: 3, sent: 2, failed: 1 });
    const ada = (await mailLedger(db, letters.campaignId)).get("Ada")!;
    expect(ada).toMatchObject({ status: "sent", provider: "print-batch" });
    expect((await mailLedger(db, letters.campaignId)).get("Charles")).toMatchObject({
      status: "failed",
      reason: "address incomplete: missing postal code",
    });
    const { rows: pending } = await sql<{ id: string; status: string; purl: string }>`
      select id, status, piece->>'purl' as purl from print_pieces where message_id = ${ada.id}`.execute(db);
    expect(pending).toEqual([{ id: ada.provider_message_id, status: "pending", purl: expect.any(String) }]);
    // No file yet: pieces wait for the cut-off.
    expect(await readdir(directory)).toEqual([]);

    // The cron's run at the cut-off, which has just passed.
    const cutoffAt = new Date(Date.now() + 1); // created_at has microseconds, Date milliseconds
    await runCutoffJob(cutoffAt);

    const { rows: batches } = await sql<Record<string, unknown>>`
      select * from print_batches where workspace_id = ${ws.id}`.execute(db);
    expect(batches).toHaveLength(1);
    const batch = batches[0]!;
    expect(batch).toMatchObject({
      status: "written",
      pieces: 2,
      pages: 3,
      estimated_cost: "1.40",
      currency: "USD",
      cutoff_at: cutoffAt,
    });
    const fileName = `${cutoffAt.toISOString().slice(0, 10)}-${batch.id}`;
    expect(batch.pdf_path).toBe(join(directory, `${fileName}.pdf`));
    expect((await readdir(directory)).sort()).toEqual([`${fileName}.csv`, `${fileName}.pdf`]);

    const manifest = parseCsv(await readFile(batch.manifest_path as string, "utf8"));
    const alan = (await mailLedger(db, postcards.campaignId)).get("Alan")!;
    expect(manifest.map((row) => [row.piece_id, row.layout, row.name, row.first_page, row.pages])).toEqual([
      [ada.id, "letter", "Ada Lovelace", "1", "1"],
      [alan.id, "postcard", "Alan Turing", "2", "2"],
    ]);

    const pages = readPdf(await readFile(batch.pdf_path as string));
    expect(pages.map((p) => [p.width, p.height])).toEqual([
      [612, 792],
      [432, 288],
      [432, 288],
    ]);
    const purl = pending[0]!.purl;
    expect(pages[0]!.lines).toEqual(expect.arrayContaining(["Ada Lovelace", "Dear Ada,", purl]));
    expect(qrModulesOnPage(pages[0]!, qrModulesOf(purl).length)).toEqual(qrModulesOf(purl));
    expect(pages[1]!.lines).toEqual(["Hello Alan!", "Scan me."]);
    expect(pages[2]!.lines).toEqual(expect.arrayContaining(["Alan Turing", manifest[1]!.purl]));

    const { rows: pieces } = await sql<{ status: string; batch_id: string }>`
      select status, batch_id from print_pieces where workspace_id = ${ws.id} and batch_id is not null`.execute(
      db,
    );
    expect(pieces).toEqual([
      { status: "printed", batch_id: batch.id },
      { status: "printed", batch_id: batch.id },
    ]);

    // The cut-off again: nothing new, nothing printed twice.
    await runCutoffJob(cutoffAt);
    expect(await runPrintBatchCutoff(db, settings, { cutoffAt })).toEqual([]);
    expect(
      (await sql`select id from print_batches where workspace_id = ${ws.id}`.execute(db)).rows,
    ).toHaveLength(1);
    expect(await readdir(directory)).toHaveLength(2);
  });

  it("finishes a batch a crash interrupted with the same pieces and files, and fails a piece the batch rejects", async () => {
    const db = database.handle.db;
    const { campaignId } = await queueMail(
      db,
      ws,
      letterId,
      [
        { firstName: "Grace", lastName: "Hopper", ...ADDRESS },
        { firstName: "Edsger", lastName: "Dijkstra", ...ADDRESS },
      ],
      T0,
    );
    expect(await dispatchToPrintBatch(at(60_000))).toMatchObject({ sent: 2 });
    const ledger = await mailLedger(db, campaignId);
    // Edsger's piece is damaged after it was taken (say, by hand): the batch refuses it.
    await sql`
      update print_pieces set piece = jsonb_set(piece, '{to,city}', '""')
      where message_id = ${ledger.get("Edsger")!.id}`.execute(db);
    const cutoffAt = new Date(Date.now() + 1); // created_at has microseconds, Date milliseconds

    // The directory cannot be made: the run stops after its first pass.
    const blocked = join(directory, "blocked");
    await writeFile(blocked, "not a directory");
    await expect(
      runPrintBatchCutoff(db, { ...settings, directory: blocked }, { cutoffAt }),
    ).rejects.toThrow();
    const { rows: writing } = await sql<{ id: string; status: string }>`
      select id, status from print_batches where workspace_id = ${ws.id} and cutoff_at = ${cutoffAt}`.execute(
      db,
    );
    expect(writing).toEqual([{ id: expect.any(String), status: "writing" }]);

    // Pieces recorded after the cut-off wait for the next one.
    const late = await queueMail(db, ws, letterId, [{ firstName: "Late", ...ADDRESS }], T0);
    await dispatchToPrintBatch(at(120_000));

    await rm(blocked);
    const [summary, ...others] = await runPrintBatchCutoff(
      db,
      { ...settings, directory: blocked },
      { cutoffAt },
    );
    expect(others).toEqual([]);
    expect(summary).toMatchObject({ batchId: writing[0]!.id, pieces: 1, rejected: 1 });
    const after = await mailLedger(db, campaignId);
    expect(after.get("Grace")).toMatchObject({ status: "sent" });
    expect(after.get("Edsger")).toMatchObject({ status: "failed", reason: "print batch: missing city" });
    const { rows: pieces } = await sql<{ message_id: string; status: string; reason: string | null }>`
      select message_id, status, reason from print_pieces where batch_id = ${writing[0]!.id}
      order by status`.execute(db);
    expect(pieces).toEqual([
      { message_id: after.get("Grace")!.id, status: "printed", reason: null },
      { message_id: after.get("Edsger")!.id, status: "rejected", reason: "missing city" },
    ]);
    const lateRow = (await mailLedger(db, late.campaignId)).get("Late")!;
    const { rows: latePiece } = await sql<{ status: string }>`
      select status from print_pieces where message_id = ${lateRow.id}`.execute(db);
    expect(latePiece).toEqual([{ status: "pending" }]);
    expect((await readdir(blocked)).sort()).toEqual([`${summary!.fileName}.csv`, `${summary!.fileName}.pdf`]);
  });
});

describe("the cut-off schedule", () => {
  it("closes the latest HH:MM UTC at or before now", () => {
    expect(latestCutoff("17:00", new Date("2026-03-02T18:30:00Z"))).toEqual(new Date("2026-03-02T17:00:00Z"));
    expect(latestCutoff("17:00", new Date("2026-03-02T17:00:00Z"))).toEqual(new Date("2026-03-02T17:00:00Z"));
    expect(latestCutoff("17:00", new Date("2026-03-02T09:00:00Z"))).toEqual(new Date("2026-03-01T17:00:00Z"));
  });

  it("adds the cut-off to graphile-worker's cron when print batches are on", () => {
    const printBatch = printBatchSettingsFor({ printBatchDir: "/var/mail", printBatchCutoff: "16:45" });
    expect(printBatch).toEqual({ directory: "/var/mail", cutoff: "16:45" });
    const crontab = crontabFor({ printBatch });
    const item = parseCrontab(crontab).find((c) => c.task === PRINT_BATCH_CUTOFF_JOB)!;
    expect(item).toMatchObject({ match: expect.any(Function) });
    expect(crontab).toContain(`45 16 * * * ${PRINT_BATCH_CUTOFF_JOB} ?fill=1d`);
    expect(crontabFor({})).toBe(CRONTAB);
    expect(
      printBatchSettingsFor({ lobUrl: "https://k@api.lob.com", printBatchDir: "/var/mail" }),
    ).toBeUndefined();
  });

  it("chooses Lob, else the print batch, else the dev inbox", () => {
    const db = database.handle.db;
    expect(mailChannelFor({ lobUrl: "https://test_key@api.lob.com" }, db).provider).toBe("lob");
    expect(mailChannelFor({ printBatchDir: "/var/mail" }, db).provider).toBe("print-batch");
    expect(mailChannelFor({}, db).provider).toBe("dev-inbox");
  });
});
