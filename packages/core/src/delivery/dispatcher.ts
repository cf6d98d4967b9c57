/**
 * The dispatcher (email so far): takes the send ledger's due `queued` rows in batches, decides for each
 * at send time — never earlier — whether it may go (the contact still exists and has an address,
 * consent still allows it, the workspace has a sender identity and postal address), renders it, sends
 * it through the channel, and records the outcome with its reason. A row is sent at most once: it is
 * leased (`sending`) in its own short transaction before the provider is called, and a lease that runs
 * out marks it `unknown` (see dispatch.repository.ts).
 */
import type { Db } from "../db/database.ts";
import type { Logger } from "../shared/logger.ts";
import { type RenderContact, TemplateRenderError } from "../templates/render.ts";
import { templateRenderer } from "../templates/template.service.ts";
import { memberTimeZone } from "../workflows/local-time.ts";
import type { EmailChannel, OutgoingEmail, SendResult } from "./channel.ts";
import {
  type ClaimedMessage,
  claimDueMessages,
  expireSendingLeases,
  type Outcome,
  type RecipientRow,
  recordOutcome,
  selectPolicies,
  selectRecentSends,
  selectRecipients,
  selectSenders,
  selectTemplates,
  selectWorkspaceTimezones,
} from "./dispatch.repository.ts";
import {
  type ChannelPolicy,
  DEFAULT_POLICIES,
  frequencyCapDecision,
  type PolicyDecision,
  quietHoursDecision,
} from "./policies.ts";

export interface DispatchOptions {
  email: EmailChannel;
  now?: Date;
  batchSize?: number;
  /** How long a row may stay `sending` before it is presumed lost with its process (default 2 min). */
  leaseMs?: number;
  /** For backoff jitter; tests pass a fixed one. */
  random?: () => number;
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

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_BACKOFF_SECONDS = 60;
const CONSENTED = new Set(["subscribed", "never_asked"]);

/** Exponential backoff with ±20% jitter: base × 2^(attempt − 1). */
export function retryDelayMs(attempt: number, baseSeconds: number, random: () => number): number {
  const exponential = baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1);
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

export async function dispatchEmailBatch(db: Db, options: DispatchOptions): Promise<DispatchResult> {
  const now = options.now ?? new Date();
  const channel = options.email;
  const random = options.random ?? Math.random;
  const expired = await expireSendingLeases(db, "email", now, channel.acceptsIdempotencyKey);
  const leaseUntil = new Date(now.getTime() + (options.leaseMs ?? 120_000));
  const claimed = await claimDueMessages(db, "email", now, leaseUntil, options.batchSize ?? 100);
  const result: DispatchResult = {
    claimed: claimed.length,
    sent: 0,
    retried: 0,
    deferred: 0,
    failed: 0,
    skipped: 0,
    expired,
  };
  if (claimed.length === 0) return result;

  const recipients = new Map(
    (
      await selectRecipients(
        db,
        claimed.map((m) => ({ workspaceId: m.workspace_id, contactId: m.contact_id })),
      )
    ).map((r) => [`${r.workspace_id}:${r.id}`, r]),
  );
  const templates = new Map(
    (
      await selectTemplates(
        db,
        claimed
          .filter((m) => m.template_id !== null)
          .map((m) => ({ workspaceId: m.workspace_id, templateId: m.template_id! })),
      )
    ).map((t) => [`${t.workspace_id}:${t.id}`, t]),
  );
  const workspaceIds = [...new Set(claimed.map((m) => m.workspace_id))];
  const timezones = await selectWorkspaceTimezones(db, workspaceIds);
  const policies = new Map(workspaceIds.map((w) => [w, DEFAULT_POLICIES.email]));
  for (const row of await selectPolicies(db, workspaceIds, "email"))
    policies.set(row.workspace_id, toPolicy(row));
  // Recent sends of the claimed contacts, for the workspaces that cap email.
  const recentSends = new Map<string, Date[]>();
  for (const [workspaceId, policy] of policies) {
    if (!policy.frequencyCap) continue;
    const contacts = claimed.filter((m) => m.workspace_id === workspaceId).map((m) => m.contact_id);
    const since = new Date(now.getTime() - policy.frequencyCap.days * 86_400_000);
    for (const [contactId, sent] of await selectRecentSends(db, workspaceId, contacts, "email", since)) {
      recentSends.set(`${workspaceId}:${contactId}`, sent);
    }
  }
  const senders = new Map(
    (await selectSenders(db, [...new Set(claimed.map((m) => m.workspace_id))])).map((s) => [
      s.workspace_id,
      s,
    ]),
  );

  for (const message of claimed) {
    const recipient = recipients.get(`${message.workspace_id}:${message.contact_id}`);
    const key = `${message.workspace_id}:${message.contact_id}`;
    const held = recipient
      ? policyHold(
          policies.get(message.workspace_id)!,
          recentSends.get(key) ?? [],
          memberTimeZone(recipient.timezone, timezones.get(message.workspace_id)),
          now,
        )
      : undefined;
    if (held) {
      await recordOutcome(db, message.workspace_id, message.id, held, now);
      if (held.status === "deferred") result.deferred++;
      else result.skipped++;
      continue;
    }
    const outcome = await decideAndSend(message, {
      recipient,
      template: message.template_id
        ? templates.get(`${message.workspace_id}:${message.template_id}`)
        : undefined,
      sender: senders.get(message.workspace_id),
      channel,
      now,
      random,
    });
    await recordOutcome(db, message.workspace_id, message.id, outcome, now);
    if (outcome.status === "sent") {
      result.sent++;
      // Later messages of the same batch to the same contact count this one against the cap.
      recentSends.set(key, [...(recentSends.get(key) ?? []), now]);
    } else if (outcome.status === "queued") result.retried++;
    else if (outcome.status === "failed") result.failed++;
    else result.skipped++;
  }
  return result;
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

async function decideAndSend(
  message: ClaimedMessage,
  facts: {
    recipient: RecipientRow | undefined;
    template: { channel: string; content: Record<string, unknown> } | undefined;
    sender:
      | { from_name: string | null; from_address: string; reply_to: string | null; postal_address: string }
      | undefined;
    channel: EmailChannel;
    now: Date;
    random: () => number;
  },
): Promise<Outcome> {
  const { recipient, template, sender, channel } = facts;
  // Decided now, not when the row was queued: an opt-out in between wins.
  if (!recipient) return { status: "skipped", reason: "the contact no longer exists" };
  if (!recipient.email) return { status: "skipped", reason: "the contact has no email address" };
  if (!CONSENTED.has(recipient.email_consent)) {
    return { status: "skipped", reason: `email consent is ${recipient.email_consent}` };
  }
  if (!sender) {
    return {
      status: "failed",
      reason:
        "the workspace has no sender identity and postal address, which marketing email must carry: set them with PUT /api/v1/workspace/sender",
    };
  }
  if (template?.channel !== "email") {
    return {
      status: "failed",
      reason: `template ${message.template_id} is missing or not an email template`,
    };
  }
  let email: OutgoingEmail;
  try {
    const rendered = await templateRenderer.renderEmail(template.content, toRenderContact(recipient));
    email = {
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
      html: withFooterHtml(rendered.html, sender.postal_address),
      text: `${rendered.text.trimEnd()}\n\n--\n${sender.postal_address}\n`,
    };
  } catch (error) {
    // One member's template failing to render fails that send, not the batch.
    const reason = error instanceof TemplateRenderError ? `${error.field}: ${error.message}` : String(error);
    return { status: "failed", reason: `could not render: ${reason}` };
  }
  const sent: SendResult = await channel.send(email);
  if (sent.kind === "sent") {
    return { status: "sent", provider: channel.provider, providerMessageId: sent.providerMessageId };
  }
  if (sent.kind === "permanent") return { status: "failed", reason: `${channel.provider}: ${sent.reason}` };
  const retry = (message.details.retry ?? {}) as { maxAttempts?: number; backoffSeconds?: number };
  const maxAttempts = retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (message.attempts >= maxAttempts) {
    return {
      status: "failed",
      reason: `${channel.provider}: ${sent.reason} (gave up after ${message.attempts} attempts)`,
    };
  }
  const delay =
    sent.retryAfterMs ??
    retryDelayMs(message.attempts, retry.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS, facts.random);
  return {
    status: "queued",
    nextAttemptAt: new Date(facts.now.getTime() + delay),
    reason: `attempt ${message.attempts} failed, retrying: ${sent.reason}`,
  };
}

function toRenderContact(r: RecipientRow): RenderContact {
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

/** The postal address every marketing email carries (CAN-SPAM), before </body> when there is one. */
function withFooterHtml(html: string, postalAddress: string): string {
  const footer = `<div style="font-size:12px;color:#666;margin-top:24px">${escapeHtml(postalAddress).replaceAll("\n", "<br>")}</div>`;
  const end = html.lastIndexOf("</body>");
  return end === -1 ? `${html}${footer}` : `${html.slice(0, end)}${footer}${html.slice(end)}`;
}

export interface DispatcherHandle {
  stop(): Promise<void>;
}

/** The worker role's dispatch loop: a batch at a time until none is due, then a poll every `idleMs`. */
export function startDispatcher(
  db: Db,
  options: Omit<DispatchOptions, "now"> & { logger?: Logger; idleMs?: number },
): DispatcherHandle {
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = async () => {
    let backoff = 250;
    while (!stopping) {
      try {
        const r = await dispatchEmailBatch(db, options);
        backoff = 250;
        if (r.expired)
          options.logger?.warn({ expired: r.expired }, "dispatcher: sends interrupted by a stopped process");
        if (r.claimed === 0) await sleep(options.idleMs ?? 500);
      } catch (error) {
        options.logger?.warn({ err: error }, "dispatcher: batch failed; retrying");
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      stopping = true;
      wake?.();
      await running;
      await options.email.close();
    },
  };
}
