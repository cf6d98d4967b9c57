/**
 * The dev inbox: a provider for every channel that records what would have been sent in the `outbox`
 * table instead of sending it. It is the default in embedded mode, so a new user's first campaign
 * "sends" without any account, and `GET /api/v1/outbox` shows exactly what went out.
 */
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { notFound } from "../shared/errors.ts";
import {
  type EmailChannel,
  formatAddress,
  type MailChannel,
  messageIdFor,
  type OutgoingEmail,
  type OutgoingMailPiece,
  type OutgoingSms,
  type OutgoingWebhook,
  type SendResult,
  type SmsChannel,
  unsubscribeHeaders,
  type WebhookChannel,
} from "./channel.ts";
import { selectOutboxEntry, selectWorkspaceCountry } from "./mail.repository.ts";
import { recordInOutbox } from "./outbox.repository.ts";
import { addressBlockLines, checkMailAddress, renderMailPiecePdf } from "./print-batch.ts";

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

/** What the dev inbox keeps of a mail piece: enough to show it, and to draw its PDF again. */
interface OutboxMailContent {
  layout: OutgoingMailPiece["layout"];
  addressBlock: string[];
  to: OutgoingMailPiece["to"];
  returnAddress: string;
  body: string;
  purl: string;
  pages: number;
  homeCountry: string;
}

/**
 * Direct mail into the dev inbox: the piece is laid out as it would be printed (the page count comes
 * from drawing it), and `GET /api/v1/outbox/{id}/pdf` draws the PDF again from what is kept.
 */
export function createDevInboxMailChannel(db: Db): MailChannel {
  return {
    provider: "dev-inbox",
    acceptsIdempotencyKey: true,
    async send(piece: OutgoingMailPiece): Promise<SendResult> {
      const problem = checkMailAddress(piece.to);
      if (problem) return { kind: "permanent", reason: `address incomplete: ${problem}` };
      const homeCountry = (await selectWorkspaceCountry(db, piece.workspaceId)) ?? "US";
      const { pages } = await renderMailPiecePdf(piece, { homeCountry });
      const addressBlock = addressBlockLines(piece.to, homeCountry);
      const content: OutboxMailContent = {
        layout: piece.layout,
        addressBlock,
        to: piece.to,
        returnAddress: piece.returnAddress,
        body: piece.body,
        purl: piece.purl,
        pages,
        homeCountry,
      };
      const id = await recordInOutbox(db, {
        workspaceId: piece.workspaceId,
        messageId: piece.messageId,
        channel: "mail",
        recipient: addressBlock.join(", "),
        subject: null,
        content: { ...content },
        headers: { "Idempotency-Key": piece.idempotencyKey },
      });
      return { kind: "sent", providerMessageId: id };
    },
    async close() {},
  };
}

/** The PDF of a mail piece in the workspace's dev inbox; not found for any other entry. */
export async function outboxMailPdf(db: Db, ws: WorkspaceContext, id: string): Promise<Buffer> {
  const row = await selectOutboxEntry(db, ws.id, id);
  if (row?.channel !== "mail") throw notFound("mail piece in the outbox", id);
  const content = row.content as unknown as OutboxMailContent;
  const { pdf } = await renderMailPiecePdf(
    {
      workspaceId: row.workspace_id,
      messageId: row.message_id,
      idempotencyKey: (row.headers as Record<string, string>)["Idempotency-Key"] ?? row.id,
      layout: content.layout,
      to: content.to,
      returnAddress: content.returnAddress,
      body: content.body,
      purl: content.purl,
    },
    { homeCountry: content.homeCountry },
  );
  return pdf;
}

/** An email in the dev inbox as it was delivered: its HTML, for the web app's preview. */
/** The open pixel tracking adds before `</body>` (tracking/rewrite.ts), wherever it points. */
const OPEN_PIXEL = /<img src="[^"]*\/t\/o\/[A-Za-z0-9_-]+" width="1" height="1" alt="" style="[^"]*">/g;

/**
 * An email's HTML as delivered, for the Outbox to show, without its open pixel: someone looking at the
 * Outbox is not the recipient opening the email, and must not count as one. Its links stay tracked, so
 * following one from the Outbox is a click, as it would be from the inbox.
 */
export async function outboxEmailHtml(db: Db, ws: WorkspaceContext, id: string): Promise<string> {
  const row = await selectOutboxEntry(db, ws.id, id);
  const html = (row?.content as { html?: unknown } | undefined)?.html;
  if (row?.channel !== "email" || typeof html !== "string") throw notFound("email in the outbox", id);
  return html.replace(OPEN_PIXEL, "");
}
