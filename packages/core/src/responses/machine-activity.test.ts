import { describe, expect, it } from "vitest";
import { detectMachineActivity, type MachineReason, type ResponseRequest } from "./machine-activity.ts";

const SENT = new Date("2026-11-01T10:00:00Z");
const later = (ms: number) => new Date(SENT.getTime() + ms);
const MINUTE = 60_000;

const IPHONE_SAFARI =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const APPLE_MAIL = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
const GMAIL_PROXY =
  "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

const cases: [string, Omit<ResponseRequest, "sentAt"> & { sentAt?: Date | null }, MachineReason | null][] = [
  // clicks
  [
    "a person's click minutes after delivery",
    { kind: "clicked", at: later(5 * MINUTE), userAgent: CHROME, method: "GET" },
    null,
  ],
  [
    "a click on a phone",
    { kind: "clicked", at: later(MINUTE), userAgent: IPHONE_SAFARI, method: "GET" },
    null,
  ],
  [
    "a HEAD request",
    { kind: "clicked", at: later(5 * MINUTE), userAgent: CHROME, method: "HEAD" },
    "head_request",
  ],
  [
    "a HEAD request, lower case",
    { kind: "clicked", at: later(5 * MINUTE), userAgent: CHROME, method: "head" },
    "head_request",
  ],
  [
    "a click 3 s after sending",
    { kind: "clicked", at: later(3000), userAgent: CHROME, method: "GET" },
    "soon_after_send",
  ],
  [
    "a click 9.9 s after sending",
    { kind: "clicked", at: later(9999), userAgent: CHROME, method: "GET" },
    "soon_after_send",
  ],
  [
    "a click exactly 10 s after sending",
    { kind: "clicked", at: later(10_000), userAgent: CHROME, method: "GET" },
    null,
  ],
  [
    "a click when the send time is unknown",
    { kind: "clicked", at: later(1000), sentAt: null, userAgent: CHROME },
    null,
  ],
  [
    "Barracuda",
    { kind: "clicked", at: later(MINUTE), userAgent: "Barracuda Sentinel (EE)" },
    "scanner_user_agent",
  ],
  [
    "Mimecast",
    { kind: "clicked", at: later(MINUTE), userAgent: "Mozilla/5.0 Mimecast-URL-Protect" },
    "scanner_user_agent",
  ],
  [
    "Proofpoint",
    { kind: "clicked", at: later(MINUTE), userAgent: "Proofpoint URL Defense" },
    "scanner_user_agent",
  ],
  [
    "a crawler",
    { kind: "clicked", at: later(MINUTE), userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1)" },
    "scanner_user_agent",
  ],
  [
    "python-requests",
    { kind: "clicked", at: later(MINUTE), userAgent: "python-requests/2.31.0" },
    "scanner_user_agent",
  ],
  ["curl", { kind: "clicked", at: later(MINUTE), userAgent: "curl/8.5.0" }, "scanner_user_agent"],
  [
    "a headless browser",
    { kind: "clicked", at: later(MINUTE), userAgent: "Mozilla/5.0 HeadlessChrome/120.0" },
    "scanner_user_agent",
  ],
  [
    "a link preview",
    { kind: "clicked", at: later(MINUTE), userAgent: "Slackbot-LinkExpanding 1.0" },
    "scanner_user_agent",
  ],
  ["an empty user agent", { kind: "clicked", at: later(MINUTE), userAgent: "" }, "no_user_agent"],
  ["no user agent header", { kind: "clicked", at: later(MINUTE), userAgent: null }, "no_user_agent"],
  ["a user agent the endpoint did not pass on", { kind: "clicked", at: later(MINUTE) }, null],
  [
    "HEAD wins over a scanner agent",
    { kind: "clicked", at: later(1000), userAgent: "curl/8", method: "HEAD" },
    "head_request",
  ],
  // opens
  [
    "Apple Mail Privacy Protection",
    { kind: "opened", at: later(1000), userAgent: "Mozilla/5.0" },
    "apple_mail_privacy_protection",
  ],
  ["Apple Mail itself", { kind: "opened", at: later(MINUTE), userAgent: APPLE_MAIL }, null],
  // The proxies fetch the pixel when the reader first opens the message.
  [
    "an open through Gmail's image proxy",
    { kind: "opened", at: later(MINUTE), userAgent: GMAIL_PROXY },
    null,
  ],
  [
    "an open through Yahoo's image proxy",
    { kind: "opened", at: later(MINUTE), userAgent: "YahooMailProxy; https://help.yahoo.com" },
    null,
  ],
  // A click with a proxy's user agent is a link preview, not the reader.
  [
    "a click by Gmail's image proxy",
    { kind: "clicked", at: later(MINUTE), userAgent: GMAIL_PROXY },
    "scanner_user_agent",
  ],
  ["an open in a browser", { kind: "opened", at: later(MINUTE), userAgent: CHROME }, null],
  [
    "an open seconds after delivery is still an open",
    { kind: "opened", at: later(500), userAgent: CHROME },
    null,
  ],
  // other kinds are never flagged
  [
    "an unsubscribe by curl",
    { kind: "unsubscribed", at: later(1000), userAgent: "curl/8", method: "POST" },
    null,
  ],
  ["a PURL visit", { kind: "purl_visited", at: later(1000), userAgent: "" }, null],
];

describe("detectMachineActivity", () => {
  it.each(cases)("%s", (_name, request, expected) => {
    expect(detectMachineActivity({ sentAt: SENT, ...request })).toBe(expected);
  });
});
