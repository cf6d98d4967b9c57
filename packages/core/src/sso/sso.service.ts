/**
 * Single sign-on's orchestration: the workspace's settings (the client secret sealed with the
 * credentials key), signing in a person the identity provider vouched for (creating the user and the
 * membership just in time), and the rules that keep SSO sessions and SSO-required workspaces apart from
 * password sign-in. docs/sso.md.
 */
import { randomBytes } from "node:crypto";
import type { Db, Executor } from "../db/database.ts";
import { seal, unseal } from "../security/keys.ts";
import { AppError, validationFailed } from "../shared/errors.ts";
import { hashPassword } from "../users/password.ts";
import {
  findMemberRole,
  findSessionByHash,
  findUserByEmail,
  insertMember,
  insertUser,
  listMemberships,
} from "../users/user.repository.ts";
import { createSession, type NewSession } from "../users/user.service.ts";
import { hashToken, looksLikeToken, normalizeEmail, type Role } from "../users/user.ts";
import {
  deletePasswordSessionsOfNonOwners,
  deleteSsoConfig,
  findSessionSsoFacts,
  findSlugOwner,
  findSsoConfig,
  findSsoConfigBySlug,
  findSsoSessionWorkspace,
  insertSsoSession,
  listSsoRequirements,
  type SsoConfigRow,
  upsertSsoConfig,
} from "./sso.repository.ts";
import {
  displayNameOf,
  emailDomainAllowed,
  normalizeDomain,
  passwordSignInAllowed,
  type SsoClientSettings,
  type SsoConfigInput,
  type SsoIdentity,
  type SsoSettings,
  ssoConfigProblems,
} from "./sso.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The sealed secret is bound to its workspace: a row copied to another workspace does not open. */
const secretContext = (workspaceId: string) => `sso client secret:${workspaceId}`;

function settingsOf(row: SsoConfigRow): SsoSettings {
  return {
    workspaceId: row.workspace_id,
    slug: row.slug,
    issuer: row.issuer,
    clientId: row.client_id,
    defaultRole: row.default_role,
    ssoRequired: row.sso_required,
    allowedDomains: row.allowed_domains,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const notConfigured = () =>
  new AppError("NOT_FOUND", "Single sign-on is not set up for this workspace (PUT /api/v1/sso).");

export async function getSsoSettings(db: Executor, workspaceId: string): Promise<SsoSettings> {
  const row = await findSsoConfig(db, workspaceId);
  if (!row) throw notConfigured();
  return settingsOf(row);
}

/**
 * Creates or replaces the workspace's single sign-on settings. The secret is needed the first time and
 * kept when omitted later. Turning "SSO required" on ends the password sessions of members who may no
 * longer use one there (everyone but owners).
 */
export async function saveSsoSettings(
  db: Db,
  credentialsKey: Buffer,
  workspaceId: string,
  input: SsoConfigInput,
  now = new Date(),
): Promise<SsoSettings> {
  const slug = input.slug.trim().toLowerCase();
  const existing = await findSsoConfig(db, workspaceId);
  const problems = ssoConfigProblems({ ...input, slug }, existing !== undefined);
  if (problems.length) throw validationFailed(problems);
  const secret = input.clientSecret?.trim();
  return db.transaction().execute(async (trx) => {
    const owner = await findSlugOwner(trx, slug);
    if (owner && owner !== workspaceId) throw slugTaken(slug);
    let row: SsoConfigRow;
    try {
      row = await upsertSsoConfig(trx, {
        workspaceId,
        slug,
        issuer: input.issuer.trim().replace(/\/+$/, "") || input.issuer.trim(),
        clientId: input.clientId.trim(),
        clientSecret: secret ? seal(credentialsKey, secret, secretContext(workspaceId)) : undefined,
        defaultRole: input.defaultRole ?? existing?.default_role ?? "marketer",
        ssoRequired: input.ssoRequired ?? existing?.sso_required ?? false,
        allowedDomains: input.allowedDomains
          ? [...new Set(input.allowedDomains.map(normalizeDomain))]
          : (existing?.allowed_domains ?? []),
        now,
      });
    } catch (error) {
      // Two workspaces claiming one slug at the same moment: the unique index decides.
      if ((error as { code?: string }).code === "23505") throw slugTaken(slug);
      throw error;
    }
    if (row.sso_required && !existing?.sso_required) {
      await deletePasswordSessionsOfNonOwners(trx, workspaceId);
    }
    return settingsOf(row);
  });
}

const slugTaken = (slug: string) =>
  new AppError("CONFLICT", `The single sign-on name ${slug} is taken by another workspace.`, {
    errors: [{ field: "slug", message: "is taken by another workspace" }],
  });

export async function removeSsoSettings(db: Executor, workspaceId: string): Promise<void> {
  if (!(await deleteSsoConfig(db, workspaceId))) throw notConfigured();
}

/**
 * The settings of the workspace an id or a single sign-on name (slug) names, with the secret opened,
 * or undefined when that workspace has no single sign-on. Throws UnsealError when SECRET_KEY changed.
 */
export async function loadSsoClientSettings(
  db: Executor,
  credentialsKey: Buffer,
  workspace: string,
): Promise<SsoClientSettings | undefined> {
  const row = UUID.test(workspace)
    ? await findSsoConfig(db, workspace.toLowerCase())
    : await findSsoConfigBySlug(db, workspace.trim().toLowerCase());
  if (!row) return undefined;
  return {
    ...settingsOf(row),
    clientSecret: unseal(credentialsKey, row.client_secret, secretContext(row.workspace_id)),
  };
}

export type SsoSignIn =
  | {
      ok: true;
      userId: string;
      session: NewSession;
      /** Whether the user was created, and whether they joined the workspace, at this sign-in. */
      userCreated: boolean;
      memberAdded: boolean;
      role: Role;
    }
  | { ok: false; reason: "email_missing" | "email_unverified" | "domain_not_allowed"; message: string };

/**
 * Signs in the person a workspace's identity provider vouched for: the user with that (verified) email,
 * created when there is none, made a member with the workspace's default role when they are not one yet.
 * The session is bound to the workspace: it cannot switch to the user's other workspaces.
 */
export async function signInWithSso(
  db: Db,
  settings: SsoSettings,
  identity: SsoIdentity,
  now = new Date(),
): Promise<SsoSignIn> {
  if (!identity.email) {
    return {
      ok: false,
      reason: "email_missing",
      message:
        "The identity provider did not send an email address. Ask it for the `email` scope (docs/sso.md).",
    };
  }
  if (!identity.emailVerified) {
    return {
      ok: false,
      reason: "email_unverified",
      message: "The identity provider did not say that this email address is verified, so it cannot be used.",
    };
  }
  const email = normalizeEmail(identity.email);
  if (!emailDomainAllowed(email, settings.allowedDomains)) {
    return {
      ok: false,
      reason: "domain_not_allowed",
      message: `This workspace's single sign-on is only for addresses at ${settings.allowedDomains.join(", ")}.`,
    };
  }
  // A user created here has no password anyone knows: a random one, hashed like any other.
  const unusablePasswordHash = await hashPassword(randomBytes(32).toString("base64url"));
  const attempt = () =>
    db.transaction().execute(async (trx) => {
      let user = await findUserByEmail(trx, email);
      const userCreated = !user;
      user ??= await insertUser(trx, {
        email,
        name: displayNameOf({ name: identity.name, email }),
        passwordHash: unusablePasswordHash,
      });
      let role = await findMemberRole(trx, settings.workspaceId, user.id);
      const memberAdded = !role;
      if (!role) {
        role = settings.defaultRole;
        await insertMember(trx, { workspaceId: settings.workspaceId, userId: user.id, role });
      }
      const session = await createSession(trx, user.id, settings.workspaceId, now);
      const stored = await findSessionByHash(trx, hashToken(session.token));
      await insertSsoSession(trx, {
        workspaceId: settings.workspaceId,
        sessionId: stored!.id,
        userId: user.id,
        now,
      });
      return { ok: true as const, userId: user.id, session, userCreated, memberAdded, role };
    });
  try {
    return await attempt();
  } catch (error) {
    // Two first sign-ins of one person at once: the second finds the first's user when it tries again.
    if ((error as { code?: string }).code === "23505") return attempt();
    throw error;
  }
}

export type PasswordWorkspace = { ok: true; workspaceId: string } | { ok: false; slug: string };

/**
 * Where a password sign-in may land: the preferred workspace when the user may use a password there,
 * else their first workspace that allows it; refused when every one requires SSO.
 */
export async function passwordWorkspaceFor(
  db: Executor,
  userId: string,
  preferredWorkspaceId: string,
): Promise<PasswordWorkspace> {
  const requirements = await listSsoRequirements(db, userId);
  const refused = new Map(
    requirements
      .filter((r) => !passwordSignInAllowed(r.role, r.sso_required))
      .map((r) => [r.workspace_id, r.slug]),
  );
  if (!refused.has(preferredWorkspaceId)) return { ok: true, workspaceId: preferredWorkspaceId };
  const allowed = (await listMemberships(db, userId)).find((m) => !refused.has(m.id));
  return allowed
    ? { ok: true, workspaceId: allowed.id }
    : { ok: false, slug: refused.get(preferredWorkspaceId)! };
}

/**
 * Whether a session may switch to a workspace: a session a provider signed in stays in its workspace,
 * and a password session may not enter a workspace that requires SSO of the member's role. Undefined
 * when it may; else why not.
 */
export async function ssoSwitchRefusal(
  db: Executor,
  session: { sessionId: string; userId: string },
  workspaceId: string,
): Promise<string | undefined> {
  const bound = await findSsoSessionWorkspace(db, session.sessionId);
  if (bound) {
    return bound === workspaceId
      ? undefined
      : "You signed in with your workspace's single sign-on: sign in again to use another workspace.";
  }
  const requirement = (await listSsoRequirements(db, session.userId)).find(
    (r) => r.workspace_id === workspaceId,
  );
  if (requirement && !passwordSignInAllowed(requirement.role, requirement.sso_required)) {
    return `This workspace requires single sign-on: sign in with it (name: ${requirement.slug}).`;
  }
  return undefined;
}

/**
 * The session guard's verdict on a session token, before anything uses the session: `end` when a
 * session signed in by one workspace's provider is (or would be moved) anywhere else, or when a password
 * session is in a workspace that requires SSO of the member's role. `ok` otherwise (including unknown
 * tokens: authentication deals with those).
 */
export async function ssoSessionVerdict(db: Executor, token: string): Promise<"ok" | "end"> {
  if (!looksLikeToken(token)) return "ok";
  const facts = await findSessionSsoFacts(db, hashToken(token));
  if (!facts) return "ok";
  if (facts.sso_workspace_id) {
    return facts.workspace_id === facts.sso_workspace_id && facts.role ? "ok" : "end";
  }
  if (facts.workspace_id && facts.role) {
    return passwordSignInAllowed(facts.role, facts.sso_required ?? false) ? "ok" : "end";
  }
  // The member has left the session's workspace: it is about to move to their first other workspace.
  const [next] = await listMemberships(db, facts.user_id);
  if (!next) return "ok";
  const requirement = (await listSsoRequirements(db, facts.user_id)).find((r) => r.workspace_id === next.id);
  return requirement && !passwordSignInAllowed(requirement.role, requirement.sso_required) ? "end" : "ok";
}
