/**
 * The calls the campaign and report pages make, typed by the shared contracts, and the words the pages
 * use for statuses, states and send reasons.
 */
import type { Audience, AudienceCount } from "@omneural/contracts/audiences";
import type { Contact } from "@omneural/contracts/contacts";
import type { CampaignReport } from "@omneural/contracts/reports";
import type {
  Campaign,
  CampaignCreate,
  CampaignDetail,
  CampaignMessage,
  CampaignStatus,
  ContactTrace,
  Enrollment,
  Workflow,
  WorkflowVersion,
} from "@omneural/contracts/workflows";
import type { Static } from "typebox";
import { request } from "../../api.ts";

export type { Audience, Campaign, CampaignCreate, CampaignReport, CampaignStatus, ContactTrace, Enrollment };
export type CampaignWithCounts = Static<typeof CampaignDetail>;
export type AudienceReach = Static<typeof AudienceCount>;
export type CampaignAction = "launch" | "pause" | "resume" | "cancel" | "retry";
export type Page<T> = { data: T[]; nextCursor: string | null };

const encode = encodeURIComponent;

function pageQuery(limit: number, cursor: string | undefined, extra: Record<string, string> = {}) {
  const query = new URLSearchParams({ limit: String(limit), ...extra });
  if (cursor) query.set("cursor", cursor);
  return query;
}

export const campaignApi = {
  list: (cursor: string | undefined, limit = 20, statuses: readonly CampaignStatus[] = []) => {
    const query = pageQuery(limit, cursor);
    for (const status of statuses) query.append("status", status);
    return request<Page<Campaign>>("GET", `/api/v1/campaigns?${query}`);
  },
  get: (id: string) => request<CampaignWithCounts>("GET", `/api/v1/campaigns/${encode(id)}`),
  create: (body: CampaignCreate) => request<Campaign>("POST", "/api/v1/campaigns", body),
  act: (id: string, action: CampaignAction) =>
    request<{ campaign: Campaign; changed: number }>(
      "POST",
      `/api/v1/campaigns/${encode(id)}/${action}`,
      action === "retry" ? {} : undefined,
    ),
  messages: (id: string, cursor: string | undefined, status: string) =>
    request<Page<CampaignMessage>>(
      "GET",
      `/api/v1/campaigns/${encode(id)}/messages?${pageQuery(20, cursor, status ? { status } : {})}`,
    ),
  enrollment: (id: string, contactId: string) =>
    request<Enrollment>("GET", `/api/v1/campaigns/${encode(id)}/enrollments/${encode(contactId)}`),
  report: (id: string) => request<CampaignReport>("GET", `/api/v1/campaigns/${encode(id)}/report`),
  reportCsvUrl: (id: string) => `/api/v1/campaigns/${encode(id)}/report.csv`,
  trace: (contactId: string, campaignId: string) =>
    request<ContactTrace>(
      "GET",
      `/api/v1/contacts/${encode(contactId)}/trace?campaignId=${encode(campaignId)}`,
    ),
  contact: (id: string) => request<Contact>("GET", `/api/v1/contacts/${encode(id)}`),
  searchContacts: (search: string) =>
    request<Page<Contact>>("GET", `/api/v1/contacts?${pageQuery(10, undefined, { search })}`),
  audiences: (cursor?: string) =>
    request<Page<Audience>>("GET", `/api/v1/audiences?${pageQuery(100, cursor)}`),
  audience: (id: string) => request<Audience>("GET", `/api/v1/audiences/${encode(id)}`),
  audienceCount: (id: string) => request<AudienceReach>("GET", `/api/v1/audiences/${encode(id)}/count`),
  /** The audience's count with how many members each channel can reach now (counted afresh). */
  audienceReach: (id: string) =>
    request<AudienceReach>("GET", `/api/v1/audiences/${encode(id)}/count?reach=true`),
  workflows: (cursor?: string) =>
    request<Page<Workflow>>("GET", `/api/v1/workflows?${pageQuery(100, cursor)}`),
  workflow: (id: string) => request<Workflow>("GET", `/api/v1/workflows/${encode(id)}`),
  versions: (id: string) =>
    request<{ data: Omit<WorkflowVersion, "graph">[] }>("GET", `/api/v1/workflows/${encode(id)}/versions`),
  version: (id: string, version: number) =>
    request<WorkflowVersion>("GET", `/api/v1/workflows/${encode(id)}/versions/${version}`),
  workspace: () =>
    request<{ id: string; name: string; defaultTimezone: string; defaultCountry: string }>(
      "GET",
      "/api/v1/workspace",
    ),
};

export const STATUS_LABELS: Record<CampaignStatus, string> = {
  draft: "Draft",
  scheduled: "Scheduled",
  running: "Running",
  paused: "Paused",
  completed: "Completed",
  cancelled: "Cancelled",
};

export const STATUS_TONE: Record<CampaignStatus, string> = {
  draft: "neutral",
  scheduled: "info",
  running: "success",
  paused: "warning",
  completed: "neutral",
  cancelled: "danger",
};

/** What each member state means, for people. */
export const STATE_LABELS: Record<string, string> = {
  active: "In progress",
  completed: "Completed",
  converted: "Converted",
  failed: "Failed",
  cancelled: "Left early",
};

export const MESSAGE_STATUS_LABELS: Record<string, string> = {
  queued: "Waiting to send",
  sending: "Sending",
  sent: "Sent",
  failed: "Failed",
  skipped: "Not sent",
  unknown: "Outcome unknown",
  cancelled: "Cancelled",
};

export const CHANNEL_NAMES: Record<string, string> = {
  email: "Email",
  sms: "SMS",
  mail: "Direct mail",
  ads: "Ad audience",
  webhook: "Webhook",
};

/** Whether the campaign's members are still moving, so its figures are worth refreshing. */
export function isLive(status: string): boolean {
  return status === "running" || status === "scheduled";
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function percent(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/**
 * A message for a campaign's page to show once when it opens (e.g. "created, but the launch failed"),
 * left by the page that navigated there.
 */
const notices = new Map<string, string>();
export function leaveNotice(campaignId: string, message: string) {
  notices.set(campaignId, message);
}
export function takeNotice(campaignId: string): string | undefined {
  const message = notices.get(campaignId);
  notices.delete(campaignId);
  return message;
}

/** Every page of a list, for pickers (audiences and workflows are few; stops after 10 pages). */
export async function allPages<T>(load: (cursor?: string) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10; i++) {
    const page = await load(cursor);
    out.push(...page.data);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return out;
}
