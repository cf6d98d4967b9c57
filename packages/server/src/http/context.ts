/** What every request handler can reach: the database, config, and the caller's workspace. */

import type { SharedCache } from "@omneural/core/cache/cache";
import type { Config } from "@omneural/core/config/config";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { DatabaseHandle } from "@omneural/core/db/database";
import type { ResponseSink } from "@omneural/core/responses/response";
import type { Keys } from "@omneural/core/security/keys";
import type { Actor } from "@omneural/core/users/user";

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  /** Whether the job queue's schema is present (false only in odd deployments); imports need it. */
  jobsEnabled: boolean;
  /** Link-signing and credential keys (see security/keys.ts). */
  keys: Keys;
  /**
   * Where the tracking endpoints and webhooks hand responses (opens, clicks, unsubscribes …): the
   * buffered ingest writer, which answers at once and writes in batches (responses/ingest.ts).
   */
  responses: ResponseSink;
  /**
   * A read-only replica campaign reports are read from (DATABASE_REPLICA_URL); buildApp opens one from
   * the config when absent. Unset: reports read `database`.
   */
  reportsDatabase?: DatabaseHandle;
  /** The shared cache (core cache/cache.ts); createServer makes one from the config when absent. */
  cache?: SharedCache;
}

declare module "fastify" {
  interface FastifyInstance {
    deps: AppDeps;
  }
  interface FastifyRequest {
    workspace: WorkspaceContext;
    /** The API key's id, or `user:<id>` for a signed-in member: what audit columns record as the actor. */
    apiKeyId: string;
    /** Who the /api/v1 request acts for: an API key (full rights) or a member with their role. */
    actor: Actor;
  }
}
