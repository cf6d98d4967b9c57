/**
 * The audit log: who (a member or an API key) did what to which object, and when. Read by owners and
 * admins at GET /api/v1/audit. See docs/audit-log.md.
 */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";

export const AuditActorKind = Type.Union(
  [
    Type.Literal("user"),
    Type.Literal("api_key"),
    Type.Literal("system"),
    Type.Literal("cli"),
    Type.Literal("anonymous"),
  ],
  {
    description:
      "`user`: a signed-in member; `api_key`: an API key; `system`: a scheduled job; `cli`: an administrator's `omneural` command; `anonymous`: someone not signed in (a failed sign-in)",
  },
);
export type AuditActorKind = Static<typeof AuditActorKind>;

export const AuditEntry = Type.Object({
  id: Uuid,
  at: Type.String({ format: "date-time", description: "When the change was made" }),
  actor: Type.Object({
    kind: AuditActorKind,
    id: Type.String({
      description:
        "The user's id, the API key's id, the job's name, the operating-system user of a CLI command, or `sign-in`",
    }),
    label: Type.String({
      description:
        "The member's email, or the API key's name and prefix (`default (omn_AbC123…)`), as they were at the time; `user@host (omneural CLI)` for a command; the email a failed sign-in gave",
    }),
  }),
  action: Type.String({
    description:
      "`<objectType>.<verb>`, e.g. campaign.launch, contact.erase, template.update (docs/audit-log.md)",
  }),
  objectType: Type.String({ description: "What was acted on: campaign, contact, template, member …" }),
  objectId: Nullable(
    Type.String({
      description:
        "Which one: its id (a channel or a retention kind for settings); null for actions on no one object (an event batch, a merge of duplicates)",
    }),
  ),
  requestId: Nullable(Type.String({ description: "The request's x-request-id, as in the server's logs" })),
  status: Nullable(Type.Integer({ description: "The HTTP status the request was answered" })),
  ip: Nullable(Type.String({ description: "The address the request came from (as the API process saw it)" })),
  details: Type.Record(Type.String(), Type.Unknown(), {
    description:
      "A few facts about the change that are not personal data: the other path parameters (a template version, a topic id), roles, flags, counts. Never a request body.",
  }),
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditListQuery = Type.Object(
  {
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: "Only this user's or API key's entries (its id)",
      }),
    ),
    action: Type.Optional(
      Type.String({
        pattern: "^[a-z_]+(\\.[a-z_]+)?\\.?$",
        description:
          "An action (`campaign.launch`) or an object type's every action (`campaign` or `campaign.`)",
      }),
    ),
    objectType: Type.Optional(Type.String({ pattern: "^[a-z_]+$", maxLength: 50 })),
    objectId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    from: Type.Optional(Type.String({ format: "date-time", description: "At or after this instant" })),
    to: Type.Optional(Type.String({ format: "date-time", description: "Before this instant" })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 200, default: 50, description: "Page size (1 to 200)" }),
    ),
    cursor: Type.Optional(
      Type.String({ maxLength: 200, description: "The `nextCursor` of the previous page" }),
    ),
  },
  { additionalProperties: false },
);
export type AuditListQuery = Static<typeof AuditListQuery>;

export const AuditList = Type.Object({
  data: Type.Array(AuditEntry, { description: "Newest first" }),
  nextCursor: Nullable(Type.String()),
});
export type AuditList = Static<typeof AuditList>;
