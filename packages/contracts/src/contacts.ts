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
  },
  { additionalProperties: false },
);
export type ContactListQuery = Static<typeof ContactListQuery>;

export const ContactList = Type.Object({
  data: Type.Array(Contact),
  nextCursor: Nullable(Type.String()),
});

export const ContactErased = Type.Object({
  id: Uuid,
  erased: Type.Literal(true),
  detail: Type.String(),
  removed: Type.Object({ events: Type.Integer(), consentChanges: Type.Integer() }),
});
