/**
 * Provider webhooks, served at `/hooks` (docs/responses.md "Inbound SMS and provider webhooks"): Twilio's
 * inbound messages and status callbacks, and email bounces and complaints. No API key: Twilio's request
 * signature, or the workspace's signed token in the URL, is the credential. Not in the OpenAPI document:
 * providers call these, not API clients.
 */
import type { FastifyInstance } from "fastify";
import { emailHookRoutes } from "./email-hooks.ts";
import { twilioHookRoutes } from "./twilio-hooks.ts";

export async function providerHookRoutes(app: FastifyInstance) {
  await app.register(twilioHookRoutes, { prefix: "/twilio" });
  await app.register(emailHookRoutes, { prefix: "/email" });
}
