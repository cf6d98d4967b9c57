/**
 * Twilio's webhooks end to end: texts go out through a Twilio-compatible API on loopback (so the ledger
 * holds real message sids and the StatusCallback we register), then Twilio's inbound and status posts
 * come back signed the way Twilio signs them.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import { createDevInboxEmailChannel } from "@omneural/core/delivery/dev-inbox";
import { dispatchBatch } from "@omneural/core/delivery/dispatcher";
import { setProvider } from "@omneural/core/delivery/provider.service";
import { setSender } from "@omneural/core/delivery/sender.service";
import { createTwilioSmsChannel } from "@omneural/core/delivery/twilio-sms-channel";
import { SMS_KEYWORDS, twilioSignature } from "@omneural/core/responses/inbound-sms";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { createTemplate } from "@omneural/core/templates/template.service";
import { queueOneSend, TEST_LINKS } from "@omneural/core/testing/campaigns";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";
import { buildApp } from "../app.ts";

const ACCOUNT_SID = "AC00000000000000000000000000000001";
const INSTALLATION_TOKEN = "installation-auth-token-0123456789";
const t = useTestApp({ TWILIO_URL: `https://${ACCOUNT_SID}:${INSTALLATION_TOKEN}@api.twilio.test` });
const PUBLIC_URL = "http://omneural.test";
const A_NUMBER = "+14155550100";
const B_NUMBER = "+442079460100";
// 11:00 in New York, 16:00 in London: inside SMS sending hours in both workspaces.
const T0 = new Date("2026-03-02T16:00:00Z");

let wsA: WorkspaceContext;
let wsB: WorkspaceContext;

/** A Twilio-compatible Messages API on loopback: every text is accepted with a fresh sid. */
const twilioApi: { server?: Server; baseUrl: string; sent: URLSearchParams[] } = { baseUrl: "", sent: [] };

beforeAll(async () => {
  twilioApi.server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      raw += chunk;
    });
    req.on("end", () => {
      twilioApi.sent.push(new URLSearchParams(raw));
      res.writeHead(201, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ sid: `SM${randomBytes(16).toString("hex")}`, status: "queued" }));
    });
  });
  await new Promise<void>((resolve) => twilioApi.server!.listen(0, "127.0.0.1", resolve));
  twilioApi.baseUrl = `http://127.0.0.1:${(twilioApi.server.address() as AddressInfo).port}`;

  wsA = { id: t.a.id, defaultCountry: "US", defaultTimezone: "America/New_York" };
  wsB = { id: t.b.id, defaultCountry: "GB", defaultTimezone: "Europe/London" };
  const sender = { fromAddress: "news@example.com", postalAddress: "1 High Street, Springfield" };
  await setSender(t.database.handle.db, wsA, { ...sender, smsFrom: A_NUMBER });
  await setSender(t.database.handle.db, wsB, { ...sender, smsFrom: B_NUMBER });
});
afterAll(async () => {
  await new Promise<void>((resolve) =>
    twilioApi.server ? twilioApi.server.close(() => resolve()) : resolve(),
  );
});

const db = () => t.database.handle.db;

async function newContact(ws: WorkspaceContext, phone: string, smsConsent = "subscribed") {
  const { rows } = await sql<{ id: string }>`
    insert into contacts (workspace_id, id, phone, first_name, sms_consent)
    values (${ws.id}, gen_random_uuid(), ${phone}, 'Ada', ${smsConsent}) returning id`.execute(db());
  return rows[0]!.id;
}

let phoneCounter = 0;
/** A fresh US number for each contact, so tests do not share people. */
const newPhone = () => `+1415555${String(2000 + phoneCounter++).padStart(4, "0")}`;

const consentOf = async (ws: WorkspaceContext, contactId: string) =>
  (
    await sql<{ sms_consent: string }>`
      select sms_consent from contacts where workspace_id = ${ws.id} and id = ${contactId}`.execute(db())
  ).rows[0]?.sms_consent;

/** Sends one SMS campaign to `contactIds` through the loopback Twilio API; returns the ledger rows. */
async function sendSms(ws: WorkspaceContext, contactIds: string[], at = T0) {
  const template = await createTemplate(db(), ws, {
    name: `sms ${randomBytes(4).toString("hex")}`,
    channel: "sms",
    content: { body: "Spring sale today" },
  });
  const campaign = await queueOneSend(db(), ws, contactIds, { channel: "sms", templateId: template.id }, at);
  const sms = createTwilioSmsChannel({
    baseUrl: twilioApi.baseUrl,
    accountSid: ACCOUNT_SID,
    authToken: INSTALLATION_TOKEN,
    statusCallbackUrl: `${PUBLIC_URL}/hooks/twilio/status`,
  });
  await dispatchBatch(db(), "sms", {
    links: TEST_LINKS,
    channels: { email: createDevInboxEmailChannel(db()), sms },
    now: new Date(at.getTime() + 60_000),
  });
  const { rows } = await sql<{
    id: string;
    contact_id: string;
    status: string;
    reason: string | null;
    provider_message_id: string | null;
  }>`
    select id, contact_id, status, reason, provider_message_id from messages
    where workspace_id = ${ws.id} and campaign_id = ${campaign.id} order by contact_id`.execute(db());
  return rows;
}

/** The parameters Twilio posts for an inbound text. */
function inbound(to: string, from: string, body: string): [string, string][] {
  const sid = `SM${randomBytes(16).toString("hex")}`;
  return [
    ["ToCountry", "US"],
    ["SmsMessageSid", sid],
    ["NumMedia", "0"],
    ["SmsSid", sid],
    ["SmsStatus", "received"],
    ["Body", body],
    ["To", to],
    ["NumSegments", "1"],
    ["MessageSid", sid],
    ["AccountSid", ACCOUNT_SID],
    ["From", from],
    ["ApiVersion", "2010-04-01"],
  ];
}

function statusCallback(sid: string, to: string, status: string, errorCode?: string): [string, string][] {
  return [
    ["SmsSid", sid],
    ["SmsStatus", status],
    ["MessageStatus", status],
    ["To", to],
    ["MessageSid", sid],
    ["AccountSid", ACCOUNT_SID],
    ["From", A_NUMBER],
    ["ApiVersion", "2010-04-01"],
    ...(errorCode ? ([["ErrorCode", errorCode]] as [string, string][]) : []),
  ];
}

/** Posts as Twilio does: form-encoded, signed over PUBLIC_URL + path and the parameters. */
function postTwilio(
  path: string,
  params: [string, string][],
  options: { token?: string; signature?: string | null; app?: typeof t.app } = {},
) {
  const signature =
    options.signature === undefined
      ? twilioSignature(options.token ?? INSTALLATION_TOKEN, `${PUBLIC_URL}${path}`, params)
      : options.signature;
  return (options.app ?? t.app).inject({
    method: "POST",
    url: path,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(signature === null ? {} : { "x-twilio-signature": signature }),
    },
    payload: new URLSearchParams(params).toString(),
  });
}

const XML = '<?xml version="1.0" encoding="UTF-8"?>';
const messagesIn = (twiml: string) => [...twiml.matchAll(/<Message>([^<]*)<\/Message>/g)].map((m) => m[1]);

describe("POST /hooks/twilio/inbound: keywords", () => {
  const spellings = (word: string) => [
    word,
    word.toLowerCase(),
    `  ${word[0]}${word.slice(1).toLowerCase()} `,
  ];

  it("opts the sender out on every STOP keyword, in any case and spacing, with one confirmation text", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone);
    for (const word of SMS_KEYWORDS.stop) {
      for (const text of spellings(word)) {
        await sql`update contacts set sms_consent = 'subscribed' where id = ${contactId}`.execute(db());
        const response = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, phone, text));
        expect(response.statusCode, text).toBe(200);
        expect(response.headers["content-type"]).toBe("text/xml; charset=utf-8");
        expect(messagesIn(response.body), text).toEqual([
          "Acme: You are unsubscribed and will get no more messages. Reply START to opt back in.",
        ]);
        expect(await consentOf(wsA, contactId), text).toBe("unsubscribed");
      }
    }
    const { rows } = await sql<{ status: string; previous_status: string; source: string; reason: string }>`
      select status, previous_status, source, reason from consent_changes
      where workspace_id = ${wsA.id} and contact_id = ${contactId} order by id`.execute(db());
    expect(rows).toHaveLength(SMS_KEYWORDS.stop.length * 3);
    expect(rows[0]).toEqual({
      status: "unsubscribed",
      previous_status: "subscribed",
      source: "sms_keyword",
      reason: 'texted "STOP"',
    });
  });

  it("opts the sender back in on every START keyword, with a confirmation text", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone, "unsubscribed");
    for (const word of SMS_KEYWORDS.start) {
      for (const text of spellings(word)) {
        await sql`update contacts set sms_consent = 'unsubscribed' where id = ${contactId}`.execute(db());
        const response = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, phone, text));
        expect(response.statusCode, text).toBe(200);
        expect(messagesIn(response.body), text).toEqual([
          "Acme: You are subscribed again. Reply HELP for help, STOP to opt out.",
        ]);
        expect(await consentOf(wsA, contactId), text).toBe("subscribed");
      }
    }
  });

  it("answers HELP with the workspace's help text: a default naming it, or the one set in its sender settings", async () => {
    const phone = newPhone();
    await newContact(wsB, phone);
    for (const text of ["HELP", "help", " Help ", "h e l p", "HELP?"]) {
      const response = await postTwilio("/hooks/twilio/inbound", inbound(B_NUMBER, phone, text));
      expect(response.statusCode, text).toBe(200);
      expect(messagesIn(response.body), text).toEqual([
        "Globex: Reply STOP to opt out, START to opt back in.",
      ]);
    }
    const put = await t.asB({
      method: "PUT",
      url: "/api/v1/workspace/sender",
      payload: {
        fromAddress: "news@example.com",
        postalAddress: "1 High Street, Springfield",
        smsFrom: B_NUMBER,
        smsHelpText: "Globex alerts: help at globex.example/help & 020 7946 0000. Reply STOP to opt out.",
      },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ smsHelpText: expect.stringContaining("Globex alerts") });
    const response = await postTwilio("/hooks/twilio/inbound", inbound(B_NUMBER, phone, "help"));
    expect(response.body).toBe(
      `${XML}<Response><Message>Globex alerts: help at globex.example/help &amp; 020 7946 0000. Reply STOP to opt out.</Message></Response>`,
    );
    const sender = await t.asB({ method: "GET", url: "/api/v1/workspace/sender" });
    expect(sender.json()).toMatchObject({ smsHelpText: expect.stringContaining("Globex alerts") });
  });

  it("honours STOP from a number never texted when the contact exists, and confirms it to an unknown one", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone);
    const known = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, phone, "stop"));
    expect(messagesIn(known.body)).toHaveLength(1);
    expect(await consentOf(wsA, contactId)).toBe("unsubscribed");
    expect(t.responses.recorded.filter((r) => r.contactId === contactId)).toMatchObject([
      { kind: "unsubscribed", messageId: null, workspaceId: wsA.id },
    ]);

    const stranger = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, newPhone(), "STOP"));
    expect(stranger.statusCode).toBe(200);
    expect(messagesIn(stranger.body)).toHaveLength(1);
    // START from someone we do not know changes nothing and says nothing.
    const start = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, newPhone(), "START"));
    expect(start.body).toBe(`${XML}<Response/>`);
  });
});

describe("POST /hooks/twilio/inbound: replies", () => {
  it("records any other text as a reply to the contact's most recent SMS and answers with an empty Response", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone);
    await sendSms(wsA, [contactId], T0);
    const [latest] = await sendSms(wsA, [contactId], new Date(T0.getTime() + 3_600_000));
    expect(latest).toMatchObject({ status: "sent", provider_message_id: expect.stringMatching(/^SM/) });
    // The dispatcher registered our status callback with Twilio.
    expect(twilioApi.sent.at(-1)?.get("StatusCallback")).toBe(`${PUBLIC_URL}/hooks/twilio/status`);

    for (const text of ["Please stop texting me at work", "What time do you open?"]) {
      const params = inbound(A_NUMBER, phone, text);
      const response = await postTwilio("/hooks/twilio/inbound", params);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe(`${XML}<Response/>`);
    }
    expect(await consentOf(wsA, contactId)).toBe("subscribed");
    const replies = t.responses.recorded.filter((r) => r.contactId === contactId);
    expect(replies).toMatchObject([
      {
        kind: "replied",
        workspaceId: wsA.id,
        messageId: latest!.id,
        properties: { body: "Please stop texting me at work", from: phone },
      },
      { kind: "replied", messageId: latest!.id, properties: { body: "What time do you open?" } },
    ]);
    await t.responses.flush();
    const { rows } = await sql<{ type: string }>`
      select type from events where workspace_id = ${wsA.id} and contact_id = ${contactId}`.execute(db());
    expect(rows.map((r) => r.type)).toEqual(["message.replied", "message.replied"]);
  });

  it("records a redelivered text once (its id comes from the MessageSid)", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone);
    const params = inbound(A_NUMBER, phone, "Thanks!");
    await postTwilio("/hooks/twilio/inbound", params);
    await postTwilio("/hooks/twilio/inbound", params);
    const ids = t.responses.recorded.filter((r) => r.contactId === contactId).map((r) => r.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
  });
});

describe("POST /hooks/twilio/inbound: refusals", () => {
  it("refuses a missing, wrong or replayed-elsewhere signature with 403 and a warning that holds no secret", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const app = await buildApp({ deps: t.app.deps, logger });
    try {
      const phone = newPhone();
      const contactId = await newContact(wsA, phone);
      const params = inbound(A_NUMBER, phone, "STOP");
      const attempts = [
        { signature: null },
        { signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=" },
        { token: "not-the-auth-token" },
        // Signed for another URL (another installation's hook), then replayed here.
        {
          signature: twilioSignature(
            INSTALLATION_TOKEN,
            "https://elsewhere.example/hooks/twilio/inbound",
            params,
          ),
        },
      ];
      for (const attempt of attempts) {
        const response = await postTwilio("/hooks/twilio/inbound", params, { ...attempt, app });
        expect(response.statusCode).toBe(403);
        expect(response.json()).toMatchObject({ code: "WEBHOOK_SIGNATURE_INVALID" });
      }
      expect(await consentOf(wsA, contactId)).toBe("subscribed");
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
      expect(warnings).toHaveLength(4);
      expect(warnings[0]).toMatchObject({ workspaceIds: [wsA.id], reason: "no X-Twilio-Signature header" });
      expect(warnings[1]).toMatchObject({ reason: "the X-Twilio-Signature does not match" });
      expect(lines.join("\n")).not.toContain(INSTALLATION_TOKEN);
    } finally {
      await app.close();
    }
  });

  it("answers 404 for a number no workspace sends from, and 4xx for malformed or oversize bodies", async () => {
    const unknown = await postTwilio("/hooks/twilio/inbound", inbound("+14155559999", newPhone(), "STOP"));
    expect(unknown.statusCode).toBe(404);

    const noFrom = inbound(A_NUMBER, newPhone(), "hi").filter(([name]) => name !== "From");
    expect((await postTwilio("/hooks/twilio/inbound", noFrom)).statusCode).toBe(400);

    const badEscape = await t.app.inject({
      method: "POST",
      url: "/hooks/twilio/inbound",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x" },
      payload: "Body=100%&To=%2B14155550100&From=%2B14155550123",
    });
    expect(badEscape.statusCode).toBe(400);

    const json = await t.app.inject({
      method: "POST",
      url: "/hooks/twilio/inbound",
      headers: { "content-type": "application/json", "x-twilio-signature": "x" },
      payload: { To: A_NUMBER, From: "+14155550123", Body: "STOP" },
    });
    expect(json.statusCode).toBe(415);

    const huge = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, newPhone(), "x".repeat(70_000)));
    expect(huge.statusCode).toBe(413);
  });

  it("verifies with the workspace's own Twilio account once it has one, not the installation's", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsB, phone);
    await setProvider(
      db(),
      wsB,
      "sms",
      {
        provider: "twilio",
        settings: { accountSid: "AC00000000000000000000000000000002" },
        secrets: { authToken: "globex-own-token" },
      },
      TEST_KEYS.credentials,
    );
    try {
      const params = inbound(B_NUMBER, phone, "STOP");
      expect((await postTwilio("/hooks/twilio/inbound", params)).statusCode).toBe(403);
      expect(await consentOf(wsB, contactId)).toBe("subscribed");
      const own = await postTwilio("/hooks/twilio/inbound", params, { token: "globex-own-token" });
      expect(own.statusCode).toBe(200);
      expect(await consentOf(wsB, contactId)).toBe("unsubscribed");
    } finally {
      await sql`delete from workspace_providers where workspace_id = ${wsB.id}`.execute(db());
    }
  });

  it("changes only the workspace the number belongs to, and another account's signature changes nothing", async () => {
    const phone = newPhone();
    const inA = await newContact(wsA, phone);
    const inB = await newContact(wsB, phone);
    await setProvider(
      db(),
      wsB,
      "sms",
      {
        provider: "twilio",
        settings: { accountSid: "AC00000000000000000000000000000002" },
        secrets: { authToken: "globex-own-token" },
      },
      TEST_KEYS.credentials,
    );
    try {
      // B's account signs a STOP to A's number: refused.
      const forged = await postTwilio("/hooks/twilio/inbound", inbound(A_NUMBER, phone, "STOP"), {
        token: "globex-own-token",
      });
      expect(forged.statusCode).toBe(403);
      expect([await consentOf(wsA, inA), await consentOf(wsB, inB)]).toEqual(["subscribed", "subscribed"]);
      // The real STOP to B's number opts out B's contact only.
      await postTwilio("/hooks/twilio/inbound", inbound(B_NUMBER, phone, "STOP"), {
        token: "globex-own-token",
      });
      expect([await consentOf(wsA, inA), await consentOf(wsB, inB)]).toEqual(["subscribed", "unsubscribed"]);
    } finally {
      await sql`delete from workspace_providers where workspace_id = ${wsB.id}`.execute(db());
    }
  });
});

describe("POST /hooks/twilio/status", () => {
  it("records a delivered text as a delivered response to its ledger row", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone);
    const [row] = await sendSms(wsA, [contactId]);
    const response = await postTwilio(
      "/hooks/twilio/status",
      statusCallback(row!.provider_message_id!, phone, "delivered"),
    );
    expect(response.statusCode).toBe(204);
    expect(t.responses.recorded.filter((r) => r.contactId === contactId)).toMatchObject([
      { kind: "delivered", messageId: row!.id, workspaceId: wsA.id },
    ]);
    const { rows } = await sql<{ status: string; delivery_status: string }>`
      select status, delivery_status from messages where id = ${row!.id}`.execute(db());
    expect(rows[0]).toEqual({ status: "sent", delivery_status: "delivered" });
    // Statuses on the way (queued, sent) change nothing.
    const sent = await postTwilio(
      "/hooks/twilio/status",
      statusCallback(row!.provider_message_id!, phone, "sent"),
    );
    expect(sent.statusCode).toBe(204);
  });

  it("records an undelivered text's error, and suppresses the number for a permanent one: later texts are skipped", async () => {
    const gone = newPhone();
    const off = newPhone();
    const goneId = await newContact(wsA, gone);
    const offId = await newContact(wsA, off);
    const rows = await sendSms(wsA, [goneId, offId]);
    const goneRow = rows.find((r) => r.contact_id === goneId)!;
    const offRow = rows.find((r) => r.contact_id === offId)!;
    await postTwilio(
      "/hooks/twilio/status",
      statusCallback(goneRow.provider_message_id!, gone, "undelivered", "30005"),
    );
    await postTwilio(
      "/hooks/twilio/status",
      statusCallback(offRow.provider_message_id!, off, "failed", "30003"),
    );

    const { rows: ledger } = await sql<{ id: string; delivery_status: string; delivery_reason: string }>`
      select id, delivery_status, delivery_reason from messages where id in (${goneRow.id}, ${offRow.id})`.execute(
      db(),
    );
    expect(ledger.find((r) => r.id === goneRow.id)).toMatchObject({
      delivery_status: "undelivered",
      delivery_reason: "Twilio error 30005 (unknown destination handset)",
    });
    expect(ledger.find((r) => r.id === offRow.id)).toMatchObject({
      delivery_status: "failed",
      delivery_reason: "Twilio error 30003",
    });
    const { rows: suppressions } = await sql<{ address: string; source: string; message_id: string }>`
      select address, source, message_id from suppressions where workspace_id = ${wsA.id} and channel = 'sms'
        and address in (${gone}, ${off})`.execute(db());
    expect(suppressions).toEqual([{ address: gone, source: "provider", message_id: goneRow.id }]);

    const later = await sendSms(wsA, [goneId, offId], new Date(T0.getTime() + 86_400_000));
    expect(later.find((r) => r.contact_id === goneId)).toMatchObject({
      status: "skipped",
      reason: expect.stringContaining(`${gone} is suppressed: undelivered: Twilio error 30005`),
    });
    expect(later.find((r) => r.contact_id === offId)).toMatchObject({ status: "sent" });
  });

  it("refuses a bad signature, another account's signature, and answers 404 for an unknown sid", async () => {
    const phone = newPhone();
    const contactId = await newContact(wsA, phone);
    const [row] = await sendSms(wsA, [contactId]);
    const params = statusCallback(row!.provider_message_id!, phone, "undelivered", "30005");
    expect((await postTwilio("/hooks/twilio/status", params, { signature: null })).statusCode).toBe(403);
    expect((await postTwilio("/hooks/twilio/status", params, { token: "globex-own-token" })).statusCode).toBe(
      403,
    );
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from suppressions where workspace_id = ${wsA.id} and address = ${phone}`.execute(
      db(),
    );
    expect(rows[0]!.n).toBe(0);
    const unknown = statusCallback(`SM${"0".repeat(32)}`, phone, "delivered").map(
      ([n, v]) => [n, n === "From" ? "+14155559999" : v] as [string, string],
    );
    expect((await postTwilio("/hooks/twilio/status", unknown)).statusCode).toBe(404);
  });
});
