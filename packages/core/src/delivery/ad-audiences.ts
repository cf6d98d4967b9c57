/**
 * Ad audiences: members of a journey's destination audience are matched on the ad platforms by hashed
 * email and phone. Each platform publishes its own normalisation, and a hash only matches when the input
 * was normalised exactly as the platform normalises its own users' data, so the rules live here per
 * platform:
 *
 * | identifier | Meta Custom Audiences                  | Google Customer Match                          |
 * | ---------- | -------------------------------------- | ---------------------------------------------- |
 * | email      | trim, lowercase                        | trim, lowercase; for gmail.com / googlemail.com |
 * |            |                                        | also drop dots and any `+tag` before the "@"   |
 * | phone      | digits with country code, no "+"       | E.164, with the "+"                            |
 *
 * then SHA-256, as lowercase hex. Nothing unhashed leaves this module.
 *
 * Two API adapters (`createMetaAudienceChannel`, `createGoogleCustomerMatchChannel`) add and remove
 * members; `hashedAudienceCsv` produces the same hashes as a file for a manual upload. Like every channel
 * adapter they never throw for a provider's answer: they return a `SendResult`.
 */
import { createHash } from "node:crypto";
import type { SendResult } from "./channel.ts";
import { parseRetryAfter } from "./twilio-sms-channel.ts";

export type AdPlatform = "meta" | "google";

export interface AdAudienceMember {
  contactId: string;
  /** As stored on the contact (already trimmed and lowercased by the contacts area); null when absent. */
  email: string | null;
  /** E.164 (`+14155550101`), as stored on the contact; null when absent. */
  phone: string | null;
}

/** Who entered and who left one destination audience since the last sync. */
export interface AdAudienceChange {
  /** Meta: the custom audience id. Google: the user list id (or its full resource name). */
  destination: string;
  add: AdAudienceMember[];
  remove: AdAudienceMember[];
  /** The ledger row's key: a retry of the same change must reuse it. */
  idempotencyKey: string;
}

export interface AdAudienceChannel {
  /** The provider, as recorded on the ledger row. */
  readonly provider: string;
  sync(change: AdAudienceChange): Promise<SendResult>;
}

/** A member's identifiers, normalised for one platform (plain text: hash before sending). */
export interface NormalisedIdentifiers {
  email: string | null;
  phone: string | null;
}

/** A member's identifiers as SHA-256 hex; null where the member has none usable. */
export interface HashedIdentifiers {
  email: string | null;
  phone: string | null;
}

// ---------------------------------------------------------------------------------------------
// Normalisation and hashing

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;
/** Gmail ignores dots in the username and delivers `name+tag` to `name`; these domains are Gmail. */
const GMAIL_DOMAINS = new Set(["gmail.com", "googlemail.com"]);
/** E.164: "+", a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{5,14}$/;
/** What people type between the digits of a phone number. */
const PHONE_PUNCTUATION = /[\s().-]/g;

/**
 * An email as the platform normalises it, or null when it is not an address at all (hashing garbage
 * only costs match-rate reporting). Meta: trim and lowercase. Google additionally removes dots and a
 * `+tag` from the username of gmail.com and googlemail.com addresses: Google publishes the dot rule, and
 * a Gmail username can hold neither character, so the account Google matches against never has them.
 */
export function normaliseEmailForAds(email: string, platform: AdPlatform): string | null {
  const value = email.trim().toLowerCase();
  if (!EMAIL_SHAPE.test(value)) return null;
  if (platform === "meta") return value;
  const at = value.indexOf("@");
  const domain = value.slice(at + 1);
  if (!GMAIL_DOMAINS.has(domain)) return value;
  const plus = value.indexOf("+");
  const username = value.slice(0, plus >= 0 && plus < at ? plus : at).replaceAll(".", "");
  return username === "" ? null : `${username}@${domain}`;
}

/**
 * A phone number as the platform wants it before hashing: Meta digits only with the country code
 * (`14155550101`), Google E.164 with the plus (`+14155550101`). Null when the number is not E.164: the
 * country code cannot be guessed here, and contacts store phones in E.164.
 */
export function normalisePhoneForAds(e164: string, platform: AdPlatform): string | null {
  const value = e164.trim().replace(PHONE_PUNCTUATION, "");
  if (!E164.test(value)) return null;
  return platform === "meta" ? value.slice(1) : value;
}

/** A member's email and phone as Meta normalises them: trimmed lowercase email, digits-only phone. */
export function normaliseForMeta(member: Pick<AdAudienceMember, "email" | "phone">): NormalisedIdentifiers {
  return {
    email: member.email === null ? null : normaliseEmailForAds(member.email, "meta"),
    phone: member.phone === null ? null : normalisePhoneForAds(member.phone, "meta"),
  };
}

/** A member's email and phone as Google normalises them: Gmail-canonical email, E.164 phone with "+". */
export function normaliseForGoogle(member: Pick<AdAudienceMember, "email" | "phone">): NormalisedIdentifiers {
  return {
    email: member.email === null ? null : normaliseEmailForAds(member.email, "google"),
    phone: member.phone === null ? null : normalisePhoneForAds(member.phone, "google"),
  };
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** SHA-256 hex of the email normalised for `platform`; null when it is not an email address. */
export function hashEmailForAds(email: string, platform: AdPlatform): string | null {
  const normalised = normaliseEmailForAds(email, platform);
  return normalised === null ? null : sha256Hex(normalised);
}

/** SHA-256 hex of the E.164 phone normalised for `platform`; null when it is not E.164. */
export function hashPhoneForAds(e164: string, platform: AdPlatform): string | null {
  const normalised = normalisePhoneForAds(e164, platform);
  return normalised === null ? null : sha256Hex(normalised);
}

export function hashMemberForAds(
  member: Pick<AdAudienceMember, "email" | "phone">,
  platform: AdPlatform,
): HashedIdentifiers {
  const normalised = platform === "meta" ? normaliseForMeta(member) : normaliseForGoogle(member);
  return {
    email: normalised.email === null ? null : sha256Hex(normalised.email),
    phone: normalised.phone === null ? null : sha256Hex(normalised.phone),
  };
}

/** Hashes every member, dropping those with neither a usable email nor a usable phone. */
function hashMembers(members: readonly AdAudienceMember[], platform: AdPlatform): HashedIdentifiers[] {
  const hashed: HashedIdentifiers[] = [];
  for (const member of members) {
    const ids = hashMemberForAds(member, platform);
    if (ids.email !== null || ids.phone !== null) hashed.push(ids);
  }
  return hashed;
}

/**
 * The hashed members as a CSV for a manual upload (CRLF line ends, as RFC 4180): a header
 * `email_sha256,phone_sha256`, then one row per member with at least one usable identifier, an empty
 * cell where one is missing. Hex needs no quoting.
 */
export function hashedAudienceCsv(members: readonly AdAudienceMember[], platform: AdPlatform): string {
  const lines = ["email_sha256,phone_sha256"];
  for (const ids of hashMembers(members, platform)) lines.push(`${ids.email ?? ""},${ids.phone ?? ""}`);
  return `${lines.join("\r\n")}\r\n`;
}

// ---------------------------------------------------------------------------------------------
// Shared HTTP plumbing

const DEFAULT_TIMEOUT_MS = 30_000;

export interface HttpAnswer {
  status: number;
  text: string;
  retryAfter: string | null;
}

type Attempt = { ok: true; answer: HttpAnswer } | { ok: false; result: SendResult };

/** A request that got no answer (timed out, refused, reset) is worth retrying. */
function describeTransportError(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message} (${cause})` : (e?.message ?? String(error));
}

async function request(
  url: string,
  init: { method: string; headers: Record<string, string>; body: unknown },
  timeoutMs: number,
): Promise<Attempt> {
  try {
    const response = await fetch(url, {
      method: init.method,
      headers: { "Content-Type": "application/json", Accept: "application/json", ...init.headers },
      body: JSON.stringify(init.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return {
      ok: true,
      answer: { status: response.status, text, retryAfter: response.headers.get("retry-after") },
    };
  } catch (error) {
    return { ok: false, result: { kind: "retryable", reason: describeTransportError(error, timeoutMs) } };
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function retryable(reason: string, retryAfterMs: number | undefined): SendResult {
  return retryAfterMs === undefined
    ? { kind: "retryable", reason }
    : { kind: "retryable", reason, retryAfterMs };
}

/** Tokens must never reach a ledger reason, even when a provider or a proxy echoes them back. */
function redactor(secrets: readonly string[]): (result: SendResult) => SendResult {
  const present = secrets.filter((secret) => secret !== "");
  return (result) => {
    if (result.kind === "sent") return result;
    let reason = result.reason;
    for (const secret of present) reason = reason.replaceAll(secret, "[redacted]");
    return { ...result, reason };
  };
}

function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, "");
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// Meta Custom Audiences

export interface MetaAudienceConfig {
  /** The Graph API's origin, e.g. `https://graph.facebook.com` (no default: a compatible API has its own). */
  baseUrl: string;
  /** A system-user access token with `ads_management`; sent as a Bearer header, never in the URL. */
  accessToken: string;
  /** Graph API version in the path (default `v25.0`). */
  apiVersion?: string;
  /** Give up on an unanswered request after this long (default 30 s); the answer is then retryable. */
  timeoutMs?: number;
  /** The clock, for reading an HTTP-date Retry-After (default `Date.now`). */
  now?: () => number;
}

/** Meta takes at most 10,000 rows per request. */
export const META_MAX_ROWS_PER_REQUEST = 10_000;
/**
 * Meta's multi-key schema. In an array schema Meta names the keys `EMAIL` and `PHONE` and expects their
 * values SHA-256 hashed; `EMAIL_SHA256` / `PHONE_SHA256` are its single-key schema names.
 */
export const META_SCHEMA = ["EMAIL", "PHONE"] as const;
/**
 * Graph API error codes that mean "later", answered with HTTP 400 or 403 rather than 429: 1 and 2
 * (temporary), 4, 17, 32, 341, 613 (rate limits) and 80003 (custom audience calls throttled).
 */
export const META_RETRYABLE_ERROR_CODES: ReadonlySet<number> = new Set([1, 2, 4, 17, 32, 341, 613, 80003]);

/**
 * The upload session of one change and direction: a 52-bit integer (Meta's `session_id` is numeric, and
 * this stays exact in JSON) derived from the idempotency key, so that a retry continues the same session.
 */
export function metaSessionId(idempotencyKey: string, direction: "add" | "remove"): number {
  const digest = createHash("sha256").update(`${direction}:${idempotencyKey}`).digest();
  const id = digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4);
  return id === 0 ? 1 : id;
}

interface MetaError {
  message?: unknown;
  code?: unknown;
  error_subcode?: unknown;
  error_user_msg?: unknown;
  is_transient?: unknown;
}

/** Classify one answer from `/{audience}/users`; `sessionId` becomes the provider's id on success. */
export function classifyMetaAnswer(answer: HttpAnswer, sessionId: string, nowMs: number): SendResult {
  const body = parseJson(answer.text);
  if (answer.status >= 200 && answer.status < 300) {
    const received = body?.num_received;
    const invalid = body?.num_invalid_entries;
    const detail = [
      `HTTP ${answer.status}`,
      typeof received === "number" ? `${received} received` : undefined,
      typeof invalid === "number" && invalid > 0 ? `${invalid} invalid` : undefined,
    ]
      .filter(Boolean)
      .join(", ");
    return { kind: "sent", providerMessageId: sessionId, detail };
  }
  const error = (body?.error && typeof body.error === "object" ? body.error : {}) as MetaError;
  const code = typeof error.code === "number" ? error.code : undefined;
  const subcode = typeof error.error_subcode === "number" ? error.error_subcode : undefined;
  const message = typeof error.message === "string" ? error.message : answer.text.trim().slice(0, 200);
  const userMessage = typeof error.error_user_msg === "string" ? error.error_user_msg : undefined;
  const reason = [
    `HTTP ${answer.status}`,
    code === undefined ? undefined : `Meta error ${code}${subcode === undefined ? "" : `/${subcode}`}`,
    userMessage && userMessage !== message ? `${message} (${userMessage})` : message,
  ]
    .filter(Boolean)
    .join(": ");
  if (
    answer.status === 429 ||
    answer.status >= 500 ||
    error.is_transient === true ||
    (code !== undefined && META_RETRYABLE_ERROR_CODES.has(code))
  ) {
    return retryable(reason, parseRetryAfter(answer.retryAfter, nowMs));
  }
  if (answer.status === 401 || code === 190)
    return { kind: "permanent", reason: `authentication failed: ${reason}` };
  return { kind: "permanent", reason };
}

/**
 * Adds entrants with `POST {baseUrl}/{version}/{audience}/users` and removes leavers with `DELETE` on the
 * same path, in sessions of at most 10,000 rows per request (`batch_seq` from 1, `last_batch_flag` on the
 * last). The first answer that is not a success ends the sync; a retry resends the whole change under the
 * same session ids, and adding or removing a member twice changes nothing.
 */
export function createMetaAudienceChannel(config: MetaAudienceConfig): AdAudienceChannel {
  const version = config.apiVersion ?? "v25.0";
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = config.now ?? Date.now;
  const redact = redactor([config.accessToken]);
  const headers = { Authorization: `Bearer ${config.accessToken}` };

  async function upload(
    url: string,
    method: "POST" | "DELETE",
    rows: string[][],
    sessionId: number,
  ): Promise<SendResult> {
    const batches = chunk(rows, META_MAX_ROWS_PER_REQUEST);
    let last: SendResult = { kind: "retryable", reason: "nothing sent" };
    for (const [index, data] of batches.entries()) {
      const body = {
        payload: { schema: META_SCHEMA, data },
        session: {
          session_id: sessionId,
          batch_seq: index + 1,
          last_batch_flag: index === batches.length - 1,
          estimated_num_total: rows.length,
        },
      };
      const attempt = await request(url, { method, headers, body }, timeoutMs);
      last = attempt.ok ? classifyMetaAnswer(attempt.answer, String(sessionId), now()) : attempt.result;
      if (last.kind !== "sent") return last;
    }
    return last;
  }

  return {
    provider: "meta",
    async sync(change: AdAudienceChange): Promise<SendResult> {
      const url = `${trimBase(config.baseUrl)}/${version}/${encodeURIComponent(change.destination)}/users`;
      const toRow = (ids: HashedIdentifiers) => [ids.email ?? "", ids.phone ?? ""];
      const directions = [
        { name: "add", method: "POST", rows: hashMembers(change.add, "meta").map(toRow) },
        { name: "remove", method: "DELETE", rows: hashMembers(change.remove, "meta").map(toRow) },
      ] as const;
      const sessions: string[] = [];
      const details: string[] = [];
      for (const direction of directions) {
        if (direction.rows.length === 0) continue;
        const sessionId = metaSessionId(change.idempotencyKey, direction.name);
        const result = await upload(url, direction.method, direction.rows, sessionId);
        if (result.kind !== "sent") return redact(result);
        sessions.push(String(sessionId));
        details.push(`${direction.name} ${direction.rows.length}: ${result.detail ?? ""}`);
      }
      if (sessions.length === 0) {
        return { kind: "sent", providerMessageId: "", detail: "no member has a usable email or phone" };
      }
      return { kind: "sent", providerMessageId: sessions.join(","), detail: details.join("; ") };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Google Customer Match

export interface GoogleCustomerMatchConfig {
  /** The API's origin, e.g. `https://googleads.googleapis.com` (no default: a compatible API has its own). */
  baseUrl: string;
  developerToken: string;
  /** An OAuth access token for the Ads API scope; sent as a Bearer header. */
  accessToken: string;
  /** The Ads account that owns the user lists; dashes are ignored (`123-456-7890`). */
  customerId: string;
  /** The manager account to act through, sent as `login-customer-id` (default: none). */
  loginCustomerId?: string;
  /** API version in the path (default `v17`, the version this adapter's request shapes follow). */
  apiVersion?: string;
  /**
   * EU user consent for the uploaded members, sent in the job's metadata (default: none sent). Google
   * requires it for members in the EEA.
   */
  consent?: { adUserData: "GRANTED" | "DENIED"; adPersonalization: "GRANTED" | "DENIED" };
  /** Give up on an unanswered request after this long (default 30 s); the answer is then retryable. */
  timeoutMs?: number;
  /** The clock, for reading an HTTP-date Retry-After (default `Date.now`). */
  now?: () => number;
}

/** Identifiers per `addOperations` request: Google's recommended size (its hard limit is 100,000). */
export const GOOGLE_MAX_IDENTIFIERS_PER_REQUEST = 10_000;

/** gRPC statuses Google documents as worth retrying (ABORTED is HTTP 409: a concurrent modification). */
const GOOGLE_RETRYABLE_STATUSES = new Set([
  "ABORTED",
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
]);

type UserIdentifier = { hashedEmail: string } | { hashedPhoneNumber: string };
type GoogleOperation =
  | { create: { userIdentifiers: UserIdentifier[] } }
  | { remove: { userIdentifiers: UserIdentifier[] } };

function userIdentifiers(ids: HashedIdentifiers): UserIdentifier[] {
  const identifiers: UserIdentifier[] = [];
  if (ids.email !== null) identifiers.push({ hashedEmail: ids.email });
  if (ids.phone !== null) identifiers.push({ hashedPhoneNumber: ids.phone });
  return identifiers;
}

/** Operations in requests of at most `limit` identifiers; one member's identifiers stay together. */
function batchOperations(operations: GoogleOperation[], limit: number): GoogleOperation[][] {
  const batches: GoogleOperation[][] = [];
  let current: GoogleOperation[] = [];
  let count = 0;
  for (const operation of operations) {
    const size = ("create" in operation ? operation.create : operation.remove).userIdentifiers.length;
    if (count + size > limit && current.length > 0) {
      batches.push(current);
      current = [];
      count = 0;
    }
    current.push(operation);
    count += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** `retryDelay` ("30s") from a RetryInfo or QuotaErrorDetails entry of a Google error, in ms. */
function googleRetryDelayMs(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const delay = (detail as { retryDelay?: unknown })?.retryDelay;
    const match = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (match) return Math.round(Number(match[1]) * 1000);
  }
  return undefined;
}

/** The most specific message of a Google error: the first GoogleAdsFailure error's, else the status's. */
function googleErrorMessage(error: Record<string, unknown>, fallback: string): string {
  const details = Array.isArray(error.details) ? error.details : [];
  for (const detail of details) {
    const errors = (detail as { errors?: unknown })?.errors;
    if (!Array.isArray(errors) || errors.length === 0) continue;
    const first = errors[0] as { message?: unknown; errorCode?: unknown };
    if (typeof first.message !== "string") continue;
    const codes =
      first.errorCode && typeof first.errorCode === "object"
        ? Object.entries(first.errorCode as Record<string, unknown>).map(([k, v]) => `${k} ${String(v)}`)
        : [];
    const requestId = (detail as { requestId?: unknown }).requestId;
    const suffix = [...codes, typeof requestId === "string" ? `request ${requestId}` : undefined]
      .filter(Boolean)
      .join(", ");
    return suffix === "" ? first.message : `${first.message} (${suffix})`;
  }
  return typeof error.message === "string" ? error.message : fallback;
}

/** Classify one Google Ads API answer; `providerMessageId` is what a success records. */
export function classifyGoogleAnswer(
  answer: HttpAnswer,
  providerMessageId: string,
  nowMs: number,
): SendResult {
  if (answer.status >= 200 && answer.status < 300) {
    return { kind: "sent", providerMessageId, detail: `HTTP ${answer.status}` };
  }
  const body = parseJson(answer.text);
  const error = (body?.error && typeof body.error === "object" ? body.error : {}) as Record<string, unknown>;
  const status = typeof error.status === "string" ? error.status : undefined;
  const message = googleErrorMessage(error, answer.text.trim().slice(0, 200));
  const reason = [`HTTP ${answer.status}${status ? ` ${status}` : ""}`, message].filter(Boolean).join(": ");
  if (
    answer.status === 429 ||
    answer.status >= 500 ||
    (status !== undefined && GOOGLE_RETRYABLE_STATUSES.has(status))
  ) {
    return retryable(reason, parseRetryAfter(answer.retryAfter, nowMs) ?? googleRetryDelayMs(error.details));
  }
  if (answer.status === 401 || answer.status === 403) {
    return { kind: "permanent", reason: `authentication failed: ${reason}` };
  }
  return { kind: "permanent", reason };
}

/**
 * Adds and removes members through offline user data jobs: `offlineUserDataJobs:create` for the user list,
 * `{job}:addOperations` in requests of at most 10,000 identifiers, then `{job}:run` (Google processes the
 * job in the background, for hours at times). Entrants and leavers go in separate jobs, so no job mixes
 * creates and removes. A failed step ends the sync; the job it leaves is never run and expires, and a
 * retry starts fresh jobs (adding or removing a member twice changes nothing).
 */
export function createGoogleCustomerMatchChannel(config: GoogleCustomerMatchConfig): AdAudienceChannel {
  const version = config.apiVersion ?? "v17";
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = config.now ?? Date.now;
  const customerId = config.customerId.replaceAll("-", "");
  const api = `${trimBase(config.baseUrl)}/${version}`;
  const redact = redactor([config.accessToken, config.developerToken]);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${config.accessToken}`,
    "developer-token": config.developerToken,
  };
  if (config.loginCustomerId) headers["login-customer-id"] = config.loginCustomerId.replaceAll("-", "");

  async function call(
    path: string,
    body: unknown,
    providerMessageId: string,
  ): Promise<{ result: SendResult; body?: Record<string, unknown> }> {
    const attempt = await request(`${api}/${path}`, { method: "POST", headers, body }, timeoutMs);
    if (!attempt.ok) return { result: attempt.result };
    const result = classifyGoogleAnswer(attempt.answer, providerMessageId, now());
    const parsed = parseJson(attempt.answer.text);
    return parsed === undefined ? { result } : { result, body: parsed };
  }

  async function runJob(userList: string, operations: GoogleOperation[]): Promise<SendResult> {
    const metadata: Record<string, unknown> = { userList };
    if (config.consent) metadata.consent = config.consent;
    const created = await call(
      `customers/${customerId}/offlineUserDataJobs:create`,
      { job: { type: "CUSTOMER_MATCH_USER_LIST", customerMatchUserListMetadata: metadata } },
      "",
    );
    if (created.result.kind !== "sent") return created.result;
    const job = created.body?.resourceName;
    if (typeof job !== "string" || job === "") {
      return { kind: "retryable", reason: "the job was created without a resource name in the answer" };
    }
    for (const batch of batchOperations(operations, GOOGLE_MAX_IDENTIFIERS_PER_REQUEST)) {
      const added = await call(`${job}:addOperations`, { operations: batch }, job);
      if (added.result.kind !== "sent") return added.result;
    }
    return (await call(`${job}:run`, {}, job)).result;
  }

  return {
    provider: "google",
    async sync(change: AdAudienceChange): Promise<SendResult> {
      const userList = change.destination.startsWith("customers/")
        ? change.destination
        : `customers/${customerId}/userLists/${change.destination}`;
      const directions = [
        {
          name: "add",
          operations: hashMembers(change.add, "google").map((ids) => ({
            create: { userIdentifiers: userIdentifiers(ids) },
          })),
        },
        {
          name: "remove",
          operations: hashMembers(change.remove, "google").map((ids) => ({
            remove: { userIdentifiers: userIdentifiers(ids) },
          })),
        },
      ];
      const jobs: string[] = [];
      const details: string[] = [];
      for (const direction of directions) {
        if (direction.operations.length === 0) continue;
        const result = await runJob(userList, direction.operations);
        if (result.kind !== "sent") return redact(result);
        jobs.push(result.providerMessageId);
        details.push(`${direction.name} ${direction.operations.length}`);
      }
      if (jobs.length === 0) {
        return { kind: "sent", providerMessageId: "", detail: "no member has a usable email or phone" };
      }
      return { kind: "sent", providerMessageId: jobs.join(","), detail: `job run: ${details.join(", ")}` };
    },
  };
}
