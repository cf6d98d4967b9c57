/**
 * The Redis tests use: REDIS_URL, or one on 127.0.0.1:6379 (CI has one). `requireRedis` probes it once
 * per test file and, when there is none, says so loudly: the tests that need it are skipped, never
 * silently.
 */
import { Redis } from "ioredis";

export const TEST_REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Whether the test Redis answers; warns on stderr when it does not, naming what is skipped. */
export async function requireRedis(skipped: string): Promise<boolean> {
  const probe = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    console.warn(
      `\n*** REDIS NOT AVAILABLE at ${TEST_REDIS_URL}: ${skipped} SKIPPED. Start redis-server or set REDIS_URL to run them. ***\n`,
    );
    return false;
  } finally {
    probe.disconnect();
  }
}
