/** Email over SMTP with nodemailer's pooled transport (TLS, auth, DKIM when a key is configured). */
import nodemailer from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import {
  type EmailChannel,
  formatAddress,
  messageIdFor,
  type OutgoingEmail,
  type SendResult,
  unsubscribeHeaders,
} from "./channel.ts";

export interface SmtpConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure?: boolean;
  /** Refuse to send without TLS. */
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  /** Domain of the Message-IDs (default: the sender's domain). */
  messageIdDomain?: string;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  /** Simultaneous connections (default 5) and messages per connection before reconnecting (100). */
  maxConnections?: number;
  maxMessages?: number;
  /** Give up on an unresponsive server after this long (default 30 s). */
  timeoutMs?: number;
  /** Only for tests against a local server with a self-signed certificate. */
  allowSelfSigned?: boolean;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/**
 * A 5xx answer that says the mailbox itself is bad: enhanced status 5.1.x (bad destination address or
 * mailbox) or the classic wording of servers that send none. A full mailbox or a policy refusal is not.
 */
export function isBadMailbox(responseCode: number, response: string): boolean {
  if (responseCode < 550 || responseCode > 553) return false;
  const enhanced = /\b5\.(\d{1,3})\.(\d{1,3})\b/.exec(response);
  if (enhanced) return enhanced[1] === "1";
  return /user unknown|no such (user|mailbox)|mailbox (unavailable|not found)|does not exist|recipient rejected/i.test(
    response,
  );
}

/** SMTP answers: 4xx and transport failures are worth retrying; 5xx are final. */
export function classifySmtpError(error: unknown): SendResult {
  const e = error as SmtpError;
  const reason = e.response ?? e.message ?? String(error);
  if (typeof e.responseCode === "number" && e.responseCode >= 500) {
    return isBadMailbox(e.responseCode, reason)
      ? { kind: "permanent", reason, suppress: true }
      : { kind: "permanent", reason };
  }
  return { kind: "retryable", reason };
}

export function createSmtpChannel(config: SmtpConfig): EmailChannel {
  const timeout = config.timeoutMs ?? 30_000;
  const options: SMTPPool.Options = {
    pool: true,
    host: config.host,
    port: config.port,
    secure: config.secure ?? false,
    requireTLS: config.requireTls ?? false,
    maxConnections: config.maxConnections ?? 5,
    maxMessages: config.maxMessages ?? 100,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    ...(config.auth ? { auth: config.auth } : {}),
    ...(config.dkim ? { dkim: config.dkim } : {}),
    ...(config.allowSelfSigned ? { tls: { rejectUnauthorized: false } } : {}),
  };
  const transport = nodemailer.createTransport(options);
  return {
    provider: "smtp",
    // SMTP has no idempotency key: a message whose outcome is unknown is reported, never resent.
    acceptsIdempotencyKey: false,
    async send(email: OutgoingEmail): Promise<SendResult> {
      const domain = config.messageIdDomain ?? email.from.address.split("@")[1] ?? "omneural.local";
      const messageId = messageIdFor(email.idempotencyKey, domain);
      try {
        const info = await transport.sendMail({
          messageId,
          from: formatAddress(email.from),
          to: formatAddress(email.to),
          ...(email.replyTo ? { replyTo: formatAddress(email.replyTo) } : {}),
          subject: email.subject,
          html: email.html,
          text: email.text,
          // Quoted-printable suits any content; naming it spares nodemailer scanning every part (twice) to
          // choose between it and base64, the largest cost of building a newsletter-sized message.
          textEncoding: "quoted-printable",
          headers: { ...unsubscribeHeaders(email.unsubscribe), ...(email.headers ?? {}) },
        });
        if (info.rejected.length > 0) {
          return {
            kind: "permanent",
            reason: `the server rejected ${info.rejected.join(", ")}: ${info.response}`,
            suppress: isBadMailbox(550, info.response),
          };
        }
        return { kind: "sent", providerMessageId: info.messageId ?? messageId, detail: info.response };
      } catch (error) {
        return classifySmtpError(error);
      }
    },
    async close() {
      transport.close();
    },
  };
}
