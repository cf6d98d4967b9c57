/**
 * Who a /api/v1 request acts for. Either a Bearer API key (full rights, no CSRF token: it is not sent by
 * browsers on their own) or the web app's session cookie (the member's role; unsafe methods must echo
 * the session's CSRF token in x-csrf-token). Every route then runs with `request.workspace` and
 * `request.actor`; objects of other workspaces are simply not found (handlers always filter by
 * request.workspace.id). What each role may do is decided in access.ts.
 */
import { authenticateApiKey } from "@omneural/core/auth/api-key.service";
import type { Config } from "@omneural/core/config/config";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import { inWorkspace } from "@omneural/core/db/tenancy";
import type { Actor } from "@omneural/core/users/user";
import { roleAllows, sameSecret } from "@omneural/core/users/user";
import { type NewSession, type ResolvedSession, resolveSession } from "@omneural/core/users/user.service";
import { findWorkspace } from "@omneural/core/workspaces/workspace.repository";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { accessOf, isSafeMethod } from "./access.ts";
import { sendProblem } from "./problems.ts";

export const SESSION_COOKIE = "omneural_session";
export const CSRF_HEADER = "x-csrf-token";

const WORKSPACE_TTL_MS = 30_000;

/** The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure when the public URL is https. */
export function setSessionCookie(reply: FastifyReply, config: Config, session: NewSession) {
  reply.setCookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secure: config.publicUrl.startsWith("https:"),
    expires: session.expiresAt,
  });
}

export function clearSessionCookie(reply: FastifyReply, config: Config) {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secure: config.publicUrl.startsWith("https:"),
  });
}

export function sessionTokenOf(request: FastifyRequest): string | undefined {
  return request.cookies?.[SESSION_COOKIE] || undefined;
}

/** The live session of the request's cookie, if any. */
export async function sessionOf(app: FastifyInstance, request: FastifyRequest) {
  const token = sessionTokenOf(request);
  return token ? resolveSession(app.deps.database.db, token) : undefined;
}

/** Whether an unsafe request carries the session's CSRF token. */
export function csrfTokenMatches(request: FastifyRequest, session: ResolvedSession): boolean {
  const sent = request.headers[CSRF_HEADER];
  return typeof sent === "string" && sameSecret(sent, session.csrfSecret);
}

export function sendCsrfProblem(request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(
    request,
    reply,
    "CSRF_TOKEN_INVALID",
    `Requests signed in by cookie must send the session's csrfToken (GET /api/session) as the ${CSRF_HEADER} header.`,
  );
}

export function sendSessionExpired(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  clearSessionCookie(reply, app.deps.config);
  return sendProblem(request, reply, "SESSION_EXPIRED", "Your session has ended; sign in again.");
}

function sendMissingCredentials(request: FastifyRequest, reply: FastifyReply) {
  reply.header("www-authenticate", 'Bearer realm="omneural"');
  return sendProblem(
    request,
    reply,
    "UNAUTHORIZED",
    "Send your API key as `Authorization: Bearer <key>` (or sign in to the web app).",
  );
}

/** Adds authentication (onRequest) and the role check (preValidation, once the body is parsed) to `app`. */
export function installAuth(app: FastifyInstance) {
  app.decorateRequest("workspace", null as unknown as WorkspaceContext);
  app.decorateRequest("apiKeyId", "");
  app.decorateRequest("actor", null as unknown as Actor);

  // A workspace's country and timezone do not change after it is made; whatever changes them must
  // invalidate its `workspaces` entry.
  const loadWorkspace = async (id: string): Promise<WorkspaceContext | undefined> => {
    const load = async () => {
      const row = await findWorkspace(app.deps.database.db, id);
      return (
        row && { id: row.id, defaultCountry: row.default_country, defaultTimezone: row.default_timezone }
      );
    };
    return app.deps.cache ? app.deps.cache.getOrLoad("workspaces", id, WORKSPACE_TTL_MS, load) : load();
  };

  async function authenticateApiKeyRequest(request: FastifyRequest, reply: FastifyReply, header: string) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return sendMissingCredentials(request, reply);
    const principal = await authenticateApiKey(app.deps.database.db, match[1]!, app.deps.cache);
    const workspace = principal && (await loadWorkspace(principal.workspaceId));
    if (!principal || !workspace) {
      reply.header("www-authenticate", 'Bearer realm="omneural", error="invalid_token"');
      return sendProblem(request, reply, "UNAUTHORIZED", "The API key is not valid or has been revoked.");
    }
    request.workspace = workspace;
    request.apiKeyId = principal.apiKeyId;
    // An API key acts for its whole workspace, like its owner.
    request.actor = { kind: "api_key", id: principal.apiKeyId, role: "owner" };
    request.log = request.log.child({ workspaceId: workspace.id });
  }

  async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    if (header) return authenticateApiKeyRequest(request, reply, header);
    const token = sessionTokenOf(request);
    if (!token) return sendMissingCredentials(request, reply);
    const session = await resolveSession(app.deps.database.db, token);
    if (!session) return sendSessionExpired(app, request, reply);
    if (!isSafeMethod(request.method) && !csrfTokenMatches(request, session)) {
      return sendCsrfProblem(request, reply);
    }
    const { name: _name, ...workspace } = session.workspace;
    request.workspace = workspace;
    // Audit columns (consent ledger, template versions, merges) record who acted: the key, or the user.
    request.apiKeyId = `user:${session.user.id}`;
    request.actor = { kind: "user", id: session.user.id, role: session.role };
    request.log = request.log.child({ workspaceId: workspace.id, userId: session.user.id });
  }

  async function authorize(request: FastifyRequest, reply: FastifyReply) {
    const access = accessOf(request);
    if (roleAllows(request.actor.role, access)) return;
    return sendProblem(
      request,
      reply,
      "FORBIDDEN",
      access === "admin"
        ? "Only owners and admins can do this."
        : `A ${request.actor.role} can look but not change anything.`,
    );
  }

  app.addHook("onRequest", authenticate);
  app.addHook("preValidation", authorize);
  // The handler runs limited to the request's workspace: its queries go through the application role
  // under row-level security (core db/tenancy.ts). A callback hook, so that the handler is called inside
  // the scope; set here rather than in onRequest because reading the body would leave it.
  app.addHook("preHandler", (request, _reply, done) => {
    if (!request.workspace) return done();
    inWorkspace(request.workspace.id, done);
  });
}
