/**
 * Direct mail over a Lob-compatible print-and-mail API: `POST {baseUrl}/v1/letters` or
 * `/v1/postcards`, JSON, HTTP Basic auth with the API key as the user, and the ledger row's idempotency
 * key in `Idempotency-Key`, so a piece whose outcome was lost is submitted again safely.
 *
 * The piece goes as HTML (Lob renders it): a letter's `file` leaves the top of its first page to the
 * address block Lob prints there (`address_placement: top_first_page`); a postcard's `front` carries the
 * message and its `back` the QR code and PURL, clear of the address area on the right. The return
 * address is the workspace's postal address, read as lines (see parseReturnAddress).
 */
import { getCountry } from "countries-and-timezones";
import QRCode from "qrcode";
import { acceptedAnswer, type MailChannel, type OutgoingMailPiece, type SendResult } from "./channel.ts";
import { parseRetryAfter } from "./twilio-sms-channel.ts";

export interface LobConfig {
  /** The API's origin, e.g. `https://api.lob.com`. */
  baseUrl: string;
  /** A secret API key (`test_…` or `live_…`). */
  apiKey: string;
  /** Give up on an unanswered request after this long (default 30 s); the answer is then retryable. */
  timeoutMs?: number;
  /** Lob's `use_type` (default "marketing"). */
  useType?: "marketing" | "operational";
  /** Letters in colour (default false). */
  color?: boolean;
  /** Postcard size (default "4x6"). */
  postcardSize?: "4x6" | "6x9" | "6x11";
}

/** An address in Lob's field names. */
export interface LobAddress {
  name: string;
  address_line1: string;
  address_line2?: string;
  address_city: string;
  address_state?: string;
  address_zip?: string;
  address_country: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function lobAddressOf(to: OutgoingMailPiece["to"]): LobAddress {
  const address: LobAddress = {
    name: to.name.trim(),
    address_line1: to.line1.trim(),
    address_city: to.city.trim(),
    address_zip: to.postalCode.trim(),
    address_country: to.country.trim(),
  };
  if (to.line2?.trim()) address.address_line2 = to.line2.trim();
  if (to.region?.trim()) address.address_state = to.region.trim();
  return address;
}

const US_CITY_LINE = /^(.+?),?\s+([A-Za-z]{2})\.?\s+(\d{5}(?:-\d{4})?)$/;
const CA_CITY_LINE = /^(.+?),?\s+([A-Za-z]{2})\.?\s+([A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d)$/;
const STATE_ZIP = /^([A-Za-z]{2})\.?\s+(\d{5}(?:-\d{4})?|[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d)$/;
const ZIP_FIRST = /^(\d{4,5}|\d{3}\s?\d{2})\s+(.+)$/;
const COUNTRY_ALIASES: Record<string, string> = {
  USA: "US",
  "U.S.A.": "US",
  "U.S.": "US",
  "UNITED STATES": "US",
  "UNITED STATES OF AMERICA": "US",
  CANADA: "CA",
  UK: "GB",
  "UNITED KINGDOM": "GB",
  "GREAT BRITAIN": "GB",
  GERMANY: "DE",
  DEUTSCHLAND: "DE",
  FRANCE: "FR",
  AUSTRALIA: "AU",
};

function countryCodeOf(line: string): string | undefined {
  const upper = line.trim().toUpperCase();
  if (COUNTRY_ALIASES[upper]) return COUNTRY_ALIASES[upper];
  if (/^[A-Z]{2}$/.test(upper) && getCountry(upper)) return upper;
  return undefined;
}

/**
 * The workspace's postal address (free text) as a Lob address: lines (or, on one line, comma-separated
 * parts) of name, street, optional second street line, then "City, ST 12345" (US and Canada) or
 * "12345 City", and optionally a country last (default US). Undefined when it cannot be read so.
 */
export function parseReturnAddress(text: string): LobAddress | undefined {
  let parts = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (parts.length === 1) parts = parts[0]!.split(",").map((part) => part.trim());
  parts = parts.filter(Boolean);
  let country = "US";
  const last = parts.at(-1);
  if (last && parts.length > 3 && countryCodeOf(last)) {
    country = countryCodeOf(last)!;
    parts.pop();
  }
  let city: string | undefined;
  let state: string | undefined;
  let zip: string | undefined;
  const cityLine = parts.pop() ?? "";
  const american = US_CITY_LINE.exec(cityLine) ?? CA_CITY_LINE.exec(cityLine);
  const stateZip = STATE_ZIP.exec(cityLine);
  const zipFirst = ZIP_FIRST.exec(cityLine);
  if (american) [, city, state, zip] = american;
  else if (stateZip && parts.length >= 3) {
    // "…, San Francisco, CA 94105": the city was the part before.
    city = parts.pop();
    [, state, zip] = stateZip;
  } else if (zipFirst) [, zip, city] = zipFirst;
  else return undefined;
  if (!city || parts.length < 2 || parts.length > 3) return undefined;
  const [name, line1, line2] = parts as [string, string, string | undefined];
  const address: LobAddress = {
    name,
    address_line1: line1,
    address_city: city.trim(),
    address_country: country,
  };
  if (line2) address.address_line2 = line2;
  if (state) address.address_state = state.toUpperCase();
  if (zip) address.address_zip = zip.toUpperCase();
  return address;
}

const escapeHtml = (s: string) =>
  s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");

async function qrSvg(purl: string, inches: number): Promise<string> {
  const svg = await QRCode.toString(purl, { type: "svg", errorCorrectionLevel: "M", margin: 4 });
  return svg.replace("<svg ", `<svg width="${inches}in" height="${inches}in" `);
}

const PAGE_STYLE =
  "body{margin:0;font-family:Helvetica,Arial,sans-serif;color:#000}" +
  ".text{white-space:pre-wrap;word-wrap:break-word}" +
  ".purl{font-size:7pt}";

/** A letter's HTML: the body below the address area Lob prints, then the QR code and PURL. */
export async function letterHtml(piece: OutgoingMailPiece): Promise<string> {
  return (
    '<!DOCTYPE html><html><head><meta charset="UTF-8"><style>' +
    `@page{size:8.5in 11in;margin:0}${PAGE_STYLE}` +
    ".content{padding:3.75in 1in 0.75in 1in;font-size:11pt;line-height:1.3}" +
    ".code{margin-top:0.3in;text-align:right}" +
    '</style></head><body><div class="content">' +
    `<div class="text">${escapeHtml(piece.body)}</div>` +
    `<div class="code">${await qrSvg(piece.purl, 1)}<div class="purl">${escapeHtml(piece.purl)}</div></div>` +
    "</div></body></html>"
  );
}

/** A postcard's two sides: the message on the front, the QR code and PURL on the back's left half. */
export async function postcardHtml(piece: OutgoingMailPiece): Promise<{ front: string; back: string }> {
  const head = (css: string) =>
    `<!DOCTYPE html><html><head><meta charset="UTF-8"><style>${PAGE_STYLE}${css}</style></head><body>`;
  return {
    front:
      head(".front{padding:0.35in;font-size:12pt;line-height:1.3;overflow:hidden}") +
      `<div class="front text">${escapeHtml(piece.body)}</div></body></html>`,
    back:
      head(".back{position:absolute;left:0.25in;bottom:0.4in;width:2.4in}") +
      `<div class="back">${await qrSvg(piece.purl, 1)}<div class="purl">${escapeHtml(piece.purl)}</div></div></body></html>`,
  };
}

interface LobErrorBody {
  error?: { message?: unknown; status_code?: unknown; code?: unknown };
}

function describeError(status: number, text: string): string {
  let message: string | undefined;
  let code: string | undefined;
  try {
    const body = JSON.parse(text) as LobErrorBody;
    if (typeof body?.error?.message === "string") message = body.error.message;
    if (typeof body?.error?.code === "string") code = body.error.code;
  } catch {
    // Not JSON (a proxy's page): the raw text below.
  }
  return [`HTTP ${status}`, code, message ?? (text.trim().slice(0, 200) || undefined)]
    .filter(Boolean)
    .join(": ");
}

/** Classify one HTTP answer from the letters or postcards API. */
export function classifyLobAnswer(
  status: number,
  text: string,
  retryAfter: string | null,
  nowMs: number,
): SendResult {
  if (status >= 200 && status < 300) return acceptedAnswer(status, text, "id");
  const description = describeError(status, text);
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
    return retryAfterMs === undefined
      ? { kind: "retryable", reason: description }
      : { kind: "retryable", reason: description, retryAfterMs };
  }
  if (status === 401 || status === 403)
    return { kind: "permanent", reason: `authentication failed: ${description}` };
  return { kind: "permanent", reason: description };
}

function describeTransportError(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message} (${cause})` : (e?.message ?? String(error));
}

/** The request body of one piece, in Lob's fields. */
export async function lobRequestOf(
  piece: OutgoingMailPiece,
  config: Pick<LobConfig, "useType" | "color" | "postcardSize">,
): Promise<{ path: string; body: Record<string, unknown> } | { problem: string }> {
  const from = parseReturnAddress(piece.returnAddress);
  if (!from && piece.layout === "letter") {
    return {
      problem:
        'the workspace\'s postal address cannot be read as a return address: write it as lines of name, street, and "City, ST 12345" (PUT /api/v1/workspace/sender)',
    };
  }
  const common: Record<string, unknown> = {
    description: `Omneural ${piece.messageId ?? piece.idempotencyKey}`.slice(0, 255),
    to: lobAddressOf(piece.to),
    ...(from ? { from } : {}),
    use_type: config.useType ?? "marketing",
    metadata: {
      omneural_workspace_id: piece.workspaceId,
      ...(piece.messageId ? { omneural_message_id: piece.messageId } : {}),
    },
  };
  if (piece.layout === "postcard") {
    const { front, back } = await postcardHtml(piece);
    return {
      path: "/v1/postcards",
      body: { ...common, front, back, size: config.postcardSize ?? "4x6" },
    };
  }
  return {
    path: "/v1/letters",
    body: {
      ...common,
      file: await letterHtml(piece),
      color: config.color ?? false,
      double_sided: true,
      address_placement: "top_first_page",
    },
  };
}

export function createLobChannel(config: LobConfig): MailChannel {
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = config.baseUrl.replace(/\/+$/, "");
  const authorization = `Basic ${Buffer.from(`${config.apiKey}:`).toString("base64")}`;
  // The key must never reach a ledger reason, even if a provider or proxy echoes it back.
  const redact = (reason: string) =>
    config.apiKey === ""
      ? reason
      : reason.replaceAll(config.apiKey, "[redacted]").replaceAll(authorization.slice(6), "[redacted]");

  return {
    provider: "lob",
    acceptsIdempotencyKey: true,
    async send(piece: OutgoingMailPiece): Promise<SendResult> {
      const request = await lobRequestOf(piece, config);
      if ("problem" in request) return { kind: "permanent", reason: request.problem };
      try {
        const response = await fetch(`${base}${request.path}`, {
          method: "POST",
          headers: {
            Authorization: authorization,
            "Content-Type": "application/json",
            Accept: "application/json",
            "Idempotency-Key": piece.idempotencyKey,
          },
          body: JSON.stringify(request.body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        const result = classifyLobAnswer(
          response.status,
          text,
          response.headers.get("retry-after"),
          Date.now(),
        );
        return result.kind === "sent" ? result : { ...result, reason: redact(result.reason) };
      } catch (error) {
        // The request may have reached Lob; a retry carries the same idempotency key.
        return { kind: "retryable", reason: redact(describeTransportError(error, timeoutMs)) };
      }
    },
    async close() {
      // fetch keeps no connection of ours to close.
    },
  };
}
