/** Chooses each channel's provider from the configuration: the real one when configured, else the dev inbox. */
import type { Db } from "../db/database.ts";
import type { EmailChannel, MailChannel } from "./channel.ts";
import {
  createDevInboxEmailChannel,
  createDevInboxMailChannel,
  createDevInboxSmsChannel,
  createDevInboxWebhookChannel,
} from "./dev-inbox.ts";
import type { DispatchChannels } from "./dispatcher.ts";
import { createLobChannel } from "./lob-channel.ts";
import { createPrintBatchChannel, type PrintBatchSettings } from "./print-batch-channel.ts";
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

/** Direct mail: a Lob-compatible API (LOB_URL), else the print batch (PRINT_BATCH_DIR), else the dev inbox. */
export function mailChannelFor(
  config: { lobUrl?: string | undefined; printBatchDir?: string | undefined },
  db: Db,
): MailChannel {
  if (config.lobUrl) {
    const url = new URL(config.lobUrl);
    return createLobChannel({
      baseUrl: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`,
      apiKey: decodeURIComponent(url.username),
    });
  }
  if (config.printBatchDir) return createPrintBatchChannel(db);
  return createDevInboxMailChannel(db);
}

/** The print batch's settings, when direct mail goes by print batch: for the worker's cut-off task. */
export function printBatchSettingsFor(config: {
  lobUrl?: string | undefined;
  printBatchDir?: string | undefined;
  printBatchCutoff?: string;
  printBatchCostPerLetter?: number;
  printBatchCostPerPostcard?: number;
  printBatchCurrency?: string;
}): PrintBatchSettings | undefined {
  if (config.lobUrl || !config.printBatchDir) return undefined;
  return {
    directory: config.printBatchDir,
    cutoff: config.printBatchCutoff ?? "17:00",
    ...(config.printBatchCostPerLetter !== undefined
      ? { costPerLetter: config.printBatchCostPerLetter }
      : {}),
    ...(config.printBatchCostPerPostcard !== undefined
      ? { costPerPostcard: config.printBatchCostPerPostcard }
      : {}),
    ...(config.printBatchCurrency !== undefined ? { currency: config.printBatchCurrency } : {}),
  };
}

export function channelsFor(
  config: {
    smtpUrl: string | undefined;
    twilioUrl: string | undefined;
    webhookSecret: string | undefined;
    webhookAllowHosts: readonly string[];
    publicUrl: string;
    lobUrl?: string | undefined;
    printBatchDir?: string | undefined;
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
      // Served by the tracking role: delivery receipts update the ledger row.
      statusCallbackUrl: `${config.publicUrl}/hooks/twilio/status`,
    });
  }
  const webhook = config.webhookSecret
    ? createWebhookChannel({ secret: config.webhookSecret, allowHosts: [...config.webhookAllowHosts] })
    : createDevInboxWebhookChannel(db);
  return { email: emailChannelFor(config.smtpUrl, db), sms, webhook, mail: mailChannelFor(config, db) };
}
