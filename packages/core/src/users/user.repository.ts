/** SQL of users, workspace members, sessions and invitations. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { Role } from "./user.ts";

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
}

export async function anyUserExists(db: Executor): Promise<boolean> {
  const row = await db.selectFrom("users").select("id").limit(1).executeTakeFirst();
  return row !== undefined;
}

/** The user who set Omneural up: the oldest one. */
export async function findFirstUser(
  db: Executor,
): Promise<{ id: string; email: string; name: string } | undefined> {
  return db
    .selectFrom("users")
    .select(["id", "email", "name"])
    .orderBy("created_at")
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
}

export async function setUserPassword(db: Executor, userId: string, passwordHash: string): Promise<void> {
  await db
    .updateTable("users")
    .set({ password_hash: passwordHash, updated_at: sql<Date>`now()` })
    .where("id", "=", userId)
    .execute();
}

/** Serialises first-run setups: the second waits, then sees the first's user. */
export async function lockSetup(db: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(7340028)`.execute(db);
}

export async function insertUser(
  db: Executor,
  row: { email: string; name: string; passwordHash: string },
): Promise<UserRecord> {
  const inserted = await db
    .insertInto("users")
    .values({ email: row.email, name: row.name, password_hash: row.passwordHash })
    .returning(["id", "email", "name", "password_hash"])
    .executeTakeFirstOrThrow();
  return {
    id: inserted.id,
    email: inserted.email,
    name: inserted.name,
    passwordHash: inserted.password_hash,
  };
}

export async function findUserByEmail(db: Executor, email: string): Promise<UserRecord | undefined> {
  const row = await db
    .selectFrom("users")
    .select(["id", "email", "name", "password_hash"])
    .where(sql<string>`lower(email)`, "=", email.toLowerCase())
    .executeTakeFirst();
  return row && { id: row.id, email: row.email, name: row.name, passwordHash: row.password_hash };
}

export async function insertMember(
  db: Executor,
  row: { workspaceId: string; userId: string; role: Role },
): Promise<void> {
  await db
    .insertInto("workspace_members")
    .values({ workspace_id: row.workspaceId, user_id: row.userId, role: row.role })
    .execute();
}

export async function findMemberRole(
  db: Executor,
  workspaceId: string,
  userId: string,
): Promise<Role | undefined> {
  const row = await db
    .selectFrom("workspace_members")
    .select("role")
    .where("workspace_id", "=", workspaceId)
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return row?.role;
}

/** Every member's role, locked until the transaction ends: owner counts stay true while it runs. */
export async function lockMemberRoles(
  db: Executor,
  workspaceId: string,
): Promise<{ userId: string; role: Role }[]> {
  const rows = await db
    .selectFrom("workspace_members")
    .select(["user_id", "role"])
    .where("workspace_id", "=", workspaceId)
    .orderBy("user_id")
    .forUpdate()
    .execute();
  return rows.map((row) => ({ userId: row.user_id, role: row.role }));
}

export async function listMembers(db: Executor, workspaceId: string) {
  return db
    .selectFrom("workspace_members as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["m.user_id", "u.name", "u.email", "m.role", "m.created_at"])
    .where("m.workspace_id", "=", workspaceId)
    .orderBy("m.created_at")
    .orderBy("m.user_id")
    .execute();
}

/** The workspaces a user belongs to, oldest membership first. */
export async function listMemberships(
  db: Executor,
  userId: string,
): Promise<{ id: string; name: string; role: Role }[]> {
  return db
    .selectFrom("workspace_members as m")
    .innerJoin("workspaces as w", "w.id", "m.workspace_id")
    .select(["w.id", "w.name", "m.role"])
    .where("m.user_id", "=", userId)
    .orderBy("m.created_at")
    .orderBy("w.id")
    .execute();
}

export async function updateMemberRole(db: Executor, workspaceId: string, userId: string, role: Role) {
  await db
    .updateTable("workspace_members")
    .set({ role })
    .where("workspace_id", "=", workspaceId)
    .where("user_id", "=", userId)
    .execute();
}

export async function deleteMember(db: Executor, workspaceId: string, userId: string) {
  await db
    .deleteFrom("workspace_members")
    .where("workspace_id", "=", workspaceId)
    .where("user_id", "=", userId)
    .execute();
}

export async function insertSession(
  db: Executor,
  row: {
    tokenHash: Buffer;
    userId: string;
    workspaceId: string;
    csrfSecret: string;
    now: Date;
    expiresAt: Date;
  },
): Promise<string> {
  const inserted = await db
    .insertInto("sessions")
    .values({
      token_hash: row.tokenHash,
      user_id: row.userId,
      workspace_id: row.workspaceId,
      csrf_secret: row.csrfSecret,
      created_at: row.now,
      last_seen_at: row.now,
      expires_at: row.expiresAt,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return inserted.id;
}

/** A session with its user and, when the user is still a member of it, the current workspace. */
export async function findSessionByHash(db: Executor, tokenHash: Buffer) {
  return db
    .selectFrom("sessions as s")
    .innerJoin("users as u", "u.id", "s.user_id")
    .leftJoin("workspace_members as m", (join) =>
      join.onRef("m.workspace_id", "=", "s.workspace_id").onRef("m.user_id", "=", "s.user_id"),
    )
    .leftJoin("workspaces as w", "w.id", "m.workspace_id")
    .select([
      "s.id",
      "s.user_id",
      "s.csrf_secret",
      "s.last_seen_at",
      "s.expires_at",
      "u.name as user_name",
      "u.email as user_email",
      "m.role",
      "w.id as workspace_id",
      "w.name as workspace_name",
      "w.default_country",
      "w.default_timezone",
    ])
    .where("s.token_hash", "=", tokenHash)
    .executeTakeFirst();
}

export async function touchSession(db: Executor, sessionId: string, now: Date) {
  await db.updateTable("sessions").set({ last_seen_at: now }).where("id", "=", sessionId).execute();
}

export async function setSessionWorkspace(db: Executor, sessionId: string, workspaceId: string) {
  await db.updateTable("sessions").set({ workspace_id: workspaceId }).where("id", "=", sessionId).execute();
}

export async function deleteSession(db: Executor, sessionId: string) {
  await db.deleteFrom("sessions").where("id", "=", sessionId).execute();
}

/** A user's sessions that have ended (past their expiry, or idle since `idleSince`). */
export async function deleteEndedSessionsOf(
  db: Executor,
  userId: string,
  now: Date,
  idleSince: Date,
): Promise<number> {
  const result = await db
    .deleteFrom("sessions")
    .where("user_id", "=", userId)
    .where((eb) => eb.or([eb("expires_at", "<=", now), eb("last_seen_at", "<=", idleSince)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function insertInvitation(
  db: Executor,
  row: {
    workspaceId: string;
    tokenHash: Buffer;
    email: string;
    role: Role;
    invitedBy: string | null;
    now: Date;
    expiresAt: Date;
  },
) {
  return db
    .insertInto("invitations")
    .values({
      workspace_id: row.workspaceId,
      token_hash: row.tokenHash,
      email: row.email,
      role: row.role,
      invited_by: row.invitedBy,
      created_at: row.now,
      expires_at: row.expiresAt,
    })
    .returning(["id", "email", "role", "created_at", "expires_at"])
    .executeTakeFirstOrThrow();
}

/** Pending invitations to the same email are replaced by a new one. */
export async function deletePendingInvitationsFor(db: Executor, workspaceId: string, email: string) {
  await db
    .deleteFrom("invitations")
    .where("workspace_id", "=", workspaceId)
    .where("email", "=", email)
    .where("accepted_at", "is", null)
    .execute();
}

export async function listPendingInvitations(db: Executor, workspaceId: string, now: Date) {
  return db
    .selectFrom("invitations as i")
    .leftJoin("users as u", "u.id", "i.invited_by")
    .select(["i.id", "i.email", "i.role", "u.name as invited_by_name", "i.created_at", "i.expires_at"])
    .where("i.workspace_id", "=", workspaceId)
    .where("i.accepted_at", "is", null)
    .where("i.expires_at", ">", now)
    .orderBy("i.created_at")
    .execute();
}

export async function deleteInvitation(db: Executor, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom("invitations")
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .where("accepted_at", "is", null)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function findInvitationByHash(
  db: Executor,
  tokenHash: Buffer,
  options: { lock?: boolean } = {},
) {
  let query = db
    .selectFrom("invitations as i")
    .innerJoin("workspaces as w", "w.id", "i.workspace_id")
    .select([
      "i.workspace_id",
      "i.id",
      "i.email",
      "i.role",
      "i.expires_at",
      "i.accepted_at",
      "w.name as workspace_name",
    ])
    .where("i.token_hash", "=", tokenHash);
  if (options.lock) query = query.forUpdate("i");
  return query.executeTakeFirst();
}

export async function markInvitationAccepted(db: Executor, workspaceId: string, id: string, now: Date) {
  await db
    .updateTable("invitations")
    .set({ accepted_at: now })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .execute();
}
