/**
 * The response ingest: the `ResponseSink` the tracking endpoints and webhooks hand responses to.
 *
 *   record() ──▶ buffer ──flush loop, every flushIntervalMs or at maxBatch──▶ writeResponses (one
 *                  │                                                         transaction per batch)
 *                  │ the database is unavailable: the batch goes to
 *                  ▼ the spool and the loop backs off (250 ms … maxBackoffMs)
 *                spool files ──replayed oldest first once the database answers──▶ writeResponses,
 *                                                   each file deleted after all its rows committed
 *
 * `record` never waits and never throws. Responses are recorded exactly once whatever is replayed: the
 * response's id is its event's id. A batch that fails for another reason than the database being away
 * (a response the database refuses) is split in halves until the responses at fault are found; those
 * are dropped and logged, never retried forever. A process that starts with spool files of a process
 * that is gone replays them. What is only in the buffer (at most one interval's worth) is lost if the
 * process is killed with SIGKILL; `close()` writes or spools it.
 */
import type { Db } from "../db/database.ts";
import type { Logger } from "../shared/logger.ts";
import { writeResponses } from "./response.service.ts";
import type { ResponseInput, ResponseSink } from "./response.ts";
import { openSpool } from "./spool.ts";

export interface ResponseIngestOptions {
  /** Where responses are kept while the database is unavailable (created if missing). Required. */
  spoolDir: string;
  logger?: Logger | undefined;
  /** How often the buffer is written. Default 100 ms. */
  flushIntervalMs?: number;
  /** Responses per transaction; a buffer this full is written at once. Default 500. */
  maxBatch?: number;
  /** Beyond this many buffered responses (the database is slower than the traffic) the rest is spooled. Default 50,000. */
  maxBuffered?: number;
  /** The longest wait between attempts while the database is unavailable. Default 5,000 ms. */
  maxBackoffMs?: number;
  /** The clock of the writes (when woken enrollments become due). Default: the system clock. */
  now?: () => Date;
}

export interface ResponseIngestStats {
  /** Responses handed to `record`. */
  received: number;
  /** In memory, not yet written or spooled. */
  buffered: number;
  /** Events written. */
  recorded: number;
  /** Responses recorded before (a replay), or repeated. */
  duplicates: number;
  /** Responses whose message and contact do not exist (any more), or malformed. */
  dropped: number;
  /** Responses the database refused (logged). */
  failed: number;
  /** Responses appended to the spool. */
  spooled: number;
  /** Spool lines that were not responses (a torn last line after a crash). */
  badSpoolLines: number;
  /** Spool files replayed and deleted. */
  replayedFiles: number;
  databaseAvailable: boolean;
}

export interface ResponseIngest extends ResponseSink {
  /** Writes what is buffered and replays the spool now (trying the database even while backing off). */
  flush(): Promise<void>;
  /** Stops the loop and writes the buffer, or spools it if the database is unavailable. */
  close(): Promise<void>;
  stats(): ResponseIngestStats;
}

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Whether an error means the database cannot take writes now (down, restarting, unreachable,
 * overloaded, or a deadlock) rather than that something in the batch is wrong.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = String((error as { code?: unknown } | null)?.code ?? "");
  return (
    TRANSIENT_CODES.has(code) ||
    code.startsWith("08") || // connection exception
    code.startsWith("53") || // insufficient resources (too many connections, disk full)
    code.startsWith("57P") || // shutting down, crashed, starting up
    code === "40001" ||
    code === "40P01" ||
    code === "25006" || // a read-only standby (a failover in progress)
    // The pool was closed under us (a shutdown in the wrong order): keep the responses, do not drop them.
    /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed|after calling end on the pool|driver has already been destroyed/i.test(
      String((error as Error | null)?.message ?? ""),
    )
  );
}

export function createResponseIngest(db: Db, options: ResponseIngestOptions): ResponseIngest {
  const log = options.logger;
  const flushIntervalMs = options.flushIntervalMs ?? 100;
  const maxBatch = options.maxBatch ?? 500;
  const maxBuffered = options.maxBuffered ?? 50_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const now = options.now ?? (() => new Date());
  const spool = openSpool(options.spoolDir);
  const stats: Omit<ResponseIngestStats, "buffered"> = {
    received: 0,
    recorded: 0,
    duplicates: 0,
    dropped: 0,
    failed: 0,
    spooled: 0,
    badSpoolLines: 0,
    replayedFiles: 0,
    databaseAvailable: true,
  };
  let buffer: ResponseInput[] = [];
  let closed = false;
  let backoffMs = 250;
  let retryAt = 0;
  // The spool may hold files of an earlier process until a replay has looked.
  let spoolPending = true;

  /** Writes one batch; false when the database is unavailable (then nothing of it may have been kept). */
  const writeBatch = async (batch: ResponseInput[]): Promise<boolean> => {
    try {
      const r = await writeResponses(db, batch, now());
      stats.recorded += r.recorded;
      stats.duplicates += r.duplicates;
      stats.dropped += r.dropped;
      return true;
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        if (stats.databaseAvailable)
          log?.warn({ err: error }, "responses: the database is unavailable; spooling");
        return false;
      }
      if (batch.length === 1) {
        stats.failed++;
        log?.error({ err: error, response: batch[0] }, "responses: the database refused a response; dropped");
        return true;
      }
      // Find the response at fault: the halves that are fine are written.
      const half = Math.ceil(batch.length / 2);
      return (await writeBatch(batch.slice(0, half))) && writeBatch(batch.slice(half));
    }
  };

  const databaseDown = () => {
    stats.databaseAvailable = false;
    retryAt = Date.now() + backoffMs;
    backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
  };

  const databaseUp = () => {
    if (!stats.databaseAvailable) log?.info("responses: the database is back");
    stats.databaseAvailable = true;
    backoffMs = 250;
  };

  /** Moves responses to the spool; if even the disk fails, they go back to the buffer's front. */
  const toSpool = async (responses: ResponseInput[]) => {
    if (!responses.length) return;
    try {
      const skipped = await spool.append(responses);
      stats.spooled += responses.length - skipped;
      stats.failed += skipped;
      if (skipped) log?.error({ count: skipped }, "responses: not serialisable as JSON; dropped");
      spoolPending = true;
    } catch (error) {
      log?.error({ err: error, dir: spool.dir }, "responses: cannot write the spool; keeping them in memory");
      buffer = responses.concat(buffer);
      throw error;
    }
  };

  /** Replays the spool oldest first; false when the database became unavailable on the way. */
  const replay = async (): Promise<boolean> => {
    if (!spoolPending) return true;
    // Appends from here on go to a new file and set this again: the next pass replays them.
    spoolPending = false;
    try {
      for (const file of await spool.takeReplayable()) {
        for await (const batch of spool.read(file, maxBatch, () => stats.badSpoolLines++)) {
          if (!(await writeBatch(batch))) {
            spoolPending = true;
            return false;
          }
          // Traffic goes on during a long replay: keep memory bounded.
          if (buffer.length > maxBuffered) await toSpool(buffer.splice(maxBatch));
        }
        await spool.remove(file);
        stats.replayedFiles++;
        log?.info({ file }, "responses: spool file replayed");
      }
    } catch (error) {
      spoolPending = true; // the files are still there: the next pass tries again
      throw error;
    }
    return true;
  };

  /** One pass: everything buffered is written, or spooled while the database is unavailable. */
  const pass = async (force: boolean) => {
    if (!force && !stats.databaseAvailable && Date.now() < retryAt) {
      await toSpool(buffer.splice(0));
      return;
    }
    if (!(await replay())) {
      databaseDown();
      await toSpool(buffer.splice(0));
      return;
    }
    while (buffer.length) {
      if (buffer.length > maxBuffered) await toSpool(buffer.splice(maxBatch));
      const batch = buffer.splice(0, maxBatch);
      if (!(await writeBatch(batch))) {
        databaseDown();
        await toSpool(batch.concat(buffer.splice(0)));
        return;
      }
    }
    databaseUp();
  };

  // Passes never overlap: each runs after the one before it.
  let chain: Promise<void> = Promise.resolve();
  const runPass = (force: boolean): Promise<void> => {
    const run = chain.then(() => pass(force));
    chain = run.catch((error) => {
      log?.error({ err: error }, "responses: flush failed; retrying");
    });
    return run;
  };

  let timer: NodeJS.Timeout | undefined;
  let passRunning = false;
  const schedule = (ms: number) => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(onTimer, ms);
    timer.unref();
  };
  function onTimer() {
    timer = undefined;
    passRunning = true;
    void runPass(false)
      .catch(() => undefined)
      .finally(() => {
        passRunning = false;
        schedule(buffer.length >= maxBatch ? 0 : flushIntervalMs);
      });
  }
  schedule(0); // replay what an earlier process left at once

  return {
    record(response) {
      stats.received++;
      if (closed) {
        // Late (a request that was still running): straight to the spool, for the next process.
        try {
          if (spool.appendSync([response])) stats.failed++;
          else stats.spooled++;
        } catch (error) {
          log?.error({ err: error, response }, "responses: recorded after close and cannot be spooled");
        }
        return;
      }
      buffer.push(response);
      if (buffer.length === maxBatch && !passRunning) schedule(0);
    },
    flush: () => runPass(true),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
      // Write what is left, unless the database is known to be away: then straight to the spool.
      const last = chain.then(async () => {
        if (!stats.databaseAvailable) {
          await toSpool(buffer.splice(0));
          return;
        }
        while (buffer.length) {
          const batch = buffer.splice(0, maxBatch);
          if (!(await writeBatch(batch))) {
            databaseDown();
            await toSpool(batch.concat(buffer.splice(0)));
          }
        }
      });
      chain = last.catch(() => undefined);
      try {
        await last;
      } finally {
        await spool.close();
      }
    },
    stats: () => ({ ...stats, buffered: buffer.length }),
  };
}
