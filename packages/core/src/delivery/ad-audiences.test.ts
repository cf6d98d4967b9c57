import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type AdAudienceChange,
  type AdAudienceMember,
  createGoogleCustomerMatchChannel,
  createMetaAudienceChannel,
  hashEmailForAds,
  hashedAudienceCsv,
  hashPhoneForAds,
  metaSessionId,
  normaliseEmailForAds,
  normaliseForGoogle,
  normaliseForMeta,
  normalisePhoneForAds,
} from "./ad-audiences.ts";

const META_TOKEN = "EAAB-meta-access-token-0123456789abcdef";
const GOOGLE_TOKEN = "ya29.google-access-token-0123456789abcdef";
const DEVELOPER_TOKEN = "dev-token-ABCDEF0123456789";
const CUSTOMER_ID = "1234567890";

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
const HEX64 = /^[0-9a-f]{64}$/;

interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are inspected field by field
  body: any;
}

/**
 * A real HTTP server on loopback speaking both the Graph API's `/{audience}/users` and the Google Ads
 * API's offline user data jobs. The audience or user list id picks the answer.
 */
const received: ReceivedRequest[] = [];
const hanging: ServerResponse[] = [];
const googleJobs = new Map<string, string>();
let baseUrl = "";

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function metaAnswer(req: ReceivedRequest, res: ServerResponse) {
  const match = /^\/v25\.0\/([^/?]+)\/users$/.exec(req.path);
  if (!match || (req.method !== "POST" && req.method !== "DELETE")) {
    return json(res, 400, { error: { message: "Unsupported request", code: 100 } });
  }
  if (req.headers.authorization !== `Bearer ${META_TOKEN}`) {
    return json(res, 400, {
      error: {
        message: "Invalid OAuth access token - Cannot parse access token",
        type: "OAuthException",
        code: 190,
      },
    });
  }
  switch (decodeURIComponent(match[1]!)) {
    case "aud-429":
      return json(res, 429, { error: { message: "Too many requests" } }, { "Retry-After": "7" });
    case "aud-throttled":
      return json(res, 400, {
        error: {
          message: "There have been too many calls to this ad-account.",
          code: 80003,
          error_subcode: 2446079,
        },
      });
    case "aud-400":
      return json(res, 400, {
        error: {
          message: "Invalid parameter",
          code: 100,
          error_subcode: 1713230,
          error_user_msg: "Before updating user memberships, you must resolve integrity restrictions",
        },
      });
    case "aud-500":
      return json(res, 500, {
        error: { message: "An unexpected error has occurred.", code: 2, is_transient: true },
      });
    case "aud-echo":
      return json(res, 400, { error: { message: `rejected ${req.headers.authorization}` } });
    case "aud-hang":
      hanging.push(res);
      return;
  }
  json(res, 200, {
    audience_id: match[1],
    session_id: req.body.session.session_id,
    num_received: req.body.payload.data.length,
    num_invalid_entries: 0,
    invalid_entry_samples: {},
  });
}

const googleFailure = (
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown>[] = [],
) => ({
  error: {
    code: status,
    message: "Request contains an invalid argument.",
    status: code,
    details: [
      {
        "@type": "type.googleapis.com/google.ads.googleads.v17.errors.GoogleAdsFailure",
        errors: [{ errorCode: { offlineUserDataJobError: "INVALID_USER_LIST_ID" }, message }],
        requestId: "req-42",
      },
      ...extra,
    ],
  },
});

function googleAnswer(req: ReceivedRequest, res: ServerResponse) {
  if (req.method !== "POST")
    return json(res, 404, { error: { code: 404, status: "NOT_FOUND", message: "nope" } });
  if (
    req.headers.authorization !== `Bearer ${GOOGLE_TOKEN}` ||
    req.headers["developer-token"] !== DEVELOPER_TOKEN
  ) {
    return json(res, 401, {
      error: {
        code: 401,
        status: "UNAUTHENTICATED",
        message: "Request is missing required authentication credential.",
      },
    });
  }
  const create = /^\/v17\/customers\/(\d+)\/offlineUserDataJobs:create$/.exec(req.path);
  if (create) {
    const userList: string = req.body.job.customerMatchUserListMetadata.userList;
    const list = userList.split("/").pop()!;
    if (list === "list-429") {
      return json(
        res,
        429,
        { error: { code: 429, status: "RESOURCE_EXHAUSTED", message: "Too many requests" } },
        { "Retry-After": "12" },
      );
    }
    if (list === "list-400") {
      return json(
        res,
        400,
        googleFailure(400, "INVALID_ARGUMENT", "The user list ID provided for the job is invalid."),
      );
    }
    const resourceName = `customers/${create[1]}/offlineUserDataJobs/${googleJobs.size + 1}`;
    googleJobs.set(resourceName, list);
    return json(res, 200, { resourceName });
  }
  const step = /^\/v17\/(customers\/\d+\/offlineUserDataJobs\/\d+):(addOperations|run)$/.exec(req.path);
  const list = step ? googleJobs.get(step[1]!) : undefined;
  if (!step || list === undefined) {
    return json(res, 404, { error: { code: 404, status: "NOT_FOUND", message: "Unknown job" } });
  }
  if (step[2] === "addOperations") {
    if (list === "list-500") {
      return json(res, 500, {
        error: { code: 500, status: "INTERNAL", message: "Internal error encountered." },
      });
    }
    return json(res, 200, {});
  }
  if (list === "list-quota") {
    return json(res, 429, {
      error: {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        message: "Resource has been exhausted (e.g. check quota).",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "30s" }],
      },
    });
  }
  json(res, 200, { name: `customers/${CUSTOMER_ID}/operations/${step[1]!.split("/").pop()}` });
}

const server = createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => {
    raw += chunk;
  });
  req.on("end", () => {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const request = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, raw, body };
    received.push(request);
    if (request.path.startsWith("/v25.0/")) return metaAnswer(request, res);
    if (request.path.startsWith("/v17/")) return googleAnswer(request, res);
    json(res, 404, { error: { message: "not found" } });
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
  googleJobs.clear();
});

function members(count: number, shape: { email?: boolean; phone?: boolean } = {}): AdAudienceMember[] {
  const { email = true, phone = false } = shape;
  return Array.from({ length: count }, (_, i) => ({
    contactId: `c${i}`,
    email: email ? `user${i}@example.com` : null,
    phone: phone ? `+1415${String(i).padStart(7, "0")}` : null,
  }));
}

const change = (destination: string, overrides: Partial<AdAudienceChange> = {}): AdAudienceChange => ({
  destination,
  add: members(3, { phone: true }),
  remove: [],
  idempotencyKey: `ad:${destination}:run-1`,
  ...overrides,
});

const meta = (overrides: Partial<Parameters<typeof createMetaAudienceChannel>[0]> = {}) =>
  createMetaAudienceChannel({ baseUrl, accessToken: META_TOKEN, ...overrides });

const google = (overrides: Partial<Parameters<typeof createGoogleCustomerMatchChannel>[0]> = {}) =>
  createGoogleCustomerMatchChannel({
    baseUrl,
    accessToken: GOOGLE_TOKEN,
    developerToken: DEVELOPER_TOKEN,
    customerId: CUSTOMER_ID,
    ...overrides,
  });

const reasonOf = (result: { kind: string; reason?: string }) => result.reason ?? "";

describe("hashing for ad platforms", () => {
  it("hashes a trimmed, lowercased email with SHA-256 as lowercase hex", () => {
    const expected = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b";
    expect(sha256("test@example.com")).toBe(expected);
    expect(hashEmailForAds("test@example.com", "meta")).toBe(expected);
    expect(hashEmailForAds("  Test@Example.COM\t", "meta")).toBe(expected);
    expect(hashEmailForAds("  Test@Example.COM\t", "google")).toBe(expected);
  });

  it("removes dots and a +tag from Gmail usernames for Google only", () => {
    expect(normaliseEmailForAds(" Jane.Doe+ads@Gmail.com ", "google")).toBe("janedoe@gmail.com");
    expect(normaliseEmailForAds("j.a.n.e@googlemail.com", "google")).toBe("jane@googlemail.com");
    expect(normaliseEmailForAds(" Jane.Doe+ads@Gmail.com ", "meta")).toBe("jane.doe+ads@gmail.com");
    // Other domains may treat dots and tags as significant: left alone.
    expect(normaliseEmailForAds("jane.doe+ads@example.com", "google")).toBe("jane.doe+ads@example.com");
    expect(normaliseEmailForAds("jane.doe@gmail.com.example.org", "google")).toBe(
      "jane.doe@gmail.com.example.org",
    );
    expect(hashEmailForAds("Jane.Doe+ads@gmail.com", "google")).toBe(sha256("janedoe@gmail.com"));
    expect(hashEmailForAds("Jane.Doe+ads@gmail.com", "meta")).toBe(sha256("jane.doe+ads@gmail.com"));
  });

  it("turns an E.164 phone into digits for Meta and keeps the plus for Google", () => {
    expect(normalisePhoneForAds("+14155550101", "meta")).toBe("14155550101");
    expect(normalisePhoneForAds("+14155550101", "google")).toBe("+14155550101");
    expect(normalisePhoneForAds(" +44 20 7946-0958 ", "meta")).toBe("442079460958");
    expect(hashPhoneForAds("+14155550101", "meta")).toBe(sha256("14155550101"));
    expect(hashPhoneForAds("+14155550101", "google")).toBe(sha256("+14155550101"));
  });

  it("refuses what is not an email address or an E.164 number rather than hash it", () => {
    expect(hashEmailForAds("not an email", "meta")).toBeNull();
    expect(hashEmailForAds("", "google")).toBeNull();
    expect(hashEmailForAds("+tag@gmail.com", "google")).toBeNull();
    expect(hashPhoneForAds("4155550101", "meta")).toBeNull(); // no country code: can't be guessed here
    expect(hashPhoneForAds("+0123456789", "google")).toBeNull();
    expect(hashPhoneForAds("+1415555010199999", "google")).toBeNull(); // longer than 15 digits
  });

  it("normalises a whole member per platform", () => {
    const member = { email: "J.Doe+x@GMAIL.com", phone: "+14155550101" };
    expect(normaliseForMeta(member)).toEqual({ email: "j.doe+x@gmail.com", phone: "14155550101" });
    expect(normaliseForGoogle(member)).toEqual({ email: "jdoe@gmail.com", phone: "+14155550101" });
    expect(normaliseForGoogle({ email: null, phone: null })).toEqual({ email: null, phone: null });
  });
});

describe("hashedAudienceCsv", () => {
  const list: AdAudienceMember[] = [
    { contactId: "a", email: "test@example.com", phone: "+14155550101" },
    { contactId: "b", email: null, phone: "+14155550102" },
    { contactId: "c", email: "J.Doe@gmail.com", phone: null },
    { contactId: "d", email: null, phone: null },
    { contactId: "e", email: "nonsense", phone: "415" },
  ];

  it("writes a header and one hashed row per member with an identifier", () => {
    expect(hashedAudienceCsv(list, "meta")).toBe(
      [
        "email_sha256,phone_sha256",
        `${sha256("test@example.com")},${sha256("14155550101")}`,
        `,${sha256("14155550102")}`,
        `${sha256("j.doe@gmail.com")},`,
        "",
      ].join("\r\n"),
    );
    const googleRows = hashedAudienceCsv(list, "google").split("\r\n");
    expect(googleRows[1]).toBe(`${sha256("test@example.com")},${sha256("+14155550101")}`);
    expect(googleRows[3]).toBe(`${sha256("jdoe@gmail.com")},`);
    expect(googleRows).toHaveLength(5);
  });

  it("is only a header for an empty audience", () => {
    expect(hashedAudienceCsv([], "google")).toBe("email_sha256,phone_sha256\r\n");
  });
});

describe("createMetaAudienceChannel", () => {
  it("adds 25,000 members in three batches of one session, with a Bearer token and hashed rows", async () => {
    const result = await meta().sync(change("6001", { add: members(25_000, { phone: true }) }));

    const sessionId = metaSessionId("ad:6001:run-1", "add");
    expect(result).toMatchObject({ kind: "sent", providerMessageId: String(sessionId) });
    expect(received).toHaveLength(3);
    for (const [index, request] of received.entries()) {
      expect(request.method).toBe("POST");
      expect(request.path).toBe("/v25.0/6001/users");
      expect(request.headers.authorization).toBe(`Bearer ${META_TOKEN}`);
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.body.payload.schema).toEqual(["EMAIL", "PHONE"]);
      expect(request.body.session).toEqual({
        session_id: sessionId,
        batch_seq: index + 1,
        last_batch_flag: index === 2,
        estimated_num_total: 25_000,
      });
      expect(request.raw).not.toContain("@");
    }
    expect(received.map((r) => r.body.payload.data.length)).toEqual([10_000, 10_000, 5_000]);
    expect(received[0]!.body.payload.data[1]).toEqual([sha256("user1@example.com"), sha256("14150000001")]);
    expect(received[2]!.body.payload.data.at(-1)).toEqual([
      sha256("user24999@example.com"),
      sha256("14150024999"),
    ]);
  });

  it("removes leavers with DELETE in their own session, and a retry reuses both sessions", async () => {
    const sync = change("6002", {
      add: [{ contactId: "a", email: "a@example.com", phone: null }],
      remove: [
        { contactId: "b", email: null, phone: "+14155550102" },
        { contactId: "c", email: null, phone: null },
      ],
    });
    const first = await meta().sync(sync);
    const retry = await meta().sync(sync);

    const add = metaSessionId(sync.idempotencyKey, "add");
    const remove = metaSessionId(sync.idempotencyKey, "remove");
    expect(add).not.toBe(remove);
    expect(Number.isSafeInteger(add) && add > 0).toBe(true);
    expect(first).toMatchObject({ kind: "sent", providerMessageId: `${add},${remove}` });
    expect(retry).toEqual(first);
    expect(received.map((r) => [r.method, r.body.session.session_id])).toEqual([
      ["POST", add],
      ["DELETE", remove],
      ["POST", add],
      ["DELETE", remove],
    ]);
    expect(received[0]!.body.payload.data).toEqual([[sha256("a@example.com"), ""]]);
    expect(received[1]!.body.payload.data).toEqual([["", sha256("14155550102")]]);
    expect(received[1]!.body.session).toMatchObject({ batch_seq: 1, last_batch_flag: true });
  });

  it("sends nothing when no member has a usable identifier", async () => {
    const result = await meta().sync(
      change("6003", { add: [{ contactId: "a", email: null, phone: "4155550101" }], remove: [] }),
    );
    expect(result).toMatchObject({ kind: "sent", providerMessageId: "" });
    expect(received).toHaveLength(0);
  });

  it("reports a 429 as retryable after the Retry-After delay", async () => {
    const result = await meta().sync(change("aud-429"));
    expect(result).toMatchObject({ kind: "retryable", retryAfterMs: 7000 });
    expect(reasonOf(result)).toContain("Too many requests");
  });

  it("reports Meta's throttling error codes as retryable even under HTTP 400", async () => {
    const result = await meta().sync(change("aud-throttled"));
    expect(result).toEqual({
      kind: "retryable",
      reason: "HTTP 400: Meta error 80003/2446079: There have been too many calls to this ad-account.",
    });
  });

  it("reports a 5xx as retryable and stops at the first failed batch", async () => {
    const result = await meta().sync(change("aud-500", { add: members(25_000) }));
    expect(result).toMatchObject({ kind: "retryable" });
    expect(reasonOf(result)).toContain("An unexpected error has occurred.");
    expect(received).toHaveLength(1);
  });

  it("reports any other 4xx as permanent with Meta's message", async () => {
    const result = await meta().sync(change("aud-400"));
    expect(result).toEqual({
      kind: "permanent",
      reason:
        "HTTP 400: Meta error 100/1713230: Invalid parameter (Before updating user memberships, you must resolve integrity restrictions)",
    });
  });

  it("reports a bad token as an authentication failure without revealing any token", async () => {
    const wrong = "EAAB-wrong-token-fedcba9876543210";
    const result = await meta({ accessToken: wrong }).sync(change("6004"));
    expect(result).toMatchObject({ kind: "permanent" });
    expect(reasonOf(result)).toContain("authentication failed: HTTP 400: Meta error 190");
    expect(reasonOf(result)).not.toContain(wrong);
    expect(received[0]!.path).not.toContain("access_token");
  });

  it("redacts the token when a server echoes the credentials back", async () => {
    const result = await meta().sync(change("aud-echo"));
    expect(reasonOf(result)).toContain("[redacted]");
    expect(reasonOf(result)).not.toContain(META_TOKEN);
  });

  it("reports a request that gets no answer in time as retryable", async () => {
    const result = await meta({ timeoutMs: 100 }).sync(change("aud-hang"));
    expect(result).toEqual({ kind: "retryable", reason: "no answer within 100 ms" });
  });

  it("reports a server that is down as retryable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await meta({ baseUrl: `http://127.0.0.1:${deadPort}` }).sync(change("6005"));
    expect(result).toMatchObject({ kind: "retryable" });
    expect(reasonOf(result)).toContain("ECONNREFUSED");
  });
});

describe("createGoogleCustomerMatchChannel", () => {
  it("creates a job, adds 25,000 members in three requests and runs it", async () => {
    const result = await google().sync(change("7001", { add: members(25_000) }));

    expect(result).toMatchObject({
      kind: "sent",
      providerMessageId: `customers/${CUSTOMER_ID}/offlineUserDataJobs/1`,
    });
    const job = `customers/${CUSTOMER_ID}/offlineUserDataJobs/1`;
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v17/customers/${CUSTOMER_ID}/offlineUserDataJobs:create`,
      `POST /v17/${job}:addOperations`,
      `POST /v17/${job}:addOperations`,
      `POST /v17/${job}:addOperations`,
      `POST /v17/${job}:run`,
    ]);
    for (const request of received) {
      expect(request.headers.authorization).toBe(`Bearer ${GOOGLE_TOKEN}`);
      expect(request.headers["developer-token"]).toBe(DEVELOPER_TOKEN);
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers["login-customer-id"]).toBeUndefined();
      expect(request.raw).not.toContain("@");
    }
    expect(received[0]!.body).toEqual({
      job: {
        type: "CUSTOMER_MATCH_USER_LIST",
        customerMatchUserListMetadata: { userList: `customers/${CUSTOMER_ID}/userLists/7001` },
      },
    });
    const batches = received.slice(1, 4).map((r) => r.body.operations);
    expect(batches.map((b) => b.length)).toEqual([10_000, 10_000, 5_000]);
    expect(batches[0][0]).toEqual({
      create: { userIdentifiers: [{ hashedEmail: sha256("user0@example.com") }] },
    });
  });

  it("keeps each request within 10,000 identifiers without splitting a member's identifiers", async () => {
    const result = await google().sync(change("7002", { add: members(12_000, { phone: true }) }));

    expect(result).toMatchObject({ kind: "sent" });
    const batches = received.filter((r) => r.path.endsWith(":addOperations")).map((r) => r.body.operations);
    expect(batches.map((b) => b.length)).toEqual([5_000, 5_000, 2_000]);
    for (const batch of batches) {
      const identifiers = batch.flatMap(
        (op: { create: { userIdentifiers: unknown[] } }) => op.create.userIdentifiers,
      );
      expect(identifiers.length).toBeLessThanOrEqual(10_000);
    }
    expect(batches[0][7]).toEqual({
      create: {
        userIdentifiers: [
          { hashedEmail: sha256("user7@example.com") },
          { hashedPhoneNumber: sha256("+14150000007") },
        ],
      },
    });
  });

  it("removes leavers in a job of their own, through a manager account and with consent", async () => {
    const result = await google({
      customerId: "123-456-7890",
      loginCustomerId: "999-888-7777",
      consent: { adUserData: "GRANTED", adPersonalization: "GRANTED" },
    }).sync(
      change("7003", {
        add: [{ contactId: "a", email: "Jane.Doe+shop@gmail.com", phone: null }],
        remove: [{ contactId: "b", email: null, phone: "+14155550102" }],
      }),
    );

    const addJob = `customers/${CUSTOMER_ID}/offlineUserDataJobs/1`;
    const removeJob = `customers/${CUSTOMER_ID}/offlineUserDataJobs/2`;
    expect(result).toMatchObject({ kind: "sent", providerMessageId: `${addJob},${removeJob}` });
    expect(received.map((r) => r.path)).toEqual([
      `/v17/customers/${CUSTOMER_ID}/offlineUserDataJobs:create`,
      `/v17/${addJob}:addOperations`,
      `/v17/${addJob}:run`,
      `/v17/customers/${CUSTOMER_ID}/offlineUserDataJobs:create`,
      `/v17/${removeJob}:addOperations`,
      `/v17/${removeJob}:run`,
    ]);
    expect(received[0]!.headers["login-customer-id"]).toBe("9998887777");
    expect(received[0]!.body.job.customerMatchUserListMetadata).toEqual({
      userList: `customers/${CUSTOMER_ID}/userLists/7003`,
      consent: { adUserData: "GRANTED", adPersonalization: "GRANTED" },
    });
    expect(received[1]!.body.operations).toEqual([
      { create: { userIdentifiers: [{ hashedEmail: sha256("janedoe@gmail.com") }] } },
    ]);
    expect(received[4]!.body.operations).toEqual([
      { remove: { userIdentifiers: [{ hashedPhoneNumber: sha256("+14155550102") }] } },
    ]);
  });

  it("reports a 429 as retryable after the Retry-After delay", async () => {
    const result = await google().sync(change("list-429"));
    expect(result).toEqual({
      kind: "retryable",
      reason: "HTTP 429 RESOURCE_EXHAUSTED: Too many requests",
      retryAfterMs: 12_000,
    });
    expect(received).toHaveLength(1);
  });

  it("honours Google's retryDelay when there is no Retry-After header", async () => {
    const result = await google().sync(change("list-quota"));
    expect(result).toMatchObject({ kind: "retryable", retryAfterMs: 30_000 });
  });

  it("reports a 400 as permanent with Google's error message", async () => {
    const result = await google().sync(change("list-400"));
    expect(result).toEqual({
      kind: "permanent",
      reason:
        "HTTP 400 INVALID_ARGUMENT: The user list ID provided for the job is invalid. (offlineUserDataJobError INVALID_USER_LIST_ID, request req-42)",
    });
  });

  it("reports a 5xx as retryable and never runs a job whose operations failed", async () => {
    const result = await google().sync(change("list-500", { add: members(25_000) }));
    expect(result).toMatchObject({
      kind: "retryable",
      reason: "HTTP 500 INTERNAL: Internal error encountered.",
    });
    expect(received.map((r) => r.path.split(":").pop())).toEqual(["create", "addOperations"]);
  });

  it("reports bad credentials as an authentication failure without revealing any token", async () => {
    const wrong = "ya29.wrong-token-fedcba9876543210";
    const result = await google({ accessToken: wrong }).sync(change("7004"));
    expect(result).toMatchObject({ kind: "permanent" });
    expect(reasonOf(result)).toContain("authentication failed: HTTP 401 UNAUTHENTICATED");
    expect(reasonOf(result)).not.toContain(wrong);
    expect(reasonOf(result)).not.toContain(DEVELOPER_TOKEN);
  });

  it("reports a request that gets no answer as retryable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await google({ baseUrl: `http://127.0.0.1:${deadPort}` }).sync(change("7005"));
    expect(result).toMatchObject({ kind: "retryable" });
    expect(reasonOf(result)).toContain("ECONNREFUSED");
  });
});

describe("what leaves the process", () => {
  it("never contains an unhashed email or phone number", async () => {
    const people: AdAudienceMember[] = [
      { contactId: "a", email: "Alice.Smith+promo@gmail.com", phone: "+14155550123" },
      { contactId: "b", email: "bob@example.com", phone: "+442079460958" },
      { contactId: "c", email: null, phone: "+61291234567" },
    ];
    const sync = change("8001", { add: people.slice(0, 2), remove: people.slice(2) });
    expect(await meta().sync(sync)).toMatchObject({ kind: "sent" });
    expect(await google().sync(sync)).toMatchObject({ kind: "sent" });

    const plain = people.flatMap((p) => {
      const values: string[] = [];
      if (p.email) values.push(p.email, p.email.toLowerCase(), "alicesmith", "bob@");
      if (p.phone) values.push(p.phone, p.phone.slice(1));
      return values;
    });
    expect(received.length).toBeGreaterThanOrEqual(6);
    for (const request of received) {
      const everything = `${request.path}\n${JSON.stringify(request.headers)}\n${request.raw}`.toLowerCase();
      for (const value of plain) expect(everything).not.toContain(value.toLowerCase());
      expect(request.raw).not.toContain("@");
    }
    // Every identifier sent is a SHA-256 hex digest.
    const metaValues = received
      .filter((r) => r.path.startsWith("/v25.0/"))
      .flatMap((r) => r.body.payload.data.flat())
      .filter((v: string) => v !== "");
    const googleValues = received
      .filter((r) => r.path.endsWith(":addOperations"))
      .flatMap((r) => r.body.operations)
      .flatMap((op: Record<string, { userIdentifiers: Record<string, string>[] }>) =>
        Object.values(op).flatMap((o) => o.userIdentifiers.flatMap((id) => Object.values(id))),
      );
    expect(metaValues).toHaveLength(5);
    expect(googleValues).toHaveLength(5);
    for (const value of [...metaValues, ...googleValues]) expect(value).toMatch(HEX64);
  });
});
