/**
 * The operator and value(s) of a condition on a text, number, yes/no or date value: the inputs follow
 * the operator (one value, a list, a range, a number of days, none).
 */
import { Field, SelectField } from "../Field.tsx";
import { CheckboxField, DateTimeField, LinesField, NumberField } from "./controls.tsx";
import { errorAt, otherErrors, useRuleSettings } from "./ruleContext.ts";
import {
  type AnyCondition,
  BOOLEAN_OPS,
  type BooleanConditionValue,
  changeDateOp,
  changeNumberOp,
  changeStringOp,
  DATE_OPS,
  type DateConditionValue,
  NUMBER_OPS,
  type NumberConditionValue,
  STRING_OPS,
  type StringConditionValue,
  type ValueType,
} from "./ruleModel.ts";

const parseText = (line: string) => line;
const parseNum = (line: string) => Number(line.replace(",", "."));
const optionsOf = (labels: Record<string, string>) =>
  Object.entries(labels).map(([value, label]) => ({ value, label }));

export function ConditionEditor({
  type,
  condition,
  onChange,
  path,
  disabled,
}: {
  type: ValueType;
  condition: AnyCondition;
  onChange: (condition: AnyCondition) => void;
  /** Where the server's errors about this condition point. */
  path: string;
  disabled?: boolean | undefined;
}) {
  const { errors } = useRuleSettings();
  const at = (sub: string) => errorAt(errors, `${path}.${sub}`);
  // Whatever is wrong with the condition as a whole (or with a key not shown) goes to the operator.
  const opError =
    [
      errorAt(errors, path),
      at("op"),
      ...otherErrors(errors, path, ["op", "value", "values", "from", "to", "days"]),
    ]
      .filter(Boolean)
      .join(" ") || undefined;

  if (type === "string") {
    const c = condition as StringConditionValue;
    return (
      <div className="rule-condition">
        <SelectField
          label="Operator"
          value={c.op}
          onChange={(op) => onChange(changeStringOp(c, op as StringConditionValue["op"]))}
          options={optionsOf(STRING_OPS)}
          error={opError}
          disabled={disabled}
        />
        {"value" in c ? (
          <Field
            label="Text"
            value={c.value}
            onChange={(value) => onChange({ ...c, value })}
            error={at("value")}
            disabled={disabled}
            autoComplete="off"
          />
        ) : null}
        {"values" in c ? (
          <LinesField
            label="Texts"
            values={c.values}
            parse={parseText}
            onChange={(values) => onChange({ ...c, values })}
            error={at("values")}
            disabled={disabled}
          />
        ) : null}
        {c.op === "contains" || c.op === "starts_with" ? (
          <CheckboxField
            label="Ignore upper and lower case"
            checked={c.caseInsensitive ?? false}
            onChange={(checked) => {
              const { caseInsensitive: _, ...rest } = c;
              onChange(checked ? { ...rest, caseInsensitive: true } : rest);
            }}
            disabled={disabled}
          />
        ) : null}
      </div>
    );
  }

  if (type === "number") {
    const c = condition as NumberConditionValue;
    return (
      <div className="rule-condition">
        <SelectField
          label="Operator"
          value={c.op}
          onChange={(op) => onChange(changeNumberOp(c, op as NumberConditionValue["op"]))}
          options={optionsOf(NUMBER_OPS)}
          error={opError}
          disabled={disabled}
        />
        {"value" in c ? (
          <NumberField
            label="Number"
            value={c.value}
            onChange={(value) => onChange({ ...c, value })}
            error={at("value")}
            disabled={disabled}
          />
        ) : null}
        {"from" in c ? (
          <>
            <NumberField
              label="From"
              value={c.from}
              onChange={(from) => onChange({ ...c, from })}
              error={at("from")}
              disabled={disabled}
            />
            <NumberField
              label="To"
              value={c.to}
              onChange={(to) => onChange({ ...c, to })}
              error={at("to")}
              disabled={disabled}
            />
          </>
        ) : null}
        {"values" in c ? (
          <LinesField
            label="Numbers"
            values={c.values}
            parse={parseNum}
            onChange={(values) => onChange({ ...c, values })}
            error={at("values")}
            disabled={disabled}
          />
        ) : null}
      </div>
    );
  }

  if (type === "boolean") {
    const c = condition as BooleanConditionValue;
    const selected = c.op === "eq" ? String(c.value) : c.op;
    return (
      <div className="rule-condition">
        <SelectField
          label="Operator"
          value={selected}
          onChange={(choice) =>
            onChange(
              choice === "true" || choice === "false"
                ? { op: "eq", value: choice === "true" }
                : { op: choice as "exists" | "empty" },
            )
          }
          options={optionsOf(BOOLEAN_OPS)}
          error={[opError, at("value")].filter(Boolean).join(" ") || undefined}
          disabled={disabled}
        />
      </div>
    );
  }

  const c = condition as DateConditionValue;
  return (
    <div className="rule-condition">
      <SelectField
        label="Operator"
        value={c.op}
        onChange={(op) => onChange(changeDateOp(c, op as DateConditionValue["op"]))}
        options={optionsOf(DATE_OPS)}
        error={opError}
        disabled={disabled}
      />
      {"days" in c ? (
        <NumberField
          label="Days"
          integer
          value={c.days}
          onChange={(days) => onChange({ ...c, days })}
          error={at("days")}
          disabled={disabled}
        />
      ) : null}
      {"value" in c ? (
        <DateTimeField
          label="Date and time"
          value={c.value}
          onChange={(value) => onChange({ ...c, value })}
          error={at("value")}
          disabled={disabled}
        />
      ) : null}
      {"from" in c ? (
        <>
          <DateTimeField
            label="From"
            value={c.from}
            onChange={(from) => onChange({ ...c, from })}
            error={at("from")}
            disabled={disabled}
          />
          <DateTimeField
            label="To"
            value={c.to}
            onChange={(to) => onChange({ ...c, to })}
            error={at("to")}
            disabled={disabled}
          />
        </>
      ) : null}
    </div>
  );
}
