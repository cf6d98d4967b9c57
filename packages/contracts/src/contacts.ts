/** Contacts: the people a workspace may contact. */
import Type, { type Static } from "typebox";
import { Nullable, PageQuery, Uuid } from "./common.ts";

export const ConsentStatus = Type.Union(
  [
    Type.Literal("subscribed"),
    Type.Literal("unsubscribed"),
    Type.Literal("bounced"),
    Type.Literal("complained"),
    Type.Literal("never_asked"),
  ],
  { description: "bounced and complained are set by the system from delivery feedback" },
);
export const ConsentInput = Type.Union([
  Type.Literal("subscribed"),
  Type.Literal("unsubscribed"),
  Type.Literal("never_asked"),
]);

const Text = (max: number) => Nullable(Type.String({ maxLength: max }));

export const AddressInput = Type.Object(
  {
    line1: Type.Optional(Text(200)),
    line2: Type.Optional(Text(200)),
    city: Type.Optional(Text(200)),
    region: Type.Optional(Text(200)),
    postalCode: Type.Optional(Text(40)),
    country: Type.Optional(Text(60)),
  },
  { additionalProperties: false },
);

export const ConsentChanges = Type.Object(
  {
    email: Type.Optional(ConsentInput),
    sms: Type.Optional(ConsentInput),
    mail: Type.Optional(ConsentInput),
    ads: Type.Optional(ConsentInput),
  },
  { additionalProperties: false },
);

const contactInputFields = {
  externalId: Type.Optional(Text(255)),
  email: Type.Optional(Text(320)),
  phone: Type.Optional(Text(40)),
  firstName: Type.Optional(Text(200)),
  lastName: Type.Optional(Text(200)),
  address: Type.Optional(Nullable(AddressInput)),
  timezone: Type.Optional(Text(64)),
  attributes: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: "Custom attributes. Keys: letters, digits and _, starting with a letter or _ (max 64).",
    }),
  ),
  consent: Type.Optional(ConsentChanges),
};

export const ContactCreate = Type.Object(contactInputFields, {
  additionalProperties: false,
  description:
    "Creates a contact, or updates the existing one matched by externalId, else email, else phone. At least one of the three is required.",
});
export type ContactCreate = Static<typeof ContactCreate>;

export const ContactPatch = Type.Object(contactInputFields, {
  additionalProperties: false,
  description: "Changes the given fields. attributes are merged: a key set to null is removed.",
});
export type ContactPatch = Static<typeof ContactPatch>;

export const Contact = Type.Object({
  id: Uuid,
  externalId: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String({ description: "E.164" })),
  firstName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  address: Type.Object({
    line1: Nullable(Type.String()),
    line2: Nullable(Type.String()),
    city: Nullable(Type.String()),
    region: Nullable(Type.String()),
    postalCode: Nullable(Type.String()),
    country: Nullable(Type.String({ description: "ISO 3166-1 alpha-2" })),
  }),
  timezone: Nullable(Type.String({ description: "IANA time zone" })),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  consent: Type.Object({ email: ConsentStatus, sms: ConsentStatus, mail: ConsentStatus, ads: ConsentStatus }),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
  anonymisedAt: Nullable(
    Type.String({
      format: "date-time",
      description:
        "When a retention policy anonymised the contact (its personal fields are then empty and nothing is sent to it); null otherwise",
    }),
  ),
  archivedAt: Nullable(
    Type.String({
      format: "date-time",
      description:
        "Since when the contact is archived (by a retention policy's `archive` action): it keeps all its data, but no audience, campaign or send selects it and GET /contacts lists it only with `archived`. POST /contacts/{id}/restore, or a new engagement (an open, click, reply, conversion or custom event), clears it. null when not archived",
    }),
  ),
});
export type Contact = Static<typeof Contact>;

export const ContactIdParams = Type.Object({ id: Uuid });

export const ContactListQuery = Type.Object(
  {
    ...PageQuery,
    search: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "Email prefix, phone number, or part of a name",
      }),
    ),
    attribute: Type.Optional(
      Type.Union(
        [Type.String({ maxLength: 300 }), Type.Array(Type.String({ maxLength: 300 }), { maxItems: 10 })],
        {
          description:
            "Attribute filter `key:value` (repeatable; all must match). Values are matched as JSON when they parse as JSON, else as strings.",
        },
      ),
    ),
    archived: Type.Optional(
      Type.Union([Type.Literal("exclude"), Type.Literal("include"), Type.Literal("only")], {
        default: "exclude",
        description:
          "Archived contacts: `exclude` (the default) hides them, `include` lists them with the others, `only` lists just them",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ContactListQuery = Static<typeof ContactListQuery>;

export const ContactList = Type.Object({
  data: Type.Array(Contact),
  nextCursor: Nullable(Type.String()),
});

const Count = (description: string) => Type.Integer({ minimum: 0, description });

export const ContactErased = Type.Object({
  id: Uuid,
  erased: Type.Literal(true),
  erasureId: Type.String({
    format: "uuid",
    description: "The erasure log's id for this erasure: random, not derived from the contact",
  }),
  detail: Type.String(),
  removed: Type.Object(
    {
      contact: Count("the profile (1)"),
      events: Count("events, responses included"),
      consentChanges: Count("consent ledger entries"),
      topicChoices: Count("topic subscriptions"),
      listMemberships: Count("static list memberships"),
      audienceMemberships: Count("current memberships of listened segments"),
      audienceTransitions: Count("segment entries and exits"),
      enrollments: Count("campaign journeys"),
      enrollmentSteps: Count("journey history steps"),
      campaignEntries: Count("logged entries into continuous and event campaigns"),
      conversions: Count("goal conversions"),
      splitAssignments: Count("A/B experiment assignments"),
      messages: Count("send-ledger rows"),
      outbox: Count("rendered messages in the dev inbox"),
      printPieces: Count("direct-mail pieces recorded for a print batch"),
      purls: Count("personal URLs"),
      shortLinks: Count("SMS short links"),
      adAudienceMemberships: Count("ad audience memberships"),
      suppressions: Count("suppression entries of the contact's addresses (replaced by tombstones)"),
      importRejections: Count("rejected import lines that carried the email or phone"),
    },
    { description: "Rows removed, per kind" },
  ),
  anonymised: Type.Object(
    {
      testSends: Count("template test sends to the contact's address: the recipient is replaced"),
      firstResponses: Count("report rows keyed by the contact: the key is replaced by a random one"),
    },
    { description: "Rows kept for counts, with the contact's identifiers replaced" },
  ),
  exited: Type.Object(
    {
      enrollments: Count("journeys still in progress, cancelled before removal"),
      messages: Count("queued sends cancelled before removal"),
    },
    { description: "What was stopped first; reports count these members as cancelled" },
  ),
  tombstones: Count(
    "addresses kept as keyed hashes on the suppression list: the contact's opted-out or suppressed email and phone",
  ),
});
export type ContactErased = Static<typeof ContactErased>;

/** GDPR export: everything the workspace holds about one contact, in one document. */
const ExportedAt = Type.String({ format: "date-time" });
const Json = Type.Unknown({ description: "As stored" });

export const ContactExport = Type.Object({
  exportedAt: ExportedAt,
  workspaceId: Uuid,
  contact: Contact,
  consentLedger: Type.Array(
    Type.Object({
      channel: Type.String(),
      status: Type.String(),
      previousStatus: Nullable(Type.String()),
      source: Type.String(),
      actor: Nullable(Type.String()),
      reason: Nullable(Type.String()),
      changedAt: ExportedAt,
    }),
  ),
  lists: Type.Array(Type.Object({ id: Uuid, name: Type.String(), addedAt: ExportedAt })),
  segments: Type.Array(
    Type.Object(
      { id: Uuid, name: Type.String(), enteredAt: ExportedAt },
      { description: "Listened segments now" },
    ),
  ),
  audienceTransitions: Type.Array(
    Type.Object({
      audienceId: Uuid,
      audienceName: Nullable(Type.String()),
      transition: Type.String(),
      cause: Type.String(),
      at: ExportedAt,
    }),
  ),
  topics: Type.Array(
    Type.Object({ topicId: Uuid, name: Type.String(), subscribed: Type.Boolean(), changedAt: ExportedAt }),
  ),
  events: Type.Array(
    Type.Object(
      {
        id: Type.String(),
        type: Type.String(),
        properties: Json,
        occurredAt: ExportedAt,
        receivedAt: ExportedAt,
      },
      { description: "Custom events (purchase, signup …)" },
    ),
  ),
  responses: Type.Array(
    Type.Object(
      {
        id: Type.String(),
        type: Type.String(),
        properties: Json,
        occurredAt: ExportedAt,
        receivedAt: ExportedAt,
      },
      { description: "Responses to messages (message.opened, message.clicked …)" },
    ),
  ),
  enrollments: Type.Array(
    Type.Object({
      campaignId: Uuid,
      campaignName: Nullable(Type.String()),
      nodeId: Type.String(),
      state: Type.String(),
      iteration: Type.Integer(),
      holdout: Type.Boolean(),
      enrolledAt: ExportedAt,
      updatedAt: ExportedAt,
      error: Nullable(Type.String()),
      triggerEvent: Json,
      steps: Type.Array(Type.Object({ seq: Type.Integer(), at: ExportedAt, trace: Json })),
    }),
  ),
  campaignEntries: Type.Array(
    Type.Object({ campaignId: Uuid, cause: Type.String(), iteration: Type.Integer(), at: ExportedAt }),
  ),
  conversions: Type.Array(
    Type.Object({
      campaignId: Uuid,
      iteration: Type.Integer(),
      eventId: Type.String(),
      holdout: Type.Boolean(),
      convertedAt: ExportedAt,
    }),
  ),
  splitAssignments: Type.Array(
    Type.Object({
      campaignId: Uuid,
      nodeId: Type.String(),
      iteration: Type.Integer(),
      branch: Type.String(),
      phase: Type.String(),
      at: ExportedAt,
    }),
  ),
  messages: Type.Array(
    Type.Object({
      id: Uuid,
      campaignId: Uuid,
      nodeId: Type.String(),
      channel: Type.String(),
      templateId: Nullable(Uuid),
      templateVersion: Nullable(Type.Integer()),
      status: Type.String(),
      reason: Nullable(Type.String()),
      details: Json,
      queuedAt: ExportedAt,
      sentAt: Nullable(ExportedAt),
      provider: Nullable(Type.String()),
      providerMessageId: Nullable(Type.String()),
      deliveryStatus: Nullable(Type.String()),
      rendered: Nullable(
        Type.Object(
          {
            recipient: Type.String(),
            subject: Nullable(Type.String()),
            content: Json,
            headers: Json,
            createdAt: ExportedAt,
          },
          { description: "The rendered message, where the dev inbox kept it" },
        ),
      ),
      printPiece: Nullable(
        Type.Object(
          { status: Type.String(), piece: Json, createdAt: ExportedAt },
          { description: "The rendered direct-mail piece handed to the print batch" },
        ),
      ),
      purl: Nullable(Type.String({ description: "The personal URL code printed on the piece" })),
      shortLinks: Type.Array(Type.Object({ code: Type.String(), url: Type.String() })),
    }),
  ),
  otherDeliveries: Type.Array(
    Type.Object(
      {
        id: Uuid,
        channel: Type.String(),
        recipient: Type.String(),
        subject: Nullable(Type.String()),
        content: Json,
        createdAt: ExportedAt,
      },
      { description: "Dev-inbox entries to the contact's address outside campaigns (test sends)" },
    ),
  ),
  testSends: Type.Array(
    Type.Object({
      id: Uuid,
      templateId: Uuid,
      templateVersion: Type.Integer(),
      channel: Type.String(),
      recipient: Type.String(),
      sentAt: ExportedAt,
      outcome: Nullable(Type.String()),
    }),
  ),
  adAudiences: Type.Array(
    Type.Object({
      destinationId: Uuid,
      name: Nullable(Type.String()),
      platform: Nullable(Type.String()),
      addedAt: ExportedAt,
      removedAt: Nullable(ExportedAt),
    }),
  ),
  suppressions: Type.Array(
    Type.Object({
      channel: Type.String(),
      address: Type.String({ description: "The address, or its keyed hash for an erasure tombstone" }),
      reason: Type.String(),
      source: Type.String(),
      createdAt: ExportedAt,
    }),
  ),
});
export type ContactExport = Static<typeof ContactExport>;
