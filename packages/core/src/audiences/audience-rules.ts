/**
 * Pure helpers over audience rule trees: a validator that reports every problem with the path of the
 * node at fault, and the small facts the compiler and the services need (references, sizes, columns).
 */
import { RESPONSES, type Rule, RuleSchema } from "@omneural/contracts/audiences";
import { Compile } from "typebox/compile";
import { Value } from "typebox/value";

export interface RuleProblem {
  field: string;
  message: string;
}

export type RuleValidation = { ok: true; rule: Rule } | { ok: false; errors: RuleProblem[] };

export const MAX_RULE_DEPTH = 10;
export const MAX_RULE_CONDITIONS = 200;
export const MAX_GROUP_RULES = 100;

export type FieldType = "string" | "number" | "boolean" | "date";

/** Contact fields and the contacts column (and RefContact property) each one reads. */
export const CONTACT_COLUMNS = {
  externalId: { column: "external_id", type: "string" },
  email: { column: "email", type: "string" },
  phone: { column: "phone", type: "string" },
  firstName: { column: "first_name", type: "string" },
  lastName: { column: "last_name", type: "string" },
  "address.line1": { column: "address_line1", type: "string" },
  "address.line2": { column: "address_line2", type: "string" },
  "address.city": { column: "city", type: "string" },
  "address.region": { column: "region", type: "string" },
  "address.postalCode": { column: "postal_code", type: "string" },
  "address.country": { column: "country", type: "string" },
  timezone: { column: "timezone", type: "string" },
  createdAt: { column: "created_at", type: "date" },
  updatedAt: { column: "updated_at", type: "date" },
} as const satisfies Record<string, { column: string; type: "string" | "date" }>;

export type ContactField = keyof typeof CONTACT_COLUMNS;

/** Attribute keys and event property names; they reach SQL only as bound parameters, but stay tame. */
export const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_.:-]+$/;
// The same test TypeBox applies to format "uuid".
const UUID_PATTERN = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

export const CHANNELS = ["email", "sms", "mail", "ads"] as const;
export const CONSENT_STATUSES = [
  "subscribed",
  "unsubscribed",
  "bounced",
  "complained",
  "never_asked",
] as const;
const FIELD_TYPES: readonly FieldType[] = ["string", "number", "boolean", "date"];
const PROPERTY_TYPES: readonly FieldType[] = ["string", "number", "boolean"];
const COUNT_OPS = ["at_least", "at_most", "exactly"] as const;
const KINDS = [
  "all",
  "any",
  "not",
  "field",
  "event",
  "response",
  "consent",
  "reachable",
  "list",
  "audience",
  "bucket",
] as const;
/** Only workflow conditions know the event that enrolled the member; audiences do not. */
const WORKFLOW_ONLY_KINDS = ["entry_event"] as const;

export interface RuleValidationOptions {
  /**
   * Accept `entry_event` (the event that enrolled the member): true for workflow condition nodes, whose
   * query joins the member's enrollment. Default false: a segment has no entering event and refuses it.
   */
  entryEvent?: boolean;
}

/** For each field type, each operator and the properties its condition carries besides `op`. */
const OPERATORS: Record<FieldType, Record<string, Record<string, ValueKind>>> = {
  string: {
    eq: { value: "text" },
    neq: { value: "text" },
    in: { values: "texts" },
    not_in: { values: "texts" },
    contains: { value: "needle", caseInsensitive: "flag?" },
    starts_with: { value: "needle", caseInsensitive: "flag?" },
    exists: {},
    empty: {},
  },
  number: {
    eq: { value: "number" },
    neq: { value: "number" },
    gt: { value: "number" },
    gte: { value: "number" },
    lt: { value: "number" },
    lte: { value: "number" },
    between: { from: "number", to: "number" },
    in: { values: "numbers" },
    not_in: { values: "numbers" },
    exists: {},
    empty: {},
  },
  boolean: {
    eq: { value: "boolean" },
    exists: {},
    empty: {},
  },
  date: {
    before: { value: "datetime" },
    after: { value: "datetime" },
    between: { from: "datetime", to: "datetime" },
    within_last_days: { days: "days" },
    more_than_days_ago: { days: "days" },
    within_next_days: { days: "days" },
    anniversary_within_next_days: { days: "days" },
    exists: {},
    empty: {},
  },
};

type ValueKind =
  | "text"
  | "texts"
  | "needle"
  | "flag?"
  | "number"
  | "numbers"
  | "boolean"
  | "datetime"
  | "days";

const MAX_TEXT = 1000;
const MAX_VALUES = 1000;
const MAX_DAYS = 36_500;

/**
 * Checks a rule tree and reports every problem, each with the path of the node at fault
 * (`definition.rules[2].condition.op`). TypeBox's check runs last as a safety net.
 */
/** The schema check compiled once: interpreting the cyclic schema on every call costs ~0.5 ms a rule. */
let compiledChecker: { Check(value: unknown): boolean } | undefined;
function ruleChecker(): { Check(value: unknown): boolean } {
  compiledChecker ??= Compile(RuleSchema) as unknown as { Check(value: unknown): boolean };
  return compiledChecker;
}

export function validateRule(
  rule: unknown,
  path = "definition",
  options: RuleValidationOptions = {},
): RuleValidation {
  const errors: RuleProblem[] = [];
  const counter = { conditions: 0 };
  const kinds: readonly string[] = options.entryEvent ? [...KINDS, ...WORKFLOW_ONLY_KINDS] : KINDS;
  checkNode(rule, path, 1, errors, counter, kinds);
  if (counter.conditions > MAX_RULE_CONDITIONS) {
    errors.push({
      field: path,
      message: `has ${counter.conditions} conditions; at most ${MAX_RULE_CONDITIONS} are allowed`,
    });
  }
  if (errors.length) return { ok: false, errors };
  if (!ruleChecker().Check(rule)) {
    // Our checks are meant to be at least as strict as the schema; reaching this is a bug here.
    const first = [...Value.Errors(RuleSchema, rule)][0];
    const where = first ? `${path}${first.instancePath.replaceAll("/", ".")}` : path;
    return {
      ok: false,
      errors: [{ field: where, message: `does not match the rule schema (${first?.message})` }],
    };
  }
  return { ok: true, rule: rule as Rule };
}

function checkNode(
  node: unknown,
  path: string,
  depth: number,
  errors: RuleProblem[],
  counter: { conditions: number },
  kinds: readonly string[],
) {
  const push = (field: string, message: string) => errors.push({ field, message });
  if (depth > MAX_RULE_DEPTH) {
    push(path, `nesting is deeper than ${MAX_RULE_DEPTH} levels`);
    return;
  }
  if (!isObject(node)) {
    push(path, "must be a rule object");
    return;
  }
  const kind = node.kind;
  if (kind === "entry_event" && !kinds.includes(kind)) {
    push(
      `${path}.kind`,
      '"entry_event" is only available in workflow condition nodes (it reads the event that enrolled the member in a campaign); an audience cannot use it',
    );
    return;
  }
  if (typeof kind !== "string" || !kinds.includes(kind)) {
    push(
      `${path}.kind`,
      kind === undefined
        ? `is required (use ${kinds.join(", ")})`
        : `${show(kind)} is not a rule kind (use ${kinds.join(", ")})`,
    );
    return;
  }
  const only = (allowed: string[], what: string) =>
    checkProperties(node, path, ["kind", ...allowed], what, errors);

  switch (kind) {
    case "all":
    case "any": {
      only(["rules"], `an "${kind}" rule`);
      const rules = node.rules;
      if (!Array.isArray(rules)) {
        push(`${path}.rules`, rules === undefined ? "is required" : "must be an array of rules");
        return;
      }
      if (rules.length === 0) push(`${path}.rules`, `an "${kind}" needs at least one rule`);
      if (rules.length > MAX_GROUP_RULES) {
        push(`${path}.rules`, `has ${rules.length} rules; at most ${MAX_GROUP_RULES} (nest groups for more)`);
      }
      for (const [i, child] of rules.entries())
        checkNode(child, `${path}.rules[${i}]`, depth + 1, errors, counter, kinds);
      return;
    }
    case "not":
      only(["rule"], 'a "not" rule');
      if (node.rule === undefined) push(`${path}.rule`, "is required");
      else checkNode(node.rule, `${path}.rule`, depth + 1, errors, counter, kinds);
      return;
  }

  counter.conditions++;
  switch (kind) {
    case "field": {
      only(["field", "type", "condition"], "field rule");
      const field = node.field;
      let column: { type: "string" | "date" } | undefined;
      if (typeof field !== "string")
        push(`${path}.field`, field === undefined ? "is required" : "must be a string");
      else if (Object.hasOwn(CONTACT_COLUMNS, field)) column = CONTACT_COLUMNS[field as ContactField];
      else if (!(field.startsWith("attributes.") && KEY_PATTERN.test(field.slice("attributes.".length)))) {
        push(`${path}.field`, `${show(field)} is not a contact field or attributes.<key>`);
      }

      const type = node.type;
      if (typeof type !== "string" || !(FIELD_TYPES as readonly string[]).includes(type)) {
        push(
          `${path}.type`,
          type === undefined
            ? "is required"
            : `${show(type)} is not a field type (use ${FIELD_TYPES.join(", ")})`,
        );
        if (node.condition === undefined) push(`${path}.condition`, "is required");
        return;
      }
      if (column && column.type !== type) {
        const kindOfField = column.type === "string" ? "a text field" : "a date field";
        push(
          `${path}.type`,
          `${show(type)} does not fit ${String(field)}: it is ${kindOfField} (use ${column.type})`,
        );
      }
      checkCondition(node.condition, `${path}.condition`, type as FieldType, errors);
      return;
    }
    case "event": {
      only(["type", "where", "count", "within"], "event rule");
      const type = node.type;
      if (type === undefined) push(`${path}.type`, "is required");
      else if (
        typeof type !== "string" ||
        type.length === 0 ||
        codePoints(type) > 100 ||
        !EVENT_TYPE_PATTERN.test(type)
      ) {
        push(`${path}.type`, `${show(type)} is not an event type (1 to 100 letters, digits, _ . : or -)`);
      }
      if (node.where !== undefined) {
        if (!Array.isArray(node.where)) push(`${path}.where`, "must be an array of property filters");
        else {
          if (node.where.length > 20) push(`${path}.where`, `has ${node.where.length} filters; at most 20`);
          for (const [i, filter] of node.where.entries())
            checkPropertyFilter(filter, `${path}.where[${i}]`, errors);
        }
      }
      checkCount(node.count, `${path}.count`, errors);
      checkWithin(node.within, `${path}.within`, errors);
      return;
    }
    case "response":
      only(["response", "campaignId", "channel", "within", "count"], "response rule");
      checkOneOf(node.response, `${path}.response`, RESPONSES, "a response", errors, true);
      if (node.campaignId !== undefined) checkUuid(node.campaignId, `${path}.campaignId`, errors);
      if (node.channel !== undefined)
        checkOneOf(node.channel, `${path}.channel`, CHANNELS, "a channel", errors, true);
      checkCount(node.count, `${path}.count`, errors);
      checkWithin(node.within, `${path}.within`, errors);
      return;
    case "consent":
      only(["channel", "status"], "consent rule");
      checkOneOf(node.channel, `${path}.channel`, CHANNELS, "a channel", errors, true);
      checkOneOf(node.status, `${path}.status`, CONSENT_STATUSES, "a consent status", errors, true);
      return;
    case "reachable":
      only(["channel"], "reachable rule");
      checkOneOf(node.channel, `${path}.channel`, CHANNELS, "a channel", errors, true);
      return;
    case "list":
      only(["listId"], "list rule");
      checkUuid(node.listId, `${path}.listId`, errors);
      return;
    case "audience":
      only(["audienceId"], "audience rule");
      checkUuid(node.audienceId, `${path}.audienceId`, errors);
      return;
    case "bucket": {
      only(["salt", "percent"], "bucket rule");
      const salt = node.salt;
      if (salt === undefined) push(`${path}.salt`, "is required");
      else if (typeof salt !== "string" || salt.length === 0 || codePoints(salt) > 100) {
        push(`${path}.salt`, "must be a string of 1 to 100 characters");
      } else checkText(salt, `${path}.salt`, errors);
      checkInteger(node.percent, `${path}.percent`, 0, 100, errors);
      return;
    }
    case "entry_event": {
      only(["where"], "entry_event rule");
      const where = node.where;
      if (where === undefined) push(`${path}.where`, "is required (at least one property filter)");
      else if (!Array.isArray(where)) push(`${path}.where`, "must be an array of property filters");
      else {
        if (where.length === 0) push(`${path}.where`, "needs at least one property filter");
        if (where.length > 20) push(`${path}.where`, `has ${where.length} filters; at most 20`);
        for (const [i, filter] of where.entries()) checkPropertyFilter(filter, `${path}.where[${i}]`, errors);
      }
      return;
    }
  }
}

function checkCondition(condition: unknown, path: string, type: FieldType, errors: RuleProblem[]) {
  if (condition === undefined) {
    errors.push({ field: path, message: "is required" });
    return;
  }
  if (!isObject(condition)) {
    errors.push({ field: path, message: "must be a condition object" });
    return;
  }
  const operators = OPERATORS[type];
  const op = condition.op;
  const names = Object.keys(operators);
  if (typeof op !== "string" || !Object.hasOwn(operators, op)) {
    errors.push({
      field: `${path}.op`,
      message:
        op === undefined
          ? `is required (use ${names.join(", ")})`
          : `${show(op)} is not an operator for ${type} fields (use ${names.join(", ")})`,
    });
    return;
  }
  const spec = operators[op]!;
  checkProperties(condition, path, ["op", ...Object.keys(spec)], `"${op}" condition`, errors);
  for (const [name, kind] of Object.entries(spec)) {
    checkValue(condition[name], `${path}.${name}`, kind, errors);
  }
  if (op === "between") {
    if (type === "number" && isFiniteNumber(condition.from) && isFiniteNumber(condition.to)) {
      if (condition.from > condition.to) {
        errors.push({
          field: path,
          message: `from (${condition.from}) is greater than to (${condition.to})`,
        });
      }
    }
    if (type === "date" && typeof condition.from === "string" && typeof condition.to === "string") {
      const from = parseRuleDateTime(condition.from);
      const to = parseRuleDateTime(condition.to);
      if (from && to && from.getTime() > to.getTime()) {
        errors.push({ field: path, message: `from (${condition.from}) is after to (${condition.to})` });
      }
    }
  }
}

function checkValue(value: unknown, path: string, kind: ValueKind, errors: RuleProblem[]) {
  const push = (message: string) => errors.push({ field: path, message });
  if (value === undefined) {
    if (kind !== "flag?") push("is required");
    return;
  }
  switch (kind) {
    case "text":
    case "needle":
      if (typeof value !== "string") return push("must be a string");
      if (kind === "needle" && value.length === 0) return push("must not be empty");
      if (codePoints(value) > MAX_TEXT) return push(`must be at most ${MAX_TEXT} characters`);
      checkText(value, path, errors);
      return;
    case "texts":
    case "numbers": {
      if (!Array.isArray(value))
        return push(`must be an array of ${kind === "texts" ? "strings" : "numbers"}`);
      if (value.length === 0) return push("must have at least one value");
      if (value.length > MAX_VALUES) return push(`must have at most ${MAX_VALUES} values`);
      const itemKind = kind === "texts" ? "text" : "number";
      for (const [i, item] of value.entries()) checkValue(item, `${path}[${i}]`, itemKind, errors);
      return;
    }
    case "flag?":
    case "boolean":
      if (typeof value !== "boolean") push("must be true or false");
      return;
    case "number":
      if (!isFiniteNumber(value)) push("must be a number");
      return;
    case "datetime":
      if (typeof value !== "string" || !parseRuleDateTime(value)) {
        push("must be a date-time with a time zone between years 0001 and 9999, e.g. 2024-05-01T00:00:00Z");
      }
      return;
    case "days":
      checkInteger(value, path, 0, MAX_DAYS, errors);
      return;
  }
}

function checkPropertyFilter(filter: unknown, path: string, errors: RuleProblem[]) {
  if (!isObject(filter)) {
    errors.push({ field: path, message: "must be a property filter object" });
    return;
  }
  checkProperties(filter, path, ["property", "type", "condition"], "property filter", errors);
  const property = filter.property;
  if (property === undefined) errors.push({ field: `${path}.property`, message: "is required" });
  else if (typeof property !== "string" || !KEY_PATTERN.test(property)) {
    errors.push({
      field: `${path}.property`,
      message: `${show(property)} is not a property name (a letter or _, then letters, digits or _; at most 64)`,
    });
  }
  const type = filter.type;
  if (typeof type !== "string" || !(PROPERTY_TYPES as readonly string[]).includes(type)) {
    errors.push({
      field: `${path}.type`,
      message:
        type === undefined
          ? "is required"
          : `${show(type)} is not a property type (use ${PROPERTY_TYPES.join(", ")})`,
    });
    return;
  }
  checkCondition(filter.condition, `${path}.condition`, type as FieldType, errors);
}

function checkCount(count: unknown, path: string, errors: RuleProblem[]) {
  if (count === undefined) return;
  if (!isObject(count)) {
    errors.push({ field: path, message: "must be an object like { op: at_least, value: 1 }" });
    return;
  }
  checkProperties(count, path, ["op", "value"], "count", errors);
  checkOneOf(count.op, `${path}.op`, COUNT_OPS, "a count operator", errors, true);
  checkInteger(count.value, `${path}.value`, 0, 1_000_000, errors);
}

function checkWithin(within: unknown, path: string, errors: RuleProblem[]) {
  if (within === undefined) return;
  if (!isObject(within)) {
    errors.push({ field: path, message: "must be an object like { days: 30 }" });
    return;
  }
  checkProperties(within, path, ["days"], "within", errors);
  checkInteger(within.days, `${path}.days`, 1, MAX_DAYS, errors);
}

function checkOneOf(
  value: unknown,
  path: string,
  allowed: readonly string[],
  what: string,
  errors: RuleProblem[],
  required: boolean,
) {
  if (value === undefined) {
    if (required) errors.push({ field: path, message: `is required (use ${allowed.join(", ")})` });
    return;
  }
  if (typeof value !== "string" || !allowed.includes(value)) {
    errors.push({ field: path, message: `${show(value)} is not ${what} (use ${allowed.join(", ")})` });
  }
}

function checkUuid(value: unknown, path: string, errors: RuleProblem[]) {
  if (value === undefined) errors.push({ field: path, message: "is required" });
  else if (typeof value !== "string" || !UUID_PATTERN.test(value)) {
    errors.push({ field: path, message: `${show(value)} is not a UUID` });
  }
}

function checkInteger(value: unknown, path: string, min: number, max: number, errors: RuleProblem[]) {
  if (value === undefined) errors.push({ field: path, message: "is required" });
  else if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    errors.push({ field: path, message: `must be a whole number from ${min} to ${max}` });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// PostgreSQL text cannot hold NUL, and a lone surrogate would reach it as U+FFFD: either would make
// the database and the rule disagree about the value, so both are refused up front.
function checkText(value: string, path: string, errors: RuleProblem[]) {
  if (value.includes("\u0000")) errors.push({ field: path, message: "must not contain the NUL character" });
  else if (LONE_SURROGATE.test(value)) errors.push({ field: path, message: "must be valid Unicode text" });
}

function checkProperties(
  node: Record<string, unknown>,
  path: string,
  allowed: string[],
  what: string,
  errors: RuleProblem[],
) {
  for (const key of Object.keys(node)) {
    if (!allowed.includes(key)) {
      errors.push({
        field: `${path}.${key}`,
        message: `unknown property (a ${what} has ${allowed.join(", ")})`,
      });
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);

// TypeBox measures string lengths in code points.
const codePoints = (value: string) => {
  let n = 0;
  for (const _ of value) n++;
  return n;
};

const show = (value: unknown) => {
  const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

const RULE_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Reads a rule's date-time: RFC 3339 with a time zone, as the schema's format "date-time" asks, but
 * without leap seconds or RFC 9557 suffixes, and in years 0001 to 9999, so that JavaScript and
 * PostgreSQL read the same instant. Fractions beyond milliseconds are dropped. Null when not such a value.
 */
export function parseRuleDateTime(value: string): Date | null {
  const m = RULE_DATE_TIME.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, fraction, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  if (!z && (Number(oh) > 23 || Number(om) > 59)) return null;
  const millis = (fraction ?? "").slice(0, 3).padEnd(3, "0");
  const offset = z ? "Z" : `${sign}${oh}:${om}`;
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}${offset}`);
  return Number.isNaN(time) ? null : new Date(time);
}

export function isLeapYear(year: number) {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysInMonth(year: number, month: number) {
  return month === 2
    ? isLeapYear(year)
      ? 29
      : 28
    : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** The audiences a rule names (lower-cased, each once, in order of appearance). */
export function referencedAudienceIds(rule: Rule): string[] {
  const ids = new Set<string>();
  walk(rule, (node) => {
    if (node.kind === "audience") ids.add(node.audienceId.toLowerCase());
  });
  return [...ids];
}

/** The lists a rule names through list conditions (lower-cased, each once, in order of appearance). */
export function referencedListIds(rule: Rule): string[] {
  const ids = new Set<string>();
  walk(rule, (node) => {
    if (node.kind === "list") ids.add(node.listId.toLowerCase());
  });
  return [...ids];
}

/** The number of conditions (leaves) in a rule; all, any and not are not conditions. */
export function countConditions(rule: Rule): number {
  let n = 0;
  walk(rule, (node) => {
    if (node.kind !== "all" && node.kind !== "any" && node.kind !== "not") n++;
  });
  return n;
}

function walk(rule: Rule, visit: (node: Rule) => void) {
  visit(rule);
  if (rule.kind === "all" || rule.kind === "any") for (const child of rule.rules) walk(child, visit);
  else if (rule.kind === "not") walk(rule.rule, visit);
}
