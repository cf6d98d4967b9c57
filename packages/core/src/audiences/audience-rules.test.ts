import { type Rule, RuleSchema } from "@omneural/contracts/audiences";
import fc from "fast-check";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import {
  countConditions,
  parseRuleDateTime,
  referencedAudienceIds,
  referencedListIds,
  validateRule,
} from "./audience-rules.ts";

const A = "0190a5b8-1111-7000-8000-000000000001";
const B = "0190a5b8-1111-7000-8000-000000000002";
const L = "0190a5b8-1111-7000-8000-0000000000aa";

const region = {
  kind: "field",
  field: "address.region",
  type: "string",
  condition: { op: "eq", value: "CA" },
};
const ltv = (condition: object) => ({ kind: "field", field: "attributes.ltv", type: "number", condition });

/** The problems as "field: message" lines, which is how they reach users. */
function problems(rule: unknown): string[] {
  const result = validateRule(rule);
  return result.ok ? [] : result.errors.map((e) => `${e.field}: ${e.message}`);
}

describe("validateRule", () => {
  it("accepts a rule using every kind and returns it", () => {
    const rule = {
      kind: "all",
      rules: [
        region,
        ltv({ op: "between", from: 1, to: 1 }),
        { kind: "field", field: "createdAt", type: "date", condition: { op: "within_last_days", days: 0 } },
        { kind: "field", field: "attributes.vip", type: "boolean", condition: { op: "exists" } },
        {
          kind: "event",
          type: "purchase",
          where: [{ property: "total", type: "number", condition: { op: "gte", value: 10 } }],
          count: { op: "at_most", value: 0 },
          within: { days: 30 },
        },
        { kind: "response", response: "clicked", campaignId: A, channel: "email", within: { days: 1 } },
        { kind: "consent", channel: "sms", status: "subscribed" },
        { kind: "reachable", channel: "mail" },
        { kind: "list", listId: L },
        { kind: "not", rule: { kind: "audience", audienceId: A } },
        { kind: "any", rules: [{ kind: "bucket", salt: "holdout", percent: 10 }] },
      ],
    };
    expect(validateRule(rule)).toEqual({ ok: true, rule });
  });

  it("names the operator that does not exist for the field's type", () => {
    const rule = { kind: "all", rules: [region, region, ltv({ op: "greater", value: 100 })] };
    expect(problems(rule)).toEqual([
      'definition.rules[2].condition.op: "greater" is not an operator for number fields ' +
        "(use eq, neq, gt, gte, lt, lte, between, in, not_in, exists, empty)",
    ]);
  });

  it("refuses a field that is neither a contact field nor attributes.<key>", () => {
    const rule = {
      kind: "any",
      rules: [
        { ...region, field: "attributes.bad key" },
        { ...region, field: "state" },
      ],
    };
    expect(problems(rule)).toEqual([
      'definition.rules[0].field: "attributes.bad key" is not a contact field or attributes.<key>',
      'definition.rules[1].field: "state" is not a contact field or attributes.<key>',
    ]);
  });

  it("refuses a type that does not fit the contact field", () => {
    expect(problems({ ...region, type: "number", condition: { op: "gt", value: 1 } })).toEqual([
      'definition.type: "number" does not fit address.region: it is a text field (use string)',
    ]);
    expect(
      problems({ kind: "field", field: "createdAt", type: "string", condition: { op: "exists" } }),
    ).toEqual(['definition.type: "string" does not fit createdAt: it is a date field (use date)']);
    expect(problems({ ...region, type: "text" })).toEqual([
      'definition.type: "text" is not a field type (use string, number, boolean, date)',
    ]);
  });

  it("reports values of the wrong type where they are", () => {
    expect(problems(ltv({ op: "gt", value: "100" }))).toEqual([
      "definition.condition.value: must be a number",
    ]);
    expect(problems(ltv({ op: "in", values: [1, "2", null] }))).toEqual([
      "definition.condition.values[1]: must be a number",
      "definition.condition.values[2]: must be a number",
    ]);
    expect(problems({ ...region, condition: { op: "eq", value: 3 } })).toEqual([
      "definition.condition.value: must be a string",
    ]);
    expect(problems({ ...region, condition: { op: "contains", value: "" } })).toEqual([
      "definition.condition.value: must not be empty",
    ]);
    expect(problems({ ...region, condition: { op: "in", values: [] } })).toEqual([
      "definition.condition.values: must have at least one value",
    ]);
    expect(
      problems({ ...region, condition: { op: "contains", value: "a", caseInsensitive: "yes" } }),
    ).toEqual(["definition.condition.caseInsensitive: must be true or false"]);
    expect(
      problems({
        kind: "field",
        field: "attributes.vip",
        type: "boolean",
        condition: { op: "eq", value: 1 },
      }),
    ).toEqual(["definition.condition.value: must be true or false"]);
    expect(problems(ltv({ op: "eq" }))).toEqual(["definition.condition.value: is required"]);
  });

  it("refuses date-times without a time zone or that are not real dates", () => {
    const date = (value: string) => ({
      kind: "field",
      field: "updatedAt",
      type: "date",
      condition: { op: "before", value },
    });
    const message =
      "definition.condition.value: must be a date-time with a time zone between years 0001 and 9999, " +
      "e.g. 2024-05-01T00:00:00Z";
    for (const value of [
      "2024-05-01",
      "2024-05-01T00:00:00",
      "2024-02-30T00:00:00Z",
      "2024-05-01T00:00:60Z",
    ]) {
      expect(problems(date(value)), value).toEqual([message]);
    }
    expect(problems(date("2024-05-01T10:00:00.123456+05:30"))).toEqual([]);
    expect(parseRuleDateTime("2024-05-01T10:00:00.123456+05:30")?.toISOString()).toBe(
      "2024-05-01T04:30:00.123Z",
    );
  });

  it("refuses a between whose from is greater than its to", () => {
    expect(problems(ltv({ op: "between", from: 5, to: 3 }))).toEqual([
      "definition.condition: from (5) is greater than to (3)",
    ]);
    const dates = { op: "between", from: "2024-05-02T00:00:00Z", to: "2024-05-02T01:00:00+02:00" };
    expect(problems({ kind: "field", field: "createdAt", type: "date", condition: dates })).toEqual([
      "definition.condition: from (2024-05-02T00:00:00Z) is after to (2024-05-02T01:00:00+02:00)",
    ]);
  });

  it("refuses unknown kinds and unknown properties", () => {
    expect(problems({ kind: "segment", id: A })).toEqual([
      'definition.kind: "segment" is not a rule kind (use all, any, not, field, event, response, consent, ' +
        "reachable, list, audience, bucket)",
    ]);
    expect(problems({ rules: [] })[0]).toMatch(/^definition\.kind: is required/);
    expect(
      problems({ ...region, negate: true, condition: { op: "eq", value: "CA", caseInsensitive: true } }),
    ).toEqual([
      "definition.negate: unknown property (a field rule has kind, field, type, condition)",
      'definition.condition.caseInsensitive: unknown property (a "eq" condition has op, value)',
    ]);
    expect(problems({ kind: "consent", channel: "fax", status: "yes" })).toEqual([
      'definition.channel: "fax" is not a channel (use email, sms, mail, ads)',
      'definition.status: "yes" is not a consent status (use subscribed, unsubscribed, bounced, complained, never_asked)',
    ]);
    expect(problems([region])).toEqual(["definition: must be a rule object"]);
  });

  it("refuses empty all and any groups", () => {
    expect(problems({ kind: "not", rule: { kind: "all", rules: [{ kind: "any", rules: [] }] } })).toEqual([
      'definition.rule.rules[0].rules: an "any" needs at least one rule',
    ]);
    expect(problems({ kind: "all", rules: [] })).toEqual([
      'definition.rules: an "all" needs at least one rule',
    ]);
  });

  it("refuses nesting deeper than 10 levels", () => {
    let rule: object = region;
    for (let i = 0; i < 9; i++) rule = { kind: "not", rule };
    expect(problems(rule)).toEqual([]);
    expect(problems({ kind: "all", rules: [rule] })).toEqual([
      `definition.rules[0]${".rule".repeat(9)}: nesting is deeper than 10 levels`,
    ]);
  });

  it("refuses more than 200 conditions in total", () => {
    const group = (n: number) => ({ kind: "any", rules: Array.from({ length: n }, () => region) });
    expect(problems({ kind: "all", rules: [group(100), group(100)] })).toEqual([]);
    expect(problems({ kind: "all", rules: [group(100), group(100), region] })).toEqual([
      "definition: has 201 conditions; at most 200 are allowed",
    ]);
    expect(problems(group(101))).toEqual([
      "definition.rules: has 101 rules; at most 100 (nest groups for more)",
    ]);
  });

  it("checks events, responses, ids and buckets", () => {
    expect(
      problems({
        kind: "event",
        type: "has space",
        where: [
          { property: "1st", type: "string", condition: { op: "exists" } },
          { property: "at", type: "date", condition: { op: "exists" } },
        ],
        count: { op: "more_than", value: -1 },
        within: { days: 0 },
      }),
    ).toEqual([
      'definition.type: "has space" is not an event type (1 to 100 letters, digits, _ . : or -)',
      'definition.where[0].property: "1st" is not a property name (a letter or _, then letters, digits or _; at most 64)',
      'definition.where[1].type: "date" is not a property type (use string, number, boolean)',
      'definition.count.op: "more_than" is not a count operator (use at_least, at_most, exactly)',
      "definition.count.value: must be a whole number from 0 to 1000000",
      "definition.within.days: must be a whole number from 1 to 36500",
    ]);
    expect(problems({ kind: "response", response: "liked", campaignId: "42" })).toEqual([
      'definition.response: "liked" is not a response (use received, opened, clicked, replied, converted, unsubscribed)',
      'definition.campaignId: "42" is not a UUID',
    ]);
    expect(problems({ kind: "list" })).toEqual(["definition.listId: is required"]);
    expect(problems({ kind: "bucket", salt: "a\u0000b", percent: 101 })).toEqual([
      "definition.salt: must not contain the NUL character",
      "definition.percent: must be a whole number from 0 to 100",
    ]);
    expect(problems({ ...region, condition: { op: "eq", value: "\ud800" } })).toEqual([
      "definition.condition.value: must be valid Unicode text",
    ]);
  });

  it("reports every problem of a tree at once, under the path given", () => {
    const rule = {
      kind: "all",
      rules: [ltv({ op: "greater" }), { kind: "what" }, { kind: "any", rules: [] }, { ...region, extra: 1 }],
    };
    const result = validateRule(rule, "body.definition");
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.field)).toEqual([
      "body.definition.rules[0].condition.op",
      "body.definition.rules[1].kind",
      "body.definition.rules[2].rules",
      "body.definition.rules[3].extra",
    ]);
  });

  it("accepts nothing the schema refuses", () => {
    // Near-valid rules with one thing wrong here and there: whatever the validator accepts, the schema
    // accepts too, so its safety net never fires.
    const anyValue = fc.oneof(
      fc.constantFrom(
        "CA",
        "",
        "a\u0000",
        3,
        -1,
        0.5,
        Number.POSITIVE_INFINITY,
        true,
        null,
        [],
        {},
        A,
        "x".repeat(1001),
      ),
      fc.string({ maxLength: 3 }),
      fc.integer({ min: -2, max: 101 }),
    );
    const condition = fc.record(
      {
        op: fc.constantFrom(
          "eq",
          "neq",
          "in",
          "not_in",
          "contains",
          "between",
          "gt",
          "before",
          "within_last_days",
          "x",
        ),
        value: anyValue,
        values: fc.array(anyValue, { maxLength: 2 }),
        from: fc.oneof(anyValue, fc.constant("2024-01-01T00:00:00Z")),
        to: fc.oneof(anyValue, fc.constant("2024-01-02T00:00:00Z")),
        days: anyValue,
        caseInsensitive: anyValue,
      },
      { requiredKeys: ["op"] },
    );
    const leaf = fc.oneof(
      fc.record({
        kind: fc.constant("field"),
        field: fc.constantFrom("email", "createdAt", "attributes.x", "attributes.", "address.zip"),
        type: fc.constantFrom("string", "number", "boolean", "date", "text"),
        condition,
      }),
      fc.record(
        {
          kind: fc.constant("event"),
          type: fc.constantFrom("purchase", "", "a b"),
          count: fc.record({ op: fc.constantFrom("at_least", "exactly", "no"), value: anyValue }),
          within: fc.record({ days: anyValue }),
          where: fc.array(
            fc.record({
              property: fc.constantFrom("p", "1"),
              type: fc.constantFrom("string", "date"),
              condition,
            }),
          ),
        },
        { requiredKeys: ["kind", "type"] },
      ),
      fc.record(
        { kind: fc.constantFrom("list", "audience"), listId: anyValue, audienceId: anyValue },
        { requiredKeys: ["kind"] },
      ),
      fc.record({ kind: fc.constant("bucket"), salt: anyValue, percent: anyValue }),
      fc.record({
        kind: fc.constant("consent"),
        channel: fc.constantFrom("email", "fax"),
        status: fc.constantFrom("subscribed", "no"),
      }),
    );
    const tree = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.record({ kind: fc.constantFrom("all", "any"), rules: fc.array(tie("node"), { maxLength: 3 }) }),
        fc.record({ kind: fc.constant("not"), rule: tie("node") }),
      ),
    })).node;
    let accepted = 0;
    fc.assert(
      fc.property(tree, (rule) => {
        const result = validateRule(rule);
        if (result.ok) {
          accepted++;
          expect(Value.Check(RuleSchema, rule)).toBe(true);
        } else {
          for (const e of result.errors) expect(e.message).not.toMatch(/rule schema/);
        }
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

describe("rule facts", () => {
  const rule = {
    kind: "all",
    rules: [
      { kind: "audience", audienceId: A },
      {
        kind: "not",
        rule: {
          kind: "any",
          rules: [
            { kind: "list", listId: L },
            { kind: "audience", audienceId: B },
          ],
        },
      },
      { kind: "audience", audienceId: A.toUpperCase() },
      region,
    ],
  } as Rule;

  it("lists the audiences and lists a rule refers to, once each", () => {
    expect(referencedAudienceIds(rule)).toEqual([A, B]);
    expect(referencedListIds(rule)).toEqual([L]);
  });

  it("counts conditions but not groups", () => {
    expect(countConditions(rule)).toBe(5);
    expect(countConditions(region as Rule)).toBe(1);
  });
});

describe("entry_event", () => {
  const proPlan = {
    kind: "entry_event",
    where: [{ property: "plan", type: "string", condition: { op: "eq", value: "pro" } }],
  };

  it("is refused in a segment, naming the path: an audience has no entering event", () => {
    expect(problems({ kind: "all", rules: [region, { kind: "not", rule: proPlan }] })).toEqual([
      'definition.rules[1].rule.kind: "entry_event" is only available in workflow condition nodes (it reads the event that enrolled the member in a campaign); an audience cannot use it',
    ]);
    // Unknown kinds do not offer it either.
    expect(problems({ kind: "entry" })[0]).not.toMatch(/entry_event/);
  });

  it("is accepted where workflow conditions allow it, and its filters are checked", () => {
    const rule = { kind: "any", rules: [proPlan, region] };
    expect(validateRule(rule, "nodes[1].rule", { entryEvent: true })).toEqual({ ok: true, rule });
    expect(Value.Check(RuleSchema, rule)).toBe(true);
    const bad = validateRule(
      { kind: "entry_event", where: [{ property: "1st", type: "string" }], type: "x" },
      "r",
      {
        entryEvent: true,
      },
    );
    expect(bad.ok ? [] : bad.errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      "r.type: unknown property (a entry_event rule has kind, where)",
      'r.where[0].property: "1st" is not a property name (a letter or _, then letters, digits or _; at most 64)',
      "r.where[0].condition: is required",
    ]);
    const none = validateRule({ kind: "entry_event" }, "r", { entryEvent: true });
    expect(none.ok ? [] : none.errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      "r.where: is required (at least one property filter)",
    ]);
  });
});
