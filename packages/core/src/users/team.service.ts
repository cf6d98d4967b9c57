/**
 * A workspace's team: members with roles, and invitations. Changes need an owner or admin (or an API
 * key); only owners touch owners, and the last owner can be neither removed nor demoted.
 */
import type { Db, Executor } from "../db/database.ts";
import { AppError, validationFailed } from "../shared/errors.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import {
  deleteInvitation,
  deleteMember,
  deletePendingInvitationsFor,
  findInvitationByHash,
  findMemberRole,
  findUserByEmail,
  insertInvitation,
  insertMember,
  insertUser,
  listMembers,
  listPendingInvitations,
  lockMemberRoles,
  markInvitationAccepted,
  updateMemberRole,
} from "./user.repository.ts";
import { createSession, type NewSession, passwordProblems } from "./user.service.ts";
import {
  type Actor,
  canAssignRole,
  generateToken,
  hashToken,
  INVITATION_TTL_MS,
  looksLikeToken,
  normalizeEmail,
  type Role,
  roleAllows,
} from "./user.ts";

const forbidden = (detail: string) => new AppError("FORBIDDEN", detail);

function requireAdmin(actor: Actor) {
  if (!roleAllows(actor.role, "admin")) throw forbidden("Only owners and admins manage the team.");
}

export async function getTeam(db: Executor, workspaceId: string, now = new Date()) {
  const [members, invitations] = await Promise.all([
    listMembers(db, workspaceId),
    listPendingInvitations(db, workspaceId, now),
  ]);
  return {
    members: members.map((m) => ({
      userId: m.user_id,
      name: m.name,
      email: m.email,
      role: m.role,
      joinedAt: m.created_at.toISOString(),
    })),
    invitations: invitations.map((i) => ({
      id: i.id,
      email: i.email,
      role: i.role,
      invitedBy: i.invited_by_name,
      createdAt: i.created_at.toISOString(),
      expiresAt: i.expires_at.toISOString(),
    })),
  };
}

/**
 * Invites an email to the workspace with a role. The token is returned once, inside `link`; only its
 * hash is stored. A pending invitation to the same email is replaced.
 */
export async function inviteMember(
  db: Db,
  workspaceId: string,
  actor: Actor,
  input: { email: string; role: Role },
  publicUrl: string,
  now = new Date(),
) {
  requireAdmin(actor);
  if (!canAssignRole(actor.role, undefined, input.role)) throw forbidden("Only owners can invite owners.");
  const email = normalizeEmail(input.email);
  const existing = await findUserByEmail(db, email);
  if (existing && (await findMemberRole(db, workspaceId, existing.id))) {
    throw new AppError("CONFLICT", `${email} is already a member of this workspace.`, {
      errors: [{ field: "email", message: "is already a member" }],
    });
  }
  const { token, hash } = generateToken();
  const created = await db.transaction().execute(async (trx) => {
    await deletePendingInvitationsFor(trx, workspaceId, email);
    return insertInvitation(trx, {
      workspaceId,
      tokenHash: hash,
      email,
      role: input.role,
      invitedBy: actor.kind === "user" ? actor.id : null,
      now,
      expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
    });
  });
  const inviter =
    actor.kind === "user"
      ? (await listMembers(db, workspaceId)).find((m) => m.user_id === actor.id)
      : undefined;
  return {
    id: created.id,
    email: created.email,
    role: created.role,
    invitedBy: inviter?.name ?? null,
    createdAt: created.created_at.toISOString(),
    expiresAt: created.expires_at.toISOString(),
    link: `${publicUrl.replace(/\/+$/, "")}/invite/${token}`,
  };
}

export async function revokeInvitation(db: Executor, workspaceId: string, actor: Actor, id: string) {
  requireAdmin(actor);
  if (!(await deleteInvitation(db, workspaceId, id))) {
    throw new AppError("NOT_FOUND", `Invitation ${id} does not exist`);
  }
}

const lastOwner = () =>
  new AppError(
    "CONFLICT",
    "The workspace's last owner can be neither removed nor demoted: make another owner first.",
  );

/** Changes a member's role. Owners only can make or unmake owners; the last owner stays one. */
export async function changeMemberRole(
  db: Db,
  workspaceId: string,
  actor: Actor,
  userId: string,
  role: Role,
) {
  requireAdmin(actor);
  await db.transaction().execute(async (trx) => {
    const members = await lockMemberRoles(trx, workspaceId);
    const target = members.find((m) => m.userId === userId);
    if (!target) throw new AppError("NOT_FOUND", `Member ${userId} does not exist`);
    if (!canAssignRole(actor.role, target.role, role))
      throw forbidden("Only owners can change an owner's role or make owners.");
    if (
      target.role === "owner" &&
      role !== "owner" &&
      members.filter((m) => m.role === "owner").length <= 1
    ) {
      throw lastOwner();
    }
    await updateMemberRole(trx, workspaceId, userId, role);
  });
}

/** Removes a member: admins remove non-owners, owners anyone but the last owner. */
export async function removeMember(db: Db, workspaceId: string, actor: Actor, userId: string) {
  requireAdmin(actor);
  await db.transaction().execute(async (trx) => {
    const members = await lockMemberRoles(trx, workspaceId);
    const target = members.find((m) => m.userId === userId);
    if (!target) throw new AppError("NOT_FOUND", `Member ${userId} does not exist`);
    if (target.role === "owner" && actor.role !== "owner") {
      throw forbidden("Only owners can remove an owner.");
    }
    if (target.role === "owner" && members.filter((m) => m.role === "owner").length <= 1) throw lastOwner();
    await deleteMember(trx, workspaceId, userId);
  });
}

const invitationGone = () =>
  new AppError("NOT_FOUND", "This invitation does not exist, has expired or has already been used.");

async function liveInvitation(db: Executor, token: string, now: Date, lock = false) {
  if (!looksLikeToken(token)) return undefined;
  const row = await findInvitationByHash(db, hashToken(token), { lock });
  if (!row || row.accepted_at || row.expires_at <= now) return undefined;
  return row;
}

/** What the invitation link's page shows. */
export async function previewInvitation(db: Executor, token: string, now = new Date()) {
  const invitation = await liveInvitation(db, token, now);
  if (!invitation) throw invitationGone();
  return {
    workspaceName: invitation.workspace_name,
    email: invitation.email,
    role: invitation.role,
    existingUser: (await findUserByEmail(db, invitation.email)) !== undefined,
    expiresAt: invitation.expires_at.toISOString(),
  };
}

/**
 * Accepts an invitation: creates the user (name and a new password), or, when the email already has an
 * account, checks that account's password; adds the membership and signs the user in to the workspace.
 */
export async function acceptInvitation(
  db: Db,
  token: string,
  input: { name?: string | undefined; password: string },
  now = new Date(),
): Promise<{ userId: string; workspaceId: string; session: NewSession }> {
  const invitation = await liveInvitation(db, token, now);
  if (!invitation) throw invitationGone();
  const existing = await findUserByEmail(db, invitation.email);
  let passwordHash: string | undefined;
  if (existing) {
    if (!(await verifyPassword(existing.passwordHash, input.password))) {
      throw new AppError("SIGN_IN_FAILED", `The password of ${invitation.email}'s account is not right.`, {
        errors: [{ field: "password", message: "is not this account's password" }],
      });
    }
  } else {
    const problems = passwordProblems(input.password);
    if (!input.name?.trim()) problems.unshift({ field: "name", message: "is required" });
    if (problems.length) throw validationFailed(problems);
    passwordHash = await hashPassword(input.password);
  }
  return db.transaction().execute(async (trx) => {
    const locked = await liveInvitation(trx, token, now, true);
    if (!locked) throw invitationGone();
    let userId = existing?.id;
    if (!userId) {
      const user = await insertUser(trx, {
        email: invitation.email,
        name: input.name!.trim(),
        passwordHash: passwordHash!,
      });
      userId = user.id;
    } else if (await findMemberRole(trx, invitation.workspace_id, userId)) {
      throw new AppError("CONFLICT", `${invitation.email} is already a member of this workspace.`);
    }
    await insertMember(trx, { workspaceId: invitation.workspace_id, userId, role: invitation.role });
    await markInvitationAccepted(trx, invitation.workspace_id, invitation.id, now);
    const session = await createSession(trx, userId, invitation.workspace_id, now);
    return { userId, workspaceId: invitation.workspace_id, session };
  });
}
