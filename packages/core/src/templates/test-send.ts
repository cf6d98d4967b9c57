/**
 * Test sends: a template rendered for a real or the sample contact and sent at once to one address, so
 * its author sees it in a real inbox or on a real phone. Email and SMS only. It goes out as a real send
 * would (the workspace's sender identity and postal address, through the workspace's provider), with
 * "[Test] " before an email's subject; it is not a message of the send ledger, so it never counts toward
 * frequency caps or reports. Each is logged in `template_test_sends`, which rate-limits them per
 * workspace so the endpoint cannot be used to send spam. An address the provider refuses for good is
 * suppressed, as a real send's would be.
 */
import type {
  EmailContent,
  SmsContent,
  TemplateTestSend,
  TemplateTestSendRequest,
} from "@omneural/contracts/templates";
import { getContact, type WorkspaceContext } from "../contacts/contact.service.ts";
import { normalizeEmail, normalizePhone } from "../contacts/normalize.ts";
import type { Db } from "../db/database.ts";
import type {
  EmailChannel,
  OutgoingEmail,
  OutgoingSms,
  SendResult,
  SmsChannel,
} from "../delivery/channel.ts";
import { insertSuppression, selectSenders, selectSuppressions } from "../delivery/dispatch.repository.ts";
import { emailFooter } from "../delivery/dispatcher.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { missingContent, type RenderContact, SAMPLE_CONTACT, TemplateRenderError } from "./render.ts";
import {
  countTestSendsSince,
  findTemplate,
  insertTestSend,
  lockTestSends,
  recordTestSendOutcome,
} from "./template.repository.ts";
import { templateRenderer } from "./template.service.ts";

export const TEST_SUBJECT_PREFIX = "[Test] ";

/**
 * A test send has no contact to unsubscribe, so its unsubscribe link (the footer's, or the template's
 * `{{ unsubscribe_url }}`) is the placeholder previews show.
 */
export const TEST_UNSUBSCRIBE_URL = "https://example.com/unsubscribe-link-preview";

export interface TestSendLimit {
  count: number;
  windowMs: number;
}

/** Per workspace: 20 a minute for a burst of edits, 200 a day so that a script cannot drip spam. */
export const TEST_SEND_LIMITS: readonly TestSendLimit[] = [
  { count: 20, windowMs: 60_000 },
  { count: 200, windowMs: 86_400_000 },
];

export interface TestSendDeps {
  /** The workspace's channels: its own provider's where it has one, the installation's otherwise. */
  email: EmailChannel;
  sms?: SmsChannel;
  /** The API key asking, logged with the send. */
  actor?: string | null;
  /** Default TEST_SEND_LIMITS. */
  limits?: readonly TestSendLimit[];
  now?: Date;
}

/** The request cannot be sent as it stands: channel, sender identity, content, or the address. */
const refused = (reason: string, field?: string) =>
  new AppError("TEST_SEND_REFUSED", reason, field ? { errors: [{ field, message: reason }] } : {});

const PREVIEW_CHARACTERS = 200;

/**
 * Sends it, or throws an AppError: TEST_SEND_REFUSED (422), RATE_LIMITED (429) or PROVIDER_UNAVAILABLE
 * (503), with `retryAfterSeconds` when known; NOT_FOUND and VALIDATION_FAILED as any request.
 */
export async function sendTestMessage(
  db: Db,
  ws: WorkspaceContext,
  templateId: string,
  input: TemplateTestSendRequest,
  deps: TestSendDeps,
): Promise<TemplateTestSend> {
  const now = deps.now ?? new Date();
  const template = await findTemplate(db, ws.id, templateId);
  if (!template) throw notFound("template", templateId);
  // What the request names must exist before anything else is said about it.
  const contact = await contactOf(db, ws, input);
  const channel = template.channel;
  if (channel !== "email" && channel !== "sms") {
    throw refused(
      `test sends are for email and SMS templates; a ${channel} template cannot be sent to one address. Preview it with POST /api/v1/templates/${templateId}/preview`,
    );
  }
  const missing = missingContent(channel, template.content);
  if (missing.length > 0) {
    throw refused(`the template is not complete: it needs ${missing.join(", ")}`);
  }
  const to = normalizedRecipient(channel, input.to, ws.defaultCountry);
  const [sender] = await selectSenders(db, [ws.id]);
  if (channel === "email" && !sender) {
    throw refused(
      "the workspace has no sender identity and postal address, which every email carries: set them with PUT /api/v1/workspace/sender",
    );
  }
  if (channel === "sms" && !sender?.sms_from) {
    throw refused("the workspace has no SMS sender number: set smsFrom with PUT /api/v1/workspace/sender");
  }
  if (channel === "sms" && !deps.sms) throw refused("no SMS provider is configured");
  const suppressed = (await selectSuppressions(db, channel, [{ workspaceId: ws.id, address: to }])).get(
    `${ws.id}:${to}`,
  );
  if (suppressed) {
    throw refused(`${to} is suppressed on ${channel}: ${suppressed}`, "to");
  }

  const id = uuidv7(now.getTime());
  const idempotencyKey = `test-send:${id}`;
  let send: () => Promise<SendResult>;
  let provider: string;
  let shown: { subject?: string; bodyPreview: string };
  const content = template.content;
  try {
    if (channel === "email" && sender) {
      const rendered = await templateRenderer.renderEmail(content as EmailContent, contact, {
        links: { unsubscribe_url: TEST_UNSUBSCRIBE_URL },
      });
      // The footer a real send carries (postal address, unsubscribe link); links are not tracked.
      const footer = emailFooter(rendered.html, rendered.text, sender.postal_address, TEST_UNSUBSCRIBE_URL);
      const email: OutgoingEmail = {
        workspaceId: ws.id,
        messageId: null,
        idempotencyKey,
        from: { ...(sender.from_name ? { name: sender.from_name } : {}), address: sender.from_address },
        ...(sender.reply_to ? { replyTo: { address: sender.reply_to } } : {}),
        to: { address: to },
        subject: `${TEST_SUBJECT_PREFIX}${rendered.subject}`,
        html: footer.html,
        text: footer.text,
      };
      send = () => deps.email.send(email);
      provider = deps.email.provider;
      shown = { subject: email.subject, bodyPreview: previewOf(rendered.text) };
    } else {
      const rendered = templateRenderer.renderSms(content as SmsContent, contact, {
        firstMessageToNumber: false,
      });
      const sms: OutgoingSms = {
        workspaceId: ws.id,
        messageId: null,
        idempotencyKey,
        to,
        from: sender!.sms_from!,
        body: rendered.body,
      };
      const smsChannel = deps.sms!;
      send = () => smsChannel.send(sms);
      provider = smsChannel.provider;
      shown = { bodyPreview: rendered.body };
    }
  } catch (error) {
    if (!(error instanceof TemplateRenderError)) throw error;
    throw refused(`could not render: ${error.field}: ${error.message}`, error.field);
  }

  const limited = await reserveTestSend(db, deps.limits ?? TEST_SEND_LIMITS, now, {
    workspaceId: ws.id,
    id,
    templateId,
    templateVersion: template.version,
    channel,
    recipient: to,
    actor: deps.actor ?? null,
    sentAt: now,
  });
  if (limited) {
    throw new AppError("RATE_LIMITED", limited.reason, { retryAfterSeconds: limited.retryAfterSeconds });
  }

  const result = await send();
  await recordTestSendOutcome(db, ws.id, id, {
    outcome: result.kind === "sent" ? "sent" : result.reason,
    providerMessageId: result.kind === "sent" ? result.providerMessageId : null,
  });
  if (result.kind === "permanent") {
    if (!result.suppress) throw refused(`${provider} refused it: ${result.reason}`);
    // The address itself is bad: neither campaigns nor further test sends will try it again.
    await insertSuppression(db, {
      workspaceId: ws.id,
      channel,
      address: to,
      reason: result.reason,
      source: "provider",
      messageId: null,
    });
    throw refused(
      `${provider} refused it for good, so ${to} is now suppressed on ${channel}: ${result.reason}`,
      "to",
    );
  }
  if (result.kind === "retryable") {
    throw new AppError(
      "PROVIDER_UNAVAILABLE",
      `${provider} did not take it: ${result.reason}`,
      result.retryAfterMs ? { retryAfterSeconds: Math.ceil(result.retryAfterMs / 1000) } : {},
    );
  }
  return {
    channel,
    to,
    ...shown,
    templateVersion: template.version,
    provider,
    providerMessageId: result.providerMessageId,
  };
}

function normalizedRecipient(channel: "email" | "sms", raw: string, defaultCountry: string): string {
  const result = channel === "email" ? normalizeEmail(raw) : normalizePhone(raw, defaultCountry);
  if (!result.ok) {
    const expected = channel === "email" ? "an email address" : "a phone number (E.164, e.g. +447700900123)";
    throw validationFailed([{ field: "to", message: `must be ${expected}: ${result.error.message}` }]);
  }
  return typeof result.value === "string" ? result.value : result.value.e164;
}

/** contactId's contact, else the sample contact, with the request's attributes over theirs. */
async function contactOf(
  db: Db,
  ws: WorkspaceContext,
  input: TemplateTestSendRequest,
): Promise<RenderContact> {
  const base: RenderContact = input.contactId ? await getContact(db, ws, input.contactId) : SAMPLE_CONTACT;
  if (!input.attributes) return base;
  return { ...base, attributes: { ...base.attributes, ...input.attributes } };
}

/**
 * Logs the send unless it would break a limit, in one transaction under a per-workspace lock so that
 * concurrent requests (on any number of API processes) cannot all slip under it.
 */
async function reserveTestSend(
  db: Db,
  limits: readonly TestSendLimit[],
  now: Date,
  row: Parameters<typeof insertTestSend>[1],
): Promise<{ reason: string; retryAfterSeconds: number } | undefined> {
  return db.transaction().execute(async (trx) => {
    await lockTestSends(trx, row.workspaceId);
    for (const limit of limits) {
      const { count, oldest } = await countTestSendsSince(
        trx,
        row.workspaceId,
        new Date(now.getTime() - limit.windowMs),
      );
      if (count < limit.count) continue;
      // A slot frees when the oldest send of the window leaves it.
      const freeAt = (oldest ?? now).getTime() + limit.windowMs;
      return {
        reason: `at most ${limit.count} test sends per ${describeWindow(limit.windowMs)} per workspace`,
        retryAfterSeconds: Math.max(1, Math.ceil((freeAt - now.getTime()) / 1000)),
      };
    }
    await insertTestSend(trx, row);
    return undefined;
  });
}

function describeWindow(ms: number): string {
  if (ms === 60_000) return "minute";
  if (ms === 3_600_000) return "hour";
  if (ms === 86_400_000) return "day";
  return `${Math.round(ms / 1000)} seconds`;
}

function previewOf(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= PREVIEW_CHARACTERS ? flat : `${flat.slice(0, PREVIEW_CHARACTERS - 1)}…`;
}
