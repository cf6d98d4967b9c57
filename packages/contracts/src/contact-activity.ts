/** A contact's audiences and activity timeline (GET /contacts/{id}/audiences and /activity). */
import Type, { type Static } from "typebox";
import { Nullable, PageQuery, Uuid } from "./common.ts";

export const ContactAudience = Type.Object({
  id: Uuid,
  name: Type.String(),
  kind: Type.Union([Type.Literal("segment"), Type.Literal("list")]),
  since: Type.String({
    format: "date-time",
    description: "When the contact was added to the list, or entered the segment",
  }),
});
export type ContactAudience = Static<typeof ContactAudience>;

export const ContactAudienceList = Type.Object({
  data: Type.Array(ContactAudience, { description: "Lists first, then segments; each by name" }),
});
export type ContactAudienceList = Static<typeof ContactAudienceList>;

export const ContactActivityQuery = Type.Object(
  {
    ...PageQuery,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 200, default: 50, description: "Page size (1 to 200)" }),
    ),
  },
  { additionalProperties: false },
);
export type ContactActivityQuery = Static<typeof ContactActivityQuery>;

const CampaignRef = Nullable(
  Type.Object(
    { id: Uuid, name: Nullable(Type.String({ description: "null when the campaign was deleted" })) },
    { description: "The campaign it belongs to, if any" },
  ),
);

export const ContactActivityEvent = Type.Object({
  kind: Type.Union([Type.Literal("event"), Type.Literal("response")], {
    description: "response: a message.* event (opened, clicked, bounced, replied …); event: anything else",
  }),
  id: Type.String(),
  at: Type.String({ format: "date-time", description: "When it happened" }),
  type: Type.String(),
  channel: Nullable(Type.String()),
  campaign: CampaignRef,
  properties: Type.Unknown({ description: "As posted" }),
});

export const ContactActivityMessage = Type.Object({
  kind: Type.Literal("message"),
  id: Uuid,
  at: Type.String({ format: "date-time", description: "When it was sent, else when it was queued" }),
  channel: Type.String(),
  status: Type.String({ description: "queued, sending, sent, skipped, failed or cancelled" }),
  reason: Nullable(Type.String({ description: "Why it was skipped or failed" })),
  deliveryStatus: Nullable(Type.String({ description: "What the provider said after taking it" })),
  queuedAt: Type.String({ format: "date-time" }),
  sentAt: Nullable(Type.String({ format: "date-time" })),
  campaign: CampaignRef,
  template: Nullable(
    Type.Object({ id: Uuid, name: Nullable(Type.String()), version: Nullable(Type.Integer()) }),
  ),
});

export const ContactActivityConsent = Type.Object({
  kind: Type.Literal("consent"),
  id: Type.String(),
  at: Type.String({ format: "date-time" }),
  channel: Type.String(),
  status: Type.String(),
  previousStatus: Nullable(Type.String()),
  source: Type.String({ description: "Who changed it: api, ui, import, system …" }),
  reason: Nullable(Type.String()),
});

export const ContactActivityItem = Type.Union([
  ContactActivityEvent,
  ContactActivityMessage,
  ContactActivityConsent,
]);
export type ContactActivityItem = Static<typeof ContactActivityItem>;

export const ContactActivityPage = Type.Object({
  data: Type.Array(ContactActivityItem, { description: "Newest first" }),
  nextCursor: Nullable(Type.String()),
});
export type ContactActivityPage = Static<typeof ContactActivityPage>;
