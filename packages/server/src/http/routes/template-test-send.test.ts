import { useTestSmtpServer } from "@omneural/core/testing/smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

// No SMTP_URL or TWILIO_URL: test sends go to the dev inbox, which GET /api/v1/outbox shows.
const t = useTestApp();

let contactA: string;
let welcome: string;
let nudge: string;
let letter: string;

async function createAsA(payload: object): Promise<string> {
  const response = await t.asA({ method: "POST", url: "/api/v1/templates", payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

const testSend = (id: string, payload: object) =>
  t.asA({ method: "POST", url: `/api/v1/templates/${id}/test-send`, payload });

async function setSender(as: typeof t.asA, smsFrom?: string) {
  const response = await as({
    method: "PUT",
    url: "/api/v1/workspace/sender",
    payload: {
      fromName: "Acme News",
      fromAddress: "news@acme.example",
      postalAddress: "1 High St, Springfield",
      ...(smsFrom ? { smsFrom } : {}),
    },
  });
  expect(response.statusCode, response.body).toBe(200);
}

beforeAll(async () => {
  contactA = (
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "grace@acme.example", firstName: "grace", attributes: { plan: "pro" } },
    })
  ).json().id;
  welcome = await createAsA({
    name: "Welcome",
    channel: "email",
    content: {
      subject: "Welcome, {{ firstName | capitalize }}",
      html: "<p>Your {{ attributes.plan | default: 'free' }} plan starts today.</p>",
    },
  });
  nudge = await createAsA({
    name: "Nudge",
    channel: "sms",
    content: { body: "Hi {{ firstName }}, your {{ attributes.plan | default: 'free' }} trial ends soon" },
  });
  letter = await createAsA({
    name: "Letter",
    channel: "mail",
    content: { layout: "letter", body: "Dear {{ firstName }}" },
  });
});

describe("POST /api/v1/templates/{id}/test-send", () => {
  it("is refused while the workspace has no sender identity, naming where to set it", async () => {
    const response = await testSend(welcome, { to: "qa@acme.example" });
    expect(response.statusCode).toBe(422);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    expect(response.json()).toMatchObject({
      code: "TEST_SEND_REFUSED",
      detail: expect.stringContaining("PUT /api/v1/workspace/sender"),
    });
  });

  it("sends an email now, with [Test] before its subject, to the dev inbox and not the ledger", async () => {
    await setSender(t.asA, "+12025550100");
    const response = await testSend(welcome, { to: "QA@acme.example", contactId: contactA });
    expect(response.statusCode, response.body).toBe(200);
    const sent = response.json();
    expect(sent).toMatchObject({
      channel: "email",
      to: "qa@acme.example",
      subject: "[Test] Welcome, Grace",
      bodyPreview: expect.stringContaining("Your pro plan starts today."),
      templateVersion: 1,
      provider: "dev-inbox",
      providerMessageId: expect.any(String),
    });
    const outbox = await t.asA({ method: "GET", url: "/api/v1/outbox?recipient=qa@acme.example" });
    expect(outbox.json().data).toEqual([
      expect.objectContaining({
        id: sent.providerMessageId,
        messageId: null,
        channel: "email",
        subject: "[Test] Welcome, Grace",
        content: expect.objectContaining({ html: expect.stringContaining("1 High St, Springfield") }),
        headers: expect.objectContaining({ From: '"Acme News" <news@acme.example>' }),
      }),
    ]);
    const { rows } = await t.database.handle.pool.query(
      "select count(*)::int as n from messages where workspace_id = $1",
      [t.a.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it("merges the given attributes over the sample contact's", async () => {
    const response = await testSend(welcome, { to: "qa2@acme.example", attributes: { plan: "gold" } });
    expect(response.json()).toMatchObject({
      subject: "[Test] Welcome, Ada",
      bodyPreview: expect.stringContaining("Your gold plan starts today."),
    });
  });

  it("sends an SMS to a phone number", async () => {
    const response = await testSend(nudge, { to: "(202) 555-0199", contactId: contactA });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      channel: "sms",
      to: "+12025550199",
      bodyPreview: "Hi grace, your pro trial ends soon",
    });
    expect(response.json().subject).toBeUndefined();
    const outbox = await t.asA({ method: "GET", url: "/api/v1/outbox?channel=sms&recipient=%2B12025550199" });
    expect(outbox.json().data).toMatchObject([
      { content: { body: "Hi grace, your pro trial ends soon" }, headers: { From: "+12025550100" } },
    ]);
  });

  it("refuses a mail template, an address of the wrong kind, and content that does not render", async () => {
    const mail = await testSend(letter, { to: "qa@acme.example" });
    expect(mail.statusCode).toBe(422);
    expect(mail.json().detail).toContain("a mail template cannot be sent to one address");
    const wrongAddress = await testSend(nudge, { to: "qa@acme.example" });
    expect(wrongAddress.statusCode).toBe(400);
    expect(wrongAddress.json().errors).toMatchObject([{ field: "to" }]);
    // The sample contact has a first name; a contact without one cannot fill "Hi {{ firstName }}".
    const anonymous = (
      await t.asA({ method: "POST", url: "/api/v1/contacts", payload: { email: "anon@acme.example" } })
    ).json().id;
    const unrenderable = await testSend(nudge, { to: "+12025550199", contactId: anonymous });
    expect(unrenderable.statusCode).toBe(422);
    expect(unrenderable.json()).toMatchObject({
      code: "TEST_SEND_REFUSED",
      errors: [{ field: "content.body", message: expect.stringContaining("firstName has no value") }],
    });
  });

  it("answers 404 for another workspace's template or contact", async () => {
    const theirs = await t.asB({
      method: "POST",
      url: `/api/v1/templates/${welcome}/test-send`,
      payload: { to: "bea@globex.example" },
    });
    expect(theirs.statusCode).toBe(404);
    const ownTemplate = await t.asB({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "B", channel: "sms", content: { body: "Hi" } },
    });
    const theirContact = await t.asB({
      method: "POST",
      url: `/api/v1/templates/${ownTemplate.json().id}/test-send`,
      payload: { to: "+447700900001", contactId: contactA },
    });
    expect(theirContact.statusCode).toBe(404);
    expect(theirContact.body).not.toContain("grace");
  });

  it("allows 20 test sends a minute per workspace, then answers 429 with Retry-After", async () => {
    // Workspace B has sent none.
    await setSender(t.asB);
    const template = await t.asB({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Burst", channel: "email", content: { subject: "Hi", html: "<p>Hi</p>" } },
    });
    const send = () =>
      t.asB({
        method: "POST",
        url: `/api/v1/templates/${template.json().id}/test-send`,
        payload: { to: "qa@globex.example" },
      });
    for (let i = 0; i < 20; i++) expect((await send()).statusCode).toBe(200);
    const limited = await send();
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: "RATE_LIMITED", detail: expect.stringContaining("20") });
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Workspace A's own limit is untouched.
    expect((await testSend(welcome, { to: "qa@acme.example" })).statusCode).toBe(200);
  });
});

describe("POST /api/v1/templates/{id}/test-send with the workspace's own SMTP account", () => {
  /** The workspace's SMTP server, on loopback: it has no mailbox gone@. */
  const mailbox = useTestSmtpServer();

  afterAll(async () => {
    // The app first: it holds a pooled connection to this server, which would keep it from closing.
    await t.app.close();
  });

  const useOwnSmtp = async () => {
    const response = await t.asA({
      method: "PUT",
      url: "/api/v1/workspace/providers/email",
      payload: {
        provider: "smtp",
        settings: { host: "127.0.0.1", port: mailbox.server.port },
      },
    });
    expect(response.statusCode, response.body).toBe(200);
  };

  it("goes through it as soon as it is set, not through the installation's provider", async () => {
    await setSender(t.asA);
    // Before: the installation's provider (the dev inbox).
    const before = await testSend(welcome, { to: "own@acme.example" });
    expect(before.json()).toMatchObject({ provider: "dev-inbox" });
    await useOwnSmtp();
    const response = await testSend(welcome, { to: "own@acme.example" });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ provider: "smtp", subject: "[Test] Welcome, Ada" });
    expect(mailbox.server.received).toHaveLength(1);
    expect(mailbox.server.received[0]!.subject).toBe("[Test] Welcome, Ada");
    expect(mailbox.server.received[0]!.from?.text).toBe('"Acme News" <news@acme.example>');
    expect(mailbox.server.received[0]!.text).toContain("1 High St, Springfield");
    // Not also put in the dev inbox.
    const outbox = await t.asA({ method: "GET", url: "/api/v1/outbox?recipient=own@acme.example" });
    expect(outbox.json().data).toHaveLength(1);
  });

  it("suppresses an address the server refuses for good (550 5.1.1), and refuses it from then on", async () => {
    const refused = await testSend(welcome, { to: "gone@acme.example" });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      code: "TEST_SEND_REFUSED",
      detail: expect.stringContaining("gone@acme.example is now suppressed on email"),
      errors: [{ field: "to" }],
    });
    const { rows } = await t.database.handle.pool.query(
      "select channel, reason, source from suppressions where workspace_id = $1 and address = $2",
      [t.a.id, "gone@acme.example"],
    );
    expect(rows).toEqual([
      { channel: "email", reason: expect.stringContaining("5.1.1"), source: "provider" },
    ]);
    const again = await testSend(welcome, { to: "gone@acme.example" });
    expect(again.statusCode).toBe(422);
    expect(again.json().detail).toContain("gone@acme.example is suppressed on email");
  });
});
