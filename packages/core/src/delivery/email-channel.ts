/** Chooses each channel's provider from the configuration: the real one when configured, else the dev inbox. */
import type { Db } from "../db/database.ts";
import type { EmailChannel } from "./channel.ts";
import {
  createDevInboxEmailChannel,
  createDevInboxSmsChannel,
  createDevInboxWebhookChannel,
} from "./dev-inbox.ts";
import type { DispatchChannels } from "./dispatcher.ts";
import { createSmtpChannel } from "./smtp-channel.ts";
import { createTwilioSmsChannel } from "./twilio-sms-channel.ts";
import { createWebhookChannel } from "./webhook-channel.ts";

export function emailChannelFor(smtpUrl: string | undefined, db: Db): EmailChannel {
  if (!smtpUrl) return createDevInboxEmailChannel(db);
  const url = new URL(smtpUrl);
  const secure = url.protocol === "smtps:";
  return createSmtpChannel({
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
  });
}

export function channelsFor(
  config: {
    smtpUrl: string | undefined;
    twilioUrl: string | undefined;
    webhookSecret: string | undefined;
    webhookAllowHosts: readonly string[];
  },
  db: Db,
): DispatchChannels {
  let sms = createDevInboxSmsChannel(db);
  if (config.twilioUrl) {
    const url = new URL(config.twilioUrl);
    sms = createTwilioSmsChannel({
      baseUrl: `${url.protocol}//${url.host}`,
      accountSid: decodeURIComponent(url.username),
      authToken: decodeURIComponent(url.password),
    });
  }
  const webhook = config.webhookSecret
    ? createWebhookChannel({ secret: config.webhookSecret, allowHosts: [...config.webhookAllowHosts] })
    : createDevInboxWebhookChannel(db);
  return { email: emailChannelFor(config.smtpUrl, db), sms, webhook };
}
