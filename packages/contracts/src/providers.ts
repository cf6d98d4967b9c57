/**
 * A workspace's own provider accounts: its SMTP server (with DKIM), its Twilio and Lob accounts. Secrets are
 * write-only: stored encrypted, never returned; a response lists which are set.
 */
import Type, { type Static } from "typebox";

const HostName = Type.String({ minLength: 1, maxLength: 253, pattern: "^[A-Za-z0-9.:\\[\\]-]+$" });

export const SmtpSettings = Type.Object(
  {
    host: HostName,
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
    secure: Type.Optional(Type.Boolean({ description: "TLS from the first byte (port 465)" })),
    requireTls: Type.Optional(Type.Boolean({ description: "Refuse to send unless STARTTLS succeeds" })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    dkim: Type.Optional(
      Type.Object(
        {
          domainName: Type.String({ minLength: 3, maxLength: 253, pattern: "^[A-Za-z0-9.-]+$" }),
          keySelector: Type.String({ minLength: 1, maxLength: 63, pattern: "^[A-Za-z0-9._-]+$" }),
        },
        {
          additionalProperties: false,
          description: "Sign every message with DKIM; the private key goes in secrets.dkimPrivateKey",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const SmtpSecrets = Type.Object(
  {
    password: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Null()])),
    dkimPrivateKey: Type.Optional(
      Type.Union([
        Type.String({
          minLength: 100,
          maxLength: 20_000,
          description: "PEM (PKCS#1 or PKCS#8) RSA or Ed25519 key",
        }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: false },
);

export const TwilioSettings = Type.Object(
  {
    accountSid: Type.String({ pattern: "^AC[0-9a-fA-F]{32}$" }),
    baseUrl: Type.Optional(
      Type.String({ format: "uri", maxLength: 500, description: "Default https://api.twilio.com" }),
    ),
  },
  { additionalProperties: false },
);

export const TwilioSecrets = Type.Object(
  { authToken: Type.Optional(Type.Union([Type.String({ minLength: 8, maxLength: 200 }), Type.Null()])) },
  { additionalProperties: false },
);

export const LobSettings = Type.Object(
  {
    baseUrl: Type.Optional(
      Type.String({ format: "uri", maxLength: 500, description: "Default https://api.lob.com" }),
    ),
    color: Type.Optional(Type.Boolean({ description: "Letters in colour (default false)" })),
    postcardSize: Type.Optional(Type.Union([Type.Literal("4x6"), Type.Literal("6x9"), Type.Literal("6x11")])),
  },
  { additionalProperties: false },
);

export const LobSecrets = Type.Object(
  { apiKey: Type.Optional(Type.Union([Type.String({ minLength: 8, maxLength: 200 }), Type.Null()])) },
  { additionalProperties: false },
);

export const ProviderInput = Type.Union([
  Type.Object(
    {
      provider: Type.Literal("smtp"),
      settings: SmtpSettings,
      secrets: Type.Optional(SmtpSecrets),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      provider: Type.Literal("twilio"),
      settings: TwilioSettings,
      secrets: Type.Optional(TwilioSecrets),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      provider: Type.Literal("lob"),
      settings: LobSettings,
      secrets: Type.Optional(LobSecrets),
    },
    { additionalProperties: false },
  ),
]);
export type ProviderInput = Static<typeof ProviderInput>;

export const ProviderChannel = Type.Union([Type.Literal("email"), Type.Literal("sms"), Type.Literal("mail")]);
export type ProviderChannel = Static<typeof ProviderChannel>;

export const ProviderChannelParams = Type.Object({ channel: ProviderChannel });

export const Provider = Type.Object({
  channel: ProviderChannel,
  provider: Type.Union([Type.Literal("smtp"), Type.Literal("twilio"), Type.Literal("lob")]),
  settings: Type.Record(Type.String(), Type.Unknown()),
  secretsSet: Type.Array(Type.String(), {
    description: "Names of the secrets stored (values are never returned)",
  }),
  updatedAt: Type.String({ format: "date-time" }),
});
export type Provider = Static<typeof Provider>;

export const ProviderList = Type.Object({
  data: Type.Array(Provider),
  defaults: Type.Object(
    { email: Type.String(), sms: Type.String(), mail: Type.String() },
    { description: "What a channel without a workspace provider uses: the installation's provider" },
  ),
});
