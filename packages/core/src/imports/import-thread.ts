/**
 * Entry point of the worker thread that runs one import (see import-runner.ts). Parsing a large CSV is
 * CPU work: in its own thread it neither stalls the API's event loop nor grows the main heap.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../db/database.ts";
import { processImport } from "./import.service.ts";

interface ImportThreadData {
  url: string;
  workspaceId: string;
  importId: string;
  lockedBy: string;
  /** Arrives as a Uint8Array (structured clone). */
  tombstoneKey?: Uint8Array;
}

const data = workerData as ImportThreadData;
const handle = openDatabase(data.url, { poolSize: 4, applicationName: "omneural-import" });
try {
  const processed = await processImport(handle, data.workspaceId, data.importId, {
    lockedBy: data.lockedBy,
    tombstoneKey: data.tombstoneKey ? Buffer.from(data.tombstoneKey) : undefined,
    onProgress: (progress) => parentPort!.postMessage({ kind: "progress", progress }),
  });
  parentPort!.postMessage({ kind: "done", processed });
} catch (error) {
  const e = error as Error & { code?: string };
  parentPort!.postMessage({ kind: "error", message: e.message, code: e.code, stack: e.stack });
} finally {
  await handle.close();
}
