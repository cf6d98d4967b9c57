/** Who acts when no member or API key does: an administrator's command, or someone not signed in. */
import os from "node:os";
import type { AuditActor } from "./audit.ts";

/**
 * An `omneural` command run on the server (workspace create, import contacts): the operating-system
 * user who ran it, and the host, are all that identify the administrator.
 */
export function cliActor(
  user: string = safeUserName(),
  host: string = os.hostname(),
): AuditActor & { label: string } {
  const id = (user || "unknown").slice(0, 100);
  return { kind: "cli", id, label: `${id}@${host} (omneural CLI)`.slice(0, 400) };
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry for the uid (some containers).
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}

/** A failed sign-in: nobody is signed in, so the actor is the email the attempt gave (never the password). */
export function anonymousSignIn(email: string): AuditActor & { label: string } {
  return { kind: "anonymous", id: "sign-in", label: email.slice(0, 320) };
}

/** A scheduled job of the system, by its name (`retention`). */
export function systemActor(job: string): AuditActor {
  return { kind: "system", id: job };
}
