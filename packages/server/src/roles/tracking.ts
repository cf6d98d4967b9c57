/**
 * The tracking role: the tracking endpoints (pixel, clicks, short links, PURLs, unsubscribe), the
 * provider webhooks (/hooks) and /healthz, for scale-out (`omneural tracking`). `omneural start` and `omneural api` serve the same
 * endpoints in their HTTP server (roles/api.ts).
 *
 * Whichever role serves them owns the response ingest writer: the endpoints hand it responses, it writes
 * them in batches (to a spool in `<dataDir>/spool` while the database is away), and it is closed (its
 * buffer written or spooled) after the HTTP server has stopped taking requests.
 */
import path from "node:path";
import type { Config } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import { createResponseIngest } from "@omneural/core/responses/ingest";
import type { Keys } from "@omneural/core/security/keys";
import type { Logger } from "@omneural/core/shared/logger";
import type { FastifyInstance } from "fastify";
import type { BuildAppOptions } from "../http/app.ts";
import { buildTrackingApp } from "../http/tracking/app.ts";

export interface HttpRole {
  app: FastifyInstance;
  /** Stops taking requests, then writes (or spools) what the ingest writer still holds. */
  stop(): Promise<void>;
}

export function openResponseIngest(config: Config, database: DatabaseHandle, log: Logger) {
  return createResponseIngest(database.db, {
    spoolDir: path.join(config.dataDir, "spool"),
    logger: log.child({ role: "ingest" }),
  });
}

/** Serves an app built by `build` with its own response ingest; `stop` closes the app, then the ingest. */
export async function startHttpRole(
  config: Config,
  database: DatabaseHandle,
  keys: Keys,
  log: Logger,
  role: { name: string; jobsEnabled: boolean; build: (options: BuildAppOptions) => Promise<FastifyInstance> },
): Promise<HttpRole> {
  const responses = openResponseIngest(config, database, log);
  const app = await role.build({
    deps: { config, database, jobsEnabled: role.jobsEnabled, keys, responses },
    logger: log.child({ role: role.name }),
  });
  await app.listen({ host: config.host, port: config.port });
  return {
    app,
    async stop() {
      await app.close();
      await responses.close();
    },
  };
}

export function startTracking(config: Config, database: DatabaseHandle, keys: Keys, log: Logger) {
  return startHttpRole(config, database, keys, log, {
    name: "tracking",
    jobsEnabled: false,
    build: buildTrackingApp,
  });
}
