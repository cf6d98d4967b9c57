/** Liveness and readiness probes. */
import { pendingMigrations } from "@omneural/core/db/migrate";
import type { FastifyInstance } from "fastify";

export async function healthRoutes(app: FastifyInstance) {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    try {
      const pending = await pendingMigrations((sql) => app.deps.database.pool.query(sql));
      if (pending.length) return reply.code(503).send({ status: "migrations pending", pending });
      return { status: "ready" };
    } catch (error) {
      return reply.code(503).send({ status: "database unreachable", detail: (error as Error).message });
    }
  });
}
