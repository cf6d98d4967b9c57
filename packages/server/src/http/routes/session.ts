/**
 * The web app's sign-in: first-run setup, sessions, switching workspace, and accepting an invitation.
 * Under /api (not /api/v1): these work without an API key. The session lives in the omneural_session
 * cookie; see auth.ts for how /api/v1 uses it.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  AcceptInvitationInput,
  InvitationPreview,
  InvitationTokenParams,
  SessionInfo,
  SetupInput,
  SetupStatus,
  SignInInput,
  SwitchWorkspaceInput,
} from "@omneural/contracts/users";
import { recordAudit } from "@omneural/core/audit/audit.service";
import { auditFailedSignIn, auditSession } from "@omneural/core/audit/sign-in-audit.service";
import { AppError } from "@omneural/core/shared/errors";
import { passwordWorkspaceFor, ssoSwitchRefusal } from "@omneural/core/sso/sso.service";
import { acceptInvitation, previewInvitation } from "@omneural/core/users/team.service";
import { SignInThrottle } from "@omneural/core/users/user";
import {
  describeSession,
  type NewSession,
  needsSetup,
  resolveSession,
  setupFirstUser,
  signIn,
  signOut,
  switchWorkspace,
} from "@omneural/core/users/user.service";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  clearSessionCookie,
  csrfTokenMatches,
  sendCsrfProblem,
  sendSessionExpired,
  sessionOf,
  sessionTokenOf,
  setSessionCookie,
} from "../auth.ts";
import { problemResponses } from "../problems.ts";

const tags = ["session"];

export async function sessionRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.deps.database.db;
  const throttle = new SignInThrottle();

  /**
   * A password session must not land in a workspace that requires single sign-on of the member's role
   * (docs/sso.md): it moves to another of the user's workspaces, or is ended and refused.
   */
  async function keepPasswordSessionOutOfSso(session: NewSession) {
    const resolved = (await resolveSession(db, session.token))!;
    const verdict = await passwordWorkspaceFor(db, resolved.user.id, resolved.workspace.id);
    if (verdict.ok) {
      if (verdict.workspaceId !== resolved.workspace.id)
        await switchWorkspace(db, resolved, verdict.workspaceId);
      return;
    }
    await signOut(db, session.token);
    throw new AppError(
      "FORBIDDEN",
      `${resolved.workspace.name} requires single sign-on: choose "Sign in with single sign-on" and enter ${verdict.slug}.`,
      { ssoWorkspace: verdict.slug },
    );
  }

  /**
   * Writes the audit entries of a sign-in endpoint (docs/audit-log.md). They describe the answer; a
   * failure to write one is logged and does not change it.
   */
  async function audit(request: FastifyRequest, write: () => Promise<unknown>) {
    try {
      await write();
    } catch (error) {
      request.log.error({ err: error }, "the audit entry of this sign-in request could not be written");
    }
  }
  const factsOf = (request: FastifyRequest, status: number) => ({
    requestId: request.id,
    ip: request.ip,
    status,
  });

  /** Sets the cookie of a new session and answers what GET /api/session would. */
  async function signedIn(reply: FastifyReply, session: NewSession) {
    setSessionCookie(reply, app.deps.config, session);
    const resolved = await resolveSession(db, session.token);
    return describeSession(db, resolved!);
  }

  app.get(
    "/setup",
    {
      schema: {
        tags,
        summary: "Whether Omneural still needs its first user",
        security: [],
        response: { 200: SetupStatus },
      },
    },
    async () => ({ needsSetup: await needsSetup(db) }),
  );

  app.post(
    "/setup",
    {
      schema: {
        tags,
        summary: "Create the first user and workspace, and sign in",
        description:
          "Only while no user exists (409 afterwards). Creates the user, the workspace and the user's owner membership, and sets the session cookie.",
        security: [],
        body: SetupInput,
        response: { 201: SessionInfo, ...problemResponses(400, 409) },
      },
    },
    async (request, reply) => {
      const created = await setupFirstUser(db, request.body);
      request.log.info({ userId: created.userId, workspaceId: created.workspaceId }, "first user set up");
      const answer = await signedIn(reply, created.session);
      await audit(request, async () => {
        await recordAudit(db, created.workspaceId, {
          actor: { kind: "user", id: created.userId },
          action: "workspace.create",
          objectId: created.workspaceId,
          ...factsOf(request, 201),
        });
        await auditSession(db, "session.sign_in", created, factsOf(request, 201), { via: "setup" });
      });
      return reply.code(201).send(answer);
    },
  );

  app.post(
    "/session",
    {
      schema: {
        tags,
        summary: "Sign in",
        description:
          "Sets the session cookie. An unknown email and a wrong password get the same answer (SIGN_IN_FAILED); repeated failures are refused for a while (RATE_LIMITED). A member whose only workspaces require single sign-on (and who owns none of them) is refused (FORBIDDEN, with `ssoWorkspace`): docs/sso.md.",
        security: [],
        body: SignInInput,
        response: { 200: SessionInfo, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const previous = sessionTokenOf(request);
      let session: NewSession;
      try {
        session = await signIn(
          db,
          { email: request.body.email, password: request.body.password, address: request.ip },
          throttle,
        );
      } catch (error) {
        // A wrong password (or unknown email) is audited in the account's workspaces; the attempts the
        // throttle refuses after repeated failures only in the log (they would flood the audit log).
        if (error instanceof AppError && (error.code === "SIGN_IN_FAILED" || error.code === "RATE_LIMITED")) {
          let workspaces = 0;
          if (error.code === "SIGN_IN_FAILED") {
            await audit(request, async () => {
              workspaces = await auditFailedSignIn(db, request.body.email, factsOf(request, error.status));
            });
          }
          request.log.warn({ email: request.body.email, reason: error.code, workspaces }, "sign-in refused");
        }
        throw error;
      }
      await keepPasswordSessionOutOfSso(session);
      if (previous) await signOut(db, previous);
      const answer = await signedIn(reply, session);
      await audit(request, () =>
        auditSession(
          db,
          "session.sign_in",
          { userId: answer.user.id, workspaceId: answer.workspace.id },
          factsOf(request, 200),
          { via: "password" },
        ),
      );
      return answer;
    },
  );

  app.get(
    "/session",
    {
      schema: {
        tags,
        summary: "The signed-in user, their workspace and role, and the CSRF token",
        security: [],
        response: { 200: SessionInfo, ...problemResponses(401) },
      },
    },
    async (request, reply) => {
      const session = await sessionOf(app, request);
      if (!session) return sendSessionExpired(app, request, reply);
      reply.header("cache-control", "no-store");
      return describeSession(db, session);
    },
  );

  app.delete(
    "/session",
    {
      schema: {
        tags,
        summary: "Sign out",
        description: "Ends the session and clears the cookie. Needs the x-csrf-token header.",
        security: [],
        response: { 204: { type: "null" }, ...problemResponses(403) },
      },
    },
    async (request, reply) => {
      const session = await sessionOf(app, request);
      if (session) {
        if (!csrfTokenMatches(request, session)) return sendCsrfProblem(request, reply);
        await signOut(db, sessionTokenOf(request)!);
        await audit(request, () =>
          auditSession(
            db,
            "session.sign_out",
            { userId: session.user.id, workspaceId: session.workspace.id },
            factsOf(request, 204),
          ),
        );
      }
      clearSessionCookie(reply, app.deps.config);
      return reply.code(204).send(null);
    },
  );

  app.put(
    "/session/workspace",
    {
      schema: {
        tags,
        summary: "Switch to another of the user's workspaces",
        security: [],
        body: SwitchWorkspaceInput,
        response: { 200: SessionInfo, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const session = await sessionOf(app, request);
      if (!session) return sendSessionExpired(app, request, reply);
      if (!csrfTokenMatches(request, session)) return sendCsrfProblem(request, reply);
      const refusal = await ssoSwitchRefusal(
        db,
        { sessionId: session.sessionId, userId: session.user.id },
        request.body.workspaceId,
      );
      if (refusal) throw new AppError("FORBIDDEN", refusal);
      await switchWorkspace(db, session, request.body.workspaceId);
      return describeSession(db, (await resolveSession(db, sessionTokenOf(request)!))!);
    },
  );

  app.get(
    "/invitations/:token",
    {
      schema: {
        tags,
        summary: "What an invitation link offers",
        security: [],
        params: InvitationTokenParams,
        response: { 200: InvitationPreview, ...problemResponses(404) },
      },
    },
    async (request) => previewInvitation(db, request.params.token),
  );

  app.post(
    "/invitations/:token/accept",
    {
      schema: {
        tags,
        summary: "Accept an invitation and sign in",
        description:
          "A new user gives a name and a password; when the invited email already has an account, its password. Adds the membership and sets the session cookie.",
        security: [],
        params: InvitationTokenParams,
        body: AcceptInvitationInput,
        response: { 200: SessionInfo, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const previous = sessionTokenOf(request);
      const accepted = await acceptInvitation(db, request.params.token, request.body);
      await keepPasswordSessionOutOfSso(accepted.session);
      if (previous) await signOut(db, previous);
      request.log.info({ userId: accepted.userId, workspaceId: accepted.workspaceId }, "invitation accepted");
      const answer = await signedIn(reply, accepted.session);
      await audit(request, async () => {
        await recordAudit(db, accepted.workspaceId, {
          actor: { kind: "user", id: accepted.userId },
          action: "invitation.accept",
          objectId: accepted.userId,
          ...factsOf(request, 200),
        });
        await auditSession(
          db,
          "session.sign_in",
          { userId: answer.user.id, workspaceId: answer.workspace.id },
          factsOf(request, 200),
          { via: "invitation" },
        );
      });
      return answer;
    },
  );
}
