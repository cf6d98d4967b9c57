/**
 * The single sign-on calls of the API (docs/sso.md), beside api.ts's: the settings page's, and the
 * address that starts a sign-in (a full-page navigation, not a fetch: the browser goes to the provider).
 */
import type { SsoConfig, SsoConfigInput, SsoTestResult } from "@omneural/contracts/sso";
import { ApiError, request } from "./api.ts";

export type { SsoConfig, SsoConfigInput, SsoTestResult };

export const ssoApi = {
  /** The settings, or null while single sign-on is not set up. */
  settings: async (): Promise<SsoConfig | null> => {
    try {
      return await request<SsoConfig>("GET", "/api/v1/sso");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  },
  save: (input: SsoConfigInput) => request<SsoConfig>("PUT", "/api/v1/sso", input),
  remove: () => request<unknown>("DELETE", "/api/v1/sso"),
  test: () => request<SsoTestResult>("POST", "/api/v1/sso/test"),
};

/** Where the browser goes to sign in with a workspace's single sign-on. */
export function ssoStartUrl(workspace: string): string {
  return `/api/session/sso/start?workspace=${encodeURIComponent(workspace.trim().toLowerCase())}`;
}

/** The workspace a password sign-in was refused for because it requires single sign-on, if that was why. */
export function ssoWorkspaceOf(error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const slug = (error.problem as unknown as { ssoWorkspace?: unknown }).ssoWorkspace;
  return typeof slug === "string" ? slug : undefined;
}
