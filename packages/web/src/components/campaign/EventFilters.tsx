/**
 * Conditions on the properties of the event that enrolls a member (an event-entry campaign's `entry.where`),
 * as a marketer types them: a property, the kind of value, a test and a value. All must hold.
 */
import type { CampaignCreate } from "@omneural/contracts/workflows";
import { useId } from "react";
import { Field, SelectField } from "../Field.tsx";

const PROPERTY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export type PropertyFilter = NonNullable<CampaignCreate["entry"]>["where"] extends (infer F)[] | undefined
  ? F
  : never;

/** One filter on the entering event's properties, as typed in the form. */
export interface EventFilterDraft {
  key: number;
  property: string;
  type: "string" | "number" | "boolean";
  op: string;
  value: string;
}

export const FILTER_OPS: Record<EventFilterDraft["type"], { value: string; label: string }[]> = {
  string: [
    { value: "eq", label: "is" },
    { value: "neq", label: "is not" },
    { value: "contains", label: "contains" },
    { value: "starts_with", label: "starts with" },
    { value: "exists", label: "is present" },
  ],
  number: [
    { value: "eq", label: "equals" },
    { value: "gt", label: "is more than" },
    { value: "gte", label: "is at least" },
    { value: "lt", label: "is less than" },
    { value: "lte", label: "is at most" },
    { value: "exists", label: "is present" },
  ],
  boolean: [
    { value: "true", label: "is yes (true)" },
    { value: "false", label: "is no (false)" },
    { value: "exists", label: "is present" },
  ],
};

/** What is wrong with one event filter, if anything. */
export function filterProblem(f: EventFilterDraft): string | undefined {
  if (!PROPERTY_PATTERN.test(f.property.trim()))
    return "Name the property, e.g. cart_value (letters, digits and _, not starting with a digit).";
  if (f.op === "exists" || f.type === "boolean") return undefined;
  if (f.value.trim() === "") return "Type the value to compare with.";
  if (f.type === "number" && !Number.isFinite(Number(f.value))) return "Type a number, e.g. 50 or 19.99.";
  return undefined;
}

/** The filter as the API takes it. */
export function toPropertyFilter(f: EventFilterDraft): PropertyFilter {
  const property = f.property.trim();
  if (f.op === "exists") return { property, type: f.type, condition: { op: "exists" } } as PropertyFilter;
  if (f.type === "boolean")
    return { property, type: "boolean", condition: { op: "eq", value: f.op === "true" } };
  if (f.type === "number")
    return {
      property,
      type: "number",
      condition: { op: f.op as "eq", value: Number(f.value) },
    };
  if (f.op === "contains" || f.op === "starts_with")
    return { property, type: "string", condition: { op: f.op, value: f.value, caseInsensitive: true } };
  return { property, type: "string", condition: { op: f.op as "eq", value: f.value } };
}

/** Conditions on the entering event's properties: all must hold for the event to enroll its contact. */
export function EventFilters({
  filters,
  onChange,
  error,
  eventType,
}: {
  filters: EventFilterDraft[];
  onChange: (filters: EventFilterDraft[]) => void;
  error: string | undefined;
  eventType: string;
}) {
  const id = useId();
  const update = (key: number, change: Partial<EventFilterDraft>) =>
    onChange(filters.map((f) => (f.key === key ? { ...f, ...change } : f)));
  return (
    <fieldset className="event-filters" aria-describedby={error ? `${id}-hint ${id}-error` : `${id}-hint`}>
      <legend>Only some {eventType ? <code>{eventType}</code> : null} events (optional)</legend>
      <p id={`${id}-hint`} className="field-hint">
        Without conditions every such event enrolls its contact. Add a condition on what the event carries,
        e.g. <em>cart_value is more than 50</em>: all conditions must hold.
      </p>
      {filters.map((f, index) => (
        <div key={f.key} className="event-filter row">
          <Field
            label={`Condition ${index + 1}: property`}
            value={f.property}
            onChange={(v) => update(f.key, { property: v })}
            placeholder="cart_value"
            autoComplete="off"
          />
          <SelectField
            label="Kind of value"
            value={f.type}
            onChange={(v) => {
              const type = v as EventFilterDraft["type"];
              update(f.key, { type, op: FILTER_OPS[type][0]!.value });
            }}
            options={[
              { value: "string", label: "Text" },
              { value: "number", label: "Number" },
              { value: "boolean", label: "Yes or no" },
            ]}
          />
          <SelectField
            label="Test"
            value={f.op}
            onChange={(v) => update(f.key, { op: v })}
            options={FILTER_OPS[f.type]}
          />
          {f.type !== "boolean" && f.op !== "exists" ? (
            <Field
              label="Value"
              type={f.type === "number" ? "number" : "text"}
              step="any"
              value={f.value}
              onChange={(v) => update(f.key, { value: v })}
              autoComplete="off"
            />
          ) : null}
          <button
            type="button"
            className="button secondary small"
            onClick={() => onChange(filters.filter((other) => other.key !== f.key))}
          >
            Remove condition {index + 1}
          </button>
        </div>
      ))}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
      {filters.length < 20 ? (
        <button
          type="button"
          className="button secondary"
          onClick={() =>
            onChange([
              ...filters,
              {
                key: Math.max(0, ...filters.map((f) => f.key)) + 1,
                property: "",
                type: "string",
                op: "eq",
                value: "",
              },
            ])
          }
        >
          Add a condition
        </button>
      ) : null}
    </fieldset>
  );
}

export function describeFilter(f: EventFilterDraft): string {
  const op = FILTER_OPS[f.type].find((o) => o.value === f.op)?.label ?? f.op;
  return f.type === "boolean" || f.op === "exists" ? `${f.property} ${op}` : `${f.property} ${op} ${f.value}`;
}
