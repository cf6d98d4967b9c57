import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OutgoingSms } from "./channel.ts";
import { createTwilioSmsChannel, parseRetryAfter } from "./twilio-sms-channel.ts";

const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN = "s3cr3t-auth-token-0123456789abcdef";
const SERVICE_SID = "MG0123456789abcdef0123456789abcdef";

interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  form: URLSearchParams;
}

/**
 * A real HTTP server on loopback speaking Twilio's Messages API. The recipient number picks the answer,
 * as Twilio's magic test numbers do.
 */
const received: ReceivedRequest[] = [];
const hanging: ServerResponse[] = [];
let baseUrl = "";

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => {
    raw += chunk;
  });
  req.on("end", () => {
    const form = new URLSearchParams(raw);
    received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, form });
    if (req.method !== "POST" || req.url !== `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`) {
      return json(res, 404, { code: 20404, message: "The requested resource was not found", status: 404 });
    }
    const expected = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      return json(res, 401, { code: 20003, message: "Authenticate", status: 401 });
    }
    if (req.headers["content-type"] !== "application/x-www-form-urlencoded") {
      return json(res, 400, { code: 20001, message: "Unsupported content type", status: 400 });
    }
    switch (form.get("To")) {
      case "+15005550429":
        return json(
          res,
          429,
          { code: 20429, message: "Too Many Requests", status: 429 },
          { "Retry-After": "7" },
        );
      case "+15005550500":
        return json(res, 500, { code: 20500, message: "Internal Server Error", status: 500 });
      case "+15005550610":
        return json(res, 400, {
          code: 21610,
          message: "Attempt to send to unsubscribed recipient",
          status: 400,
        });
      case "+15005550211":
        return json(res, 400, { code: 21211, message: "The 'To' number +1500 is not valid.", status: 400 });
      case "+15005550602":
        return json(res, 400, { code: 21602, message: "Message body is required.", status: 400 });
      case "+15005550666":
        // A misbehaving proxy that echoes the credentials it was sent.
        return json(res, 400, { message: `bad request from ${req.headers.authorization}` });
      case "+15005550999":
        hanging.push(res);
        return;
    }
    json(res, 201, {
      sid: `SM${String(received.length).padStart(32, "0")}`,
      account_sid: ACCOUNT_SID,
      to: form.get("To"),
      from: form.get("From"),
      messaging_service_sid: form.get("MessagingServiceSid"),
      body: form.get("Body"),
      status: "queued",
      num_segments: "1",
      direction: "outbound-api",
      api_version: "2010-04-01",
      uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/SM....json`,
    });
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
});

const sms = (to: string, overrides: Partial<OutgoingSms> = {}): OutgoingSms => ({
  workspaceId: "00000000-0000-4000-8000-000000000001",
  messageId: "00000000-0000-4000-8000-0000000000aa",
  idempotencyKey: `c:${to}:s1:1:1`,
  to,
  from: "+15005550006",
  body: "Spring sale: 20% off. Reply STOP to opt out",
  ...overrides,
});

const channel = (overrides: Partial<Parameters<typeof createTwilioSmsChannel>[0]> = {}) =>
  createTwilioSmsChannel({ baseUrl, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, ...overrides });

describe("createTwilioSmsChannel", () => {
  it("posts Twilio's form with Basic auth and the idempotency token, and records the message sid", async () => {
    const twilio = channel({ statusCallbackUrl: "https://t.acme.example/sms/status" });
    const result = await twilio.send(sms("+14155550100"));

    expect(result).toEqual({
      kind: "sent",
      providerMessageId: `SM${"1".padStart(32, "0")}`,
      detail: "HTTP 201",
    });
    expect(twilio.acceptsIdempotencyKey).toBe(true);
    expect(received).toHaveLength(1);
    const request = received[0]!;
    expect(request.method).toBe("POST");
    expect(request.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(request.headers["i-twilio-idempotency-token"]).toBe("c:+14155550100:s1:1:1");
    expect(Object.fromEntries(request.form)).toEqual({
      To: "+14155550100",
      From: "+15005550006",
      Body: "Spring sale: 20% off. Reply STOP to opt out",
      StatusCallback: "https://t.acme.example/sms/status",
    });
  });

  it("sends through a Messaging Service when the sender is its sid, and omits an unset status callback", async () => {
    await channel().send(sms("+14155550101", { from: SERVICE_SID }));
    await channel().send(sms("+14155550102", { from: "MGMStore" }));

    expect(Object.fromEntries(received[0]!.form)).toEqual({
      To: "+14155550101",
      MessagingServiceSid: SERVICE_SID,
      Body: "Spring sale: 20% off. Reply STOP to opt out",
    });
    // An alphanumeric sender id that merely starts with "MG" is still a sender.
    expect(received[1]!.form.get("From")).toBe("MGMStore");
    expect(received[1]!.form.has("MessagingServiceSid")).toBe(false);
  });

  it("reports a 429 as retryable after the Retry-After delay", async () => {
    const result = await channel().send(sms("+15005550429"));
    expect(result).toMatchObject({ kind: "retryable", retryAfterMs: 7000 });
    expect(result.kind === "retryable" && result.reason).toContain("Too Many Requests");
  });

  it("reports a 5xx as retryable", async () => {
    const result = await channel().send(sms("+15005550500"));
    expect(result).toMatchObject({ kind: "retryable" });
    expect(result.kind === "retryable" && result.retryAfterMs).toBeUndefined();
  });

  it("reports an unsubscribed or invalid recipient as permanent with Twilio's code and message, to suppress", async () => {
    const unsubscribed = await channel().send(sms("+15005550610"));
    expect(unsubscribed).toEqual({
      kind: "permanent",
      reason:
        "recipient rejected (recipient unsubscribed): HTTP 400: Twilio error 21610: Attempt to send to unsubscribed recipient",
      suppress: true,
    });
    const invalid = await channel().send(sms("+15005550211"));
    expect(invalid).toMatchObject({ kind: "permanent", suppress: true });
    expect(invalid.kind === "permanent" && invalid.reason).toContain("Twilio error 21211");
  });

  it("reports any other 4xx as permanent", async () => {
    const result = await channel().send(sms("+15005550602"));
    expect(result).toEqual({
      kind: "permanent",
      reason: "HTTP 400: Twilio error 21602: Message body is required.",
    });
  });

  it("reports a wrong auth token as permanent without ever revealing a token", async () => {
    const wrongToken = "wrong-token-fedcba9876543210";
    const result = await channel({ authToken: wrongToken }).send(sms("+14155550103"));
    expect(result).toMatchObject({ kind: "permanent" });
    const reason = result.kind === "permanent" ? result.reason : "";
    expect(reason).toContain("Twilio error 20003");
    expect(reason).not.toContain(wrongToken);
    expect(reason).not.toContain(AUTH_TOKEN);
  });

  it("redacts the token when a server echoes the credentials back", async () => {
    const result = await channel().send(sms("+15005550666"));
    const reason = result.kind === "permanent" ? result.reason : "";
    expect(reason).toContain("[redacted]");
    expect(reason).not.toContain(AUTH_TOKEN);
    expect(reason).not.toContain(Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64"));
  });

  it("reports a request that gets no answer in time as retryable", async () => {
    const result = await channel({ timeoutMs: 100 }).send(sms("+15005550999"));
    expect(result).toEqual({ kind: "retryable", reason: "no answer within 100 ms" });
    expect(received[0]!.headers["i-twilio-idempotency-token"]).toBe("c:+15005550999:s1:1:1");
  });

  it("reports a server that is down as retryable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await channel({ baseUrl: `http://127.0.0.1:${deadPort}` }).send(sms("+14155550104"));
    expect(result).toMatchObject({ kind: "retryable" });
    expect(result.kind === "retryable" && result.reason).toContain("ECONNREFUSED");
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-03-01T12:00:00Z");
  it.each([
    ["7", 7000],
    ["0", 0],
    ["Sat, 01 Mar 2025 12:00:30 GMT", 30_000],
    ["Sat, 01 Mar 2025 11:59:00 GMT", 0],
    ["soon", undefined],
    [null, undefined],
  ])("reads %j as %j ms", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
