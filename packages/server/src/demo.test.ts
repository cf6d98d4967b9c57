/**
 * The demo workspace in the web app: who is given it (grantWebAccess in demo.ts). The whole demo runs
 * in cli.test.ts, on a fresh installation.
 */
import { useTestDatabase } from "@omneural/core/testing/database";
import { verifyPassword } from "@omneural/core/users/password";
import { findUserByEmail, insertUser, listMemberships } from "@omneural/core/users/user.repository";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { DEMO_USER_EMAIL, grantWebAccess } from "./demo.ts";

const database = useTestDatabase();

async function workspace(name: string) {
  return (await createWorkspace(database.handle.db, { name })).workspace.id;
}

async function passwordWorks(email: string, password: string) {
  const user = await findUserByEmail(database.handle.db, email);
  return verifyPassword(user?.passwordHash, password);
}

describe("the demo workspace in the web app", () => {
  it("is owned by a demo user on a fresh installation, whose password a later demo renews", async () => {
    const db = database.handle.db;
    const first = await workspace("Demo 1");
    const access = await grantWebAccess(db, first);
    expect(access).toMatchObject({ kind: "demo-user", email: DEMO_USER_EMAIL });
    const password = (access as { password: string }).password;
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(await passwordWorks(DEMO_USER_EMAIL, password)).toBe(true);

    const second = await workspace("Demo 2");
    const again = (await grantWebAccess(db, second)) as { kind: string; password: string };
    expect(again.kind).toBe("demo-user");
    expect(again.password).not.toBe(password);
    expect(await passwordWorks(DEMO_USER_EMAIL, password)).toBe(false);
    expect(await passwordWorks(DEMO_USER_EMAIL, again.password)).toBe(true);
    const demo = await findUserByEmail(db, DEMO_USER_EMAIL);
    const memberships = await listMemberships(db, demo!.id);
    expect(memberships.map((m) => [m.id, m.role]).sort()).toEqual(
      [
        [first, "owner"],
        [second, "owner"],
      ].sort(),
    );
  });

  it("is given to the first user who set Omneural up, with no password made", async () => {
    const db = database.handle.db;
    const ada = await insertUser(db, { email: "ada@acme.example", name: "Ada", passwordHash: "x" });
    await sql`update users set created_at = now() - interval '1 year' where id = ${ada.id}`.execute(db);
    const ws = await workspace("Demo 3");
    expect(await grantWebAccess(db, ws)).toEqual({
      kind: "first-user",
      email: "ada@acme.example",
      name: "Ada",
    });
    expect((await listMemberships(db, ada.id)).map((m) => [m.id, m.role])).toEqual([[ws, "owner"]]);
  });
});
