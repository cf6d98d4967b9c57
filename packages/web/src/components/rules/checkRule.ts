/**
 * The problems the builder can see before asking the server: blanks still to fill in and numbers not
 * yet typed. Paths and messages are shaped like the server's, so both show in the same places. The
 * server's validator remains the judge of everything else.
 */
import type { AnyCondition, PropertyFilterValue, Rule } from "./ruleModel.ts";

const KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function checkRule(rule: Rule, path = "definition"): Record<string, string> {
  const problems: Record<string, string> = {};
  visit(rule, path, problems);
  return problems;
}

function visit(rule: Rule, path: string, out: Record<string, string>) {
  const badNumber = (value: number, at: string) => {
    if (!Number.isFinite(value)) out[at] = "Type a number.";
  };
  switch (rule.kind) {
    case "all":
    case "any":
      if (rule.rules.length === 0) out[`${path}.rules`] = "Add at least one condition, or remove this group.";
      rule.rules.forEach((child, i) => {
        visit(child, `${path}.rules[${i}]`, out);
      });
      return;
    case "not":
      visit(rule.rule, `${path}.rule`, out);
      return;
    case "field":
      if (rule.field.startsWith("attributes.") && !KEY.test(rule.field.slice(11)))
        out[`${path}.field`] = "Type the attribute's name: letters, digits and _, not starting with a digit.";
      checkCondition(rule.condition, `${path}.condition`, out);
      return;
    case "event":
      if (!rule.type.trim()) out[`${path}.type`] = "Type the event's name.";
      if (rule.count) badNumber(rule.count.value, `${path}.count.value`);
      if (rule.within) badNumber(rule.within.days, `${path}.within.days`);
      rule.where?.forEach((filter, i) => {
        checkFilter(filter, `${path}.where[${i}]`, out);
      });
      return;
    case "response":
      if (rule.count) badNumber(rule.count.value, `${path}.count.value`);
      if (rule.within) badNumber(rule.within.days, `${path}.within.days`);
      return;
    case "list":
      if (!rule.listId) out[`${path}.listId`] = "Choose a list.";
      return;
    case "audience":
      if (!rule.audienceId) out[`${path}.audienceId`] = "Choose an audience.";
      return;
    case "bucket":
      if (!rule.salt.trim()) out[`${path}.salt`] = "Give the sample a name.";
      badNumber(rule.percent, `${path}.percent`);
      return;
    case "entry_event":
      rule.where.forEach((filter, i) => {
        checkFilter(filter, `${path}.where[${i}]`, out);
      });
      return;
    default:
      return;
  }
}

function checkFilter(filter: PropertyFilterValue, path: string, out: Record<string, string>) {
  if (!filter.property.trim()) out[`${path}.property`] = "Type the detail's name.";
  else if (!KEY.test(filter.property))
    out[`${path}.property`] = "Letters, digits and _ only, not starting with a digit.";
  checkCondition(filter.condition, `${path}.condition`, out);
}

function checkCondition(condition: AnyCondition, path: string, out: Record<string, string>) {
  const c = condition as Record<string, unknown>;
  for (const key of ["value", "from", "to", "days"] as const) {
    if (typeof c[key] === "number" && !Number.isFinite(c[key])) out[`${path}.${key}`] = "Type a number.";
  }
  if (Array.isArray(c.values)) {
    if (c.values.length === 0) out[`${path}.values`] = "Type at least one value.";
    else if (c.values.some((v) => typeof v === "number" && !Number.isFinite(v)))
      out[`${path}.values`] = "Type numbers only, one a line.";
  }
  if ((c.op === "contains" || c.op === "starts_with") && c.value === "")
    out[`${path}.value`] = "Type some text.";
  if ((c.op === "before" || c.op === "after") && c.value === "") out[`${path}.value`] = "Choose a date.";
  if (c.op === "between" && (c.from === "" || c.to === "")) {
    if (c.from === "") out[`${path}.from`] = "Choose a date.";
    if (c.to === "") out[`${path}.to`] = "Choose a date.";
  }
}
