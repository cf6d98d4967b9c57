/**
 * Rendering a template for one contact: Liquid personalisation, MJML compiled once per content version,
 * the plain-text part of an email, and SMS encoding and segments. No I/O: Liquid's file tags (include,
 * render, layout) are removed and MJML's mj-include is ignored.
 *
 * MJML is compiled with the Liquid tags still in it, then Liquid runs on the compiled HTML for each
 * recipient: MJML passes `{{ … }}` and `{% … %}` through untouched (in text and in attribute values;
 * render.test.ts checks it), so the costly compile (≈10 ms) happens once, and per-recipient work is a
 * Liquid render (≈0.3 ms). Validation also parses the compiled HTML as Liquid, so a template whose tags
 * MJML would have mangled is refused at save time.
 */

import { createHash } from "node:crypto";
import type { Contact } from "@omneural/contracts/contacts";
import type { EmailContent, MailContent, MailLayout, SmsContent } from "@omneural/contracts/templates";
import { compile as compileHtmlToText } from "html-to-text";
import { Liquid, type Template as LiquidTemplate } from "liquidjs";
import mjml2html from "mjml";
import { cacheLookups } from "../ops/metrics.ts";
import { countSmsSegments, type SmsEncoding } from "./sms-segments.ts";

/** Contact fields a template may use, as `firstName` or `contact.firstName`. */
export const CONTACT_VARIABLES = [
  "id",
  "externalId",
  "email",
  "phone",
  "firstName",
  "lastName",
  "timezone",
  "address",
] as const;
export const ADDRESS_VARIABLES = ["line1", "line2", "city", "region", "postalCode", "country"] as const;

export const SMS_OPT_OUT_LINE = "Reply STOP to opt out";

/** The contact as rendering sees it: every field optional, so that previews can make one up. */
export interface RenderContact {
  id?: string | null;
  externalId?: string | null;
  email?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  timezone?: string | null;
  address?: Partial<Contact["address"]> | null;
  attributes?: Record<string, unknown> | null;
}

export const SAMPLE_CONTACT: RenderContact = {
  id: null,
  email: "ada@example.com",
  phone: "+447700900123",
  firstName: "Ada",
  lastName: "Lovelace",
  timezone: "Europe/London",
  address: {
    line1: "12 St James's Square",
    line2: null,
    city: "London",
    region: null,
    postalCode: "SW1Y 4JH",
    country: "GB",
  },
  attributes: {},
};

/** A render that cannot produce a message: the send fails with this reason, never a blank. */
export class TemplateRenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "TemplateRenderError";
  }
}

// Liquid ---------------------------------------------------------------------------------------------

function makeLiquid(outputEscape?: "escape"): Liquid {
  const liquid = new Liquid({
    strictVariables: true, // a missing variable throws instead of rendering blank
    strictFilters: true,
    lenientIf: true, // `{% if attributes.vip %}` is false for a contact without it, not an error
    ownPropertyOnly: true,
    timezoneOffset: 0, // the `date` filter prints UTC unless given a time zone
    ...(outputEscape ? { outputEscape } : {}),
    parseLimit: 1_000_000,
    renderLimit: 2_000,
    memoryLimit: 20_000_000,
  });
  // No file system: templates are self-contained.
  for (const tag of ["include", "render", "layout", "block"]) delete liquid.tags[tag];
  return liquid;
}

/** For HTML bodies: output is HTML-escaped (`| raw` opts out). */
export const htmlLiquid = makeLiquid("escape");
/** For subjects, SMS, mail and plain text: output as is. */
export const textLiquid = makeLiquid();

export type LiquidFlavour = "html" | "text";
const engines = { html: htmlLiquid, text: textLiquid };

/** Liquid's own message ("…, line:1, col:4") made readable. */
export function describeLiquidError(error: unknown): string {
  const e = error as Error & { name?: string };
  const message = String(e.message ?? error);
  const where = /,? line:(\d+), col:(\d+)/.exec(message);
  const base = message.replace(/,? line:\d+, col:\d+.*$/s, "").trim();
  const at = where ? ` (line ${where[1]}, column ${where[2]})` : "";
  if (e.name === "UndefinedVariableError") {
    const variable = base.replace(/^undefined variable:\s*/, "");
    return `${variable} has no value for this contact and no default${at}: add | default: "…" or declare a default`;
  }
  return `${base}${at}`;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown, onlyIfAbsent: boolean) {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (!onlyIfAbsent || node[last] === undefined) node[last] = value;
}

const present = (value: unknown) => value !== null && value !== undefined && value !== "";

/**
 * The variables of one render: the contact's fields at the top level and under `contact`, its
 * attributes under `attributes` and `contact.attributes`, then declared defaults where a value is
 * missing. A field without a value is left undefined (not blank) so that Liquid refuses to print it.
 */
export function buildRenderContext(
  contact: RenderContact,
  defaults: Record<string, string> = {},
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of CONTACT_VARIABLES) {
    if (key === "address") continue;
    if (present(contact[key])) fields[key] = contact[key];
  }
  const address: Record<string, unknown> = {};
  for (const key of ADDRESS_VARIABLES) {
    if (present(contact.address?.[key])) address[key] = contact.address?.[key];
  }
  fields.address = address;
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(contact.attributes ?? {})) {
    if (present(value)) attributes[key] = value;
  }
  fields.attributes = attributes;

  const own: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(defaults)) {
    const path = name.split(".");
    if (path[0] === "contact") path.shift();
    const isContactField =
      (CONTACT_VARIABLES as readonly string[]).includes(path[0]!) || path[0] === "attributes";
    setPath(isContactField ? fields : own, path, value, true);
  }
  return { ...own, ...fields, contact: fields };
}

// Caches ---------------------------------------------------------------------------------------------

/** A small LRU map: recently used entries survive, the oldest goes first. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly size: number) {}
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V) {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value as string);
  }
  delete(key: string) {
    this.map.delete(key);
  }
}

export const contentHash = (source: string) => createHash("sha256").update(source).digest("base64url");

export interface MjmlProblem {
  line: number | null;
  message: string;
}
export interface CompiledMjml {
  html: string;
  errors: MjmlProblem[];
}

export type MjmlCompiler = (source: string) => Promise<CompiledMjml>;

export const compileMjmlSource: MjmlCompiler = async (source) => {
  if (!/<mjml[\s>]/.test(source) || !/<mj-body[\s>/]/.test(source)) {
    return { html: "", errors: [{ line: null, message: "must be an <mjml> document with an <mj-body>" }] };
  }
  try {
    const result = await mjml2html(source, {
      validationLevel: "soft",
      ignoreIncludes: true, // mj-include would read files
      keepComments: false,
    });
    return {
      html: result.html,
      errors: result.errors.map((e) => ({ line: e.line ?? null, message: e.message })),
    };
  } catch (error) {
    return { html: "", errors: [{ line: null, message: (error as Error).message }] };
  }
};

// Rendering ------------------------------------------------------------------------------------------

export interface RenderedEmail {
  subject: string;
  preheader: string | null;
  html: string;
  text: string;
}
export interface RenderedSms {
  body: string;
  encoding: SmsEncoding;
  segments: number;
  characters: number;
}
export interface RenderedMail {
  layout: MailLayout;
  body: string;
}

export interface RenderOptions {
  /** SMS: the first message to this number, which carries the opt-out line. */
  firstMessageToNumber?: boolean;
  /** The message's own links (see LINK_VARIABLES); previews get placeholders. */
  links?: Partial<Record<LinkVariable, string>>;
  /**
   * The properties of the event that enrolled the member (event-entry campaigns): `event.<property>`.
   * Declared defaults `event.<property>` stand in for missing ones.
   */
  event?: Record<string, unknown>;
}

/** Adds the entering event's properties to a render context as `event`, over declared defaults. */
function withEvent(context: Record<string, unknown>, options: RenderOptions) {
  if (!options.event) return context;
  const event: Record<string, unknown> = { ...(context.event as Record<string, unknown> | undefined) };
  for (const [key, value] of Object.entries(options.event)) if (present(value)) event[key] = value;
  context.event = event;
  return context;
}

/**
 * Variables a template may use besides the contact's: links made for each message. Email:
 * `unsubscribe_url` (when a template places it, no second unsubscribe link is added to the footer).
 * Mail: `purl`, the member's personal URL.
 */
export const LINK_VARIABLES = {
  email: ["unsubscribe_url"],
  sms: [],
  mail: ["purl"],
  ads: [],
} as const satisfies Record<string, readonly string[]>;
export type LinkVariable = "unsubscribe_url" | "purl";
const LINK_PLACEHOLDERS: Record<LinkVariable, string> = {
  unsubscribe_url: "https://example.com/unsubscribe-link-preview",
  purl: "https://example.com/r/PREVIEW",
};

function withLinks(
  context: Record<string, unknown>,
  channel: keyof typeof LINK_VARIABLES,
  options: RenderOptions,
) {
  for (const name of LINK_VARIABLES[channel] as readonly LinkVariable[]) {
    context[name] = options.links?.[name] ?? LINK_PLACEHOLDERS[name];
  }
  return context;
}

/** The content fields a template still needs before it can be sent. */
export function missingContent(channel: string, content: Record<string, unknown>): string[] {
  const has = (key: string) => typeof content[key] === "string" && (content[key] as string).trim() !== "";
  switch (channel) {
    case "email":
      return [
        ...(has("subject") ? [] : ["content.subject"]),
        ...(has("mjml") || has("html") ? [] : ["content.mjml or content.html"]),
      ];
    case "sms":
      return has("body") ? [] : ["content.body"];
    case "mail":
      return [...(has("layout") ? [] : ["content.layout"]), ...(has("body") ? [] : ["content.body"])];
    default:
      return [];
  }
}

/**
 * Renders templates, keeping compiled MJML (by content hash) and parsed Liquid (by source) so that
 * repeated renders of one template version only run Liquid. One instance serves a whole process.
 */
export class TemplateRenderer {
  /** How many times MJML ran; a cache hit does not count. */
  mjmlCompiles = 0;
  private readonly compiled: Lru<Promise<CompiledMjml>>;
  private readonly parsed: Lru<LiquidTemplate[]>;
  /** The plain-text part of an HTML source, as a Liquid template; null when it cannot be derived. */
  private readonly textTemplates: Lru<string | null>;
  private readonly compiler: MjmlCompiler;

  constructor(options: { cacheSize?: number; compileMjml?: MjmlCompiler } = {}) {
    this.compiled = new Lru(options.cacheSize ?? 500);
    this.parsed = new Lru((options.cacheSize ?? 500) * 4);
    this.textTemplates = new Lru(options.cacheSize ?? 500);
    this.compiler = options.compileMjml ?? compileMjmlSource;
  }

  /** MJML → HTML, once per distinct source. */
  compileMjml(source: string): Promise<CompiledMjml> {
    const key = contentHash(source);
    let compiled = this.compiled.get(key);
    cacheLookups.inc({ cache: "compiled_templates", result: compiled ? "hit" : "miss" });
    if (!compiled) {
      this.mjmlCompiles += 1;
      compiled = this.compiler(source);
      this.compiled.set(key, compiled);
      // A compile that throws is not kept: the next call tries again.
      compiled.catch(() => this.compiled.delete(key));
    }
    return compiled;
  }

  /** Parsed Liquid, cached; throws Liquid's parse error. */
  parseLiquid(source: string, flavour: LiquidFlavour): LiquidTemplate[] {
    const key = `${flavour}:${contentHash(source)}`;
    let templates = this.parsed.get(key);
    if (!templates) {
      templates = engines[flavour].parse(source);
      this.parsed.set(key, templates);
    }
    return templates;
  }

  renderLiquid(
    field: string,
    source: string,
    flavour: LiquidFlavour,
    context: Record<string, unknown>,
  ): string {
    try {
      return engines[flavour].renderSync(this.parseLiquid(source, flavour), context) as string;
    } catch (error) {
      throw new TemplateRenderError(field, describeLiquidError(error));
    }
  }

  async renderEmail(
    content: EmailContent,
    contact: RenderContact,
    options: RenderOptions = {},
  ): Promise<RenderedEmail> {
    requireComplete("email", content);
    const context = withEvent(
      withLinks(buildRenderContext(contact, content.defaults), "email", options),
      options,
    );
    let htmlSource: string;
    let field: string;
    if (content.mjml !== undefined) {
      const compiled = await this.compileMjml(content.mjml);
      if (compiled.errors.length > 0) {
        throw new TemplateRenderError("content.mjml", `MJML: ${compiled.errors[0]!.message}`);
      }
      htmlSource = compiled.html;
      field = "content.mjml";
    } else {
      htmlSource = content.html!;
      field = "content.html";
    }
    const subject = this.renderLiquid("content.subject", content.subject!, "text", context).trim();
    const preheader =
      content.preheader === undefined
        ? null
        : this.renderLiquid("content.preheader", content.preheader, "text", context).trim();
    const body = this.renderLiquid(field, htmlSource, "html", context);
    const text =
      content.text !== undefined
        ? this.renderLiquid("content.text", content.text, "text", context)
        : this.derivedText(field, htmlSource, body, context);
    return { subject, preheader, html: preheader ? withPreheader(body, preheader) : body, text };
  }

  /**
   * The text part when the template has none. Converting HTML to text costs more than the rest of a
   * render, so it is done once per template: the HTML source is converted with its Liquid tags in place,
   * and the result is rendered per recipient. When the conversion does not keep every tag intact (a tag
   * in an attribute the text drops, say), each recipient's HTML is converted instead.
   */
  private derivedText(field: string, htmlSource: string, body: string, context: Record<string, unknown>) {
    const key = contentHash(htmlSource);
    let template = this.textTemplates.get(key);
    if (template === undefined) {
      const text = textOfHtml(htmlSource);
      template = sameLiquidTags(htmlSource, text) ? text : null;
      this.textTemplates.set(key, template);
    }
    if (template === null) return textOfHtml(body);
    return this.renderLiquid(`${field} (text part)`, template, "text", context).trim();
  }

  renderSms(content: SmsContent, contact: RenderContact, options: RenderOptions = {}): RenderedSms {
    requireComplete("sms", content);
    const context = withEvent(buildRenderContext(contact, content.defaults), options);
    let body = this.renderLiquid("content.body", content.body!, "text", context).trim();
    if (body === "") throw new TemplateRenderError("content.body", "the message renders empty");
    if (options.firstMessageToNumber) body = `${body}\n${SMS_OPT_OUT_LINE}`;
    const { encoding, segments, characters } = countSmsSegments(body);
    return { body, encoding, segments, characters };
  }

  renderMail(content: MailContent, contact: RenderContact, options: RenderOptions = {}): RenderedMail {
    requireComplete("mail", content);
    const context = withEvent(
      withLinks(buildRenderContext(contact, content.defaults), "mail", options),
      options,
    );
    const body = this.renderLiquid("content.body", content.body!, "text", context).replace(/\r\n?/g, "\n");
    return { layout: content.layout!, body };
  }
}

function requireComplete(channel: string, content: object) {
  const missing = missingContent(channel, content as Record<string, unknown>);
  if (missing.length > 0)
    throw new TemplateRenderError(missing[0]!, `${missing.join(", ")}: required to send`);
}

/** The plain-text part of an email, from its HTML: links kept as "text [url]", images dropped. */
const HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({
  selector,
  options: { uppercase: false },
}));

// Compiled once: compiling the options costs a third of a conversion.
const htmlToTextConverter = compileHtmlToText({
  wordwrap: 78,
  selectors: [
    { selector: "img", format: "skip" },
    { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
    { selector: "table", options: { uppercaseHeaderCells: false } },
    ...HEADINGS,
  ],
});

export function textOfHtml(html: string): string {
  return htmlToTextConverter(html).trim();
}

const LIQUID_TAG = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

/** Whether the text kept every Liquid tag of the HTML, unchanged and in order. */
function sameLiquidTags(html: string, text: string): boolean {
  const normalise = (tag: string) => tag.replace(/\s+/g, " ");
  const a = (html.match(LIQUID_TAG) ?? []).map(normalise);
  const b = (text.match(LIQUID_TAG) ?? []).map(normalise);
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The preheader as the hidden first text of the body, where mail clients read it. */
function withPreheader(html: string, preheader: string): string {
  const hidden = `<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all">${escapeHtml(preheader)}</div>`;
  const body = /<body[^>]*>/i.exec(html);
  if (!body) return `${hidden}${html}`;
  const at = body.index + body[0].length;
  return `${html.slice(0, at)}${hidden}${html.slice(at)}`;
}
