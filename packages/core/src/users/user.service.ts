/**
 * First-run setup, signing in and out, and sessions. The HTTP layer carries the session token in a
 * cookie; everything here works on the token itself and takes `now` so tests can move time.
 */
import { randomBytes } from "node:crypto";
import { normalizeCountry, normalizeTimezone } from "../contacts/normalize.ts";
import type { Db, Executor } from "../db/database.ts";
import { AppError, type FieldProblem, validationFailed } from "../shared/errors.ts";
import { insertWorkspace } from "../workspaces/workspace.repository.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import {
  anyUserExists,
  deleteEndedSessionsOf,
  deleteSession,
  findSessionByHash,
  findUserByEmail,
  insertMember,
  insertSession,
  insertUser,
  listMemberships,
  lockSetup,
  setSessionWorkspace,
  touchSession,
} from "./user.repository.ts";
import {
  generateToken,
  hashToken,
  looksLikeToken,
  normalizeEmail,
  type Role,
  SESSION_ABSOLUTE_MS,
  SESSION_IDLE_MS,
  SESSION_TOUCH_MS,
  type SignInThrottle,
  sessionIsLive,
} from "./user.ts";

export const PASSWORD_MIN_LENGTH = 10;

/** A new session's secrets: the cookie's token and the token unsafe requests must echo. */
export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

/** A live session, resolved from its token. */
export interface ResolvedSession {
  sessionId: string;
  csrfSecret: string;
  user: { id: string; name: string; email: string };
  workspace: { id: string; name: string; defaultCountry: string; defaultTimezone: string };
  role: Role;
}

export function passwordProblems(password: string, field = "password"): FieldProblem[] {
  return password.length < PASSWORD_MIN_LENGTH
    ? [{ field, message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }]
    : [];
}

export async function needsSetup(db: Executor): Promise<boolean> {
  return !(await anyUserExists(db));
}

export async function createSession(
  db: Executor,
  userId: string,
  workspaceId: string,
  now: Date,
): Promise<NewSession> {
  // Sessions a browser abandoned are deleted when they are next presented, or here, at the next sign-in.
  await deleteEndedSessionsOf(db, userId, now, new Date(now.getTime() - SESSION_IDLE_MS));
  const { token, hash } = generateToken();
  const csrfToken = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_MS);
  await insertSession(db, { tokenHash: hash, userId, workspaceId, csrfSecret: csrfToken, now, expiresAt });
  return { token, csrfToken, expiresAt };
}

/**
 * Creates the first user, their workspace and their owner membership, and signs them in. Refused once
 * any user exists; concurrent setups are serialised by a lock, so only one can succeed.
 */
export async function setupFirstUser(
  db: Db,
  input: {
    name: string;
    email: string;
    password: string;
    workspaceName: string;
    defaultCountry?: string | undefined;
    defaultTimezone?: string | undefined;
  },
  now = new Date(),
): Promise<{ userId: string; workspaceId: string; session: NewSession }> {
  const problems: FieldProblem[] = [...passwordProblems(input.password)];
  const name = input.name.trim();
  if (!name) problems.push({ field: "name", message: "is required" });
  const workspaceName = input.workspaceName.trim();
  if (!workspaceName) problems.push({ field: "workspaceName", message: "is required" });
  const country = normalizeCountry(input.defaultCountry?.trim() || "US");
  if (!country.ok) problems.push({ field: "defaultCountry", message: country.error.message });
  const timezone = normalizeTimezone(input.defaultTimezone?.trim() || "UTC");
  if (!timezone.ok) problems.push({ field: "defaultTimezone", message: timezone.error.message });
  if (problems.length || !country.ok || !timezone.ok) throw validationFailed(problems);
  if (!(await needsSetup(db))) throw setupDone();

  const passwordHash = await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    await lockSetup(trx);
    if (!(await needsSetup(trx))) throw setupDone();
    const workspace = await insertWorkspace(trx, {
      name: workspaceName,
      defaultCountry: country.value,
      defaultTimezone: timezone.value,
    });
    const user = await insertUser(trx, { email: normalizeEmail(input.email), name, passwordHash });
    await insertMember(trx, { workspaceId: workspace.id, userId: user.id, role: "owner" });
    const session = await createSession(trx, user.id, workspace.id, now);
    return { userId: user.id, workspaceId: workspace.id, session };
  });
}

const setupDone = () =>
  new AppError("CONFLICT", "Omneural is already set up: sign in, or ask an owner for an invitation.");

const signInFailed = () => new AppError("SIGN_IN_FAILED", "The email or password is not right.");

/**
 * Signs a user in with email and password. An unknown email and a wrong password fail alike and take
 * the same time (a decoy hash is verified); repeated failures per email and address are throttled.
 */
export async function signIn(
  db: Executor,
  input: { email: string; password: string; address: string },
  throttle: SignInThrottle,
  now = new Date(),
): Promise<NewSession> {
  const email = normalizeEmail(input.email);
  const wait = throttle.retryAfterSeconds(email, input.address, now.getTime());
  if (wait > 0) {
    throw new AppError("RATE_LIMITED", "Too many failed sign-ins; try again later.", {
      retryAfterSeconds: wait,
    });
  }
  const user = await findUserByEmail(db, email);
  const valid = await verifyPassword(user?.passwordHash, input.password);
  const memberships = user && valid ? await listMemberships(db, user.id) : [];
  if (!user || !valid || memberships.length === 0) {
    throttle.recordFailure(email, input.address, now.getTime());
    throw signInFailed();
  }
  throttle.recordSuccess(email, input.address);
  return createSession(db, user.id, memberships[0]!.id, now);
}

/**
 * The live session a token names, with its current workspace and role; undefined when the token is
 * unknown, the session has expired (it is then deleted) or the user belongs to no workspace any more.
 * A session whose workspace the user has left moves to the user's first remaining workspace.
 */
export async function resolveSession(
  db: Executor,
  token: string,
  now = new Date(),
): Promise<ResolvedSession | undefined> {
  if (!looksLikeToken(token)) return undefined;
  const row = await findSessionByHash(db, hashToken(token));
  if (!row) return undefined;
  if (!sessionIsLive({ lastSeenAt: row.last_seen_at, expiresAt: row.expires_at }, now)) {
    await deleteSession(db, row.id);
    return undefined;
  }
  if (now.getTime() - row.last_seen_at.getTime() >= SESSION_TOUCH_MS) await touchSession(db, row.id, now);
  const user = { id: row.user_id, name: row.user_name, email: row.user_email };
  if (row.workspace_id && row.role) {
    return {
      sessionId: row.id,
      csrfSecret: row.csrf_secret,
      user,
      workspace: {
        id: row.workspace_id,
        name: row.workspace_name!,
        defaultCountry: row.default_country!,
        defaultTimezone: row.default_timezone!,
      },
      role: row.role,
    };
  }
  const [first] = await listMemberships(db, row.user_id);
  if (!first) return undefined;
  await setSessionWorkspace(db, row.id, first.id);
  return resolveSession(db, token, now);
}

export async function signOut(db: Executor, token: string): Promise<void> {
  if (!looksLikeToken(token)) return;
  const row = await findSessionByHash(db, hashToken(token));
  if (row) await deleteSession(db, row.id);
}

/** Moves a session to another workspace the user is a member of. */
export async function switchWorkspace(db: Executor, session: ResolvedSession, workspaceId: string) {
  const memberships = await listMemberships(db, session.user.id);
  if (!memberships.some((m) => m.id === workspaceId)) {
    throw new AppError("NOT_FOUND", `You are not a member of workspace ${workspaceId}.`);
  }
  await setSessionWorkspace(db, session.sessionId, workspaceId);
}

/** What GET /api/session answers. */
export async function describeSession(db: Executor, session: ResolvedSession) {
  return {
    user: session.user,
    workspace: { id: session.workspace.id, name: session.workspace.name },
    role: session.role,
    workspaces: await listMemberships(db, session.user.id),
    csrfToken: session.csrfSecret,
  };
}
