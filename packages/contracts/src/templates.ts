/**
 * Templates: the content of one message for one channel, personalised with Liquid. A send node of a
 * workflow names a template of its channel. docs/templates.md describes every field, the variables and
 * filters, and how SMS segments are counted.
 */
import Type, { type Static } from "typebox";
import { Channel } from "./audiences.ts";
import { Nullable, PageQuery, Uuid } from "./common.ts";

const LiquidText = (max: number, description: string) => Type.String({ maxLength: max, description });

export const VARIABLE_PATH_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,63}(\\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}$";

export const TemplateDefaults = Type.Record(
  Type.String({ pattern: VARIABLE_PATH_PATTERN }),
  Type.String({ maxLength: 1000 }),
  {
    description:
      'Declared variable defaults, e.g. {"firstName": "there", "attributes.plan": "free"}: used when the contact has no value. A key may also name a variable of your own ({"offer": "10%"}).',
    maxProperties: 100,
    additionalProperties: false,
  },
);

const defaults = Type.Optional(TemplateDefaults);

/**
 * Every content field is optional so that a template can be saved while it is written; `missing` on the
 * template says what it still needs before it can be sent.
 */
export const EmailContent = Type.Object(
  {
    subject: Type.Optional(LiquidText(1000, "Liquid")),
    preheader: Type.Optional(LiquidText(1000, "Liquid; the preview line shown after the subject")),
    mjml: Type.Optional(
      LiquidText(500_000, "MJML with Liquid tags, compiled once per content version. Give mjml or html."),
    ),
    html: Type.Optional(LiquidText(500_000, "HTML with Liquid tags. Give mjml or html.")),
    text: Type.Optional(LiquidText(200_000, "Liquid plain-text part; derived from the HTML when absent")),
    defaults,
  },
  { additionalProperties: false },
);
export type EmailContent = Static<typeof EmailContent>;

export const SmsContent = Type.Object(
  { body: Type.Optional(LiquidText(5000, "Liquid")), defaults },
  { additionalProperties: false },
);
export type SmsContent = Static<typeof SmsContent>;

export const MailLayout = Type.Union([Type.Literal("letter"), Type.Literal("postcard")]);
export type MailLayout = Static<typeof MailLayout>;

export const MailContent = Type.Object(
  {
    layout: Type.Optional(MailLayout),
    body: Type.Optional(LiquidText(20_000, "Liquid, plain text; line breaks are kept")),
    defaults,
  },
  { additionalProperties: false },
);
export type MailContent = Static<typeof MailContent>;

export const AdsContent = Type.Object(
  {},
  { additionalProperties: false, description: "Ad audiences have no content" },
);
export type AdsContent = Static<typeof AdsContent>;

export const CONTENT_SCHEMAS = { email: EmailContent, sms: SmsContent, mail: MailContent, ads: AdsContent };
export type ContentOf = {
  email: EmailContent;
  sms: SmsContent;
  mail: MailContent;
  ads: AdsContent;
};

export type TemplateContent = EmailContent | SmsContent | MailContent | AdsContent;
/**
 * Which shape applies depends on the template's channel, so the body schema accepts an object and the
 * service checks it against the channel's schema (errors name `content.<field>`).
 */
export const TemplateContent = Type.Unsafe<TemplateContent>(
  Type.Record(Type.String(), Type.Unknown(), {
    description:
      "Per channel — email: {subject, preheader?, mjml | html, text?, defaults?}; sms: {body, defaults?}; mail: {layout: letter|postcard, body, defaults?}; ads: {}",
  }),
);

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
  missing: Type.Array(Type.String(), {
    description: "Content fields still needed before the template can be sent; empty when complete",
  }),
  version: Type.Integer({
    minimum: 1,
    description: "The number of the current content's version; every content change makes a new one",
  }),
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

// Previews ------------------------------------------------------------------------------------------

const previewContact = {
  contactId: Type.Optional(Uuid),
  contact: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        "A hypothetical contact (fields as in the contacts API: firstName, email, address, attributes…); merged over contactId's contact when both are given. Neither: a sample contact.",
    }),
  ),
  firstMessage: Type.Optional(
    Type.Boolean({
      description: "SMS: render as the first message to this number, which carries the opt-out line",
    }),
  ),
};

export const TemplatePreviewRequest = Type.Object(previewContact, { additionalProperties: false });
export type TemplatePreviewRequest = Static<typeof TemplatePreviewRequest>;

export const TemplateDraftPreviewRequest = Type.Object(
  { channel: Channel, content: TemplateContent, ...previewContact },
  { additionalProperties: false, description: "Renders content that is not saved" },
);
export type TemplateDraftPreviewRequest = Static<typeof TemplateDraftPreviewRequest>;

export const SmsEncoding = Type.Union([Type.Literal("GSM-7"), Type.Literal("UCS-2")]);

export const RenderedEmail = Type.Object({
  subject: Type.String(),
  preheader: Nullable(Type.String()),
  html: Type.String(),
  text: Type.String(),
});
export const RenderedSms = Type.Object({
  body: Type.String(),
  encoding: SmsEncoding,
  segments: Type.Integer({ description: "Billable parts: 160/153 GSM-7 characters, 70/67 UCS-2" }),
  characters: Type.Integer(),
});
export const RenderedMail = Type.Object({ layout: MailLayout, body: Type.String() });

export const TemplatePreview = Type.Object({
  channel: Channel,
  contact: Type.Object({
    source: Type.Union([Type.Literal("contact"), Type.Literal("hypothetical"), Type.Literal("sample")]),
    id: Nullable(Uuid),
  }),
  ok: Type.Boolean({ description: "false: this member's send would fail, for the reasons in errors" }),
  errors: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  email: Type.Optional(RenderedEmail),
  sms: Type.Optional(RenderedSms),
  mail: Type.Optional(RenderedMail),
});
export type TemplatePreview = Static<typeof TemplatePreview>;

// Versions ------------------------------------------------------------------------------------------

export const TemplateVersionParams = Type.Object({ id: Uuid, version: Type.Integer({ minimum: 1 }) });

export const TemplateVersionChange = Type.Union(
  [Type.Literal("created"), Type.Literal("edited"), Type.Literal("restored"), Type.Literal("backfill")],
  {
    description:
      "What made the version: the template's creation, an edit, a restore of restoredFrom, or the upgrade that gave existing templates their version 1",
  },
);

const versionFields = {
  templateId: Uuid,
  version: Type.Integer({ minimum: 1 }),
  change: TemplateVersionChange,
  restoredFrom: Nullable(Type.Integer({ description: "The version whose content a restore copied" })),
  actor: Nullable(
    Type.Object({
      source: Type.String({ description: "api, ui or system" }),
      id: Nullable(Type.String({ description: "The API key that made it" })),
    }),
  ),
  createdAt: Type.String({ format: "date-time" }),
};

export const TemplateVersion = Type.Object({
  ...versionFields,
  content: TemplateContent,
  missing: Type.Array(Type.String(), { description: "As on the template" }),
});
export type TemplateVersion = Static<typeof TemplateVersion>;

export const TemplateVersionSummary = Type.Object(versionFields);
export type TemplateVersionSummary = Static<typeof TemplateVersionSummary>;

export const TemplateVersionList = Type.Object({
  data: Type.Array(TemplateVersionSummary, { description: "Newest first, without their content" }),
  nextCursor: Nullable(Type.String()),
});
export const TemplateVersionListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

// Test sends ----------------------------------------------------------------------------------------

export const TemplateTestSendRequest = Type.Object(
  {
    to: Type.String({
      minLength: 1,
      maxLength: 320,
      description:
        "Where to send it: an email address for an email template, a phone number (E.164, or national in the workspace's country) for an SMS one",
    }),
    contactId: Type.Optional(Uuid),
    attributes: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "Attributes merged over the contact's (or the sample contact's) for this send",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Whose data fills the template: contactId's contact, else the sample contact (as in previews)",
  },
);
export type TemplateTestSendRequest = Static<typeof TemplateTestSendRequest>;

export const TemplateTestSend = Type.Object({
  channel: Type.Union([Type.Literal("email"), Type.Literal("sms")]),
  to: Type.String({ description: "The address or number it went to, normalised" }),
  subject: Type.Optional(Type.String({ description: 'Email: the subject, starting with "[Test] "' })),
  bodyPreview: Type.String({
    description: "The start of what was sent: the email's plain-text part, or the SMS body",
  }),
  templateVersion: Type.Integer({ description: "The version of the template that was rendered" }),
  provider: Type.String(),
  providerMessageId: Type.String(),
});
export type TemplateTestSend = Static<typeof TemplateTestSend>;
