/**
 * Channel adapters: one interface per channel, implemented by each provider, with their configuration
 * and credentials injected. Adapters never throw for a provider's answer: they return what happened, and
 * the dispatcher decides (retry with backoff, fail for good, record the provider's id).
 */
import { createHash } from "node:crypto";

export interface Address {
  name?: string;
  address: string;
}

/** A rendered email, ready to go: the dispatcher has decided it may be sent. */
export interface OutgoingEmail {
  workspaceId: string;
  /** The send-ledger row (messages.id); null for a test send. */
  messageId: string | null;
  /** The ledger row's idempotency key: the Message-ID is derived from it, so a resend is recognisable. */
  idempotencyKey: string;
  from: Address;
  replyTo?: Address;
  to: Address;
  subject: string;
  html: string;
  text: string;
  /** RFC 8058 one-click unsubscribe: an HTTPS URL that takes a POST, and a mailto address. */
  unsubscribe?: { url: string; mailto?: string };
  headers?: Record<string, string>;
}

export type SendResult =
  | { kind: "sent"; providerMessageId: string; detail?: string }
  /** Try again later (SMTP 4xx, HTTP 429 or 5xx, a timeout, a refused connection). */
  | { kind: "retryable"; reason: string; retryAfterMs?: number }
  /**
   * Never retry (SMTP 5xx, HTTP 4xx: the address or the content was refused). `suppress`: the address
   * itself is bad (no such mailbox, not a valid number), so nothing more is sent to it on this channel.
   */
  | { kind: "permanent"; reason: string; suppress?: boolean };

export interface EmailChannel {
  /** The provider, as recorded on the ledger row. */
  readonly provider: string;
  /**
   * Whether the provider drops a second submission with the same idempotency key. Only then may a
   * message whose outcome is unknown (the process died mid-send) be sent again.
   */
  readonly acceptsIdempotencyKey: boolean;
  send(email: OutgoingEmail): Promise<SendResult>;
  close(): Promise<void>;
}

/** `<hash-of-key@domain>`: stable for a ledger row, opaque to the recipient. */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  const digest = createHash("sha256").update(idempotencyKey).digest("base64url").slice(0, 32);
  return `<${digest}@${domain}>`;
}

/** The List-Unsubscribe headers of RFC 2369 and RFC 8058 (one-click). */
export function unsubscribeHeaders(unsubscribe: OutgoingEmail["unsubscribe"]): Record<string, string> {
  if (!unsubscribe) return {};
  const targets = [`<${unsubscribe.url}>`];
  if (unsubscribe.mailto) targets.push(`<mailto:${unsubscribe.mailto}>`);
  return {
    "List-Unsubscribe": targets.join(", "),
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
}

export function formatAddress(a: Address): string {
  if (!a.name) return a.address;
  return `"${a.name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}" <${a.address}>`;
}

/** A rendered SMS, ready to go. */
export interface OutgoingSms {
  workspaceId: string;
  messageId: string | null;
  idempotencyKey: string;
  /** E.164. */
  to: string;
  /** E.164 sender number or alphanumeric sender id. */
  from: string;
  body: string;
}

export interface SmsChannel {
  readonly provider: string;
  readonly acceptsIdempotencyKey: boolean;
  send(sms: OutgoingSms): Promise<SendResult>;
  close(): Promise<void>;
}

/** A webhook call from a workflow's webhook node. */
export interface OutgoingWebhook {
  workspaceId: string;
  messageId: string | null;
  idempotencyKey: string;
  url: string;
  body: Record<string, unknown>;
}

export interface WebhookChannel {
  readonly provider: string;
  readonly acceptsIdempotencyKey: boolean;
  send(call: OutgoingWebhook): Promise<SendResult>;
  close(): Promise<void>;
}

/** One direct-mail piece: a rendered letter or postcard for one recipient. */
export interface OutgoingMailPiece {
  workspaceId: string;
  messageId: string | null;
  idempotencyKey: string;
  layout: "letter" | "postcard";
  to: {
    name: string;
    line1: string;
    line2?: string | null;
    city: string;
    region?: string | null;
    postalCode: string;
    country: string;
  };
  returnAddress: string;
  body: string;
  /** The member's personal URL, printed as a QR code. */
  purl: string;
}

export interface MailChannel {
  readonly provider: string;
  readonly acceptsIdempotencyKey: boolean;
  send(piece: OutgoingMailPiece): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * A 2xx answer of an HTTP provider: sent, with the id found in `field` of its JSON body; retryable when
 * there is none (the provider took it but the answer is unreadable: the idempotency key makes a second
 * submission safe, a lost message is not).
 */
export function acceptedAnswer(status: number, text: string, field: string): SendResult {
  let id: unknown;
  try {
    id = (JSON.parse(text) as Record<string, unknown>)[field];
  } catch {
    id = undefined;
  }
  if (typeof id === "string" && id !== "")
    return { kind: "sent", providerMessageId: id, detail: `HTTP ${status}` };
  return {
    kind: "retryable",
    reason: `HTTP ${status} without ${field === "sid" ? "a message sid" : `an ${field}`}`,
  };
}
