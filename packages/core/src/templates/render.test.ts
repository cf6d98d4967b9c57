import { describe, expect, it } from "vitest";
import {
  buildRenderContext,
  compileMjmlSource,
  type RenderContact,
  SMS_OPT_OUT_LINE,
  TemplateRenderError,
  TemplateRenderer,
  textOfHtml,
} from "./render.ts";

const ada: RenderContact = {
  id: "0190a000-0000-7000-8000-000000000001",
  email: "ada@example.com",
  firstName: "ada",
  lastName: "Lovelace",
  phone: "+447700900123",
  address: { city: "London" },
  attributes: { plan: "pro", ltv: 420, joined: "2024-03-05T10:00:00Z" },
};
const nobody: RenderContact = { email: "x@example.com", attributes: {} };

const MJML = `<mjml>
  <mj-head><mj-title>{{ contact.firstName | default: 'friend' | capitalize }}</mj-title></mj-head>
  <mj-body>
    <mj-section><mj-column>
      <mj-text>Hi {{ firstName | default: "there" }}, {% if attributes.plan == "pro" %}thanks for being pro{% endif %}</mj-text>
      <mj-button href="https://shop.example/?e={{ email | url_encode }}&amp;p={{ attributes.plan | default: 'free' }}">Shop</mj-button>
      <mj-image src="https://img.example/{{ attributes.plan | default: 'free' }}.png" alt="" />
    </mj-column></mj-section>
  </mj-body>
</mjml>`;

describe("Liquid rendering", () => {
  const renderer = new TemplateRenderer();
  const render = (source: string, contact: RenderContact, defaults?: Record<string, string>) =>
    renderer.renderLiquid("content.body", source, "text", buildRenderContext(contact, defaults));

  it("offers contact fields at the top level and under contact, attributes under both", () => {
    expect(
      render(
        "{{ firstName }} {{ contact.lastName }} {{ attributes.plan }} {{ contact.attributes.ltv }}",
        ada,
      ),
    ).toBe("ada Lovelace pro 420");
    expect(render("{{ address.city }}, {{ contact.address.city }}", ada)).toBe("London, London");
  });

  it("applies liquidjs filters", () => {
    expect(render("{{ firstName | capitalize }} {{ lastName | upcase }}", ada)).toBe("Ada LOVELACE");
    expect(render("{{ attributes.joined | date: '%d %b %Y' }}", ada)).toBe("05 Mar 2024");
    expect(render("{{ attributes.ltv | plus: 80 }}", ada)).toBe("500");
    // date prints UTC unless given a time zone.
    expect(
      render(
        '{{ attributes.joined | date: "%H:%M" }} {{ attributes.joined | date: "%H:%M", "Asia/Tokyo" }}',
        ada,
      ),
    ).toBe("10:00 19:00");
  });

  it("uses the default filter, then the declared default, when a value is missing", () => {
    expect(render("Hi {{ firstName | default: 'there' }}", nobody)).toBe("Hi there");
    expect(
      render("Hi {{ firstName }} on {{ attributes.plan }}", nobody, {
        firstName: "friend",
        "attributes.plan": "free",
      }),
    ).toBe("Hi friend on free");
    expect(render("{{ contact.attributes.plan }}", nobody, { "contact.attributes.plan": "free" })).toBe(
      "free",
    );
    // A value the contact has wins over the declared default.
    expect(render("{{ attributes.plan }}", ada, { "attributes.plan": "free" })).toBe("pro");
    // Variables of one's own come from defaults.
    expect(render("{{ offer }}", ada, { offer: "10%" })).toBe("10%");
  });

  it("refuses to render a missing value blank, naming the variable", () => {
    expect(() => render("Hi {{ firstName }}", nobody)).toThrow(TemplateRenderError);
    expect(() => render("Hi {{ firstName }}", nobody)).toThrow(/firstName has no value for this contact/);
    expect(() => render("Hi {{ firstName }}", { ...nobody, firstName: "" })).toThrow(/firstName/);
    // A condition on a missing value is false, not an error.
    expect(render("{% if attributes.vip %}VIP{% else %}hello{% endif %}", nobody)).toBe("hello");
  });

  it("has no file tags", () => {
    expect(() => renderer.parseLiquid("{% include 'secrets' %}", "text")).toThrow(/include/);
    expect(() => renderer.parseLiquid("{% render '/etc/passwd' %}", "text")).toThrow(/render/);
  });
});

describe("email rendering", () => {
  it("passes Liquid through MJML untouched, in text and in attributes", async () => {
    const { html, errors } = await compileMjmlSource(MJML);
    expect(errors).toEqual([]);
    expect(html).toContain('{{ firstName | default: "there" }}');
    expect(html).toContain('{% if attributes.plan == "pro" %}');
    expect(html).toContain("{{ email | url_encode }}");
    const comparisons = await compileMjmlSource(
      MJML.replace(
        "thanks for being pro",
        '{% if attributes.ltv > 1 and attributes.ltv < 999 %}big & {{ "a" | append: "b" }}{% endif %}',
      ),
    );
    expect(comparisons.html).toContain(
      '{% if attributes.ltv > 1 and attributes.ltv < 999 %}big & {{ "a" | append: "b" }}',
    );
    expect(html).toContain("https://img.example/{{ attributes.plan | default: 'free' }}.png");
    expect(html).toContain("<title>{{ contact.firstName | default: 'friend' | capitalize }}</title>");
  });

  it("compiles MJML once per content version, then renders Liquid per recipient", async () => {
    const renderer = new TemplateRenderer();
    const content = { subject: "Hello {{ firstName | default: 'you' | capitalize }}", mjml: MJML };
    const first = await renderer.renderEmail(content, ada);
    const second = await renderer.renderEmail(content, nobody);
    await Promise.all([renderer.renderEmail(content, ada), renderer.renderEmail(content, nobody)]);
    expect(renderer.mjmlCompiles).toBe(1);
    expect(first.subject).toBe("Hello Ada");
    expect(first.html).toContain("Hi ada, thanks for being pro");
    expect(first.html).toContain("https://shop.example/?e=ada%40example.com&amp;p=pro");
    expect(second.html).toContain("Hi there, ");
    expect(second.html).toContain("https://img.example/free.png");
    // A new version compiles again.
    await renderer.renderEmail({ ...content, mjml: MJML.replace("Shop", "Buy") }, ada);
    expect(renderer.mjmlCompiles).toBe(2);
  });

  it("escapes contact values in HTML, not in the subject", async () => {
    const renderer = new TemplateRenderer();
    const rendered = await renderer.renderEmail(
      { subject: "For {{ firstName }}", html: "<p>Hi {{ firstName }}</p>" },
      { ...ada, firstName: "<b>Tom & Jerry</b>" },
    );
    expect(rendered.subject).toBe("For <b>Tom & Jerry</b>");
    expect(rendered.html).toContain("Hi &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;");
  });

  it("converts a template's HTML to text once, and each recipient's only when a tag would not survive", async () => {
    const renderer = new TemplateRenderer();
    const html =
      '<h2>Hi {{ firstName }}</h2><p>{% if attributes.plan == "pro" %}Pro perks{% else %}Upgrade{% endif %}</p>';
    const pro = await renderer.renderEmail({ subject: "s", html }, { ...ada, attributes: { plan: "pro" } });
    const free = await renderer.renderEmail({ subject: "s", html }, { ...ada, attributes: { plan: "free" } });
    expect(pro.text).toBe("Hi ada\n\nPro perks");
    expect(free.text).toBe("Hi ada\n\nUpgrade");
    // A tag inside an image's address is dropped by the conversion: the text comes from each recipient's HTML.
    const inImage = await renderer.renderEmail(
      { subject: "s", html: '<p>Hello {{ firstName }}</p><img src="https://x.example/{{ firstName }}.png">' },
      ada,
    );
    expect(inImage.text).toBe("Hello ada");
  });

  it("derives the plain-text part from the HTML when text is absent", async () => {
    const renderer = new TemplateRenderer();
    const rendered = await renderer.renderEmail(
      {
        subject: "s",
        preheader: "Your {{ attributes.plan }} perks",
        html: '<html><body><h1>Welcome</h1><p>Hi {{ firstName }},</p><p><a href="https://x.example/a">See offers</a></p><img src="https://x.example/p.gif"></body></html>',
      },
      ada,
    );
    // Headings keep their case, so that Liquid tags in them survive the once-per-template conversion.
    expect(rendered.text).toContain("Welcome\n\nHi ada,");
    expect(rendered.text).toContain("Hi ada,");
    expect(rendered.text).toContain("See offers [https://x.example/a]");
    expect(rendered.text).not.toContain("p.gif");
    expect(rendered.text).not.toContain("perks"); // the hidden preheader is not part of the text
    expect(rendered.preheader).toBe("Your pro perks");
    expect(rendered.html).toMatch(/<body><div style="display:none[^"]*">Your pro perks<\/div><h1>/);
    const withText = await renderer.renderEmail(
      { subject: "s", html: "<p>x</p>", text: "Hi {{ firstName }}" },
      ada,
    );
    expect(withText.text).toBe("Hi ada");
    expect(textOfHtml("<p>a</p><p>b</p>")).toBe("a\n\nb");
  });

  it("turns MJML errors and incomplete content into a render error", async () => {
    const renderer = new TemplateRenderer();
    await expect(
      renderer.renderEmail(
        { subject: "s", mjml: "<mjml><mj-body><mj-text>x</mj-text></mj-body></mjml>" },
        ada,
      ),
    ).rejects.toMatchObject({ field: "content.mjml" });
    await expect(renderer.renderEmail({ subject: "s" }, ada)).rejects.toMatchObject({
      field: "content.mjml or content.html",
    });
  });
});

describe("SMS and mail rendering", () => {
  const renderer = new TemplateRenderer();

  it("counts the segments of the rendered body", () => {
    const sms = renderer.renderSms({ body: "Hi {{ firstName | capitalize }}, 20% off today" }, ada);
    expect(sms).toEqual({ body: "Hi Ada, 20% off today", encoding: "GSM-7", segments: 1, characters: 21 });
  });

  it("appends the opt-out line to the first message to a number, counted in the segments", () => {
    const body = "x".repeat(150);
    expect(renderer.renderSms({ body }, ada).segments).toBe(1);
    const first = renderer.renderSms({ body }, ada, { firstMessageToNumber: true });
    expect(first.body).toBe(`${body}\n${SMS_OPT_OUT_LINE}`);
    expect(first.characters).toBe(150 + 1 + SMS_OPT_OUT_LINE.length);
    expect(first.segments).toBe(2);
  });

  it("refuses a message that renders empty", () => {
    expect(() => renderer.renderSms({ body: "{{ attributes.x | default: '' }}" }, ada)).toThrow(/empty/);
  });

  it("renders mail bodies as plain text with their line breaks", () => {
    const mail = renderer.renderMail(
      {
        layout: "letter",
        body: "Dear {{ firstName | capitalize }},\r\n\r\nYour plan: {{ attributes.plan }}",
      },
      ada,
    );
    expect(mail).toEqual({ layout: "letter", body: "Dear Ada,\n\nYour plan: pro" });
  });
});
