/** Runs one import in its own process (for the crash test): prints "progress <rows>" as it goes. */
import { openDatabase } from "../db/database.ts";
import { processImport } from "../imports/import.service.ts";

const [url, workspaceId, importId] = process.argv.slice(2) as [string, string, string];
const handle = openDatabase(url, { poolSize: 4 });
await processImport(handle, workspaceId, importId, {
  onProgress: (p) => process.stdout.write(`progress ${p.phase} ${p.rows}\n`),
});
process.stdout.write("done\n");
await handle.close();
