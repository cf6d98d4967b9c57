/**
 * Maps CSV headers exported by other tools (Mailchimp, HubSpot, Salesforce, Shopify, spreadsheets)
 * to contact fields. Detection is by header name only, never by peeking at values, so a mapping is
 * predictable and the user can read it back before the import runs.
 */
import {
  CONTACT_FIELDS,
  type ContactField,
  detectField,
  normalizeHeader,
} from "@omneural/contracts/column-detection";
import { isValidAttributeKey, normalizeEmail, toAttributeKey } from "../contacts/normalize.ts";

export { CONTACT_FIELDS, type ContactField, detectField, normalizeHeader };

export type ColumnTarget =
  | { kind: "field"; field: ContactField }
  | { kind: "attribute"; key: string }
  | { kind: "ignore" };

export interface ColumnMapping {
  header: string;
  index: number;
  target: ColumnTarget;
  /** False when the target came from the user's overrides. */
  detected: boolean;
}

const FIELD_BY_NAME = new Map<string, ContactField>(
  CONTACT_FIELDS.map((field) => [field.toLowerCase(), field]),
);
for (const field of CONTACT_FIELDS) {
  // "city" for "address.city": the REST API nests these under `address`, so people write them bare.
  if (field.startsWith("address.")) FIELD_BY_NAME.set(field.slice(8).toLowerCase(), field);
}

/** Reads an override value: "ignore", a field name ("email", "address.city", "city") or "attributes.<key>". */
function parseTarget(value: string): ColumnTarget | undefined {
  const text = value.trim();
  const lower = text.toLowerCase();
  if (lower === "ignore") return { kind: "ignore" };
  const field = FIELD_BY_NAME.get(lower);
  if (field !== undefined) return { kind: "field", field };
  if (lower.startsWith("attributes.")) {
    const key = text.slice("attributes.".length);
    if (isValidAttributeKey(key)) return { kind: "attribute", key };
  }
  return undefined;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/**
 * Detects a mapping for each header. `overrides` maps a header (exact, or case-insensitive) to
 * "ignore", a contact field name or "attributes.<key>". Headers that name no field become
 * attributes via toAttributeKey.
 *
 * `errors` lists what the user must fix before importing: an override naming an unknown header or
 * target, and two overrides sending columns to the same field or attribute. `warnings` lists what
 * was settled automatically: empty header cells (named column_<n>), a detected column whose field
 * an earlier or overridden column already fills (kept as an attribute instead), and attribute
 * keys made unique with _2, _3.
 */
export function detectColumnMapping(
  headers: string[],
  overrides: Record<string, string> = {},
): { columns: ColumnMapping[]; errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const names = headers.map((header, index) => {
    const name = header.trim();
    if (name !== "") return name;
    warnings.push(`column ${index + 1} has no header, so it is called "column_${index + 1}"`);
    return `column_${index + 1}`;
  });

  const overridden = new Map<number, ColumnTarget>();
  for (const [header, value] of Object.entries(overrides)) {
    const target = typeof value === "string" ? parseTarget(value) : undefined;
    if (target === undefined) {
      errors.push(
        `the mapping for ${quote(header)} has an unknown target ${quote(String(value))}; use "ignore", "attributes.<key>" or one of ${CONTACT_FIELDS.join(", ")}`,
      );
      continue;
    }
    let matches = indexesWhere(names, (name) => name === header);
    if (matches.length === 0) {
      const wanted = header.trim().toLowerCase();
      matches = indexesWhere(names, (name) => name.toLowerCase() === wanted);
    }
    if (matches.length === 0) {
      errors.push(`the mapping names a column ${quote(header)} that the file doesn't have`);
      continue;
    }
    for (const index of matches) {
      if (overridden.has(index)) {
        errors.push(`the mapping names column ${quote(names[index] ?? "")} more than once`);
      } else {
        overridden.set(index, target);
      }
    }
  }

  const targets: (ColumnTarget | undefined)[] = new Array(names.length);
  const fieldOwner = new Map<ContactField, number>();
  // User choices first, so a detected column never takes a field away from an overridden one.
  for (const [index, target] of [...overridden].sort((a, b) => a[0] - b[0])) {
    if (target.kind === "field") {
      const owner = fieldOwner.get(target.field);
      if (owner !== undefined) {
        errors.push(
          `the mapping sends both ${quote(names[owner] ?? "")} and ${quote(names[index] ?? "")} to ${target.field}; choose one`,
        );
        targets[index] = { kind: "ignore" };
        continue;
      }
      fieldOwner.set(target.field, index);
    }
    targets[index] = target;
  }
  for (let index = 0; index < names.length; index++) {
    if (overridden.has(index)) continue;
    const name = names[index] ?? "";
    const field = detectField(name);
    if (field === undefined) continue;
    const owner = fieldOwner.get(field);
    if (owner === undefined) {
      fieldOwner.set(field, index);
      targets[index] = { kind: "field", field };
    } else {
      warnings.push(
        `${quote(name)} also looks like ${field}, which ${quote(names[owner] ?? "")} fills; it is kept as an attribute`,
      );
    }
  }

  // Attribute keys: the user's explicit keys are taken as given, generated ones step aside.
  const usedKeys = new Map<string, number>();
  for (const [index, target] of overridden) {
    if (target.kind !== "attribute" || targets[index] !== target) continue;
    const owner = usedKeys.get(target.key);
    if (owner !== undefined) {
      errors.push(
        `the mapping sends both ${quote(names[owner] ?? "")} and ${quote(names[index] ?? "")} to attributes.${target.key}; choose one`,
      );
      targets[index] = { kind: "ignore" };
    } else {
      usedKeys.set(target.key, index);
    }
  }
  for (let index = 0; index < names.length; index++) {
    if (targets[index] !== undefined) continue;
    const name = names[index] ?? "";
    const base = toAttributeKey(name, `column_${index + 1}`);
    let key = base;
    for (let n = 2; usedKeys.has(key); n++) {
      const suffix = `_${n}`;
      key = `${base.slice(0, 64 - suffix.length)}${suffix}`;
    }
    if (key !== base)
      warnings.push(`${quote(name)} is kept as the attribute "${key}" because "${base}" is already taken`);
    usedKeys.set(key, index);
    targets[index] = { kind: "attribute", key };
  }

  const columns = names.map((header, index) => ({
    header,
    index,
    target: targets[index] ?? { kind: "ignore" as const },
    detected: !overridden.has(index),
  }));
  return { columns, errors, warnings };
}

function indexesWhere(names: string[], predicate: (name: string) => boolean): number[] {
  const indexes: number[] = [];
  for (let index = 0; index < names.length; index++) {
    if (predicate(names[index] ?? "")) indexes.push(index);
  }
  return indexes;
}

/** Whether some column fills an identifying field: email, phone or externalId. */
export function hasIdentifierColumn(columns: ColumnMapping[]): boolean {
  return columns.some(
    (column) =>
      column.target.kind === "field" &&
      (column.target.field === "email" ||
        column.target.field === "phone" ||
        column.target.field === "externalId"),
  );
}

const PHONE_LIKE = /^\+?[\d\s().\-/]+$/;
const NUMBER_LIKE = /^[-+]?\d+(?:[.,]\d+)?$/;
const YEAR = /^(?:19|20)\d\d$/;

/**
 * Heuristic for "the file has no header row": no header names a known field, and some header
 * cell looks like data (an email address, a phone number or a number; a bare year such as "2024"
 * counts as a plausible header). Returns a reason for the user, or undefined.
 */
export function headerLooksLikeData(headers: string[]): string | undefined {
  if (headers.some((header) => detectField(header) !== undefined)) return undefined;
  for (const header of headers) {
    const cell = header.trim();
    if (cell === "") continue;
    if (cell.includes("@") && normalizeEmail(cell).ok) return `${quote(cell)} is an email address`;
    if (PHONE_LIKE.test(cell) && countDigits(cell) >= 7) return `${quote(cell)} looks like a phone number`;
    if (NUMBER_LIKE.test(cell) && !YEAR.test(cell)) return `${quote(cell)} is a number`;
  }
  return undefined;
}

function countDigits(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  return count;
}
