/**
 * A real HTTP server on loopback speaking Lob's letters and postcards API, for tests: HTTP Basic auth
 * with the API key as user, JSON bodies, `Idempotency-Key` (a repeated key answers the first response
 * and makes nothing new), Lob's error body `{error: {message, status_code, code}}` with 401 and 422, and
 * magic values that pick other answers, as Lob's test addresses do:
 *
 * - `to.address_zip` "42900": 429 with `Retry-After: 3` while `rateLimited` is above 0 (each answer
 *   counts it down);
 * - "50000": 500;
 * - `to.address_line1` "hang": no answer at all.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const LOB_TEST_KEY = "test_0123456789abcdefghijklmnop";

export interface LobRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}

export interface LobServer {
  baseUrl: string;
  /** Every request, in order, as received. */
  received: LobRequest[];
  /** Pieces made (one per idempotency key). */
  created: { id: string; path: string; body: Record<string, unknown> }[];
  /** How many more requests to 42900 answer 429. */
  rateLimited: number;
  close(): Promise<void>;
}

function lobError(res: ServerResponse, status: number, code: string, message: string, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify({ error: { message, status_code: status, code } }));
}

/** The first required field missing from the body, Lob style (`to.address_zip is required`). */
function missingField(path: string, body: Record<string, unknown>): string | undefined {
  const to = body.to as Record<string, unknown> | undefined;
  const from = body.from as Record<string, unknown> | undefined;
  const required: [string, unknown][] = [
    ["to", to],
    ["to.name", to?.name],
    ["to.address_line1", to?.address_line1],
    ["to.address_city", to?.address_city],
    ["to.address_country", to?.address_country],
    ["use_type", body.use_type],
  ];
  if (to?.address_country === "US") {
    required.push(["to.address_state", to?.address_state], ["to.address_zip", to?.address_zip]);
  }
  if (path === "/v1/letters") {
    required.push(["from", from], ["file", body.file], ["color", body.color]);
    if (from) required.push(["from.address_line1", from.address_line1]);
  } else {
    required.push(["front", body.front], ["back", body.back]);
  }
  return required.find(([, value]) => value === undefined || value === null || value === "")?.[0];
}

export async function startLobServer(): Promise<LobServer> {
  const answered = new Map<string, { status: number; body: string }>();
  const hanging: ServerResponse[] = [];
  let sequence = 0;
  const state: LobServer = {
    baseUrl: "",
    received: [],
    created: [],
    rateLimited: 0,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      raw += chunk;
    });
    req.on("end", () => {
      const path = req.url ?? "";
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        return lobError(res, 400, "bad_request", "invalid JSON");
      }
      state.received.push({ method: req.method ?? "", path, headers: req.headers, body });
      if (req.method !== "POST" || (path !== "/v1/letters" && path !== "/v1/postcards")) {
        return lobError(res, 404, "not_found", "The requested resource was not found");
      }
      if (req.headers.authorization !== `Basic ${Buffer.from(`${LOB_TEST_KEY}:`).toString("base64")}`) {
        return lobError(res, 401, "unauthorized", "Your API key is not valid.");
      }
      if (!req.headers["content-type"]?.startsWith("application/json")) {
        return lobError(res, 415, "unsupported_media_type", "expected application/json");
      }
      const key = req.headers["idempotency-key"];
      const keyed = typeof key === "string" ? `${path}:${key}` : undefined;
      const earlier = keyed ? answered.get(keyed) : undefined;
      if (earlier) {
        res.writeHead(earlier.status, { "Content-Type": "application/json" });
        return res.end(earlier.body);
      }
      const to = (body.to ?? {}) as Record<string, unknown>;
      if (to.address_line1 === "hang") {
        hanging.push(res);
        return;
      }
      if (to.address_zip === "42900" && state.rateLimited > 0) {
        state.rateLimited--;
        return lobError(res, 429, "rate_limit_exceeded", "Too many requests", { "Retry-After": "3" });
      }
      if (to.address_zip === "50000") return lobError(res, 500, "internal_server_error", "Internal error");
      const missing = missingField(path, body);
      if (missing) return lobError(res, 422, "invalid", `${missing} is required`);
      const id = `${path === "/v1/letters" ? "ltr" : "psc"}_${(++sequence).toString(16).padStart(16, "0")}`;
      const made = {
        id,
        object: path === "/v1/letters" ? "letter" : "postcard",
        description: body.description ?? null,
        to: { id: `adr_${sequence}`, ...to },
        metadata: body.metadata ?? {},
        expected_delivery_date: "2026-12-04",
        date_created: new Date().toISOString(),
      };
      state.created.push({ id, path, body });
      const text = JSON.stringify(made);
      if (keyed) answered.set(keyed, { status: 200, body: text });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
