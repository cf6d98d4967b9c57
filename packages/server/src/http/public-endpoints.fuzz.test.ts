/**
 * A fuzz pass over every endpoint that answers without credentials: the tracking endpoints (pixel,
 * clicks, short links, PURLs, unsubscribe, preference centre), the provider webhooks under /hooks
 * (Twilio inbound and status, signed and not; each email feedback format), the sign-in endpoints
 * (setup, sessions, invitations, the single sign-on start and callback), the health probes, and random
 * paths. Random tokens (valid, of another kind, altered, garbage, too long), headers, query strings and
 * bodies (JSON, forms, multipart, garbage, huge, wrong content types) must never get a 5xx, and every
 * answer must be well formed: a content type, JSON that parses, a problem whose status is the
 * response's, a whole HTML page; and no 4xx may log an error.
 *
 * A fixed seed keeps a run reproducible; a failure prints the request and the server's error log.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { setSender } from "@omneural/core/delivery/sender.service";
import { emailHookToken } from "@omneural/core/responses/email-feedback";
import { twilioSignature } from "@omneural/core/responses/inbound-sms";
import { clickToken, openToken, unsubscribeToken } from "@omneural/core/tracking/tokens";
import fc from "fast-check";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";
import { buildApp } from "./app.ts";

const PUBLIC_URL = "http://omneural.test";
const TWILIO_TOKEN = "installation-auth-token-0123456789";
const t = useTestApp({
  PUBLIC_URL,
  TWILIO_URL: `https://AC00000000000000000000000000000001:${TWILIO_TOKEN}@api.twilio.test`,
});

// FUZZ_SEED and FUZZ_RUNS (a multiplier) explore further by hand; the defaults keep the run short.
const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const RUNS = { tracking: 400 * SCALE, hooks: 300 * SCALE, session: 300 * SCALE, random: 250 * SCALE };

// The app under test logs to memory, so that a failure can show the error behind a 5xx.
const errors: string[] = [];
let app: FastifyInstance;
// A stand-in build of the web app, so that the catch-all serves a page (not "not built yet").
const webRoot = mkdtempSync(path.join(tmpdir(), "omneural-fuzz-web-"));
writeFileSync(
  path.join(webRoot, "index.html"),
  "<!doctype html><title>Omneural</title><div id=root></div></html>",
);

const valid: {
  open: string;
  click: string;
  unsubscribe: string[];
  emailHook: string;
  invitation: string;
  contactId: string;
} = { open: "", click: "", unsubscribe: [], emailHook: "", invitation: "", contactId: "" };

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const line = String(chunk);
      if (/"level":(50|60)/.test(line)) errors.push(line);
      done();
    },
  });
  app = await buildApp({ deps: t.app.deps, logger: pino({ level: "warn" }, sink), webRoot });
  const keys = t.app.deps.keys.links;
  const contact = await t.asA({
    method: "POST",
    url: "/api/v1/contacts",
    payload: { email: "fuzz@example.com" },
  });
  valid.contactId = contact.json().id;
  const messageId = "0193b0c4-7d6e-7000-8000-00000000f022";
  valid.open = openToken(keys, { workspaceId: t.a.id, messageId });
  valid.click = clickToken(keys, { workspaceId: t.a.id, messageId, index: 0, url: "https://shop.example/" });
  valid.unsubscribe = (["email", "sms", "mail", "ads"] as const).map((channel) =>
    unsubscribeToken(keys, {
      workspaceId: t.a.id,
      contactId: valid.contactId,
      messageId: null,
      channel,
      issuedAt: new Date(),
    }),
  );
  valid.emailHook = emailHookToken(keys, t.a.id);
  await setSender(
    t.database.handle.db,
    { id: t.a.id, defaultCountry: "US", defaultTimezone: "America/New_York" },
    {
      fromAddress: "news@acme.example",
      postalAddress: "1 High Street, Springfield",
      smsFrom: "+14155550100",
    },
  );
  const invited = await t.asA({
    method: "POST",
    url: "/api/v1/team/invitations",
    payload: { email: "invitee@team.example", role: "marketer" },
  });
  valid.invitation = new URL(invited.json().link).pathname.split("/").pop()!;
});
afterAll(async () => {
  await app?.close();
  rmSync(webRoot, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------
// Arbitraries

const printable = (maxLength: number) =>
  fc.string({ unit: "binary-ascii", maxLength }).map((s) => s.replace(/[^\x20-\x7e]/g, ""));
const anyText = (maxLength: number) =>
  fc.oneof(fc.string({ maxLength }), fc.string({ unit: "binary", maxLength }), printable(maxLength));

/** A path segment: encoded text, raw characters (malformed escapes among them), or very long. */
const segment = fc.oneof(
  { weight: 4, arbitrary: anyText(60).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_\-.~%!$&'()*+,;=:@]{0,40}$/) },
  { weight: 1, arbitrary: fc.constantFrom("..", ".", "%", "%zz", "%E0%A4%A", "%00", "%2F", "%C0%AF", "") },
  { weight: 1, arbitrary: fc.integer({ min: 4000, max: 5000 }).map((n) => "A".repeat(n)) },
);

/** Altered copies of a valid token: one character changed, cut short, extended, or another token's tail. */
function tokenLike(...tokens: (() => string)[]) {
  const base = fc.constantFrom(...tokens);
  return fc.oneof(
    { weight: 5, arbitrary: base.map((f) => f()) },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), fc.constantFrom("A", "_", "-", "0", "z")).map(([f, i, c]) => {
        const token = f();
        const at = i % token.length;
        return token.slice(0, at) + c + token.slice(at + 1);
      }),
    },
    { weight: 1, arbitrary: fc.tuple(base, fc.nat()).map(([f, n]) => f().slice(0, n % (f().length + 1))) },
    { weight: 1, arbitrary: fc.tuple(base, segment).map(([f, s]) => f() + s) },
    { weight: 3, arbitrary: segment },
  );
}

const trackingToken = tokenLike(
  () => valid.open,
  () => valid.click,
  () => valid.unsubscribe[0]!,
  () => valid.unsubscribe[1]!,
  () => valid.unsubscribe[2]!,
  () => valid.unsubscribe[3]!,
  () => valid.emailHook,
);

const queryString = fc.oneof(
  fc.constant(""),
  fc
    .dictionary(
      fc.oneof(
        fc.constantFrom("workspace", "code", "state", "error", "iss", "next", "filename"),
        printable(12),
      ),
      fc.oneof(fc.constantFrom("acme", "", "https://evil.example/"), anyText(40)),
      { maxKeys: 4 },
    )
    .map((d) => `?${new URLSearchParams(d).toString()}`),
  fc.stringMatching(/^\?[A-Za-z0-9=&%+;_.-]{0,60}$/),
);

const contentTypes = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=fuzz",
  "multipart/form-data",
  "text/plain",
  "text/csv",
  "application/xml",
  "application/octet-stream",
  "garbage",
  "",
  "application/problem+json",
  "*/*",
);

const formValue = fc.oneof(
  fc.constantFrom(
    "unsubscribe",
    "topic",
    "preferences",
    "on",
    "off",
    "One-Click",
    "",
    "0193b0c4-7d6e-7000-8000-000000000001",
  ),
  anyText(30),
);
const formField = fc.oneof(
  fc.constantFrom("confirm", "scope", "save", "email", "sms", "mail", "topics", "List-Unsubscribe"),
  fc.string({ maxLength: 40 }).map((id) => `topic:${id}`),
  anyText(12),
);
const formBody = fc
  .array(fc.tuple(formField, formValue), { maxLength: 8 })
  .map((pairs) => new URLSearchParams(pairs).toString());

/** A form the pages themselves would post, give or take a field. */
const pageForm = fc
  .record(
    {
      confirm: fc.constantFrom("unsubscribe", "yes"),
      scope: fc.constantFrom("topic", "channel"),
      "List-Unsubscribe": fc.constantFrom("One-Click", "one-click"),
      save: fc.constantFrom("preferences", "x"),
      email: fc.constantFrom("on", "off"),
      sms: fc.constantFrom("on", ""),
      mail: fc.constantFrom("on"),
      topics: fc.oneof(
        fc.array(fc.uuid(), { maxLength: 3 }).map((ids) => ids.join(",")),
        fc.array(anyText(20), { maxLength: 3 }).map((ids) => ids.join(",")),
      ),
    },
    { requiredKeys: [] },
  )
  .chain((fields) =>
    fc.array(fc.oneof(fc.uuid(), anyText(20)), { maxLength: 2 }).map((ids) => {
      const form = new URLSearchParams(fields as Record<string, string>);
      for (const id of [...(fields.topics ?? "").split(","), ...ids]) form.append(`topic:${id}`, "on");
      return form.toString();
    }),
  );

const multipartBody = fc
  .array(fc.tuple(formField, formValue), { maxLength: 4 })
  .map((pairs) =>
    [
      ...pairs.flatMap(([name, value]) => [
        "--fuzz",
        `Content-Disposition: form-data; name="${name}"`,
        "",
        value,
      ]),
      "--fuzz--",
      "",
    ].join("\r\n"),
  );

const huge = fc.constantFrom(17_000, 70_000, 1_100_000).map((n) => "x".repeat(n));

const anyBody = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null") },
  { weight: 3, arbitrary: formBody },
  { weight: 1, arbitrary: multipartBody },
  { weight: 2, arbitrary: anyText(200) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.constantFrom("{", "[", '{"a":', "null", "\u0000", "{}", "[]", '""') },
  { weight: 1, arbitrary: huge },
);

const extraHeaders = fc.record(
  {
    accept: fc.constantFrom("text/html", "application/json", "*/*", "image/*", "garbage"),
    "user-agent": printable(80),
    cookie: fc.oneof(
      printable(80),
      printable(60).map((v) => `omneural_session=${v}`),
      fc.uuid().map((v) => `omneural_session=${v}`),
    ),
    "x-csrf-token": printable(60),
    authorization: fc.oneof(
      printable(60),
      printable(40).map((v) => `Bearer ${v}`),
    ),
    "x-forwarded-for": printable(40),
    origin: fc.constantFrom("https://evil.example", "null", "http://omneural.test"),
    "x-request-id": printable(80),
    "accept-language": printable(30),
  },
  { requiredKeys: [] },
);

interface FuzzRequest {
  method: InjectOptions["method"];
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer | undefined;
}

function request(
  method: FuzzRequest["method"],
  url: string,
  contentType: string | undefined,
  body: string | Buffer | undefined,
  headers: Record<string, string>,
): FuzzRequest {
  return {
    method,
    url,
    headers: { ...headers, ...(contentType !== undefined ? { "content-type": contentType } : {}) },
    ...(body !== undefined && method !== "GET" && method !== "HEAD" ? { payload: body } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// The check

/** Which answers each route gave (method, route, status), to show that the inputs reach past refusals. */
const statuses = new Set<string>();
const routeOf = (url: string) =>
  url
    .split("?")[0]!
    .replace(/^\/(t\/[oc]|u|s|r|hooks\/email|api\/invitations)\/[^/]*/, "/$1/:x")
    .slice(0, 40);

function describeRequest(r: FuzzRequest): string {
  const body =
    r.payload === undefined ? "" : ` body(${r.payload.length}): ${String(r.payload).slice(0, 200)}`;
  return `${r.method} ${r.url.slice(0, 300)} headers: ${JSON.stringify(r.headers).slice(0, 400)}${body}`;
}

/** Sends the request; throws (with the server's error log) unless the answer is < 500 and well formed. */
async function check(r: FuzzRequest): Promise<LightMyRequestResponse> {
  errors.length = 0;
  let response: LightMyRequestResponse;
  try {
    response = await app.inject({ method: r.method, url: r.url, headers: r.headers, payload: r.payload });
  } catch (error) {
    throw new Error(`inject failed for ${describeRequest(r)}: ${(error as Error).message}`);
  }
  const problem = (what: string) =>
    new Error(
      `${what}\nrequest: ${describeRequest(r)}\nresponse: ${response.statusCode} ${String(response.headers["content-type"])} ${response.body.slice(0, 300)}\nlog: ${errors.join("\n").slice(0, 3000)}`,
    );
  if (response.statusCode >= 500 || response.statusCode < 200) throw problem("a 5xx (or no status)");
  const type = String(response.headers["content-type"] ?? "");
  if (r.method !== "HEAD" && response.body.length > 0 && type === "") throw problem("a body without a type");
  if (/json/.test(type) && r.method !== "HEAD") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw problem("JSON that does not parse");
    }
    if (/problem\+json/.test(type)) {
      const p = parsed as { status?: unknown; code?: unknown; type?: unknown };
      if (p.status !== response.statusCode || typeof p.code !== "string" || typeof p.type !== "string") {
        throw problem("a problem whose status or code is wrong");
      }
    }
  }
  if (
    /text\/html/.test(type) &&
    r.method !== "HEAD" &&
    !/^\s*(<!--[\s\S]*?-->\s*)?<!doctype html>[\s\S]*<\/html>\s*$/i.test(response.body)
  ) {
    throw problem("an HTML answer that is not a whole page");
  }
  if (errors.length) throw problem("an error logged for a 4xx");
  statuses.add(`${r.method} ${routeOf(r.url)} ${response.statusCode}`);
  return response;
}

const fuzz = <T>(arbitrary: fc.Arbitrary<T>, toRequest: (value: T) => FuzzRequest, numRuns: number) =>
  fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      await check(toRequest(value));
    }),
    { seed: SEED, numRuns, endOnFailure: true },
  );

// ---------------------------------------------------------------------------------------------------

describe("public endpoints under fuzzing", { timeout: 120_000 }, () => {
  it("tracking: pixel, clicks, short links, PURLs, unsubscribe and preferences", async () => {
    const route = fc.constantFrom(
      ["GET", "/t/o/"],
      ["HEAD", "/t/o/"],
      ["GET", "/t/c/"],
      ["HEAD", "/t/c/"],
      ["POST", "/t/c/"],
      ["GET", "/s/"],
      ["GET", "/r/"],
      ["GET", "/u/"],
      ["POST", "/u/"],
      ["GET", "/u/:/preferences"],
      ["POST", "/u/:/preferences"],
      ["PUT", "/u/"],
    ) as fc.Arbitrary<[FuzzRequest["method"], string]>;
    await fuzz(
      fc.record({
        route,
        token: trackingToken,
        query: queryString,
        contentType: contentTypes,
        body: fc.oneof(
          { weight: 4, arbitrary: pageForm },
          { weight: 2, arbitrary: formBody },
          { weight: 1, arbitrary: multipartBody },
          { weight: 2, arbitrary: anyBody },
        ),
        contentTypeForm: fc.boolean(),
        headers: extraHeaders,
      }),
      ({ route: [method, prefix], token, query, contentType, contentTypeForm, body, headers }) => {
        const path = prefix.includes(":") ? prefix.replace(":", token) : prefix + token;
        const type = contentTypeForm ? "application/x-www-form-urlencoded" : contentType;
        return request(method, path + query, type, body, headers);
      },
      RUNS.tracking,
    );
  });

  it("provider webhooks: Twilio inbound and status, signed or not; email feedback in every format", async () => {
    const phone = fc.oneof(
      fc.constantFrom("+14155550100", "+442079460100", "+14155552671", "+1", "12345", ""),
      printable(16),
    );
    const sid = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{32}$/).map((h) => `SM${h}`),
      printable(40),
    );
    const wellFormedTwilio = fc
      .record(
        {
          From: phone,
          To: phone,
          Body: fc.oneof(fc.constantFrom("STOP", "start", "HELP", "UNSUBSCRIBE", "yes"), anyText(160)),
          MessageSid: sid,
          AccountSid: fc.constantFrom("AC00000000000000000000000000000001", "ACother"),
          MessageStatus: fc.constantFrom("queued", "sent", "delivered", "undelivered", "failed", "read", "x"),
          ErrorCode: fc.oneof(fc.constantFrom("30003", "21610", ""), printable(8)),
          NumMedia: fc.oneof(fc.constantFrom("0", "1", "-1", "9999999999999999999"), printable(5)),
          OptOutType: fc.constantFrom("STOP", "START", "HELP", "x"),
        },
        { requiredKeys: [] },
      )
      .map((fields) => Object.entries(fields) as [string, string][]);
    const randomTwilio = fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            "From",
            "To",
            "Body",
            "MessageSid",
            "SmsSid",
            "AccountSid",
            "MessageStatus",
            "ErrorCode",
            "NumMedia",
            "OptOutType",
          ),
          printable(10),
        ),
        fc.oneof(
          fc.constantFrom(
            "+14155550100",
            "+442079460100",
            "STOP",
            "START",
            "HELP",
            "delivered",
            "failed",
            "undelivered",
            "30003",
            "SM123",
            "",
          ),
          anyText(40),
        ),
      ),
      { maxLength: 8 },
    );
    const twilioParams = fc.oneof(
      { weight: 3, arbitrary: wellFormedTwilio },
      { weight: 1, arbitrary: randomTwilio },
    );
    const address = fc.oneof(fc.emailAddress(), anyText(20), fc.constant("fuzz@example.com"));
    const date = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      anyText(20),
      fc.integer(),
    );
    const generic = fc.record({
      events: fc.array(
        fc.record(
          {
            type: fc.constantFrom("bounce", "complaint", "delivered", "x"),
            email: address,
            bounceType: fc.constantFrom("hard", "soft", "x"),
            messageId: anyText(30),
            reason: anyText(30),
            occurredAt: date,
            id: anyText(20),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
    });
    const sesMessage = fc.record(
      {
        notificationType: fc.constantFrom("Bounce", "Complaint", "Delivery", "Send", "x"),
        mail: fc.record(
          { messageId: anyText(20), commonHeaders: fc.record({ messageId: anyText(30) }) },
          { requiredKeys: [] },
        ),
        bounce: fc.record(
          {
            bounceType: fc.constantFrom("Permanent", "Transient"),
            bouncedRecipients: fc.array(fc.record({ emailAddress: address }), { maxLength: 3 }),
            timestamp: date,
          },
          { requiredKeys: [] },
        ),
        complaint: fc.record({
          complainedRecipients: fc.array(fc.record({ emailAddress: address }), { maxLength: 3 }),
        }),
        delivery: fc.record({ recipients: fc.array(address, { maxLength: 3 }), timestamp: date }),
      },
      { requiredKeys: [] },
    );
    const sns = fc.record(
      {
        Type: fc.constantFrom("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation", "x"),
        TopicArn: anyText(30),
        MessageId: anyText(20),
        SubscribeURL: anyText(40),
        Message: fc.oneof(
          sesMessage.map((m) => JSON.stringify(m)),
          anyText(40),
        ),
      },
      { requiredKeys: [] },
    );
    const sendgrid = fc.array(
      fc.record(
        {
          event: fc.constantFrom("bounce", "dropped", "spamreport", "delivered", "open", "x"),
          email: address,
          timestamp: fc.oneof(fc.integer(), date),
          reason: anyText(30),
          type: fc.constantFrom("blocked", "bounce"),
          "smtp-id": anyText(20),
          sg_event_id: anyText(20),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 4 },
    );
    const emailBody = fc.oneof(
      generic.map((b) => JSON.stringify(b)),
      sesMessage.map((b) => JSON.stringify(b)),
      sns.map((b) => JSON.stringify(b)),
      sendgrid.map((b) => JSON.stringify(b)),
      anyBody,
    );
    const twilio = fc.record({
      kind: fc.constant("twilio" as const),
      path: fc.constantFrom("/hooks/twilio/inbound", "/hooks/twilio/status"),
      query: queryString,
      params: twilioParams,
      signature: fc.constantFrom("valid", "none", "wrong"),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant("application/x-www-form-urlencoded") },
        { weight: 1, arbitrary: contentTypes },
      ),
      garbage: fc.option(anyBody, { freq: 5 }),
      headers: extraHeaders,
    });
    const email = fc.record({
      kind: fc.constant("email" as const),
      token: tokenLike(
        () => valid.emailHook,
        () => valid.open,
      ),
      query: queryString,
      body: emailBody,
      contentType: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom("application/json", "text/plain; charset=UTF-8") },
        { weight: 1, arbitrary: contentTypes },
      ),
      headers: extraHeaders,
    });
    await fuzz(
      fc.oneof(twilio, email),
      (value) => {
        if (value.kind === "email") {
          return request(
            "POST",
            `/hooks/email/${value.token}${value.query}`,
            value.contentType,
            value.body,
            value.headers,
          );
        }
        const body =
          value.garbage ??
          new URLSearchParams(value.params.map(([k, v]): [string, string] => [k, v])).toString();
        const url = `${value.path}${value.query}`;
        const signature: Record<string, string> =
          value.signature === "none"
            ? {}
            : {
                "x-twilio-signature":
                  value.signature === "valid" && typeof body === "string"
                    ? twilioSignature(TWILIO_TOKEN, PUBLIC_URL + url, [...new URLSearchParams(body)])
                    : "bm90IGEgc2lnbmF0dXJl",
              };
        return request("POST", url, value.contentType, body, { ...value.headers, ...signature });
      },
      RUNS.hooks,
    );
  });

  it("sign-in: setup, sessions, switching workspace, invitations", async () => {
    const email = fc.oneof(
      fc.emailAddress(),
      anyText(40),
      fc.constant("fuzz@example.com"),
      fc.constant("invitee@team.example"),
    );
    const password = fc.oneof(anyText(40), fc.constant("correct horse battery staple"), fc.constant(""));
    const signIn = fc.record({ email, password });
    const setup = fc.record(
      {
        name: anyText(40),
        email,
        password,
        workspaceName: anyText(40),
        defaultCountry: fc.oneof(fc.constantFrom("US", "GB", "XX", "", "us"), anyText(5)),
        defaultTimezone: fc.oneof(fc.constantFrom("UTC", "Europe/London", "Mars/Olympus", ""), anyText(20)),
      },
      { requiredKeys: ["name", "email", "password", "workspaceName"] },
    );
    const accept = fc.record({ name: anyText(40), password }, { requiredKeys: ["password"] });
    const switchTo = fc.record({ workspaceId: fc.oneof(fc.uuid(), fc.constant(t.a.id), anyText(20)) });
    /** The body each route takes, so that most requests get past validation. */
    const shapedFor = (path: string): fc.Arbitrary<unknown> =>
      path === "/api/setup"
        ? setup
        : path.endsWith("/accept")
          ? accept
          : path === "/api/session/workspace"
            ? switchTo
            : signIn;
    const credentials = fc.record(
      {
        email: fc.oneof(fc.emailAddress(), anyText(40), fc.constant("fuzz@example.com"), fc.integer()),
        password: fc.oneof(anyText(40), fc.constant("correct horse battery staple"), fc.constant(null)),
        name: anyText(40),
        workspaceName: anyText(40),
        defaultCountry: fc.oneof(fc.constantFrom("US", "GB", "XX", ""), anyText(5)),
        defaultTimezone: fc.oneof(fc.constantFrom("UTC", "Europe/London", "Mars/Olympus"), anyText(20)),
        workspaceId: fc.oneof(fc.uuid(), anyText(20)),
      },
      { requiredKeys: [] },
    );
    const route = fc.constantFrom(
      ["GET", "/api/setup"],
      ["POST", "/api/setup"],
      ["GET", "/api/session"],
      ["POST", "/api/session"],
      ["DELETE", "/api/session"],
      ["PUT", "/api/session/workspace"],
      ["GET", "/api/invitations/:"],
      ["POST", "/api/invitations/:/accept"],
      ["PATCH", "/api/session"],
      ["GET", "/api/session/sso/start"],
      ["GET", "/api/session/sso/callback"],
      ["GET", "/healthz"],
      ["GET", "/readyz"],
    ) as fc.Arbitrary<[FuzzRequest["method"], string]>;
    await fuzz(
      route.chain(([method, path]) =>
        fc.record({
          method: fc.constant(method),
          path: fc.constant(path),
          token: tokenLike(() => valid.invitation),
          query: queryString,
          body: fc.oneof(
            { weight: 4, arbitrary: shapedFor(path).map((c) => JSON.stringify(c)) },
            { weight: 1, arbitrary: credentials.map((c) => JSON.stringify(c)) },
            { weight: 2, arbitrary: anyBody },
          ),
          contentType: fc.oneof(
            { weight: 3, arbitrary: fc.constant("application/json") },
            { weight: 1, arbitrary: contentTypes },
          ),
          headers: extraHeaders,
        }),
      ),
      ({ method, path, token, query, body, contentType, headers }) =>
        request(method, path.replace(":", token) + query, contentType, body, headers),
      RUNS.session,
    );
  });

  it("reached the endpoints' work, not only their refusals", () => {
    // Each line: one of these answers was seen (an invitation is used once, so either is enough).
    for (const seen of [
      ["GET /t/o/:x 200"],
      ["GET /t/c/:x 302"],
      ["GET /u/:x 200"],
      ["GET /u/:x/preferences 200"],
      ["POST /u/:x/preferences 200"],
      ["POST /hooks/email/:x 200"],
      ["POST /hooks/twilio/inbound 200"],
      ["POST /api/session 401"],
      ["GET /api/invitations/:x 200", "POST /api/invitations/:x/accept 200"],
    ]) {
      expect(
        seen.some((answer) => statuses.has(answer)),
        seen.join(" or "),
      ).toBe(true);
    }
  });

  it("leaves responses the ingest can write, whatever came with them", async () => {
    // Responses recorded with garbage user agents and addresses are written (opens and clicks of this
    // made-up message are dropped by the ingest: no such message was sent), unsubscribes every one.
    expect(t.responses.recorded.length).toBeGreaterThan(0);
    await t.responses.flush();
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from events where workspace_id = ${t.a.id} and type = 'message.unsubscribed'`.execute(
      t.database.handle.db,
    );
    const unsubscribes = t.responses.recorded.filter((r) => r.kind === "unsubscribed").length;
    expect(unsubscribes).toBeGreaterThan(0);
    expect(rows[0]!.n).toBe(unsubscribes);
  });

  it("random paths and methods", async () => {
    const prefix = fc.constantFrom(
      "",
      "/t",
      "/t/o",
      "/t/c",
      "/u",
      "/s",
      "/r",
      "/hooks",
      "/hooks/twilio",
      "/hooks/email",
      "/api",
      "/api/v1",
      "/api/docs",
      "/assets",
    );
    await fuzz(
      fc.record({
        method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS") as fc.Arbitrary<
          FuzzRequest["method"]
        >,
        prefix,
        segments: fc.array(segment, { minLength: 0, maxLength: 4 }),
        query: queryString,
        body: anyBody,
        contentType: contentTypes,
        headers: extraHeaders,
      }),
      ({ method, prefix, segments, query, body, contentType, headers }) =>
        request(method, `${prefix}/${segments.join("/")}${query}`, contentType, body, headers),
      RUNS.random,
    );
  });
});
