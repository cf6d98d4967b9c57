/**
 * The loop of a worker-role component: run a pass, run the next at once while passes find work, sleep
 * `idleMs` when one finds none, and on an error (PostgreSQL restarting, a lost connection) log it and
 * retry with exponential backoff. Nothing is lost by an error: work that was not committed is simply
 * found again by a later pass.
 */
import type { Logger } from "./logger.ts";

export interface PollLoop {
  /** Finishes the pass in progress, then stops. */
  stop(): Promise<void>;
  /** Resolves after the next pass that found nothing to do (or on stop). */
  idle(): Promise<void>;
}

export function startPollLoop(options: {
  name: string;
  /** One pass; returns whether it found work. */
  pass: (stopping: () => boolean) => Promise<boolean>;
  idleMs: number;
  maxBackoffMs?: number;
  logger?: Logger | undefined;
}): PollLoop {
  let stopping = false;
  let wake: (() => void) | undefined;
  const idleWaiters: (() => void)[] = [];
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = async () => {
    let backoff = 250;
    while (!stopping) {
      try {
        const worked = await options.pass(() => stopping);
        backoff = 250;
        if (!worked) {
          for (const resolve of idleWaiters.splice(0)) resolve();
          await sleep(options.idleMs);
        }
      } catch (error) {
        options.logger?.warn({ err: error }, `${options.name}: pass failed; retrying`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5000);
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      stopping = true;
      wake?.();
      for (const resolve of idleWaiters.splice(0)) resolve();
      await running;
    },
    idle() {
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
