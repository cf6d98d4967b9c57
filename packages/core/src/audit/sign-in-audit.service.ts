/**
 * The sign-in endpoints' audit entries (outside /api/v1, so the API's onResponse hook does not see
 * them): sign-ins, failed sign-ins and sign-outs. A failed sign-in has no workspace of its own: it is
 * recorded in every workspace of the account whose email it gave, so that their owners see attempts on
 * their members. An email that names no account is in no workspace and is left to the server's log.
 * See docs/audit-log.md.
 */
import type { Executor } from "../db/database.ts";
import { findUserByEmail, listMemberships } from "../users/user.repository.ts";
import { normalizeEmail } from "../users/user.ts";
import { anonymousSignIn } from "./actors.ts";
import { recordAudit } from "./audit.service.ts";

/** Where and from whom the request came, as the API's own entries record it. */
export interface RequestFacts {
  requestId: string;
  ip: string;
  status: number;
}

/** `session.sign_in` (or `session.sign_out`) by the user, in the workspace of the session. */
export async function auditSession(
  db: Executor,
  action: "session.sign_in" | "session.sign_out",
  session: { userId: string; workspaceId: string },
  facts: RequestFacts,
  details: Record<string, unknown> = {},
) {
  await recordAudit(db, session.workspaceId, {
    actor: { kind: "user", id: session.userId },
    action,
    objectId: session.userId,
    requestId: facts.requestId,
    ip: facts.ip,
    status: facts.status,
    details,
  });
}

/**
 * `session.sign_in_fail` in each workspace of the account the email names (none: returns 0). The
 * actor is anonymous, labelled with the email as given; the password is never passed here.
 */
export async function auditFailedSignIn(db: Executor, email: string, facts: RequestFacts): Promise<number> {
  const user = await findUserByEmail(db, normalizeEmail(email));
  if (!user) return 0;
  const workspaces = await listMemberships(db, user.id);
  for (const workspace of workspaces) {
    await recordAudit(db, workspace.id, {
      actor: anonymousSignIn(email),
      action: "session.sign_in_fail",
      objectId: user.id,
      requestId: facts.requestId,
      ip: facts.ip,
      status: facts.status,
    });
  }
  return workspaces.length;
}
