/**
 * Ad audiences end to end: campaigns whose ads nodes add and remove members, dispatched to a real HTTP
 * server on loopback that speaks the Graph API's custom audience users endpoint and the Google Ads API's
 * offline user data jobs.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAdDestination, membersCsv, removeAdDestination } from "../ads/ad-destination.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { AppError } from "../shared/errors.ts";
import { drain, launchGraph, newWorkspaceContext, publishGraph } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { dispatchAdsBatch } from "./ads-dispatch.ts";
import { CircuitBreaker } from "./guards.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const at = (ms: number) => new Date(T0.getTime() + ms);

const META_TOKEN = "EAAB-meta-system-user-token-0123456789";
const GOOGLE_TOKEN = "ya29.google-oauth-token-0123456789";
const DEVELOPER_TOKEN = "dev-token-ABCDEF0123456789";
const CUSTOMER_ID = "1234567890";

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

// ---- A Graph-API- and Google-Ads-API-compatible server on loopback ----

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are inspected field by field
  body: any;
}
const received: Received[] = [];
/** Answers to give, in order, per Meta audience id; then a success. */
const scripted = new Map<string, { status: number; body: unknown; headers?: Record<string, string> }[]>();
let baseUrl = "";

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function answer(req: Received, res: ServerResponse) {
  const meta = /^\/v25\.0\/([^/]+)\/users$/.exec(req.path);
  if (meta) {
    if (req.headers.authorization !== `Bearer ${META_TOKEN}`) {
      return json(res, 400, { error: { message: "Invalid OAuth access token", code: 190 } });
    }
    const next = scripted.get(meta[1]!)?.shift();
    if (next) return json(res, next.status, next.body, next.headers);
    return json(res, 200, {
      audience_id: meta[1],
      session_id: req.body.session.session_id,
      num_received: req.body.payload.data.length,
      num_invalid_entries: 0,
    });
  }
  if (
    req.headers.authorization !== `Bearer ${GOOGLE_TOKEN}` ||
    req.headers["developer-token"] !== DEVELOPER_TOKEN
  ) {
    return json(res, 401, { error: { code: 401, status: "UNAUTHENTICATED", message: "no credential" } });
  }
  if (req.path === `/v17/customers/${CUSTOMER_ID}/offlineUserDataJobs:create`) {
    return json(res, 200, {
      resourceName: `customers/${CUSTOMER_ID}/offlineUserDataJobs/${received.length}`,
    });
  }
  if (/^\/v17\/customers\/\d+\/offlineUserDataJobs\/\d+:(addOperations|run)$/.test(req.path)) {
    return json(res, 200, {});
  }
  json(res, 404, { error: { code: 404, status: "NOT_FOUND", message: `no ${req.path}` } });
}

const server = createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => {
    raw += chunk;
  });
  req.on("end", () => {
    const entry: Received = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body: raw ? JSON.parse(raw) : undefined,
    };
    received.push(entry);
    answer(entry, res);
  });
});

const requestsTo = (pathPart: string) => received.filter((r) => r.path.includes(pathPart));

// ---- Workspace, contacts, destinations, campaigns ----

let ws: WorkspaceContext;
const options = () => ({ credentialsKey: TEST_KEYS.credentials, allowHosts: ["127.0.0.1"] });
const dispatch = (now: Date, extra: Partial<Parameters<typeof dispatchAdsBatch>[1]> = {}) =>
  dispatchAdsBatch(database.handle.db, {
    ...options(),
    now,
    random: () => 0.5,
    breakers: new Map(),
    ...extra,
  });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ws = await newWorkspaceContext(database.handle.db);
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterEach(async () => {
  // What a test leaves queued (retries) must not be dispatched by the next one.
  await sql`update messages set status = 'cancelled' where status = 'queued'`.execute(database.handle.db);
  received.length = 0;
  scripted.clear();
});

interface Person {
  email?: string;
  phone?: string;
  adsConsent?: string;
}

/** These people as contacts in a new list. */
async function listOf(people: Person[]): Promise<{ listId: string; contactIds: string[] }> {
  const db = database.handle.db;
  const listId = crypto.randomUUID();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${`list ${listId}`}, 'list')`.execute(
    db,
  );
  const contactIds: string[] = [];
  for (const p of people) {
    const id = crypto.randomUUID();
    contactIds.push(id);
    await sql`
      insert into contacts (workspace_id, id, email, phone, ads_consent)
      values (${ws.id}, ${id}, ${p.email ?? null}, ${p.phone ?? null}, ${p.adsConsent ?? "never_asked"})`.execute(
      db,
    );
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
      db,
    );
  }
  return { listId, contactIds };
}

let destinationCount = 0;
async function metaDestination(audienceId: string, extra: { baseUrl?: string } = {}) {
  return createAdDestination(
    database.handle.db,
    ws,
    {
      name: `Meta ${audienceId} ${++destinationCount}`,
      platform: "meta",
      audienceId,
      baseUrl: extra.baseUrl ?? baseUrl,
      credentials: { accessToken: META_TOKEN },
    },
    options(),
  );
}

const adsNode = (id: string, destination: string, next: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "send" as const,
  channel: "ads" as const,
  destination,
  ...extra,
  outlets: { next },
});

/** entry → add to `destination` → exit */
const addOnly = (destination: string, extra: Record<string, unknown> = {}): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "add" } },
    adsNode("add", destination, "done", extra),
    { id: "done", type: "exit", outlets: {} },
  ],
});

async function runCampaign(listId: string, graph: WorkflowGraph, now: Date) {
  const campaign = await launchGraph(database.handle.db, ws, listId, graph, now);
  await drain(database.handle.db, ws.id, campaign.id, { now });
  return campaign.id;
}

interface LedgerRow {
  contact_id: string;
  node_id: string;
  status: string;
  reason: string | null;
  provider: string | null;
  attempts: number;
  next_attempt_at: Date | null;
  details: Record<string, unknown>;
}

async function ledger(campaignId: string): Promise<LedgerRow[]> {
  const { rows } = await sql<LedgerRow>`
    select contact_id, node_id, status, reason, provider, attempts, next_attempt_at, details from messages
    where campaign_id = ${campaignId} order by queued_at, id`.execute(database.handle.db);
  return rows;
}

async function currentMembers(destinationId: string): Promise<string[]> {
  const { rows } = await sql<{ contact_id: string }>`
    select contact_id from ad_audience_members
    where destination_id = ${destinationId} and removed_at is null order by contact_id`.execute(
    database.handle.db,
  );
  return rows.map((r) => r.contact_id);
}

async function csvOf(destinationId: string, rules?: "meta" | "google") {
  let text = "";
  for await (const part of membersCsv(database.handle.db, ws, destinationId, rules)) text += part;
  return text;
}

async function outboxFor(recipient: string) {
  const { rows } = await sql<{ subject: string; content: Record<string, unknown> }>`
    select subject, content from outbox where workspace_id = ${ws.id} and channel = 'ads' and recipient = ${recipient}
    order by id`.execute(database.handle.db);
  return rows;
}

// ---- The tests ----

describe("dispatchAdsBatch", () => {
  it("adds a journey's members to a Meta audience, then removes them, with hashed identifiers", async () => {
    const destination = await metaDestination("6001");
    const { listId, contactIds } = await listOf([
      { email: "ann@example.com", phone: "+14155550101" },
      { email: "b.o.b+ads@gmail.com" },
      { phone: "+447700900123" },
      {},
      { email: "optout@example.com", adsConsent: "unsubscribed" },
    ]);
    const [ann, bob, cy, nobody, optout] = contactIds as [string, string, string, string, string];
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "add" } },
        adsNode("add", destination.id, "later"),
        { id: "later", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "remove" } },
        adsNode("remove", destination.id, "done", { audienceAction: "remove" }),
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const campaignId = await runCampaign(listId, graph, T0);
    const queued = await ledger(campaignId);
    expect(queued.map((r) => [r.node_id, r.status, r.details.audienceAction])).toEqual(
      Array(5).fill(["add", "queued", "add"]),
    );

    const added = await dispatch(at(MINUTE));
    expect(added).toMatchObject({ claimed: 5, sent: 3, skipped: 2, failed: 0 });
    const [call, ...more] = requestsTo("/6001/users");
    expect(more).toEqual([]);
    expect(call).toMatchObject({ method: "POST", path: "/v25.0/6001/users" });
    expect(call!.headers.authorization).toBe(`Bearer ${META_TOKEN}`);
    expect(call!.body.payload.schema).toEqual(["EMAIL", "PHONE"]);
    expect(call!.body.session).toMatchObject({ batch_seq: 1, last_batch_flag: true, estimated_num_total: 3 });
    expect([...call!.body.payload.data].sort()).toEqual(
      [
        [sha256("ann@example.com"), sha256("14155550101")],
        [sha256("b.o.b+ads@gmail.com"), ""],
        ["", sha256("447700900123")],
      ].sort(),
    );
    expect(JSON.stringify(call!.body)).not.toContain("ann@example.com");

    const rows = new Map((await ledger(campaignId)).map((r) => [r.contact_id, r]));
    for (const id of [ann, bob, cy]) expect(rows.get(id)).toMatchObject({ status: "sent", provider: "meta" });
    expect(rows.get(nobody)).toMatchObject({
      status: "skipped",
      reason: "the contact has neither an email address nor a phone number",
    });
    expect(rows.get(optout)).toMatchObject({ status: "skipped", reason: "ads consent is unsubscribed" });
    expect(await currentMembers(destination.id)).toEqual([ann, bob, cy].sort());
    expect(await outboxFor(destination.name)).toEqual([
      {
        subject: "add 3 members",
        content: expect.objectContaining({ platform: "meta", action: "add", members: 3, audienceId: "6001" }),
      },
    ]);
    expect(await csvOf(destination.id)).toBe(
      `email_sha256,phone_sha256\r\n${[
        [ann, `${sha256("ann@example.com")},${sha256("14155550101")}`],
        [bob, `${sha256("b.o.b+ads@gmail.com")},`],
        [cy, `,${sha256("447700900123")}`],
      ]
        .sort(([a], [b]) => (a! < b! ? -1 : 1))
        .map(([, line]) => `${line}\r\n`)
        .join("")}`,
    );

    // A day later the remove node takes them out again: everyone with an identifier, consent or not.
    await drain(database.handle.db, ws.id, campaignId, { now: at(DAY + MINUTE) });
    const removed = await dispatch(at(DAY + 2 * MINUTE));
    expect(removed).toMatchObject({ claimed: 5, sent: 4, skipped: 1 });
    const deletes = requestsTo("/6001/users").filter((r) => r.method === "DELETE");
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.body.payload.data).toHaveLength(4);
    expect(deletes[0]!.body.payload.data).toContainEqual([sha256("optout@example.com"), ""]);
    expect(await currentMembers(destination.id)).toEqual([]);
    expect(await csvOf(destination.id)).toBe("email_sha256,phone_sha256\r\n");
    const final = (await ledger(campaignId)).filter((r) => r.node_id === "remove");
    expect(final.filter((r) => r.status === "sent")).toHaveLength(4);
    expect(final.every((r) => r.details.audienceAction === "remove")).toBe(true);
    expect((await outboxFor(destination.name)).map((o) => o.subject)).toEqual([
      "add 3 members",
      "remove 4 members",
    ]);
  });

  it("adds members to a Google Customer Match list through an offline user data job", async () => {
    const destination = await createAdDestination(
      database.handle.db,
      ws,
      {
        name: "Google lapsed buyers",
        platform: "google",
        audienceId: "555",
        customerId: "123-456-7890",
        baseUrl,
        credentials: { accessToken: GOOGLE_TOKEN, developerToken: DEVELOPER_TOKEN },
      },
      options(),
    );
    expect(destination).toMatchObject({ customerId: CUSTOMER_ID, credentialsSet: true });
    const { listId, contactIds } = await listOf([
      { email: "d.o.t.s+promo@gmail.com", phone: "+14155550199" },
      { email: "eve@example.com" },
    ]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 2, sent: 2 });

    expect(received.map((r) => r.path)).toEqual([
      `/v17/customers/${CUSTOMER_ID}/offlineUserDataJobs:create`,
      expect.stringMatching(/offlineUserDataJobs\/\d+:addOperations$/),
      expect.stringMatching(/offlineUserDataJobs\/\d+:run$/),
    ]);
    const [create, add] = received;
    expect(create!.headers).toMatchObject({
      authorization: `Bearer ${GOOGLE_TOKEN}`,
      "developer-token": DEVELOPER_TOKEN,
    });
    expect(create!.body.job.customerMatchUserListMetadata.userList).toBe(
      `customers/${CUSTOMER_ID}/userLists/555`,
    );
    expect(add!.body.operations).toEqual(
      expect.arrayContaining([
        {
          create: {
            userIdentifiers: [
              { hashedEmail: sha256("dots@gmail.com") },
              { hashedPhoneNumber: sha256("+14155550199") },
            ],
          },
        },
        { create: { userIdentifiers: [{ hashedEmail: sha256("eve@example.com") }] } },
      ]),
    );
    expect((await ledger(campaignId)).map((r) => [r.status, r.provider])).toEqual([
      ["sent", "google"],
      ["sent", "google"],
    ]);
    expect(await currentMembers(destination.id)).toEqual([...contactIds].sort());
    expect(await csvOf(destination.id)).toContain(`${sha256("dots@gmail.com")},${sha256("+14155550199")}`);
  });

  it("waits out a 429 with its Retry-After, then delivers exactly once", async () => {
    const destination = await metaDestination("6429");
    scripted.set("6429", [
      { status: 429, body: { error: { message: "Too many calls" } }, headers: { "Retry-After": "30" } },
    ]);
    const { listId } = await listOf([{ email: "rita@example.com" }, { email: "sam@example.com" }]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);

    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 2, retried: 2 });
    for (const row of await ledger(campaignId)) {
      expect(row).toMatchObject({ status: "queued", attempts: 1, next_attempt_at: at(MINUTE + 30 * SECOND) });
      expect(row.reason).toContain("HTTP 429");
    }
    expect(await dispatch(at(MINUTE + 10 * SECOND))).toMatchObject({ claimed: 0 });
    expect(await dispatch(at(MINUTE + 31 * SECOND))).toMatchObject({ claimed: 2, sent: 2 });
    expect(await dispatch(at(MINUTE + 5 * MINUTE))).toMatchObject({ claimed: 0 });

    const calls = requestsTo("/6429/users");
    expect(calls).toHaveLength(2);
    // The retry is the same change: the same session.
    expect(calls[1]!.body.session.session_id).toBe(calls[0]!.body.session.session_id);
    expect((await ledger(campaignId)).map((r) => [r.status, r.attempts])).toEqual([
      ["sent", 2],
      ["sent", 2],
    ]);
    expect(await currentMembers(destination.id)).toHaveLength(2);
    expect(await outboxFor(destination.name)).toHaveLength(1);
  });

  it("backs off exponentially after a 5xx, by the node's retry policy, then delivers", async () => {
    const destination = await metaDestination("6503");
    const unavailable = { status: 503, body: { error: { message: "Service temporarily unavailable" } } };
    scripted.set("6503", [unavailable, unavailable]);
    const { listId } = await listOf([{ email: "una@example.com" }]);
    const campaignId = await runCampaign(
      listId,
      addOnly(destination.id, { retry: { maxAttempts: 3, backoffSeconds: 60 } }),
      T0,
    );
    await dispatch(at(MINUTE));
    // random 0.5 is no jitter: 60 s, then 120 s.
    expect((await ledger(campaignId))[0]).toMatchObject({
      status: "queued",
      next_attempt_at: at(2 * MINUTE),
    });
    await dispatch(at(2 * MINUTE));
    expect((await ledger(campaignId))[0]).toMatchObject({
      status: "queued",
      next_attempt_at: at(4 * MINUTE),
    });
    await dispatch(at(4 * MINUTE));
    expect((await ledger(campaignId))[0]).toMatchObject({ status: "sent", attempts: 3 });
    expect(requestsTo("/6503/users")).toHaveLength(3);
  });

  it("gives up after the node's last attempt, with the last reason", async () => {
    const destination = await metaDestination("6504");
    scripted.set("6504", [{ status: 502, body: { error: { message: "Bad gateway" } } }]);
    const { listId } = await listOf([{ email: "last@example.com" }]);
    const campaignId = await runCampaign(
      listId,
      addOnly(destination.id, { retry: { maxAttempts: 1, backoffSeconds: 60 } }),
      T0,
    );
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 1, failed: 1 });
    expect((await ledger(campaignId))[0]).toMatchObject({
      status: "failed",
      reason: "meta: HTTP 502: Bad gateway (gave up after 1 attempts)",
    });
  });

  it("fails the rows at once with the platform's message on a permanent 400", async () => {
    const destination = await metaDestination("6400");
    scripted.set("6400", [
      {
        status: 400,
        body: { error: { message: "The custom audience does not exist", code: 100, error_subcode: 1713078 } },
      },
    ]);
    const { listId } = await listOf([{ email: "pat@example.com" }, { phone: "+14155550123" }]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 2, failed: 2 });
    for (const row of await ledger(campaignId)) {
      expect(row.status).toBe("failed");
      expect(row.reason).toBe("meta: HTTP 400: Meta error 100/1713078: The custom audience does not exist");
      expect(row.reason).not.toContain(META_TOKEN);
    }
    expect(await currentMembers(destination.id)).toEqual([]);
    expect(await outboxFor(destination.name)).toEqual([]);
  });

  it("stops calling a platform that keeps failing (circuit breaker), without spending attempts", async () => {
    const destination = await metaDestination("6500");
    const down = { status: 500, body: { error: { message: "down", code: 2, is_transient: true } } };
    scripted.set("6500", [down, down, down]);
    const { listId } = await listOf([{ email: "carl@example.com" }]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    const breakers = new Map([[`meta ${baseUrl}`, new CircuitBreaker(1, 10 * MINUTE)]]);
    await dispatch(at(MINUTE), { breakers });
    const [first] = await ledger(campaignId);
    expect(first).toMatchObject({ status: "queued", attempts: 1 });
    await dispatch(first!.next_attempt_at!, { breakers });
    const [held] = await ledger(campaignId);
    expect(held).toMatchObject({ status: "queued", attempts: 1, next_attempt_at: at(11 * MINUTE) });
    expect(held!.reason).toContain("circuit breaker");
    expect(requestsTo("/6500/users")).toHaveLength(1);
  });

  it("keeps a csv destination's membership without calling anything, for download", async () => {
    const destination = await createAdDestination(
      database.handle.db,
      ws,
      { name: "Newsletter lookalikes", platform: "csv" },
      options(),
    );
    const { listId } = await listOf([{ email: "Zoe.Q@Gmail.com" }, { phone: "+33612345678" }]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 2, sent: 2 });
    expect(received).toEqual([]);
    expect((await ledger(campaignId)).map((r) => [r.status, r.provider])).toEqual([
      ["sent", "csv"],
      ["sent", "csv"],
    ]);
    const csv = await csvOf(destination.id);
    expect(csv.split("\r\n").sort()).toEqual(
      ["", "email_sha256,phone_sha256", `${sha256("zoe.q@gmail.com")},`, `,${sha256("33612345678")}`].sort(),
    );
    expect(await csvOf(destination.id, "google")).toContain(`${sha256("zoeq@gmail.com")},`);
    expect(await outboxFor(destination.name)).toEqual([
      { subject: "add 2 members", content: expect.objectContaining({ platform: "csv", members: 2 }) },
    ]);
  });

  it("fails the rows of a destination that was deleted, with the reason", async () => {
    const destination = await createAdDestination(
      database.handle.db,
      ws,
      { name: "Soon gone", platform: "csv" },
      options(),
    );
    const { listId } = await listOf([{ email: "gone@example.com" }]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    await removeAdDestination(database.handle.db, ws, destination.id);
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 1, failed: 1 });
    expect((await ledger(campaignId))[0]).toMatchObject({
      status: "failed",
      reason: `ad destination ${destination.id} does not exist (it was deleted)`,
    });
  });

  it("skips a member erased after the row was queued", async () => {
    const destination = await metaDestination("6010");
    const { listId, contactIds } = await listOf([
      { email: "erase.me@example.com" },
      { email: "kept@example.com" },
    ]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    // Erasure deletes the contact's ledger rows too; one leased before it is found gone at send time.
    await sql`delete from contacts where workspace_id = ${ws.id} and id = ${contactIds[0]!}`.execute(
      database.handle.db,
    );
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 2, sent: 1, skipped: 1 });
    const rows = new Map((await ledger(campaignId)).map((r) => [r.contact_id, r]));
    expect(rows.get(contactIds[0]!)).toMatchObject({
      status: "skipped",
      reason: "the contact no longer exists (erased)",
    });
    expect(requestsTo("/6010/users")[0]!.body.payload.data).toEqual([[sha256("kept@example.com"), ""]]);
  });

  it("keeps one member's changes to an audience in order: a remove waits for the add before it", async () => {
    const destination = await metaDestination("6020");
    scripted.set("6020", [{ status: 503, body: { error: { message: "busy" } } }]);
    const { listId } = await listOf([{ email: "order@example.com" }]);
    // Add then remove in the same step: both rows are due at once.
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "add" } },
        adsNode("add", destination.id, "remove"),
        adsNode("remove", destination.id, "done", { audienceAction: "remove" }),
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const campaignId = await runCampaign(listId, graph, T0);
    expect(await dispatch(at(MINUTE))).toMatchObject({ claimed: 2, retried: 1, deferred: 1 });
    const [add, remove] = await ledger(campaignId);
    expect(add).toMatchObject({ node_id: "add", status: "queued", next_attempt_at: at(2 * MINUTE) });
    expect(remove).toMatchObject({ node_id: "remove", status: "queued", attempts: 0 });
    expect(remove!.reason).toContain("waits for an earlier change");
    // The add goes first, then the remove: the member ends up out of the audience.
    await dispatch(at(2 * MINUTE));
    await dispatch(at(2 * MINUTE + 10 * SECOND));
    expect((await ledger(campaignId)).map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(requestsTo("/6020/users").map((r) => r.method)).toEqual(["POST", "POST", "DELETE"]);
    expect(await currentMembers(destination.id)).toEqual([]);
  });

  it("refuses a base URL inside the network unless allow-listed", async () => {
    const destination = await metaDestination("6030");
    const { listId } = await listOf([{ email: "ssrf@example.com" }]);
    const campaignId = await runCampaign(listId, addOnly(destination.id), T0);
    expect(await dispatch(at(MINUTE), { allowHosts: [] })).toMatchObject({ failed: 1 });
    expect((await ledger(campaignId))[0]!.reason).toBe(
      "meta: 127.0.0.1 is a loopback address 127.0.0.1; allow-list it with ADS_ALLOW_HOSTS to call it",
    );
    expect(received).toEqual([]);
  });
});

describe("publishing an ads journey", () => {
  it("refuses a workflow whose ads node names a destination that does not exist", async () => {
    const missing = "0190a5b8-3333-7000-8000-0000000000fe";
    const error = await publishGraph(database.handle.db, ws, addOnly(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("WORKFLOW_INVALID");
    expect((error as AppError).extra.errors).toEqual([
      {
        nodeId: "add",
        field: "nodes[1].destination",
        message: `node "add": ad destination ${missing} does not exist in this workspace`,
      },
    ]);
  });
});
