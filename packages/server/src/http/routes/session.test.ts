import { describe, expect, it } from "vitest";
import { type TestSession, useTestApp } from "../../testing/app.ts";

const t = useTestApp();

const OWNER = {
  name: "Olivia Owner",
  email: "Olivia@Acme.example",
  password: "a long enough password",
  workspaceName: "Olivia's shop",
  defaultCountry: "GB",
  defaultTimezone: "Europe/London",
};

function cookieOf(response: { headers: Record<string, unknown> }): string {
  const header = response.headers["set-cookie"];
  const all = Array.isArray(header) ? header : [String(header ?? "")];
  return all.find((c) => String(c).startsWith("omneural_session=")) ?? "";
}

function tokenOf(response: { headers: Record<string, unknown> }): string {
  return /^omneural_session=([^;]*)/.exec(cookieOf(response))?.[1] ?? "";
}

function sessionFrom(response: {
  headers: Record<string, unknown>;
  json(): { csrfToken: string; user: { id: string } };
}): TestSession {
  return {
    userId: response.json().user.id,
    email: OWNER.email,
    password: OWNER.password,
    token: tokenOf(response),
    csrfToken: response.json().csrfToken,
  };
}

const signIn = (email: string, password: string) =>
  t.anonymous({ method: "POST", url: "/api/session", payload: { email, password } });

describe("first-run setup", () => {
  it("is needed while no user exists", async () => {
    const response = await t.anonymous({ method: "GET", url: "/api/setup" });
    expect(response.json()).toEqual({ needsSetup: true });
  });

  it("refuses a short password with the field named", async () => {
    const response = await t.anonymous({
      method: "POST",
      url: "/api/setup",
      payload: { ...OWNER, password: "short" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([expect.objectContaining({ field: "password" })]);
  });

  it("lets exactly one of two concurrent setups succeed, and signs its user in as owner", async () => {
    const [first, second] = await Promise.all([
      t.anonymous({ method: "POST", url: "/api/setup", payload: OWNER }),
      t.anonymous({ method: "POST", url: "/api/setup", payload: OWNER }),
    ]);
    const statuses = [first.statusCode, second.statusCode].sort();
    expect(statuses).toEqual([201, 409]);
    const winner = first.statusCode === 201 ? first : second;
    expect(winner.json()).toMatchObject({
      user: { name: OWNER.name },
      role: "owner",
      csrfToken: expect.any(String),
    });
    expect(winner.json().workspaces).toHaveLength(1);
    const cookie = cookieOf(winner);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/i); // PUBLIC_URL is http
    const { rows } = await t.database.handle.pool.query(
      "select (select count(*)::int from users) as users, (select count(*)::int from workspaces where name = $1) as workspaces",
      [OWNER.workspaceName],
    );
    expect(rows[0]).toEqual({ users: 1, workspaces: 1 });
  });

  it("is refused once a user exists", async () => {
    expect((await t.anonymous({ method: "GET", url: "/api/setup" })).json()).toEqual({ needsSetup: false });
    const again = await t.anonymous({ method: "POST", url: "/api/setup", payload: OWNER });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("CONFLICT");
  });
});

describe("signing in", () => {
  it("accepts the email in any case and sets the session cookie", async () => {
    const response = await signIn("olivia@ACME.example", OWNER.password);
    expect(response.statusCode, response.body).toBe(200);
    const session = sessionFrom(response);
    const me = await t.asSession(session, { method: "GET", url: "/api/session" });
    expect(me.json()).toMatchObject({
      user: { email: "olivia@acme.example", name: OWNER.name },
      workspace: { name: OWNER.workspaceName },
      role: "owner",
      csrfToken: session.csrfToken,
    });
    const workspace = await t.asSession(session, { method: "GET", url: "/api/v1/workspace" });
    expect(workspace.json()).toMatchObject({ name: OWNER.workspaceName, defaultCountry: "GB" });
  });

  it("answers a wrong password and an unknown email alike", async () => {
    const wrong = await signIn(OWNER.email, "not the password at all");
    const unknown = await signIn("nobody@acme.example", OWNER.password);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));
    expect(wrong.json().code).toBe("SIGN_IN_FAILED");
    expect(cookieOf(wrong)).toBe("");
  });

  it("refuses further attempts for a while after repeated failures, even with the right password", async () => {
    const member = await t.member(t.a, "marketer", "throttled@acme.example");
    for (let i = 0; i < 5; i++) expect((await signIn(member.email, `wrong guess ${i}`)).statusCode).toBe(401);
    const blocked = await signIn(member.email, member.password);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe("RATE_LIMITED");
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("without a session, GET /api/session is 401", async () => {
    const response = await t.anonymous({ method: "GET", url: "/api/session" });
    expect(response.statusCode).toBe(401);
  });
});

describe("the session cookie on /api/v1", () => {
  it("reads without a CSRF token", async () => {
    const member = await t.member(t.a, "marketer");
    const response = await t.asSession(member, { method: "GET", url: "/api/v1/contacts" }, { csrf: false });
    expect(response.statusCode).toBe(200);
  });

  it("refuses a change without the CSRF token, or with a wrong one, and accepts it with the right one", async () => {
    const member = await t.member(t.a, "marketer");
    const create = {
      method: "POST" as const,
      url: "/api/v1/contacts",
      payload: { email: "csrf@acme.example" },
    };
    const missing = await t.asSession(member, create, { csrf: false });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe("CSRF_TOKEN_INVALID");
    const wrong = await t.asSession(
      member,
      { ...create, headers: { "x-csrf-token": "x".repeat(43) } },
      { csrf: false },
    );
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe("CSRF_TOKEN_INVALID");
    const { rows } = await t.database.handle.pool.query(
      "select count(*)::int as n from contacts where email = $1",
      ["csrf@acme.example"],
    );
    expect(rows[0].n).toBe(0);
    const right = await t.asSession(member, create);
    expect(right.statusCode, right.body).toBe(201);
  });

  it("needs no CSRF token with an API key", async () => {
    const response = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "key@acme.example" },
    });
    expect(response.statusCode).toBe(201);
  });

  it("ends after the idle timeout, and after the absolute lifetime", async () => {
    const idle = await t.member(t.a, "viewer");
    await t.database.handle.pool.query(
      "update sessions set last_seen_at = now() - interval '8 days' where user_id = $1",
      [idle.userId],
    );
    const idleResponse = await t.asSession(idle, { method: "GET", url: "/api/v1/contacts" });
    expect(idleResponse.statusCode).toBe(401);
    expect(idleResponse.json().code).toBe("SESSION_EXPIRED");
    expect(cookieOf(idleResponse)).toMatch(/omneural_session=;/);
    const { rows } = await t.database.handle.pool.query(
      "select count(*)::int as n from sessions where user_id = $1",
      [idle.userId],
    );
    expect(rows[0].n).toBe(0);

    const old = await t.member(t.a, "viewer");
    await t.database.handle.pool.query(
      "update sessions set expires_at = now() - interval '1 second' where user_id = $1",
      [old.userId],
    );
    expect((await t.asSession(old, { method: "GET", url: "/api/session" })).statusCode).toBe(401);
  });

  it("is refused once signed out", async () => {
    const member = await t.member(t.a, "marketer");
    const withoutToken = await t.asSession(
      member,
      { method: "DELETE", url: "/api/session" },
      { csrf: false },
    );
    expect(withoutToken.statusCode).toBe(403);
    const out = await t.asSession(member, { method: "DELETE", url: "/api/session" });
    expect(out.statusCode).toBe(204);
    expect(cookieOf(out)).toMatch(/omneural_session=;/);
    const after = await t.asSession(member, { method: "GET", url: "/api/v1/contacts" });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe("SESSION_EXPIRED");
  });
});

describe("roles", () => {
  it("lets a viewer read and preview but not create, launch or change anything", async () => {
    const viewer = await t.member(t.a, "viewer");
    expect((await t.asSession(viewer, { method: "GET", url: "/api/v1/contacts" })).statusCode).toBe(200);
    const create = await t.asSession(viewer, {
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "viewer.made@acme.example" },
    });
    expect(create.statusCode).toBe(403);
    expect(create.json().code).toBe("FORBIDDEN");
    const campaign = await createCampaign();
    const launch = await t.asSession(viewer, { method: "POST", url: `/api/v1/campaigns/${campaign}/launch` });
    expect(launch.statusCode).toBe(403);
    const after = await t.asA({ method: "GET", url: `/api/v1/campaigns/${campaign}` });
    expect(after.json().status).toBe("draft");
    const preview = await t.asSession(viewer, {
      method: "POST",
      url: "/api/v1/audiences/preview",
      payload: { definition: { kind: "field", field: "email", type: "string", condition: { op: "exists" } } },
    });
    expect(preview.statusCode, preview.body).toBe(200);
    const templatePreview = await t.asSession(viewer, {
      method: "POST",
      url: "/api/v1/templates/preview",
      payload: { channel: "sms", content: { body: "Hello" } },
    });
    expect(templatePreview.statusCode, templatePreview.body).toBe(200);
  });

  it("lets a viewer dry-run a retention policy, and only an admin run it for real", async () => {
    const viewer = await t.member(t.a, "viewer");
    const marketer = await t.member(t.a, "marketer");
    const url = "/api/v1/retention/policies/finished_journeys/run";
    expect((await t.asSession(viewer, { method: "POST", url, payload: {} })).statusCode).not.toBe(403);
    expect((await t.asSession(viewer, { method: "POST", url, payload: { dryRun: false } })).statusCode).toBe(
      403,
    );
    expect(
      (await t.asSession(marketer, { method: "POST", url, payload: { dryRun: false } })).statusCode,
    ).toBe(403);
  });

  it("keeps admin-only settings from marketers", async () => {
    const marketer = await t.member(t.a, "marketer");
    const admin = await t.member(t.a, "admin");
    const policy = {
      method: "PUT" as const,
      url: "/api/v1/retention/policies/finished_journeys",
      payload: { enabled: false, settings: { olderThanDays: 90 } },
    };
    expect((await t.asSession(marketer, policy)).statusCode).toBe(403);
    const byAdmin = await t.asSession(admin, policy);
    expect(byAdmin.statusCode, byAdmin.body).toBe(200);
    const provider = await t.asSession(marketer, {
      method: "DELETE",
      url: "/api/v1/workspace/providers/email",
    });
    expect(provider.statusCode).toBe(403);
    const sender = await t.asSession(marketer, {
      method: "PUT",
      url: "/api/v1/workspace/sender",
      payload: { fromAddress: "news@acme.example", postalAddress: "1 High St, Springfield" },
    });
    expect(sender.statusCode, sender.body).toBe(200);
  });
});

describe("workspaces", () => {
  it("keeps a session of workspace A out of workspace B's contacts", async () => {
    const bContact = await t.asB({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "bea@globex.example" },
    });
    const member = await t.member(t.a, "owner");
    const read = await t.asSession(member, { method: "GET", url: `/api/v1/contacts/${bContact.json().id}` });
    expect(read.statusCode).toBe(404);
    const list = await t.asSession(member, {
      method: "GET",
      url: "/api/v1/contacts?search=bea@globex.example",
    });
    expect(list.json().data).toEqual([]);
  });

  it("switches among the user's own workspaces only", async () => {
    const member = await t.member(t.a, "marketer");
    const other = await t.asB({ method: "GET", url: "/api/v1/workspace" });
    const refused = await t.asSession(member, {
      method: "PUT",
      url: "/api/session/workspace",
      payload: { workspaceId: other.json().id },
    });
    expect(refused.statusCode).toBe(404);
    await t.database.handle.pool.query(
      "insert into workspace_members (workspace_id, user_id, role) values ($1, $2, 'viewer')",
      [t.b.id, member.userId],
    );
    const switched = await t.asSession(member, {
      method: "PUT",
      url: "/api/session/workspace",
      payload: { workspaceId: t.b.id },
    });
    expect(switched.statusCode, switched.body).toBe(200);
    expect(switched.json()).toMatchObject({ workspace: { id: t.b.id, name: "Globex" }, role: "viewer" });
    expect(switched.json().workspaces).toHaveLength(2);
    const contacts = await t.asSession(member, {
      method: "GET",
      url: "/api/v1/contacts?search=bea@globex.example",
    });
    expect(contacts.json().data).toHaveLength(1);
    const create = await t.asSession(member, {
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "x@y.example" },
    });
    expect(create.statusCode).toBe(403);
  });

  it("moves a member removed from the current workspace to one they still belong to", async () => {
    const member = await t.member(t.a, "marketer");
    await t.database.handle.pool.query(
      "insert into workspace_members (workspace_id, user_id, role) values ($1, $2, 'viewer')",
      [t.b.id, member.userId],
    );
    await t.database.handle.pool.query(
      "delete from workspace_members where workspace_id = $1 and user_id = $2",
      [t.a.id, member.userId],
    );
    const me = await t.asSession(member, { method: "GET", url: "/api/session" });
    expect(me.json()).toMatchObject({ workspace: { id: t.b.id }, role: "viewer" });
    await t.database.handle.pool.query("delete from workspace_members where user_id = $1", [member.userId]);
    expect((await t.asSession(member, { method: "GET", url: "/api/v1/contacts" })).statusCode).toBe(401);
  });
});

/** A draft campaign of workspace A, made with A's API key. */
async function createCampaign(): Promise<string> {
  const post = async (url: string, payload: object) => {
    const response = await t.asA({ method: "POST", url, payload });
    expect(response.statusCode, `${url}: ${response.body}`).toBeLessThan(300);
    return response.json().id as string;
  };
  const list = await post("/api/v1/audiences", { name: `List ${Math.random()}`, kind: "list" });
  const template = await post("/api/v1/templates", {
    name: `Hello ${Math.random()}`,
    channel: "email",
    content: { subject: "Hi", html: "<p>Hi</p>" },
  });
  const workflow = await post("/api/v1/workflows", {
    name: `Flow ${Math.random()}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "hello" } },
        { id: "hello", type: "send", channel: "email", templateId: template, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await post(`/api/v1/workflows/${workflow}/publish`, {});
  return post("/api/v1/campaigns", {
    name: `Campaign ${Math.random()}`,
    audienceId: list,
    workflowId: workflow,
  });
}
