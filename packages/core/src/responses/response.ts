/**
 * Responses: what a recipient did with a message (opened, clicked, replied, unsubscribed, converted,
 * visited a PURL …), as the tracking endpoints see them. The hot path (a pixel, a redirect) builds a
 * `ResponseInput` from the request alone and hands it to a `ResponseSink`, which never waits for the
 * database; the sink's writer stores each one as an event of type `message.<kind>` (so workflows'
 * `wait_for` and audiences' response rules see it), enriched from the send ledger, exactly once (the
 * id is made at the request and is the event's id).
 */

export const RESPONSE_KINDS = [
  "opened",
  "clicked",
  "replied",
  "unsubscribed",
  "converted",
  "purl_visited",
  "delivered",
  "bounced",
  "complained",
] as const;
export type ResponseKindName = (typeof RESPONSE_KINDS)[number];

export interface ResponseInput {
  /** Unique, made when the request arrived (uuid v7): a replay of the same response is recorded once. */
  id: string;
  workspaceId: string;
  /** The send-ledger row the response is to; the writer reads its contact, campaign, node and channel. */
  messageId: string | null;
  /** When there is no message (an inbound SMS, a conversion): the contact it is from. */
  contactId?: string;
  kind: ResponseKindName;
  at: Date;
  /** What the request said: the URL clicked, the link index, user agent, method, reply text … */
  properties: Record<string, unknown>;
}

/** Takes responses from the hot path. `record` returns at once and never throws. */
export interface ResponseSink {
  record(response: ResponseInput): void;
}
