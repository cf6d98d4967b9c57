/**
 * Runs an import in a worker thread with a bounded heap, so that a million-row file neither blocks the
 * process's event loop (the API keeps answering in `omneural start`) nor pushes its memory past a few
 * hundred megabytes.
 */
import { Worker } from "node:worker_threads";
import type { ImportProgress } from "./import.service.ts";
import { workerIdentity } from "./import.service.ts";

export interface RunImportOptions {
  onProgress?: (progress: ImportProgress) => void;
  /** Heap limit of the import thread, in MB. */
  maxHeapMb?: number;
  /** Keys.tombstones, handed to the thread (see ProcessImportOptions). */
  tombstoneKey?: Buffer | undefined;
}

type ThreadMessage =
  | { kind: "progress"; progress: ImportProgress }
  | { kind: "done"; processed: boolean }
  | { kind: "error"; message: string; code?: string; stack?: string };

/** Resolves true when the import was processed (completed or failed), false when another worker had it. */
export function runImportInThread(
  url: string,
  workspaceId: string,
  importId: string,
  options: RunImportOptions = {},
): Promise<boolean> {
  // The .mjs entry registers the TypeScript loader in the thread, as bin/omneural.js does for the process.
  const worker = new Worker(new URL("./import-thread.mjs", import.meta.url), {
    workerData: {
      url,
      workspaceId,
      importId,
      lockedBy: workerIdentity(),
      tombstoneKey: options.tombstoneKey,
    },
    resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 96, maxYoungGenerationSizeMb: 16 },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    worker.on("message", (message: ThreadMessage) => {
      if (message.kind === "progress") options.onProgress?.(message.progress);
      else if (message.kind === "done") {
        settled = true;
        resolve(message.processed);
      } else {
        settled = true;
        const error = new Error(message.message) as Error & { code?: string };
        error.code = message.code;
        if (message.stack) error.stack = message.stack;
        reject(error);
      }
    });
    worker.on("error", (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    worker.on("exit", (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`the import thread stopped unexpectedly (exit code ${code})`));
      }
    });
  });
}
