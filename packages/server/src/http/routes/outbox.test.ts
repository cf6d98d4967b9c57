import { createDevInboxEmailChannel } from "@omneural/core/delivery/dev-inbox";
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
