/**
 * Email bounces and complaints as providers post them, the pure part: the workspace's hook token, and
 * the three body formats read into one list of events: the generic JSON format (docs/responses.md),
 * Amazon SES notifications through SNS, and SendGrid's Event Webhook.
 */
import { timingSafeEqual } from "node:crypto";
import { normalizeEmail } from "../contacts/normalize.ts";
import { mac } from "../security/keys.ts";
import type { FieldProblem } from "../shared/errors.ts";

export interface EmailFeedbackEvent {
  type: "bounce" | "complaint" | "delivered";
  /** Normalised (lower case, as contacts and suppressions store it). */
  email: string;
  /** Bounces only: hard (the address is bad for good) or soft (full mailbox, a refusal for now …). */
  bounceType?: "hard" | "soft";
  /** The Message-ID header of the message (`<…@…>`), or our ledger row's id. */
  messageRef?: string;
  reason?: string;
  occurredAt?: Date;
  /** The provider's id of this event, so that a redelivered webhook is recorded once. */
  eventId?: string;
}

export type EmailFeedbackFormat = "generic" | "ses" | "sendgrid";

export type EmailFeedback =
  | { kind: "events"; format: EmailFeedbackFormat; events: EmailFeedbackEvent[] }
  /** SNS asks to confirm a subscription: the URL is logged for the operator, never fetched by us. */
  | { kind: "sns-subscription"; topicArn: string; subscribeUrl: string }
  | { kind: "sns-unsubscribed"; topicArn: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldProblem[] };

// ---------------------------------------------------------------------------------------------------
// The hook token: `base64url(workspace id (16 bytes) ‖ HMAC-SHA256(link key, purpose ‖ id)[0..16])`.

const TOKEN_PURPOSE = "email-feedback-hook v1:";

export function emailHookToken(linkKey: Buffer, workspaceId: string): string {
  const id = Buffer.from(workspaceId.replaceAll("-", ""), "hex");
  return Buffer.concat([id, mac(linkKey, TOKEN_PURPOSE + workspaceId)]).toString("base64url");
}

/** The workspace a hook token was made for; undefined for anything forged, altered or truncated. */
export function readEmailHookToken(linkKey: Buffer, token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const bytes = Buffer.from(token, "base64url");
  if (bytes.length !== 32) return undefined;
  const hex = bytes.subarray(0, 16).toString("hex");
  const workspaceId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return timingSafeEqual(bytes.subarray(16), mac(linkKey, TOKEN_PURPOSE + workspaceId))
    ? workspaceId
    : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Reading the body.

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() !== "" ? v : undefined);
const clip = (s: string | undefined, n = 1000) => (s === undefined ? undefined : s.slice(0, n));

/** `Ada <ada@example.com>` or `ada@example.com` → the normalised address. */
function readAddress(raw: unknown, field: string, errors: FieldProblem[]): string | undefined {
  if (typeof raw !== "string" || raw.trim() === "") {
    errors.push({ field, message: "is required (an email address)" });
    return undefined;
  }
  const bracketed = /<([^<>]+)>\s*$/.exec(raw);
  const result = normalizeEmail(bracketed ? bracketed[1]! : raw);
  if (!result.ok) {
    errors.push({ field, message: `is not an email address (${raw.slice(0, 80)})` });
    return undefined;
  }
  return result.value;
}

function readDate(raw: unknown, field: string, errors: FieldProblem[]): Date | undefined {
  if (raw === undefined || raw === null) return undefined;
  const date =
    typeof raw === "number" ? new Date(raw * 1000) : typeof raw === "string" ? new Date(raw) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    errors.push({ field, message: "is not a date (ISO 8601, or Unix seconds)" });
    return undefined;
  }
  return date;
}

function optionalText(raw: unknown, field: string, errors: FieldProblem[]): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "string") {
    errors.push({ field, message: "must be a string" });
    return undefined;
  }
  return clip(raw.trim()) || undefined;
}

const MAX_EVENTS = 10_000;

/**
 * Which format a body is, and its events. A body with any malformed event is refused as a whole (the
 * errors name each one), so a provider's retry after a fix never half-applies a batch.
 */
export function parseEmailFeedback(body: unknown): Parsed<EmailFeedback> {
  if (Array.isArray(body)) return parseSendGrid(body);
  if (isObject(body)) {
    if (typeof body.Type === "string" && ("TopicArn" in body || "Message" in body)) return parseSns(body);
    if ("events" in body) return parseGeneric(body);
    // SNS with "raw message delivery" posts the SES notification itself.
    if ("notificationType" in body || "eventType" in body) return parseSesMessage(body, undefined, "");
  }
  return {
    ok: false,
    errors: [
      {
        field: "(body)",
        message:
          'is not a known format: expected {"events": [...]}, an Amazon SNS notification, or a SendGrid event array',
      },
    ],
  };
}

function parseGeneric(body: Record<string, unknown>): Parsed<EmailFeedback> {
  const errors: FieldProblem[] = [];
  const extra = Object.keys(body).filter((k) => k !== "events");
  if (extra.length) errors.push({ field: extra[0]!, message: "is not a known field" });
  if (!Array.isArray(body.events)) {
    return { ok: false, errors: [{ field: "events", message: "must be an array" }] };
  }
  if (body.events.length > MAX_EVENTS) {
    return { ok: false, errors: [{ field: "events", message: `holds more than ${MAX_EVENTS} events` }] };
  }
  const events: EmailFeedbackEvent[] = [];
  body.events.forEach((raw, i) => {
    const at = `events[${i}]`;
    if (!isObject(raw)) {
      errors.push({ field: at, message: "must be an object" });
      return;
    }
    const known = new Set(["type", "email", "bounceType", "messageId", "reason", "occurredAt", "id"]);
    const unknown = Object.keys(raw).find((k) => !known.has(k));
    if (unknown) errors.push({ field: `${at}.${unknown}`, message: "is not a known field" });
    if (raw.type !== "bounce" && raw.type !== "complaint") {
      errors.push({ field: `${at}.type`, message: 'must be "bounce" or "complaint"' });
    }
    if (raw.type === "bounce" && raw.bounceType !== "hard" && raw.bounceType !== "soft") {
      errors.push({ field: `${at}.bounceType`, message: 'must be "hard" or "soft" for a bounce' });
    }
    const email = readAddress(raw.email, `${at}.email`, errors);
    const messageRef = optionalText(raw.messageId, `${at}.messageId`, errors);
    const reason = optionalText(raw.reason, `${at}.reason`, errors);
    const eventId = optionalText(raw.id, `${at}.id`, errors);
    if (typeof raw.occurredAt === "number") {
      errors.push({ field: `${at}.occurredAt`, message: "must be an ISO 8601 date-time string" });
    }
    const occurredAt =
      typeof raw.occurredAt === "number" ? undefined : readDate(raw.occurredAt, `${at}.occurredAt`, errors);
    if (!email || (raw.type !== "bounce" && raw.type !== "complaint")) return;
    events.push({
      type: raw.type,
      email,
      ...(raw.type === "bounce" ? { bounceType: raw.bounceType as "hard" | "soft" } : {}),
      ...(messageRef ? { messageRef } : {}),
      ...(reason ? { reason } : {}),
      ...(occurredAt ? { occurredAt } : {}),
      ...(eventId ? { eventId } : {}),
    });
  });
  return errors.length
    ? { ok: false, errors }
    : { ok: true, value: { kind: "events", format: "generic", events } };
}

function parseSns(body: Record<string, unknown>): Parsed<EmailFeedback> {
  const topicArn = typeof body.TopicArn === "string" ? body.TopicArn : "";
  if (body.Type === "SubscriptionConfirmation") {
    const subscribeUrl = text(body.SubscribeURL);
    if (!subscribeUrl) return { ok: false, errors: [{ field: "SubscribeURL", message: "is required" }] };
    return { ok: true, value: { kind: "sns-subscription", topicArn, subscribeUrl } };
  }
  if (body.Type === "UnsubscribeConfirmation")
    return { ok: true, value: { kind: "sns-unsubscribed", topicArn } };
  if (body.Type !== "Notification") {
    return {
      ok: false,
      errors: [{ field: "Type", message: `is not an SNS message type (${String(body.Type)})` }],
    };
  }
  if (typeof body.Message !== "string") {
    return {
      ok: false,
      errors: [{ field: "Message", message: "must be the SES notification as a JSON string" }],
    };
  }
  let message: unknown;
  try {
    message = JSON.parse(body.Message);
  } catch (error) {
    return {
      ok: false,
      errors: [{ field: "Message", message: `is not JSON (${(error as Error).message})` }],
    };
  }
  if (!isObject(message))
    return { ok: false, errors: [{ field: "Message", message: "must be a JSON object" }] };
  return parseSesMessage(message, text(body.MessageId), "Message.");
}

/** The Message-ID header SES saw: in commonHeaders, or among the headers (when it was told to include them). */
function sesMessageRef(mail: unknown): string | undefined {
  if (!isObject(mail)) return undefined;
  const common = isObject(mail.commonHeaders) ? text(mail.commonHeaders.messageId) : undefined;
  if (common) return common;
  if (Array.isArray(mail.headers)) {
    for (const h of mail.headers) {
      if (isObject(h) && typeof h.name === "string" && h.name.toLowerCase() === "message-id") {
        const value = text(h.value);
        if (value) return value;
      }
    }
  }
  return undefined;
}

/** An SES bounce, complaint or delivery notification (or event-publishing record). */
function parseSesMessage(
  message: Record<string, unknown>,
  snsMessageId: string | undefined,
  prefix: string,
): Parsed<EmailFeedback> {
  const errors: FieldProblem[] = [];
  const kind = text(message.notificationType) ?? text(message.eventType);
  const messageRef = sesMessageRef(message.mail);
  const sesId = isObject(message.mail) ? text(message.mail.messageId) : undefined;
  const events: EmailFeedbackEvent[] = [];
  const base = (recipient: string, i: number, feedbackId: string | undefined) => ({
    ...(messageRef ? { messageRef } : {}),
    eventId: `ses:${feedbackId ?? snsMessageId ?? sesId ?? ""}:${recipient}:${i}`,
  });
  if (kind === "Bounce") {
    const bounce = message.bounce;
    if (!isObject(bounce) || !Array.isArray(bounce.bouncedRecipients)) {
      return {
        ok: false,
        errors: [{ field: `${prefix}bounce.bouncedRecipients`, message: "must be an array" }],
      };
    }
    // Permanent: the address is bad for good. Transient (full mailbox, too large …) and Undetermined are soft.
    const bounceType = bounce.bounceType === "Permanent" ? "hard" : "soft";
    const occurredAt = readDate(bounce.timestamp, `${prefix}bounce.timestamp`, errors);
    const feedbackId = text(bounce.feedbackId);
    bounce.bouncedRecipients.forEach((r, i) => {
      const field = `${prefix}bounce.bouncedRecipients[${i}].emailAddress`;
      const email = readAddress(isObject(r) ? r.emailAddress : undefined, field, errors);
      if (!email) return;
      const diagnostic = isObject(r) ? (text(r.diagnosticCode) ?? text(r.status)) : undefined;
      const reason = [`${String(bounce.bounceType)}/${String(bounce.bounceSubType)}`, diagnostic]
        .filter(Boolean)
        .join(": ");
      events.push({
        type: "bounce",
        email,
        bounceType,
        reason: clip(reason)!,
        ...(occurredAt ? { occurredAt } : {}),
        ...base(email, i, feedbackId),
      });
    });
  } else if (kind === "Complaint") {
    const complaint = message.complaint;
    if (!isObject(complaint) || !Array.isArray(complaint.complainedRecipients)) {
      return {
        ok: false,
        errors: [{ field: `${prefix}complaint.complainedRecipients`, message: "must be an array" }],
      };
    }
    const occurredAt = readDate(complaint.timestamp, `${prefix}complaint.timestamp`, errors);
    const feedbackType = text(complaint.complaintFeedbackType);
    complaint.complainedRecipients.forEach((r, i) => {
      const field = `${prefix}complaint.complainedRecipients[${i}].emailAddress`;
      const email = readAddress(isObject(r) ? r.emailAddress : undefined, field, errors);
      if (!email) return;
      events.push({
        type: "complaint",
        email,
        ...(feedbackType ? { reason: `complaint: ${feedbackType}` } : {}),
        ...(occurredAt ? { occurredAt } : {}),
        ...base(email, i, text(complaint.feedbackId)),
      });
    });
  } else if (kind === "Delivery") {
    const delivery = message.delivery;
    if (!isObject(delivery) || !Array.isArray(delivery.recipients)) {
      return { ok: false, errors: [{ field: `${prefix}delivery.recipients`, message: "must be an array" }] };
    }
    const occurredAt = readDate(delivery.timestamp, `${prefix}delivery.timestamp`, errors);
    delivery.recipients.forEach((r, i) => {
      const email = readAddress(r, `${prefix}delivery.recipients[${i}]`, errors);
      if (!email) return;
      events.push({
        type: "delivered",
        email,
        ...(occurredAt ? { occurredAt } : {}),
        ...base(email, i, undefined),
      });
    });
  } else if (kind === undefined) {
    errors.push({ field: `${prefix}notificationType`, message: "is required" });
  }
  // Other SES notifications (Send, Open, Click, DeliveryDelay, Reject …) are not feedback: nothing to do.
  return errors.length
    ? { ok: false, errors }
    : { ok: true, value: { kind: "events", format: "ses", events } };
}

/** SendGrid's Event Webhook: an array of events, of which bounces, drops, spam reports and deliveries matter. */
function parseSendGrid(body: unknown[]): Parsed<EmailFeedback> {
  if (body.length > MAX_EVENTS) {
    return { ok: false, errors: [{ field: "(body)", message: `holds more than ${MAX_EVENTS} events` }] };
  }
  const errors: FieldProblem[] = [];
  const events: EmailFeedbackEvent[] = [];
  body.forEach((raw, i) => {
    const at = `[${i}]`;
    if (!isObject(raw)) {
      errors.push({ field: at, message: "must be an object" });
      return;
    }
    const kind = raw.event;
    if (typeof kind !== "string") {
      errors.push({ field: `${at}.event`, message: "is required" });
      return;
    }
    const reason = clip([text(raw.status), text(raw.reason)].filter(Boolean).join(" ") || undefined);
    let mapped: Pick<EmailFeedbackEvent, "type" | "bounceType"> | undefined;
    if (kind === "bounce") {
      // `type: "blocked"` is a refusal for now (a block list, a policy); `bounce` (or none) is a bad address.
      mapped = { type: "bounce", bounceType: raw.type === "blocked" ? "soft" : "hard" };
    } else if (kind === "dropped") {
      // SendGrid dropped it without trying, usually because its own suppression list has the address.
      const why = String(raw.reason ?? "");
      mapped = /spam reporting address/i.test(why)
        ? { type: "complaint" }
        : { type: "bounce", bounceType: /bounced address|invalid/i.test(why) ? "hard" : "soft" };
    } else if (kind === "spamreport") {
      mapped = { type: "complaint" };
    } else if (kind === "delivered") {
      mapped = { type: "delivered" };
    }
    if (!mapped) return; // processed, deferred, open, click, unsubscribe …: not feedback
    const email = readAddress(raw.email, `${at}.email`, errors);
    const occurredAt = readDate(raw.timestamp, `${at}.timestamp`, errors);
    const messageRef = text(raw["smtp-id"]);
    const eventId = text(raw.sg_event_id);
    if (!email) return;
    events.push({
      ...mapped,
      email,
      ...(messageRef ? { messageRef } : {}),
      ...(reason ? { reason: `${kind}: ${reason}` } : { reason: kind }),
      ...(occurredAt ? { occurredAt } : {}),
      ...(eventId ? { eventId: `sendgrid:${eventId}` } : {}),
    });
  });
  return errors.length
    ? { ok: false, errors }
    : { ok: true, value: { kind: "events", format: "sendgrid", events } };
}
