/**
 * What Twilio posts: a text a recipient sent to a workspace's number (keywords change SMS consent; any
 * other text is a reply), and the delivery status of a text we sent. Every request is verified against
 * the auth token of the account the number belongs to: the workspace's own Twilio account, else the
 * installation's (TWILIO_URL).
 */
import { queueMembershipCheck } from "../audiences/membership.ts";
import { findContactByIdentity } from "../contacts/contact.repository.ts";
import { normalizePhone } from "../contacts/normalize.ts";
import type { Db } from "../db/database.ts";
import { insertSuppression } from "../delivery/dispatch.repository.ts";
import { readWorkspaceTwilioAuthToken } from "../delivery/provider.service.ts";
import { uuidv7 } from "../shared/ids.ts";
import {
  defaultSmsHelpText,
  type FormParams,
  formValue,
  type SmsKeyword,
  smsKeyword,
  startConfirmation,
  stopConfirmation,
  TWILIO_PERMANENT_DELIVERY_ERRORS,
  twiml,
  verifyTwilioSignature,
} from "./inbound-sms.ts";
import {
  changeConsent,
  type SmsNumberWorkspace,
  selectLatestMessageTo,
  selectSmsMessagesByProviderId,
  selectWorkspaceForSms,
  selectWorkspacesBySmsNumber,
  updateDeliveryStatus,
} from "./provider-feedback.repository.ts";
import type { ResponseSink } from "./response.ts";
import { stableResponseId } from "./stable-id.ts";

/** The consent ledger's source for changes made by a keyword texted in. */
export const SMS_KEYWORD_SOURCE = "sms_keyword";

export interface TwilioHookDeps {
  db: Db;
  /** Opens workspaces' stored provider secrets. */
  credentialsKey: Buffer;
  /** The auth token in TWILIO_URL, when the installation has a Twilio account. */
  installationAuthToken: string | undefined;
  responses: ResponseSink;
  now?: () => Date;
}

export interface TwilioHookRequest {
  /** The full public URL Twilio posted to (PUBLIC_URL + path + query): part of what Twilio signs. */
  url: string;
  params: FormParams;
  /** The `X-Twilio-Signature` header. */
  signature: string | undefined;
}

/** Why a webhook was refused; never contains a secret. */
export interface Refusal {
  kind: "refused";
  reason: string;
  workspaceIds: string[];
}

export type InboundSmsResult =
  | {
      kind: "answered";
      workspaceId: string;
      /** What the text was taken as. */
      action: "unsubscribed" | "subscribed" | "help" | "replied" | "ignored";
      /** The TwiML to answer with. */
      twiml: string;
    }
  | { kind: "malformed"; reason: string }
  | { kind: "unknown_number"; to: string }
  | Refusal;

async function authTokenOf(deps: TwilioHookDeps, workspaceId: string): Promise<string | undefined> {
  const own = await readWorkspaceTwilioAuthToken(deps.db, workspaceId, deps.credentialsKey);
  if (own.kind === "own") return own.authToken;
  // A workspace with its own account whose token cannot be opened is not verified with another one.
  return own.kind === "none" ? deps.installationAuthToken : undefined;
}

/** The candidates whose account signed the request, in the order given. */
async function signedBy<T extends { id: string }>(
  deps: TwilioHookDeps,
  request: TwilioHookRequest,
  candidates: T[],
): Promise<{ verified: T[]; refusal?: Refusal }> {
  const workspaceIds = candidates.map((c) => c.id);
  if (!request.signature) {
    return {
      verified: [],
      refusal: { kind: "refused", reason: "no X-Twilio-Signature header", workspaceIds },
    };
  }
  const verified: T[] = [];
  let anyToken = false;
  for (const candidate of candidates) {
    const token = await authTokenOf(deps, candidate.id);
    if (!token) continue;
    anyToken = true;
    if (verifyTwilioSignature(token, request.url, request.params, request.signature))
      verified.push(candidate);
  }
  if (verified.length > 0) return { verified };
  const reason = anyToken
    ? "the X-Twilio-Signature does not match"
    : "no Twilio auth token to verify with (neither the workspace's own Twilio account nor TWILIO_URL)";
  return { verified, refusal: { kind: "refused", reason, workspaceIds } };
}

function e164(from: string, defaultCountry: string): string {
  const normalized = normalizePhone(from, defaultCountry);
  return normalized.ok ? normalized.value.e164 : from.trim();
}

/** `POST /hooks/twilio/inbound`: a text sent to one of our numbers. */
export async function receiveInboundSms(
  deps: TwilioHookDeps,
  request: TwilioHookRequest,
): Promise<InboundSmsResult> {
  const to = formValue(request.params, "To")?.trim();
  const from = formValue(request.params, "From")?.trim();
  if (!to || !from) return { kind: "malformed", reason: "To and From are required" };
  const body = formValue(request.params, "Body") ?? "";
  const candidates = await selectWorkspacesBySmsNumber(deps.db, to);
  if (candidates.length === 0) return { kind: "unknown_number", to };
  const { verified, refusal } = await signedBy(deps, request, candidates);
  if (refusal) return refusal;

  // Two workspaces sending from one number on one account cannot be told apart by Twilio's request: the
  // text belongs to the one that knows the sender.
  let workspace: SmsNumberWorkspace = verified[0]!;
  let contact: { id: string } | undefined;
  for (const candidate of verified) {
    const found = await findContactByIdentity(
      deps.db,
      candidate.id,
      "phone",
      e164(from, candidate.default_country),
    );
    if (found) {
      workspace = candidate;
      contact = found;
      break;
    }
  }
  const now = deps.now?.() ?? new Date();
  const messageSid = formValue(request.params, "MessageSid") ?? formValue(request.params, "SmsSid");
  const responseId = (kind: string) =>
    messageSid ? stableResponseId(workspace.id, "twilio-inbound", messageSid, kind) : uuidv7(now.getTime());
  const keyword = smsKeyword(body);
  const answered = (action: Extract<InboundSmsResult, { kind: "answered" }>["action"], text?: string) =>
    ({ kind: "answered", workspaceId: workspace.id, action, twiml: twiml(text) }) as const;

  if (keyword === "help")
    return answered("help", workspace.sms_help_text ?? defaultSmsHelpText(workspace.name));
  if (keyword === "stop" || keyword === "start") {
    // Opting out is confirmed even when we know no such contact: the sender asked, and must hear back.
    if (!contact)
      return keyword === "stop"
        ? answered("unsubscribed", stopConfirmation(workspace.name))
        : answered("ignored");
    await changeSmsConsent(deps, workspace.id, contact.id, keyword, body, now);
    if (keyword === "stop") {
      const messageId = await selectLatestMessageTo(deps.db, workspace.id, contact.id, "sms");
      deps.responses.record({
        id: responseId("unsubscribed"),
        workspaceId: workspace.id,
        messageId: messageId ?? null,
        contactId: contact.id,
        kind: "unsubscribed",
        at: now,
        properties: { channel: "sms", source: SMS_KEYWORD_SOURCE, keyword: body.trim().slice(0, 40), from },
      });
      return answered("unsubscribed", stopConfirmation(workspace.name));
    }
    return answered("subscribed", startConfirmation(workspace.name));
  }
  if (!contact) return answered("ignored");
  const messageId = await selectLatestMessageTo(deps.db, workspace.id, contact.id, "sms");
  deps.responses.record({
    id: responseId("replied"),
    workspaceId: workspace.id,
    messageId: messageId ?? null,
    contactId: contact.id,
    kind: "replied",
    at: now,
    properties: { body: body.slice(0, 1600), from },
  });
  return answered("replied");
}

async function changeSmsConsent(
  deps: TwilioHookDeps,
  workspaceId: string,
  contactId: string,
  keyword: Exclude<SmsKeyword, "help">,
  body: string,
  now: Date,
) {
  await deps.db.transaction().execute(async (trx) => {
    const changed = await changeConsent(trx, {
      workspaceId,
      contactId,
      channel: "sms",
      status: keyword === "stop" ? "unsubscribed" : "subscribed",
      source: SMS_KEYWORD_SOURCE,
      actor: null,
      reason: `texted "${body.trim().slice(0, 40)}"`,
      at: now,
    });
    if (changed) await queueMembershipCheck(trx, workspaceId, [contactId], "SMS consent changed by keyword");
  });
}

export type SmsStatusResult =
  | {
      kind: "recorded";
      workspaceId: string;
      messageId: string;
      status: string;
      /** The number was suppressed (a permanent error code). */
      suppressed: boolean;
    }
  /** Signed, but about a message with no ledger row (a test send) or a status we keep nothing of. */
  | { kind: "ignored"; reason: string }
  | { kind: "malformed"; reason: string }
  | { kind: "unknown_message"; messageSid: string }
  | Refusal;

/** `POST /hooks/twilio/status`: Twilio's status callback for a text we sent. */
export async function receiveSmsStatus(
  deps: TwilioHookDeps,
  request: TwilioHookRequest,
): Promise<SmsStatusResult> {
  const sid = formValue(request.params, "MessageSid") ?? formValue(request.params, "SmsSid");
  const status = formValue(request.params, "MessageStatus") ?? formValue(request.params, "SmsStatus");
  if (!sid || !status) return { kind: "malformed", reason: "MessageSid and MessageStatus are required" };
  const rows = await selectSmsMessagesByProviderId(deps.db, sid);
  const workspaces = [...new Set(rows.map((r) => r.workspace_id))].map((id) => ({ id }));
  // A sid with no ledger row (a template test send) is still answered when its account signed it.
  const from = formValue(request.params, "From")?.trim();
  const senders =
    workspaces.length === 0 && from
      ? await selectWorkspacesBySmsNumber(deps.db, from)
      : ([] as { id: string }[]);
  const candidates = workspaces.length > 0 ? workspaces : senders;
  if (candidates.length === 0) return { kind: "unknown_message", messageSid: sid };
  const { verified, refusal } = await signedBy(deps, request, candidates);
  if (refusal) return refusal;
  const row = rows.find((r) => r.workspace_id === verified[0]!.id);
  if (!row) return { kind: "ignored", reason: `no ledger row has the message sid ${sid}` };

  const now = deps.now?.() ?? new Date();
  if (status === "delivered") {
    await updateDeliveryStatus(deps.db, row.workspace_id, row.id, "delivered", null, now);
    deps.responses.record({
      id: stableResponseId(row.workspace_id, "twilio-status", sid, "delivered"),
      workspaceId: row.workspace_id,
      messageId: row.id,
      contactId: row.contact_id,
      kind: "delivered",
      at: now,
      properties: { provider: "twilio", providerMessageId: sid },
    });
    return { kind: "recorded", workspaceId: row.workspace_id, messageId: row.id, status, suppressed: false };
  }
  if (status !== "undelivered" && status !== "failed") {
    return { kind: "ignored", reason: `status ${status} is not a final delivery status` };
  }
  const rawCode = formValue(request.params, "ErrorCode")?.trim();
  const code = rawCode && /^\d+$/.test(rawCode) ? Number(rawCode) : undefined;
  const known = code === undefined ? undefined : TWILIO_PERMANENT_DELIVERY_ERRORS[code];
  const reason =
    code !== undefined
      ? `Twilio error ${code}${known ? ` (${known})` : ""}`
      : `Twilio reported ${status} without an error code`;
  const to = formValue(request.params, "To")?.trim();
  let suppressed = false;
  await deps.db.transaction().execute(async (trx) => {
    await updateDeliveryStatus(trx, row.workspace_id, row.id, status, reason, now);
    if (known && to) {
      const workspace = await selectWorkspaceForSms(trx, row.workspace_id);
      await insertSuppression(trx, {
        workspaceId: row.workspace_id,
        channel: "sms",
        address: e164(to, workspace?.default_country ?? "US"),
        reason: `${status}: ${reason}`,
        source: "provider",
        messageId: row.id,
      });
      suppressed = true;
    }
  });
  return { kind: "recorded", workspaceId: row.workspace_id, messageId: row.id, status, suppressed };
}
