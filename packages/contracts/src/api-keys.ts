/** API keys of a workspace: listed by prefix, created (the key shown once), revoked. */
import Type, { type Static } from "typebox";
import { Uuid } from "./common.ts";

export const ApiKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String({
    description: "The key's first characters, to recognise it; the rest is never stored",
  }),
  createdAt: Type.String({ format: "date-time" }),
  lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
    description: "Recorded at most once a minute",
  }),
  revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
});
export type ApiKey = Static<typeof ApiKey>;

export const ApiKeyList = Type.Object({ data: Type.Array(ApiKey) });
export type ApiKeyList = Static<typeof ApiKeyList>;

export const ApiKeyCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100, description: "What the key is for, e.g. zapier" }) },
  { additionalProperties: false },
);
export type ApiKeyCreate = Static<typeof ApiKeyCreate>;

export const CreatedApiKey = Type.Intersect([
  ApiKey,
  Type.Object({ key: Type.String({ description: "The key itself: shown this once, never again" }) }),
]);
export type CreatedApiKey = Static<typeof CreatedApiKey>;

export const ApiKeyIdParams = Type.Object({ id: Uuid });
