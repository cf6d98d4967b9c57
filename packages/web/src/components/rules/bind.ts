/**
 * Wiring one key of a rule (or of a condition) to its input: the value, a change that copies the object
 * with the new value, the server's problem at that key and whether editing is allowed. Spread the result
 * into a control: `<NumberField label="Days" {...bind(rule, "days", onChange)} />`.
 */
import { errorAt, useRuleSettings } from "./ruleContext.ts";

/** Options of a select from a `{ value: label }` table. */
export const optionsOf = (labels: Record<string, string>) =>
  Object.entries(labels).map(([value, label]) => ({ value, label }));

/** The problems found, joined in one message, or nothing. */
export function joinErrors(...messages: (string | undefined)[]): string | undefined {
  return messages.filter(Boolean).join(" ") || undefined;
}

/** Binds keys of objects found at `path` in the rule tree (errors are looked up at `path.key`). */
export function useBind(path: string, disabled: boolean | undefined) {
  return binder(useRuleSettings().errors, path, disabled);
}

/** useBind for a path known only inside a loop (an item of a list). */
export function binder(errors: Record<string, string>, path: string, disabled: boolean | undefined) {
  const errorOf = (key: string) => errorAt(errors, `${path}.${key}`);
  /** For an input whose value has the key's type. */
  function bind<T extends object, K extends keyof T & string>(obj: T, key: K, onChange: (next: T) => void) {
    return {
      value: obj[key],
      onChange: (value: T[K]) => onChange({ ...obj, [key]: value }),
      error: errorOf(key),
      disabled,
    };
  }
  function selectOf<T extends object>(obj: T, key: keyof T & string, change: (value: string) => void) {
    return { value: String(obj[key] ?? ""), onChange: change, error: errorOf(key), disabled };
  }
  /** For a select whose choices are the keys of `labels` (it reports them as strings). */
  function bindSelect<T extends object, K extends keyof T & string>(
    obj: T,
    key: K,
    onChange: (next: T) => void,
    labels: Record<string, string>,
  ) {
    const change = (value: string) => onChange({ ...obj, [key]: value });
    return { ...selectOf(obj, key, change), options: optionsOf(labels) };
  }
  /** For a select of an optional key, whose empty choice ("any …") leaves the key out. */
  function bindOptional<T extends object>(obj: T, key: keyof T & string, onChange: (next: T) => void) {
    return selectOf(obj, key, (value) => {
      const { [key]: _, ...rest } = obj;
      onChange((value ? { ...rest, [key]: value } : rest) as T);
    });
  }
  return { bind, bindSelect, bindOptional, errorOf };
}
