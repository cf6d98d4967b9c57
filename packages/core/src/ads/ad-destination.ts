/**
 * Ad destinations, pure logic: what each platform needs (audience id, Google's customer id, which
 * credentials), the base URL override and its guard against internal hosts, and the API shape. A
 * destination's credentials are sealed with the instance's credentials key, bound to the destination
 * (`ad_destination:<workspace>:<id>`), and never leave the server.
 */
import { isIP } from "node:net";
import type { AdDestination, AdPlatform } from "@omneural/contracts/ad-destinations";
import { internalRangeOf } from "../delivery/webhook-channel.ts";
import { UnsealError, unsealJson } from "../security/keys.ts";
import type { FieldProblem } from "../shared/errors.ts";

export type { AdPlatform };

/** The platforms' own APIs, called when a destination has no base URL of its own. */
export const DEFAULT_BASE_URLS = {
  meta: "https://graph.facebook.com",
  google: "https://googleads.googleapis.com",
} as const;

export interface AdDestinationRow {
  workspace_id: string;
  id: string;
  name: string;
  platform: AdPlatform;
  audience_id: string | null;
  customer_id: string | null;
  login_customer_id: string | null;
  base_url: string | null;
  credentials: Buffer | null;
  created_at: Date;
  updated_at: Date;
}

/** What is sealed in `credentials`. */
export interface AdCredentialValues {
  accessToken?: string;
  developerToken?: string;
}

/** The credentials each platform needs. */
export const REQUIRED_CREDENTIALS: Record<AdPlatform, (keyof AdCredentialValues)[]> = {
  meta: ["accessToken"],
  google: ["accessToken", "developerToken"],
  csv: [],
};

/** The additional data of the sealed credentials: a sealed value only opens for its own destination. */
export function credentialsContext(workspaceId: string, id: string): string {
  return `ad_destination:${workspaceId}:${id}`;
}

/** The stored credentials, or undefined when they cannot be opened (SECRET_KEY changed). */
export function openCredentials(key: Buffer, row: AdDestinationRow): AdCredentialValues | undefined {
  if (row.credentials === null) return {};
  try {
    return unsealJson<AdCredentialValues>(key, row.credentials, credentialsContext(row.workspace_id, row.id));
  } catch (error) {
    if (error instanceof UnsealError) return undefined;
    throw error;
  }
}

/** The fields a destination is made of, as stored (customer ids without dashes). */
export interface AdDestinationFields {
  platform: AdPlatform;
  audienceId: string | null;
  customerId: string | null;
  loginCustomerId: string | null;
  baseUrl: string | null;
  /** The credentials to store; undefined when they stay as they are (not checked again). */
  credentials?: AdCredentialValues;
}

const NUMERIC_ID = /^[0-9]{1,30}$/;
const GOOGLE_USER_LIST = /^customers\/[0-9]{1,20}\/userLists\/[0-9]{1,30}$/;
const CUSTOMER_ID = /^[0-9]{1,20}$/;

/** `123-456-7890` → `1234567890`. */
export function cleanCustomerId(value: string): string {
  return value.replaceAll("-", "").trim();
}

/** Every problem of a destination's fields for its platform (empty when it can be used). */
export function checkDestinationFields(
  fields: AdDestinationFields,
  allowHosts: readonly string[],
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { platform } = fields;
  if (platform === "csv") {
    for (const [field, value] of [
      ["audienceId", fields.audienceId],
      ["customerId", fields.customerId],
      ["loginCustomerId", fields.loginCustomerId],
      ["baseUrl", fields.baseUrl],
    ] as const) {
      if (value !== null) problems.push({ field, message: "does not apply to platform csv" });
    }
    for (const name of ["accessToken", "developerToken"] as const) {
      if (fields.credentials?.[name] !== undefined) {
        problems.push({
          field: `credentials.${name}`,
          message: "does not apply to platform csv (nothing is called)",
        });
      }
    }
    return problems;
  }

  if (fields.audienceId === null) {
    problems.push({
      field: "audienceId",
      message:
        platform === "meta"
          ? "is required for platform meta (the custom audience id)"
          : "is required for platform google (the user list id)",
    });
  } else if (platform === "meta" && !NUMERIC_ID.test(fields.audienceId)) {
    problems.push({ field: "audienceId", message: "must be a Meta custom audience id (digits)" });
  } else if (
    platform === "google" &&
    !NUMERIC_ID.test(fields.audienceId) &&
    !GOOGLE_USER_LIST.test(fields.audienceId)
  ) {
    problems.push({
      field: "audienceId",
      message:
        "must be a Google user list id (digits) or its resource name customers/{customerId}/userLists/{id}",
    });
  }

  if (platform === "meta") {
    for (const field of ["customerId", "loginCustomerId"] as const) {
      if (fields[field] !== null) problems.push({ field, message: "applies only to platform google" });
    }
    if (fields.credentials?.developerToken !== undefined) {
      problems.push({ field: "credentials.developerToken", message: "applies only to platform google" });
    }
  } else {
    if (fields.customerId === null) {
      problems.push({
        field: "customerId",
        message: "is required for platform google (the Ads account that owns the user list)",
      });
    }
    for (const field of ["customerId", "loginCustomerId"] as const) {
      const value = fields[field];
      if (value !== null && !CUSTOMER_ID.test(value)) {
        problems.push({ field, message: "must be a Google Ads customer id (digits, dashes allowed)" });
      }
    }
  }

  if (fields.credentials !== undefined) {
    for (const name of missingCredentials(platform, fields.credentials)) {
      problems.push({ field: `credentials.${name}`, message: `is required for platform ${platform}` });
    }
  }

  if (fields.baseUrl !== null) {
    const checked = checkBaseUrl(fields.baseUrl, allowHosts);
    if (!checked.ok) problems.push({ field: "baseUrl", message: checked.message });
  }
  return problems;
}

/**
 * A base URL as stored (no trailing slash), or why it is refused: it must be http(s) without user,
 * query or fragment, and a literal internal address (or `localhost`) must be allow-listed. Host names
 * are resolved and checked again when the dispatcher calls them.
 */
export function checkBaseUrl(
  raw: string,
  allowHosts: readonly string[],
): { ok: true; url: string; hostname: string } | { ok: false; message: string } {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, message: "is not a URL (e.g. https://graph.facebook.com)" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, message: `must be an http or https URL, not ${url.protocol}` };
  }
  if (url.username || url.password) {
    return { ok: false, message: "must not carry a user or password: give them as credentials" };
  }
  if (url.search || url.hash) return { ok: false, message: "must not have a query or fragment" };
  const hostname = hostOf(url);
  if (!isAllowedHost(hostname, allowHosts)) {
    const kind = hostname === "localhost" ? "loopback" : isIP(hostname) ? internalRangeOf(hostname) : null;
    if (kind !== null) {
      return {
        ok: false,
        message: `${hostname} is a ${kind} address; allow-list it with ADS_ALLOW_HOSTS to call it`,
      };
    }
  }
  return { ok: true, url: `${url.origin}${url.pathname}`.replace(/\/+$/, ""), hostname };
}

/** The host of a URL without IPv6 brackets, lowercased. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

export function isAllowedHost(hostnameOrAddress: string, allowHosts: readonly string[]): boolean {
  const value = hostnameOrAddress.toLowerCase();
  return allowHosts.some((host) => host.trim().toLowerCase() === value);
}

/** Which credentials a platform still lacks, given what is stored. */
export function missingCredentials(platform: AdPlatform, stored: AdCredentialValues): string[] {
  return REQUIRED_CREDENTIALS[platform].filter((name) => !stored[name]?.trim());
}

export function toAdDestination(
  row: AdDestinationRow,
  facts: { members: number; credentialsSet: boolean },
): AdDestination {
  return {
    id: row.id,
    name: row.name,
    platform: row.platform,
    audienceId: row.audience_id,
    customerId: row.customer_id,
    loginCustomerId: row.login_customer_id,
    baseUrl: row.base_url,
    credentialsSet: facts.credentialsSet,
    members: facts.members,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
