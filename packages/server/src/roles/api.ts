/** The API role: the HTTP server (the API under /api/v1 and the tracking endpoints at the root). */
import type { Config } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import type { Keys } from "@omneural/core/security/keys";
import type { Logger } from "@omneural/core/shared/logger";
import { buildApp } from "../http/app.ts";
import { startHttpRole } from "./tracking.ts";

export function startApi(config: Config, database: DatabaseHandle, keys: Keys, log: Logger) {
  return startHttpRole(config, database, keys, log, { name: "api", jobsEnabled: true, build: buildApp });
}
