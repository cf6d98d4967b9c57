/** Single sign-on (OpenID Connect) per workspace: its settings and the discovery check. docs/sso.md. */
import Type, { type Static } from "typebox";

/** The roles single sign-on may give a new member: never owner. */
export const SsoRole = Type.Union([Type.Literal("admin"), Type.Literal("marketer"), Type.Literal("viewer")], {
  description: "The role of a member created at their first SSO sign-in (never owner)",
});
export type SsoRole = Static<typeof SsoRole>;

export const SSO_SLUG_PATTERN = "^[a-z0-9][a-z0-9-]{1,62}$";

export const SsoConfigInput = Type.Object(
  {
    slug: Type.String({
      pattern: SSO_SLUG_PATTERN,
      description:
        "The short name members type on the sign-in page (2–63 lower-case letters, digits and dashes; unique in this installation)",
    }),
    issuer: Type.String({
      minLength: 8,
      maxLength: 2000,
      description:
        "The identity provider's issuer URL (https), whose /.well-known/openid-configuration is read",
    }),
    clientId: Type.String({ minLength: 1, maxLength: 500 }),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description: "Required the first time; omit it to keep the stored one. Never answered back.",
      }),
    ),
    defaultRole: Type.Optional(SsoRole),
    ssoRequired: Type.Optional(
      Type.Boolean({
        description:
          "When true, members other than owners cannot sign in to this workspace with a password (default false)",
      }),
    ),
    allowedDomains: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
        maxItems: 50,
        description:
          "Only emails of these domains may sign in with single sign-on (default: [], any domain the provider vouches for)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type SsoConfigInput = Static<typeof SsoConfigInput>;

export const SsoConfig = Type.Object({
  slug: Type.String(),
  issuer: Type.String(),
  clientId: Type.String(),
  clientSecretSet: Type.Literal(true, { description: "The secret is stored (sealed); it is never answered" }),
  defaultRole: SsoRole,
  ssoRequired: Type.Boolean(),
  allowedDomains: Type.Array(Type.String()),
  callbackUrl: Type.String({ description: "The redirect URI to register with the identity provider" }),
  signInUrl: Type.String({ description: "A link that starts single sign-on to this workspace" }),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type SsoConfig = Static<typeof SsoConfig>;

export const SsoTestResult = Type.Object({
  ok: Type.Boolean(),
  problem: Type.Optional(
    Type.Union(
      [
        Type.Literal("issuer_unreachable"),
        Type.Literal("discovery_failed"),
        Type.Literal("discovery_invalid"),
        Type.Literal("issuer_mismatch"),
        Type.Literal("insecure_issuer"),
      ],
      { description: "What is wrong, when ok is false" },
    ),
  ),
  message: Type.String({ description: "What was found, in words" }),
  issuer: Type.Optional(Type.String()),
  authorizationEndpoint: Type.Optional(Type.String()),
  tokenEndpoint: Type.Optional(Type.String()),
});
export type SsoTestResult = Static<typeof SsoTestResult>;

export const SsoStartQuery = Type.Object({
  workspace: Type.String({
    minLength: 1,
    maxLength: 100,
    description: "The workspace's id or its single sign-on name (slug)",
  }),
});
export type SsoStartQuery = Static<typeof SsoStartQuery>;

export const SsoCallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4000 })),
    state: Type.Optional(Type.String({ maxLength: 500 })),
    error: Type.Optional(Type.String({ maxLength: 200 })),
    error_description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: true },
);
export type SsoCallbackQuery = Static<typeof SsoCallbackQuery>;
