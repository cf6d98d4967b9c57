/**
 * Tracking a rendered message: every http(s) link of an email's HTML (and the same links in its text
 * part) goes through the click redirect, an open pixel goes before `</body>`, and SMS links become short
 * links. Links opt out with the attribute `data-notrack`; links into this server (unsubscribe, PURLs)
 * are left as they are.
 */
import { clickToken, MAX_TRACKED_URL_BYTES, openToken, shortLinkCode } from "./tokens.ts";

export interface TrackingTarget {
  /** PUBLIC_URL, where /t/c, /t/o and /s are served. */
  publicUrl: string;
  key: Buffer;
  workspaceId: string;
  messageId: string;
}

export interface TrackedLink {
  index: number;
  url: string;
}

const ANCHOR = /<a\b[^>]*>/gi;
const HREF = /(\shref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const URL_IN_TEXT = /https?:\/\/[^\s<>"'\])]+/g;

const decodeAttribute = (value: string) =>
  value
    .replaceAll("&amp;", "&")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">");
const encodeAttribute = (value: string) => value.replaceAll("&", "&amp;").replaceAll('"', "&quot;");

function trackable(url: string, publicUrl: string): boolean {
  return (
    /^https?:\/\//i.test(url) &&
    !url.startsWith(`${publicUrl}/`) &&
    Buffer.byteLength(url) <= MAX_TRACKED_URL_BYTES &&
    URL.canParse(url)
  );
}

export function clickUrl(target: TrackingTarget, index: number, url: string): string {
  return `${target.publicUrl}/t/c/${clickToken(target.key, { workspaceId: target.workspaceId, messageId: target.messageId, index, url })}`;
}

export function openPixelUrl(target: TrackingTarget): string {
  return `${target.publicUrl}/t/o/${openToken(target.key, { workspaceId: target.workspaceId, messageId: target.messageId })}`;
}

/** Rewrites an email's links and adds its open pixel; the text part's copies of the links follow. */
export function trackEmail(
  html: string,
  text: string,
  target: TrackingTarget,
): { html: string; text: string; links: TrackedLink[] } {
  const links: TrackedLink[] = [];
  const trackedByUrl = new Map<string, string>();
  const rewritten = html.replace(ANCHOR, (tag) => {
    if (/\sdata-notrack\b/i.test(tag)) return tag;
    const href = HREF.exec(tag);
    if (!href) return tag;
    const url = decodeAttribute((href[3] ?? href[4] ?? href[5] ?? "").trim());
    if (!trackable(url, target.publicUrl)) return tag;
    const index = links.length;
    links.push({ index, url });
    const tracked = clickUrl(target, index, url);
    if (!trackedByUrl.has(url)) trackedByUrl.set(url, tracked);
    return `${tag.slice(0, href.index)}${href[1]}"${encodeAttribute(tracked)}"${tag.slice(href.index + href[0].length)}`;
  });
  const pixel = `<img src="${openPixelUrl(target)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  const end = rewritten.lastIndexOf("</body>");
  const withPixel =
    end === -1 ? `${rewritten}${pixel}` : `${rewritten.slice(0, end)}${pixel}${rewritten.slice(end)}`;
  const trackedText = text.replace(URL_IN_TEXT, (url) => trackedByUrl.get(url) ?? url);
  return { html: withPixel, text: trackedText, links };
}

/** The short links of an SMS body: each http(s) URL → `${publicUrl}/s/<code>`, with what to store. */
export function trackSms(
  body: string,
  target: TrackingTarget,
): { body: string; links: { code: string; url: string }[] } {
  const links: { code: string; url: string }[] = [];
  const tracked = body.replace(URL_IN_TEXT, (raw) => {
    // A sentence's full stop or comma is not part of the link.
    const url = raw.replace(/[.,;:!?]+$/, "");
    if (!trackable(url, target.publicUrl)) return raw;
    const code = shortLinkCode(target.key, target.messageId, url);
    if (!links.some((l) => l.code === code)) links.push({ code, url });
    return `${target.publicUrl}/s/${code}${raw.slice(url.length)}`;
  });
  return { body: tracked, links };
}
