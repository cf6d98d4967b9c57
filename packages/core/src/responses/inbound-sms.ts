/**
 * Inbound SMS and Twilio's webhooks, the pure part: the request signature Twilio puts on every webhook
 * (`X-Twilio-Signature`), the form body it posts, the opt-out / opt-in / help keywords, the texts we answer
 * them with, and the TwiML that carries an answer back.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { TWILIO_RECIPIENT_ERRORS } from "../delivery/twilio-sms-channel.ts";

/** Form parameters in the order they came, names and values decoded. A name may repeat. */
export type FormParams = readonly (readonly [string, string])[];

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/security#validating-requests): the full
 * URL Twilio requested (scheme to the end of the query string), then every POST parameter sorted by name
 * with its name and value appended without delimiters (a repeated name: once per value, values sorted),
 * signed with HMAC-SHA1 under the account's auth token, base64-encoded.
 */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  const byName = new Map<string, string[]>();
  for (const [name, value] of params) byName.set(name, [...(byName.get(name) ?? []), value]);
  let data = url;
  // Default JS sort (UTF-16 code units), as Twilio's own libraries sort.
  for (const name of [...byName.keys()].sort()) {
    for (const value of byName.get(name)!.sort()) data += name + value;
  }
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/**
 * The URL without its port and with its scheme's default port: Twilio's own validators accept either,
 * because Twilio's signing is not consistent about the port and proxies add or drop it.
 */
function urlSpellings(url: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!match) return [url];
  const [, scheme, authority, rest] = match as unknown as [string, string, string, string];
  const port = /:\d*$/.exec(authority);
  if (port) return [url, scheme + authority.slice(0, port.index) + rest];
  const defaultPort = scheme.toLowerCase() === "https://" ? 443 : 80;
  return [url, `${scheme}${authority}:${defaultPort}${rest}`];
}

/** Whether `signature` is Twilio's signature of this request under `authToken` (constant time). */
export function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: FormParams,
  signature: string,
): boolean {
  // Hashing both sides gives equal lengths for timingSafeEqual and leaks nothing about the expected value.
  const given = createHash("sha256").update(signature, "utf8").digest();
  let matched = false;
  for (const candidate of urlSpellings(url)) {
    const expected = createHash("sha256")
      .update(twilioSignature(authToken, candidate, params))
      .digest();
    if (timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}

/**
 * An `application/x-www-form-urlencoded` body, strictly: a bad percent escape is an error rather than
 * silently kept, so what we verify is exactly what Twilio signed.
 */
export function parseForm(body: string): { ok: true; params: FormParams } | { ok: false; reason: string } {
  const params: [string, string][] = [];
  for (const part of body.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    try {
      params.push([
        decodeURIComponent(rawName.replaceAll("+", " ")),
        decodeURIComponent(rawValue.replaceAll("+", " ")),
      ]);
    } catch {
      return { ok: false, reason: `the form parameter "${rawName.slice(0, 40)}" is not validly encoded` };
    }
  }
  return { ok: true, params };
}

/** The first value of a form parameter. */
export function formValue(params: FormParams, name: string): string | undefined {
  return params.find(([n]) => n === name)?.[1];
}

/** The auth token in TWILIO_URL (`https://SID:TOKEN@api.twilio.com`), if there is one. */
export function authTokenOfTwilioUrl(twilioUrl: string | undefined): string | undefined {
  if (!twilioUrl) return undefined;
  try {
    return decodeURIComponent(new URL(twilioUrl).password) || undefined;
  } catch {
    return undefined;
  }
}

const escapeXml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );

/** TwiML answering an inbound message: one text back, or nothing (`<Response/>`). */
export function twiml(message?: string): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>';
  return message === undefined
    ? `${head}<Response/>`
    : `${head}<Response><Message>${escapeXml(message)}</Message></Response>`;
}

// The keywords carriers and Twilio treat as opt-out, opt-in and help (CTIA).
const KEYWORDS = {
  stop: ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"],
  start: ["START", "UNSTOP", "YES"],
  help: ["HELP"],
} as const;
export type SmsKeyword = keyof typeof KEYWORDS;
export const SMS_KEYWORDS: Readonly<Record<SmsKeyword, readonly string[]>> = KEYWORDS;

const KEYWORD_OF = new Map<string, SmsKeyword>(
  Object.entries(KEYWORDS).flatMap(([kind, words]) => words.map((w) => [w, kind as SmsKeyword] as const)),
);

/**
 * The keyword a whole message is, if it is one: case, spaces (" stop ", "Opt out", "STOP ALL"), full-width
 * letters and surrounding . ! ? are ignored, so a recipient is never held to an exact spelling of an
 * opt-out. A keyword inside a longer message ("please stop texting me") is a reply, as carriers read it.
 */
export function smsKeyword(body: string): SmsKeyword | undefined {
  const word = body
    .normalize("NFKC")
    .replace(/[\s\u200B-\u200D\u2060\uFEFF]+/gu, "")
    .replace(/^[.!?¡¿]+|[.!?¡¿]+$/gu, "")
    .toUpperCase();
  return KEYWORD_OF.get(word);
}

/** The answer to HELP when the workspace has set none (sender settings' smsHelpText). */
export const defaultSmsHelpText = (workspaceName: string) =>
  `${workspaceName}: Reply STOP to opt out, START to opt back in.`;

export const stopConfirmation = (workspaceName: string) =>
  `${workspaceName}: You are unsubscribed and will get no more messages. Reply START to opt back in.`;

export const startConfirmation = (workspaceName: string) =>
  `${workspaceName}: You are subscribed again. Reply HELP for help, STOP to opt out.`;

/**
 * Error codes of a Twilio status callback (`undelivered` / `failed`) that say the number itself cannot
 * take messages: the number is suppressed. Others (30003 handset off, 30007 carrier filtering …) pass.
 */
export const TWILIO_PERMANENT_DELIVERY_ERRORS: Readonly<Record<number, string>> = {
  ...TWILIO_RECIPIENT_ERRORS,
  30005: "unknown destination handset",
  30006: "landline or unreachable carrier",
};
