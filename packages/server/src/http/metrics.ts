/**
 * `GET /metrics` (Prometheus text format) on every role's HTTP server, and the request-duration
 * histogram behind it. With METRICS_TOKEN set the scraper sends `Authorization: Bearer <token>`; without
 * it only this machine may read (the connection's own address, never X-Forwarded-For). Not logged, and
 * not in the OpenAPI document.
 */
import { timingSafeEqual } from "node:crypto";
import { httpDuration, readGaugesFrom, registry } from "@omneural/core/ops/metrics";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

function allowed(request: FastifyRequest, token: string | undefined): boolean {
  if (!token) return LOOPBACK.test(request.socket.remoteAddress ?? "");
  const sent = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1] ?? "";
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function serveMetrics(request: FastifyRequest, reply: FastifyReply, token: string | undefined) {
  if (!allowed(request, token)) {
    // Not found rather than forbidden: nothing to learn about the endpoint from outside.
    return reply.code(404).type("text/plain; charset=utf-8").send("Not found\n");
  }
  return reply
    .type(registry.contentType)
    .header("cache-control", "no-store")
    .send(await registry.metrics());
}

export function installMetrics(app: FastifyInstance) {
  readGaugesFrom(app.deps.database.db);
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === "/metrics") return;
    httpDuration.observe(
      // Unmatched paths share one label: a scanner's random URLs must not grow the series.
      { method: request.method, route: route ?? "(unmatched)", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get("/metrics", { schema: { hide: true }, logLevel: "warn" }, (request, reply) =>
    serveMetrics(request, reply, app.deps.config.metricsToken),
  );
}
