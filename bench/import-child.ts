/** Runs one product import in its own process (as `omneural import contacts` does) and reports time and peak RSS. */
import fs from "node:fs";
import { openDatabase } from "@omneural/core/db/database";
import { receiveImport } from "@omneural/core/imports/import.service";
import { runImportInThread } from "@omneural/core/imports/import-runner";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";

const [url, file] = process.argv.slice(2) as [string, string];
const handle = openDatabase(url, { poolSize: 4 });
const { workspace } = await createWorkspace(handle.db, { name: `bench ${Date.now()}` });
const ws = {
  id: workspace.id,
  defaultCountry: workspace.default_country,
  defaultTimezone: workspace.default_timezone,
};
const phases: Record<string, number> = {};
const started = performance.now();
const received = await receiveImport(handle.db, ws, {
  filename: "contacts.csv",
  options: {},
  source: fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
  maxBytes: Number.MAX_SAFE_INTEGER,
  enqueue: false,
});
phases.upload = performance.now() - started;

let mergeStarted = 0;
await runImportInThread(handle.url, ws.id, received.id, {
  onProgress: (p) => {
    if (p.phase === "merging" && !mergeStarted) {
      mergeStarted = performance.now();
      phases.parse = mergeStarted - started - phases.upload!;
    }
  },
});
const ms = performance.now() - started;

const cpu = process.cpuUsage();
phases.nodeCpu = (cpu.user + cpu.system) / 1000;
phases.merge = performance.now() - mergeStarted;
const row = await handle.db
  .selectFrom("imports")
  .selectAll()
  .where("id", "=", received.id)
  .executeTakeFirstOrThrow();
if (row.status !== "completed") throw new Error(`import ${row.status}: ${row.error}`);
await handle.close();
process.stdout.write(
  `${JSON.stringify({ ms, phases, inserted: row.inserted, rejected: row.rejected, updated: row.updated, merged: row.merged_duplicates, rows: row.total_rows, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
