import { createDevInboxEmailChannel, createDevInboxMailChannel } from "@omneural/core/delivery/dev-inbox";
import { TEST_LINKS } from "@omneural/core/testing/campaigns";
import { readPdf } from "@omneural/core/testing/pdf";
import { trackEmail } from "@omneural/core/tracking/rewrite";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();
const LEDGER_ROW = "01a21f97-6124-7000-9024-8ed9bacfcd64";

beforeAll(async () => {
  const channel = createDevInboxEmailChannel(t.database.handle.db);
  const send = (to: string, messageId: string | null) =>
    channel.send({
      workspaceId: t.a.id,
      messageId,
      idempotencyKey: `campaign:${to}:s1:1:1`,
      from: { name: "Acme", address: "news@acme.example" },
      to: { address: to },
      subject: `Hello ${to}`,
      html: "<p>Hi</p>",
      text: "Hi",
      unsubscribe: { url: "https://t.acme.example/u/abc" },
    });
  expect(await send("ada@example.com", LEDGER_ROW)).toMatchObject({ kind: "sent" });
  // The same ledger row delivered again is recorded once.
  expect(await send("ada@example.com", LEDGER_ROW)).toMatchObject({ kind: "sent" });
  expect(await send("bob@example.com", null)).toMatchObject({ kind: "sent" });
});

describe("GET /api/v1/outbox/{id}/html", () => {
  it("serves an email's HTML sandboxed, framable by this server only, and to its own workspace only", async () => {
    const list = await t.asA({ method: "GET", url: "/api/v1/outbox?recipient=ada@example.com" });
    const id = list.json().data[0].id;
    const res = await t.asA({ method: "GET", url: `/api/v1/outbox/${id}/html` });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.body).toBe("<p>Hi</p>");
    const policy = String(res.headers["content-security-policy"]);
    expect(policy).toMatch(/^sandbox; default-src 'none'/);
    expect(policy).toContain("frame-ancestors 'self'");
    expect(policy).not.toContain("script-src");
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect((await t.asB({ method: "GET", url: `/api/v1/outbox/${id}/html` })).statusCode).toBe(404);
  });
});

describe("GET /api/v1/outbox", () => {
  it("shows what the dev inbox delivered, newest first, with headers", async () => {
    const res = await t.asA({ method: "GET", url: "/api/v1/outbox" });
    expect(res.statusCode).toBe(200);
    const { data } = res.json();
    expect(data.map((e: { recipient: string }) => e.recipient)).toEqual([
      "bob@example.com",
      "ada@example.com",
    ]);
    expect(data[1]).toMatchObject({
      messageId: LEDGER_ROW,
      channel: "email",
      subject: "Hello ada@example.com",
      content: { html: "<p>Hi</p>", text: "Hi" },
    });
    expect(data[1].headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    expect(data[1].headers["Message-ID"]).toMatch(/^<.+@dev-inbox\.omneural\.local>$/);
  });

  it("filters by recipient and pages with a cursor", async () => {
    const first = await t.asA({ method: "GET", url: "/api/v1/outbox?limit=1" });
    expect(first.json().data).toHaveLength(1);
    const next = await t.asA({
      method: "GET",
      url: `/api/v1/outbox?limit=1&cursor=${first.json().nextCursor}`,
    });
    expect(next.json().data[0].recipient).toBe("ada@example.com");
    const filtered = await t.asA({ method: "GET", url: "/api/v1/outbox?recipient=bob@example.com" });
    expect(filtered.json().data).toHaveLength(1);
  });

  it("shows another workspace nothing", async () => {
    const res = await t.asB({ method: "GET", url: "/api/v1/outbox" });
    expect(res.json()).toEqual({ data: [], nextCursor: null });
  });
});

describe("GET /api/v1/outbox/{id}/pdf", () => {
  let mailId: string;
  beforeAll(async () => {
    const sent = await createDevInboxMailChannel(t.database.handle.db).send({
      workspaceId: t.a.id,
      messageId: null,
      idempotencyKey: "campaign:ada:letter:1:1",
      layout: "postcard",
      to: {
        name: "Ada Lovelace",
        line1: "12 Analytical Way",
        city: "Springfield",
        region: "IL",
        postalCode: "62701",
        country: "US",
      },
      returnAddress: "Acme\n1 Market St\nSan Francisco, CA 94105",
      body: "Hello Ada!",
      purl: "http://omneural.test/r/7K3M9Q2XD4",
    });
    if (sent.kind !== "sent") throw new Error(JSON.stringify(sent));
    mailId = sent.providerMessageId;
  });

  it("lists the piece with its address block and page count, and serves its PDF", async () => {
    const listed = await t.asA({ method: "GET", url: "/api/v1/outbox?channel=mail" });
    expect(listed.json().data).toEqual([
      expect.objectContaining({
        id: mailId,
        channel: "mail",
        recipient: "Ada Lovelace, 12 Analytical Way, Springfield IL  62701",
        content: expect.objectContaining({
          layout: "postcard",
          pages: 2,
          purl: "http://omneural.test/r/7K3M9Q2XD4",
        }),
      }),
    ]);
    const res = await t.asA({ method: "GET", url: `/api/v1/outbox/${mailId}/pdf` });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pdf");
    const pages = readPdf(res.rawPayload);
    expect(pages).toHaveLength(2);
    expect(pages[0]!.lines).toEqual(["Hello Ada!"]);
    expect(pages[1]!.lines).toEqual(
      expect.arrayContaining(["Ada Lovelace", "Springfield IL  62701", "http://omneural.test/r/7K3M9Q2XD4"]),
    );
  });

  it("is not found for another workspace, for an entry that is not mail, and for an unknown id", async () => {
    expect((await t.asB({ method: "GET", url: `/api/v1/outbox/${mailId}/pdf` })).statusCode).toBe(404);
    const email = (await t.asA({ method: "GET", url: "/api/v1/outbox?channel=email&limit=1" })).json()
      .data[0];
    const notMail = await t.asA({ method: "GET", url: `/api/v1/outbox/${email.id}/pdf` });
    expect(notMail.statusCode).toBe(404);
    expect(notMail.json().code).toBe("NOT_FOUND");
    const unknown = await t.asA({
      method: "GET",
      url: "/api/v1/outbox/0192f0c0-0000-7000-8000-000000000000/pdf",
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe("GET /api/v1/outbox/{id}/html of a tracked email", () => {
  // Last, in workspace B: the listings above stay as they are.
  it("leaves the open pixel out (looking at the Outbox is not an open) and keeps the links tracked", async () => {
    const tracked = trackEmail(
      '<html><body><p><a href="https://shop.example/spring">Shop</a></p></body></html>',
      "Shop: https://shop.example/spring",
      { ...TEST_LINKS, workspaceId: t.b.id, messageId: "01a21f97-6124-7000-9024-8ed9bacfcd65" },
    );
    expect(tracked.html).toContain("/t/o/");
    await createDevInboxEmailChannel(t.database.handle.db).send({
      workspaceId: t.b.id,
      messageId: null,
      idempotencyKey: "campaign:pixel:s1:1:1",
      from: { address: "news@acme.example" },
      to: { address: "pixel@example.com" },
      subject: "Tracked",
      html: tracked.html,
      text: tracked.text,
      unsubscribe: { url: "https://t.acme.example/u/abc" },
    });
    const list = await t.asB({ method: "GET", url: "/api/v1/outbox?recipient=pixel@example.com" });
    const res = await t.asB({ method: "GET", url: `/api/v1/outbox/${list.json().data[0].id}/html` });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain("/t/o/");
    expect(res.body).toContain(`${TEST_LINKS.publicUrl}/t/c/`);
  });
});
