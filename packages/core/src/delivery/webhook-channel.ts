/**
 * The workflow `webhook` node: a signed JSON POST to a customer's URL.
 *
 * Signing: `Omneural-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the Unix-seconds
 * `Omneural-Timestamp` beside it, so a receiver can check both origin and freshness
 * (`verifyWebhookSignature`).
 *
 * SSRF guard: the URL comes from a workspace user, and the request leaves from inside our network. So
 * the hostname is resolved once, every answer is checked against loopback, private, link-local and other
 * internal ranges, and the connection goes to the checked address itself. Resolving again at connect
 * time would let a DNS server answer "public" to the check and "127.0.0.1" to the connect (DNS
 * rebinding). Redirects are not followed: a redirect could point inside just as well.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { promises as dns } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, isIPv4, type LookupFunction } from "node:net";
import type { OutgoingWebhook, SendResult, WebhookChannel } from "./channel.ts";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface WebhookConfig {
  /** The workspace's signing secret (HMAC-SHA256 key). */
  secret: string;
  /**
   * Hostnames or IP addresses that may be internal (an on-premises receiver, a test server). A call is
   * allowed when its hostname, its literal IP or the address it resolves to is listed. Default: none.
   */
  allowHosts?: string[];
  /** Give up on the whole call (resolving, connecting, answering) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Resolves a hostname to all its addresses. Default: `dns.promises.lookup(hostname, { all: true })`. */
  lookup?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** The clock, in milliseconds since the epoch, for the timestamp and Retry-After dates. Default `Date.now`. */
  now?: () => number;
}

const USER_AGENT = "Omneural-Webhook/1";
/** Response bodies are drained up to this size, then the connection is dropped. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------------
// Signing

/** The `Omneural-Signature` header value for a body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  const digest = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `v1=${digest}`;
}

/**
 * For receivers: true when `signature` is ours for this exact raw `body` and `timestamp`, and the
 * timestamp is within `toleranceSeconds` of `now` (either way), so a captured call cannot be replayed
 * later. Pass the body as received, before any JSON parsing.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: { timestamp: string | number; signature: string },
  body: string,
  now: Date,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!/^\d+$/.test(String(headers.timestamp).trim()) || !Number.isSafeInteger(timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const actual = Buffer.from(headers.signature.trim());
  // The length is not secret (always "v1=" + 64 hex digits); timingSafeEqual needs equal lengths.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// ---------------------------------------------------------------------------------------------------
// Address ranges a webhook may not reach unless allow-listed

type Range = { base: bigint; prefix: number; kind: string };

const range = (text: string, prefix: number, kind: string): Range => ({
  base: isIPv4(text) ? BigInt(ipv4ToNumber(text)) : ipv6ToBigInt(text),
  prefix,
  kind,
});

const IPV4_RANGES = [
  range("0.0.0.0", 8, "unspecified"),
  range("10.0.0.0", 8, "private"),
  range("100.64.0.0", 10, "shared (CGNAT)"),
  range("127.0.0.0", 8, "loopback"),
  range("169.254.0.0", 16, "link-local"),
  range("172.16.0.0", 12, "private"),
  range("192.0.0.0", 24, "IETF protocol assignments"),
  range("192.168.0.0", 16, "private"),
  range("198.18.0.0", 15, "benchmarking"),
  range("224.0.0.0", 4, "multicast"),
  range("240.0.0.0", 4, "reserved"), // includes the broadcast address 255.255.255.255
];

const IPV6_RANGES = [
  range("::", 128, "unspecified"),
  range("::1", 128, "loopback"),
  range("fc00::", 7, "private"), // unique local
  range("fec0::", 10, "private"), // deprecated site-local
  range("fe80::", 10, "link-local"),
  range("ff00::", 8, "multicast"),
];

/** IPv6 prefixes that carry an IPv4 address in their low 32 bits: the IPv4 address decides. */
const IPV6_EMBEDDING_IPV4 = [
  range("::ffff:0:0", 96, "IPv4-mapped"),
  range("64:ff9b::", 96, "NAT64"),
  range("::", 96, "IPv4-compatible"),
];
/** 6to4 (2002::/16) carries the IPv4 address in bits 16 to 47. */
const SIX_TO_FOUR = range("2002::", 16, "6to4");

function inRange(value: bigint, bits: number, range: Range): boolean {
  const shift = BigInt(bits - range.prefix);
  return value >> shift === range.base >> shift;
}

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address.split("%")[0]!; // drop a zone id (fe80::1%eth0)
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = ipv4ToNumber(tail);
    text = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const restGroups = rest ? rest.split(":") : [];
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...Array(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/**
 * The kind of internal range `address` is in ("loopback", "private", ...), or null for an address on
 * the public internet. Anything that is not a valid IP address counts as "invalid".
 */
export function internalRangeOf(address: string): string | null {
  if (isIPv4(address)) {
    const value = BigInt(ipv4ToNumber(address));
    return IPV4_RANGES.find((range) => inRange(value, 32, range))?.kind ?? null;
  }
  if (isIP(address.split("%")[0]!) !== 6) return "invalid";
  const value = ipv6ToBigInt(address);
  const own = IPV6_RANGES.find((range) => inRange(value, 128, range));
  if (own) return own.kind;
  for (const range of IPV6_EMBEDDING_IPV4) {
    if (inRange(value, 128, range)) return embeddedKind(Number(value & 0xffffffffn), range.kind);
  }
  if (inRange(value, 128, SIX_TO_FOUR)) return embeddedKind(Number((value >> 80n) & 0xffffffffn), "6to4");
  return null;
}

function embeddedKind(v4: number, wrapper: string): string | null {
  const text = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join(".");
  const kind = internalRangeOf(text);
  return kind === null ? null : `${kind} (${wrapper} ${text})`;
}

// ---------------------------------------------------------------------------------------------------
// Resolving and checking the destination

/** Either the address to connect to, or the result to return without calling (refused or unresolvable). */
type Destination =
  | { kind: "stop"; result: SendResult }
  | { kind: "checked"; url: URL; hostname: string; address: string; family: 4 | 6 };

const permanent = (reason: string): SendResult => ({ kind: "permanent", reason });

async function checkDestination(
  rawUrl: string,
  allowHosts: ReadonlySet<string>,
  lookup: (hostname: string) => Promise<ResolvedAddress[]>,
  timeoutMs: number,
): Promise<Destination> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { kind: "stop", result: permanent(`not a valid URL: ${truncate(rawUrl)}`) };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return {
      kind: "stop",
      result: permanent(`only http and https URLs can be called, not ${url.protocol}`),
    };
  }
  // URL keeps IPv6 literals in brackets and has already normalised odd IPv4 forms (0x7f.1 → 127.0.0.1).
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const literalFamily = isIP(hostname);

  let addresses: ResolvedAddress[];
  if (literalFamily !== 0) {
    addresses = [{ address: hostname, family: literalFamily as 4 | 6 }];
  } else {
    try {
      addresses = await withTimeout(lookup(hostname), timeoutMs, `resolving ${hostname}`);
    } catch (error) {
      return {
        kind: "stop",
        result: { kind: "retryable", reason: `could not resolve ${hostname}: ${message(error)}` },
      };
    }
    if (addresses.length === 0) {
      return { kind: "stop", result: { kind: "retryable", reason: `${hostname} has no addresses` } };
    }
  }

  if (!allowHosts.has(hostname)) {
    // Every answer must pass: a client may connect to any of them, and a mixed answer is a known trick.
    for (const { address } of addresses) {
      const kind = internalRangeOf(address);
      if (kind === null || allowHosts.has(address.toLowerCase())) continue;
      const subject = literalFamily !== 0 ? `${hostname} is` : `${hostname} resolves to`;
      return {
        kind: "stop",
        result: permanent(
          `${subject} ${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} address ${address}; allow-list the host to call it`,
        ),
      };
    }
  }
  const first = addresses[0]!;
  return { kind: "checked", url, hostname, address: first.address, family: first.family };
}

/** A `lookup` for node:http that answers with the address we already checked, whatever it is asked. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    // With autoSelectFamily (the default since Node 20) net asks for all addresses.
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

// ---------------------------------------------------------------------------------------------------
// The call and its answer

/** HTTP answers: 2xx delivered; 408, 429 and 5xx worth retrying; redirects and other 4xx final. */
export function classifyWebhookResponse(
  status: number,
  headers: http.IncomingHttpHeaders,
  statusMessage: string,
  nowMs: number,
): SendResult {
  const answer = `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ""}`;
  if (status >= 200 && status < 300) {
    const requestId = headers["x-request-id"];
    const id = Array.isArray(requestId) ? requestId[0] : requestId;
    return { kind: "sent", providerMessageId: id || String(status), detail: answer };
  }
  if (status >= 300 && status < 400) {
    const location = headers.location ? ` to ${truncate(headers.location)}` : "";
    return permanent(`${answer}: redirected${location}; webhooks do not follow redirects, use the final URL`);
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headers["retry-after"], nowMs);
    return { kind: "retryable", reason: answer, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return permanent(answer);
}

/** Retry-After is either delay-seconds or an HTTP date. */
function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function post(
  destination: Extract<Destination, { kind: "checked" }>,
  payload: string,
  headers: Record<string, string>,
  timeoutMs: number,
  now: () => number,
): Promise<SendResult> {
  const { url, hostname, address, family } = destination;
  const where = hostname === address ? hostname : `${hostname} (${address})`;
  return new Promise((resolve) => {
    let answered: SendResult | undefined;
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };

    const request = (url.protocol === "https:" ? https : http).request(
      {
        protocol: url.protocol,
        // The original hostname, so the Host header and the TLS server name (SNI and certificate check)
        // are the customer's; only the connection itself is pinned to the checked address.
        hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers,
        lookup: pinnedLookup(address, family),
        // No pooling: a kept-alive socket is keyed by hostname, not by the address we checked.
        agent: false,
        ...(url.username
          ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }
          : {}),
      },
      (response) => {
        answered = classifyWebhookResponse(
          response.statusCode ?? 0,
          response.headers,
          response.statusMessage ?? "",
          now(),
        );
        const result = answered;
        let received = 0;
        response.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) {
            finish(result);
            response.destroy();
          }
        });
        response.on("end", () => finish(result));
        response.on("close", () => finish(result));
        response.on("error", () => finish(result));
      },
    );

    const timer = setTimeout(() => {
      // A status already received decides, even if the body is still trickling in.
      finish(answered ?? { kind: "retryable", reason: `no answer from ${where} within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);

    request.on("error", (error) => {
      finish(answered ?? { kind: "retryable", reason: `calling ${where} failed: ${message(error)}` });
    });
    request.end(payload);
  });
}

export function createWebhookChannel(config: WebhookConfig): WebhookChannel {
  const allowHosts = new Set(
    (config.allowHosts ?? []).map((host) =>
      host
        .trim()
        .replace(/^\[(.*)\]$/, "$1")
        .toLowerCase(),
    ),
  );
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = config.now ?? Date.now;
  const lookup =
    config.lookup ??
    (async (hostname: string) =>
      (await dns.lookup(hostname, { all: true })).map(({ address, family }) => ({
        address,
        family: family === 6 ? 6 : 4,
      })) satisfies ResolvedAddress[]);

  return {
    provider: "webhook",
    // We send an Idempotency-Key, but cannot know that the customer's endpoint honours it.
    acceptsIdempotencyKey: false,
    async send(call: OutgoingWebhook): Promise<SendResult> {
      const startedAt = performance.now();
      const destination = await checkDestination(call.url, allowHosts, lookup, timeoutMs);
      if (destination.kind === "stop") return destination.result;

      const payload = JSON.stringify(call.body);
      const timestamp = Math.floor(now() / 1000);
      const headers = {
        "Content-Type": "application/json",
        "Content-Length": String(Buffer.byteLength(payload)),
        "User-Agent": USER_AGENT,
        "Omneural-Timestamp": String(timestamp),
        "Omneural-Signature": signWebhook(config.secret, timestamp, payload),
        "Idempotency-Key": call.idempotencyKey,
      };
      const remainingMs = Math.max(1, Math.round(timeoutMs - (performance.now() - startedAt)));
      return post(destination, payload, headers, remainingMs, now);
    },
    async close() {
      // Nothing is pooled: each call opens and closes its own connection.
    },
  };
}

// ---------------------------------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
