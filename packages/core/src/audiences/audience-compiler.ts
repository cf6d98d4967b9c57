/**
 * Compiles an audience rule to one parameterised SQL boolean expression over `contacts c`. Every value,
 * attribute key and property name is a bound parameter; every subquery is pinned to the workspace; and
 * the expression is never NULL, so `not` and use in a select list behave. audience-evaluator.ts is the
 * the reference the differential test holds this to. One kind reads more than `contacts c`: `entry_event`
 * (workflow conditions only) reads the member's enrollment `en`, which the caller must join.
 *
 * Dates without an offset stored in attributes are read by omneural_try_timestamptz in the session's
 * TimeZone; the platform runs its sessions in UTC, which is what the reference evaluator assumes.
 */
import type { Rule } from "@omneural/contracts/audiences";
import { type RawBuilder, sql } from "kysely";
import {
  CONTACT_COLUMNS,
  type ContactField,
  countConditions,
  type FieldType,
  isLeapYear,
  KEY_PATTERN,
  parseRuleDateTime,
  validateRule,
} from "./audience-rules.ts";

export interface CompileContext {
  workspaceId: string;
  /** Bound as a parameter: SQL and the reference agree on time, and tests are deterministic. */
  now: Date;
  /** For audience and list rules; the caller's resolver only sees audiences of `workspaceId`. */
  resolveAudience(id: string): Promise<{ kind: "segment" | "list"; definition: Rule | null } | undefined>;
  /**
   * The audience whose definition is being compiled, if it has one: a new definition that refers back
   * to it is a cycle even though the stored definition does not show it yet.
   */
  audienceId?: string;
  /**
   * Only these contacts will be asked about (a membership re-check after a change): event subqueries are
   * restricted to them, so checking one contact reads that contact's events, not everyone's.
   */
  onlyContacts?: string[];
  /**
   * The query joins the member's enrollment as `enrollments en` (a workflow condition, see
   * selectPerContact): `entry_event` rules read `en.trigger_event`. Absent, such rules are refused.
   */
  enrollment?: boolean;
}

export class AudienceCompileError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "AudienceCompileError";
  }
}

/** Segments are inlined; this bounds what a diamond of references can multiply into. */
export const MAX_EXPANDED_CONDITIONS = 2000;

const DAY_MS = 86_400_000;

type Bool = RawBuilder<boolean>;
type Resolved = { kind: "segment" | "list"; definition: Rule | null } | undefined;

interface State {
  ctx: CompileContext;
  now: RawBuilder<Date>;
  resolved: Map<string, Promise<Resolved>>;
  expanded: number;
}

const TRUE = sql<boolean>`true`;
const FALSE = sql<boolean>`false`;

export async function compileRule(rule: Rule, ctx: CompileContext): Promise<RawBuilder<boolean>> {
  const checked = validateRule(rule, "definition", { entryEvent: ctx.enrollment === true });
  if (!checked.ok) {
    const first = checked.errors[0]!;
    throw new AudienceCompileError(first.field, first.message);
  }
  const state: State = {
    ctx,
    now: sql<Date>`${ctx.now.toISOString()}::timestamptz`,
    resolved: new Map(),
    expanded: 0,
  };
  const chain = ctx.audienceId ? [ctx.audienceId.toLowerCase()] : [];
  return compileNode(rule, "definition", chain, undefined, state);
}

export async function compileAudienceQuery(
  rule: Rule,
  ctx: CompileContext,
): Promise<{ where: RawBuilder<boolean> }> {
  return { where: await compileRule(rule, ctx) };
}

/**
 * `path` is where the node sits in its definition. Inside an inlined segment, `origin` is the top-level
 * audience reference that brought it in, and errors are reported there: that is what the caller can fix.
 */
async function compileNode(
  rule: Rule,
  path: string,
  chain: string[],
  origin: string | undefined,
  state: State,
): Promise<Bool> {
  const field = (suffix: string) => origin ?? `${path}${suffix}`;
  switch (rule.kind) {
    case "all":
    case "any": {
      const parts: Bool[] = [];
      for (const [i, child] of rule.rules.entries()) {
        parts.push(await compileNode(child, `${path}.rules[${i}]`, chain, origin, state));
      }
      return group(rule.kind === "all" ? "and" : "or", parts);
    }
    case "not":
      return sql<boolean>`(not ${await compileNode(rule.rule, `${path}.rule`, chain, origin, state)})`;
    case "field":
      return compileField(rule, field(".field"), state.ctx.now);
    case "event":
      return eventCondition(state, {
        type: rule.type,
        filters: (rule.where ?? []).map((f, i) =>
          propertyCondition(
            sql`e.properties`,
            f.property,
            f.type,
            f.condition as Condition,
            field(`.where[${i}]`),
            state.ctx.now,
          ),
        ),
        count: rule.count,
        withinDays: rule.within?.days,
      });
    case "response": {
      // events.channel and events.campaign_id are generated from the properties when those are JSON
      // strings (the same reading a string property filter has), and indexed for response queries.
      const filters: Bool[] = [];
      if (rule.campaignId) filters.push(sql<boolean>`e.campaign_id = ${rule.campaignId.toLowerCase()}::text`);
      if (rule.channel) filters.push(sql<boolean>`e.channel = ${rule.channel}::text`);
      // A link scanner clicks every link on delivery: its clicks (flagged by the response writer) are
      // not the contact's, here as in journeys and reports.
      if (rule.response === "clicked")
        filters.push(sql<boolean>`not (e.properties @> '{"machine": true}'::jsonb)`);
      return eventCondition(state, {
        type: `message.${rule.response}`,
        filters,
        count: rule.count,
        withinDays: rule.within?.days,
      });
    }
    case "consent":
      return sql<boolean>`(${sql.raw(CONSENT_COLUMNS[rule.channel])} = ${rule.status}::text)`;
    case "reachable":
      return reachable(rule.channel);
    case "list": {
      const id = rule.listId.toLowerCase();
      const audience = await resolve(state, id);
      if (!audience) throw new AudienceCompileError(field(".listId"), `list ${id} does not exist`);
      if (audience.kind !== "list")
        throw new AudienceCompileError(field(".listId"), `${id} is a segment, not a list`);
      return listMembership(state, id);
    }
    case "audience": {
      const id = rule.audienceId.toLowerCase();
      const at = field(".audienceId");
      if (chain.includes(id)) {
        const cycle = [...chain.slice(chain.indexOf(id)), id].join(" → ");
        throw new AudienceCompileError(at, `audiences refer to each other in a cycle: ${cycle}`);
      }
      const audience = await resolve(state, id);
      const via = origin ? ` (via ${[...chain, id].join(" → ")})` : "";
      if (!audience) throw new AudienceCompileError(at, `audience ${id} does not exist${via}`);
      if (audience.kind === "list") return listMembership(state, id);
      if (!audience.definition) throw new AudienceCompileError(at, `segment ${id} has no definition${via}`);
      const checked = validateRule(audience.definition);
      if (!checked.ok) {
        const first = checked.errors[0]!;
        throw new AudienceCompileError(
          at,
          `segment ${id} has an invalid definition${via}: ${first.field}: ${first.message}`,
        );
      }
      state.expanded += countConditions(checked.rule);
      if (state.expanded > MAX_EXPANDED_CONDITIONS) {
        throw new AudienceCompileError(
          at,
          `the audiences this rule refers to expand to more than ${MAX_EXPANDED_CONDITIONS} conditions`,
        );
      }
      return compileNode(checked.rule, "definition", [...chain, id], at, state);
    }
    case "bucket":
      // The first 28 bits of md5(salt:id) as an integer, mod 100: stable per contact and salt.
      return sql<boolean>`((('x' || substr(md5(${rule.salt}::text || ':' || c.id::text), 1, 7))::bit(28)::int % 100) < ${rule.percent}::int)`;
    case "entry_event": {
      // Validation refuses it without an enrollment; checked again because `en` must be in the query.
      if (!state.ctx.enrollment) {
        throw new AudienceCompileError(
          field(".kind"),
          '"entry_event" is only available in workflow condition nodes (the query has no enrollment)',
        );
      }
      // A member who did not enter by an event has no trigger_event: false, whatever the filters
      // (a `neq` or `empty` filter alone would otherwise hold for a missing event).
      const filters = rule.where.map((f, i) =>
        propertyCondition(
          sql`(en.trigger_event -> 'properties')`,
          f.property,
          f.type,
          f.condition as Condition,
          field(`.where[${i}]`),
          state.ctx.now,
        ),
      );
      return group("and", [sql<boolean>`(en.trigger_event is not null)`, ...filters]);
    }
  }
}

function resolve(state: State, id: string): Promise<Resolved> {
  let found = state.resolved.get(id);
  if (!found) {
    found = state.ctx.resolveAudience(id);
    state.resolved.set(id, found);
  }
  return found;
}

function group(op: "and" | "or", parts: Bool[]): Bool {
  if (parts.length === 0) return op === "and" ? TRUE : FALSE;
  if (parts.length === 1) return parts[0]!;
  return sql<boolean>`(${sql.join(parts, op === "and" ? sql` and ` : sql` or `)})`;
}

/* ------------------------------------------------------------------------------------------------ */
/* Fields and properties                                                                             */

type Condition = {
  op: string;
  value?: string | number | boolean;
  values?: (string | number)[];
  from?: string | number;
  to?: string | number;
  days?: number;
  caseInsensitive?: boolean;
};

function compileField(rule: Extract<Rule, { kind: "field" }>, path: string, now: Date): Bool {
  const condition = rule.condition as Condition;
  if (Object.hasOwn(CONTACT_COLUMNS, rule.field)) {
    const { column, type } = CONTACT_COLUMNS[rule.field as ContactField];
    const ref = sql.raw(`c.${column}`);
    return type === "string" ? textColumnCondition(ref, condition) : dateCondition(ref, true, condition, now);
  }
  const key = rule.field.slice("attributes.".length);
  return propertyCondition(sql`c.attributes`, key, rule.type, condition, path, now);
}

/**
 * A text column: NULL and '' are missing. Written against the bare column (not nullif) so an index on it,
 * such as contacts_region, still serves `eq` and `in`; '' is handled by dropping it from the values.
 */
function textColumnCondition(col: RawBuilder<unknown>, c: Condition): Bool {
  const present = sql<boolean>`(${col} is not null and ${col} <> '')`;
  switch (c.op) {
    case "exists":
      return present;
    case "empty":
      return sql<boolean>`(${col} is null or ${col} = '')`;
    case "eq":
      return c.value === "" ? FALSE : sql<boolean>`(${col} = ${c.value}::text and ${col} is not null)`;
    case "neq":
      return c.value === "" ? TRUE : sql<boolean>`(${col} <> ${c.value}::text or ${col} is null)`;
    case "in": {
      const values = (c.values as string[]).filter((v) => v !== "");
      return values.length ? sql<boolean>`(${col} = any(${values}::text[]) and ${col} is not null)` : FALSE;
    }
    case "not_in": {
      const values = (c.values as string[]).filter((v) => v !== "");
      return values.length ? sql<boolean>`(${col} <> all(${values}::text[]) or ${col} is null)` : TRUE;
    }
    // A non-empty needle is never found in '', so '' needs no special case here.
    case "contains":
    case "starts_with":
      return sql<boolean>`(${textMatch(col, c)} and ${col} is not null)`;
  }
  throw new Error(`unexpected string operator ${c.op}`);
}

function textMatch(value: RawBuilder<unknown>, c: Condition): Bool {
  const [haystack, needle] = c.caseInsensitive
    ? [sql`lower(${value})`, sql`lower(${c.value}::text)`]
    : [value, sql`${c.value}::text`];
  return c.op === "contains"
    ? sql<boolean>`strpos(${haystack}, ${needle}) > 0`
    : sql<boolean>`starts_with(${haystack}, ${needle})`;
}

/**
 * A key of a JSON object (contact attributes, event properties). It is missing unless present with the
 * declared JSON type; a date is a JSON string omneural_try_timestamptz can read.
 */
function propertyCondition(
  object: RawBuilder<unknown>,
  key: string,
  type: FieldType,
  c: Condition,
  path: string,
  now: Date,
): Bool {
  // Validated already; checked again because this is the line between rule text and SQL.
  if (!KEY_PATTERN.test(key))
    throw new AudienceCompileError(path, `${JSON.stringify(key)} is not a valid key`);
  const json = sql`(${object} -> ${key}::text)`;
  const isType = (t: string) => sql`jsonb_typeof(${json}) = ${sql.lit(t)}`;
  switch (type) {
    case "string":
      return stringCondition(sql`(case when ${isType("string")} then ${object} ->> ${key}::text end)`, c);
    case "number":
      return scalarCondition(sql`(case when ${isType("number")} then ${json}::numeric end)`, "numeric", c);
    case "boolean":
      return scalarCondition(sql`(case when ${isType("boolean")} then ${json}::boolean end)`, "boolean", c);
    case "date":
      return dateCondition(
        sql`(case when ${isType("string")} then omneural_try_timestamptz(${object} ->> ${key}::text) end)`,
        false,
        c,
        now,
      );
  }
}

/** A string value that is NULL when missing ('' is a present value here). */
function stringCondition(v: RawBuilder<unknown>, c: Condition): Bool {
  switch (c.op) {
    case "contains":
    case "starts_with":
      return sql<boolean>`coalesce(${textMatch(v, c)}, false)`;
    default:
      return scalarCondition(v, "text", c);
  }
}

/** eq, neq, in, not_in, comparisons, between, exists and empty over a value that is NULL when missing. */
function scalarCondition(v: RawBuilder<unknown>, type: "text" | "numeric" | "boolean", c: Condition): Bool {
  const t = sql.raw(type);
  const x = sql`${c.value}::${t}`;
  switch (c.op) {
    case "exists":
      return sql<boolean>`(${v} is not null)`;
    case "empty":
      return sql<boolean>`(${v} is null)`;
    case "eq":
      return sql<boolean>`coalesce(${v} = ${x}, false)`;
    // Missing is not equal to anything: a contact with no state is "not CA".
    case "neq":
      return sql<boolean>`coalesce(${v} <> ${x}, true)`;
    case "gt":
      return sql<boolean>`coalesce(${v} > ${x}, false)`;
    case "gte":
      return sql<boolean>`coalesce(${v} >= ${x}, false)`;
    case "lt":
      return sql<boolean>`coalesce(${v} < ${x}, false)`;
    case "lte":
      return sql<boolean>`coalesce(${v} <= ${x}, false)`;
    case "between":
      return sql<boolean>`coalesce(${v} between ${c.from}::${t} and ${c.to}::${t}, false)`;
    case "in":
      return sql<boolean>`coalesce(${v} = any(${c.values}::${t}[]), false)`;
    case "not_in":
      return sql<boolean>`coalesce(${v} <> all(${c.values}::${t}[]), true)`;
  }
  throw new Error(`unexpected ${type} operator ${c.op}`);
}

/**
 * A timestamptz value. `notNull` columns compare directly; an attribute is NULL when missing, and is
 * written once per condition because reading it calls omneural_try_timestamptz.
 */
function dateCondition(v: RawBuilder<unknown>, notNull: boolean, c: Condition, now: Date): Bool {
  const wrap = (test: RawBuilder<unknown>) =>
    notNull ? sql<boolean>`(${test})` : sql<boolean>`coalesce(${test}, false)`;
  const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;
  const range = (from: Date, to: Date) =>
    notNull
      ? sql<boolean>`(${v} between ${at(from)} and ${at(to)})`
      : wrap(sql`${v} <@ tstzrange(${at(from)}, ${at(to)}, '[]')`);
  switch (c.op) {
    case "exists":
      return notNull ? TRUE : sql<boolean>`(${v} is not null)`;
    case "empty":
      return notNull ? FALSE : sql<boolean>`(${v} is null)`;
    case "before":
      return wrap(sql`${v} < ${at(ruleDate(c.value))}`);
    case "after":
      return wrap(sql`${v} > ${at(ruleDate(c.value))}`);
    case "between":
      return range(ruleDate(c.from), ruleDate(c.to));
    case "within_last_days":
      return range(daysFrom(now, -c.days!), now);
    case "more_than_days_ago":
      return wrap(sql`${v} < ${at(daysFrom(now, -c.days!))}`);
    case "within_next_days":
      return range(now, daysFrom(now, c.days!));
    case "anniversary_within_next_days":
      return wrap(
        sql`to_char(${v} at time zone 'UTC', 'MMDD') = any(${anniversaryKeys(now, c.days!)}::text[])`,
      );
  }
  throw new Error(`unexpected date operator ${c.op}`);
}

/**
 * The month-days (MMDD) whose next anniversary, counted from today (UTC), falls within `days` days.
 * Enumerating the window turns the condition into one membership test per contact; Feb 29 counts as
 * Feb 28 in years without it.
 */
export function anniversaryKeys(now: Date, days: number): string[] {
  const keys = new Set<string>();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  // Every month-day recurs within 366 days, so a longer window adds nothing.
  for (let i = 0; i <= Math.min(days, 366); i++) {
    const day = new Date(today + i * DAY_MS);
    const month = day.getUTCMonth() + 1;
    const date = day.getUTCDate();
    keys.add(`${pad2(month)}${pad2(date)}`);
    if (month === 2 && date === 28 && !isLeapYear(day.getUTCFullYear())) keys.add("0229");
  }
  return [...keys].sort();
}

const pad2 = (n: number) => String(n).padStart(2, "0");

function daysFrom(date: Date, days: number) {
  return new Date(date.getTime() + days * DAY_MS);
}

function ruleDate(value: unknown): Date {
  const date = typeof value === "string" ? parseRuleDateTime(value) : null;
  if (!date) throw new Error(`unexpected date-time ${String(value)}`);
  return date;
}

/* ------------------------------------------------------------------------------------------------ */
/* Events, lists, consent                                                                            */

interface EventQuery {
  type: string;
  filters: Bool[];
  count: { op: "at_least" | "at_most" | "exactly"; value: number } | undefined;
  withinDays: number | undefined;
}

/**
 * Written as semi- and anti-joins over events (by workspace, type and time, which events_type_contact
 * covers) rather than a count per contact, which is too slow at a million contacts.
 */
function eventCondition(state: State, q: EventQuery): Bool {
  const { op, value: n } = q.count ?? { op: "at_least", value: 1 };
  const conditions: Bool[] = [
    sql<boolean>`e.workspace_id = ${state.ctx.workspaceId}`,
    sql<boolean>`e.type = ${q.type}::text`,
  ];
  // Events after `now` never count, so the window is closed on both sides.
  if (q.withinDays !== undefined) {
    const from = daysFrom(state.ctx.now, -q.withinDays).toISOString();
    conditions.push(sql<boolean>`e.occurred_at >= ${from}::timestamptz`);
  }
  conditions.push(sql<boolean>`e.occurred_at <= ${state.now}`, ...q.filters);
  if (state.ctx.onlyContacts)
    conditions.push(sql<boolean>`e.contact_id = any(${state.ctx.onlyContacts}::uuid[])`);
  const where = sql.join(conditions, sql` and `);
  const matching = (having?: RawBuilder<unknown>) =>
    having
      ? sql`(select e.contact_id from events e where ${where} group by e.contact_id having ${having})`
      : sql`(select e.contact_id from events e where ${where})`;

  if (op === "at_least" && n === 0) return TRUE;
  if ((op === "at_most" || op === "exactly") && n === 0) {
    return sql<boolean>`(not exists (select from events e where ${where} and e.contact_id = c.id))`;
  }
  switch (op) {
    case "at_least":
      return n === 1
        ? sql<boolean>`(c.id in ${matching()})`
        : sql<boolean>`(c.id in ${matching(sql`count(*) >= ${n}`)})`;
    case "exactly":
      return sql<boolean>`(c.id in ${matching(sql`count(*) = ${n}`)})`;
    case "at_most":
      // contact_id is never NULL, so `not in` cannot turn NULL; it runs as one hashed pass over events.
      return sql<boolean>`(c.id not in ${matching(sql`count(*) > ${n}`)})`;
  }
}

function listMembership(state: State, listId: string): Bool {
  return sql<boolean>`(c.id in (select lm.contact_id from list_members lm where lm.workspace_id = ${state.ctx.workspaceId} and lm.list_id = ${listId}::uuid))`;
}

const CONSENT_COLUMNS = {
  email: "c.email_consent",
  sms: "c.sms_consent",
  mail: "c.mail_consent",
  ads: "c.ads_consent",
} as const;

function reachable(channel: keyof typeof CONSENT_COLUMNS): Bool {
  const present = (column: string) => sql.raw(`(c.${column} is not null and c.${column} <> '')`);
  switch (channel) {
    case "email":
      return sql<boolean>`(${present("email")} and c.email_consent in ('subscribed', 'never_asked'))`;
    case "sms":
      return sql<boolean>`(${present("phone")} and c.sms_consent = 'subscribed')`;
    case "mail":
      return sql<boolean>`(${present("address_line1")} and ${present("city")} and ${present("postal_code")} and ${present("country")} and c.mail_consent <> 'unsubscribed')`;
    case "ads":
      return sql<boolean>`((${present("email")} or ${present("phone")}) and c.ads_consent in ('subscribed', 'never_asked'))`;
  }
}
