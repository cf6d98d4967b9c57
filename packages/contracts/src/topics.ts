/**
 * Subscription topics ("email preferences": newsletter, promotions, product updates): what a campaign is
 * about, which a contact can opt out of without leaving the channel. A contact receives a topic unless
 * they opted out of it. See docs/delivery.md, "Topics".
 */
import Type, { type Static } from "typebox";
import { Nullable, PageQuery, Uuid } from "./common.ts";

const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "Shown to recipients in the preference centre; unique in the workspace, whatever the case",
});
const Description = Type.String({
  maxLength: 1000,
  description: "Shown under the name in the preference centre",
});

export const TopicCreate = Type.Object(
  { name: Name, description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);
export type TopicCreate = Static<typeof TopicCreate>;

export const TopicPatch = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);
export type TopicPatch = Static<typeof TopicPatch>;

export const Topic = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  createdAt: Type.String({ format: "date-time" }),
});
export type Topic = Static<typeof Topic>;

export const TopicList = Type.Object({ data: Type.Array(Topic), nextCursor: Nullable(Type.String()) });
export const TopicListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export const TopicIdParams = Type.Object({ id: Uuid });

export const ContactTopicParams = Type.Object({ id: Uuid, topicId: Uuid });
export const ContactTopicChoice = Type.Object(
  {
    subscribed: Type.Boolean({
      description: "false: the contact is skipped by the topic's campaigns; true: they receive them again",
    }),
  },
  { additionalProperties: false },
);
export type ContactTopicChoice = Static<typeof ContactTopicChoice>;

export const ContactTopic = Type.Object({
  contactId: Uuid,
  topicId: Uuid,
  subscribed: Type.Boolean(),
  changedAt: Type.String({ format: "date-time" }),
});
export type ContactTopic = Static<typeof ContactTopic>;

export const ContactTopicsList = Type.Object({
  data: Type.Array(
    Type.Object({
      topicId: Uuid,
      name: Type.String(),
      subscribed: Type.Boolean({ description: "false only when the contact opted out of the topic" }),
      changedAt: Nullable(Type.String({ format: "date-time", description: "null: never changed" })),
    }),
  ),
});
