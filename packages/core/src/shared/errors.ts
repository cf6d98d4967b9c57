/**
 * Faults with a stable code and HTTP status. The HTTP layer maps them to RFC 9457 problem+json in one
 * place; docs/errors.md lists every code. Expected outcomes are returned as values, not thrown.
 */

export interface FieldProblem {
  field: string;
  message: string;
  /** The workflow node the problem concerns, for workflow errors. */
  nodeId?: string | null;
}

export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: "The request is not valid" },
  INVALID_JSON: { status: 400, title: "The request body is not valid JSON" },
  INVALID_CSV: { status: 400, title: "The CSV file cannot be imported" },
  UNAUTHORIZED: { status: 401, title: "Missing or invalid API key" },
  SIGN_IN_FAILED: { status: 401, title: "The email or password is not right" },
  SESSION_EXPIRED: { status: 401, title: "The session has ended; sign in again" },
  FORBIDDEN: { status: 403, title: "Your role does not allow this" },
  CSRF_TOKEN_INVALID: { status: 403, title: "Missing or wrong x-csrf-token header" },
  WEBHOOK_SIGNATURE_INVALID: { status: 403, title: "The webhook's signature is missing or not valid" },
  NOT_FOUND: { status: 404, title: "Not found" },
  WORKFLOW_INVALID: { status: 422, title: "The workflow is not valid" },
  TEST_SEND_REFUSED: { status: 422, title: "The test message cannot be sent" },
  IDENTITY_CONFLICT: { status: 409, title: "The identifier belongs to another contact" },
  CONFLICT: { status: 409, title: "The request conflicts with the current state" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "The request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported content type" },
  RATE_LIMITED: { status: 429, title: "Too many requests" },
  DATABASE_UNAVAILABLE: { status: 503, title: "The database is unavailable" },
  PROVIDER_UNAVAILABLE: {
    status: 503,
    title: "The provider did not take the message; try again later",
  },
  INTERNAL: { status: 500, title: "Internal error" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Extra members of the problem. `retryAfterSeconds` is not one: the HTTP layer sends it as the
 * Retry-After header (429, 503).
 */
export interface ProblemExtra {
  errors?: FieldProblem[];
  retryAfterSeconds?: number;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly extra: ProblemExtra = {},
  ) {
    super(detail);
    this.name = "AppError";
    this.status = ERROR_CODES[code].status;
    this.title = ERROR_CODES[code].title;
  }
}

export const notFound = (what: string, id: string) =>
  new AppError("NOT_FOUND", `${what} ${id} does not exist`);

export const validationFailed = (errors: FieldProblem[]) =>
  new AppError("VALIDATION_FAILED", errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors });
