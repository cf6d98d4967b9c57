/**
 * Duplicate contacts and their merge: groups of contacts that are likely one person, merging some into
 * one survivor, and the policy that merges every likely group. See docs/data-lifecycle.md, "Duplicates
 * and merge".
 */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";
import { ConsentStatus, Contact } from "./contacts.ts";

export const DuplicateReason = Type.Union(
  [Type.Literal("email"), Type.Literal("phone"), Type.Literal("name_and_address")],
  {
    description:
      "email: the same address once lower-cased and trimmed, and for gmail.com / googlemail.com without dots and +tags. phone: the same digits. name_and_address: the same first and last name (case and accents aside), address line 1 (case, accents, spaces, commas and dots aside) and postal code (case, spaces and hyphens aside).",
  },
);
export type DuplicateReason = Static<typeof DuplicateReason>;

export const DuplicateGroupsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 20, description: "Groups per page (1 to 100)" }),
    ),
    cursor: Type.Optional(
      Type.String({ maxLength: 2000, description: "The `nextCursor` of the previous page" }),
    ),
    reason: Type.Optional(DuplicateReason),
  },
  { additionalProperties: false },
);
export type DuplicateGroupsQuery = Static<typeof DuplicateGroupsQuery>;

export const DuplicateContact = Type.Object({
  id: Uuid,
  externalId: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  name: Nullable(Type.String({ description: "First and last name" })),
  createdAt: Type.String({ format: "date-time" }),
});
export type DuplicateContact = Static<typeof DuplicateContact>;

export const DuplicateGroup = Type.Object({
  reason: DuplicateReason,
  size: Type.Integer({ description: "Contacts in the group (the list shows at most 51 of them)" }),
  survivorId: Uuid,
  contacts: Type.Array(DuplicateContact, {
    description: "Oldest first; the first is `survivorId`, which the policy would keep",
  }),
});
export type DuplicateGroup = Static<typeof DuplicateGroup>;

export const DuplicateGroupList = Type.Object({
  data: Type.Array(DuplicateGroup),
  nextCursor: Nullable(Type.String()),
});
export type DuplicateGroupList = Static<typeof DuplicateGroupList>;

export const ContactMergeRequest = Type.Object(
  {
    survivorId: Uuid,
    duplicateIds: Type.Array(Uuid, {
      minItems: 1,
      maxItems: 50,
      uniqueItems: true,
      description:
        "The contacts merged into the survivor and then deleted, in order of preference: where two could fill the same missing field, the first wins",
    }),
  },
  { additionalProperties: false },
);
export type ContactMergeRequest = Static<typeof ContactMergeRequest>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const MergeCounts = Type.Object(
  {
    events: count("Events"),
    consentChanges: count("Consent ledger rows"),
    listMemberships: count("Static list memberships"),
    audienceMemberships: count("Memberships of listened segments"),
    audienceTransitions: count("Segment entry and exit log rows"),
    adAudienceMemberships: count("Ad destination memberships"),
    topics: count("Topic choices taken (an opt-out of any contact wins)"),
    enrollments: count("Campaign journeys"),
    enrollmentSteps: count("Journey history steps"),
    splitAssignments: count("A/B variant assignments"),
    campaignEntries: count("Campaign entry records"),
    campaignConversions: count("Goal conversions"),
    messages: count("Send-ledger rows"),
    cancelledMessages: count("Sends not yet dispatched, cancelled with a dropped journey"),
    purls: count("Personal URLs"),
    reportResponses: count("Report first-response markers of responses without a message"),
    merges: count("Earlier merge log rows of the duplicates"),
  },
  { description: "Rows per kind" },
);
export type MergeCounts = Static<typeof MergeCounts>;

export const ContactMergeResult = Type.Object({
  mergeId: Uuid,
  survivor: Contact,
  duplicateIds: Type.Array(Uuid, { description: "Merged into the survivor; these contacts no longer exist" }),
  filled: Type.Array(Type.String(), {
    description:
      "The survivor's fields taken from duplicates: externalId, email, phone, firstName, lastName, timezone, address (the whole block), attributes.<key>",
  }),
  consent: Type.Array(
    Type.Object({
      channel: Type.Union([
        Type.Literal("email"),
        Type.Literal("sms"),
        Type.Literal("mail"),
        Type.Literal("ads"),
      ]),
      previous: ConsentStatus,
      status: ConsentStatus,
      fromContactId: Uuid,
    }),
    {
      description:
        "Channels where a duplicate's more restrictive consent won (recorded in the consent ledger)",
    },
  ),
  moved: MergeCounts,
  /**
   * What could not move: the duplicates' journeys in campaigns the survivor is in (with their steps,
   * assignments, conversions and queued sends), and memberships the survivor already had.
   */
  dropped: MergeCounts,
  mergedAt: Type.String({ format: "date-time" }),
});
export type ContactMergeResult = Static<typeof ContactMergeResult>;

export const DuplicatesMergeRequest = Type.Object(
  {
    reasons: Type.Optional(
      Type.Array(DuplicateReason, {
        minItems: 1,
        uniqueItems: true,
        description:
          "Which kinds of groups to merge (default: all three, in the order email, phone, name_and_address)",
      }),
    ),
    dryRun: Type.Optional(
      Type.Boolean({
        description: "true (the default unless `confirm` is true): report what would happen, change nothing",
      }),
    ),
    confirm: Type.Optional(Type.Boolean({ description: "true: merge for real (default false)" })),
    maxGroups: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        default: 1000,
        description:
          "Merge at most this many groups in this call (default 1000); `more` says whether any are left",
      }),
    ),
  },
  { additionalProperties: false },
);
export type DuplicatesMergeRequest = Static<typeof DuplicatesMergeRequest>;

const ReasonTotals = Type.Object({ groups: Type.Integer(), contacts: Type.Integer() });

export const DuplicatesMergeResult = Type.Object({
  dryRun: Type.Boolean(),
  groups: Type.Integer({ description: "Groups merged (or that would be)" }),
  contactsMerged: Type.Integer({
    description: "Duplicates merged into a survivor and deleted (or that would be)",
  }),
  byReason: Type.Object({ email: ReasonTotals, phone: ReasonTotals, name_and_address: ReasonTotals }),
  skipped: Type.Object(
    {
      tooLarge: Type.Integer({ description: "Groups of more than 51 contacts: review them by hand" }),
      conflictingExternalIds: Type.Integer({
        description: "Groups whose contacts carry different external ids: the source system says they differ",
      }),
      changed: Type.Integer({ description: "Groups whose contacts changed or went while the policy ran" }),
    },
    { description: "Groups left alone" },
  ),
  moved: MergeCounts,
  dropped: MergeCounts,
  sample: Type.Array(
    Type.Object({
      reason: DuplicateReason,
      survivorId: Uuid,
      duplicateIds: Type.Array(Uuid),
      mergeId: Nullable(Uuid),
    }),
    { description: "The first 20 merges (mergeId null in a dry run)" },
  ),
  more: Type.Boolean({ description: "maxGroups was reached with groups left: call again" }),
});
export type DuplicatesMergeResult = Static<typeof DuplicatesMergeResult>;
