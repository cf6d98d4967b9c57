/**
 * The response spool: where the ingest keeps responses while the database cannot take them. Append-only
 * files of JSON lines (one `ResponseInput` a line), each append fsync'd before it counts as kept.
 *
 * Files are named `responses-<ms since epoch>-<pid>-<seq>.jsonl`, so name order is age order. A process
 * appends only to its own current file; it replays its own other files and those of processes that are
 * gone (a crash, a restart), which it first takes over by renaming them to its pid (a rename is atomic,
 * so two processes sharing the directory never replay the same file). A file is deleted only after all
 * its responses are committed; replaying one twice is harmless, responses being recorded once by id.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import type { ResponseInput } from "./response.ts";

/** A file grows to about this size before the next append starts a new one. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const NAME = /^responses-(\d+)-(\d+)-(\d+)\.jsonl$/;

/** Files this process is appending to, whichever spool instance (tests run several in one process). */
const appending = new Set<string>();
let sequence = 0;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function newFileName(): string {
  sequence++;
  return `responses-${String(Date.now()).padStart(15, "0")}-${process.pid}-${String(sequence).padStart(6, "0")}.jsonl`;
}

/** The responses as JSON lines; one that JSON cannot carry (a BigInt, a cycle) is left out. */
function toLines(responses: ResponseInput[]): { data: string; skipped: number } {
  let data = "";
  let skipped = 0;
  for (const response of responses) {
    try {
      data += `${JSON.stringify(response)}\n`;
    } catch {
      skipped++;
    }
  }
  return { data, skipped };
}

/** A line back into a response; null for a line that is not one (a torn last line after a crash). */
export function parseSpoolLine(line: string): ResponseInput | null {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (!value || typeof value !== "object" || typeof value.id !== "string" || typeof value.at !== "string")
      return null;
    return { ...(value as unknown as ResponseInput), at: new Date(value.at) };
  } catch {
    return null;
  }
}

export interface Spool {
  readonly dir: string;
  /**
   * Appends and fsyncs; resolves once the responses are on disk, with how many could not be written
   * (not serialisable as JSON).
   */
  append(responses: ResponseInput[]): Promise<number>;
  /** The same, synchronously, for a response recorded after the ingest was closed. */
  appendSync(responses: ResponseInput[]): number;
  /**
   * Closes the current file (later appends start a new one) and returns the files to replay, oldest
   * first: this process's and those of processes that are gone, taken over.
   */
  takeReplayable(): Promise<string[]>;
  /** The responses of a file in batches of `size`; `onBadLine` for each line that is not one. */
  read(file: string, size: number, onBadLine: () => void): AsyncGenerator<ResponseInput[]>;
  /** Deletes a replayed file. */
  remove(file: string): Promise<void>;
  close(): Promise<void>;
}

export function openSpool(dir: string): Spool {
  fs.mkdirSync(dir, { recursive: true });
  let current: { file: string; handle: fsp.FileHandle; bytes: number } | undefined;
  // Appends are serialised: each is one write and one fsync of the current file.
  let tail: Promise<unknown> = Promise.resolve();

  const syncDir = async () => {
    const handle = await fsp.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  };

  const closeCurrent = async () => {
    if (!current) return;
    const { file, handle } = current;
    current = undefined;
    await handle.close();
    appending.delete(file);
  };

  const appendNow = async (responses: ResponseInput[]): Promise<number> => {
    const { data, skipped } = toLines(responses);
    if (!data) return skipped;
    if (current && current.bytes >= MAX_FILE_BYTES) await closeCurrent();
    if (!current) {
      const file = path.join(dir, newFileName());
      appending.add(file);
      try {
        current = { file, handle: await fsp.open(file, "a"), bytes: 0 };
        await syncDir(); // the new name must survive a crash too
      } catch (error) {
        appending.delete(file);
        current = undefined;
        throw error;
      }
    }
    await current.handle.write(data);
    await current.handle.sync();
    current.bytes += Buffer.byteLength(data);
    return skipped;
  };

  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };

  return {
    dir,
    append: (responses) => serialised(() => appendNow(responses)),
    appendSync(responses) {
      const { data, skipped } = toLines(responses);
      if (!data) return skipped;
      const file = path.join(dir, newFileName());
      const fd = fs.openSync(file, "a");
      try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return skipped;
    },
    takeReplayable: () =>
      serialised(async () => {
        await closeCurrent();
        const files: string[] = [];
        for (const name of (await fsp.readdir(dir)).sort()) {
          const match = NAME.exec(name);
          if (!match) continue;
          const file = path.join(dir, name);
          if (appending.has(file)) continue; // another spool of this process is writing it
          const pid = Number(match[2]);
          if (pid === process.pid) {
            files.push(file);
          } else if (!isAlive(pid)) {
            // Same age, our pid and a sequence number of ours: a name no other file has.
            sequence++;
            const mine = path.join(
              dir,
              `responses-${match[1]}-${process.pid}-${String(sequence).padStart(6, "0")}.jsonl`,
            );
            try {
              await fsp.rename(file, mine);
              files.push(mine);
            } catch (error) {
              // Another process took it over first.
              if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
            }
          }
        }
        return files;
      }),
    async *read(file, size, onBadLine) {
      const input = fs.createReadStream(file, { encoding: "utf8" });
      const lines = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      try {
        let batch: ResponseInput[] = [];
        for await (const line of lines) {
          if (line.trim() === "") continue;
          const response = parseSpoolLine(line);
          if (!response) {
            onBadLine();
            continue;
          }
          batch.push(response);
          if (batch.length >= size) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length) yield batch;
      } finally {
        // Also when the reader stops half-way (the database went away again).
        lines.close();
        input.destroy();
      }
    },
    async remove(file) {
      await fsp.rm(file, { force: true });
    },
    close: () => serialised(closeCurrent),
  };
}
