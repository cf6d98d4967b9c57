/** Every error leaves the server as RFC 9457 application/problem+json with a stable code. */

import { Problem } from "@omneural/contracts/common";
import { AppError, ERROR_CODES, type ErrorCode, type FieldProblem } from "@omneural/core/shared/errors";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export const PROBLEM_BASE = "https://omneural.dev/errors/";

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  const { status, title } = ERROR_CODES[code];
  return reply
    .code(status)
    .type("application/problem+json")
    .send({
      type: `${PROBLEM_BASE}${code.toLowerCase().replace(/_/g, "-")}`,
      title,
      status,
      code,
      detail,
      instance: request.url.split("?")[0],
      requestId: request.id,
      ...extra,
    });
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const path = (issue.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".");
  if (issue.keyword === "additionalProperties" && issue.params?.additionalProperty) {
    return path
      ? `${path}.${String(issue.params.additionalProperty)}`
      : String(issue.params.additionalProperty);
  }
  if (issue.keyword === "required" && issue.params?.missingProperty) {
    return path ? `${path}.${String(issue.params.missingProperty)}` : String(issue.params.missingProperty);
  }
  return path || (context === "body" ? "(body)" : (context ?? "(request)"));
}

function messageOf(issue: ValidationIssue): string {
  if (issue.keyword === "additionalProperties") return "is not a known field";
  if (issue.keyword === "required") return "is required";
  return issue.message ?? "is not valid";
}

export function validationProblems(
  error: FastifyError & { validation?: ValidationIssue[]; validationContext?: string },
) {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const issue of error.validation ?? []) {
    // anyOf/union noise: keep one message per field.
    const field = fieldOf(issue, error.validationContext);
    if (issue.keyword === "anyOf" || seen.has(field)) continue;
    seen.add(field);
    problems.push({ field, message: messageOf(issue) });
  }
  return problems;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "57P01", "57P03", "08006", "08001", "08003"]);

export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler(
    (
      error: FastifyError & { validation?: ValidationIssue[]; validationContext?: string },
      request,
      reply,
    ) => {
      if (error instanceof AppError) {
        // A provider that is down for now is worth a warning, not an error of ours.
        if (error.code === "PROVIDER_UNAVAILABLE") request.log.warn({ err: error }, error.message);
        else if (error.status >= 500) request.log.error({ err: error }, error.message);
        const { retryAfterSeconds, ...extra } = error.extra;
        if (retryAfterSeconds !== undefined) {
          // Retry-After takes whole seconds (RFC 9110).
          reply.header("retry-after", String(Math.max(0, Math.ceil(retryAfterSeconds))));
        }
        return sendProblem(request, reply, error.code, error.message, extra);
      }
      if (error.validation) {
        const errors = validationProblems(error);
        const where =
          error.validationContext === "querystring" ? "query string" : (error.validationContext ?? "request");
        return sendProblem(
          request,
          reply,
          "VALIDATION_FAILED",
          `The ${where} is not valid: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`,
          { errors },
        );
      }
      switch (error.code) {
        case "FST_ERR_CTP_INVALID_JSON_BODY":
        case "FST_ERR_CTP_EMPTY_JSON_BODY":
          return sendProblem(request, reply, "INVALID_JSON", error.message);
        case "FST_ERR_CTP_BODY_TOO_LARGE":
        case "FST_REQ_FILE_TOO_LARGE":
          return sendProblem(request, reply, "PAYLOAD_TOO_LARGE", error.message);
        case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
        case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
          return sendProblem(request, reply, "UNSUPPORTED_MEDIA_TYPE", error.message);
      }
      if (error instanceof SyntaxError && error.statusCode === 400) {
        return sendProblem(request, reply, "INVALID_JSON", error.message);
      }
      if (
        CONNECTION_CODES.has(error.code) ||
        /Connection terminated|timeout exceeded when trying to connect/i.test(error.message)
      ) {
        request.log.warn({ err: error }, "database unavailable");
        return sendProblem(
          request,
          reply,
          "DATABASE_UNAVAILABLE",
          "The database cannot be reached; try again shortly.",
        );
      }
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return sendProblem(request, reply, "VALIDATION_FAILED", error.message);
      }
      request.log.error({ err: error }, "unhandled error");
      return sendProblem(
        request,
        reply,
        "INTERNAL",
        "Something went wrong on our side. The request id identifies it in the logs.",
      );
    },
  );

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, "NOT_FOUND", `No route for ${request.method} ${request.url.split("?")[0]}`),
  );
}

const { $id: _id, ...problemSchema } = Problem as typeof Problem & { $id?: string };

/** Problem responses for a route's OpenAPI entry. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { ...problemSchema, description: "Problem details (RFC 9457)" }]),
  );

/** For POST routes whose body is optional: a request without one is read as `{}`. */
export async function emptyBodyAsObject(request: { body: unknown }) {
  request.body ??= {};
}
