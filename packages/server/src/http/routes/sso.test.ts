/**
 * Single sign-on against a real OpenID Connect provider (oidc-provider on loopback): the whole sign-in
 * over real HTTP, users created and matched, SSO required, tampered answers refused, misconfiguration
 * explained, the client secret never shown, and workspaces kept apart.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { seal, TEST_KEYS, unseal } from "@omneural/core/security/keys";
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSession, useTestApp } from "../../testing/app.ts";
import {
  followUntil,
  startTestIdentityProvider,
  type TestAccount,
  type TestIdentityProvider,
} from "../../testing/oidc.ts";
import { buildApp } from "../app.ts";

const t = useTestApp();

const CALLBACK = "http://omneural.test/api/session/sso/callback";
const SECRET_A = "acme client secret 7f3c9e";
const SECRET_B = "globex client secret 51d0aa";
let idp: TestIdentityProvider;
let brokenDiscovery: Server;
let brokenIssuer: string;

beforeAll(async () => {
  idp = await startTestIdentityProvider([
    { clientId: "omneural-acme", clientSecret: SECRET_A, redirectUri: CALLBACK },
    { clientId: "omneural-globex", clientSecret: SECRET_B, redirectUri: CALLBACK },
  ]);
  // An "issuer" whose discovery document is a web page, and whose other paths are 404.
  brokenDiscovery = createServer((request, response) => {
    if (request.url === "/html/.well-known/openid-configuration") {
      response.writeHead(200, { "content-type": "text/html" }).end("<html>Welcome!</html>");
    } else response.writeHead(404).end("not here");
  });
  await new Promise<void>((resolve) => brokenDiscovery.listen(0, "127.0.0.1", resolve));
  brokenIssuer = `http://127.0.0.1:${(brokenDiscovery.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await idp?.close();
  brokenDiscovery?.closeAllConnections();
  await new Promise((resolve) => brokenDiscovery?.close(resolve));
});

const configA = () => ({
  slug: "acme",
  issuer: idp.issuer,
  clientId: "omneural-acme",
  clientSecret: SECRET_A,
});

const putSso = (who: "A" | "B", body: Record<string, unknown>) =>
  (who === "A" ? t.asA : t.asB)({ method: "PUT", url: "/api/v1/sso", payload: body });

function cookieValue(response: { cookies: { name: string; value: string }[] }, name: string) {
  return response.cookies.find((cookie) => cookie.name === name)?.value;
}

/** Starts single sign-on to `workspace`, signs in at the provider as the account, and calls our callback. */
async function signInWithSso(workspace: string, accountId: string, account: TestAccount) {
  const start = await t.anonymous({ method: "GET", url: `/api/session/sso/start?workspace=${workspace}` });
  expect(start.statusCode, start.body).toBe(303);
  const flowCookie = cookieValue(start, "omneural_sso")!;
  idp.signInAs(accountId, account);
  const back = await followUntil(String(start.headers.location), CALLBACK);
  const callback = await t.anonymous({
    method: "GET",
    url: back.pathname + back.search,
    cookies: { omneural_sso: flowCookie },
  });
  return { start, flowCookie, back, callback };
}

/** The session the callback signed in: GET /api/session with its cookie. */
async function sessionOf(callback: Awaited<ReturnType<typeof t.anonymous>>) {
  const token = cookieValue(callback, "omneural_session")!;
  const me = await t.anonymous({ method: "GET", url: "/api/session", cookies: { omneural_session: token } });
  return { token, me };
}

const passwordSignIn = (email: string, password: string) =>
  t.anonymous({ method: "POST", url: "/api/session", payload: { email, password } });

describe("the settings", () => {
  it("need a client secret the first time, and refuse owner as the default role", async () => {
    const noSecret = await putSso("A", { ...configA(), clientSecret: undefined });
    expect(noSecret.statusCode).toBe(400);
    expect(noSecret.json().errors).toEqual([expect.objectContaining({ field: "clientSecret" })]);
    const owner = await putSso("A", { ...configA(), defaultRole: "owner" });
    expect(owner.statusCode).toBe(400);
    const insecure = await putSso("A", { ...configA(), issuer: "http://login.example.com" });
    expect(insecure.statusCode).toBe(400);
    expect(insecure.json().errors).toEqual([{ field: "issuer", message: "must be an https URL" }]);
  });

  it("are saved with the secret sealed, and never answer the secret", async () => {
    const saved = await putSso("A", configA());
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toMatchObject({
      slug: "acme",
      issuer: idp.issuer,
      clientId: "omneural-acme",
      clientSecretSet: true,
      defaultRole: "marketer",
      ssoRequired: false,
      callbackUrl: CALLBACK,
      signInUrl: "http://omneural.test/api/session/sso/start?workspace=acme",
    });
    const read = await t.asA({ method: "GET", url: "/api/v1/sso" });
    expect(read.statusCode).toBe(200);
    expect(saved.body).not.toContain(SECRET_A);
    expect(read.body).not.toContain(SECRET_A);
    const { rows } = await t.database.handle.pool.query(
      "select client_secret from sso_configs where workspace_id = $1",
      [t.a.id],
    );
    const stored = rows[0].client_secret as Buffer;
    expect(stored.toString("latin1")).not.toContain(SECRET_A);
    expect(unseal(TEST_KEYS.credentials, stored, `sso client secret:${t.a.id}`)).toBe(SECRET_A);
  });

  it("keep the stored secret when a change omits it", async () => {
    const changed = await putSso("A", { ...configA(), clientSecret: undefined, defaultRole: "viewer" });
    expect(changed.json().defaultRole).toBe("viewer");
    const back = await putSso("A", { ...configA(), clientSecret: undefined, defaultRole: "marketer" });
    expect(back.statusCode).toBe(200);
    expect((await t.asA({ method: "POST", url: "/api/v1/sso/test" })).json()).toMatchObject({ ok: true });
  });

  it("are for owners and admins only", async () => {
    const marketer = await t.member(t.a, "marketer");
    expect((await t.asSession(marketer, { method: "GET", url: "/api/v1/sso" })).statusCode).toBe(403);
    expect(
      (await t.asSession(marketer, { method: "PUT", url: "/api/v1/sso", payload: configA() })).statusCode,
    ).toBe(403);
    const admin = await t.member(t.a, "admin");
    expect((await t.asSession(admin, { method: "GET", url: "/api/v1/sso" })).statusCode).toBe(200);
  });
});

describe("signing in with single sign-on", () => {
  it("creates a newcomer with the default role, signs them in with the session cookie, and audits it", async () => {
    const { start, callback } = await signInWithSso("acme", "alice-1", {
      email: "Alice.New@Acme.example",
      name: "Alice New",
    });
    const authorize = new URL(String(start.headers.location));
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("state")).toBeTruthy();
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    expect(authorize.searchParams.get("redirect_uri")).toBe(CALLBACK);

    expect(callback.statusCode, callback.body).toBe(303);
    expect(callback.headers.location).toBe("/");
    const sessionCookie = callback.cookies.find((cookie) => cookie.name === "omneural_session")!;
    expect(sessionCookie.httpOnly).toBe(true);
    expect(sessionCookie.sameSite).toBe("Lax");
    const { me } = await sessionOf(callback);
    expect(me.json()).toMatchObject({
      user: { email: "alice.new@acme.example", name: "Alice New" },
      workspace: { id: t.a.id },
      role: "marketer",
    });
    const { rows } = await t.database.handle.pool.query(
      "select actor_kind, actor_id, action, object_id, details from audit_log where workspace_id = $1 and action = 'session.sso_sign_in'",
      [t.a.id],
    );
    expect(rows).toEqual([
      {
        actor_kind: "user",
        actor_id: me.json().user.id,
        action: "session.sso_sign_in",
        object_id: me.json().user.id,
        details: { userCreated: true, memberAdded: true, role: "marketer" },
      },
    ]);
  });

  it("signs the same person in again as the same user", async () => {
    const { callback } = await signInWithSso("acme", "alice-1", { email: "alice.new@acme.example" });
    const { me } = await sessionOf(callback);
    const { rows } = await t.database.handle.pool.query(
      "select count(*)::int as n from users where lower(email) = 'alice.new@acme.example'",
    );
    expect(rows[0].n).toBe(1);
    expect(me.json().role).toBe("marketer");
  });

  it("matches an existing member by verified email and keeps their role", async () => {
    const viewer = await t.member(t.a, "viewer", "victor.viewer@acme.example");
    const { callback } = await signInWithSso(t.a.id, "victor", { email: "Victor.Viewer@ACME.example" });
    const { me } = await sessionOf(callback);
    expect(me.json()).toMatchObject({ user: { id: viewer.userId }, role: "viewer" });
  });

  it("refuses an email the provider does not say is verified", async () => {
    const { callback } = await signInWithSso("acme", "unverified", {
      email: "mallory@acme.example",
      emailVerified: false,
    });
    expect(callback.statusCode).toBe(403);
    expect(callback.headers["content-type"]).toMatch(/text\/html/);
    expect(callback.body).toContain("verified");
    expect(cookieValue(callback, "omneural_session")).toBeUndefined();
    const { rows } = await t.database.handle.pool.query(
      "select count(*)::int as n from users where email = 'mallory@acme.example'",
    );
    expect(rows[0].n).toBe(0);
  });

  it("refuses an email outside the allowed domains", async () => {
    const limited = await putSso("A", {
      ...configA(),
      clientSecret: undefined,
      allowedDomains: ["@ACME.example"],
    });
    expect(limited.json().allowedDomains).toEqual(["acme.example"]);
    const { callback } = await signInWithSso("acme", "outsider", { email: "olga@elsewhere.example" });
    expect(callback.statusCode).toBe(403);
    expect(callback.body).toContain("only for addresses at acme.example");
    expect(cookieValue(callback, "omneural_session")).toBeUndefined();
    const inside = await signInWithSso("acme", "alice-1", { email: "alice.new@acme.example" });
    expect(inside.callback.statusCode).toBe(303);
    const bad = await putSso("A", { ...configA(), allowedDomains: ["not a domain"] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([
      { field: "allowedDomains.0", message: "must be a domain such as example.com" },
    ]);
    await putSso("A", { ...configA(), allowedDomains: [] });
  });

  it("refuses an answer whose state is not the one this browser's sign-in sent", async () => {
    const { start, flowCookie, back } = await (async () => {
      const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
      const flowCookie = cookieValue(start, "omneural_sso")!;
      idp.signInAs("alice-1", { email: "alice.new@acme.example" });
      return { start, flowCookie, back: await followUntil(String(start.headers.location), CALLBACK) };
    })();
    expect(start.statusCode).toBe(303);
    back.searchParams.set("state", "tampered-state");
    const tampered = await t.anonymous({
      method: "GET",
      url: back.pathname + back.search,
      cookies: { omneural_sso: flowCookie },
    });
    expect(tampered.statusCode).toBe(400);
    expect(tampered.body).toContain("cannot be trusted");
    expect(cookieValue(tampered, "omneural_session")).toBeUndefined();
  });

  it("refuses an id_token whose nonce is not the one sent", async () => {
    const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
    const flowCookie = cookieValue(start, "omneural_sso")!;
    idp.signInAs("alice-1", { email: "alice.new@acme.example" });
    const back = await followUntil(String(start.headers.location), CALLBACK);
    // Only the server can make this cookie: it is sealed with the credentials key.
    const flow = JSON.parse(
      unseal(TEST_KEYS.credentials, Buffer.from(flowCookie, "base64url"), "sso sign-in flow"),
    );
    const forged = seal(
      TEST_KEYS.credentials,
      JSON.stringify({ ...flow, nonce: "another-nonce" }),
      "sso sign-in flow",
    );
    const callback = await t.anonymous({
      method: "GET",
      url: back.pathname + back.search,
      cookies: { omneural_sso: forged.toString("base64url") },
    });
    expect(callback.statusCode).toBe(401);
    expect(callback.body).toContain("did not pass");
    expect(cookieValue(callback, "omneural_session")).toBeUndefined();
  });

  it("refuses a callback without the sign-in's cookie, or with one altered", async () => {
    const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
    idp.signInAs("alice-1", { email: "alice.new@acme.example" });
    const back = await followUntil(String(start.headers.location), CALLBACK);
    const without = await t.anonymous({ method: "GET", url: back.pathname + back.search });
    expect(without.statusCode).toBe(400);
    expect(without.body).toContain("expired");
    const flowCookie = cookieValue(start, "omneural_sso")!;
    const altered = `${flowCookie.slice(0, -4)}AAAA`;
    const withAltered = await t.anonymous({
      method: "GET",
      url: back.pathname + back.search,
      cookies: { omneural_sso: altered },
    });
    expect(withAltered.statusCode).toBe(400);
  });

  it("explains the provider's refusal", async () => {
    const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
    const state = new URL(String(start.headers.location)).searchParams.get("state")!;
    const refused = await t.anonymous({
      method: "GET",
      url: `/api/session/sso/callback?error=access_denied&error_description=User+cancelled&state=${state}&iss=${encodeURIComponent(idp.issuer)}`,
      cookies: { omneural_sso: cookieValue(start, "omneural_sso")! },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.body).toContain("access_denied");
    expect(refused.body).toContain("User cancelled");
  });
});

describe("misconfiguration", () => {
  it("answers a readable page for a workspace without single sign-on", async () => {
    const response = await t.anonymous({
      method: "GET",
      url: "/api/session/sso/start?workspace=nobody-here",
    });
    expect(response.statusCode).toBe(404);
    expect(response.headers["content-type"]).toMatch(/text\/html/);
    expect(response.body).toContain("Single sign-on is not available");
    const byId = await t.anonymous({ method: "GET", url: `/api/session/sso/start?workspace=${t.b.id}` });
    expect(byId.statusCode).toBe(404);
  });

  it("says when the issuer cannot be reached", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(
      (
        await putSso("B", {
          slug: "globex",
          issuer: `http://127.0.0.1:${port}`,
          clientId: "x",
          clientSecret: "y",
        })
      ).statusCode,
    ).toBe(200);
    const tested = await t.asB({ method: "POST", url: "/api/v1/sso/test" });
    expect(tested.json()).toMatchObject({ ok: false, problem: "issuer_unreachable" });
    expect(tested.json().message).toContain("cannot be reached");
    const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=globex" });
    expect(start.statusCode).toBe(502);
    expect(start.body).toContain("cannot be reached");
  });

  it("says when the discovery document is missing or not one", async () => {
    await putSso("B", { slug: "globex", issuer: `${brokenIssuer}/missing`, clientId: "x" });
    const missing = await t.asB({ method: "POST", url: "/api/v1/sso/test" });
    expect(missing.json()).toMatchObject({ ok: false, problem: "discovery_failed" });
    expect(missing.json().message).toContain("404");
    await putSso("B", { slug: "globex", issuer: `${brokenIssuer}/html`, clientId: "x" });
    const html = await t.asB({ method: "POST", url: "/api/v1/sso/test" });
    expect(html.json()).toMatchObject({ ok: false, problem: "discovery_invalid" });
  });

  it("says when the provider refuses the client secret", async () => {
    await putSso("A", { ...configA(), clientSecret: "not the right secret" });
    const { callback } = await signInWithSso("acme", "alice-1", { email: "alice.new@acme.example" });
    expect(callback.statusCode).toBe(502);
    expect(callback.body).toContain("client secret");
    expect(cookieValue(callback, "omneural_session")).toBeUndefined();
    expect((await putSso("A", configA())).statusCode).toBe(200);
  });

  it("answers 404 to the settings and the test while none are set up", async () => {
    expect((await t.asB({ method: "DELETE", url: "/api/v1/sso" })).statusCode).toBe(200);
    expect((await t.asB({ method: "GET", url: "/api/v1/sso" })).statusCode).toBe(404);
    expect((await t.asB({ method: "POST", url: "/api/v1/sso/test" })).statusCode).toBe(404);
    expect((await t.asB({ method: "DELETE", url: "/api/v1/sso" })).statusCode).toBe(404);
  });
});

describe("SSO required", () => {
  let marketer: TestSession;
  let owner: TestSession;

  it("ends members' password sessions when turned on, except owners'", async () => {
    marketer = await t.member(t.a, "marketer", "marta.marketer@acme.example");
    owner = await t.member(t.a, "owner", "otto.owner@acme.example");
    const turnedOn = await putSso("A", { ...configA(), ssoRequired: true });
    expect(turnedOn.json().ssoRequired).toBe(true);
    const ended = await t.asSession(marketer, { method: "GET", url: "/api/session" });
    expect(ended.statusCode).toBe(401);
    expect(ended.json().code).toBe("SESSION_EXPIRED");
    expect((await t.asSession(owner, { method: "GET", url: "/api/session" })).statusCode).toBe(200);
  });

  it("refuses members' password sign-in, and names the way in", async () => {
    const refused = await passwordSignIn(marketer.email, marketer.password);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: "FORBIDDEN", ssoWorkspace: "acme" });
    expect(refused.json().detail).toContain("single sign-on");
    expect(cookieValue(refused, "omneural_session")).toBeUndefined();
    const { rows } = await t.database.handle.pool.query(
      "select count(*)::int as n from sessions where user_id = $1",
      [marketer.userId],
    );
    expect(rows[0].n).toBe(0);
  });

  it("still lets owners sign in with a password, so nobody is locked out", async () => {
    const signedIn = await passwordSignIn(owner.email, owner.password);
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json().workspace.id).toBe(t.a.id);
  });

  it("signs a member of another workspace in there instead, and keeps them from switching in", async () => {
    const both = await t.member(t.b, "marketer", "bea.both@acme.example");
    await t.database.handle.pool.query(
      "insert into workspace_members (workspace_id, user_id, role, created_at) values ($1, $2, 'marketer', now() - interval '1 day')",
      [t.a.id, both.userId],
    );
    const signedIn = await passwordSignIn(both.email, both.password);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    expect(signedIn.json().workspace.id).toBe(t.b.id);
    const session = {
      ...both,
      token: cookieValue(signedIn, "omneural_session")!,
      csrfToken: signedIn.json().csrfToken,
    };
    const switched = await t.asSession(session, {
      method: "PUT",
      url: "/api/session/workspace",
      payload: { workspaceId: t.a.id },
    });
    expect(switched.statusCode).toBe(403);
    expect(switched.json().detail).toContain("requires single sign-on");
  });

  it("lets an invitation be accepted, but not signed in to with a password", async () => {
    const invitation = await t.asA({
      method: "POST",
      url: "/api/v1/team/invitations",
      payload: { email: "ivan.invited@acme.example", role: "marketer" },
    });
    const token = String(invitation.json().link).split("/").pop()!;
    const accepted = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { name: "Ivan Invited", password: "a long enough password" },
    });
    expect(accepted.statusCode).toBe(403);
    expect(accepted.json()).toMatchObject({ code: "FORBIDDEN", ssoWorkspace: "acme" });
    expect(cookieValue(accepted, "omneural_session")).toBeUndefined();
    const team = await t.asA({ method: "GET", url: "/api/v1/team" });
    expect(team.json().members).toContainEqual(
      expect.objectContaining({ email: "ivan.invited@acme.example", role: "marketer" }),
    );
  });

  it("lets members in through single sign-on", async () => {
    const { callback } = await signInWithSso("acme", "marta", { email: "marta.marketer@acme.example" });
    expect(callback.statusCode).toBe(303);
    const { me } = await sessionOf(callback);
    expect(me.json()).toMatchObject({ user: { id: marketer.userId }, role: "marketer" });
    const api = await t.anonymous({
      method: "GET",
      url: "/api/v1/workspace",
      cookies: { omneural_session: cookieValue(callback, "omneural_session")! },
    });
    expect(api.statusCode).toBe(200);
    await putSso("A", { ...configA(), ssoRequired: false });
  });
});

describe("workspace isolation", () => {
  it("keeps another workspace from reading, changing, deleting or taking the settings", async () => {
    expect((await t.asB({ method: "GET", url: "/api/v1/sso" })).statusCode).toBe(404);
    const taken = await putSso("B", { ...configA(), clientId: "omneural-globex", clientSecret: SECRET_B });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().errors).toEqual([{ field: "slug", message: "is taken by another workspace" }]);
    expect(taken.body).not.toContain(SECRET_A);
    expect((await t.asB({ method: "DELETE", url: "/api/v1/sso" })).statusCode).toBe(404);
    const a = await t.asA({ method: "GET", url: "/api/v1/sso" });
    expect(a.json()).toMatchObject({ slug: "acme", clientId: "omneural-acme" });
  });

  it("binds a session to the workspace whose provider signed it in", async () => {
    const saved = await putSso("B", {
      slug: "globex",
      issuer: idp.issuer,
      clientId: "omneural-globex",
      clientSecret: SECRET_B,
      defaultRole: "viewer",
    });
    expect(saved.statusCode, saved.body).toBe(200);
    // A member of A signs in through B's provider: they join B as a viewer, and only B.
    const { callback } = await signInWithSso("globex", "alice-1", { email: "alice.new@acme.example" });
    const { token, me } = await sessionOf(callback);
    expect(me.json()).toMatchObject({ workspace: { id: t.b.id }, role: "viewer" });
    const switched = await t.anonymous({
      method: "PUT",
      url: "/api/session/workspace",
      cookies: { omneural_session: token },
      headers: { "x-csrf-token": me.json().csrfToken },
      payload: { workspaceId: t.a.id },
    });
    expect(switched.statusCode).toBe(403);
    // Removed from B, the session ends rather than moving to A.
    await t.database.handle.pool.query(
      "delete from workspace_members where workspace_id = $1 and user_id = $2",
      [t.b.id, me.json().user.id],
    );
    const after = await t.anonymous({
      method: "GET",
      url: "/api/v1/contacts",
      cookies: { omneural_session: token },
    });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe("SESSION_EXPIRED");
  });
});

describe("a changed SECRET_KEY", () => {
  it("asks for the client secret again instead of failing", async () => {
    const saved = await t.database.handle.pool.query(
      "select client_secret from sso_configs where workspace_id = $1",
      [t.a.id],
    );
    const other = seal(TEST_KEYS.links, SECRET_A, `sso client secret:${t.a.id}`);
    await t.database.handle.pool.query("update sso_configs set client_secret = $2 where workspace_id = $1", [
      t.a.id,
      other,
    ]);
    try {
      const tested = await t.asA({ method: "POST", url: "/api/v1/sso/test" });
      expect(tested.statusCode).toBe(409);
      expect(tested.json().errors).toEqual([{ field: "clientSecret", message: "must be entered again" }]);
      const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
      expect(start.statusCode).toBe(503);
      expect(start.body).toContain("enter the client secret again");
    } finally {
      await t.database.handle.pool.query(
        "update sso_configs set client_secret = $2 where workspace_id = $1",
        [t.a.id, saved.rows[0].client_secret],
      );
    }
  });
});

describe("garbage", () => {
  it("never gets a 5xx from the sign-in endpoints", async () => {
    const start = await t.anonymous({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
    const flowCookie = cookieValue(start, "omneural_sso")!;
    const state = new URL(String(start.headers.location)).searchParams.get("state")!;
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom("", "acme", state, t.a.id, "%", "%00"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("start", "callback"),
        fc.dictionary(fc.constantFrom("workspace", "code", "state", "error", "iss", "x"), text),
        fc.oneof(fc.constant(undefined), fc.constant(flowCookie), fc.string({ maxLength: 200 })),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 60 })),
        async (endpoint, query, flow, session) => {
          const response = await t.anonymous({
            method: "GET",
            url: `/api/session/sso/${endpoint}`,
            query,
            cookies: {
              ...(flow === undefined ? {} : { omneural_sso: flow }),
              ...(session === undefined ? {} : { omneural_session: session }),
            },
          });
          expect(response.statusCode, `${endpoint} ${JSON.stringify(query)}: ${response.body}`).toBeLessThan(
            500,
          );
          expect(
            response.headers["content-type"] ?? (response.statusCode === 303 ? "none" : undefined),
          ).toBeTruthy();
        },
      ),
      { seed: 20261128, numRuns: 150 },
    );
  });
});

describe("logs", () => {
  it("never show the client secret", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "trace" }, { write: (line: string) => void lines.push(line) });
    const app = await buildApp({ deps: { ...t.app.deps }, logger });
    try {
      const secret = "logged secret 0b1d2c";
      const saved = await app.inject({
        method: "PUT",
        url: "/api/v1/sso",
        headers: { authorization: `Bearer ${t.a.apiKey}` },
        payload: { ...configA(), clientSecret: secret },
      });
      expect(saved.statusCode).toBe(200);
      await app.inject({
        method: "POST",
        url: "/api/v1/sso/test",
        headers: { authorization: `Bearer ${t.a.apiKey}` },
      });
      const start = await app.inject({ method: "GET", url: "/api/session/sso/start?workspace=acme" });
      expect(start.statusCode).toBe(303);
      expect(lines.length).toBeGreaterThan(3);
      expect(lines.join("\n")).not.toContain(secret);
      expect(lines.join("\n")).not.toContain(SECRET_A);
    } finally {
      await app.close();
      await putSso("A", configA());
    }
  });
});
