import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../testing/database.ts";
import { changeMemberRole, inviteMember, removeMember } from "./team.service.ts";
import { createSession, resolveSession, setupFirstUser, signOut } from "./user.service.ts";
import { SESSION_IDLE_MS, SESSION_TOUCH_MS } from "./user.ts";

const database = useTestDatabase();

describe("setupFirstUser", () => {
  it("makes the user the owner of a new workspace, once", async () => {
    const db = database.handle.db;
    const start = new Date("2026-03-01T09:00:00Z");
    const created = await setupFirstUser(
      db,
      { name: "Ada", email: " Ada@Example.COM ", password: "ten chars!", workspaceName: "Ada's" },
      start,
    );
    const session = await resolveSession(db, created.session.token, start);
    expect(session).toMatchObject({
      user: { email: "ada@example.com", name: "Ada" },
      workspace: { name: "Ada's", defaultCountry: "US", defaultTimezone: "UTC" },
      role: "owner",
    });
    await expect(
      setupFirstUser(db, {
        name: "Eve",
        email: "eve@example.com",
        password: "ten chars!",
        workspaceName: "Eve's",
      }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
  });
});

describe("resolveSession", () => {
  it("keeps a session alive while it is used, records use at most once a minute, and ends it when idle", async () => {
    const db = database.handle.db;
    const { rows } = await database.handle.pool.query("select id from users limit 1");
    const userId = rows[0].id as string;
    const { rows: ws } = await database.handle.pool.query(
      "select workspace_id from workspace_members limit 1",
    );
    const start = new Date("2026-03-02T09:00:00Z");
    const created = await createSession(db, userId, ws[0].workspace_id, start);
    const lastSeen = async () =>
      (
        await database.handle.pool.query(
          "select last_seen_at from sessions where user_id = $1 order by created_at desc limit 1",
          [userId],
        )
      ).rows[0].last_seen_at as Date;

    await resolveSession(db, created.token, new Date(start.getTime() + SESSION_TOUCH_MS - 1));
    expect((await lastSeen()).getTime()).toBe(start.getTime());
    // Used every six days: still alive after a fortnight.
    let now = start.getTime();
    for (let day = 6; day <= 18; day += 6) {
      now = start.getTime() + day * 86_400_000;
      expect(await resolveSession(db, created.token, new Date(now))).toBeDefined();
    }
    expect((await lastSeen()).getTime()).toBe(now);
    expect(await resolveSession(db, created.token, new Date(now + SESSION_IDLE_MS))).toBeUndefined();
    expect(await resolveSession(db, created.token, new Date(now))).toBeUndefined(); // deleted
  });

  it("deletes a user's ended sessions when they sign in again", async () => {
    const db = database.handle.db;
    const { rows } = await database.handle.pool.query(
      "select user_id, workspace_id from workspace_members limit 1",
    );
    const { user_id: userId, workspace_id: workspaceId } = rows[0];
    const start = new Date("2026-04-01T09:00:00Z");
    const abandoned = await createSession(db, userId, workspaceId, start);
    const later = new Date(start.getTime() + SESSION_IDLE_MS + 1000);
    const fresh = await createSession(db, userId, workspaceId, later);
    const { rows: left } = await database.handle.pool.query(
      "select count(*)::int as n from sessions where user_id = $1 and created_at = $2",
      [userId, start],
    );
    expect(left[0].n).toBe(0);
    expect(await resolveSession(db, abandoned.token, later)).toBeUndefined();
    expect(await resolveSession(db, fresh.token, later)).toBeDefined();
  });

  it("knows nothing of a signed-out or made-up token", async () => {
    const db = database.handle.db;
    const { rows } = await database.handle.pool.query(
      "select user_id, workspace_id from workspace_members limit 1",
    );
    const created = await createSession(db, rows[0].user_id, rows[0].workspace_id, new Date());
    await signOut(db, created.token);
    expect(await resolveSession(db, created.token)).toBeUndefined();
    expect(await resolveSession(db, "not-a-token")).toBeUndefined();
  });
});

describe("the last owner", () => {
  it("cannot be demoted or removed, even by two admins at once", async () => {
    const db = database.handle.db;
    const { rows } = await database.handle.pool.query(
      "select user_id, workspace_id from workspace_members limit 1",
    );
    const { user_id: ownerId, workspace_id: workspaceId } = rows[0];
    const asOwner = { kind: "user" as const, id: ownerId, role: "owner" as const };
    await expect(changeMemberRole(db, workspaceId, asOwner, ownerId, "viewer")).rejects.toMatchObject({
      code: "CONFLICT",
    });
    await expect(removeMember(db, workspaceId, asOwner, ownerId)).rejects.toMatchObject({ code: "CONFLICT" });
    // Two owners demoting each other at the same moment: one must stay an owner.
    const { rows: second } = await database.handle.pool.query(
      "insert into users (email, name, password_hash) values ('second@example.com', 'Second', 'x') returning id",
    );
    const secondId = second[0].id as string;
    await database.handle.pool.query(
      "insert into workspace_members (workspace_id, user_id, role) values ($1, $2, 'owner')",
      [workspaceId, secondId],
    );
    const results = await Promise.allSettled([
      changeMemberRole(db, workspaceId, asOwner, secondId, "admin"),
      changeMemberRole(db, workspaceId, { kind: "user", id: secondId, role: "owner" }, ownerId, "admin"),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const { rows: owners } = await database.handle.pool.query(
      "select count(*)::int as n from workspace_members where workspace_id = $1 and role = 'owner'",
      [workspaceId],
    );
    expect(owners[0].n).toBe(1);
  });

  it("an invitation by a marketer is refused", async () => {
    const db = database.handle.db;
    const { rows } = await database.handle.pool.query("select workspace_id from workspace_members limit 1");
    await expect(
      inviteMember(
        db,
        rows[0].workspace_id,
        { kind: "user", id: "x", role: "marketer" },
        { email: "a@b.example", role: "viewer" },
        "http://x",
      ),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
