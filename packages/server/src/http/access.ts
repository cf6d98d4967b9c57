/**
 * What each /api/v1 request needs of the caller's role. By default a GET is `read` (any member) and
 * anything else is `write` (not viewers). The exceptions are listed here, in one place, so the rule is
 * visible: POSTs that change nothing (previews, validation, simulation, dry runs) are `read`, and the
 * team, the admin-only settings and the audit log are `admin`. A route may also say it itself with
 * `config: { access }`. docs/users-and-roles.md shows the same matrix; access.test.ts keeps the two
 * in step.
 */
import type { Access } from "@omneural/core/users/user";
import type { FastifyRequest } from "fastify";

type Rule = Access | ((body: Record<string, unknown>) => Access);

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the route needs of the caller's role (default: GET read, others write). */
    access?: Access;
  }
}

/** Exceptions to the default, by "METHOD /route/:pattern". */
export const ROUTE_ACCESS: Record<string, Rule> = {
  // POSTs that only read: any member, viewers included.
  "POST /api/v1/audiences/preview": "read",
  "POST /api/v1/templates/preview": "read",
  "POST /api/v1/templates/:id/preview": "read",
  "POST /api/v1/workflows/:id/validate": "read",
  "POST /api/v1/workflows/:id/versions/:version/simulate": "read",
  // A dry run (the default) changes nothing; merging for real is a marketer's change.
  "POST /api/v1/contacts/duplicates/merge": (body) =>
    body.dryRun === true || body.confirm !== true ? "read" : "write",
  // Admin-only settings: the workspace's own provider accounts and retention policies.
  "PUT /api/v1/workspace/providers/:channel": "admin",
  "DELETE /api/v1/workspace/providers/:channel": "admin",
  "PUT /api/v1/retention/policies/:kind": "admin",
  // The audit log names members and what they did: owners and admins only.
  "GET /api/v1/audit": "admin",
  // A dry run (the default) only counts; a real run deletes or anonymises contacts.
  "POST /api/v1/retention/policies/:kind/run": (body) => (body.dryRun === false ? "admin" : "read"),
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/** The access a request needs (its body must be parsed: call from preValidation or later). */
export function accessOf(request: FastifyRequest): Access {
  const configured = request.routeOptions.config.access;
  if (configured) return configured;
  const rule = ROUTE_ACCESS[`${request.method} ${request.routeOptions.url}`];
  if (typeof rule === "string") return rule;
  if (rule) {
    const body =
      request.body && typeof request.body === "object" ? (request.body as Record<string, unknown>) : {};
    return rule(body);
  }
  return isSafeMethod(request.method) ? "read" : "write";
}
