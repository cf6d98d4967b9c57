/**
 * The operator and value(s) of a condition on a text, number, yes/no or date value: the inputs follow
 * the operator (one value, a list, a range, a number of days, none).
 */
import { Field, SelectField } from "../Field.tsx";
import { joinErrors, optionsOf, useBind } from "./bind.ts";
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
  const { bind, errorOf } = useBind(path, disabled);
  // Whatever is wrong with the condition as a whole (or with a key not shown) goes to the operator.
  const opError = joinErrors(
    errorAt(errors, path),
    errorOf("op"),
    ...otherErrors(errors, path, ["op", "value", "values", "from", "to", "days"]),
  );
  const operator = (value: string, labels: Record<string, string>, change: (op: string) => AnyCondition) => (
    <SelectField
      label="Operator"
      value={value}
      onChange={(op) => onChange(change(op))}
      options={optionsOf(labels)}
      error={type === "boolean" ? joinErrors(opError, errorOf("value")) : opError}
      disabled={disabled}
    />
  );

  if (type === "string") {
    const c = condition as StringConditionValue;
    return (
      <div className="rule-condition">
        {operator(c.op, STRING_OPS, (op) => changeStringOp(c, op as StringConditionValue["op"]))}
        {"value" in c ? <Field label="Text" {...bind(c, "value", onChange)} autoComplete="off" /> : null}
        {"values" in c ? (
          <LinesField label="Texts" parse={parseText} {...bind(c, "values", onChange)} />
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
        {operator(c.op, NUMBER_OPS, (op) => changeNumberOp(c, op as NumberConditionValue["op"]))}
        {"value" in c ? <NumberField label="Number" {...bind(c, "value", onChange)} /> : null}
        {"from" in c ? (
          <>
            <NumberField label="From" {...bind(c, "from", onChange)} />
            <NumberField label="To" {...bind(c, "to", onChange)} />
          </>
        ) : null}
        {"values" in c ? (
          <LinesField label="Numbers" parse={parseNum} {...bind(c, "values", onChange)} />
        ) : null}
      </div>
    );
  }

  if (type === "boolean") {
    const c = condition as BooleanConditionValue;
    return (
      <div className="rule-condition">
        {operator(c.op === "eq" ? String(c.value) : c.op, BOOLEAN_OPS, (choice) =>
          choice === "true" || choice === "false"
            ? { op: "eq", value: choice === "true" }
            : { op: choice as "exists" | "empty" },
        )}
      </div>
    );
  }

  const c = condition as DateConditionValue;
  return (
    <div className="rule-condition">
      {operator(c.op, DATE_OPS, (op) => changeDateOp(c, op as DateConditionValue["op"]))}
      {"days" in c ? <NumberField label="Days" integer {...bind(c, "days", onChange)} /> : null}
      {"value" in c ? <DateTimeField label="Date and time" {...bind(c, "value", onChange)} /> : null}
      {"from" in c ? (
        <>
          <DateTimeField label="From" {...bind(c, "from", onChange)} />
          <DateTimeField label="To" {...bind(c, "to", onChange)} />
        </>
      ) : null}
    </div>
  );
}
