/**
 * Unsubscribe links and the preference centre: a GET never unsubscribes, an RFC 8058 one-click POST
 * does at once, the confirmation page's button does too; tokens last more than 30 days and no longer
 * than UNSUBSCRIBE_LINK_DAYS; a token reaches only its own workspace's contact.
 */
import { deriveKeys, TEST_KEYS } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { openToken, type TokenChannel, unsubscribeToken } from "@omneural/core/tracking/tokens";
import type { LightMyRequestResponse } from "fastify";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";
import { UNSUBSCRIBE_LINK_DAYS } from "./routes.ts";

const t = useTestApp();
const KEY = TEST_KEYS.links;
const DAY = 86_400_000;
const FORM = { "content-type": "application/x-www-form-urlencoded" };

interface Consents {
  email_consent: string;
  sms_consent: string;
  mail_consent: string;
}

async function newContact(workspaceId: string, consents: Partial<Consents> = {}): Promise<string> {
  const id = uuidv7();
  await sql`
    insert into contacts (workspace_id, id, email, phone, email_consent, sms_consent, mail_consent)
    values (${workspaceId}, ${id}, ${`${id}@example.com`}, null, ${consents.email_consent ?? "subscribed"},
            ${consents.sms_consent ?? "subscribed"}, ${consents.mail_consent ?? "never_asked"})`.execute(
    t.database.handle.db,
  );
  return id;
}

async function consentsOf(workspaceId: string, contactId: string): Promise<Consents | undefined> {
  const { rows } = await sql<Consents>`
    select email_consent, sms_consent, mail_consent from contacts
    where workspace_id = ${workspaceId} and id = ${contactId}`.execute(t.database.handle.db);
  return rows[0];
}

async function ledgerOf(workspaceId: string, contactId: string) {
  const { rows } = await sql<{
    channel: string;
    status: string;
    previous_status: string | null;
    source: string;
  }>`
    select channel, status, previous_status, source from consent_changes
    where workspace_id = ${workspaceId} and contact_id = ${contactId} order by id`.execute(
    t.database.handle.db,
  );
  return rows;
}

function tokenFor(
  workspaceId: string,
  contactId: string,
  options: { channel?: TokenChannel; issuedAt?: Date; key?: Buffer } = {},
) {
  return unsubscribeToken(options.key ?? KEY, {
    workspaceId,
    contactId,
    messageId: null,
    channel: options.channel ?? "email",
    issuedAt: options.issuedAt ?? new Date(),
  });
}

function expectPage(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode).toBe(status);
  expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(res.headers["referrer-policy"]).toBe("no-referrer");
  expect(res.headers["x-content-type-options"]).toBe("nosniff");
  expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(res.headers["cache-control"]).toContain("no-store");
  expect(res.body).not.toMatch(/<script|https?:\/\/(?!omneural\.test)/);
}

const recordedSince = (mark: number) => t.responses.recorded.slice(mark);

describe("GET /u/{token}", () => {
  it("shows a confirmation page with a button and a link to the preferences, and never unsubscribes", async () => {
    const contactId = await newContact(t.a.id);
    const token = tokenFor(t.a.id, contactId);
    const mark = t.responses.recorded.length;
    for (let i = 0; i < 3; i++) {
      const res = await t.anonymous({ method: "GET", url: `/u/${token}` });
      expectPage(res, 200);
      expect(res.body).toContain("Unsubscribe?");
      expect(res.body).toContain("emails from Acme");
      expect(res.body).toContain('<form method="post">');
      expect(res.body).toContain('<button type="submit">Unsubscribe</button>');
      expect(res.body).toContain(`href="http://omneural.test/u/${token}/preferences"`);
    }
    const head = await t.anonymous({ method: "HEAD", url: `/u/${token}` });
    expect(head.statusCode).toBe(200);
    expect(recordedSince(mark)).toEqual([]);
    await t.responses.flush();
    expect(await consentsOf(t.a.id, contactId)).toMatchObject({ email_consent: "subscribed" });
    expect(await ledgerOf(t.a.id, contactId)).toEqual([]);
  });

  it("names the channel of the link", async () => {
    const contactId = await newContact(t.a.id);
    const res = await t.anonymous({
      method: "GET",
      url: `/u/${tokenFor(t.a.id, contactId, { channel: "sms" })}`,
    });
    expect(res.body).toContain("text messages from Acme");
  });
});

describe("POST /u/{token}", () => {
  it("unsubscribes at once on an RFC 8058 one-click post, answering 200 with a short body", async () => {
    const contactId = await newContact(t.a.id);
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${tokenFor(t.a.id, contactId)}`,
      headers: { ...FORM, "user-agent": "Gmail one-click" },
      payload: "List-Unsubscribe=One-Click",
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.body.length).toBeLessThan(100);
    expect(recordedSince(mark)).toMatchObject([
      {
        workspaceId: t.a.id,
        contactId,
        messageId: null,
        kind: "unsubscribed",
        properties: { channel: "email", via: "one-click", method: "POST", userAgent: "Gmail one-click" },
      },
    ]);
    // The writer applies the consent change, with its ledger row.
    await t.responses.flush();
    expect(await consentsOf(t.a.id, contactId)).toMatchObject({
      email_consent: "unsubscribed",
      sms_consent: "subscribed",
    });
    expect(await ledgerOf(t.a.id, contactId)).toMatchObject([
      { channel: "email", status: "unsubscribed", previous_status: "subscribed" },
    ]);
  });

  it("takes the one-click post as multipart/form-data too", async () => {
    const contactId = await newContact(t.a.id);
    const boundary = "----mailbox-provider-7MA4YWxk";
    const payload = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="List-Unsubscribe"',
      "",
      "One-Click",
      `--${boundary}--`,
      "",
    ].join("\r\n");
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${tokenFor(t.a.id, contactId)}`,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      payload,
    });
    expect(res.statusCode).toBe(200);
    expect(recordedSince(mark)).toMatchObject([
      { contactId, kind: "unsubscribed", properties: { via: "one-click" } },
    ]);
  });

  it("unsubscribes from the confirmation page's button and shows a done page", async () => {
    const contactId = await newContact(t.a.id);
    const token = tokenFor(t.a.id, contactId);
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${token}`,
      headers: FORM,
      payload: "confirm=unsubscribe",
    });
    expectPage(res, 200);
    expect(res.body).toContain("You are unsubscribed");
    expect(res.body).toContain(`href="http://omneural.test/u/${token}/preferences"`);
    expect(recordedSince(mark)).toMatchObject([
      { contactId, kind: "unsubscribed", properties: { via: "page" } },
    ]);
    await t.responses.flush();
    expect(await consentsOf(t.a.id, contactId)).toMatchObject({ email_consent: "unsubscribed" });
  });

  it("refuses a post that is neither, without unsubscribing", async () => {
    const contactId = await newContact(t.a.id);
    const url = `/u/${tokenFor(t.a.id, contactId)}`;
    const mark = t.responses.recorded.length;
    for (const [headers, payload] of [
      [FORM, ""],
      [FORM, "List-Unsubscribe=Maybe"],
      [{ "content-type": "application/json" }, '{"List-Unsubscribe":"One-Click"}'],
      [{ "content-type": "application/json" }, "{not json"],
      [{ "content-type": "text/xml" }, "<unsubscribe/>"],
    ] as const) {
      const res = await t.anonymous({ method: "POST", url, headers, payload });
      expectPage(res, 400);
    }
    const huge = await t.anonymous({
      method: "POST",
      url,
      headers: FORM,
      payload: `List-Unsubscribe=One-Click&x=${"a".repeat(100_000)}`,
    });
    expectPage(huge, 413);
    expect(recordedSince(mark)).toEqual([]);
  });
});

describe("unsubscribe tokens", () => {
  it("stay valid for more than 30 days, up to the limit, and then show an expired page", async () => {
    const contactId = await newContact(t.a.id);
    const old = tokenFor(t.a.id, contactId, { issuedAt: new Date(Date.now() - 45 * DAY) });
    expectPage(await t.anonymous({ method: "GET", url: `/u/${old}` }), 200);
    const nearLimit = tokenFor(t.a.id, contactId, {
      issuedAt: new Date(Date.now() - (UNSUBSCRIBE_LINK_DAYS - 1) * DAY),
    });
    expectPage(await t.anonymous({ method: "GET", url: `/u/${nearLimit}/preferences` }), 200);

    const expired = tokenFor(t.a.id, contactId, {
      issuedAt: new Date(Date.now() - (UNSUBSCRIBE_LINK_DAYS + 1) * DAY),
    });
    const mark = t.responses.recorded.length;
    for (const res of [
      await t.anonymous({ method: "GET", url: `/u/${expired}` }),
      await t.anonymous({
        method: "POST",
        url: `/u/${expired}`,
        headers: FORM,
        payload: "List-Unsubscribe=One-Click",
      }),
      await t.anonymous({ method: "GET", url: `/u/${expired}/preferences` }),
      await t.anonymous({
        method: "POST",
        url: `/u/${expired}/preferences`,
        headers: FORM,
        payload: "save=preferences",
      }),
    ]) {
      expectPage(res, 410);
      expect(res.body).toContain("This link has expired");
    }
    expect(recordedSince(mark)).toEqual([]);
  });

  it("answers forged, truncated and other tokens with a harmless page and changes nothing", async () => {
    const contactId = await newContact(t.a.id);
    const good = tokenFor(t.a.id, contactId);
    const bad = [
      tokenFor(t.a.id, contactId, { key: deriveKeys("someone else's secret").links }),
      good.slice(0, -2),
      // One character changed (to another one: a token whose 11th character is already "x" stays valid).
      `${good.slice(0, 10)}${good[10] === "x" ? "y" : "x"}${good.slice(11)}`,
      openToken(KEY, { workspaceId: t.a.id, messageId: uuidv7() }),
      tokenFor(t.a.id, contactId, { channel: "ads" }),
      "garbage",
    ];
    const mark = t.responses.recorded.length;
    for (const token of bad) {
      for (const res of [
        await t.anonymous({ method: "GET", url: `/u/${token}` }),
        await t.anonymous({
          method: "POST",
          url: `/u/${token}`,
          headers: FORM,
          payload: "List-Unsubscribe=One-Click",
        }),
        await t.anonymous({ method: "GET", url: `/u/${token}/preferences` }),
        await t.anonymous({
          method: "POST",
          url: `/u/${token}/preferences`,
          headers: FORM,
          payload: "save=preferences",
        }),
      ]) {
        expectPage(res, 404);
        expect(res.body).toContain("This link is not valid");
      }
    }
    expect(recordedSince(mark)).toEqual([]);
    await t.responses.flush();
    expect(await consentsOf(t.a.id, contactId)).toMatchObject({
      email_consent: "subscribed",
      sms_consent: "subscribed",
    });
  });
});

describe("the preference centre", () => {
  let contactId: string;
  let token: string;
  beforeAll(async () => {
    contactId = await newContact(t.a.id, {
      email_consent: "subscribed",
      sms_consent: "subscribed",
      mail_consent: "never_asked",
    });
    token = tokenFor(t.a.id, contactId);
  });

  it("shows the contact's channels as checkboxes, as stored", async () => {
    const res = await t.anonymous({ method: "GET", url: `/u/${token}/preferences` });
    expectPage(res, 200);
    expect(res.body).toContain("What would you like to receive from Acme?");
    expect(res.body).toContain('name="email" value="on" checked');
    expect(res.body).toContain('name="sms" value="on" checked');
    // Direct mail goes to contacts never asked, so its box is ticked too.
    expect(res.body).toContain('name="mail" value="on" checked');
    expect(res.body).toContain('<form method="post">');
  });

  it("saves the boxes as consents, each change with its ledger row", async () => {
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${token}/preferences`,
      headers: FORM,
      payload: "save=preferences&email=on",
    });
    expectPage(res, 200);
    expect(res.body).toContain("Your preferences are saved.");
    expect(res.body).toContain('name="email" value="on" checked');
    expect(res.body).toContain('name="sms" value="on">');
    expect(await consentsOf(t.a.id, contactId)).toEqual({
      email_consent: "subscribed",
      sms_consent: "unsubscribed",
      mail_consent: "unsubscribed",
    });
    expect(await ledgerOf(t.a.id, contactId)).toEqual([
      { channel: "sms", status: "unsubscribed", previous_status: "subscribed", source: "preference_centre" },
      {
        channel: "mail",
        status: "unsubscribed",
        previous_status: "never_asked",
        source: "preference_centre",
      },
    ]);

    // Ticking SMS again subscribes it; saving the same boxes twice changes nothing more.
    for (let i = 0; i < 2; i++) {
      await t.anonymous({
        method: "POST",
        url: `/u/${token}/preferences`,
        headers: FORM,
        payload: "save=preferences&email=on&sms=on",
      });
    }
    expect(await consentsOf(t.a.id, contactId)).toMatchObject({
      sms_consent: "subscribed",
      mail_consent: "unsubscribed",
    });
    expect(await ledgerOf(t.a.id, contactId)).toHaveLength(3);
  });

  it("keeps a bounced address bounced unless its box is ticked", async () => {
    const bounced = await newContact(t.a.id, { email_consent: "bounced", sms_consent: "subscribed" });
    const url = `/u/${tokenFor(t.a.id, bounced)}/preferences`;
    const page = await t.anonymous({ method: "GET", url });
    expect(page.body).toContain('name="email" value="on">');
    await t.anonymous({ method: "POST", url, headers: FORM, payload: "save=preferences&sms=on&mail=on" });
    expect(await consentsOf(t.a.id, bounced)).toMatchObject({
      email_consent: "bounced",
      sms_consent: "subscribed",
    });
    expect(await ledgerOf(t.a.id, bounced)).toEqual([]);
  });

  it("refuses another workspace's contact: the token is bound to its workspace", async () => {
    const theirs = await newContact(t.b.id);
    // A's link (signed, valid) naming B's contact finds nobody in A.
    const crossed = tokenFor(t.a.id, theirs);
    expectPage(await t.anonymous({ method: "GET", url: `/u/${crossed}/preferences` }), 404);
    const post = await t.anonymous({
      method: "POST",
      url: `/u/${crossed}/preferences`,
      headers: FORM,
      payload: "save=preferences",
    });
    expectPage(post, 404);
    expect(await consentsOf(t.b.id, theirs)).toMatchObject({
      email_consent: "subscribed",
      sms_consent: "subscribed",
    });
    expect(await ledgerOf(t.b.id, theirs)).toEqual([]);
    // The form cannot name a contact: only the token does.
    const mine = await newContact(t.a.id);
    await t.anonymous({
      method: "POST",
      url: `/u/${tokenFor(t.a.id, mine)}/preferences`,
      headers: FORM,
      payload: `save=preferences&contactId=${theirs}&workspaceId=${t.b.id}`,
    });
    expect(await consentsOf(t.b.id, theirs)).toMatchObject({ email_consent: "subscribed" });
    expect(await consentsOf(t.a.id, mine)).toMatchObject({ email_consent: "unsubscribed" });
  });

  it("refuses a post without the form's marker", async () => {
    expectPage(
      await t.anonymous({
        method: "POST",
        url: `/u/${token}/preferences`,
        headers: FORM,
        payload: "email=on",
      }),
      400,
    );
  });

  it("escapes the workspace's name", async () => {
    await sql`update workspaces set name = ${"<img src=x onerror=alert(1)> & Sons"} where id = ${t.b.id}`.execute(
      t.database.handle.db,
    );
    const theirs = await newContact(t.b.id);
    const res = await t.anonymous({ method: "GET", url: `/u/${tokenFor(t.b.id, theirs)}/preferences` });
    expect(res.body).toContain("&lt;img src=x onerror=alert(1)&gt; &amp; Sons");
    expect(res.body).not.toContain("<img");
    const page = await t.anonymous({ method: "GET", url: `/u/${tokenFor(t.b.id, theirs)}` });
    expect(page.body).not.toContain("<img");
  });
});
