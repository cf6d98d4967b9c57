/**
 * The reference evaluator: the audience rules over in-memory data, written to be obviously right rather
 * than fast. The differential test holds the SQL compiler (audience-compiler.ts) to it. It assumes, as
 * the platform does, that dates without an offset are read in UTC.
 */
import { createHash } from "node:crypto";
import type { Rule } from "@omneural/contracts/audiences";
import {
  CONTACT_COLUMNS,
  type ContactField,
  daysInMonth,
  isLeapYear,
  parseRuleDateTime,
} from "./audience-rules.ts";

export interface RefContact {
  id: string;
  external_id: string | null;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
  timezone: string | null;
  attributes: Record<string, unknown>;
  email_consent: string;
  sms_consent: string;
  mail_consent: string;
  ads_consent: string;
  created_at: Date;
  updated_at: Date;
}

export interface RefEvent {
  contactId: string;
  type: string;
  properties: Record<string, unknown>;
  occurredAt: Date;
}

export interface RefWorld {
  events: RefEvent[];
  /** `${listId}:${contactId}` */
  listMembers: Set<string>;
  audiences: Map<string, { kind: "segment" | "list"; definition: Rule | null }>;
  /**
   * The event that enrolled the member in this iteration, for `entry_event` rules (workflow conditions).
   * Absent or null: the member did not enter by an event, and every `entry_event` rule is false.
   */
  entryEvent?: { properties: Record<string, unknown> } | null;
}

const DAY_MS = 86_400_000;
const MISSING = Symbol("missing");
type Condition = {
  op: string;
  value?: unknown;
  values?: unknown[];
  from?: unknown;
  to?: unknown;
  days?: number;
  caseInsensitive?: boolean;
};

export function evaluateRule(rule: Rule, contact: RefContact, world: RefWorld, now: Date): boolean {
  return evaluate(rule, contact, world, now, []);
}

function evaluate(rule: Rule, contact: RefContact, world: RefWorld, now: Date, chain: string[]): boolean {
  switch (rule.kind) {
    case "all":
      return rule.rules.every((r) => evaluate(r, contact, world, now, chain));
    case "any":
      return rule.rules.some((r) => evaluate(r, contact, world, now, chain));
    case "not":
      return !evaluate(rule.rule, contact, world, now, chain);
    case "field": {
      const condition = rule.condition as Condition;
      if (Object.hasOwn(CONTACT_COLUMNS, rule.field)) {
        const { column } = CONTACT_COLUMNS[rule.field as ContactField];
        const raw = contact[column];
        if (raw instanceof Date) return test(raw, condition, now);
        return test(raw === null || raw === "" ? MISSING : raw, condition, now);
      }
      return test(
        jsonValue(contact.attributes, rule.field.slice("attributes.".length), rule.type),
        condition,
        now,
      );
    }
    case "event": {
      const filters = (rule.where ?? []).map(
        (f) => (properties: Record<string, unknown>) =>
          test(jsonValue(properties, f.property, f.type), f.condition as Condition, now),
      );
      return countMatches(contact, world, now, rule.type, filters, rule.within?.days, rule.count);
    }
    case "response": {
      const filters: ((properties: Record<string, unknown>) => boolean)[] = [];
      const campaignId = rule.campaignId?.toLowerCase();
      if (campaignId) filters.push((p) => jsonValue(p, "campaignId", "string") === campaignId);
      if (rule.channel) filters.push((p) => jsonValue(p, "channel", "string") === rule.channel);
      if (rule.response === "clicked") filters.push((p) => p.machine !== true);
      return countMatches(
        contact,
        world,
        now,
        `message.${rule.response}`,
        filters,
        rule.within?.days,
        rule.count,
      );
    }
    case "consent":
      return contact[`${rule.channel}_consent`] === rule.status;
    case "reachable": {
      const has = (v: string | null) => v !== null && v !== "";
      switch (rule.channel) {
        case "email":
          return has(contact.email) && ["subscribed", "never_asked"].includes(contact.email_consent);
        case "sms":
          return has(contact.phone) && contact.sms_consent === "subscribed";
        case "mail":
          return (
            has(contact.address_line1) &&
            has(contact.city) &&
            has(contact.postal_code) &&
            has(contact.country) &&
            contact.mail_consent !== "unsubscribed"
          );
        case "ads":
          return (
            (has(contact.email) || has(contact.phone)) &&
            ["subscribed", "never_asked"].includes(contact.ads_consent)
          );
      }
      throw new Error("unreachable");
    }
    case "list": {
      const id = rule.listId.toLowerCase();
      if (world.audiences.get(id)?.kind !== "list") throw new Error(`${id} is not a list`);
      return world.listMembers.has(`${id}:${contact.id}`);
    }
    case "audience": {
      const id = rule.audienceId.toLowerCase();
      if (chain.includes(id)) throw new Error(`audience cycle: ${[...chain, id].join(" → ")}`);
      const audience = world.audiences.get(id);
      if (!audience) throw new Error(`audience ${id} does not exist`);
      if (audience.kind === "list") return world.listMembers.has(`${id}:${contact.id}`);
      if (!audience.definition) throw new Error(`segment ${id} has no definition`);
      return evaluate(audience.definition, contact, world, now, [...chain, id]);
    }
    case "bucket": {
      const hex = createHash("md5").update(`${rule.salt}:${contact.id}`, "utf8").digest("hex");
      return Number.parseInt(hex.slice(0, 7), 16) % 100 < rule.percent;
    }
    case "entry_event":
      if (!world.entryEvent) return false;
      return matchesPropertyFilters(rule.where, world.entryEvent.properties ?? {}, now);
  }
}

/** Whether an event's properties pass every filter (the `where` of an event rule), as the SQL does. */
export function matchesPropertyFilters(
  filters: readonly { property: string; type: string; condition: unknown }[] | undefined,
  properties: Record<string, unknown>,
  now: Date,
): boolean {
  if (!filters) return true;
  return filters.every((f) => test(jsonValue(properties, f.property, f.type), f.condition as Condition, now));
}

/** A key of a JSON object read as the declared type, or MISSING. */
function jsonValue(object: Record<string, unknown>, key: string, type: string): unknown {
  if (!Object.hasOwn(object, key)) return MISSING;
  const v = object[key];
  switch (type) {
    case "string":
      return typeof v === "string" ? v : MISSING;
    case "number":
      return typeof v === "number" ? v : MISSING;
    case "boolean":
      return typeof v === "boolean" ? v : MISSING;
    case "date":
      return (typeof v === "string" && parseStoredTimestamp(v)) || MISSING;
  }
  throw new Error(`unexpected type ${type}`);
}

function test(v: unknown, c: Condition, now: Date): boolean {
  const missing = v === MISSING;
  switch (c.op) {
    case "exists":
      return !missing;
    case "empty":
      return missing;
    case "neq":
      return missing || v !== c.value;
    case "not_in":
      return missing || !c.values!.includes(v);
  }
  if (missing) return false;
  if (v instanceof Date) return testDate(v.getTime(), c, now);
  switch (c.op) {
    case "eq":
      return v === c.value;
    case "in":
      return c.values!.includes(v);
    case "contains":
    case "starts_with": {
      const fold = (s: string) => (c.caseInsensitive ? s.toLowerCase() : s);
      const haystack = fold(v as string);
      const needle = fold(c.value as string);
      return c.op === "contains" ? haystack.includes(needle) : haystack.startsWith(needle);
    }
    case "gt":
      return (v as number) > (c.value as number);
    case "gte":
      return (v as number) >= (c.value as number);
    case "lt":
      return (v as number) < (c.value as number);
    case "lte":
      return (v as number) <= (c.value as number);
    case "between":
      return (c.from as number) <= (v as number) && (v as number) <= (c.to as number);
  }
  throw new Error(`unexpected operator ${c.op}`);
}

function testDate(t: number, c: Condition, now: Date): boolean {
  const n = now.getTime();
  const ruleTime = (s: unknown) => parseRuleDateTime(s as string)!.getTime();
  switch (c.op) {
    case "before":
      return t < ruleTime(c.value);
    case "after":
      return t > ruleTime(c.value);
    case "between":
      return ruleTime(c.from) <= t && t <= ruleTime(c.to);
    case "within_last_days":
      return n - c.days! * DAY_MS <= t && t <= n;
    case "more_than_days_ago":
      return t < n - c.days! * DAY_MS;
    case "within_next_days":
      return n <= t && t <= n + c.days! * DAY_MS;
    case "anniversary_within_next_days": {
      const value = new Date(t);
      const today = utcDay(now.getUTCFullYear(), now.getUTCMonth() + 1, now.getUTCDate());
      const occurrence = (year: number) => {
        const month = value.getUTCMonth() + 1;
        const day = value.getUTCDate();
        return utcDay(year, month, month === 2 && day === 29 && !isLeapYear(year) ? 28 : day);
      };
      const thisYear = occurrence(now.getUTCFullYear());
      const next = thisYear >= today ? thisYear : occurrence(now.getUTCFullYear() + 1);
      return (next - today) / DAY_MS <= c.days!;
    }
  }
  throw new Error(`unexpected date operator ${c.op}`);
}

function utcDay(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(0, 0, 0, 0);
  return d.getTime();
}

function countMatches(
  contact: RefContact,
  world: RefWorld,
  now: Date,
  type: string,
  filters: ((properties: Record<string, unknown>) => boolean)[],
  withinDays: number | undefined,
  count: { op: "at_least" | "at_most" | "exactly"; value: number } | undefined,
): boolean {
  const n = world.events.filter(
    (e) =>
      e.contactId === contact.id &&
      e.type === type &&
      e.occurredAt.getTime() <= now.getTime() &&
      (withinDays === undefined || e.occurredAt.getTime() >= now.getTime() - withinDays * DAY_MS) &&
      filters.every((f) => f(e.properties)),
  ).length;
  const { op, value } = count ?? { op: "at_least", value: 1 };
  return op === "at_least" ? n >= value : op === "at_most" ? n <= value : n === value;
}

const STORED =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * What omneural_try_timestamptz makes of a stored string, for the shapes the tests store: NULL unless it
 * starts with YYYY-MM-DD; ISO dates and date-times (offset-less ones in UTC, offsets up to ±15:59) are
 * read; out-of-range parts make it NULL. Anything else that starts like a date is beyond this reference, and it says so.
 */
export function parseStoredTimestamp(value: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const m = STORED.exec(value);
  if (!m)
    throw new Error(`the reference evaluator does not know how PostgreSQL reads ${JSON.stringify(value)}`);
  const [, y, mo, d, h = "0", mi = "0", s = "0", fraction = "0", zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  // PostgreSQL takes 24:00:00 (the next midnight) and a 60th second (the next minute).
  const [hour, minute, second, millis] = [Number(h), Number(mi), Number(s), Number(fraction.padEnd(3, "0"))];
  if (hour > 24 || minute > 59 || second > 60) return null;
  if (hour === 24 && (minute > 0 || second > 0 || millis > 0)) return null;
  let offsetMinutes = 0;
  if (zone && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || "0");
    if (oh > 15 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const local = utcDay(year, month, day) + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  return new Date(local - offsetMinutes * 60_000);
}
