/**
 * Response ids for what providers post: made from the provider's own id of the event (a Twilio
 * MessageSid, an SNS MessageId, a SendGrid sg_event_id), so a webhook the provider delivers twice is
 * recorded once. Shaped as a UUID (version 8, "custom"), as the response id is elsewhere.
 */
import { createHash } from "node:crypto";

export function stableResponseId(...parts: string[]): string {
  const bytes = createHash("sha256").update(JSON.stringify(parts)).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
