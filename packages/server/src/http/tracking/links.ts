/**
 * The open pixel and the click redirect: the two tracking answers every message can trigger many times
 * over, and the only ones that need neither the database nor a page. `answerLink` verifies the token and
 * hands the response on; the Fastify routes (routes.ts) and the fast path below both use it.
 *
 * The fast path answers these two straight from Node's HTTP server, before Fastify: a click costs about
 * half the CPU time it does through Fastify's request, hook and reply machinery, and a campaign's burst
 * of clicks is what a tracking process must absorb. It answers only what it fully understands (a GET or
 * HEAD of `/t/o/<token>` or `/t/c/<token>` whose token verifies, for a click with a web URL) and sends
 * exactly the headers the routes send; anything else (a bad or forged token, another method, an encoded
 * path) goes on to Fastify, which answers as before. Requests answered here are counted in the
 * request-duration metric like any other, and are not logged (the token in the path carries a URL).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { httpDuration } from "@omneural/core/ops/metrics";
import type { ResponseInput, ResponseSink } from "@omneural/core/responses/response";
import { uuidv7 } from "@omneural/core/shared/ids";
import { verifyToken } from "@omneural/core/tracking/tokens";

/** A 1×1 transparent GIF (42 bytes). */
export const PIXEL_GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

/** The longest path parameter the tracking routes accept: a click token carries its URL (≤ 2,000 bytes). */
export const MAX_TOKEN_LENGTH = 4096;

/** What the request says about who asked: the ingest writer flags machine opens and clicks from it. */
export type RequestFacts = {
  userAgent: string | null;
  method: string;
  ip: string | undefined;
};

/** Only web links are ever redirected to; anything else (javascript:, data:, unparsable) is not. */
export function webUrl(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The headers every tracking answer carries (the general security headers are not applied to these
 * routes): never cached, never a referrer, and the pixel may be shown on web mail's own origin.
 */
export function trackingHeaders(https: boolean): [string, string][] {
  return [
    ...(https ? ([["strict-transport-security", "max-age=31536000"]] as [string, string][]) : []),
    ["referrer-policy", "no-referrer"],
    ["x-content-type-options", "nosniff"],
    ["cache-control", "no-store, no-cache, must-revalidate, private, max-age=0"],
    ["cross-origin-resource-policy", "cross-origin"],
  ];
}

/** The pixel's own headers besides trackingHeaders. */
export const PIXEL_HEADERS: [string, string][] = [
  ["pragma", "no-cache"],
  ["expires", "0"],
];

export type LinkAnswer = { kind: "pixel" } | { kind: "redirect"; location: string };

/**
 * Verifies an open (`o`) or click (`c`) token and hands its response to `sink`. Undefined, with nothing
 * recorded, when the token is not a sound token of that kind (or a click's URL is not a web URL).
 */
export function answerLink(
  keyOfLinks: Buffer,
  sink: ResponseSink,
  path: "o" | "c",
  tokenText: string,
  facts: RequestFacts,
): LinkAnswer | undefined {
  const token = verifyToken(keyOfLinks, tokenText);
  if (path === "o") {
    if (token?.kind !== "open") return undefined;
    record(sink, {
      workspaceId: token.workspaceId,
      messageId: token.messageId,
      kind: "opened",
      properties: facts,
    });
    return { kind: "pixel" };
  }
  if (token?.kind !== "click") return undefined;
  const location = webUrl(token.url);
  if (!location) return undefined;
  record(sink, {
    workspaceId: token.workspaceId,
    messageId: token.messageId,
    kind: "clicked",
    // Object.assign, not a spread with added keys: V8 builds the latter much slower.
    properties: Object.assign({ url: token.url, index: token.index }, facts),
  });
  return { kind: "redirect", location };
}

function record(sink: ResponseSink, response: Omit<ResponseInput, "id" | "at">) {
  sink.record(Object.assign({ id: uuidv7(), at: new Date() }, response));
}

const TOKEN_CHARACTERS = /^[A-Za-z0-9_-]+$/;
/** What Fastify's request id takes from an `x-request-id` header, and what we echo. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * The fast path: a function for the HTTP server's request event that answers a pixel or a click and
 * returns true, or returns false and leaves the request untouched for Fastify.
 */
export function createLinkFastPath(options: {
  keyOfLinks: Buffer;
  sink: ResponseSink;
  https: boolean;
}): (request: IncomingMessage, response: ServerResponse) => boolean {
  const common = trackingHeaders(options.https).flat();
  const pixelHeaders = [
    ...common,
    ...PIXEL_HEADERS.flat(),
    "content-type",
    "image/gif",
    "content-length",
    String(PIXEL_GIF.length),
  ];
  const routes = { o: "/t/o/:token", c: "/t/c/:token" } as const;
  return (request, response) => {
    const url = request.url;
    const method = request.method;
    if (
      url === undefined ||
      (method !== "GET" && method !== "HEAD") ||
      url.length > MAX_TOKEN_LENGTH + 5 ||
      url.charCodeAt(0) !== 47 || // "/t/"
      url.charCodeAt(1) !== 116 ||
      url.charCodeAt(2) !== 47 ||
      url.charCodeAt(4) !== 47
    ) {
      return false;
    }
    const path = url[3];
    if (path !== "o" && path !== "c") return false;
    const query = url.indexOf("?", 5);
    const tokenText = query < 0 ? url.slice(5) : url.slice(5, query);
    if (!TOKEN_CHARACTERS.test(tokenText)) return false;
    const started = performance.now();
    const answer = answerLink(options.keyOfLinks, options.sink, path, tokenText, {
      userAgent: request.headers["user-agent"] ?? null,
      method,
      ip: request.socket.remoteAddress,
    });
    if (!answer) return false;
    const given = request.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    if (answer.kind === "pixel") {
      response.writeHead(200, [...pixelHeaders, "x-request-id", requestId]);
      response.end(PIXEL_GIF);
    } else {
      response.writeHead(302, [
        "location",
        answer.location,
        ...common,
        "content-length",
        "0",
        "x-request-id",
        requestId,
      ]);
      response.end();
    }
    httpDuration.observe(
      { method, route: routes[path], status: answer.kind === "pixel" ? "200" : "302" },
      (performance.now() - started) / 1000,
    );
    return true;
  };
}
