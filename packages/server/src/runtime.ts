/**
 * Opens the database for a command: the one in DATABASE_URL, or the embedded cluster of the data
 * directory (started, attached to, or adopted), then migrates it.
 */
import type { Config } from "@omneural/core/config/config";
import { adminQuery } from "@omneural/core/db/admin";
import { type DatabaseHandle, openDatabase } from "@omneural/core/db/database";
import { type EmbeddedCluster, openEmbeddedCluster, withDatabase } from "@omneural/core/db/embedded-cluster";
import { migrate, migrateJobQueue } from "@omneural/core/db/migrate";
import { deriveKeys, type Keys, resolveSecret } from "@omneural/core/security/keys";
import { type Logger, redactUrl } from "@omneural/core/shared/logger";

export const EMBEDDED_DATABASE = "omneural";

export interface Runtime {
  database: DatabaseHandle;
  keys: Keys;
  cluster: EmbeddedCluster | undefined;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  /** `omneural start`: owns the embedded cluster and stops it on exit. */
  own?: boolean;
  /** Start the embedded cluster when it is not running (one-off commands do, roles do not). */
  startIfStopped?: boolean;
  migrate?: boolean;
  poolSize?: number;
  applicationName?: string;
}

async function ensureDatabase(serverUrl: string, name: string) {
  const exists = await adminQuery(serverUrl, "select 1 from pg_database where datname = $1", [name]);
  if (!exists.rowCount) await adminQuery(serverUrl, `create database ${name}`);
}

export async function openRuntime(
  config: Config,
  log: Logger,
  options: OpenRuntimeOptions = {},
): Promise<Runtime> {
  let cluster: EmbeddedCluster | undefined;
  let url = config.databaseUrl;
  if (!url) {
    cluster = await openEmbeddedCluster({
      dataDir: config.dataDir,
      own: options.own ?? false,
      startIfStopped: options.startIfStopped ?? true,
      log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
    });
    await ensureDatabase(cluster.url, EMBEDDED_DATABASE);
    url = withDatabase(cluster.url, EMBEDDED_DATABASE);
    log.debug(
      { port: cluster.port, dataDir: config.dataDir, owned: cluster.owned },
      "embedded PostgreSQL ready",
    );
  } else {
    log.debug({ database: redactUrl(url) }, "using DATABASE_URL");
  }
  try {
    if (options.migrate ?? true) {
      const result = await migrate(url);
      await migrateJobQueue(url);
      if (result.applied.length) log.info({ applied: result.applied }, "database migrated");
    }
  } catch (error) {
    await cluster?.stop();
    throw error;
  }
  const database = openDatabase(url, {
    poolSize: options.poolSize ?? config.databasePoolSize,
    applicationName: options.applicationName,
  });
  return {
    database,
    keys: deriveKeys(resolveSecret(config.secretKey, config.dataDir)),
    cluster,
    async close() {
      await database.close();
      await cluster?.stop();
    },
  };
}
