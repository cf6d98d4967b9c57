/**
 * `POST /hooks/twilio/inbound` (a Twilio number's "A message comes in" webhook) and
 * `POST /hooks/twilio/status` (the status callback the dispatcher registers with every SMS). Both are
 * form posts signed with `X-Twilio-Signature` over PUBLIC_URL + path + query and the parameters.
 */
import { authTokenOfTwilioUrl, parseForm } from "@omneural/core/responses/inbound-sms";
import {
  type Refusal,
  receiveInboundSms,
  receiveSmsStatus,
  type TwilioHookDeps,
  type TwilioHookRequest,
} from "@omneural/core/responses/inbound-sms.service";
import { AppError } from "@omneural/core/shared/errors";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** Twilio's posts are a few kilobytes; anything above this is not one. */
export const TWILIO_BODY_LIMIT = 64 * 1024;

export async function twilioHookRoutes(app: FastifyInstance) {
  const { deps } = app;
  const publicUrl = deps.config.publicUrl.replace(/\/+$/, "");
  const hookDeps: TwilioHookDeps = {
    db: deps.database.db,
    credentialsKey: deps.keys.credentials,
    installationAuthToken: authTokenOfTwilioUrl(deps.config.twilioUrl),
    responses: deps.responses,
  };

  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => done(null, body),
  );

  /** The request as Twilio signed it; a body that is not a well-formed form is a 400. */
  function twilioRequest(request: FastifyRequest): TwilioHookRequest {
    if (typeof request.body !== "string") {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Twilio webhooks are application/x-www-form-urlencoded");
    }
    const form = parseForm(request.body);
    if (!form.ok) throw new AppError("VALIDATION_FAILED", form.reason);
    const signature = request.headers["x-twilio-signature"];
    return {
      url: publicUrl + request.url,
      params: form.params,
      signature: typeof signature === "string" ? signature : undefined,
    };
  }

  function refuse(request: FastifyRequest, refusal: Refusal): never {
    // Who was asked about and why, never a token or the signature itself.
    request.log.warn(
      { hook: request.routeOptions.url, workspaceIds: refusal.workspaceIds, reason: refusal.reason },
      `refused a Twilio webhook: ${refusal.reason}`,
    );
    throw new AppError(
      "WEBHOOK_SIGNATURE_INVALID",
      "The request's X-Twilio-Signature is missing or not valid",
    );
  }

  app.post("/inbound", { bodyLimit: TWILIO_BODY_LIMIT, schema: { hide: true } }, async (request, reply) => {
    const result = await receiveInboundSms(hookDeps, twilioRequest(request));
    switch (result.kind) {
      case "malformed":
        throw new AppError("VALIDATION_FAILED", result.reason);
      case "unknown_number":
        throw new AppError("NOT_FOUND", `No workspace sends SMS from ${result.to}`);
      case "refused":
        return refuse(request, result);
      case "answered":
        request.log.info({ workspaceId: result.workspaceId, action: result.action }, "inbound SMS");
        return reply.type("text/xml; charset=utf-8").send(result.twiml);
    }
  });

  app.post("/status", { bodyLimit: TWILIO_BODY_LIMIT, schema: { hide: true } }, async (request, reply) => {
    const result = await receiveSmsStatus(hookDeps, twilioRequest(request));
    switch (result.kind) {
      case "malformed":
        throw new AppError("VALIDATION_FAILED", result.reason);
      case "unknown_message":
        throw new AppError("NOT_FOUND", `No message has the sid ${result.messageSid}`);
      case "refused":
        return refuse(request, result);
      case "ignored":
        request.log.debug({ reason: result.reason }, "Twilio status callback ignored");
        return reply.code(204).send();
      case "recorded":
        request.log.info(
          { workspaceId: result.workspaceId, messageId: result.messageId, status: result.status },
          "SMS delivery status",
        );
        return reply.code(204).send();
    }
  });
}
