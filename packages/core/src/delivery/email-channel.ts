/** Chooses the email channel from the configuration: SMTP when SMTP_URL is set, else the dev inbox. */
import type { Db } from "../db/database.ts";
import type { EmailChannel } from "./channel.ts";
import { createDevInboxEmailChannel } from "./dev-inbox.ts";
import { createSmtpChannel } from "./smtp-channel.ts";

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
