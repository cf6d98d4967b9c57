/**
 * The open pixel, click redirects, SMS short links and PURL visits: what each answers, what it hands the
 * response writer, and that no token or code can make it redirect anywhere the message did not point.
 */

import { createDevInboxEmailChannel, createDevInboxMailChannel } from "@omneural/core/delivery/dev-inbox";
import { insertShortLinks } from "@omneural/core/delivery/dispatch.repository";
import { dispatchBatch } from "@omneural/core/delivery/dispatcher";
import { deriveKeys, TEST_KEYS } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { TEST_LINKS } from "@omneural/core/testing/campaigns";
import { ADDRESS, mailTemplate, mailWorkspace, queueMail } from "@omneural/core/testing/mail";
import { clickToken, openToken, shortLinkCode, unsubscribeToken } from "@omneural/core/tracking/tokens";
import type { LightMyRequestResponse } from "fastify";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";
import { PIXEL_GIF } from "./links.ts";

const t = useTestApp();
const KEY = TEST_KEYS.links;
const OTHER_KEY = deriveKeys("another installation's secret").links;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BROWSER =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15";

const recordedSince = (mark: number) => t.responses.recorded.slice(mark);

/** A page that says the link is not valid: 404, HTML, no redirect, nothing of the token echoed. */
function expectHarmlessPage(res: LightMyRequestResponse, status = 404) {
  expect(res.statusCode).toBe(status);
  expect(res.headers.location).toBeUndefined();
  expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(res.body).toContain("This link is not valid");
  expect(res.body).not.toMatch(/evil|<script/i);
  expectPageHeaders(res);
}

function expectPageHeaders(res: LightMyRequestResponse) {
  expect(res.headers["referrer-policy"]).toBe("no-referrer");
  expect(res.headers["x-content-type-options"]).toBe("nosniff");
  expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
  expect(res.headers["x-frame-options"]).toBe("DENY");
}

/** Tokens a forger could try: another key, cut short, one character changed, and plain garbage. */
function forgeries(good: string, forgedWithOtherKey: string): string[] {
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  return [
    forgedWithOtherKey,
    good.slice(0, -1),
    good.slice(0, 30),
    flip(good, 5),
    flip(good, good.length - 3),
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "not-a-token",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "..%2F..%2Fetc%2Fpasswd",
    `${good}AAAA`,
  ];
}

describe("GET /t/o/{token}", () => {
  it("answers a transparent GIF that is never cached and records an open from the request alone", async () => {
    const messageId = uuidv7();
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "GET",
      url: `/t/o/${openToken(KEY, { workspaceId: t.a.id, messageId })}`,
      headers: { "user-agent": BROWSER },
      remoteAddress: "203.0.113.7",
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("image/gif");
    expect(res.rawPayload.equals(PIXEL_GIF)).toBe(true);
    expect(res.headers["cache-control"]).toContain("no-store");
    expect(res.headers.pragma).toBe("no-cache");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    const [open, ...rest] = recordedSince(mark);
    expect(rest).toEqual([]);
    expect(open).toMatchObject({
      workspaceId: t.a.id,
      messageId,
      kind: "opened",
      properties: { userAgent: BROWSER, method: "GET", ip: "203.0.113.7" },
    });
    expect(open!.id).toMatch(UUID_V7);
    expect(Math.abs(open!.at.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("answers the same GIF to a bad token and records nothing", async () => {
    const good = openToken(KEY, { workspaceId: t.a.id, messageId: uuidv7() });
    const other = openToken(OTHER_KEY, { workspaceId: t.a.id, messageId: uuidv7() });
    const click = clickToken(KEY, {
      workspaceId: t.a.id,
      messageId: uuidv7(),
      index: 0,
      url: "https://a.example/",
    });
    const mark = t.responses.recorded.length;
    for (const token of [...forgeries(good, other), click]) {
      const res = await t.anonymous({ method: "GET", url: `/t/o/${token}` });
      expect(res.statusCode, token).toBe(200);
      expect(res.headers["content-type"]).toBe("image/gif");
      expect(res.rawPayload.equals(PIXEL_GIF)).toBe(true);
    }
    expect(recordedSince(mark)).toEqual([]);
  });
});

describe("GET /t/c/{token}", () => {
  it("redirects to the URL in the token and records the click with the request's facts", async () => {
    const messageId = uuidv7();
    const url = "https://shop.example/sale?utm_source=omneural&q=caf%C3%A9#top";
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "GET",
      url: `/t/c/${clickToken(KEY, { workspaceId: t.a.id, messageId, index: 2, url })}`,
      headers: { "user-agent": BROWSER },
      remoteAddress: "198.51.100.4",
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(url);
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["cache-control"]).toContain("no-store");
    const [click] = recordedSince(mark);
    expect(click).toMatchObject({
      workspaceId: t.a.id,
      messageId,
      kind: "clicked",
      properties: { url, index: 2, userAgent: BROWSER, method: "GET", ip: "198.51.100.4" },
    });
    expect(click!.id).toMatch(UUID_V7);
  });

  it("follows a HEAD the same way and records its method, so link scanners can be told apart", async () => {
    const messageId = uuidv7();
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "HEAD",
      url: `/t/c/${clickToken(KEY, { workspaceId: t.a.id, messageId, index: 0, url: "https://a.example/x" })}`,
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("https://a.example/x");
    expect(recordedSince(mark)).toMatchObject([
      { kind: "clicked", messageId, properties: { method: "HEAD" } },
    ]);
  });

  it("carries a long link (up to the 2,000 bytes a token may hold)", async () => {
    const url = `https://long.example/?q=${"x".repeat(1_960)}`;
    const res = await t.anonymous({
      method: "GET",
      url: `/t/c/${clickToken(KEY, { workspaceId: t.a.id, messageId: uuidv7(), index: 0, url })}`,
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(url);
  });

  it("answers forged, truncated and altered tokens with a harmless page, never a redirect", async () => {
    const good = clickToken(KEY, {
      workspaceId: t.a.id,
      messageId: uuidv7(),
      index: 0,
      url: "https://shop.example/",
    });
    const forged = clickToken(OTHER_KEY, {
      workspaceId: t.a.id,
      messageId: uuidv7(),
      index: 0,
      url: "https://evil.example/phish",
    });
    const mark = t.responses.recorded.length;
    for (const token of forgeries(good, forged)) {
      const res = await t.anonymous({ method: "GET", url: `/t/c/${token}` });
      expectHarmlessPage(res);
    }
    // Tokens of the other kinds are not click tokens.
    for (const token of [
      openToken(KEY, { workspaceId: t.a.id, messageId: uuidv7() }),
      unsubscribeToken(KEY, {
        workspaceId: t.a.id,
        contactId: uuidv7(),
        messageId: null,
        channel: "email",
        issuedAt: new Date(),
      }),
    ]) {
      expectHarmlessPage(await t.anonymous({ method: "GET", url: `/t/c/${token}` }));
    }
    // Longer than any token: refused by the router before it is looked at.
    const huge = await t.anonymous({ method: "GET", url: `/t/c/${"A".repeat(6000)}` });
    expect(huge.statusCode).toBe(414);
    expect(huge.headers.location).toBeUndefined();
    expect(recordedSince(mark)).toEqual([]);
  });

  it("never redirects to anything but a web URL, even one the key signed", async () => {
    for (const url of [
      "javascript:alert(document.cookie)",
      "data:text/html,<script>evil()</script>",
      "ftp://evil.example/",
      "//evil.example",
      "not a url",
    ]) {
      const token = clickToken(KEY, { workspaceId: t.a.id, messageId: uuidv7(), index: 0, url });
      expectHarmlessPage(await t.anonymous({ method: "GET", url: `/t/c/${token}` }));
    }
  });
});

describe("GET /s/{code}", () => {
  it("redirects a short link to its URL, records the click, and serves a hot code without the database", async () => {
    const db = t.database.handle.db;
    const messageId = uuidv7();
    const url = "https://shop.example/sms-offer";
    const code = shortLinkCode(KEY, messageId, url);
    await insertShortLinks(db, t.a.id, messageId, [{ code, url }]);
    const mark = t.responses.recorded.length;
    const first = await t.anonymous({ method: "GET", url: `/s/${code}`, headers: { "user-agent": BROWSER } });
    expect(first.statusCode).toBe(302);
    expect(first.headers.location).toBe(url);
    expect(first.headers["referrer-policy"]).toBe("no-referrer");
    expect(recordedSince(mark)).toMatchObject([
      {
        workspaceId: t.a.id,
        messageId,
        kind: "clicked",
        properties: { url, shortCode: code, userAgent: BROWSER, method: "GET" },
      },
    ]);
    // The row is gone from the database, yet the cached code still answers: no round trip.
    await sql`delete from short_links where code = ${code}`.execute(db);
    const again = await t.anonymous({ method: "HEAD", url: `/s/${code}` });
    expect(again.statusCode).toBe(302);
    expect(again.headers.location).toBe(url);
    expect(recordedSince(mark)).toHaveLength(2);
    expect(recordedSince(mark)[1]).toMatchObject({ kind: "clicked", properties: { method: "HEAD" } });
  });

  it("answers unknown and malformed codes with a harmless page", async () => {
    const mark = t.responses.recorded.length;
    for (const code of [
      shortLinkCode(KEY, uuidv7(), "https://never.example/"),
      "short",
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "%3Cscript%3E",
      "abc.def.ghi.jkl.mno",
    ]) {
      expectHarmlessPage(await t.anonymous({ method: "GET", url: `/s/${code}` }));
    }
    expect(recordedSince(mark)).toEqual([]);
  });

  it("does not redirect to a stored link that is not a web URL", async () => {
    const messageId = uuidv7();
    const url = "javascript:alert(1)";
    const code = shortLinkCode(KEY, messageId, url);
    await insertShortLinks(t.database.handle.db, t.a.id, messageId, [{ code, url }]);
    expectHarmlessPage(await t.anonymous({ method: "GET", url: `/s/${code}` }));
  });
});

describe("GET /r/{code}", () => {
  it("shows the workspace's landing page for a printed PURL and records the visit", async () => {
    const db = t.database.handle.db;
    const ws = await mailWorkspace(db);
    await sql`update workspaces set name = ${'Acme <Books> & "Co"'} where id = ${ws.id}`.execute(db);
    const templateId = await mailTemplate(db, ws, "postcard");
    const sentAt = new Date(Date.now() - 3 * 86_400_000);
    const { contacts } = await queueMail(db, ws, templateId, [{ firstName: "Ada", ...ADDRESS }], sentAt);
    const dispatched = await dispatchBatch(db, "mail", {
      links: TEST_LINKS,
      channels: { email: createDevInboxEmailChannel(db), mail: createDevInboxMailChannel(db) },
      now: new Date(sentAt.getTime() + 60_000),
    });
    expect(dispatched).toMatchObject({ sent: 1 });
    const { rows } = await sql<{ message_id: string; purl: string }>`
      select message_id, content->>'purl' as purl from outbox where workspace_id = ${ws.id}`.execute(db);
    const { message_id: messageId, purl } = rows[0]!;
    const code = purl.slice("http://omneural.test/r/".length);

    const mark = t.responses.recorded.length;
    const res = await t.anonymous({ method: "GET", url: `/r/${code}`, headers: { "user-agent": BROWSER } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.body).toContain("Acme &lt;Books&gt; &amp; &quot;Co&quot;");
    expect(res.body).not.toContain("<Books>");
    expectPageHeaders(res);
    // Typed from paper: lower case, a hyphen, O for 0.
    const typed = `${code.slice(0, 5).toLowerCase()}-${code.slice(5)}`.replaceAll("0", "O");
    expect((await t.anonymous({ method: "GET", url: `/r/${typed}` })).statusCode).toBe(200);

    const visits = recordedSince(mark);
    expect(visits).toHaveLength(2);
    expect(visits[0]).toMatchObject({
      workspaceId: ws.id,
      messageId,
      contactId: contacts.get("Ada"),
      kind: "purl_visited",
      properties: { code, userAgent: BROWSER, method: "GET" },
    });
    // The writer makes it an event of the member's, tied to the piece they were sent.
    await t.responses.flush();
    const { rows: events } = await sql<{ type: string; contact_id: string }>`
      select type, contact_id from events where workspace_id = ${ws.id} and id = ${visits[0]!.id}`.execute(
      db,
    );
    expect(events).toEqual([{ type: "message.purl_visited", contact_id: contacts.get("Ada") }]);
  });

  it("answers unknown and malformed codes with a harmless page", async () => {
    const mark = t.responses.recorded.length;
    for (const code of [
      "0000000000",
      "ZZZZZZZZZZ",
      "short",
      "UUUUUUUUUU",
      "%3Cscript%3Eevil",
      "A".repeat(90),
    ]) {
      expectHarmlessPage(await t.anonymous({ method: "GET", url: `/r/${code}` }));
    }
    expect(recordedSince(mark)).toEqual([]);
  });
});
