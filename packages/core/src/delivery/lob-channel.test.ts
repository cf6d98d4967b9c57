import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LOB_TEST_KEY, type LobServer, startLobServer } from "../testing/lob-server.ts";
import type { OutgoingMailPiece } from "./channel.ts";
import { createLobChannel, parseReturnAddress } from "./lob-channel.ts";

let lob: LobServer;
beforeAll(async () => {
  lob = await startLobServer();
});
afterAll(async () => {
  await lob.close();
});
beforeEach(() => {
  lob.received.length = 0;
  lob.created.length = 0;
  lob.rateLimited = 0;
});

const RETURN_ADDRESS = "Acme Books\n1 Market St\nSuite 200\nSan Francisco, CA 94105";

let pieces = 0;
/** A letter to Ada; each piece a new ledger row (Lob answers a repeated key with the first piece). */
function piece(overrides: Partial<OutgoingMailPiece> = {}): OutgoingMailPiece {
  return {
    workspaceId: "0192f0c0-0000-7000-8000-000000000001",
    messageId: "0192f0c0-0000-7000-8000-0000000000aa",
    idempotencyKey: `campaign-1:contact-${++pieces}:mail:1:1`,
    layout: "letter",
    to: {
      name: "Ada Lovelace",
      line1: "12 Analytical Way",
      line2: "Apt 3",
      city: "Springfield",
      region: "IL",
      postalCode: "62701",
      country: "US",
    },
    returnAddress: RETURN_ADDRESS,
    body: "Dear Ada,\n\n<Your> reading list & more is ready.",
    purl: "http://omneural.test/r/7K3M9Q2XD4",
    ...overrides,
  };
}

const channel = () => createLobChannel({ baseUrl: lob.baseUrl, apiKey: LOB_TEST_KEY, timeoutMs: 200 });

describe("createLobChannel", () => {
  it("posts a letter with Basic auth, the ledger row's idempotency key and Lob's address fields", async () => {
    const result = await channel().send(piece({ idempotencyKey: "campaign-1:contact-1:mail:1:1" }));
    expect(result).toMatchObject({ kind: "sent", providerMessageId: expect.stringMatching(/^ltr_/) });
    expect(lob.received).toHaveLength(1);
    const [request] = lob.received;
    expect(request!.path).toBe("/v1/letters");
    expect(request!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${LOB_TEST_KEY}:`).toString("base64")}`,
    );
    expect(request!.headers["idempotency-key"]).toBe("campaign-1:contact-1:mail:1:1");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.body).toMatchObject({
      to: {
        name: "Ada Lovelace",
        address_line1: "12 Analytical Way",
        address_line2: "Apt 3",
        address_city: "Springfield",
        address_state: "IL",
        address_zip: "62701",
        address_country: "US",
      },
      from: {
        name: "Acme Books",
        address_line1: "1 Market St",
        address_line2: "Suite 200",
        address_city: "San Francisco",
        address_state: "CA",
        address_zip: "94105",
        address_country: "US",
      },
      color: false,
      use_type: "marketing",
      address_placement: "top_first_page",
      metadata: {
        omneural_message_id: "0192f0c0-0000-7000-8000-0000000000aa",
        omneural_workspace_id: "0192f0c0-0000-7000-8000-000000000001",
      },
    });
    const file = request!.body.file as string;
    // The body is escaped HTML, line breaks kept; the PURL is printed and drawn as a QR code.
    expect(file).toContain("Dear Ada,\n\n&lt;Your&gt; reading list &amp; more is ready.");
    expect(file).toContain("http://omneural.test/r/7K3M9Q2XD4");
    expect(file).toMatch(/<svg [^>]*width="1in"/);
    expect(result.kind === "sent" && result.providerMessageId).toBe(lob.created[0]!.id);
  });

  it("posts a postcard: the message on the front, the QR code and PURL on the back", async () => {
    const result = await channel().send(piece({ layout: "postcard", idempotencyKey: "c:postcard" }));
    expect(result).toMatchObject({ kind: "sent", providerMessageId: expect.stringMatching(/^psc_/) });
    const [request] = lob.received;
    expect(request!.path).toBe("/v1/postcards");
    expect(request!.body).toMatchObject({ size: "4x6", use_type: "marketing", to: { address_zip: "62701" } });
    expect(request!.body.front).toContain("Dear Ada,");
    expect(request!.body.back).toContain("http://omneural.test/r/7K3M9Q2XD4");
    expect(request!.body.back).toContain("<svg");
    expect(request!.body).not.toHaveProperty("file");
  });

  it("sends a second submission of the same row with the same key, which Lob answers with the first piece", async () => {
    const first = await channel().send(piece({ idempotencyKey: "c:twice" }));
    const second = await channel().send(piece({ idempotencyKey: "c:twice" }));
    expect(second).toEqual(first);
    expect(lob.received.map((r) => r.headers["idempotency-key"])).toEqual(["c:twice", "c:twice"]);
    expect(lob.created).toHaveLength(1);
  });

  it("fails for good on a 422, with Lob's message", async () => {
    const result = await channel().send(piece({ to: { ...piece().to, region: null } }));
    expect(result).toEqual({
      kind: "permanent",
      reason: "HTTP 422: invalid: to.address_state is required",
    });
  });

  it("retries a 429 after Lob's Retry-After, and a 500", async () => {
    lob.rateLimited = 1;
    const limited = await channel().send(piece({ to: { ...piece().to, postalCode: "42900" } }));
    expect(limited).toEqual({
      kind: "retryable",
      reason: "HTTP 429: rate_limit_exceeded: Too many requests",
      retryAfterMs: 3000,
    });
    const failing = await channel().send(piece({ to: { ...piece().to, postalCode: "50000" } }));
    expect(failing).toMatchObject({ kind: "retryable", reason: expect.stringContaining("HTTP 500") });
    expect(failing).not.toHaveProperty("retryAfterMs");
  });

  it("retries when Lob does not answer in time, or cannot be reached", async () => {
    const hung = await channel().send(piece({ to: { ...piece().to, line1: "hang" } }));
    expect(hung).toEqual({ kind: "retryable", reason: "no answer within 200 ms" });

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await createLobChannel({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: LOB_TEST_KEY,
    }).send(piece());
    expect(refused).toMatchObject({ kind: "retryable", reason: expect.stringContaining("ECONNREFUSED") });
  });

  it("fails for good with a wrong key", async () => {
    const result = await createLobChannel({ baseUrl: lob.baseUrl, apiKey: "test_wrong_key_123" }).send(
      piece(),
    );
    expect(result).toEqual({
      kind: "permanent",
      reason: "authentication failed: HTTP 401: unauthorized: Your API key is not valid.",
    });
  });

  it("refuses a letter whose return address cannot be read, without calling Lob", async () => {
    const result = await channel().send(piece({ returnAddress: "somewhere nice" }));
    expect(result).toMatchObject({ kind: "permanent", reason: expect.stringContaining("return address") });
    expect(lob.received).toHaveLength(0);
  });
});

describe("parseReturnAddress", () => {
  it.each([
    [
      "Acme\n1 Market St\nSan Francisco, CA 94105",
      {
        name: "Acme",
        address_line1: "1 Market St",
        address_city: "San Francisco",
        address_state: "CA",
        address_zip: "94105",
        address_country: "US",
      },
    ],
    [
      "Acme, 1 Market St, San Francisco, CA 94105-1234",
      {
        name: "Acme",
        address_line1: "1 Market St",
        address_city: "San Francisco",
        address_state: "CA",
        address_zip: "94105-1234",
        address_country: "US",
      },
    ],
    [
      "Maple Co\n200 King St W\nToronto ON M5H 3T4\nCanada",
      {
        name: "Maple Co",
        address_line1: "200 King St W",
        address_city: "Toronto",
        address_state: "ON",
        address_zip: "M5H 3T4",
        address_country: "CA",
      },
    ],
    [
      "Buch GmbH\nFriedrichstr. 1\n10117 Berlin\nDE",
      {
        name: "Buch GmbH",
        address_line1: "Friedrichstr. 1",
        address_city: "Berlin",
        address_zip: "10117",
        address_country: "DE",
      },
    ],
    ["1 High Street, Springfield", undefined],
    ["Acme\nSan Francisco, CA 94105", undefined],
  ])("%j", (text, expected) => {
    expect(parseReturnAddress(text)).toEqual(expected);
  });
});
