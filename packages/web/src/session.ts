/** The signed-in session as the app sees it, and what the member's role allows. */
import { createContext, useContext } from "react";
import type { Role, SessionInfo } from "./api.ts";

export const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/** Whether the role may change things (everything but viewers), and manage the team (owner, admin). */
export function can(role: Role, what: "write" | "admin"): boolean {
  return what === "write" ? role !== "viewer" : role === "owner" || role === "admin";
}

export const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  marketer: "Marketer",
  viewer: "Viewer",
};

export const ROLE_HELP: Record<Role, string> = {
  owner: "Everything, including owners and the team",
  admin: "Everything, including the team and admin settings",
  marketer: "Contacts, audiences, templates, workflows, campaigns",
  viewer: "Can look at everything, change nothing",
};
