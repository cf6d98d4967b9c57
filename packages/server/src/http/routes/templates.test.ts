import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

const WELCOME_MJML = `<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hi {{ firstName | default: "there" }}, welcome to the {{ attributes.plan | default: "free" }} plan.</mj-text>
  <mj-button href="https://shop.example/?c={{ contact.id }}">Shop</mj-button>
</mj-column></mj-section></mj-body></mjml>`;

let contactA: string;
let contactB: string;
let welcome: string;
let nudge: string;

async function create(payload: object) {
  const response = await t.asA({ method: "POST", url: "/api/v1/templates", payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

beforeAll(async () => {
  contactA = (
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: {
        email: "grace@acme.example",
        firstName: "grace",
        phone: "+12025550123",
        attributes: { plan: "pro" },
      },
    })
  ).json().id;
  contactB = (
    await t.asB({ method: "POST", url: "/api/v1/contacts", payload: { email: "bea@globex.example" } })
  ).json().id;
  welcome = (
    await create({
      name: "Welcome",
      channel: "email",
      content: {
        subject: "Welcome, {{ firstName | capitalize }}",
        preheader: "Your first week",
        mjml: WELCOME_MJML,
      },
    })
  ).id;
  nudge = (
    await create({
      name: "Nudge",
      channel: "sms",
      content: {
        body: "{{ firstName | capitalize }}, your {{ attributes.plan }} trial ends soon 🎉",
        defaults: { firstName: "Hi", "attributes.plan": "free" },
      },
    })
  ).id;
});

describe("templates API", () => {
  it("creates a template, saying what it still needs before it can be sent", async () => {
    const draft = await create({ name: "Draft", channel: "email", content: { subject: "Soon" } });
    expect(draft.missing).toEqual(["content.mjml or content.html"]);
    const fetched = await t.asA({ method: "GET", url: `/api/v1/templates/${welcome}` });
    expect(fetched.json()).toMatchObject({ channel: "email", missing: [], content: { mjml: WELCOME_MJML } });
  });

  it("refuses content with a Liquid error, an undeclared variable or bad MJML, naming each field", async () => {
    const response = await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: {
        name: "Broken",
        channel: "email",
        content: {
          subject: "Hi {{ attributes.nickname }}",
          mjml: "<mjml><mj-body><mj-section><mj-text>{% if x %}</mj-text></mj-section></mj-body></mjml>",
        },
      },
    });
    expect(response.statusCode).toBe(400);
    const problem = response.json();
    expect(problem.code).toBe("VALIDATION_FAILED");
    expect(problem.errors).toEqual([
      { field: "content.subject", message: expect.stringContaining("attributes.nickname may be missing") },
      {
        field: "content.mjml",
        message: expect.stringContaining("Liquid syntax error: tag {% if x %} not closed"),
      },
    ]);
    const wrongShape = await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Wrong", channel: "sms", content: { subject: "x" } },
    });
    expect(wrongShape.json().errors).toEqual([
      { field: "content.subject", message: "is not a field of sms content" },
    ]);
  });

  it("checks patched content against the template's channel", async () => {
    const refused = await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${welcome}`,
      payload: { content: { subject: "x", mjml: "<mjml><mj-body><mj-text>x</mj-text></mj-body></mjml>" } },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toMatchObject([
      { field: "content.mjml", message: expect.stringContaining("MJML") },
    ]);
    const patched = await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${nudge}`,
      payload: { content: { body: "Hey {{ attributes.plan | default: 'friend' }}" } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().content).toEqual({ body: "Hey {{ attributes.plan | default: 'friend' }}" });
    // Restore for the previews below.
    await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${nudge}`,
      payload: {
        content: {
          body: "{{ firstName | capitalize }}, your {{ attributes.plan }} trial ends soon 🎉",
          defaults: { firstName: "Hi", "attributes.plan": "free" },
        },
      },
    });
  });

  it("previews an email for a real contact", async () => {
    const response = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${welcome}/preview`,
      payload: { contactId: contactA },
    });
    expect(response.statusCode, response.body).toBe(200);
    const preview = response.json();
    expect(preview).toMatchObject({ ok: true, contact: { source: "contact", id: contactA } });
    expect(preview.email.subject).toBe("Welcome, Grace");
    expect(preview.email.preheader).toBe("Your first week");
    expect(preview.email.html).toContain("Hi grace, welcome to the pro plan.");
    expect(preview.email.html).toContain(`https://shop.example/?c=${contactA}`);
    expect(preview.email.text).toContain("Hi grace, welcome to the pro plan.");
  });

  it("previews an SMS for the sample contact, a hypothetical one, and as a first message", async () => {
    const sample = (await t.asA({ method: "POST", url: `/api/v1/templates/${nudge}/preview` })).json();
    expect(sample).toMatchObject({ ok: true, contact: { source: "sample", id: null } });
    expect(sample.sms).toEqual({
      body: "Ada, your free trial ends soon 🎉",
      encoding: "UCS-2",
      segments: 1,
      characters: 32,
    });
    const made = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${nudge}/preview`,
      payload: { contact: { attributes: { plan: "gold" } }, firstMessage: true },
    });
    expect(made.json()).toMatchObject({
      contact: { source: "hypothetical" },
      sms: { body: "Hi, your gold trial ends soon 🎉\nReply STOP to opt out" },
    });
    const merged = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${nudge}/preview`,
      payload: { contactId: contactA, contact: { attributes: { plan: "gold" } } },
    });
    expect(merged.json().sms.body).toBe("Grace, your gold trial ends soon 🎉");
  });

  it("tells why a member's send would fail instead of rendering a blank", async () => {
    const strict = await create({ name: "Strict", channel: "sms", content: { body: "Hi {{ firstName }}" } });
    const response = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${strict.id}/preview`,
      payload: { contact: { email: "anon@acme.example" } },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      ok: false,
      errors: [{ field: "content.body", message: expect.stringContaining("firstName has no value") }],
    });
  });

  it("previews unsaved content after the checks a save makes", async () => {
    const mail = await t.asA({
      method: "POST",
      url: "/api/v1/templates/preview",
      payload: {
        channel: "mail",
        content: {
          layout: "postcard",
          body: "Dear {{ firstName | capitalize }},\nSee you in {{ address.city | default: 'town' }}.",
        },
        contactId: contactA,
      },
    });
    expect(mail.statusCode, mail.body).toBe(200);
    expect(mail.json().mail).toEqual({ layout: "postcard", body: "Dear Grace,\nSee you in town." });
    const invalid = await t.asA({
      method: "POST",
      url: "/api/v1/templates/preview",
      payload: { channel: "sms", content: { body: "{{ coupon }}" } },
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().errors).toMatchObject([
      { field: "content.body", message: expect.stringContaining("coupon") },
    ]);
  });

  it("answers 404 for another workspace's template or contact", async () => {
    const theirTemplate = await t.asB({
      method: "POST",
      url: `/api/v1/templates/${welcome}/preview`,
      payload: { contactId: contactB },
    });
    expect(theirTemplate.statusCode).toBe(404);
    const theirContact = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${welcome}/preview`,
      payload: { contactId: contactB },
    });
    expect(theirContact.statusCode).toBe(404);
    expect(theirContact.body).not.toContain("bea@globex.example");
    const draft = await t.asA({
      method: "POST",
      url: "/api/v1/templates/preview",
      payload: { channel: "sms", content: { body: "Hi" }, contactId: contactB },
    });
    expect(draft.statusCode).toBe(404);
  });
});

describe("GET /api/v1/templates/{id}/preview.html", () => {
  it("renders the current email for a contact as a sandboxed page, and a text template's reasons", async () => {
    const contact = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "preview.page@example.org", firstName: "Hypatia" },
    });
    const email = await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: {
        name: "Preview page",
        channel: "email",
        content: { subject: "Hi", html: "<p>Dear {{ firstName }}</p>" },
      },
    });
    const page = await t.asA({
      method: "GET",
      url: `/api/v1/templates/${email.json().id}/preview.html?contactId=${contact.json().id}`,
    });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.body).toContain("Dear Hypatia");
    expect(String(page.headers["content-security-policy"])).toMatch(/^sandbox; default-src 'none'/);
    expect(page.headers["x-frame-options"]).toBe("SAMEORIGIN");
    const sms = await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Preview page text", channel: "sms", content: { body: "<b>hi</b>" } },
    });
    const none = await t.asA({ method: "GET", url: `/api/v1/templates/${sms.json().id}/preview.html` });
    expect(none.statusCode).toBe(200);
    expect(none.body).toContain("This sms template has no email to show.");
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/templates/${email.json().id}/preview.html` })).statusCode,
    ).toBe(404);
  });
});

describe("template versions", () => {
  const versionsOf = async (id: string, query = "") =>
    (await t.asA({ method: "GET", url: `/api/v1/templates/${id}/versions${query}` })).json();

  it("records a version for the creation and each content change, newest first", async () => {
    const made = await create({ name: "Versioned", channel: "sms", content: { body: "First" } });
    expect(made.version).toBe(1);
    const edited = await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${made.id}`,
      payload: { content: { body: "Second" } },
    });
    expect(edited.json()).toMatchObject({ version: 2, content: { body: "Second" } });
    const list = await versionsOf(made.id);
    expect(list.data).toEqual([
      {
        templateId: made.id,
        version: 2,
        change: "edited",
        restoredFrom: null,
        actor: { source: "api", id: expect.any(String) },
        createdAt: expect.any(String),
      },
      expect.objectContaining({ version: 1, change: "created", restoredFrom: null }),
    ]);
    expect(list.nextCursor).toBeNull();
    const first = await t.asA({ method: "GET", url: `/api/v1/templates/${made.id}/versions/1` });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ version: 1, content: { body: "First" }, missing: [] });
    const absent = await t.asA({ method: "GET", url: `/api/v1/templates/${made.id}/versions/9` });
    expect(absent.statusCode).toBe(404);
  });

  it("makes no version for a PATCH that changes nothing, or only the name", async () => {
    const made = await create({
      name: "Steady",
      channel: "email",
      content: { subject: "Hi", html: "<p>Hi</p>", defaults: { firstName: "you" } },
    });
    const same = await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${made.id}`,
      // The same content with its keys in another order, and the same name.
      payload: {
        name: "Steady",
        content: { defaults: { firstName: "you" }, html: "<p>Hi</p>", subject: "Hi" },
      },
    });
    expect(same.statusCode).toBe(200);
    expect(same.json()).toMatchObject({ version: 1, updatedAt: made.updatedAt });
    const renamed = await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${made.id}`,
      payload: { name: "Steady renamed" },
    });
    expect(renamed.json()).toMatchObject({ name: "Steady renamed", version: 1 });
    expect((await versionsOf(made.id)).data).toHaveLength(1);
  });

  it("restores an old version as a new one, and restoring the current content changes nothing", async () => {
    const made = await create({ name: "Restorable", channel: "sms", content: { body: "One" } });
    for (const body of ["Two", "Three"]) {
      await t.asA({ method: "PATCH", url: `/api/v1/templates/${made.id}`, payload: { content: { body } } });
    }
    const restored = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${made.id}/versions/1/restore`,
    });
    expect(restored.statusCode, restored.body).toBe(200);
    expect(restored.json()).toMatchObject({ version: 4, content: { body: "One" } });
    const again = await t.asA({ method: "POST", url: `/api/v1/templates/${made.id}/versions/4/restore` });
    expect(again.json().version).toBe(4);
    const list = await versionsOf(made.id);
    expect(list.data.map((v: { version: number }) => v.version)).toEqual([4, 3, 2, 1]);
    expect(list.data[0]).toMatchObject({ change: "restored", restoredFrom: 1 });
    const fetched = await t.asA({ method: "GET", url: `/api/v1/templates/${made.id}` });
    expect(fetched.json()).toMatchObject({ version: 4, content: { body: "One" } });
  });

  it("pages versions with the cursor of the previous page", async () => {
    const made = await create({ name: "Paged", channel: "sms", content: { body: "v1" } });
    for (const body of ["v2", "v3"]) {
      await t.asA({ method: "PATCH", url: `/api/v1/templates/${made.id}`, payload: { content: { body } } });
    }
    const first = await versionsOf(made.id, "?limit=2");
    expect(first.data.map((v: { version: number }) => v.version)).toEqual([3, 2]);
    const second = await versionsOf(made.id, `?limit=2&cursor=${first.nextCursor}`);
    expect(second).toMatchObject({ data: [{ version: 1 }], nextCursor: null });
    const bad = await t.asA({ method: "GET", url: `/api/v1/templates/${made.id}/versions?cursor=nope` });
    expect(bad.statusCode).toBe(400);
  });

  it("answers 404 to another workspace for every version endpoint", async () => {
    for (const [method, url] of [
      ["GET", `/api/v1/templates/${nudge}/versions`],
      ["GET", `/api/v1/templates/${nudge}/versions/1`],
      ["POST", `/api/v1/templates/${nudge}/versions/1/restore`],
    ] as const) {
      const response = await t.asB({ method, url });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.body).not.toContain("trial ends soon");
    }
  });
});
