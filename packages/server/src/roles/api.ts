/** The API role: the HTTP server. */
import type { Config } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import type { Keys } from "@omneural/core/security/keys";
import type { Logger } from "@omneural/core/shared/logger";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../http/app.ts";

export async function startApi(
  config: Config,
  database: DatabaseHandle,
  keys: Keys,
  log: Logger,
): Promise<FastifyInstance> {
  const app = await buildApp({
    deps: { config, database, jobsEnabled: true, keys },
    logger: log.child({ role: "api" }),
  });
  await app.listen({ host: config.host, port: config.port });
  return app;
}
