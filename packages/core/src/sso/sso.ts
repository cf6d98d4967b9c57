/**
 * Single sign-on (OpenID Connect) per workspace: the pure parts. The protocol itself (discovery, the
 * authorization code flow with PKCE, state and nonce, id_token validation) is the server's business
 * (packages/server/src/http/oidc.ts, with openid-client); this area decides what the configuration may
 * be and what a verified identity may do. docs/sso.md explains the choices.
 */
import type { FieldProblem } from "../shared/errors.ts";
import type { Role } from "../users/user.ts";

export const SSO_ROLES = ["admin", "marketer", "viewer"] as const;
export type SsoRole = (typeof SSO_ROLES)[number];

export const SSO_SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

export const SSO_CALLBACK_PATH = "/api/session/sso/callback";
export const SSO_START_PATH = "/api/session/sso/start";

/** What an owner or admin sets (the secret only when it changes). */
export interface SsoConfigInput {
  slug: string;
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  defaultRole?: SsoRole | undefined;
  ssoRequired?: boolean | undefined;
  allowedDomains?: string[] | undefined;
}

/** A stored configuration, secret excluded. */
export interface SsoSettings {
  workspaceId: string;
  slug: string;
  issuer: string;
  clientId: string;
  defaultRole: SsoRole;
  ssoRequired: boolean;
  allowedDomains: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** A configuration with its secret opened: only for talking to the identity provider. */
export interface SsoClientSettings extends SsoSettings {
  clientSecret: string;
}

/** What the identity provider told us about the person, after the id_token was validated. */
export interface SsoIdentity {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Plain http is allowed only to the machine itself (a test or local provider): an identity provider
 * reached over the network must be https.
 */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || url.hostname.endsWith(".localhost");
}

export function issuerProblems(issuer: string): FieldProblem[] {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return [{ field: "issuer", message: "must be a URL such as https://login.example.com" }];
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackUrl(url))) {
    return [{ field: "issuer", message: "must be an https URL" }];
  }
  if (url.search || url.hash) return [{ field: "issuer", message: "must not have a query or a fragment" }];
  if (url.username || url.password) return [{ field: "issuer", message: "must not carry credentials" }];
  return [];
}

/** The field problems of an input, given whether a secret is already stored. */
export function ssoConfigProblems(input: SsoConfigInput, secretStored: boolean): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!SSO_SLUG.test(input.slug)) {
    problems.push({ field: "slug", message: "must be 2–63 lower-case letters, digits and dashes" });
  }
  problems.push(...issuerProblems(input.issuer.trim()));
  if (!input.clientId.trim()) problems.push({ field: "clientId", message: "is required" });
  if (!secretStored && !input.clientSecret?.trim()) {
    problems.push({ field: "clientSecret", message: "is required" });
  }
  (input.allowedDomains ?? []).forEach((domain, index) => {
    if (!DOMAIN.test(normalizeDomain(domain))) {
      problems.push({ field: `allowedDomains.${index}`, message: "must be a domain such as example.com" });
    }
  });
  if (input.defaultRole && !(SSO_ROLES as readonly string[]).includes(input.defaultRole)) {
    problems.push({ field: "defaultRole", message: "must be admin, marketer or viewer (never owner)" });
  }
  return problems;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** A domain as stored: lower case, without a leading @ or surrounding spaces. */
export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/^@/, "");
}

/** Whether an email may sign in, given the workspace's allowed domains (none: any). */
export function emailDomainAllowed(email: string, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return allowedDomains.includes(domain);
}

/**
 * Whether a member may sign in to a workspace with a password. With SSO required, only owners may:
 * an owner must be able to get in to fix a broken identity provider (or turn the requirement off).
 */
export function passwordSignInAllowed(role: Role, ssoRequired: boolean): boolean {
  return !ssoRequired || role === "owner";
}

/**
 * Whether the provider vouches for the email. `email_verified` is the standard claim (Google, Okta);
 * Entra ID does not send it, but can send `xms_edov` (the email's domain is verified by the tenant).
 */
export function emailIsVerified(claims: Record<string, unknown>): boolean {
  return claims.email_verified === true || claims.email_verified === "true" || claims.xms_edov === true;
}

/** A display name for a user created by SSO: the provider's name, else the email's local part. */
export function displayNameOf(identity: { name?: string | undefined; email: string }): string {
  const name = identity.name?.trim() || identity.email.split("@")[0] || identity.email;
  return name.slice(0, 200);
}
