/**
 * The sign-in endpoints' audit entries (docs/audit-log.md): sign-ins, failed sign-ins (with the email
 * tried, never the password), sign-outs, and accepted invitations.
 */
import { listAudit } from "@omneural/core/audit/audit.service";
import { insertMember } from "@omneural/core/users/user.repository";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { type TestSession, useTestApp } from "../../testing/app.ts";

const t = useTestApp();
const db = () => t.database.handle.db;

let member: TestSession;
beforeAll(async () => {
  member = await t.member(t.a, "marketer");
  // A member of both workspaces: a failed sign-in on the account shows in each.
  await insertMember(db(), { workspaceId: t.b.id, userId: member.userId, role: "viewer" });
});

const entries = async (workspaceId: string, action: string) =>
  (await listAudit(db(), workspaceId, { action })).data;

const signIn = (email: string, password: string) =>
  t.anonymous({ method: "POST", url: "/api/session", payload: { email, password } });

describe("the audit log of the sign-in endpoints", () => {
  it("records a sign-in by the user, in the workspace the session opens", async () => {
    const response = await signIn(member.email, member.password);
    expect(response.statusCode).toBe(200);
    const [entry] = await entries(t.a.id, "session.sign_in");
    expect(entry).toMatchObject({
      actor: { kind: "user", id: member.userId, label: member.email },
      action: "session.sign_in",
      objectType: "session",
      objectId: member.userId,
      status: 200,
      requestId: response.headers["x-request-id"],
      ip: "127.0.0.1",
      details: { via: "password" },
    });
  });

  it("records a failed sign-in in each workspace of the account, with the email tried, never the password", async () => {
    const wrong = "not-the-password-Zq81!";
    const tried = member.email.toUpperCase();
    expect((await signIn(tried, wrong)).statusCode).toBe(401);
    for (const workspaceId of [t.a.id, t.b.id]) {
      const [entry] = await entries(workspaceId, "session.sign_in_fail");
      expect(entry).toMatchObject({
        actor: { kind: "anonymous", id: "sign-in", label: tried },
        objectId: member.userId,
        status: 401,
      });
    }
    const { rows } = await sql<{ row: string }>`select row_to_json(a)::text as row from audit_log a`.execute(
      db(),
    );
    expect(rows.some(({ row }) => row.includes(wrong))).toBe(false);
    expect(rows.some(({ row }) => row.includes(member.password))).toBe(false);
  });

  it("keeps a failed sign-in with an unknown email out of every workspace (the log has it)", async () => {
    const before = (await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(db())).rows[0]!
      .n;
    expect((await signIn("nobody@nowhere.example", "whatever-password")).statusCode).toBe(401);
    const after = (await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(db())).rows[0]!
      .n;
    expect(after).toBe(before);
  });

  it("records a sign-out by the user", async () => {
    const session = await t.member(t.a, "viewer");
    const response = await t.asSession(session, { method: "DELETE", url: "/api/session" });
    expect(response.statusCode).toBe(204);
    const mine = (await entries(t.a.id, "session.sign_out")).filter((e) => e.actor.id === session.userId);
    expect(mine).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ kind: "user" }), status: 204 }),
    ]);
  });

  it("records an accepted invitation and the sign-in it makes", async () => {
    const invited = await t.asA({
      method: "POST",
      url: "/api/v1/team/invitations",
      payload: { email: "newcomer@team.example", role: "viewer" },
    });
    const token = new URL(invited.json().link).pathname.split("/").pop()!;
    const accepted = await t.anonymous({
      method: "POST",
      url: `/api/invitations/${token}/accept`,
      payload: { name: "New Comer", password: "a long enough password" },
    });
    expect(accepted.statusCode).toBe(200);
    const userId = accepted.json().user.id;
    expect(await entries(t.a.id, "invitation.accept")).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ kind: "user", id: userId }),
        objectId: userId,
      }),
    ]);
    const signIns = (await entries(t.a.id, "session.sign_in")).filter((e) => e.actor.id === userId);
    expect(signIns).toEqual([expect.objectContaining({ details: { via: "invitation" } })]);
  });
});
