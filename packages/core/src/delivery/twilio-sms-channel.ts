/**
 * SMS over a Twilio-compatible REST API: `POST {baseUrl}/2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded, HTTP Basic auth, with the ledger row's idempotency key in `I-Twilio-Idempotency-Token`.
 */
import { acceptedAnswer, type OutgoingSms, type SendResult, type SmsChannel } from "./channel.ts";

export interface TwilioSmsConfig {
  /** The API's origin, e.g. `https://api.twilio.com` (no default: a compatible provider has its own). */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** Where Twilio posts delivery-status updates (default: none registered). */
  statusCallbackUrl?: string;
  /** Give up on an unanswered request after this long (default 10 s); the answer is then retryable. */
  timeoutMs?: number;
}

/**
 * Twilio error codes that reject the recipient rather than the request: the dispatcher may suppress the
 * number for these (21610 means the recipient replied STOP).
 */
export const TWILIO_RECIPIENT_ERRORS: Readonly<Record<number, string>> = {
  21211: "invalid To number",
  21408: "region not enabled for this account",
  21610: "recipient unsubscribed",
  21614: "not a mobile number",
};

/** A Messaging Service SID (`MG` + 32 hex digits), as opposed to a number or an alphanumeric sender id. */
const MESSAGING_SERVICE_SID = /^MG[0-9a-f]{32}$/i;

const DEFAULT_TIMEOUT_MS = 10_000;

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from `nowMs`; undefined if unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

interface TwilioErrorBody {
  code?: number;
  message?: string;
}

/** Twilio's error body is JSON; a proxy in front of it may answer HTML or nothing at all. */
function describeError(status: number, text: string): { code?: number; description: string } {
  let body: TwilioErrorBody | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") body = parsed as TwilioErrorBody;
  } catch {
    // Not JSON: fall back to the raw text below.
  }
  const code = typeof body?.code === "number" ? body.code : undefined;
  const message = typeof body?.message === "string" ? body.message : text.trim().slice(0, 200);
  const description = [`HTTP ${status}`, code !== undefined ? `Twilio error ${code}` : undefined, message]
    .filter(Boolean)
    .join(": ");
  return code === undefined ? { description } : { code, description };
}

/** Classify one HTTP answer from the Messages API. */
export function classifyTwilioAnswer(
  status: number,
  text: string,
  retryAfter: string | null,
  nowMs: number,
): SendResult {
  if (status >= 200 && status < 300) return acceptedAnswer(status, text, "sid");

  const { code, description } = describeError(status, text);
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
    return retryAfterMs === undefined
      ? { kind: "retryable", reason: description }
      : { kind: "retryable", reason: description, retryAfterMs };
  }
  if (code !== undefined && code in TWILIO_RECIPIENT_ERRORS) {
    return {
      kind: "permanent",
      reason: `recipient rejected (${TWILIO_RECIPIENT_ERRORS[code]}): ${description}`,
      suppress: true,
    };
  }
  if (status === 401 || status === 403) {
    return { kind: "permanent", reason: `authentication failed: ${description}` };
  }
  return { kind: "permanent", reason: description };
}

/** A request that got no answer: timed out, refused, reset. All are worth retrying. */
function describeTransportError(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message} (${cause})` : (e?.message ?? String(error));
}

export function createTwilioSmsChannel(config: TwilioSmsConfig): SmsChannel {
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const url = `${config.baseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString("base64")}`;
  // The token must never reach a ledger reason, even if a provider or proxy echoes it back.
  const redact = (reason: string): string =>
    config.authToken === ""
      ? reason
      : reason.replaceAll(config.authToken, "[redacted]").replaceAll(authorization.slice(6), "[redacted]");
  const redacted = (result: SendResult): SendResult =>
    result.kind === "sent" ? result : { ...result, reason: redact(result.reason) };

  return {
    provider: "twilio",
    acceptsIdempotencyKey: true,
    async send(sms: OutgoingSms): Promise<SendResult> {
      const form = new URLSearchParams({ To: sms.to });
      if (MESSAGING_SERVICE_SID.test(sms.from)) form.set("MessagingServiceSid", sms.from);
      else form.set("From", sms.from);
      form.set("Body", sms.body);
      if (config.statusCallbackUrl) form.set("StatusCallback", config.statusCallbackUrl);
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: {
            Authorization: authorization,
            "Content-Type": "application/x-www-form-urlencoded",
            Accept: "application/json",
            "I-Twilio-Idempotency-Token": sms.idempotencyKey,
          },
          body: form.toString(),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        return redacted(
          classifyTwilioAnswer(response.status, text, response.headers.get("retry-after"), Date.now()),
        );
      } catch (error) {
        // The request may have reached Twilio; a retry carries the same idempotency token.
        return { kind: "retryable", reason: redact(describeTransportError(error, timeoutMs)) };
      }
    },
    async close() {
      // fetch keeps no connection of ours to close.
    },
  };
}
