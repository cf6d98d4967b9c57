/**
 * Single sign-on (OpenID Connect) per workspace. docs/sso.md.
 *
 * - `ssoRoutes` (under /api/v1, owners and admins or an API key): the workspace's settings, and a test of
 *   the issuer's discovery.
 * - `ssoSignInRoutes` (under /api, public): /session/sso/start sends the browser to the workspace's
 *   identity provider; /session/sso/callback checks its answer and signs the person in with the same
 *   session cookie as a password sign-in, then sends them to the app. What a sign-in carries between the
 *   two (state, nonce, the PKCE verifier) travels in a short-lived cookie sealed with the credentials key.
 *   Failures answer a readable page (never a 500), with a link back to the sign-in page.
 * - `installSsoSessionGuard`: before any /api request uses a session, ends one that a workspace's
 *   provider signed in but that is now elsewhere, or a password session in a workspace that requires SSO.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  SsoCallbackQuery,
  SsoConfig,
  SsoConfigInput,
  SsoStartQuery,
  SsoTestResult,
} from "@omneural/contracts/sso";
import { recordAudit } from "@omneural/core/audit/audit.service";
import type { Config } from "@omneural/core/config/config";
import { seal, UnsealError, unseal } from "@omneural/core/security/keys";
import { AppError } from "@omneural/core/shared/errors";
import { SSO_CALLBACK_PATH, SSO_START_PATH, type SsoSettings } from "@omneural/core/sso/sso";
import {
  getSsoSettings,
  loadSsoClientSettings,
  removeSsoSettings,
  saveSsoSettings,
  signInWithSso,
  ssoSessionVerdict,
} from "@omneural/core/sso/sso.service";
import { signOut } from "@omneural/core/users/user.service";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import Type from "typebox";
import { SESSION_COOKIE, sessionTokenOf, setSessionCookie } from "../auth.ts";
import type { AppDeps } from "../context.ts";
import { OidcClients, OidcFailure, type OidcFlow } from "../oidc.ts";
import { problemResponses } from "../problems.ts";

const tags = ["sso"];

/** One relying party (and its discovery cache) per app. */
const clients = new WeakMap<AppDeps, OidcClients>();
function oidcClientsOf(app: FastifyInstance): OidcClients {
  let found = clients.get(app.deps);
  if (!found) {
    found = new OidcClients();
    clients.set(app.deps, found);
  }
  return found;
}

const base = (config: Config) => config.publicUrl.replace(/\/+$/, "");
export const ssoCallbackUrl = (config: Config) => `${base(config)}${SSO_CALLBACK_PATH}`;

function ssoConfigOf(config: Config, settings: SsoSettings): SsoConfig {
  return {
    slug: settings.slug,
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecretSet: true,
    defaultRole: settings.defaultRole,
    ssoRequired: settings.ssoRequired,
    allowedDomains: settings.allowedDomains,
    callbackUrl: ssoCallbackUrl(config),
    signInUrl: `${base(config)}${SSO_START_PATH}?workspace=${encodeURIComponent(settings.slug)}`,
    createdAt: settings.createdAt.toISOString(),
    updatedAt: settings.updatedAt.toISOString(),
  };
}

export async function ssoRoutes(root: FastifyInstance) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.deps.database.db;

  app.get(
    "/sso",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "The workspace's single sign-on settings",
        description: "404 while single sign-on is not set up. The client secret is never answered.",
        response: { 200: SsoConfig, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => ssoConfigOf(app.deps.config, await getSsoSettings(db, request.workspace.id)),
  );

  app.put(
    "/sso",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Set up or change single sign-on (OpenID Connect)",
        description:
          "The client secret is required the first time and kept when omitted later; it is stored encrypted and never answered. Turning ssoRequired on ends the password sessions of the workspace's members other than owners.",
        body: SsoConfigInput,
        response: { 200: SsoConfig, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const saved = await saveSsoSettings(db, app.deps.keys.credentials, request.workspace.id, request.body);
      request.log.info(
        { ssoRequired: saved.ssoRequired, defaultRole: saved.defaultRole },
        "sso settings saved",
      );
      return ssoConfigOf(app.deps.config, saved);
    },
  );

  app.delete(
    "/sso",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Turn single sign-on off",
        description:
          "Members keep their accounts; those created by single sign-on have no password and need an invitation's or an owner's help to sign in again.",
        response: {
          200: Type.Object({ deleted: Type.Literal(true) }),
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      await removeSsoSettings(db, request.workspace.id);
      return { deleted: true as const };
    },
  );

  app.post(
    "/sso/test",
    {
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Check the issuer's discovery with the saved settings",
        description:
          "Reads the issuer's /.well-known/openid-configuration and answers what is wrong, if anything (ok: false with a problem). The client id and secret are checked only by a real sign-in.",
        response: { 200: SsoTestResult, ...problemResponses(401, 403, 404, 409) },
      },
    },
    async (request) => {
      let settings: Awaited<ReturnType<typeof loadSsoClientSettings>>;
      try {
        settings = await loadSsoClientSettings(db, app.deps.keys.credentials, request.workspace.id);
      } catch (error) {
        if (!(error instanceof UnsealError)) throw error;
        throw new AppError(
          "CONFLICT",
          "The stored client secret cannot be read with this SECRET_KEY (was it changed?): enter it again.",
          { errors: [{ field: "clientSecret", message: "must be entered again" }] },
        );
      }
      if (!settings) {
        throw new AppError("NOT_FOUND", "Single sign-on is not set up for this workspace (PUT /api/v1/sso).");
      }
      return oidcClientsOf(app).test(settings);
    },
  );
}

const FLOW_COOKIE = "omneural_sso";
const FLOW_COOKIE_PATH = "/api/session/sso";
const FLOW_TTL_MS = 10 * 60_000;
const FLOW_CONTEXT = "sso sign-in flow";

interface SealedFlow extends OidcFlow {
  workspaceId: string;
  expiresAt: number;
}

function readFlow(request: FastifyRequest, key: Buffer): SealedFlow | undefined {
  const raw = request.cookies?.[FLOW_COOKIE];
  if (!raw || raw.length > 4000) return undefined;
  try {
    const flow = JSON.parse(unseal(key, Buffer.from(raw, "base64url"), FLOW_CONTEXT)) as SealedFlow;
    return flow.expiresAt > Date.now() ? flow : undefined;
  } catch {
    return undefined;
  }
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** The page a failed single sign-on answers: what went wrong, and the way back. */
function sendFailurePage(reply: FastifyReply, status: number, title: string, detail: string) {
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
    .type("text/html; charset=utf-8")
    .send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Omneural</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#1f2937}h1{font-size:1.4rem}a{color:#4338ca}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(detail)}</p>
<p><a href="/">Back to sign-in</a></p>
</main></body>
</html>`);
}

const FAILURE_STATUS: Record<OidcFailure["kind"], number> = {
  issuer_unreachable: 502,
  discovery_failed: 502,
  discovery_invalid: 502,
  issuer_mismatch: 502,
  insecure_issuer: 502,
  client_rejected: 502,
  provider_refused: 401,
  response_invalid: 401,
};

export async function ssoSignInRoutes(root: FastifyInstance) {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.deps.database.db;
  const key = app.deps.keys.credentials;
  const secure = app.deps.config.publicUrl.startsWith("https:");

  const notSetUp = (reply: FastifyReply) =>
    sendFailurePage(
      reply,
      404,
      "Single sign-on is not available",
      "No workspace with this name uses single sign-on. Check the name with your administrator, or sign in with your email and password.",
    );

  const secretUnreadable = (reply: FastifyReply) =>
    sendFailurePage(
      reply,
      503,
      "Single sign-on is misconfigured",
      "Omneural cannot read this workspace's client secret (was SECRET_KEY changed?). An owner or admin should enter the client secret again in Settings → Single sign-on.",
    );

  app.get(
    "/session/sso/start",
    {
      schema: {
        tags,
        summary: "Start single sign-on to a workspace",
        description:
          "Redirects (303) to the workspace's identity provider (authorization code flow with PKCE, state and nonce). Answers an HTML page when the workspace has no single sign-on or its provider cannot be reached.",
        security: [],
        querystring: SsoStartQuery,
        response: { 303: { type: "null" }, ...problemResponses(400) },
      },
    },
    async (request, reply) => {
      let settings: Awaited<ReturnType<typeof loadSsoClientSettings>>;
      try {
        settings = await loadSsoClientSettings(db, key, request.query.workspace);
      } catch (error) {
        if (error instanceof UnsealError) return secretUnreadable(reply);
        throw error;
      }
      if (!settings) return notSetUp(reply);
      try {
        const { url, flow } = await oidcClientsOf(app).startSignIn(settings, ssoCallbackUrl(app.deps.config));
        const sealed: SealedFlow = {
          ...flow,
          workspaceId: settings.workspaceId,
          expiresAt: Date.now() + FLOW_TTL_MS,
        };
        reply.setCookie(FLOW_COOKIE, seal(key, JSON.stringify(sealed), FLOW_CONTEXT).toString("base64url"), {
          httpOnly: true,
          // Lax: the provider's redirect back is a top-level GET, which carries it.
          sameSite: "lax",
          path: FLOW_COOKIE_PATH,
          secure,
          maxAge: FLOW_TTL_MS / 1000,
        });
        reply.header("cache-control", "no-store");
        return reply.redirect(url.href, 303);
      } catch (error) {
        if (!(error instanceof OidcFailure)) throw error;
        request.log.warn({ workspaceId: settings.workspaceId, problem: error.kind }, "sso start failed");
        return sendFailurePage(
          reply,
          FAILURE_STATUS[error.kind],
          "Single sign-on is not working",
          error.message,
        );
      }
    },
  );

  app.get(
    "/session/sso/callback",
    {
      schema: {
        tags,
        summary: "Where the identity provider sends the browser back",
        description:
          "Checks the answer (state, PKCE, the id_token's signature, issuer, audience, expiry and nonce), finds or creates the user by their verified email, sets the session cookie as a password sign-in does, and redirects (303) to the app. Failures answer an HTML page saying what went wrong.",
        security: [],
        querystring: SsoCallbackQuery,
        response: { 303: { type: "null" } },
      },
    },
    async (request, reply) => {
      const flow = readFlow(request, key);
      reply.clearCookie(FLOW_COOKIE, { httpOnly: true, sameSite: "lax", path: FLOW_COOKIE_PATH, secure });
      if (!flow) {
        return sendFailurePage(
          reply,
          400,
          "This sign-in has expired",
          "The sign-in was not started from this browser, or took longer than 10 minutes. Start again from the sign-in page.",
        );
      }
      if (request.query.state !== flow.state) {
        request.log.warn({ workspaceId: flow.workspaceId }, "sso callback with a wrong state");
        return sendFailurePage(
          reply,
          400,
          "This sign-in cannot be trusted",
          "The answer from the identity provider does not belong to the sign-in this browser started. Start again from the sign-in page.",
        );
      }
      let settings: Awaited<ReturnType<typeof loadSsoClientSettings>>;
      try {
        settings = await loadSsoClientSettings(db, key, flow.workspaceId);
      } catch (error) {
        if (error instanceof UnsealError) return secretUnreadable(reply);
        throw error;
      }
      if (!settings) return notSetUp(reply);
      const currentUrl = new URL(ssoCallbackUrl(app.deps.config));
      currentUrl.search = new URL(request.url, "http://callback.invalid").search;
      let identity: Awaited<ReturnType<OidcClients["finishSignIn"]>>;
      try {
        identity = await oidcClientsOf(app).finishSignIn(settings, currentUrl, flow);
      } catch (error) {
        if (!(error instanceof OidcFailure)) throw error;
        request.log.warn({ workspaceId: settings.workspaceId, problem: error.kind }, "sso callback failed");
        return sendFailurePage(
          reply,
          FAILURE_STATUS[error.kind],
          "Single sign-on did not work",
          error.message,
        );
      }
      const result = await signInWithSso(db, settings, identity);
      if (!result.ok) {
        request.log.warn(
          { workspaceId: settings.workspaceId, problem: result.reason },
          "sso sign-in refused",
        );
        return sendFailurePage(reply, 403, "Single sign-on did not work", result.message);
      }
      const previous = sessionTokenOf(request);
      if (previous) await signOut(db, previous);
      setSessionCookie(reply, app.deps.config, result.session);
      request.log.info(
        { workspaceId: settings.workspaceId, userId: result.userId, userCreated: result.userCreated },
        "signed in with sso",
      );
      try {
        await recordAudit(db, settings.workspaceId, {
          actor: { kind: "user", id: result.userId },
          action: "session.sso_sign_in",
          objectId: result.userId,
          requestId: request.id,
          status: 303,
          ip: request.ip,
          details: { userCreated: result.userCreated, memberAdded: result.memberAdded, role: result.role },
        });
      } catch (error) {
        request.log.error({ err: error }, "the audit entry of this sso sign-in could not be written");
      }
      reply.header("cache-control", "no-store");
      return reply.redirect("/", 303);
    },
  );
}

/**
 * Before a request under /api uses its session cookie: ends the session when it must not be used any
 * more (core `ssoSessionVerdict`), so that authentication then finds none and answers SESSION_EXPIRED.
 * Call after @fastify/cookie is registered, before the routes.
 */
export function installSsoSessionGuard(app: FastifyInstance) {
  app.addHook("onRequest", async (request) => {
    if (!request.url.startsWith("/api/")) return;
    const token = request.cookies?.[SESSION_COOKIE];
    if (!token) return;
    if ((await ssoSessionVerdict(app.deps.database.db, token)) === "end") {
      // The request goes on: finding no session, authentication answers SESSION_EXPIRED and clears it.
      await signOut(app.deps.database.db, token);
      request.log.info("session ended: single sign-on rules");
    }
  });
}
