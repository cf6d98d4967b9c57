/**
 * The vocabulary of the rule builder: plain-English names for every kind of rule, field, operator and
 * channel of the audience rule language, and a sensible new rule of each kind.
 */
import type {
  BooleanCondition,
  CONTACT_FIELDS,
  DateCondition,
  FieldRule,
  NumberCondition,
  PropertyFilter,
  Rule,
  StringCondition,
} from "@omneural/contracts/audiences";
import type { Static } from "typebox";

export type { Rule };
export type FieldRuleValue = Static<typeof FieldRule>;
export type PropertyFilterValue = Static<typeof PropertyFilter>;
export type StringConditionValue = Static<typeof StringCondition>;
export type NumberConditionValue = Static<typeof NumberCondition>;
export type BooleanConditionValue = Static<typeof BooleanCondition>;
export type DateConditionValue = Static<typeof DateCondition>;
export type ValueType = "string" | "number" | "boolean" | "date";
export type AnyCondition =
  | StringConditionValue
  | NumberConditionValue
  | BooleanConditionValue
  | DateConditionValue;
export type LeafKind = Exclude<Rule["kind"], "all" | "any" | "not">;
export type Channel = "email" | "sms" | "mail" | "ads";

export const CHANNEL_NAMES: Record<Channel, string> = {
  email: "Email",
  sms: "Text message (SMS)",
  mail: "Direct mail",
  ads: "Ad audiences",
};
export const CHANNELS = Object.keys(CHANNEL_NAMES) as Channel[];

export const LEAF_KIND_NAMES: Record<LeafKind, string> = {
  field: "Contact detail",
  event: "Did something (event)",
  response: "Responded to a message",
  consent: "Consent",
  reachable: "Can be reached",
  list: "Is on a list",
  audience: "Is in another audience",
  bucket: "Random sample",
  entry_event: "Entering event (journeys only)",
};

export const FIELD_NAMES: Record<(typeof CONTACT_FIELDS)[number], string> = {
  externalId: "External ID",
  email: "Email",
  phone: "Phone",
  firstName: "First name",
  lastName: "Last name",
  "address.line1": "Address line 1",
  "address.line2": "Address line 2",
  "address.city": "City",
  "address.region": "Region / state",
  "address.postalCode": "Postal code",
  "address.country": "Country code",
  timezone: "Time zone",
  createdAt: "Date added",
  updatedAt: "Date last changed",
};
export const DATE_FIELDS = new Set(["createdAt", "updatedAt"]);

export const TYPE_NAMES: Record<ValueType, string> = {
  string: "Text",
  number: "Number",
  boolean: "Yes / no",
  date: "Date",
};

export const STRING_OPS: Record<StringConditionValue["op"], string> = {
  eq: "is",
  neq: "is not",
  contains: "contains",
  starts_with: "starts with",
  in: "is one of",
  not_in: "is none of",
  exists: "has any value",
  empty: "is empty",
};
export const NUMBER_OPS: Record<NumberConditionValue["op"], string> = {
  eq: "equals",
  neq: "does not equal",
  gt: "is more than",
  gte: "is at least",
  lt: "is less than",
  lte: "is at most",
  between: "is between",
  in: "is one of",
  not_in: "is none of",
  exists: "has any value",
  empty: "is empty",
};
/** Booleans merge the operator and its value: "is yes", "is no". */
export const BOOLEAN_OPS = {
  true: "is yes",
  false: "is no",
  exists: "has any value",
  empty: "is empty",
} as const;
export const DATE_OPS: Record<DateConditionValue["op"], string> = {
  within_last_days: "is within the last … days",
  more_than_days_ago: "is more than … days ago",
  within_next_days: "is within the next … days",
  anniversary_within_next_days: "has its yearly anniversary within the next … days",
  before: "is before",
  after: "is after",
  between: "is between",
  exists: "has any value",
  empty: "is empty",
};

export const RESPONSE_NAMES = {
  received: "received",
  opened: "opened",
  clicked: "clicked a link in",
  replied: "replied to",
  converted: "converted from",
  unsubscribed: "unsubscribed from",
} as const;

export const CONSENT_NAMES = {
  subscribed: "subscribed",
  unsubscribed: "unsubscribed",
  bounced: "bounced",
  complained: "complained (marked as spam)",
  never_asked: "never asked",
} as const;

export const COUNT_OPS = { at_least: "at least", at_most: "at most", exactly: "exactly" } as const;

/** A fresh condition for a value type, keeping the operator when the new type has it. */
export function defaultCondition(type: ValueType, op?: string): AnyCondition {
  switch (type) {
    case "string":
      return changeStringOp({ op: "eq", value: "" }, (op as StringConditionValue["op"]) ?? "eq");
    case "number":
      return changeNumberOp({ op: "eq", value: 0 }, (op as NumberConditionValue["op"]) ?? "eq");
    case "boolean":
      return op === "exists" || op === "empty" ? { op } : { op: "eq", value: true };
    case "date":
      return changeDateOp({ op: "within_last_days", days: 30 }, (op as DateConditionValue["op"]) ?? "");
  }
}

/** Changes a text condition's operator, carrying over the value typed so far. */
export function changeStringOp(
  current: StringConditionValue,
  op: StringConditionValue["op"],
): StringConditionValue {
  const first = "value" in current ? current.value : "values" in current ? (current.values[0] ?? "") : "";
  const values = "values" in current ? current.values : first ? [first] : [];
  switch (op) {
    case "eq":
    case "neq":
      return { op, value: first };
    case "contains":
    case "starts_with":
      return {
        op,
        value: first,
        ...("caseInsensitive" in current ? { caseInsensitive: current.caseInsensitive } : {}),
      };
    case "in":
    case "not_in":
      return { op, values };
    case "exists":
    case "empty":
      return { op };
  }
}

export function changeNumberOp(
  current: NumberConditionValue,
  op: NumberConditionValue["op"],
): NumberConditionValue {
  const first =
    "value" in current
      ? current.value
      : "from" in current
        ? current.from
        : "values" in current
          ? (current.values[0] ?? 0)
          : 0;
  switch (op) {
    case "between":
      return { op, from: first, to: "to" in current ? current.to : first };
    case "in":
    case "not_in":
      return { op, values: "values" in current ? current.values : [first] };
    case "exists":
    case "empty":
      return { op };
    default:
      return { op, value: first };
  }
}

export function changeDateOp(
  current: DateConditionValue,
  op: DateConditionValue["op"] | "",
): DateConditionValue {
  const now = new Date();
  now.setSeconds(0, 0);
  const instant = "value" in current ? current.value : "from" in current ? current.from : now.toISOString();
  switch (op) {
    case "before":
    case "after":
      return { op, value: instant };
    case "between": {
      const to = new Date(new Date(instant).getTime() + 30 * 86_400_000).toISOString();
      return { op, from: instant, to: "to" in current ? current.to : to };
    }
    case "exists":
    case "empty":
      return { op };
    case "within_last_days":
    case "more_than_days_ago":
    case "within_next_days":
    case "anniversary_within_next_days":
      return { op, days: "days" in current ? current.days : 30 };
    default:
      return current;
  }
}

/** A new rule of a kind, ready to fill in. */
export function newLeaf(kind: LeafKind): Rule {
  switch (kind) {
    case "field":
      return { kind: "field", field: "email", type: "string", condition: { op: "eq", value: "" } };
    case "event":
      return { kind: "event", type: "" };
    case "response":
      return { kind: "response", response: "opened", within: { days: 30 } };
    case "consent":
      return { kind: "consent", channel: "email", status: "subscribed" };
    case "reachable":
      return { kind: "reachable", channel: "email" };
    case "list":
      return { kind: "list", listId: "" };
    case "audience":
      return { kind: "audience", audienceId: "" };
    case "bucket":
      return { kind: "bucket", salt: "sample", percent: 10 };
    case "entry_event":
      return {
        kind: "entry_event",
        where: [{ property: "", type: "string", condition: { op: "eq", value: "" } }],
      };
  }
}

export function newPropertyFilter(): PropertyFilterValue {
  return { property: "", type: "string", condition: { op: "eq", value: "" } };
}

/** The value type a contact field holds (attributes say theirs). */
export function fieldType(field: string): ValueType | null {
  if (field.startsWith("attributes.")) return null;
  return DATE_FIELDS.has(field) ? "date" : "string";
}

/** Counts the conditions (leaves) of a tree. */
export function countLeaves(rule: Rule): number {
  if (rule.kind === "all" || rule.kind === "any") return rule.rules.reduce((n, r) => n + countLeaves(r), 0);
  if (rule.kind === "not") return countLeaves(rule.rule);
  return 1;
}
