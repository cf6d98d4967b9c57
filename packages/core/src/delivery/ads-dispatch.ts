/**
 * Ad audiences in the dispatcher: due `ads` ledger rows, synced per destination in batches.
 *
 * Each pass leases due rows (as for the other channels), decides each at send time (the destination
 * still exists, the contact still exists and has an email or a phone the platform can match, and, to be
 * added, ads consent allows it), groups the rest by destination and action (add or remove), and makes one
 * platform call per group of at most one request's worth of rows. Every row of a group gets the group's
 * outcome with its reason; a success updates `ad_audience_members` and leaves one entry in the dev inbox's
 * `outbox` (recipient: the destination's name; content: the counts and the platform), in one transaction.
 *
 * A csv destination calls nothing: its rows only change the membership, which is downloaded as a hashed
 * CSV. Adding or removing a member twice changes nothing on the platforms, so a row whose lease ran out
 * (its process died mid-call) is simply queued again. One member's changes to one destination are made in
 * the order the journeys queued them: a row waits while an earlier one of the same member and
 * destination is unfinished.
 */
import { createHash } from "node:crypto";
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import {
  addAudienceMembers,
  removeAudienceMembers,
  selectAdDestinations,
  selectAdRecipients,
  selectEarlierPendingChanges,
} from "../ads/ad-destination.repository.ts";
import {
  type AdDestinationRow,
  DEFAULT_BASE_URLS,
  hostOf,
  isAllowedHost,
  missingCredentials,
  openCredentials,
} from "../ads/ad-destination.ts";
import type { Db } from "../db/database.ts";
import {
  type AdAudienceChannel,
  type AdAudienceMember,
  createGoogleCustomerMatchChannel,
  createMetaAudienceChannel,
  GOOGLE_MAX_IDENTIFIERS_PER_REQUEST,
  hashMemberForAds,
  META_MAX_ROWS_PER_REQUEST,
} from "./ad-audiences.ts";
import type { SendResult } from "./channel.ts";
import {
  type ClaimedMessage,
  claimDueMessages,
  expireSendingLeases,
  type Outcome,
  recordOutcome,
} from "./dispatch.repository.ts";
import { type DispatchResult, emptyDispatchResult, retryDelayMs } from "./dispatcher.ts";
import { CircuitBreaker } from "./guards.ts";
import { recordInOutbox } from "./outbox.repository.ts";
import { internalRangeOf, type ResolvedAddress } from "./webhook-channel.ts";

export interface AdsDispatchOptions {
  /** Opens the destinations' stored credentials. */
  credentialsKey: Buffer;
  now?: Date;
  /** Rows leased per pass (default 1000). */
  batchSize?: number;
  /** How long a row may stay `sending` before it is presumed lost with its process (default 5 min). */
  leaseMs?: number;
  /** For backoff jitter; tests pass a fixed one. */
  random?: () => number;
  /** Hosts a destination's base URL may reach although they are private, loopback or link-local. */
  allowHosts?: readonly string[];
  /** Circuit breakers per platform endpoint (default: this process's own, kept across passes). */
  breakers?: Map<string, CircuitBreaker>;
  /** Resolves a base URL's host to all its addresses (default: the system resolver). */
  lookup?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** The channel that syncs one destination (default: the Meta and Google adapters); tests may pass a fake. */
  channelFor?: (destination: PlatformDestination) => AdAudienceChannel;
}

/** A meta or google destination, ready to call: its endpoint and opened credentials. */
export interface PlatformDestination {
  row: AdDestinationRow;
  platform: "meta" | "google";
  baseUrl: string;
  accessToken: string;
  developerToken: string;
}

type AudienceAction = "add" | "remove";

const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_BACKOFF_SECONDS = 60;
/** A row held behind an earlier change of the same member waits at least this long before it is looked at again. */
const ORDER_WAIT_MS = 5_000;
const ADS_CONSENTED = new Set(["subscribed", "never_asked"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Per platform endpoint, in this process: 5 retryable failures in a row pause it for 30 s. */
const processBreakers = new Map<string, CircuitBreaker>();

interface PlannedRow {
  message: ClaimedMessage;
  member: AdAudienceMember;
}

interface Group {
  destination: AdDestinationRow;
  action: AudienceAction;
  rows: PlannedRow[];
}

export async function dispatchAdsBatch(db: Db, options: AdsDispatchOptions): Promise<DispatchResult> {
  const now = options.now ?? new Date();
  const result = emptyDispatchResult();
  // Adding or removing a member again changes nothing, so an interrupted row is simply queued again.
  result.expired = await expireSendingLeases(db, "ads", now, true);
  const leaseUntil = new Date(now.getTime() + (options.leaseMs ?? DEFAULT_LEASE_MS));
  const claimed = await claimDueMessages(db, "ads", now, leaseUntil, options.batchSize ?? DEFAULT_BATCH_SIZE);
  result.claimed = claimed.length;
  if (claimed.length === 0) return result;

  const count = (outcome: Outcome) => {
    if (outcome.status === "sent") result.sent++;
    else if (outcome.status === "queued") result.retried++;
    else if (outcome.status === "deferred") result.deferred++;
    else if (outcome.status === "failed") result.failed++;
    else result.skipped++;
  };
  const record = async (message: ClaimedMessage, outcome: Outcome) => {
    await recordOutcome(db, message.workspace_id, message.id, outcome, now);
    count(outcome);
  };

  const earlier = await selectEarlierPendingChanges(
    db,
    claimed.map((m) => ({ workspaceId: m.workspace_id, id: m.id })),
  );
  const recipients = new Map(
    (
      await selectAdRecipients(
        db,
        claimed.map((m) => ({ workspaceId: m.workspace_id, contactId: m.contact_id })),
      )
    ).map((r) => [`${r.workspace_id}:${r.id}`, r]),
  );
  const destinationKeys = [
    ...new Set(
      claimed
        .filter((m) => typeof m.details.destination === "string" && UUID.test(m.details.destination))
        .map((m) => `${m.workspace_id}:${(m.details.destination as string).toLowerCase()}`),
    ),
  ].map((key) => {
    const [workspaceId, destinationId] = key.split(":") as [string, string];
    return { workspaceId, destinationId };
  });
  const destinations = new Map(
    (await selectAdDestinations(db, destinationKeys)).map((d) => [`${d.workspace_id}:${d.id}`, d]),
  );

  const groups = new Map<string, Group>();
  for (const message of claimed) {
    const destinationId = String(message.details.destination ?? "");
    const action: AudienceAction = message.details.audienceAction === "remove" ? "remove" : "add";
    const blockedUntil = earlier.get(message.id);
    if (blockedUntil) {
      const until = new Date(Math.max(blockedUntil.getTime(), now.getTime() + ORDER_WAIT_MS));
      await record(message, {
        status: "deferred",
        nextAttemptAt: until,
        reason: `waits for an earlier change of this contact in ad destination ${destinationId}`,
      });
      continue;
    }
    const destination = destinations.get(`${message.workspace_id}:${destinationId.toLowerCase()}`);
    if (!destination) {
      await record(message, {
        status: "failed",
        reason: `ad destination ${destinationId || "(none)"} does not exist (it was deleted)`,
      });
      continue;
    }
    const recipient = recipients.get(`${message.workspace_id}:${message.contact_id}`);
    const decision = decideMember(recipient, action, destination.platform);
    if ("status" in decision) {
      await record(message, decision);
      continue;
    }
    const key = `${destination.workspace_id}:${destination.id}:${action}`;
    const group = groups.get(key) ?? { destination, action, rows: [] };
    group.rows.push({ message, member: { contactId: message.contact_id, ...decision } });
    groups.set(key, group);
  }

  for (const group of groups.values()) {
    for (const rows of chunk(group.rows, rowsPerCall(group.destination.platform))) {
      for (const outcome of await syncRows(db, { ...group, rows }, options, now)) count(outcome);
    }
  }
  return result;
}

/** Whether one member can be added or removed now; their identifiers when so. */
function decideMember(
  recipient:
    | { email: string | null; phone: string | null; ads_consent: string; archived_at: Date | null }
    | undefined,
  action: AudienceAction,
  platform: AdDestinationRow["platform"],
): Outcome | { email: string | null; phone: string | null } {
  if (!recipient) return { status: "skipped", reason: "the contact no longer exists (erased)" };
  // An archived contact is put in no audience; taking it out stays allowed.
  if (action === "add" && recipient.archived_at) {
    return { status: "skipped", reason: "the contact is archived" };
  }
  // Taking someone out of an audience is always allowed; putting them in needs consent.
  if (action === "add" && !ADS_CONSENTED.has(recipient.ads_consent)) {
    return { status: "skipped", reason: `ads consent is ${recipient.ads_consent}` };
  }
  if (!recipient.email && !recipient.phone) {
    return { status: "skipped", reason: "the contact has neither an email address nor a phone number" };
  }
  const rules = platform === "google" ? "google" : "meta";
  const hashed = hashMemberForAds(recipient, rules);
  if (hashed.email === null && hashed.phone === null) {
    return {
      status: "skipped",
      reason: `the contact's email and phone cannot be matched (${rules} needs an email address or an E.164 phone)`,
    };
  }
  return { email: recipient.email, phone: recipient.phone };
}

/** Rows per platform call: one request's worth (a Google member may carry two identifiers). */
function rowsPerCall(platform: AdDestinationRow["platform"]): number {
  if (platform === "google") return Math.floor(GOOGLE_MAX_IDENTIFIERS_PER_REQUEST / 2);
  return META_MAX_ROWS_PER_REQUEST;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The same rows make the same key, so a platform that dedupes on it (Meta's session) sees a retry as one. */
function groupKey(rows: readonly PlannedRow[]): string {
  const ids = rows.map((r) => r.message.id).sort();
  return createHash("sha256").update(ids.join(",")).digest("hex").slice(0, 32);
}

/** Syncs one group's rows and records every row's outcome; returns them, row by row. */
async function syncRows(db: Db, group: Group, options: AdsDispatchOptions, now: Date): Promise<Outcome[]> {
  const { destination, action, rows } = group;
  const recordEach = async (outcomeOf: (message: ClaimedMessage) => Outcome) => {
    const outcomes = rows.map((row) => outcomeOf(row.message));
    await db.transaction().execute(async (trx) => {
      for (const [i, row] of rows.entries()) {
        await recordOutcome(trx, row.message.workspace_id, row.message.id, outcomes[i]!, now);
      }
    });
    return outcomes;
  };
  const recordAll = (outcome: Outcome) => recordEach(() => outcome);

  if (destination.platform === "csv") {
    return recordSent(db, group, { provider: "csv", providerMessageId: "" }, now);
  }

  const prepared = await prepareDestination(destination, options);
  if ("outcome" in prepared) return recordAll(prepared.outcome);
  const breakerKey = `${prepared.platform} ${new URL(prepared.baseUrl).origin}`;
  const breakers = options.breakers ?? processBreakers;
  let breaker = breakers.get(breakerKey);
  if (!breaker) {
    breaker = new CircuitBreaker(5, 30_000);
    breakers.set(breakerKey, breaker);
  }
  const open = breaker.holdUntil(now.getTime());
  if (open !== undefined) {
    const until = new Date(open);
    return recordAll({
      status: "deferred",
      nextAttemptAt: until,
      reason: `the ${prepared.platform} API keeps failing: paused until ${until.toISOString()} (circuit breaker)`,
    });
  }

  const reachable = await checkReachable(destination, options);
  const channel = options.channelFor?.(prepared) ?? defaultChannel(prepared);
  const members = rows.map((r) => r.member);
  const sent: SendResult =
    reachable ??
    (await channel.sync({
      destination: destination.audience_id!,
      add: action === "add" ? members : [],
      remove: action === "remove" ? members : [],
      idempotencyKey: `ads:${destination.id}:${action}:${groupKey(rows)}`,
    }));
  // Only the platform's own answers move its breaker.
  if (!reachable) breaker.record(sent.kind === "retryable" ? "failure" : "success", now.getTime());

  if (sent.kind === "sent") return recordSent(db, group, { provider: channel.provider, ...sent }, now);
  if (sent.kind === "permanent") {
    return recordAll({ status: "failed", reason: `${channel.provider}: ${sent.reason}` });
  }
  // Retryable: each row by its own attempts and the retry policy of its node.
  const random = options.random ?? Math.random;
  return recordEach((message) => retryOutcome(message, sent, channel.provider, now, random));
}

function retryOutcome(
  message: ClaimedMessage,
  sent: Extract<SendResult, { kind: "retryable" }>,
  provider: string,
  now: Date,
  random: () => number,
): Outcome {
  const retry = (message.details.retry ?? {}) as { maxAttempts?: number; backoffSeconds?: number };
  const maxAttempts = retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (message.attempts >= maxAttempts) {
    return {
      status: "failed",
      reason: `${provider}: ${sent.reason} (gave up after ${message.attempts} attempts)`,
    };
  }
  const delay =
    sent.retryAfterMs ??
    retryDelayMs(message.attempts, retry.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS, random);
  return {
    status: "queued",
    nextAttemptAt: new Date(now.getTime() + delay),
    reason: `attempt ${message.attempts} failed, retrying: ${provider}: ${sent.reason}`,
  };
}

/** The destination's endpoint and credentials, or the outcome that stops its rows. */
async function prepareDestination(
  destination: AdDestinationRow,
  options: AdsDispatchOptions,
): Promise<PlatformDestination | { outcome: Outcome }> {
  const platform = destination.platform === "google" ? "google" : "meta";
  const fix = `set them with PATCH /api/v1/ad-destinations/${destination.id}`;
  const stored = openCredentials(options.credentialsKey, destination);
  if (stored === undefined) {
    return {
      outcome: {
        status: "failed",
        reason: `the credentials of ad destination "${destination.name}" cannot be opened (was SECRET_KEY changed?): ${fix}`,
      },
    };
  }
  const missing = missingCredentials(platform, stored);
  if (missing.length > 0) {
    return {
      outcome: {
        status: "failed",
        reason: `ad destination "${destination.name}" has no ${missing.join(" or ")}: ${fix}`,
      },
    };
  }
  return {
    row: destination,
    platform,
    baseUrl: destination.base_url ?? DEFAULT_BASE_URLS[platform],
    accessToken: stored.accessToken ?? "",
    developerToken: stored.developerToken ?? "",
  };
}

/**
 * A base URL of the destination's own must not lead inside our network unless allow-listed: its host is
 * resolved, and every address must be public. The platforms' own URLs are not checked.
 */
async function checkReachable(
  destination: AdDestinationRow,
  options: AdsDispatchOptions,
): Promise<SendResult | undefined> {
  if (destination.base_url === null) return undefined;
  const allowHosts = options.allowHosts ?? [];
  let hostname: string;
  try {
    hostname = hostOf(new URL(destination.base_url));
  } catch {
    return { kind: "permanent", reason: `the base URL ${destination.base_url} is not a URL` };
  }
  if (isAllowedHost(hostname, allowHosts)) return undefined;
  let addresses: string[];
  if (isIP(hostname)) addresses = [hostname];
  else {
    try {
      const lookup = options.lookup ?? ((host: string) => dns.lookup(host, { all: true }));
      addresses = (await lookup(hostname)).map((a) => a.address);
    } catch (error) {
      return { kind: "retryable", reason: `could not resolve ${hostname}: ${(error as Error).message}` };
    }
  }
  for (const address of addresses) {
    const kind = internalRangeOf(address);
    if (kind === null || isAllowedHost(address, allowHosts)) continue;
    return {
      kind: "permanent",
      reason: `${hostname} ${hostname === address ? "is" : `resolves to`} a ${kind} address ${address}; allow-list it with ADS_ALLOW_HOSTS to call it`,
    };
  }
  return undefined;
}

function defaultChannel(destination: PlatformDestination): AdAudienceChannel {
  if (destination.platform === "meta") {
    return createMetaAudienceChannel({ baseUrl: destination.baseUrl, accessToken: destination.accessToken });
  }
  return createGoogleCustomerMatchChannel({
    baseUrl: destination.baseUrl,
    accessToken: destination.accessToken,
    developerToken: destination.developerToken,
    customerId: destination.row.customer_id ?? "",
    ...(destination.row.login_customer_id ? { loginCustomerId: destination.row.login_customer_id } : {}),
  });
}

/** A group went out: its rows sent, the membership changed and one dev-inbox entry, together. */
async function recordSent(
  db: Db,
  group: Group,
  sent: { provider: string; providerMessageId: string; detail?: string },
  now: Date,
): Promise<Outcome[]> {
  const { destination, action, rows } = group;
  const members = rows.map((r) => ({ contactId: r.message.contact_id, messageId: r.message.id }));
  return db.transaction().execute(async (trx) => {
    const outboxId = await recordInOutbox(trx, {
      workspaceId: destination.workspace_id,
      messageId: null,
      channel: "ads",
      recipient: destination.name,
      subject: `${action === "add" ? "add" : "remove"} ${rows.length} member${rows.length === 1 ? "" : "s"}`,
      content: {
        platform: destination.platform,
        destinationId: destination.id,
        audienceId: destination.audience_id,
        action,
        members: rows.length,
        withEmail: rows.filter((r) => r.member.email).length,
        withPhone: rows.filter((r) => r.member.phone).length,
        provider: sent.provider,
        providerMessageId: sent.providerMessageId,
        ...(sent.detail ? { detail: sent.detail } : {}),
      },
      headers: {},
    });
    const outcome: Outcome = {
      status: "sent",
      provider: sent.provider,
      providerMessageId: sent.providerMessageId || outboxId,
    };
    for (const row of rows) {
      await recordOutcome(trx, row.message.workspace_id, row.message.id, outcome, now);
    }
    if (action === "add")
      await addAudienceMembers(trx, destination.workspace_id, destination.id, members, now);
    else await removeAudienceMembers(trx, destination.workspace_id, destination.id, members, now);
    return rows.map(() => outcome);
  });
}
