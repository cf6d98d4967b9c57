/**
 * The typed client of the Omneural API. Requests carry the session cookie (same origin) and, for POST,
 * PUT, PATCH and DELETE, the session's CSRF token; problem+json answers become ApiError, with each
 * field's message when the server named fields. Types come from @omneural/contracts, the same schemas
 * the server validates with.
 */
import type { Contact, ContactList } from "@omneural/contracts/contacts";
import type { Import, ImportAccepted } from "@omneural/contracts/imports";
import type {
  RetentionKind,
  RetentionPolicy,
  RetentionPolicyPut,
  RetentionRun,
} from "@omneural/contracts/retention";
import type {
  CreatedInvitation,
  InvitationPreview,
  Role,
  SessionInfo,
  SetupInput,
  SetupStatus,
  Team,
  TeamMember,
} from "@omneural/contracts/users";
import type { Campaign, CampaignDetail, ContactTrace } from "@omneural/contracts/workflows";
import type { Static } from "typebox";

export type {
  Campaign,
  Contact,
  Import,
  InvitationPreview,
  RetentionKind,
  RetentionPolicy,
  RetentionPolicyPut,
  RetentionRun,
  Role,
  SessionInfo,
  Team,
  TeamMember,
};
export type CampaignWithCounts = Static<typeof CampaignDetail>;
export type { ContactTrace };

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  code: string;
  detail: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Field path → message, from the problem's `errors`. */
  readonly fields: Record<string, string>;
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title || `Request failed (${problem.status})`);
    this.name = "ApiError";
    this.status = problem.status;
    this.code = problem.code;
    this.fields = Object.fromEntries((problem.errors ?? []).map((e) => [e.field, e.message]));
  }
}

let csrfToken: string | undefined;
/** Called with every session answer, so unsafe requests can echo the token. */
export function setCsrfToken(token: string | undefined) {
  csrfToken = token;
}

let onSessionEnded: () => void = () => undefined;
/** What to do when the server says the session has ended (the app shows sign-in again). */
export function whenSessionEnds(callback: () => void) {
  onSessionEnded = callback;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export async function request<T>(
  method: Method,
  path: string,
  body?: unknown,
  options: { contentType?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body:
        body === undefined
          ? undefined
          : options.contentType && typeof body !== "object"
            ? String(body)
            : body instanceof Blob
              ? body
              : JSON.stringify(body),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch {
    throw new ApiError({
      status: 0,
      code: "NETWORK",
      detail: "The server cannot be reached. Check your connection and try again.",
    });
  }
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("content-type") ?? "";
  const payload = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const problem: Problem =
      payload && typeof payload === "object"
        ? (payload as Problem)
        : { status: response.status, code: "HTTP_ERROR", detail: String(payload).slice(0, 200) };
    if (problem.code === "SESSION_EXPIRED") onSessionEnded();
    throw new ApiError(problem);
  }
  return payload as T;
}

const encode = encodeURIComponent;

export const api = {
  setupStatus: () => request<SetupStatus>("GET", "/api/setup"),
  setup: (input: SetupInput) => request<SessionInfo>("POST", "/api/setup", input),
  session: () => request<SessionInfo>("GET", "/api/session"),
  signIn: (email: string, password: string) =>
    request<SessionInfo>("POST", "/api/session", { email, password }),
  signOut: () => request<void>("DELETE", "/api/session"),
  switchWorkspace: (workspaceId: string) =>
    request<SessionInfo>("PUT", "/api/session/workspace", { workspaceId }),

  invitation: (token: string) => request<InvitationPreview>("GET", `/api/invitations/${encode(token)}`),
  acceptInvitation: (token: string, input: { name?: string; password: string }) =>
    request<SessionInfo>("POST", `/api/invitations/${encode(token)}/accept`, input),

  campaigns: (cursor?: string) =>
    request<{ data: Campaign[]; nextCursor: string | null }>(
      "GET",
      `/api/v1/campaigns?limit=20${cursor ? `&cursor=${encode(cursor)}` : ""}`,
    ),
  /** Campaigns to pick from (one page of up to 500, newest first). */
  campaignOptions: () =>
    request<{ data: Campaign[]; nextCursor: string | null }>("GET", "/api/v1/campaigns?limit=500"),
  campaign: (id: string) => request<CampaignWithCounts>("GET", `/api/v1/campaigns/${encode(id)}`),
  campaignAction: (id: string, action: "launch" | "pause" | "resume") =>
    request<unknown>("POST", `/api/v1/campaigns/${encode(id)}/${action}`),

  contacts: (query: { search?: string; cursor?: string; limit?: number }) => {
    const params = new URLSearchParams({ limit: String(query.limit ?? 25) });
    if (query.search) params.set("search", query.search);
    if (query.cursor) params.set("cursor", query.cursor);
    return request<Static<typeof ContactList>>("GET", `/api/v1/contacts?${params}`);
  },
  contact: (id: string) => request<Contact>("GET", `/api/v1/contacts/${encode(id)}`),
  contactTrace: (id: string) => request<ContactTrace>("GET", `/api/v1/contacts/${encode(id)}/trace`),
  importContacts: (file: File) =>
    request<Static<typeof ImportAccepted>>(
      "POST",
      `/api/v1/contacts/imports?filename=${encode(file.name)}`,
      file,
      { contentType: "text/csv" },
    ),
  importStatus: (id: string) => request<Import>("GET", `/api/v1/contacts/imports/${encode(id)}`),

  retentionPolicies: () => request<{ data: RetentionPolicy[] }>("GET", "/api/v1/retention/policies"),
  putRetentionPolicy: (kind: RetentionKind, body: RetentionPolicyPut) =>
    request<RetentionPolicy>("PUT", `/api/v1/retention/policies/${encode(kind)}`, body),
  /** A dry run unless `dryRun: false`; `confirm` lets a real run go past the policy's maxShare. */
  runRetentionPolicy: (kind: RetentionKind, options: { dryRun: boolean; confirm?: boolean }) =>
    request<RetentionRun>("POST", `/api/v1/retention/policies/${encode(kind)}/run`, options),
  retentionRuns: (query: { kind?: RetentionKind | undefined; limit: number }) => {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.kind) params.set("kind", query.kind);
    return request<{ data: RetentionRun[] }>("GET", `/api/v1/retention/runs?${params}`);
  },

  team: () => request<Team>("GET", "/api/v1/team"),
  invite: (email: string, role: Role) =>
    request<CreatedInvitation>("POST", "/api/v1/team/invitations", { email, role }),
  revokeInvitation: (id: string) => request<unknown>("DELETE", `/api/v1/team/invitations/${encode(id)}`),
  changeRole: (userId: string, role: Role) =>
    request<TeamMember>("PATCH", `/api/v1/team/members/${encode(userId)}`, { role }),
  removeMember: (userId: string) => request<unknown>("DELETE", `/api/v1/team/members/${encode(userId)}`),
};
