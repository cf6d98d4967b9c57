import { describe, expect, it } from "vitest";
import { TemplateRenderer } from "./render.ts";
import { validateTemplateContent } from "./template.ts";

const renderer = new TemplateRenderer();
const check = (channel: "email" | "sms" | "mail" | "ads", content: Record<string, unknown>) =>
  validateTemplateContent(channel, content, renderer);

describe("validateTemplateContent", () => {
  it("accepts contact fields, guarded attributes and declared defaults", async () => {
    expect(
      await check("sms", {
        body: "Hi {{ firstName }} {{ contact.lastName | upcase }}, {{ attributes.plan | default: 'free' }} {{ contact.attributes.tier }} {{ offer }} {% if attributes.vip %}VIP{% endif %} {{ address.city }}",
        defaults: { "attributes.tier": "basic", offer: "10%" },
      }),
    ).toEqual([]);
    expect(await check("email", {})).toEqual([]); // incomplete is allowed: `missing` says what is left
    expect(await check("ads", {})).toEqual([]);
  });

  it("refuses an attribute without a default, so that a send is never blank", async () => {
    const problems = await check("sms", { body: "Hi\nyour plan is {{ attributes.plan }}" });
    expect(problems).toEqual([
      {
        field: "content.body",
        message: expect.stringMatching(/^attributes\.plan may be missing .*default.* \(line 2, column 17\)$/),
      },
    ]);
  });

  it("refuses a variable that is neither a contact field nor declared", async () => {
    const problems = await check("email", { subject: "{{ coupon }} for {{ contact.nickname }}" });
    expect(problems.map((p) => [p.field, p.message.split(" ")[0]])).toEqual([
      ["content.subject", "coupon"],
      ["content.subject", "nickname"],
    ]);
    expect(await check("email", { subject: "{{ address.planet }}" })).toMatchObject([
      { message: expect.stringContaining("not an address field") },
    ]);
  });

  it("refuses Liquid syntax errors with their location", async () => {
    expect(await check("email", { subject: "ok", html: "<p>\n{% if x %} never closed</p>" })).toEqual([
      { field: "content.html", message: "Liquid syntax error: tag {% if x %} not closed (line 2, column 1)" },
    ]);
    expect(await check("sms", { body: "{{ firstName | shout }}" })).toMatchObject([
      { field: "content.body", message: expect.stringContaining("undefined filter: shout") },
    ]);
  });

  it("refuses content that is not of the channel's shape", async () => {
    expect(await check("sms", { body: 3, subject: "x" })).toEqual([
      { field: "content.subject", message: "is not a field of sms content" },
      { field: "content.body", message: "must be string" },
    ]);
    expect(await check("mail", { layout: "flyer" })).toEqual([
      { field: "content.layout", message: "is not one of the allowed values" },
    ]);
    expect(await check("email", { html: "<p>a</p>", mjml: "<mjml><mj-body></mj-body></mjml>" })).toEqual([
      { field: "content.html", message: "give mjml or html, not both" },
    ]);
    expect(await check("email", { defaults: { "not a name": "x" } })).toMatchObject([
      { field: expect.stringMatching(/^content\.defaults/) },
    ]);
  });

  it("compiles MJML and refuses its errors", async () => {
    expect(
      await check("email", {
        mjml: "<mjml><mj-body><mj-section><mj-text>x</mj-text></mj-section></mj-body></mjml>",
      }),
    ).toMatchObject([
      { field: "content.mjml", message: expect.stringContaining("mj-text cannot be used inside mj-section") },
    ]);
    expect(await check("email", { mjml: "<p>not mjml</p>" })).toMatchObject([
      { field: "content.mjml", message: expect.stringContaining("<mjml>") },
    ]);
  });
});
