/** A group of radio buttons with a legend, each option with its own explanation (the campaign wizard's cards). */
import { type ReactNode, useId } from "react";

export interface ChoiceOption<T extends string> {
  value: T;
  label: ReactNode;
  hint?: ReactNode;
  disabled?: boolean;
}

/** Options from a value → [title, hint] table, in the table's order. */
export function choicesOf<T extends string>(table: Record<T, [ReactNode, ReactNode?]>): ChoiceOption<T>[] {
  return (Object.entries(table) as [T, [ReactNode, ReactNode?]][]).map(([value, [label, hint]]) => ({
    value,
    label,
    hint,
  }));
}

export function Choices<T extends string>({
  legend,
  name,
  value,
  onChange,
  options,
  error,
}: {
  legend: string;
  name: string;
  value: T;
  onChange: (value: T) => void;
  options: ChoiceOption<T>[];
  error?: string | undefined;
}) {
  const id = useId();
  return (
    <fieldset
      className={`choices${error ? " field-invalid" : ""}`}
      aria-describedby={error ? `${id}-error` : undefined}
    >
      <legend>{legend}</legend>
      {options.map((option, index) => (
        <label
          key={option.value}
          className={`choice-card${value === option.value ? " selected" : ""}${option.disabled ? " disabled" : ""}`}
        >
          <input
            type="radio"
            name={name}
            value={option.value}
            checked={value === option.value}
            disabled={option.disabled}
            aria-labelledby={`${id}-${index}-title`}
            aria-describedby={option.hint ? `${id}-${index}-hint` : undefined}
            onChange={() => onChange(option.value)}
          />
          <span>
            <span id={`${id}-${index}-title`} className="choice-title">
              {option.label}
            </span>
            {option.hint ? (
              <span id={`${id}-${index}-hint`} className="choice-hint">
                {option.hint}
              </span>
            ) : null}
          </span>
        </label>
      ))}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
