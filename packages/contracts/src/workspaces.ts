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
    smsFrom: Type.Optional(
      Type.Union([
        Type.String({
          pattern: "^(\\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11}|MG[0-9a-f]{32})$",
          description: "The E.164 number, alphanumeric sender id or messaging service SMS is sent from",
        }),
        Type.Null(),
      ]),
    ),
    smsHelpText: Type.Optional(
      Type.Union(
        [
          Type.String({
            minLength: 1,
            maxLength: 320,
            description: "The answer to an inbound HELP text",
          }),
          Type.Null(),
        ],
        {
          description:
            'What a recipient who texts HELP gets back. Null or absent: "<workspace name>: Reply STOP to opt out, START to opt back in."',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Sender = Static<typeof Sender>;

/** Where providers post to this workspace: the URLs to configure in Twilio and the email provider. */
export const WorkspaceHooks = Type.Object({
  twilioInbound: Type.String({
    description:
      'Twilio number\'s "A message comes in" webhook (HTTP POST): STOP/START/HELP keywords and replies',
  }),
  twilioStatus: Type.String({
    description: "Twilio status callback (the dispatcher registers it with every SMS it sends)",
  }),
  emailFeedback: Type.String({
    description:
      "Email bounces and complaints: Amazon SES (through SNS), the SendGrid Event Webhook, or the generic JSON format (docs/responses.md). The URL carries this workspace's signed token: keep it private.",
  }),
});
export type WorkspaceHooks = Static<typeof WorkspaceHooks>;

const LocalTime = Type.String({ pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$", description: "HH:MM" });

/** Send-time policy of one channel: quiet hours in the recipient's local time, and a frequency cap. */
export const DeliveryPolicy = Type.Object(
  {
    allowedHours: Type.Union(
      [Type.Object({ from: LocalTime, to: LocalTime }, { additionalProperties: false }), Type.Null()],
      {
        description:
          "Sending hours in the recipient's local time (from later than to spans midnight); null: any time",
      },
    ),
    frequencyCap: Type.Union(
      [
        Type.Object(
          {
            count: Type.Integer({ minimum: 1, maximum: 1000 }),
            days: Type.Integer({ minimum: 1, maximum: 365 }),
            action: Type.Union([Type.Literal("defer"), Type.Literal("skip")]),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      { description: "At most count messages per days days per contact, across all campaigns; null: no cap" },
    ),
  },
  { additionalProperties: false },
);
export type DeliveryPolicy = Static<typeof DeliveryPolicy>;

export const DeliveryPolicies = Type.Object({
  email: DeliveryPolicy,
  sms: DeliveryPolicy,
  mail: DeliveryPolicy,
  ads: DeliveryPolicy,
});

export const PolicyChannelParams = Type.Object({
  channel: Type.Union([
    Type.Literal("email"),
    Type.Literal("sms"),
    Type.Literal("mail"),
    Type.Literal("ads"),
  ]),
});
