/**
 * The workspace overview the web app's Home shows: running campaigns with their progress, the latest
 * responses, and what needs someone's attention.
 */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";

export const OverviewCampaign = Type.Object({
  id: Uuid,
  name: Type.String(),
  status: Type.String(),
  enrolled: Type.Integer(),
  active: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  messagesSent: Type.Integer(),
  updatedAt: Type.String({ format: "date-time" }),
});

export const RecentResponse = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: "opened, clicked, replied, converted, unsubscribed, bounced, …" }),
  at: Type.String({ format: "date-time" }),
  contactId: Uuid,
  contactLabel: Type.String({ description: "The contact's name, else email, else phone" }),
  campaignId: Nullable(Uuid),
  campaignName: Nullable(Type.String()),
  channel: Nullable(Type.String()),
  machine: Type.Boolean({ description: "Flagged as a machine's (privacy proxy, link scanner)" }),
});

export const AttentionItem = Type.Object({
  kind: Type.Union([
    Type.Literal("failed_members"),
    Type.Literal("provider_paused"),
    Type.Literal("missing_sender"),
    Type.Literal("missing_sms_number"),
    Type.Literal("import_failed"),
  ]),
  severity: Type.Union([Type.Literal("error"), Type.Literal("warning")]),
  title: Type.String(),
  detail: Type.String(),
  /** Where in the web app to fix it, e.g. /settings/sender or /campaigns/<id>. */
  href: Type.String(),
  campaignId: Nullable(Uuid),
  count: Type.Integer({ description: "Members, messages or rows concerned" }),
});
export type AttentionItem = Static<typeof AttentionItem>;

export const Overview = Type.Object({
  campaigns: Type.Array(OverviewCampaign, { description: "Running, scheduled and paused campaigns" }),
  recentResponses: Type.Array(RecentResponse, { description: "The latest 10 responses, newest first" }),
  attention: Type.Array(AttentionItem),
});
export type Overview = Static<typeof Overview>;
