/**
 * The dev inbox: a provider for every channel that records what would have been sent in the `outbox`
 * table instead of sending it. It is the default in embedded mode, so a new user's first campaign
 * "sends" without any account, and `GET /api/v1/outbox` shows exactly what went out.
 */
import type { Db } from "../db/database.ts";
import {
  type EmailChannel,
  formatAddress,
  messageIdFor,
  type OutgoingEmail,
  type OutgoingSms,
  type OutgoingWebhook,
  type SendResult,
  type SmsChannel,
  unsubscribeHeaders,
  type WebhookChannel,
} from "./channel.ts";
import { recordInOutbox } from "./outbox.repository.ts";

export function createDevInboxEmailChannel(db: Db): EmailChannel {
  return {
    provider: "dev-inbox",
    // The outbox is unique per ledger row: a second delivery of the same row is a no-op.
    acceptsIdempotencyKey: true,
    async send(email: OutgoingEmail): Promise<SendResult> {
      const messageId = messageIdFor(email.idempotencyKey, "dev-inbox.omneural.local");
      const headers = {
        "Message-ID": messageId,
        From: formatAddress(email.from),
        To: formatAddress(email.to),
        Subject: email.subject,
        ...(email.replyTo ? { "Reply-To": formatAddress(email.replyTo) } : {}),
        ...unsubscribeHeaders(email.unsubscribe),
        ...(email.headers ?? {}),
      };
      const id = await recordInOutbox(db, {
        workspaceId: email.workspaceId,
        messageId: email.messageId,
        channel: "email",
        recipient: email.to.address,
        subject: email.subject,
        content: { html: email.html, text: email.text },
        headers,
      });
      return { kind: "sent", providerMessageId: id };
    },
    async close() {},
  };
}

export function createDevInboxSmsChannel(db: Db): SmsChannel {
  return {
    provider: "dev-inbox",
    acceptsIdempotencyKey: true,
    async send(sms: OutgoingSms): Promise<SendResult> {
      const id = await recordInOutbox(db, {
        workspaceId: sms.workspaceId,
        messageId: sms.messageId,
        channel: "sms",
        recipient: sms.to,
        subject: null,
        content: { body: sms.body },
        headers: { From: sms.from },
      });
      return { kind: "sent", providerMessageId: id };
    },
    async close() {},
  };
}

export function createDevInboxWebhookChannel(db: Db): WebhookChannel {
  return {
    provider: "dev-inbox",
    acceptsIdempotencyKey: true,
    async send(call: OutgoingWebhook): Promise<SendResult> {
      const id = await recordInOutbox(db, {
        workspaceId: call.workspaceId,
        messageId: call.messageId,
        channel: "webhook",
        recipient: call.url,
        subject: null,
        content: call.body,
        headers: { "Idempotency-Key": call.idempotencyKey },
      });
      return { kind: "sent", providerMessageId: id };
    },
    async close() {},
  };
}
