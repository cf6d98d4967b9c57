/** A labelled form control with its hint and error wired for assistive technology. */
import { type InputHTMLAttributes, type ReactNode, useId } from "react";
import { ApiError } from "../api.ts";

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "onChange" | "value"> {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: ReactNode;
}

export function Field({ label, value, onChange, error, hint, id, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const hintId = `${inputId}-hint`;
  const errorId = `${inputId}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={inputId}>{label}</label>
      <input
        id={inputId}
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        {...input}
      />
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

interface SelectProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: { value: string; label: string }[];
  error?: string | undefined;
  hint?: ReactNode;
  disabled?: boolean;
  id?: string;
}

export function SelectField({ label, value, onChange, options, error, hint, disabled, id }: SelectProps) {
  const generated = useId();
  const selectId = id ?? generated;
  const describedBy =
    [hint ? `${selectId}-hint` : null, error ? `${selectId}-error` : null].filter(Boolean).join(" ") ||
    undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={selectId}>{label}</label>
      <select
        id={selectId}
        value={value}
        disabled={disabled}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {hint ? (
        <p id={`${selectId}-hint`} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${selectId}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * Form state with errors per field: `check` validates before submit; a server problem's field errors
 * land next to their fields, anything else in `formError`.
 */
export type FieldErrors<K extends string> = Partial<Record<K | "form", string>>;

/** Turns a failed request into errors next to the named fields, and the rest into a form error. */
export function errorsFrom<K extends string>(error: unknown, fields: readonly K[]): FieldErrors<K> {
  const out: FieldErrors<K> = {};
  if (error instanceof ApiError) {
    for (const [field, message] of Object.entries(error.fields)) {
      if ((fields as readonly string[]).includes(field)) out[field as K] = capitalise(message);
    }
    if (Object.keys(out).length === 0) out.form = error.message;
  } else {
    out.form = error instanceof Error ? error.message : "Something went wrong.";
  }
  return out;
}

function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

interface TextAreaProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: ReactNode;
  rows?: number;
  disabled?: boolean;
  id?: string;
  className?: string;
}

/** A labelled multi-line field, wired like Field. */
export function TextAreaField({
  label,
  value,
  onChange,
  error,
  hint,
  rows = 6,
  disabled,
  id,
  className,
}: TextAreaProps) {
  const generated = useId();
  const areaId = id ?? generated;
  const describedBy =
    [hint ? `${areaId}-hint` : null, error ? `${areaId}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={areaId}>{label}</label>
      <textarea
        id={areaId}
        value={value}
        rows={rows}
        disabled={disabled}
        className={className}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
      />
      {hint ? (
        <p id={`${areaId}-hint`} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${areaId}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
