/** The API role: the HTTP server (the API under /api/v1 and the tracking endpoints at the root). */
import type { Config } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import type { Keys } from "@omneural/core/security/keys";
import type { Logger } from "@omneural/core/shared/logger";
import { buildApp } from "../http/app.ts";
import { type HttpRole, openResponseIngest } from "./tracking.ts";

export async function startApi(
  config: Config,
  database: DatabaseHandle,
  keys: Keys,
  log: Logger,
): Promise<HttpRole> {
  const responses = openResponseIngest(config, database, log);
  const app = await buildApp({
    deps: { config, database, jobsEnabled: true, keys, responses },
    logger: log.child({ role: "api" }),
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
