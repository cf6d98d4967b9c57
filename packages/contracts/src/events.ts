/** Events: what contacts did. Append-only and idempotent by id. */
import Type, { type Static } from "typebox";
import { Nullable, Uuid } from "./common.ts";

export const EventInput = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "Your id for the event; a repeated id is ignored",
      }),
    ),
    contactId: Type.Optional(Uuid),
    externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
    type: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: "^[A-Za-z0-9_.:-]+$",
      description: "Event type, e.g. purchase or cart_abandoned",
    }),
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    occurredAt: Type.Optional(
      Type.String({ format: "date-time", description: "Defaults to the time of receipt" }),
    ),
  },
  { additionalProperties: false },
);
export type EventInput = Static<typeof EventInput>;

export const EventBatch = Type.Object(
  { events: Type.Array(EventInput, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
export type EventBatch = Static<typeof EventBatch>;

export const EventResult = Type.Object({
  index: Type.Integer(),
  id: Type.String(),
  status: Type.Union([Type.Literal("accepted"), Type.Literal("duplicate"), Type.Literal("rejected")]),
  contactId: Nullable(Uuid),
  contactCreated: Type.Boolean(),
  error: Type.Optional(Type.String()),
});

export const EventBatchResult = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
  results: Type.Array(EventResult),
});
export type EventBatchResult = Static<typeof EventBatchResult>;

export const Event = Type.Object({
  id: Type.String(),
  contactId: Uuid,
  type: Type.String(),
  properties: Type.Record(Type.String(), Type.Unknown()),
  occurredAt: Type.String({ format: "date-time" }),
  receivedAt: Type.String({ format: "date-time" }),
});
export type Event = Static<typeof Event>;
