/** SQL of single sign-on: workspaces' identity providers and the sessions they signed in. */
import type { Executor } from "../db/database.ts";
import type { SsoRole } from "./sso.ts";

export interface SsoConfigRow {
  workspace_id: string;
  slug: string;
  issuer: string;
  client_id: string;
  client_secret: Buffer;
  default_role: SsoRole;
  sso_required: boolean;
  allowed_domains: string[];
  created_at: Date;
  updated_at: Date;
}

export async function findSsoConfig(db: Executor, workspaceId: string): Promise<SsoConfigRow | undefined> {
  return db.selectFrom("sso_configs").selectAll().where("workspace_id", "=", workspaceId).executeTakeFirst();
}

export async function findSsoConfigBySlug(db: Executor, slug: string): Promise<SsoConfigRow | undefined> {
  return db.selectFrom("sso_configs").selectAll().where("slug", "=", slug).executeTakeFirst();
}

/** Whose configuration a slug is, if anyone's. */
export async function findSlugOwner(db: Executor, slug: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("sso_configs")
    .select("workspace_id")
    .where("slug", "=", slug)
    .executeTakeFirst();
  return row?.workspace_id;
}

export async function upsertSsoConfig(
  db: Executor,
  row: {
    workspaceId: string;
    slug: string;
    issuer: string;
    clientId: string;
    clientSecret: Buffer | undefined;
    defaultRole: SsoRole;
    ssoRequired: boolean;
    allowedDomains: string[];
    now: Date;
  },
): Promise<SsoConfigRow> {
  const changes = {
    slug: row.slug,
    issuer: row.issuer,
    client_id: row.clientId,
    default_role: row.defaultRole,
    sso_required: row.ssoRequired,
    allowed_domains: row.allowedDomains,
    updated_at: row.now,
    ...(row.clientSecret ? { client_secret: row.clientSecret } : {}),
  };
  if (!row.clientSecret) {
    return db
      .updateTable("sso_configs")
      .set(changes)
      .where("workspace_id", "=", row.workspaceId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  return db
    .insertInto("sso_configs")
    .values({
      workspace_id: row.workspaceId,
      ...changes,
      client_secret: row.clientSecret,
      created_at: row.now,
    })
    .onConflict((oc) => oc.column("workspace_id").doUpdateSet(changes))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteSsoConfig(db: Executor, workspaceId: string): Promise<boolean> {
  const result = await db
    .deleteFrom("sso_configs")
    .where("workspace_id", "=", workspaceId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function insertSsoSession(
  db: Executor,
  row: { workspaceId: string; sessionId: string; userId: string; now: Date },
): Promise<void> {
  await db
    .insertInto("sso_sessions")
    .values({
      workspace_id: row.workspaceId,
      session_id: row.sessionId,
      user_id: row.userId,
      created_at: row.now,
    })
    .execute();
}

/**
 * What the session guard needs to know of a session: its current workspace, the member's role there,
 * whether that workspace requires SSO, and which workspace's provider signed it in (if one did).
 */
export async function findSessionSsoFacts(db: Executor, tokenHash: Buffer) {
  return db
    .selectFrom("sessions as s")
    .leftJoin("sso_sessions as b", "b.session_id", "s.id")
    .leftJoin("workspace_members as m", (join) =>
      join.onRef("m.workspace_id", "=", "s.workspace_id").onRef("m.user_id", "=", "s.user_id"),
    )
    .leftJoin("sso_configs as c", "c.workspace_id", "s.workspace_id")
    .select([
      "s.id as session_id",
      "s.user_id",
      "s.workspace_id",
      "b.workspace_id as sso_workspace_id",
      "m.role",
      "c.sso_required",
    ])
    .where("s.token_hash", "=", tokenHash)
    .executeTakeFirst();
}

/** The workspace whose provider signed a session in, if one did. */
export async function findSsoSessionWorkspace(db: Executor, sessionId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("sso_sessions")
    .select("workspace_id")
    .where("session_id", "=", sessionId)
    .executeTakeFirst();
  return row?.workspace_id;
}

/**
 * Ends the sessions in a workspace that its provider did not sign in, of members who may no longer use a
 * password there (everyone but owners): called when SSO becomes required.
 */
export async function deletePasswordSessionsOfNonOwners(db: Executor, workspaceId: string): Promise<number> {
  const result = await db
    .deleteFrom("sessions")
    .where("workspace_id", "=", workspaceId)
    .where((eb) =>
      eb(
        "user_id",
        "in",
        eb
          .selectFrom("workspace_members")
          .select("user_id")
          .where("workspace_id", "=", workspaceId)
          .where("role", "!=", "owner"),
      ),
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("sso_sessions")
            .select("session_id")
            .where("sso_sessions.workspace_id", "=", workspaceId)
            .whereRef("sso_sessions.session_id", "=", "sessions.id"),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The user's workspaces where SSO is required, with the user's role in each. */
export async function listSsoRequirements(db: Executor, userId: string) {
  return db
    .selectFrom("workspace_members as m")
    .innerJoin("sso_configs as c", "c.workspace_id", "m.workspace_id")
    .select(["m.workspace_id", "m.role", "c.sso_required", "c.slug"])
    .where("m.user_id", "=", userId)
    .execute();
}
