/**
 * Inputs whose text and value differ: a number being typed ("-", "1."), a list typed one item a line,
 * a date and time in the browser's time zone. Each keeps what is typed and reports the parsed value.
 */
import { useEffect, useId, useState } from "react";
import { Field, TextAreaField } from "../Field.tsx";

export function NumberField({
  label,
  value,
  onChange,
  error,
  disabled,
  integer,
  min,
  max,
  hint,
}: {
  label: string;
  value: number;
  onChange: (value: number) => void;
  error?: string | undefined;
  disabled?: boolean | undefined;
  integer?: boolean;
  min?: number;
  max?: number;
  hint?: string;
}) {
  const [text, setText] = useState(() => (Number.isFinite(value) ? String(value) : ""));
  // Follow changes made elsewhere (another operator, an undo) without fighting the typing.
  useEffect(() => {
    setText((current) =>
      sameNumber(parseNumber(current), value) ? current : Number.isFinite(value) ? String(value) : current,
    );
  }, [value]);
  return (
    <Field
      label={label}
      value={text}
      inputMode={integer ? "numeric" : "decimal"}
      onChange={(next) => {
        setText(next);
        onChange(parseNumber(next));
      }}
      error={error ?? (text.trim() !== "" && Number.isNaN(parseNumber(text)) ? "Type a number." : undefined)}
      disabled={disabled}
      className="rule-number"
      min={min}
      max={max}
      hint={hint}
      autoComplete="off"
    />
  );
}

function parseNumber(text: string): number {
  const trimmed = text.trim().replace(",", ".");
  return trimmed === "" ? Number.NaN : Number(trimmed);
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** A list of values typed one per line. */
export function LinesField<T extends string | number>({
  label,
  value: values,
  onChange,
  parse,
  error,
  disabled,
}: {
  label: string;
  value: T[];
  onChange: (values: T[]) => void;
  parse: (line: string) => T;
  error?: string | undefined;
  disabled?: boolean | undefined;
}) {
  const [text, setText] = useState(() => values.join("\n"));
  useEffect(() => {
    setText((current) => (sameList(linesOf(current).map(parse), values) ? current : values.join("\n")));
  }, [values, parse]);
  return (
    <TextAreaField
      label={label}
      value={text}
      rows={3}
      hint="One a line."
      onChange={(next) => {
        setText(next);
        onChange(linesOf(next).map(parse));
      }}
      error={error}
      disabled={disabled}
      className="rule-lines"
    />
  );
}

function linesOf(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

function sameList<T>(a: T[], b: T[]): boolean {
  return a.length === b.length && a.every((item, i) => Object.is(item, b[i]));
}

/** An instant, typed as a local date and time, reported in ISO 8601 (UTC). */
export function DateTimeField({
  label,
  value,
  onChange,
  error,
  disabled,
}: {
  label: string;
  value: string;
  onChange: (iso: string) => void;
  error?: string | undefined;
  disabled?: boolean | undefined;
}) {
  return (
    <Field
      label={label}
      type="datetime-local"
      value={toLocalInput(value)}
      onChange={(next) => {
        const parsed = new Date(next);
        onChange(Number.isNaN(parsed.getTime()) ? "" : parsed.toISOString());
      }}
      error={error}
      disabled={disabled}
    />
  );
}

function toLocalInput(iso: string): string {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A labelled checkbox; `className` places it in its container (a rule's row of fields by default). */
export function CheckboxField({
  label,
  checked,
  onChange,
  disabled,
  className = "rule-checkbox",
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean | undefined;
  className?: string;
}) {
  const id = useId();
  return (
    <div className={`checkbox-field ${className}`}>
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(event) => onChange(event.target.checked)}
      />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}
