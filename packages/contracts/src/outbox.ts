/** The dev inbox: what the development provider delivered, readable through the API. */
import Type from "typebox";
import { Nullable, PageQuery, Uuid } from "./common.ts";

const OutboxChannel = Type.Union([
  Type.Literal("email"),
  Type.Literal("sms"),
  Type.Literal("mail"),
  Type.Literal("ads"),
  Type.Literal("webhook"),
]);

export const OutboxEntry = Type.Object({
  id: Uuid,
  messageId: Nullable(Uuid),
  channel: OutboxChannel,
  recipient: Type.String(),
  subject: Nullable(Type.String()),
  content: Type.Record(Type.String(), Type.Unknown(), {
    description: "What was delivered: email html and text, an SMS body, a letter, a webhook body…",
  }),
  headers: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String({ format: "date-time" }),
});

export const OutboxList = Type.Object({ data: Type.Array(OutboxEntry), nextCursor: Nullable(Type.String()) });

export const OutboxQuery = Type.Object(
  {
    ...PageQuery,
    channel: Type.Optional(OutboxChannel),
    recipient: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
  },
  { additionalProperties: false },
);
