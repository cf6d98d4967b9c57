/**
 * Signed tokens for the links in messages: the open pixel, tracked clicks and unsubscribe links. A token
 * carries what its endpoint needs (workspace, message, for a click the destination URL), followed by a
 * 128-bit HMAC-SHA256 tag under the instance's link key, so that the tracking endpoints answer from the
 * request alone and a forged or altered token is refused. Tokens are base64url, safe in paths.
 *
 * Layout: kind (1 byte) · fields · tag (16 bytes).
 *   open:        workspace (16) · message (16)
 *   click:       workspace (16) · message (16) · link index (1) · URL (UTF-8)
 *   unsubscribe: workspace (16) · contact (16) · message (16, zero for none) · channel (1) · issued (u32, s)
 */
import { timingSafeEqual } from "node:crypto";
import { mac } from "../security/keys.ts";

const TAG_BYTES = 16;
const UUID_BYTES = 16;
const KIND = { open: 1, click: 2, unsubscribe: 3 } as const;
const CHANNELS = ["email", "sms", "mail", "ads"] as const;
export type TokenChannel = (typeof CHANNELS)[number];
const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
/** The longest destination a click token carries; longer links are sent untracked. */
export const MAX_TRACKED_URL_BYTES = 2000;

export interface OpenToken {
  kind: "open";
  workspaceId: string;
  messageId: string;
}
export interface ClickToken {
  kind: "click";
  workspaceId: string;
  messageId: string;
  /** The link's position in the message (0-based), so reports can tell two links to one URL apart. */
  index: number;
  url: string;
}
export interface UnsubscribeToken {
  kind: "unsubscribe";
  workspaceId: string;
  contactId: string;
  /** The message the link came in; null for a link made outside a campaign (a test send). */
  messageId: string | null;
  channel: TokenChannel;
  issuedAt: Date;
}
export type LinkToken = OpenToken | ClickToken | UnsubscribeToken;

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, "hex");
}

function uuidOf(bytes: Buffer): string {
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function seal(key: Buffer, body: Buffer): string {
  return Buffer.concat([body, mac(key, body, TAG_BYTES)]).toString("base64url");
}

export function openToken(key: Buffer, t: Omit<OpenToken, "kind">): string {
  return seal(
    key,
    Buffer.concat([Buffer.from([KIND.open]), uuidBytes(t.workspaceId), uuidBytes(t.messageId)]),
  );
}

export function clickToken(key: Buffer, t: Omit<ClickToken, "kind">): string {
  return seal(
    key,
    Buffer.concat([
      Buffer.from([KIND.click]),
      uuidBytes(t.workspaceId),
      uuidBytes(t.messageId),
      Buffer.from([Math.min(255, t.index)]),
      Buffer.from(t.url, "utf8"),
    ]),
  );
}

export function unsubscribeToken(key: Buffer, t: Omit<UnsubscribeToken, "kind">): string {
  const issued = Buffer.alloc(4);
  issued.writeUInt32BE(Math.floor(t.issuedAt.getTime() / 1000));
  return seal(
    key,
    Buffer.concat([
      Buffer.from([KIND.unsubscribe]),
      uuidBytes(t.workspaceId),
      uuidBytes(t.contactId),
      uuidBytes(t.messageId ?? ZERO_UUID),
      Buffer.from([CHANNELS.indexOf(t.channel)]),
      issued,
    ]),
  );
}

/** The token's contents when its tag is right and its layout sound; null for anything else. */
export function verifyToken(key: Buffer, token: string): LinkToken | null {
  if (token.length > 4000 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const raw = Buffer.from(token, "base64url");
  if (raw.length < 1 + TAG_BYTES) return null;
  const body = raw.subarray(0, raw.length - TAG_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  if (!timingSafeEqual(tag, mac(key, body, TAG_BYTES))) return null;
  const kind = body[0];
  const workspaceId = () => uuidOf(body.subarray(1, 1 + UUID_BYTES));
  const second = () => uuidOf(body.subarray(1 + UUID_BYTES, 1 + 2 * UUID_BYTES));
  if (kind === KIND.open && body.length === 1 + 2 * UUID_BYTES) {
    return { kind: "open", workspaceId: workspaceId(), messageId: second() };
  }
  if (kind === KIND.click && body.length > 2 + 2 * UUID_BYTES) {
    return {
      kind: "click",
      workspaceId: workspaceId(),
      messageId: second(),
      index: body[1 + 2 * UUID_BYTES]!,
      url: body.subarray(2 + 2 * UUID_BYTES).toString("utf8"),
    };
  }
  if (kind === KIND.unsubscribe && body.length === 1 + 3 * UUID_BYTES + 1 + 4) {
    const messageId = uuidOf(body.subarray(1 + 2 * UUID_BYTES, 1 + 3 * UUID_BYTES));
    const channel = CHANNELS[body[1 + 3 * UUID_BYTES]!];
    if (!channel) return null;
    return {
      kind: "unsubscribe",
      workspaceId: workspaceId(),
      contactId: second(),
      messageId: messageId === ZERO_UUID ? null : messageId,
      channel,
      issuedAt: new Date(body.readUInt32BE(2 + 3 * UUID_BYTES) * 1000),
    };
  }
  return null;
}

/** SMS links must be short: a 22-character code, the same for a message and URL on every retry. */
export function shortLinkCode(key: Buffer, messageId: string, url: string): string {
  return mac(key, `sms-link\u0000${messageId}\u0000${url}`, 16).toString("base64url");
}
