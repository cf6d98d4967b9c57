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
import type { FastifyInstance, FastifyReply } from "fastify";
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
      return reply.code(201).send(await signedIn(reply, created.session));
    },
  );

  app.post(
    "/session",
    {
      schema: {
        tags,
        summary: "Sign in",
        description:
          "Sets the session cookie. An unknown email and a wrong password get the same answer (SIGN_IN_FAILED); repeated failures are refused for a while (RATE_LIMITED).",
        security: [],
        body: SignInInput,
        response: { 200: SessionInfo, ...problemResponses(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const previous = sessionTokenOf(request);
      const session = await signIn(
        db,
        { email: request.body.email, password: request.body.password, address: request.ip },
        throttle,
      );
      if (previous) await signOut(db, previous);
      return signedIn(reply, session);
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
        response: { 200: SessionInfo, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const previous = sessionTokenOf(request);
      const accepted = await acceptInvitation(db, request.params.token, request.body);
      if (previous) await signOut(db, previous);
      request.log.info({ userId: accepted.userId, workspaceId: accepted.workspaceId }, "invitation accepted");
      return signedIn(reply, accepted.session);
    },
  );
}
