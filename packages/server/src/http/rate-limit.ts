/**
 * Abuse limits of the API: `API_RATE_LIMIT` requests a minute per credential (an API key or a session,
 * told apart by a hash of the token, so the limit is per key, not per address behind a shared NAT), or
 * per address for requests without one. Counted in Redis when REDIS_URL is set, so every API process
 * shares one count; if Redis fails the request goes through (an outage must not take the API down).
 * The tracking endpoints are not limited here: they answer recipients and providers, in bursts.
 */
import { createHash } from "node:crypto";
import fastifyRateLimit from "@fastify/rate-limit";
import { AppError } from "@omneural/core/shared/errors";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import { SESSION_COOKIE } from "./auth.ts";

function credentialOf(request: FastifyRequest): string {
  const bearer = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? "")?.[1];
  const session = request.cookies?.[SESSION_COOKIE];
  const token = bearer ?? session;
  if (!token) return `ip:${request.ip}`;
  return `${bearer ? "key" : "session"}:${createHash("sha256").update(token).digest("base64url").slice(0, 22)}`;
}

/** Registers the limiter (not applied yet); returns the hook that applies it, or undefined when off. */
export async function installRateLimit(app: FastifyInstance) {
  const { apiRateLimit, redisUrl } = app.deps.config;
  if (apiRateLimit === 0) return undefined;
  const redis = redisUrl
    ? new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 })
    : undefined;
  redis?.on("error", () => undefined);
  if (redis) app.addHook("onClose", async () => redis.disconnect());
  await app.register(fastifyRateLimit, {
    global: false,
    max: apiRateLimit,
    timeWindow: 60_000,
    keyGenerator: credentialOf,
    nameSpace: "omneural:api-rate:",
    ...(redis ? { redis, skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) =>
      new AppError(
        "RATE_LIMITED",
        `More than ${context.max} requests in a minute from this ${context.ban ? "client" : "API key, session or address"}: retry in ${context.after}.`,
      ),
  });
  return app.rateLimit();
}
