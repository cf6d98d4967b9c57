/**
 * The tracking role's HTTP app (`omneural tracking`): everything recipients and providers call — the
 * tracking endpoints, the provider webhooks under /hooks — and /healthz; nothing of the API. No /readyz:
 * a tracking process keeps answering (and spooling) while the database is away, so a load balancer
 * should not take it out of rotation for that.
 */
import type { FastifyInstance } from "fastify";
import { type BuildAppOptions, createServer } from "../app.ts";
import { providerHookRoutes } from "../hooks/hooks.ts";
import { trackingRoutes } from "./routes.ts";

export async function buildTrackingApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app = createServer(options);
  app.get("/healthz", async () => ({ status: "ok" }));
  await app.register(trackingRoutes);
  await app.register(providerHookRoutes, { prefix: "/hooks" });
  return app;
}
