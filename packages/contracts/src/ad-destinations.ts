/**
 * Ad destinations: where a journey's `ads` sends put members — a Meta custom audience, a Google Customer
 * Match user list, or a CSV to download and upload by hand. Credentials are write-only: stored encrypted
 * and never returned (`credentialsSet` says whether they are there). See docs/delivery.md, "Ad audiences".
 */
import Type, { type Static } from "typebox";
import { Nullable, PageQuery, Uuid } from "./common.ts";

export const AdPlatform = Type.Union([Type.Literal("meta"), Type.Literal("google"), Type.Literal("csv")], {
  description:
    "meta: a Meta (Facebook/Instagram) custom audience; google: a Google Ads Customer Match user list; csv: no platform call, download the members with GET /ad-destinations/{id}/members.csv",
});
export type AdPlatform = Static<typeof AdPlatform>;

/** Digits, dashes allowed (`123-456-7890`). */
const CustomerId = Type.String({ pattern: "^[0-9][0-9-]{0,24}$", description: "A Google Ads customer id" });

export const AdCredentials = Type.Object(
  {
    accessToken: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          "meta: a system-user access token with ads_management; google: an OAuth access token for the Google Ads API scope",
      }),
    ),
    developerToken: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: "google: the Google Ads developer token" }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Write-only: stored encrypted, never returned. In a PATCH, the fields given replace the stored ones.",
  },
);
export type AdCredentials = Static<typeof AdCredentials>;

const Name = Type.String({ minLength: 1, maxLength: 200, description: "Unique in the workspace" });
const AudienceId = Type.String({
  minLength: 1,
  maxLength: 200,
  description:
    "meta: the custom audience id; google: the user list id (or its resource name customers/{customerId}/userLists/{id}). Not for csv.",
});
const BaseUrl = Type.String({
  minLength: 1,
  maxLength: 500,
  description:
    "An http(s) origin of a Graph-API- or Google-Ads-API-compatible endpoint, called instead of the platform's own (https://graph.facebook.com, https://googleads.googleapis.com). Private, loopback and link-local hosts are refused unless allow-listed (ADS_ALLOW_HOSTS).",
});

export const AdDestinationCreate = Type.Object(
  {
    name: Name,
    platform: AdPlatform,
    audienceId: Type.Optional(AudienceId),
    customerId: Type.Optional(CustomerId),
    loginCustomerId: Type.Optional(CustomerId),
    baseUrl: Type.Optional(BaseUrl),
    credentials: Type.Optional(AdCredentials),
  },
  {
    additionalProperties: false,
    description:
      "meta needs audienceId and credentials.accessToken; google needs audienceId, customerId, credentials.accessToken and credentials.developerToken (loginCustomerId optional); csv needs only a name.",
  },
);
export type AdDestinationCreate = Static<typeof AdDestinationCreate>;

export const AdDestinationPatch = Type.Object(
  {
    name: Type.Optional(Name),
    audienceId: Type.Optional(AudienceId),
    customerId: Type.Optional(CustomerId),
    loginCustomerId: Type.Optional(Nullable(CustomerId)),
    baseUrl: Type.Optional(Nullable(BaseUrl)),
    credentials: Type.Optional(AdCredentials),
  },
  {
    additionalProperties: false,
    description:
      "The platform cannot change. null resets loginCustomerId, and baseUrl to the platform's own.",
  },
);
export type AdDestinationPatch = Static<typeof AdDestinationPatch>;

export const AdDestination = Type.Object({
  id: Uuid,
  name: Type.String(),
  platform: AdPlatform,
  audienceId: Nullable(Type.String()),
  customerId: Nullable(Type.String()),
  loginCustomerId: Nullable(Type.String()),
  baseUrl: Nullable(Type.String({ description: "null: the platform's own API" })),
  credentialsSet: Type.Boolean({
    description: "Whether every credential the platform needs is stored (always true for csv)",
  }),
  members: Type.Integer({ description: "Contacts currently in the audience" }),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type AdDestination = Static<typeof AdDestination>;

export const AdDestinationList = Type.Object({
  data: Type.Array(AdDestination),
  nextCursor: Nullable(Type.String()),
});
export const AdDestinationListQuery = Type.Object(
  { ...PageQuery, platform: Type.Optional(AdPlatform) },
  { additionalProperties: false },
);
export const AdDestinationIdParams = Type.Object({ id: Uuid });

export const AdMembersCsvQuery = Type.Object(
  {
    rules: Type.Optional(
      Type.Union([Type.Literal("meta"), Type.Literal("google")], {
        description:
          "Whose normalisation rules the hashes follow (default: the destination's platform; meta for csv)",
      }),
    ),
  },
  { additionalProperties: false },
);
