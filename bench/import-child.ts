/**
 * One side of a product import, in its own process so that its peak RSS is its own:
 *   upload  <url> <file>                     what the API role does: store the CSV and queue the import
 *   process <url> <workspaceId> <importId>   what the worker role does: parse, normalise and merge
 * Prints one JSON line.
 */
import fs from "node:fs";
import { openDatabase } from "@omneural/core/db/database";
import { receiveImport } from "@omneural/core/imports/import.service";
import { runImportInThread } from "@omneural/core/imports/import-runner";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";

const [mode, url, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const handle = openDatabase(url, { poolSize: 4 });
const maxRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const started = performance.now();

if (mode === "upload") {
  const [file] = rest as [string];
  const { workspace } = await createWorkspace(handle.db, { name: `bench ${Date.now()}` });
  const ws = {
    id: workspace.id,
    defaultCountry: workspace.default_country,
    defaultTimezone: workspace.default_timezone,
  };
  const received = await receiveImport(handle.db, ws, {
    filename: "contacts.csv",
    options: {},
    source: fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
    maxBytes: Number.MAX_SAFE_INTEGER,
    enqueue: false,
  });
  await handle.close();
  process.stdout.write(
    `${JSON.stringify({ ms: performance.now() - started, workspaceId: ws.id, importId: received.id, maxRssMb: maxRssMb() })}\n`,
  );
} else {
  const [workspaceId, importId] = rest as [string, string];
  let mergeStarted = 0;
  await runImportInThread(handle.url, workspaceId, importId, {
    onProgress: (p) => {
      if (p.phase === "merging" && !mergeStarted) mergeStarted = performance.now();
    },
  });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage();
  const row = await handle.db
    .selectFrom("imports")
    .selectAll()
    .where("id", "=", importId)
    .executeTakeFirstOrThrow();
  if (row.status !== "completed") throw new Error(`import ${row.status}: ${row.error}`);
  await handle.close();
  process.stdout.write(
    `${JSON.stringify({
      ms,
      parseMs: mergeStarted - started,
      mergeMs: performance.now() - mergeStarted,
      nodeCpuMs: (cpu.user + cpu.system) / 1000,
      inserted: row.inserted,
      rejected: row.rejected,
      updated: row.updated,
      merged: row.merged_duplicates,
      maxRssMb: maxRssMb(),
    })}\n`,
  );
}
