/** The workspace an API key belongs to. */
import Type, { type Static } from "typebox";
import { Uuid } from "./common.ts";

export const Workspace = Type.Object({
  id: Uuid,
  name: Type.String(),
  defaultCountry: Type.String(),
  defaultTimezone: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
});
export type Workspace = Static<typeof Workspace>;

/** Who marketing email comes from, and the postal address its footer carries (required to send it). */
export const Sender = Type.Object(
  {
    fromName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    fromAddress: Type.String({ format: "email", maxLength: 320 }),
    replyTo: Type.Optional(Type.Union([Type.String({ format: "email", maxLength: 320 }), Type.Null()])),
    postalAddress: Type.String({
      minLength: 5,
      maxLength: 500,
      description: "The physical postal address printed in every marketing email's footer",
    }),
  },
  { additionalProperties: false },
);
export type Sender = Static<typeof Sender>;
