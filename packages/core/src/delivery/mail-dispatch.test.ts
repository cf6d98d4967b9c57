import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { LOB_TEST_KEY, type LobServer, startLobServer } from "../testing/lob-server.ts";
import { ADDRESS, mailLedger, mailTemplate, mailWorkspace, queueMail } from "../testing/mail.ts";
import { qrModulesOf, qrModulesOnPage, readPdf, scanQrOnPage } from "../testing/pdf.ts";
import type { MailChannel } from "./channel.ts";
import { createDevInboxEmailChannel, createDevInboxMailChannel, outboxMailPdf } from "./dev-inbox.ts";
import { dispatchBatch } from "./dispatcher.ts";
import { createLobChannel } from "./lob-channel.ts";
import { findPurl, newPurlCode, normalisePurlCode } from "./purl.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const MINUTE = 60_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const PURL = /^http:\/\/omneural\.test\/r\/([0-9A-HJKMNP-TV-Z]{10})$/;

let ws: WorkspaceContext;
let letterId: string;
let lob: LobServer;

beforeAll(async () => {
  ws = await mailWorkspace(database.handle.db);
  letterId = await mailTemplate(database.handle.db, ws, "letter");
  lob = await startLobServer();
});
afterAll(async () => {
  await lob.close();
});

function dispatchMail(mail: MailChannel, now: Date) {
  const db = database.handle.db;
  return dispatchBatch(db, "mail", {
    links: TEST_LINKS,
    channels: { email: createDevInboxEmailChannel(db), mail },
    now,
  });
}

async function purlsOf(messageId: string) {
  const { rows } = await sql<{ code: string; contact_id: string; campaign_id: string }>`
    select code, contact_id, campaign_id from purls where message_id = ${messageId}`.execute(
    database.handle.db,
  );
  return rows;
}

describe("prepareMail with the dev inbox", () => {
  it("renders each member's letter with a PURL, fails an incomplete address and skips who may not be mailed", async () => {
    const db = database.handle.db;
    const { campaignId, contacts } = await queueMail(
      db,
      ws,
      letterId,
      [
        { firstName: "Ada", lastName: "Lovelace", ...ADDRESS },
        { firstName: "Grace", lastName: "Hopper", ...ADDRESS, line1: "3 Cobol Court", region: "VA" },
        { firstName: "Charles", lastName: "Babbage", ...ADDRESS, city: null },
        { firstName: "Nobody", lastName: "Home" },
        { firstName: "Mallory", lastName: "Out", ...ADDRESS, consent: "unsubscribed" },
      ],
      T0,
    );

    const result = await dispatchMail(createDevInboxMailChannel(db), at(MINUTE));
    expect(result).toMatchObject({ claimed: 5, sent: 2, failed: 1, skipped: 2 });
    const ledger = await mailLedger(db, campaignId);
    expect(ledger.get("Ada")).toMatchObject({ status: "sent", provider: "dev-inbox" });
    expect(ledger.get("Grace")).toMatchObject({ status: "sent", provider: "dev-inbox" });
    expect(ledger.get("Charles")).toMatchObject({
      status: "failed",
      reason: "address incomplete: missing city",
    });
    expect(ledger.get("Nobody")).toMatchObject({
      status: "skipped",
      reason: "the contact has no postal address",
    });
    expect(ledger.get("Mallory")).toMatchObject({
      status: "skipped",
      reason: "mail consent is unsubscribed",
    });
    // Only the pieces that went have a PURL.
    expect(await purlsOf(ledger.get("Charles")!.id)).toEqual([]);

    const ada = ledger.get("Ada")!;
    const { rows } = await sql<{ id: string; recipient: string; content: Record<string, unknown> }>`
      select id, recipient, content from outbox where message_id = ${ada.id}`.execute(db);
    const entry = rows[0]!;
    expect(entry.id).toBe(ada.provider_message_id);
    expect(entry.recipient).toBe("Ada Lovelace, 12 Analytical Way, Springfield IL  62701");
    const purl = entry.content.purl as string;
    const code = PURL.exec(purl)?.[1];
    expect(code).toBeDefined();
    expect(entry.content).toMatchObject({
      layout: "letter",
      addressBlock: ["Ada Lovelace", "12 Analytical Way", "Springfield IL  62701"],
      returnAddress: "Acme Books\n1 Market St\nSan Francisco, CA 94105",
      body: `Dear Ada,\n\nYour 20% discount awaits at ${purl}`,
      pages: 1,
    });
    expect(await purlsOf(ada.id)).toEqual([
      { code, contact_id: contacts.get("Ada"), campaign_id: campaignId },
    ]);
    // /r/{code} finds the member again, however the code was typed.
    const typed = `${code!.slice(0, 5).toLowerCase()}-${code!.slice(5)}`;
    expect(await findPurl(db, typed)).toMatchObject({
      workspace_id: ws.id,
      message_id: ada.id,
      contact_id: contacts.get("Ada"),
      campaign_id: campaignId,
    });
    expect(await findPurl(db, "0000000000")).toBeUndefined();

    // The PDF the API serves: one page, the member's name and merged text, the PURL as text and QR code.
    const pages = readPdf(await outboxMailPdf(db, ws, entry.id));
    expect(pages).toHaveLength(1);
    expect(pages[0]!.lines).toEqual(
      expect.arrayContaining(["Acme Books", "Ada Lovelace", "Springfield IL  62701", "Dear Ada,", purl]),
    );
    expect(pages[0]!.lines.join(" ")).toContain("Your 20% discount awaits at");
    expect(pages[0]!.lines.join(" ")).not.toContain("Grace");
    expect(qrModulesOnPage(pages[0]!, qrModulesOf(purl).length)).toEqual(qrModulesOf(purl));
    // And it scans: a QR decoder reads the PURL back from the page.
    expect(scanQrOnPage(pages[0]!)).toBe(purl);

    // Each member has a code of their own.
    const grace = await purlsOf(ledger.get("Grace")!.id);
    expect(grace).toHaveLength(1);
    expect(grace[0]!.code).not.toBe(code);
  });

  it("fails every piece of a workspace without a return address, saying how to set one", async () => {
    const db = database.handle.db;
    const bare = await mailWorkspace(db, false);
    const template = await mailTemplate(db, bare, "postcard");
    const { campaignId } = await queueMail(db, bare, template, [{ firstName: "Ada", ...ADDRESS }], T0);
    await dispatchMail(createDevInboxMailChannel(db), at(MINUTE));
    expect((await mailLedger(db, campaignId)).get("Ada")).toMatchObject({
      status: "failed",
      reason: expect.stringContaining("PUT /api/v1/workspace/sender"),
    });
  });
});

describe("prepareMail with a Lob-compatible API", () => {
  it("sends through Lob, and a retried row keeps its PURL code and idempotency key", async () => {
    const db = database.handle.db;
    const { campaignId } = await queueMail(
      db,
      ws,
      letterId,
      [{ firstName: "Zed", lastName: "Retry", ...ADDRESS, postalCode: "42900" }],
      T0,
    );
    const channel = createLobChannel({ baseUrl: lob.baseUrl, apiKey: LOB_TEST_KEY });
    lob.rateLimited = 1;

    const first = await dispatchMail(channel, at(MINUTE));
    expect(first).toMatchObject({ claimed: 1, retried: 1 });
    const queued = (await mailLedger(db, campaignId)).get("Zed")!;
    expect(queued).toMatchObject({ status: "queued", attempts: 1 });
    expect(queued.reason).toContain("HTTP 429");
    const [purl] = await purlsOf(queued.id);

    // Lob asked for 3 s: not before.
    expect(await dispatchMail(channel, at(MINUTE + 2_000))).toMatchObject({ claimed: 0 });
    const second = await dispatchMail(channel, at(MINUTE + 3_000));
    expect(second).toMatchObject({ claimed: 1, sent: 1 });
    const sent = (await mailLedger(db, campaignId)).get("Zed")!;
    expect(sent).toMatchObject({ status: "sent", provider: "lob", attempts: 2 });
    expect(sent.provider_message_id).toMatch(/^ltr_/);

    expect(await purlsOf(sent.id)).toEqual([purl]);
    const requests = lob.received.filter(
      (r) => (r.body.metadata as Record<string, string>).omneural_message_id === sent.id,
    );
    expect(requests).toHaveLength(2);
    expect(requests.map((r) => r.headers["idempotency-key"])).toEqual([
      sent.idempotency_key,
      sent.idempotency_key,
    ]);
    for (const request of requests)
      expect(request.body.file).toContain(`http://omneural.test/r/${purl!.code}`);
    expect(requests[1]!.body.from).toMatchObject({ name: "Acme Books", address_city: "San Francisco" });
  });
});

describe("PURL codes", () => {
  it("are 10 characters of Crockford base32, and read back what people mistype", () => {
    const codes = new Set(Array.from({ length: 1000 }, () => newPurlCode()));
    expect(codes.size).toBe(1000);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(normalisePurlCode("7k3m-9q2x-d4")).toBe("7K3M9Q2XD4");
    expect(normalisePurlCode("O1IL 234567")).toBe("0111234567");
    expect(normalisePurlCode("7K3M9Q2XDU")).toBeUndefined();
    expect(normalisePurlCode("short")).toBeUndefined();
  });
});
