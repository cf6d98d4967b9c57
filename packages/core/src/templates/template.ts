/**
 * Checking template content at save time: its shape for the channel, Liquid syntax, the variables it
 * uses, and MJML. What passes here renders for any contact, or fails one contact's send with a reason
 * (a contact field without a value and without a default); it never renders a blank where a
 * variable was.
 */
import { CONTENT_SCHEMAS } from "@omneural/contracts/templates";
import { analyzeSync, Tokenizer, type TopLevelToken } from "liquidjs";
import { Value } from "typebox/value";
import type { FieldProblem } from "../shared/errors.ts";
import {
  ADDRESS_VARIABLES,
  CONTACT_VARIABLES,
  describeLiquidError,
  LINK_VARIABLES,
  type LiquidFlavour,
  type TemplateRenderer,
} from "./render.ts";

type Channel = keyof typeof CONTENT_SCHEMAS;

/** The Liquid fields of each channel's content, and how their output is escaped. */
const LIQUID_FIELDS: Record<Channel, [string, LiquidFlavour][]> = {
  email: [
    ["subject", "text"],
    ["preheader", "text"],
    ["mjml", "html"],
    ["html", "html"],
    ["text", "text"],
  ],
  sms: [["body", "text"]],
  mail: [["body", "text"]],
  ads: [],
};

/** Tags whose variables may be missing: a condition on a missing value is simply false. */
const CONDITION_TAGS = new Set(["if", "elsif", "unless", "case", "when"]);
const DEFAULT_FILTER = /\|\s*default\s*:/;

export async function validateTemplateContent(
  channel: Channel,
  content: Record<string, unknown>,
  renderer: TemplateRenderer,
): Promise<FieldProblem[]> {
  const problems = shapeProblems(channel, content);
  if (problems.length > 0) return problems;
  if (channel === "email" && content.mjml !== undefined && content.html !== undefined) {
    return [{ field: "content.html", message: "give mjml or html, not both" }];
  }
  const defaults = (content.defaults ?? {}) as Record<string, string>;
  for (const [key, flavour] of LIQUID_FIELDS[channel]) {
    const source = content[key];
    if (typeof source !== "string") continue;
    const field = `content.${key}`;
    let parsed: ReturnType<TemplateRenderer["parseLiquid"]>;
    try {
      parsed = renderer.parseLiquid(source, flavour);
    } catch (error) {
      problems.push({ field, message: `Liquid syntax error: ${describeLiquidError(error)}` });
      continue;
    }
    problems.push(...variableProblems(field, source, parsed, defaults, LINK_VARIABLES[channel]));
    if (key === "mjml") problems.push(...(await mjmlProblems(source, renderer)));
  }
  return problems;
}

function shapeProblems(channel: Channel, content: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const error of Value.Errors(CONTENT_SCHEMAS[channel], content)) {
    const path = error.instancePath.replace(/^\//, "").replace(/\//g, ".");
    const params = error.params as { additionalProperties?: string[]; requiredProperties?: string[] };
    if (error.keyword === "additionalProperties") {
      for (const extra of params.additionalProperties ?? []) {
        problems.push({
          field: `content.${path ? `${path}.` : ""}${extra}`,
          message:
            path === "defaults"
              ? "is not a variable name (letters, digits and _, dot-separated, e.g. attributes.plan)"
              : `is not a field of ${channel} content`,
        });
      }
    } else if (error.keyword === "anyOf") {
      problems.push({ field: `content.${path}`, message: "is not one of the allowed values" });
    } else if (error.keyword !== "boolean" && error.keyword !== "const") {
      problems.push({ field: path ? `content.${path}` : "content", message: error.message });
    }
  }
  // One problem per field.
  return problems.filter((p, i) => problems.findIndex((q) => q.field === p.field) === i);
}

/** 1-based line and column → offset in the source. */
function offsetOf(source: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = source.indexOf("\n", offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + column - 1;
}

/** Source spans where a missing variable is fine: conditions, and expressions with `| default:`. */
function guardedSpans(source: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const token of new Tokenizer(source).readTopLevelTokens() as TopLevelToken[]) {
    const t = token as TopLevelToken & { name?: string; content?: string; args?: string };
    const guarded =
      (t.name !== undefined && CONDITION_TAGS.has(t.name)) ||
      DEFAULT_FILTER.test(t.content ?? "") ||
      DEFAULT_FILTER.test(t.args ?? "");
    if (guarded) spans.push([t.begin, t.end]);
  }
  return spans;
}

function variableProblems(
  field: string,
  source: string,
  parsed: ReturnType<TemplateRenderer["parseLiquid"]>,
  defaults: Record<string, string>,
  links: readonly string[],
): FieldProblem[] {
  const declared = new Set([...Object.keys(defaults).map((key) => key.replace(/^contact\./, "")), ...links]);
  const spans = guardedSpans(source);
  const problems = new Map<string, FieldProblem>();
  const analysis = analyzeSync(parsed);
  for (const occurrences of Object.values(analysis.globals)) {
    for (const variable of occurrences) {
      const segments: string[] = [];
      for (const segment of variable.segments) {
        if (typeof segment !== "string") break;
        segments.push(segment);
      }
      if (segments[0] === "contact") segments.shift();
      const name = segments.join(".");
      const location = variable.location;
      const at = offsetOf(source, location.row, location.col);
      const guarded = spans.some(([begin, end]) => at >= begin && at < end);
      const where = `(line ${location.row}, column ${location.col})`;
      const root = segments[0];
      let message: string | null = null;
      if (root === undefined) {
        if (variable.segments[0] !== "contact") continue;
        message = "contact alone cannot be printed: name a field, e.g. contact.firstName";
      } else if (root === "attributes") {
        if (segments.length < 2) message = "name an attribute, e.g. attributes.plan";
        else if (!guarded && !declared.has(`attributes.${segments[1]}`) && !declared.has(name)) {
          message = `attributes.${segments[1]} may be missing for some contacts: add | default: "…" or declare a default for it`;
        }
      } else if ((CONTACT_VARIABLES as readonly string[]).includes(root)) {
        if (
          root === "address" &&
          segments[1] &&
          !(ADDRESS_VARIABLES as readonly string[]).includes(segments[1])
        ) {
          message = `address.${segments[1]} is not an address field (${ADDRESS_VARIABLES.join(", ")})`;
        }
      } else if (!declared.has(root) && !declared.has(name)) {
        message = `${name} is not a contact field nor a declared default (contact fields: ${CONTACT_VARIABLES.join(", ")}, attributes.<key>)`;
      }
      if (message && !problems.has(name)) problems.set(name, { field, message: `${message} ${where}` });
    }
  }
  return [...problems.values()];
}

async function mjmlProblems(source: string, renderer: TemplateRenderer): Promise<FieldProblem[]> {
  const compiled = await renderer.compileMjml(source);
  const problems = compiled.errors.map((e) => ({
    field: "content.mjml",
    message: `MJML: ${e.message}${e.line ? ` (line ${e.line})` : ""}`,
  }));
  if (problems.length === 0) {
    // The compiled HTML is what Liquid renders per recipient: it must still parse.
    try {
      renderer.parseLiquid(compiled.html, "html");
    } catch (error) {
      problems.push({
        field: "content.mjml",
        message: `a Liquid tag does not survive MJML (use single quotes inside attributes): ${describeLiquidError(error)}`,
      });
    }
  }
  return problems;
}
