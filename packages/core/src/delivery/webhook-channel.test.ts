import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OutgoingWebhook } from "./channel.ts";
import {
  createWebhookChannel,
  internalRangeOf,
  type ResolvedAddress,
  signWebhook,
  verifyWebhookSignature,
} from "./webhook-channel.ts";

const SECRET = "whsec_test";
const NOW = Date.parse("2025-03-01T12:00:00Z");

/** A customer's receiver on loopback: it verifies each call and answers as the path asks. */
interface Received {
  path: string;
  host: string | undefined;
  headers: IncomingMessage["headers"];
  body: string;
  signatureValid: boolean;
}
const received: Received[] = [];
let port = 0;

const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    received.push({
      path: request.url ?? "",
      host: request.headers.host,
      headers: request.headers,
      body,
      signatureValid: verifyWebhookSignature(
        SECRET,
        {
          timestamp: String(request.headers["omneural-timestamp"]),
          signature: String(request.headers["omneural-signature"]),
        },
        body,
        new Date(NOW),
      ),
    });
    switch (new URL(request.url ?? "/", "http://receiver").pathname) {
      case "/ok":
        response.writeHead(200, { "X-Request-Id": "req_123" }).end("thanks");
        return;
      case "/accepted":
        response.writeHead(202).end();
        return;
      case "/large":
        response.writeHead(200).end("x".repeat(1024 * 1024));
        return;
      case "/down":
        response.writeHead(500).end("oops");
        return;
      case "/busy":
        response.writeHead(429, { "Retry-After": "7" }).end();
        return;
      case "/missing":
        response.writeHead(404).end();
        return;
      case "/moved":
        response.writeHead(302, { Location: "http://169.254.169.254/latest/meta-data/" }).end();
        return;
      case "/silent":
        return; // never answers
      default:
        response.writeHead(400).end();
    }
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
});

const call = (url: string): OutgoingWebhook => ({
  workspaceId: "00000000-0000-4000-8000-000000000001",
  messageId: "00000000-0000-4000-8000-0000000000aa",
  idempotencyKey: "c:42:s7:1:1",
  url,
  body: { event: "journey.step", contact: { id: 42, email: "ada@example.com" }, note: "naïve ✓" },
});

/** A resolver that answers from a table and counts its calls, standing in for DNS. */
function fakeDns(answers: (hostname: string, call: number) => ResolvedAddress[]) {
  const calls: string[] = [];
  return {
    calls,
    lookup: async (hostname: string) => {
      calls.push(hostname);
      return answers(hostname, calls.length);
    },
  };
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });

describe("createWebhookChannel", () => {
  it("refuses a loopback destination by default", async () => {
    const channel = createWebhookChannel({ secret: SECRET, now: () => NOW });
    const result = await channel.send(call(`http://127.0.0.1:${port}/ok`));
    expect(result).toEqual({
      kind: "permanent",
      reason: "127.0.0.1 is a loopback address 127.0.0.1; allow-list the host to call it",
    });
    expect(received).toHaveLength(0);
  });

  it("posts signed JSON with the idempotency key to an allow-listed host", async () => {
    const channel = createWebhookChannel({ secret: SECRET, allowHosts: ["127.0.0.1"], now: () => NOW });
    const result = await channel.send(call(`http://127.0.0.1:${port}/ok?tenant=acme`));
    expect(result).toEqual({ kind: "sent", providerMessageId: "req_123", detail: "HTTP 200 OK" });
    expect(channel.acceptsIdempotencyKey).toBe(false);

    expect(received).toHaveLength(1);
    const [hit] = received;
    expect(hit?.path).toBe("/ok?tenant=acme");
    expect(hit?.signatureValid).toBe(true);
    expect(JSON.parse(hit?.body ?? "")).toEqual(call("").body);
    expect(hit?.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "Omneural-Webhook/1",
      "idempotency-key": "c:42:s7:1:1",
      "omneural-timestamp": String(NOW / 1000),
    });
  });

  it("uses the status as the provider id when the receiver sends no X-Request-Id", async () => {
    const channel = createWebhookChannel({ secret: SECRET, allowHosts: ["127.0.0.1"] });
    const result = await channel.send(call(`http://127.0.0.1:${port}/accepted`));
    expect(result).toMatchObject({ kind: "sent", providerMessageId: "202" });
  });

  it("stops reading a response body after 64 KiB", async () => {
    const channel = createWebhookChannel({ secret: SECRET, allowHosts: ["127.0.0.1"] });
    const result = await channel.send(call(`http://127.0.0.1:${port}/large`));
    expect(result).toMatchObject({ kind: "sent", providerMessageId: "200" });
  });

  it("refuses a hostname that resolves to a private address", async () => {
    const dns = fakeDns(() => [v4("10.0.0.5")]);
    const channel = createWebhookChannel({ secret: SECRET, lookup: dns.lookup });
    const result = await channel.send(call("https://hooks.internal.test/x"));
    expect(result).toEqual({
      kind: "permanent",
      reason: "hooks.internal.test resolves to a private address 10.0.0.5; allow-list the host to call it",
    });
    expect(dns.calls).toEqual(["hooks.internal.test"]);
  });

  it("refuses a hostname when any one of its addresses is private", async () => {
    const dns = fakeDns(() => [v4("93.184.215.14"), v4("192.168.1.20")]);
    const channel = createWebhookChannel({ secret: SECRET, lookup: dns.lookup });
    const result = await channel.send(call("https://mixed.test/x"));
    expect(result).toMatchObject({ kind: "permanent", reason: expect.stringContaining("192.168.1.20") });
  });

  it.each([
    ["IPv6 loopback", "http://[::1]/x", "::1 is a loopback address ::1"],
    ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/x", "loopback (IPv4-mapped 127.0.0.1)"],
    ["cloud metadata (link-local)", "http://169.254.169.254/latest", "a link-local address"],
    ["hex-encoded loopback", "http://0x7f.0.0.1/x", "127.0.0.1 is a loopback address"],
    ["unspecified", "http://0.0.0.0/x", "an unspecified address"],
  ])("refuses a literal %s address", async (_name, url, reason) => {
    const channel = createWebhookChannel({ secret: SECRET });
    const result = await channel.send(call(url));
    expect(result).toMatchObject({ kind: "permanent", reason: expect.stringContaining(reason) });
  });

  it("refuses schemes other than http and https", async () => {
    const channel = createWebhookChannel({ secret: SECRET });
    expect(await channel.send(call("file:///etc/passwd"))).toMatchObject({
      kind: "permanent",
      reason: "only http and https URLs can be called, not file:",
    });
    expect(await channel.send(call("not a url"))).toMatchObject({ kind: "permanent" });
  });

  it("connects to the address it checked, not to a second DNS answer (rebinding)", async () => {
    // The first answer is the allow-listed loopback server; any later answer points elsewhere. If the
    // channel resolved again at connect time, the call would go to 10.0.0.1 and never reach the server.
    const dns = fakeDns((_hostname, n) => [v4(n === 1 ? "127.0.0.1" : "10.0.0.1")]);
    const channel = createWebhookChannel({
      secret: SECRET,
      allowHosts: ["127.0.0.1"],
      lookup: dns.lookup,
      timeoutMs: 2_000,
    });
    const result = await channel.send(call(`http://rebind.test:${port}/ok`));
    expect(result).toMatchObject({ kind: "sent", providerMessageId: "req_123" });
    expect(dns.calls).toEqual(["rebind.test"]);
    // The receiver still sees the customer's hostname.
    expect(received.map((hit) => hit.host)).toEqual([`rebind.test:${port}`]);
  });

  it("connects to the public address it checked, never to a private second answer, resolving once", async () => {
    // A rebinding DNS server: "public" for the check, then loopback (where a receiver listens). The
    // call must go to the checked public address (unreachable here: a documentation range) and fail
    // there, without asking the resolver again and without reaching the loopback receiver.
    for (const second of ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "::1"]) {
      received.length = 0;
      const dns = fakeDns((_hostname, n) =>
        n === 1 ? [v4("203.0.113.10")] : [{ address: second, family: second.includes(":") ? 6 : 4 }],
      );
      const channel = createWebhookChannel({ secret: SECRET, lookup: dns.lookup, timeoutMs: 300 });
      const result = await channel.send(call(`http://rebind.test:${port}/ok`));
      expect(result, second).toMatchObject({
        kind: "retryable",
        reason: expect.stringContaining("rebind.test (203.0.113.10)"),
      });
      expect(dns.calls, second).toEqual(["rebind.test"]);
      expect(received, second).toHaveLength(0);
    }
  });

  it("refuses a rebinding hostname whose first answer is internal", async () => {
    const dns = fakeDns((_hostname, n) => [v4(n === 1 ? "127.0.0.1" : "93.184.215.14")]);
    const channel = createWebhookChannel({ secret: SECRET, lookup: dns.lookup });
    const result = await channel.send(call(`http://rebind.test:${port}/ok`));
    expect(result).toMatchObject({ kind: "permanent", reason: expect.stringContaining("loopback") });
    expect(received).toHaveLength(0);
  });

  describe("maps the receiver's answers", () => {
    const channel = createWebhookChannel({ secret: SECRET, allowHosts: ["127.0.0.1"], timeoutMs: 200 });
    const at = (path: string) => channel.send(call(`http://127.0.0.1:${port}${path}`));

    it("500 is retryable", async () => {
      expect(await at("/down")).toEqual({ kind: "retryable", reason: "HTTP 500 Internal Server Error" });
    });

    it("429 is retryable after the Retry-After delay", async () => {
      expect(await at("/busy")).toEqual({
        kind: "retryable",
        reason: "HTTP 429 Too Many Requests",
        retryAfterMs: 7_000,
      });
    });

    it("404 is permanent", async () => {
      expect(await at("/missing")).toEqual({ kind: "permanent", reason: "HTTP 404 Not Found" });
    });

    it("a redirect is permanent and not followed", async () => {
      const result = await at("/moved");
      expect(result).toMatchObject({
        kind: "permanent",
        reason: expect.stringContaining("redirected to http://169.254.169.254/latest/meta-data/"),
      });
      expect(received.map((hit) => hit.path)).toEqual(["/moved"]);
    });

    it("no answer within the timeout is retryable", async () => {
      const result = await at("/silent");
      expect(result).toEqual({ kind: "retryable", reason: "no answer from 127.0.0.1 within 200 ms" });
    });

    it("a refused connection is retryable", async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const result = await channel.send(call(`http://127.0.0.1:${closedPort}/ok`));
      expect(result).toMatchObject({ kind: "retryable", reason: expect.stringContaining("ECONNREFUSED") });
    });
  });
});

describe("internalRangeOf", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared (CGNAT)"],
    ["100.127.255.255", "shared (CGNAT)"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.251", "multicast"],
    ["255.255.255.255", "reserved"],
    ["192.0.0.170", "IETF protocol assignments"],
    ["198.18.0.1", "benchmarking"],
    ["198.19.255.255", "benchmarking"],
    ["fd00:ec2::254", "private"], // AWS's IPv6 instance metadata
    ["::ffff:7f00:1", "loopback (IPv4-mapped 127.0.0.1)"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fd12:3456::1", "private"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:10.0.0.5", "private (IPv4-mapped 10.0.0.5)"],
    ["::ffff:a00:5", "private (IPv4-mapped 10.0.0.5)"],
    ["::ffff:169.254.169.254", "link-local (IPv4-mapped 169.254.169.254)"],
    ["64:ff9b::7f00:1", "loopback (NAT64 127.0.0.1)"],
    ["2002:c0a8:0101::1", "private (6to4 192.168.1.1)"],
    ["not-an-ip", "invalid"],
  ])("%s is %s", (address, kind) => {
    expect(internalRangeOf(address)).toBe(kind);
  });

  it.each([
    "93.184.215.14",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "198.20.0.1",
    "192.0.1.1",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
  ])("%s is public", (address) => {
    expect(internalRangeOf(address)).toBeNull();
  });
});

describe("verifyWebhookSignature", () => {
  const body = JSON.stringify({ event: "journey.step" });
  const timestamp = NOW / 1000;
  const signature = signWebhook(SECRET, timestamp, body);

  it("signs as v1=<hex HMAC-SHA256 of timestamp.body>", () => {
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it("accepts the signature of the exact body within the tolerance", () => {
    expect(verifyWebhookSignature(SECRET, { timestamp, signature }, body, new Date(NOW + 299_000))).toBe(
      true,
    );
  });

  it("rejects a tampered body", () => {
    const tampered = body.replace("step", "stop");
    expect(verifyWebhookSignature(SECRET, { timestamp, signature }, tampered, new Date(NOW))).toBe(false);
  });

  it("rejects a stale timestamp even with a valid signature", () => {
    expect(verifyWebhookSignature(SECRET, { timestamp, signature }, body, new Date(NOW + 301_000))).toBe(
      false,
    );
  });

  it("rejects another secret, a changed timestamp and a malformed header", () => {
    const now = new Date(NOW);
    expect(verifyWebhookSignature("other", { timestamp, signature }, body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { timestamp: timestamp + 1, signature }, body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { timestamp: "soon", signature }, body, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { timestamp, signature: "v1=abc" }, body, now)).toBe(false);
  });
});
