/**
 * Templates: the content of one message for one channel. This is the part the journey engine needs (a
 * send node names a template of its channel); rendering, versions and previews come with delivery.
 */
import Type, { type Static } from "typebox";
import { Channel } from "./audiences.ts";
import { Nullable, PageQuery, Uuid } from "./common.ts";

export const TemplateContent = Type.Record(Type.String(), Type.Unknown(), {
  description: "Channel-specific content, e.g. email: subject, html, text; sms: body",
});

export const TemplateCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    channel: Channel,
    content: Type.Optional(TemplateContent),
  },
  { additionalProperties: false },
);
export type TemplateCreate = Static<typeof TemplateCreate>;

export const TemplatePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    content: Type.Optional(TemplateContent),
  },
  { additionalProperties: false, description: "The channel of a template cannot change" },
);
export type TemplatePatch = Static<typeof TemplatePatch>;

export const Template = Type.Object({
  id: Uuid,
  name: Type.String(),
  channel: Channel,
  content: TemplateContent,
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type Template = Static<typeof Template>;

export const TemplateList = Type.Object({ data: Type.Array(Template), nextCursor: Nullable(Type.String()) });
export const TemplateListQuery = Type.Object(
  { ...PageQuery, channel: Type.Optional(Channel) },
  { additionalProperties: false },
);
export const TemplateIdParams = Type.Object({ id: Uuid });
