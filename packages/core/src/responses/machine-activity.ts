/**
 * Machine activity: opens and clicks made by software rather than the recipient. Reports exclude them;
 * the writer flags each at write time (`properties.machine: true` and `properties.machineReason`) and
 * still records it, so nothing is thrown away on a heuristic's word.
 *
 * - **Clicks** by link scanners (Microsoft Safe Links, Mimecast, Proofpoint, Barracuda …) come within
 *   seconds of delivery, often as HEAD requests, often with a scanner's or an HTTP library's user agent.
 * - **Opens** through Apple Mail Privacy Protection (the pixel is fetched by Apple when the message is
 *   delivered, whether or not it is read: the user agent is a bare `Mozilla/5.0`) say nothing about the
 *   reader. Opens through Gmail's `GoogleImageProxy` or Yahoo's `YahooMailProxy` are the reader's: the
 *   proxy fetches the pixel when the message is first opened (migration 000036 counts those flagged
 *   before).
 *
 * Pure: no I/O, tested as a table (machine-activity.test.ts).
 */

/** A click this soon after the message was sent is a scanner's: no person opens and clicks that fast. */
export const SCANNER_CLICK_WINDOW_MS = 10_000;

export type MachineReason =
  | "head_request"
  | "scanner_user_agent"
  | "no_user_agent"
  | "soon_after_send"
  | "apple_mail_privacy_protection";

/** Security gateways, link-preview bots and HTTP libraries: no person clicks with these. */
const SCANNER_USER_AGENT =
  /barracuda|mimecast|proofpoint|safelinks|forcepoint|trend ?micro|messagelabs|symantec|fireeye|sophos|spamtitan|zscaler|cisco|ironport|checkpoint|paloalto|urlscan|virustotal|bot\b|crawler|spider|headlesschrome|phantomjs|python-requests|python-urllib|aiohttp|go-http-client|java\/|okhttp|apache-httpclient|libwww-perl|wget|curl\/|facebookexternalhit|slackbot|linkedinbot|twitterbot|whatsapp|telegrambot|skypeuripreview|discordbot|googleimageproxy|yahoomailproxy/i;

export interface ResponseRequest {
  kind: string;
  /** When the request arrived. */
  at: Date;
  /** When the message was handed to the provider (the ledger's `sent_at`), if known. */
  sentAt: Date | null;
  /** The request's User-Agent header, if any. */
  userAgent?: unknown;
  /** The request's HTTP method, if any. */
  method?: unknown;
}

/** Why this open or click is a machine's, or null when it looks like a person's. */
export function detectMachineActivity(request: ResponseRequest): MachineReason | null {
  const userAgent = typeof request.userAgent === "string" ? request.userAgent.trim() : "";
  const method = typeof request.method === "string" ? request.method.toUpperCase() : "";
  if (request.kind === "clicked") {
    if (method === "HEAD") return "head_request";
    if (userAgent !== "" && SCANNER_USER_AGENT.test(userAgent)) return "scanner_user_agent";
    if (request.sentAt) {
      const sinceSend = request.at.getTime() - request.sentAt.getTime();
      if (sinceSend < SCANNER_CLICK_WINDOW_MS) return "soon_after_send";
    }
    if (request.userAgent !== undefined && userAgent === "") return "no_user_agent";
    return null;
  }
  if (request.kind === "opened") {
    if (userAgent === "Mozilla/5.0") return "apple_mail_privacy_protection";
    return null;
  }
  return null;
}
