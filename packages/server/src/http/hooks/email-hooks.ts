/**
 * `POST /hooks/email/:token`: bounces and complaints from the workspace's email provider, in the generic
 * JSON format, as Amazon SES notifications through SNS, or as SendGrid's Event Webhook. The token (see
 * `GET /api/v1/workspace/hooks`) names the workspace and is signed, so no one else can post for it.
 */
import { parseEmailFeedback, readEmailHookToken } from "@omneural/core/responses/email-feedback";
import { receiveEmailFeedback } from "@omneural/core/responses/email-feedback.service";
import { AppError, validationFailed } from "@omneural/core/shared/errors";
import { findWorkspace } from "@omneural/core/workspaces/workspace.repository";
import type { FastifyInstance } from "fastify";

export const EMAIL_FEEDBACK_BODY_LIMIT = 1024 * 1024;

export async function emailHookRoutes(app: FastifyInstance) {
  const { deps } = app;

  app.post<{ Params: { token: string } }>(
    "/:token",
    { bodyLimit: EMAIL_FEEDBACK_BODY_LIMIT, schema: { hide: true } },
    async (request) => {
      const workspaceId = readEmailHookToken(deps.keys.links, request.params.token);
      const workspace = workspaceId ? await findWorkspace(deps.database.db, workspaceId) : undefined;
      if (!workspace) {
        request.log.warn({ hook: "email" }, "refused an email feedback webhook: the token is not valid");
        throw new AppError("NOT_FOUND", "No such hook");
      }
      // SNS posts JSON as text/plain.
      let body: unknown = request.body;
      if (typeof body === "string") {
        try {
          body = JSON.parse(body);
        } catch (error) {
          throw new AppError("INVALID_JSON", `The body is not JSON: ${(error as Error).message}`);
        }
      }
      if (body === undefined) throw validationFailed([{ field: "(body)", message: "is required" }]);
      const parsed = parseEmailFeedback(body);
      if (!parsed.ok) throw validationFailed(parsed.errors);
      const feedback = parsed.value;
      if (feedback.kind === "sns-subscription") {
        // Confirming is the operator's decision: we never fetch a URL a request hands us.
        request.log.warn(
          { workspaceId: workspace.id, topicArn: feedback.topicArn, subscribeUrl: feedback.subscribeUrl },
          "Amazon SNS asks to confirm the subscription of this workspace's email feedback hook: open the SubscribeURL to confirm it",
        );
        return { received: 0, subscription: "logged: confirm it by opening the SubscribeURL in the log" };
      }
      if (feedback.kind === "sns-unsubscribed") {
        request.log.warn(
          { workspaceId: workspace.id, topicArn: feedback.topicArn },
          "Amazon SNS unsubscribed",
        );
        return { received: 0 };
      }
      const summary = await receiveEmailFeedback(
        { db: deps.database.db, responses: deps.responses },
        workspace.id,
        feedback.format,
        feedback.events,
      );
      request.log.info({ workspaceId: workspace.id, format: feedback.format, ...summary }, "email feedback");
      return { format: feedback.format, ...summary };
    },
  );
}
