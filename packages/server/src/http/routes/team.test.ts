import { redactLinkTokens } from "@omneural/core/shared/logger";
import { beforeAll, describe, expect, it } from "vitest";
import { type TestSession, useTestApp } from "../../testing/app.ts";

const t = useTestApp();

let owner: TestSession;

beforeAll(async () => {
  owner = await t.member(t.a, "owner", "owner@acme.example");
});

function tokenOf(link: string): string {
  return link.split("/invite/")[1]!;
}

function cookieTokenOf(response: { headers: Record<string, unknown> }): string {
  const header = response.headers["set-cookie"];
  const all = Array.isArray(header) ? header : [String(header ?? "")];
  return /omneural_session=([^;]*)/.exec(all.join("\n"))?.[1] ?? "";
}

async function invite(by: TestSession, email: string, role: string) {
  return t.asSession(by, { method: "POST", url: "/api/v1/team/invitations", payload: { email, role } });
}

describe("the team", () => {
  it("lists the workspace's members", async () => {
    const response = await t.asSession(owner, { method: "GET", url: "/api/v1/team" });
    expect(response.statusCode).toBe(200);
    expect(response.json().members).toEqual([
      expect.objectContaining({ userId: owner.userId, email: "owner@acme.example", role: "owner" }),
    ]);
  });

  it("is changed by owners and admins only", async () => {
    const marketer = await t.member(t.a, "marketer");
    const viewer = await t.member(t.a, "viewer");
    for (const who of [marketer, viewer]) {
      const response = await invite(who, "nope@acme.example", "viewer");
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe("FORBIDDEN");
      expect((await t.asSession(who, { method: "GET", url: "/api/v1/team" })).statusCode).toBe(200);
    }
    const admin = await t.member(t.a, "admin");
    expect((await invite(admin, "new.owner@acme.example", "owner")).statusCode).toBe(403);
    const byAdmin = await invite(admin, "new.marketer@acme.example", "marketer");
    expect(byAdmin.statusCode, byAdmin.body).toBe(201);
  });
});

describe("invitations", () => {
  it("returns the link once, and lists the invitation without it", async () => {
    const created = await invite(owner, "Vera@Acme.example", "viewer");
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      email: "vera@acme.example",
      role: "viewer",
      invitedBy: "A owner",
    });
    expect(created.json().link).toMatch(/^http:\/\/omneural\.test\/invite\/[A-Za-z0-9_-]{43}$/);
    const token = tokenOf(created.json().link);
    const team = await t.asSession(owner, { method: "GET", url: "/api/v1/team" });
    expect(team.json().invitations).toContainEqual(expect.objectContaining({ email: "vera@acme.example" }));
    expect(team.body).not.toContain(token);
    const { rows } = await t.database.handle.pool.query(
      "select token_hash from invitations where email = $1",
      ["vera@acme.example"],
    );
    expect(rows[0].token_hash.toString("base64url")).not.toBe(token);
    expect(redactLinkTokens(`/api/invitations/${token}/accept`)).toBe("/api/invitations/[token]/accept");
    expect(redactLinkTokens(`/invite/${token}`)).toBe("/invite/[token]");
  });

  it("are accepted by a newcomer, who is then signed in with the invited role", async () => {
    const created = await invite(owner, "newcomer@acme.example", "viewer");
    const token = tokenOf(created.json().link);
    const preview = await t.anonymous({ method: "GET", url: `/api/invitations/${token}` });
    expect(preview.json()).toMatchObject({
      workspaceName: "Acme",
      email: "newcomer@acme.example",
      role: "viewer",
      existingUser: false,
    });
    const short = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { name: "Nina", password: "short" },
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().errors).toEqual([expect.objectContaining({ field: "password" })]);
    const accepted = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { name: "Nina Newcomer", password: "nina's long password" },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({
      user: { name: "Nina Newcomer" },
      role: "viewer",
      workspace: { id: t.a.id },
    });
    const session: TestSession = {
      userId: accepted.json().user.id,
      email: "newcomer@acme.example",
      password: "",
      token: cookieTokenOf(accepted),
      csrfToken: accepted.json().csrfToken,
    };
    expect((await t.asSession(session, { method: "GET", url: "/api/v1/contacts" })).statusCode).toBe(200);
    const create = await t.asSession(session, {
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "n@x.example" },
    });
    expect(create.statusCode).toBe(403);

    const again = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { name: "Nina again", password: "nina's long password" },
    });
    expect(again.statusCode).toBe(404);
    const team = await t.asSession(owner, { method: "GET", url: "/api/v1/team" });
    expect(team.json().invitations.map((i: { email: string }) => i.email)).not.toContain(
      "newcomer@acme.example",
    );
    expect(team.json().members).toContainEqual(
      expect.objectContaining({ email: "newcomer@acme.example", role: "viewer" }),
    );
  });

  it("ask a user who already has an account for that account's password", async () => {
    const elsewhere = await t.member(t.b, "owner", "bea@globex.example");
    const created = await invite(owner, "bea@globex.example", "marketer");
    const token = tokenOf(created.json().link);
    expect((await t.anonymous({ method: "GET", url: `/api/invitations/${token}` })).json().existingUser).toBe(
      true,
    );
    const wrong = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { password: "not bea's password" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe("SIGN_IN_FAILED");
    const accepted = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { password: elsewhere.password },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json().user.id).toBe(elsewhere.userId);
    expect(
      accepted
        .json()
        .workspaces.map((w: { role: string }) => w.role)
        .sort(),
    ).toEqual(["marketer", "owner"]);
  });

  it("can be revoked, after which the link no longer works", async () => {
    const created = await invite(owner, "revoked@acme.example", "marketer");
    const token = tokenOf(created.json().link);
    const revoked = await t.asSession(owner, {
      method: "DELETE",
      url: `/api/v1/team/invitations/${created.json().id}`,
    });
    expect(revoked.statusCode).toBe(200);
    expect((await t.anonymous({ method: "GET", url: `/api/invitations/${token}` })).statusCode).toBe(404);
  });

  it("refuse an email that is already a member", async () => {
    const response = await invite(owner, "owner@acme.example", "viewer");
    expect(response.statusCode).toBe(409);
  });

  it("expire", async () => {
    const created = await invite(owner, "late@acme.example", "viewer");
    await t.database.handle.pool.query(
      "update invitations set expires_at = now() - interval '1 minute' where id = $1",
      [created.json().id],
    );
    const response = await t.anonymous({
      method: "GET",
      url: `/api/invitations/${tokenOf(created.json().link)}`,
    });
    expect(response.statusCode).toBe(404);
  });

  it("may be made with the API key, which acts with full rights", async () => {
    const response = await t.asA({
      method: "POST",
      url: "/api/v1/team/invitations",
      payload: { email: "by.key@acme.example", role: "admin" },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json().invitedBy).toBeNull();
  });
});

describe("members", () => {
  it("keep the last owner: neither demoted nor removed", async () => {
    const demote = await t.asSession(owner, {
      method: "PATCH",
      url: `/api/v1/team/members/${owner.userId}`,
      payload: { role: "admin" },
    });
    expect(demote.statusCode).toBe(409);
    const remove = await t.asSession(owner, {
      method: "DELETE",
      url: `/api/v1/team/members/${owner.userId}`,
    });
    expect(remove.statusCode).toBe(409);
    const second = await t.member(t.a, "admin");
    const promoted = await t.asSession(owner, {
      method: "PATCH",
      url: `/api/v1/team/members/${second.userId}`,
      payload: { role: "owner" },
    });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect(promoted.json()).toMatchObject({ userId: second.userId, role: "owner" });
    const nowDemoted = await t.asSession(second, {
      method: "PATCH",
      url: `/api/v1/team/members/${owner.userId}`,
      payload: { role: "admin" },
    });
    expect(nowDemoted.statusCode, nowDemoted.body).toBe(200);
    // Restore, for the tests after.
    await t.asSession(second, {
      method: "PATCH",
      url: `/api/v1/team/members/${owner.userId}`,
      payload: { role: "owner" },
    });
  });

  it("admins manage non-owners only", async () => {
    const admin = await t.member(t.a, "admin");
    const marketer = await t.member(t.a, "marketer");
    const toViewer = await t.asSession(admin, {
      method: "PATCH",
      url: `/api/v1/team/members/${marketer.userId}`,
      payload: { role: "viewer" },
    });
    expect(toViewer.statusCode).toBe(200);
    const ownerChange = await t.asSession(admin, {
      method: "DELETE",
      url: `/api/v1/team/members/${owner.userId}`,
    });
    expect(ownerChange.statusCode).toBe(403);
    const removed = await t.asSession(admin, {
      method: "DELETE",
      url: `/api/v1/team/members/${marketer.userId}`,
    });
    expect(removed.statusCode).toBe(200);
    // The removed member's session no longer reaches the workspace.
    expect((await t.asSession(marketer, { method: "GET", url: "/api/v1/contacts" })).statusCode).toBe(401);
  });

  it("of another workspace are not found", async () => {
    const response = await t.asB({
      method: "PATCH",
      url: `/api/v1/team/members/${owner.userId}`,
      payload: { role: "viewer" },
    });
    expect(response.statusCode).toBe(404);
    const team = await t.asB({ method: "GET", url: "/api/v1/team" });
    expect(team.body).not.toContain("owner@acme.example");
  });
});
