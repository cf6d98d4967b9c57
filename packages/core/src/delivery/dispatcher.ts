/**
 * The dispatcher (email, SMS and webhooks): takes the send ledger's due `queued` rows in batches, decides for each
 * at send time — never earlier — whether it may go (the contact still exists and has an address,
 * consent still allows it, the workspace has a sender identity and postal address), renders it, sends
 * it through the channel, and records the outcome with its reason. A row is sent at most once: it is
 * leased (`sending`) in its own short transaction before the provider is called, and a lease that runs
 * out marks it `unknown` (see dispatch.repository.ts).
 */
import type { CampaignPolicies } from "@omneural/contracts/workflows";
import { triggerEventsOf } from "../campaigns/entry.ts";
import type { Db } from "../db/database.ts";
import { circuitOpen, dispatchOutcomes } from "../ops/metrics.ts";
import { tombstoneKeyFrom } from "../security/keys.ts";
import type { Logger } from "../shared/logger.ts";
import { startPollLoop } from "../shared/poll-loop.ts";
import {
  buildRenderContext,
  describeLiquidError,
  type RenderContact,
  TemplateRenderError,
  textLiquid,
} from "../templates/render.ts";
import { selectTemplateVersions } from "../templates/template.repository.ts";
import { templateRenderer } from "../templates/template.service.ts";
import { trackEmail, trackSms } from "../tracking/rewrite.ts";
import { unsubscribeToken } from "../tracking/tokens.ts";
import { memberTimeZone } from "../workflows/local-time.ts";
import { dispatchAdsBatch } from "./ads-dispatch.ts";
import { campaignChannelPolicy, isCapExempt } from "./campaign-policies.ts";
import type {
  EmailChannel,
  MailChannel,
  OutgoingEmail,
  OutgoingSms,
  OutgoingWebhook,
  SendResult,
  SmsChannel,
  WebhookChannel,
} from "./channel.ts";
import {
  type ClaimedMessage,
  claimDueMessagesWithinLimits,
  expireSendingLeases,
  insertShortLinks,
  insertSuppression,
  type Outcome,
  type RecipientRow,
  recordOutcome,
  selectCampaignPolicies,
  selectPolicies,
  selectRecentSends,
  selectRecipients,
  selectSenders,
  selectSuppressions,
  selectTemplates,
  selectTopicOptOuts,
  selectWorkspaceTimezones,
} from "./dispatch.repository.ts";
import { CircuitBreaker, TokenBucket } from "./guards.ts";
import { prepareMail } from "./mail-dispatch.ts";
import {
  type ChannelPolicy,
  DEFAULT_POLICIES,
  frequencyCapDecision,
  type PolicyDecision,
  quietHoursDecision,
} from "./policies.ts";
import { ChannelResolver } from "./provider.service.ts";
import { connectRedis, type RateLimiter, RedisTokenBucket } from "./redis-rate-limit.ts";

export interface DispatchChannels {
  email: EmailChannel;
  sms?: SmsChannel;
  webhook?: WebhookChannel;
  mail?: MailChannel;
}

/** Where links in messages point, and the key that signs their tokens. */
export interface LinkSettings {
  /** PUBLIC_URL: tracked links, the open pixel, unsubscribe pages and PURLs are served there. */
  publicUrl: string;
  key: Buffer;
}

/** Per-provider guards of one dispatcher process (see guards.ts). */
export interface ProviderGuards {
  breaker?: CircuitBreaker;
  /** In this process (TokenBucket) or shared through Redis (RedisTokenBucket). */
  throttle?: RateLimiter;
}

export interface DispatchOptions {
  /** The installation's channels. */
  channels: DispatchChannels;
  /** Workspaces' own providers, where they have them (see provider.service.ts). */
  resolver?: ChannelResolver;
  links: LinkSettings;
  guards?: Partial<Record<DispatchKind, ProviderGuards>>;
  now?: Date;
  batchSize?: number;
  /** How long a row may stay `sending` before it is presumed lost with its process (default 2 min). */
  leaseMs?: number;
  /** For backoff jitter; tests pass a fixed one. */
  random?: () => number;
  /**
   * How many rows of a batch are decided, sent and recorded at once (default 5, the size of the SMTP
   * channel's connection pool). Rows to the same contact always go one after another.
   */
  concurrency?: number;
}

export interface DispatchResult {
  claimed: number;
  sent: number;
  retried: number;
  deferred: number;
  failed: number;
  skipped: number;
  expired: number;
}

export const emptyDispatchResult = (): DispatchResult => ({
  claimed: 0,
  sent: 0,
  retried: 0,
  deferred: 0,
  failed: 0,
  skipped: 0,
  expired: 0,
});

export type DispatchKind = "email" | "sms" | "webhook" | "mail";

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_BACKOFF_SECONDS = 60;
const DEFAULT_CONCURRENCY = 5;
const EMAIL_CONSENTED = new Set(["subscribed", "never_asked"]);

/** Exponential backoff with ±20% jitter: base × 2^(attempt − 1). */
export function retryDelayMs(attempt: number, baseSeconds: number, random: () => number): number {
  const exponential = baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1);
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Email only, with one channel: what most callers and tests want. */
export function dispatchEmailBatch(
  db: Db,
  options: Omit<DispatchOptions, "channels"> & { email: EmailChannel },
): Promise<DispatchResult> {
  const { email, ...rest } = options;
  return dispatchBatch(db, "email", { ...rest, channels: { email } });
}

interface Provider {
  provider: string;
  acceptsIdempotencyKey: boolean;
}

function providerOf(kind: DispatchKind, channels: DispatchChannels): Provider | undefined {
  if (kind === "email") return channels.email;
  if (kind === "sms") return channels.sms;
  if (kind === "mail") return channels.mail;
  return channels.webhook;
}

/** One batch of one channel's due ledger rows: lease, decide, render, send, record. */
export async function dispatchBatch(
  db: Db,
  kind: DispatchKind,
  options: DispatchOptions,
): Promise<DispatchResult> {
  const now = options.now ?? new Date();
  const random = options.random ?? Math.random;
  const result = emptyDispatchResult();
  const provider = providerOf(kind, options.channels);
  if (!provider) return result;
  result.expired = await expireSendingLeases(db, kind, now, provider.acceptsIdempotencyKey);
  const leaseUntil = new Date(now.getTime() + (options.leaseMs ?? 120_000));
  const claim = await claimDueMessagesWithinLimits(db, kind, now, leaseUntil, options.batchSize ?? 100);
  const claimed = claim.claimed;
  result.claimed = claimed.length;
  // Rows over their campaign's throughput limit were deferred at the claim, never leased.
  result.deferred = claim.deferred;
  if (claimed.length === 0) return result;

  const contactKeys = claimed.map((m) => ({ workspaceId: m.workspace_id, contactId: m.contact_id }));
  const recipients = new Map(
    (await selectRecipients(db, contactKeys)).map((r) => [`${r.workspace_id}:${r.id}`, r]),
  );
  const templateOf = await loadTemplates(db, claimed);
  const eventOf = await triggerEventsOf(db, claimed);
  const suppressed =
    kind === "email" || kind === "sms"
      ? await selectSuppressions(
          db,
          kind,
          [...recipients.values()]
            .map((r) => ({ workspaceId: r.workspace_id, address: addressOf(kind, r) }))
            .filter((k): k is { workspaceId: string; address: string } => k.address !== null),
          tombstoneKeyFrom(options.links.key),
        )
      : new Map<string, string>();
  // Topics are what people receive: webhooks to the customer's own systems are not subject to them.
  const topicOptOuts = kind === "webhook" ? new Map<string, string>() : await selectTopicOptOuts(db, claimed);
  const workspaceIds = [...new Set(claimed.map((m) => m.workspace_id))];
  const workspaceChannels = new Map<string, DispatchChannels>();
  if (options.resolver) {
    for (const w of workspaceIds)
      workspaceChannels.set(w, await options.resolver.channelsFor(w, now.getTime()));
  }
  const senders = new Map((await selectSenders(db, workspaceIds)).map((s) => [s.workspace_id, s]));
  const timezones = await selectWorkspaceTimezones(db, workspaceIds);
  // Policies apply to messages to people (email, SMS), not to calls to the customer's own systems.
  const policyChannel = kind === "webhook" ? undefined : kind;
  const policies = new Map<string, ChannelPolicy>();
  // Per contact: sends the frequency cap counts (not those of exempt campaigns), and whether any was sent.
  const recentSends = new Map<string, Date[]>();
  const everSentTo = new Set<string>();
  const campaignPolicies = policyChannel
    ? await selectCampaignPolicies(db, [
        ...new Map(
          claimed.map((m) => [
            `${m.workspace_id}:${m.campaign_id}`,
            { workspaceId: m.workspace_id, campaignId: m.campaign_id },
          ]),
        ).values(),
      ])
    : new Map<string, CampaignPolicies>();
  if (policyChannel) {
    for (const w of workspaceIds) policies.set(w, DEFAULT_POLICIES[policyChannel]);
    for (const row of await selectPolicies(db, workspaceIds, policyChannel))
      policies.set(row.workspace_id, toPolicy(row));
    for (const [workspaceId, policy] of policies) {
      // SMS needs to know whether a number was ever written to (the opt-out line), so read back far.
      const days = Math.max(policy.frequencyCap?.days ?? 0, kind === "sms" ? 3650 : 0);
      if (days === 0) continue;
      const contacts = claimed.filter((m) => m.workspace_id === workspaceId).map((m) => m.contact_id);
      const since = new Date(now.getTime() - days * 86_400_000);
      for (const [contactId, sends] of await selectRecentSends(db, workspaceId, contacts, kind, since)) {
        recentSends.set(`${workspaceId}:${contactId}`, sends.capped);
        if (sends.sent.length > 0) everSentTo.add(`${workspaceId}:${contactId}`);
      }
    }
  }

  const dispatchOne = async (message: ClaimedMessage) => {
    const key = `${message.workspace_id}:${message.contact_id}`;
    const recipient = recipients.get(key);
    const ownPolicies = campaignPolicies.get(`${message.workspace_id}:${message.campaign_id}`);
    const workspacePolicy = policies.get(message.workspace_id);
    // The campaign's sending hours replace the workspace's; an exempt campaign is outside the cap.
    const policy = workspacePolicy && campaignChannelPolicy(workspacePolicy, ownPolicies);
    const held =
      recipient && policy
        ? policyHold(
            policy,
            recentSends.get(key) ?? [],
            memberTimeZone(recipient.timezone, timezones.get(message.workspace_id)),
            now,
          )
        : undefined;
    const channels = workspaceChannels.get(message.workspace_id) ?? options.channels;
    const own = providerOf(kind, channels);
    // A workspace's own provider has its own circuit breaker; the installation's share the process's guards.
    const guards =
      options.resolver && own && !options.resolver.isDefault(own)
        ? { breaker: options.resolver.breakerFor(own) }
        : options.guards?.[kind];
    const address = recipient ? addressOf(kind, recipient) : null;
    const suppression = address ? suppressed.get(`${message.workspace_id}:${address}`) : undefined;
    const optedOutOf = topicOptOuts.get(`${message.workspace_id}:${message.id}`);
    const facts: SendFacts = {
      recipient,
      template: templateOf(message),
      event: eventOf(message),
      sender: senders.get(message.workspace_id),
      everSent: everSentTo.has(key),
      links: options.links,
      now,
    };
    const outcome =
      (recipient?.archived_at
        ? ({
            status: "skipped",
            reason: "the contact is archived (POST /api/v1/contacts/{id}/restore brings it back)",
          } as const)
        : undefined) ??
      (suppression !== undefined
        ? ({ status: "skipped", reason: `${address} is suppressed: ${suppression}` } as const)
        : undefined) ??
      (optedOutOf !== undefined
        ? ({ status: "skipped", reason: `opted out of topic "${optedOutOf}"` } as const)
        : undefined) ??
      held ??
      (await guardHold(kind, guards, now)) ??
      (await deliver(db, kind, message, facts, channels, random, guards?.breaker));
    await recordOutcome(db, message.workspace_id, message.id, outcome, now);
    if (outcome.status === "failed" && outcome.suppress && address && (kind === "email" || kind === "sms")) {
      // The provider says the address itself is bad: later messages to it are skipped, not attempted.
      await insertSuppression(db, {
        workspaceId: message.workspace_id,
        channel: kind,
        address,
        reason: outcome.reason,
        source: "provider",
        messageId: message.id,
      });
    }
    if (outcome.status === "sent") {
      result.sent++;
      // Later rows of the same batch to the same contact count this one against the cap, unless exempt.
      if (!isCapExempt(ownPolicies)) recentSends.set(key, [...(recentSends.get(key) ?? []), now]);
      everSentTo.add(key);
    } else if (outcome.status === "queued") result.retried++;
    else if (outcome.status === "deferred") result.deferred++;
    else if (outcome.status === "failed") result.failed++;
    else result.skipped++;
  };

  // Rows to one contact form a queue of their own, run in claim order (the frequency cap and the SMS
  // opt-out line count the earlier ones); up to `concurrency` contacts' queues run at once.
  const byContact = new Map<string, ClaimedMessage[]>();
  for (const message of claimed) {
    const key = `${message.workspace_id}:${message.contact_id}`;
    const rows = byContact.get(key);
    if (rows) rows.push(message);
    else byContact.set(key, [message]);
  }
  const queues = [...byContact.values()];
  let next = 0;
  let stopped = false;
  const lane = async () => {
    while (!stopped && next < queues.length) {
      const rows = queues[next++]!;
      for (const message of rows) {
        if (stopped) return;
        await dispatchOne(message);
      }
    }
  };
  const lanes = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, queues.length));
  const settled = await Promise.allSettled(
    Array.from({ length: lanes }, () =>
      lane().catch((error: unknown) => {
        // A failure (the database, say) stops the batch as it would have sequentially: rows not yet
        // begun stay leased, and their leases run out as for a stopped process.
        stopped = true;
        throw error;
      }),
    ),
  );
  const failure = settled.find((s) => s.status === "rejected");
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return result;
}

/**
 * What each claimed row renders: the template version pinned on the row when the stepper queued it, so
 * that editing a template changes no queued or later message of a running campaign; or, for rows queued
 * before versions were pinned, the template's current content. Two set-based queries per batch.
 */
async function loadTemplates(
  db: Db,
  claimed: ClaimedMessage[],
): Promise<(message: ClaimedMessage) => SendFacts["template"]> {
  const pinnedKey = (workspaceId: string, templateId: string, version: number) =>
    `${workspaceId}:${templateId}:${version}`;
  const currentKey = (workspaceId: string, templateId: string) => `${workspaceId}:${templateId}`;
  const pinned = new Map<string, { workspaceId: string; templateId: string; version: number }>();
  const current = new Map<string, { workspaceId: string; templateId: string }>();
  for (const m of claimed) {
    if (m.template_id === null) continue;
    const key = { workspaceId: m.workspace_id, templateId: m.template_id };
    if (m.template_version === null) current.set(currentKey(m.workspace_id, m.template_id), key);
    else {
      const version = m.template_version;
      pinned.set(pinnedKey(m.workspace_id, m.template_id, version), { ...key, version });
    }
  }
  const versions = new Map(
    (await selectTemplateVersions(db, [...pinned.values()])).map((t) => [
      pinnedKey(t.workspace_id, t.id, t.version),
      t,
    ]),
  );
  const latest = new Map(
    (await selectTemplates(db, [...current.values()])).map((t) => [currentKey(t.workspace_id, t.id), t]),
  );
  return (m) => {
    if (m.template_id === null) return undefined;
    return m.template_version === null
      ? latest.get(currentKey(m.workspace_id, m.template_id))
      : versions.get(pinnedKey(m.workspace_id, m.template_id, m.template_version));
  };
}

/** A provider's circuit breaker or rate limit holds the message back: deferred, not an attempt. */
async function guardHold(
  kind: DispatchKind,
  guards: ProviderGuards | undefined,
  now: Date,
): Promise<Outcome | undefined> {
  if (!guards) return undefined;
  const open = guards.breaker?.holdUntil(now.getTime());
  if (open !== undefined) {
    const until = new Date(open);
    return {
      status: "deferred",
      nextAttemptAt: until,
      reason: `the ${kind} provider keeps failing: paused until ${until.toISOString()} (circuit breaker)`,
    };
  }
  const wait = (await guards.throttle?.take(now.getTime())) ?? 0;
  if (wait > 0) {
    const until = new Date(now.getTime() + wait);
    return {
      status: "deferred",
      nextAttemptAt: until,
      reason: `rate limit of the ${kind} provider: deferred to ${until.toISOString()}`,
    };
  }
  return undefined;
}

/** Quiet hours, then the frequency cap: a message they hold is deferred or skipped, with the reason. */
function policyHold(policy: ChannelPolicy, recent: Date[], timeZone: string, now: Date): Outcome | undefined {
  const decisions: PolicyDecision[] = [
    quietHoursDecision(policy, now, timeZone),
    frequencyCapDecision(policy, recent, now),
  ];
  for (const decision of decisions) {
    if (decision.ok) continue;
    if (decision.action === "skip") return { status: "skipped", reason: decision.reason };
    return { status: "deferred", nextAttemptAt: decision.until, reason: decision.reason };
  }
  return undefined;
}

function toPolicy(row: {
  allowed_from: string | null;
  allowed_to: string | null;
  cap_count: number | null;
  cap_days: number | null;
  cap_action: string;
}): ChannelPolicy {
  return {
    allowedHours: row.allowed_from && row.allowed_to ? { from: row.allowed_from, to: row.allowed_to } : null,
    frequencyCap:
      row.cap_count && row.cap_days
        ? { count: row.cap_count, days: row.cap_days, action: row.cap_action === "skip" ? "skip" : "defer" }
        : null,
  };
}

export interface SendFacts {
  recipient: RecipientRow | undefined;
  template: { channel: string; content: Record<string, unknown> } | undefined;
  sender:
    | {
        from_name: string | null;
        from_address: string;
        reply_to: string | null;
        postal_address: string;
        sms_from: string | null;
      }
    | undefined;
  /** The properties of the event that enrolled the member (event entry): `event.*` in templates. */
  event?: Record<string, unknown>;
  /** Whether this contact was ever sent a message on this channel (SMS: the opt-out line goes on the first). */
  everSent: boolean;
  links: LinkSettings;
  now: Date;
}

/** Decides, renders and sends one row; a provider's answer becomes the row's outcome. */
async function deliver(
  db: Db,
  kind: DispatchKind,
  message: ClaimedMessage,
  facts: SendFacts,
  channels: DispatchChannels,
  random: () => number,
  breaker?: CircuitBreaker,
): Promise<Outcome> {
  let prepared: { send: () => Promise<SendResult>; provider: string } | Outcome;
  try {
    if (kind === "email") prepared = await prepareEmail(message, facts, channels.email);
    else if (kind === "sms") prepared = await prepareSms(db, message, facts, channels.sms!);
    else if (kind === "mail") prepared = await prepareMail(db, message, facts, channels.mail!);
    else prepared = prepareWebhook(message, facts, channels.webhook!);
  } catch (error) {
    // One member's template failing to render fails that send, not the batch.
    const reason = error instanceof TemplateRenderError ? `${error.field}: ${error.message}` : String(error);
    return { status: "failed", reason: `could not render: ${reason}` };
  }
  if ("status" in prepared) return prepared;
  const sent = await prepared.send();
  // Only the provider's own answers move its breaker.
  breaker?.record(sent.kind === "retryable" ? "failure" : "success", facts.now.getTime());
  if (sent.kind === "sent")
    return { status: "sent", provider: prepared.provider, providerMessageId: sent.providerMessageId };
  if (sent.kind === "permanent") {
    return {
      status: "failed",
      reason: `${prepared.provider}: ${sent.reason}`,
      ...(sent.suppress ? { suppress: true } : {}),
    };
  }
  const retry = (message.details.retry ?? {}) as { maxAttempts?: number; backoffSeconds?: number };
  const maxAttempts = retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (message.attempts >= maxAttempts) {
    return {
      status: "failed",
      reason: `${prepared.provider}: ${sent.reason} (gave up after ${message.attempts} attempts)`,
    };
  }
  const delay =
    sent.retryAfterMs ??
    retryDelayMs(message.attempts, retry.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS, random);
  return {
    status: "queued",
    nextAttemptAt: new Date(facts.now.getTime() + delay),
    reason: `attempt ${message.attempts} failed, retrying: ${sent.reason}`,
  };
}

async function prepareEmail(message: ClaimedMessage, facts: SendFacts, channel: EmailChannel) {
  const { recipient, template, sender } = facts;
  // Decided now, not when the row was queued: an opt-out in between wins.
  if (!recipient) return { status: "skipped", reason: "the contact no longer exists" } as const;
  if (!recipient.email) return { status: "skipped", reason: "the contact has no email address" } as const;
  if (!EMAIL_CONSENTED.has(recipient.email_consent)) {
    return { status: "skipped", reason: `email consent is ${recipient.email_consent}` } as const;
  }
  if (!sender) {
    return {
      status: "failed",
      reason:
        "the workspace has no sender identity and postal address, which marketing email must carry: set them with PUT /api/v1/workspace/sender",
    } as const;
  }
  if (template?.channel !== "email") {
    return {
      status: "failed",
      reason: `template ${message.template_id} is missing or not an email template`,
    } as const;
  }
  const target = {
    publicUrl: facts.links.publicUrl,
    key: facts.links.key,
    workspaceId: message.workspace_id,
    messageId: message.id,
  };
  const unsubscribeUrl = `${facts.links.publicUrl}/u/${unsubscribeToken(facts.links.key, {
    workspaceId: message.workspace_id,
    contactId: recipient.id,
    messageId: message.id,
    channel: "email",
    issuedAt: facts.now,
  })}`;
  const rendered = await templateRenderer.renderEmail(template.content, toRenderContact(recipient), {
    links: { unsubscribe_url: unsubscribeUrl },
    event: facts.event,
  });
  const footer = emailFooter(rendered.html, rendered.text, sender.postal_address, unsubscribeUrl);
  const tracked = trackEmail(footer.html, footer.text, target);
  const email: OutgoingEmail = {
    workspaceId: message.workspace_id,
    messageId: message.id,
    idempotencyKey: message.idempotency_key,
    from: { ...(sender.from_name ? { name: sender.from_name } : {}), address: sender.from_address },
    ...(sender.reply_to ? { replyTo: { address: sender.reply_to } } : {}),
    to: {
      ...(recipient.first_name
        ? { name: [recipient.first_name, recipient.last_name].filter(Boolean).join(" ") }
        : {}),
      address: recipient.email,
    },
    subject: rendered.subject,
    html: tracked.html,
    text: tracked.text,
    unsubscribe: { url: unsubscribeUrl, mailto: unsubscribeMailto(sender, unsubscribeUrl) },
  };
  return { send: () => channel.send(email), provider: channel.provider };
}

async function prepareSms(db: Db, message: ClaimedMessage, facts: SendFacts, channel: SmsChannel) {
  const { recipient, template, sender } = facts;
  if (!recipient) return { status: "skipped", reason: "the contact no longer exists" } as const;
  if (!recipient.phone) return { status: "skipped", reason: "the contact has no phone number" } as const;
  // Marketing SMS needs explicit consent (TCPA): never_asked is not enough.
  if (recipient.sms_consent !== "subscribed") {
    return { status: "skipped", reason: `SMS consent is ${recipient.sms_consent}` } as const;
  }
  if (!sender?.sms_from) {
    return {
      status: "failed",
      reason: "the workspace has no SMS sender number: set smsFrom with PUT /api/v1/workspace/sender",
    } as const;
  }
  if (template?.channel !== "sms") {
    return {
      status: "failed",
      reason: `template ${message.template_id} is missing or not an SMS template`,
    } as const;
  }
  const rendered = templateRenderer.renderSms(template.content, toRenderContact(recipient), {
    firstMessageToNumber: !facts.everSent,
    event: facts.event,
  });
  const tracked = trackSms(rendered.body, {
    publicUrl: facts.links.publicUrl,
    key: facts.links.key,
    workspaceId: message.workspace_id,
    messageId: message.id,
  });
  await insertShortLinks(db, message.workspace_id, message.id, tracked.links);
  const sms: OutgoingSms = {
    workspaceId: message.workspace_id,
    messageId: message.id,
    idempotencyKey: message.idempotency_key,
    to: recipient.phone,
    from: sender.sms_from,
    body: tracked.body,
  };
  return { send: () => channel.send(sms), provider: channel.provider };
}

/**
 * A webhook body's text values with Liquid in them (`"Hello {{ firstName }}"`, `"{{ attributes.plan }}"`)
 * rendered for the member, as a text template is; other values as they are. Throws an Error naming the
 * field when one does not render (a missing variable without a default).
 */
function renderWebhookBody(
  body: Record<string, unknown>,
  recipient: RecipientRow | undefined,
): Record<string, unknown> {
  const context = recipient ? buildRenderContext(toRenderContact(recipient)) : {};
  const render = (value: unknown, path: string): unknown => {
    if (typeof value === "string") {
      if (!value.includes("{{") && !value.includes("{%")) return value;
      try {
        return textLiquid.parseAndRenderSync(value, context);
      } catch (error) {
        throw new Error(`the webhook body's field ${path} does not render: ${describeLiquidError(error)}`);
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => render(v, `${path}[${i}]`));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, `${path}.${k}`)]));
    }
    return value;
  };
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, render(v, k)]));
}

function prepareWebhook(message: ClaimedMessage, facts: SendFacts, channel: WebhookChannel) {
  const url = message.details.url;
  if (typeof url !== "string") return { status: "failed", reason: "the webhook node has no URL" } as const;
  let body: Record<string, unknown>;
  try {
    body = renderWebhookBody((message.details.body ?? {}) as Record<string, unknown>, facts.recipient);
  } catch (error) {
    return { status: "failed", reason: (error as Error).message } as const;
  }
  const call: OutgoingWebhook = {
    workspaceId: message.workspace_id,
    messageId: message.id,
    idempotencyKey: message.idempotency_key,
    url,
    body: {
      ...body,
      event: "workflow.webhook",
      campaignId: message.campaign_id,
      nodeId: message.node_id,
      messageId: message.id,
      contact: facts.recipient
        ? { id: facts.recipient.id, externalId: facts.recipient.external_id, email: facts.recipient.email }
        : { id: message.contact_id },
      sentAt: facts.now.toISOString(),
    },
  };
  return { send: () => channel.send(call), provider: channel.provider };
}

/** The recipient as templates see it. */
export function toRenderContact(r: RecipientRow): RenderContact {
  return {
    id: r.id,
    externalId: r.external_id,
    email: r.email,
    phone: r.phone,
    firstName: r.first_name,
    lastName: r.last_name,
    timezone: r.timezone,
    address: {
      line1: r.address_line1,
      line2: r.address_line2,
      city: r.city,
      region: r.region,
      postalCode: r.postal_code,
      country: r.country,
    },
    attributes: r.attributes,
  };
}

const escapeHtml = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/**
 * The footer every marketing email carries: the workspace's postal address (CAN-SPAM) and an
 * unsubscribe link, unless the template placed `{{ unsubscribe_url }}` itself. Before </body> when there
 * is one.
 */
export function emailFooter(
  html: string,
  text: string,
  postalAddress: string,
  unsubscribeUrl: string,
): { html: string; text: string } {
  const placed = html.includes(escapeHtml(unsubscribeUrl)) || html.includes(unsubscribeUrl);
  const link = placed ? "" : `<br><a href="${escapeHtml(unsubscribeUrl)}" style="color:#666">Unsubscribe</a>`;
  const footer = `<div style="font-size:12px;color:#666;margin-top:24px">${escapeHtml(postalAddress).replaceAll("\n", "<br>")}${link}</div>`;
  const end = html.lastIndexOf("</body>");
  const withFooter = end === -1 ? `${html}${footer}` : `${html.slice(0, end)}${footer}${html.slice(end)}`;
  const textLink = text.includes(unsubscribeUrl) ? "" : `\nUnsubscribe: ${unsubscribeUrl}`;
  return { html: withFooter, text: `${text.trimEnd()}\n\n--\n${postalAddress}${textLink}\n` };
}

/**
 * The mailto target of List-Unsubscribe: the reply-to (or from) mailbox, with the token in the subject
 * so that whoever reads it can act on it.
 */
function unsubscribeMailto(
  sender: { from_address: string; reply_to: string | null },
  unsubscribeUrl: string,
): string {
  const token = unsubscribeUrl.slice(unsubscribeUrl.lastIndexOf("/") + 1);
  return `${sender.reply_to ?? sender.from_address}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`;
}

/** The address a message goes to on its channel, as suppressions store it. */
function addressOf(kind: DispatchKind, r: RecipientRow): string | null {
  if (kind === "email") return r.email?.toLowerCase() ?? null;
  if (kind === "sms") return r.phone;
  return null;
}

export interface DispatcherHandle {
  stop(): Promise<void>;
}

/** The worker role's dispatch loop: a batch at a time until none is due, then a poll every `idleMs`. */
export function startDispatcher(
  db: Db,
  options: Omit<DispatchOptions, "now" | "guards"> & {
    logger?: Logger;
    idleMs?: number;
    /** Messages per second per provider; 0 or absent: unlimited. */
    maxPerSecond?: Partial<Record<DispatchKind, number>>;
    /** Opens credentials stored per workspace (ad destinations, providers). */
    credentialsKey: Buffer;
    /** Counts provider rate limits in Redis, shared by every process; unset: in this process. */
    redisUrl?: string;
    /** Private hosts ad destinations may point at (ADS_ALLOW_HOSTS). */
    adsAllowHosts?: readonly string[];
  },
): DispatcherHandle {
  const kinds: DispatchKind[] = ["email", "sms", "webhook", "mail"];
  const redis = options.redisUrl ? connectRedis(options.redisUrl) : undefined;
  redis?.on("error", () => {}); // RedisTokenBucket logs once and falls back; no unhandled 'error' events.
  // One breaker (5 retryable failures in a row, 30 s pause) per provider in this process, and one rate
  // limit per provider: in Redis when there is one, so that all processes together keep to it.
  const guards: Partial<Record<DispatchKind, ProviderGuards>> = {};
  for (const kind of kinds) {
    const rate = options.maxPerSecond?.[kind] ?? 0;
    const provider = providerOf(kind, options.channels)?.provider ?? kind;
    const throttle =
      rate <= 0
        ? undefined
        : redis
          ? new RedisTokenBucket(redis, `omneural:rate:${kind}:${provider}`, rate, undefined, options.logger)
          : new TokenBucket(rate);
    guards[kind] = { breaker: new CircuitBreaker(5, 30_000), ...(throttle ? { throttle } : {}) };
  }
  const resolver =
    options.resolver ??
    new ChannelResolver(db, options.channels, {
      credentialsKey: options.credentialsKey,
      publicUrl: options.links.publicUrl,
    });
  const loop = startPollLoop({
    name: "dispatcher",
    logger: options.logger,
    idleMs: options.idleMs ?? 500,
    async pass() {
      let claimed = 0;
      for (const kind of kinds) {
        const r = await dispatchBatch(db, kind, { ...options, guards, resolver });
        for (const outcome of ["sent", "retried", "deferred", "failed", "skipped"] as const)
          if (r[outcome]) dispatchOutcomes.inc({ channel: kind, outcome }, r[outcome]);
        const held = guards[kind]?.breaker?.holdUntil(Date.now());
        circuitOpen.set({ channel: kind }, held === undefined ? 0 : 1);
        // Rows deferred at the claim (throughput limits) are progress too: the next due rows are behind them.
        claimed += r.claimed + r.deferred;
        if (r.expired) {
          options.logger?.warn(
            { channel: kind, expired: r.expired },
            "dispatcher: sends interrupted by a stopped process",
          );
        }
      }
      const ads = await dispatchAdsBatch(db, {
        credentialsKey: options.credentialsKey,
        allowHosts: options.adsAllowHosts ?? [],
      });
      claimed += ads.claimed;
      return claimed > 0;
    },
  });
  return {
    async stop() {
      await loop.stop();
      await resolver.close();
      redis?.disconnect();
      await options.channels.email.close();
      await options.channels.sms?.close();
      await options.channels.webhook?.close();
      await options.channels.mail?.close();
    },
  };
}
