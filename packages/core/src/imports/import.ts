/**
 * Pure parts of a contact import: turning a CSV record into contact input with the column mapping, and
 * encoding normalised contacts as rows of PostgreSQL's COPY text format for the staging table.
 */
import type { ContactInput, NormalizedContact } from "../contacts/normalize.ts";
import { inferAttributeValue, parseConsent } from "../contacts/normalize.ts";
import type { ColumnMapping } from "./column-mapping.ts";

export const STAGING_COLUMNS = [
  "line_no",
  "id",
  "external_id",
  "email",
  "phone",
  "first_name",
  "last_name",
  "address_line1",
  "address_line2",
  "city",
  "region",
  "postal_code",
  "country",
  "timezone",
  "tz_rank",
  "attributes",
  "email_consent",
  "sms_consent",
  "mail_consent",
  "ads_consent",
] as const;

export interface RowProblem {
  field: string | null;
  reason: string;
}

export type RowToInput = (
  fields: string[],
) => { ok: true; input: ContactInput; tzExplicit: boolean } | { ok: false; problem: RowProblem };

/** Compiles the column mapping into a function from a record's fields to contact input. */
export function compileRowMapper(columns: ColumnMapping[]): RowToInput {
  const expected = columns.length;
  const plan = columns.filter((c) => c.target.kind !== "ignore");
  return (fields) => {
    // Short rows are accepted (exports often drop trailing empty cells); extra cells are not.
    if (fields.length > expected) {
      return {
        ok: false,
        problem: { field: null, reason: `has ${fields.length} columns but the header has ${expected}` },
      };
    }
    const input: ContactInput = {};
    const address: NonNullable<ContactInput["address"]> = {};
    let attributes: Record<string, unknown> | undefined;
    let fullName: string | undefined;
    let tzExplicit = false;
    for (const column of plan) {
      const raw = fields[column.index];
      if (raw === undefined) continue;
      const value = raw.trim();
      if (value === "") continue;
      const target = column.target;
      if (target.kind === "attribute") {
        const typed = inferAttributeValue(value);
        if (typed !== null) (attributes ??= {})[target.key] = typed;
        continue;
      }
      if (target.kind !== "field") continue;
      switch (target.field) {
        case "externalId":
          input.externalId = value;
          break;
        case "email":
          input.email = value;
          break;
        case "phone":
          input.phone = value;
          break;
        case "firstName":
          input.firstName = value;
          break;
        case "lastName":
          input.lastName = value;
          break;
        case "fullName":
          fullName = value;
          break;
        case "address.line1":
          address.line1 = value;
          break;
        case "address.line2":
          address.line2 = value;
          break;
        case "address.city":
          address.city = value;
          break;
        case "address.region":
          address.region = value;
          break;
        case "address.postalCode":
          address.postalCode = value;
          break;
        case "address.country":
          address.country = value;
          break;
        case "timezone":
          input.timezone = value;
          tzExplicit = true;
          break;
        case "consent.email":
        case "consent.sms":
        case "consent.mail":
        case "consent.ads": {
          const consent = parseConsent(value);
          if (!consent.ok)
            return { ok: false, problem: { field: column.header, reason: consent.error.message } };
          if (consent.value) (input.consent ??= {})[target.field.slice(8) as "email"] = consent.value;
          break;
        }
      }
    }
    if (fullName !== undefined && input.firstName == null && input.lastName == null) {
      const space = fullName.lastIndexOf(" ");
      if (space > 0) {
        input.firstName = fullName.slice(0, space).trim();
        input.lastName = fullName.slice(space + 1).trim();
      } else input.firstName = fullName;
    }
    if (
      address.line1 ??
      address.line2 ??
      address.city ??
      address.region ??
      address.postalCode ??
      address.country
    ) {
      input.address = address;
    }
    if (attributes) input.attributes = attributes;
    return { ok: true, input, tzExplicit };
  };
}

/** Escapes a value for COPY's text format. */
function copyText(value: string | null): string {
  if (value === null) return "\\N";
  // Fast path: most values need no escaping.
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

/**
 * How much a row's timezone says: 2 given in the file, 1 derived from its address or phone, 0 the
 * workspace default. When rows are merged or a contact updated, the better-founded one wins.
 */
export function timezoneRank(n: NormalizedContact, tzExplicit: boolean, workspaceDefault: string): 0 | 1 | 2 {
  if (tzExplicit) return 2;
  return n.timezone !== null && n.timezone !== workspaceDefault ? 1 : 0;
}

export function stagingLine(line: number, id: string, n: NormalizedContact, tzRank: number): string {
  const attrs = Object.keys(n.attributes).length ? JSON.stringify(n.attributes) : "{}";
  return `${line}\t${id}\t${copyText(n.externalId)}\t${copyText(n.email)}\t${copyText(n.phone)}\t${copyText(n.firstName)}\t${copyText(
    n.lastName,
  )}\t${copyText(n.addressLine1)}\t${copyText(n.addressLine2)}\t${copyText(n.city)}\t${copyText(n.region)}\t${copyText(
    n.postalCode,
  )}\t${copyText(n.country)}\t${copyText(n.timezone)}\t${tzRank}\t${copyText(attrs)}\t${copyText(
    n.consent.email ?? null,
  )}\t${copyText(n.consent.sms ?? null)}\t${copyText(n.consent.mail ?? null)}\t${copyText(n.consent.ads ?? null)}\n`;
}

/** The columns after workspace_id of a contact COPYed straight into the contacts table. */
export const CONTACT_COPY_COLUMNS = [
  "workspace_id",
  "id",
  "external_id",
  "email",
  "phone",
  "first_name",
  "last_name",
  "address_line1",
  "address_line2",
  "city",
  "region",
  "postal_code",
  "country",
  "timezone",
  "attributes",
  "email_consent",
  "sms_consent",
  "mail_consent",
  "ads_consent",
] as const;

export function contactLine(id: string, n: NormalizedContact): string {
  const attrs = Object.keys(n.attributes).length ? JSON.stringify(n.attributes) : "{}";
  return `${id}\t${copyText(n.externalId)}\t${copyText(n.email)}\t${copyText(n.phone)}\t${copyText(n.firstName)}\t${copyText(
    n.lastName,
  )}\t${copyText(n.addressLine1)}\t${copyText(n.addressLine2)}\t${copyText(n.city)}\t${copyText(n.region)}\t${copyText(
    n.postalCode,
  )}\t${copyText(n.country)}\t${copyText(n.timezone)}\t${copyText(attrs)}\t${n.consent.email ?? "never_asked"}\t${
    n.consent.sms ?? "never_asked"
  }\t${n.consent.mail ?? "never_asked"}\t${n.consent.ads ?? "never_asked"}\n`;
}

/** Writes rejected rows as a CSV a user can fix and re-import: line, error, then the original columns. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value.startsWith(" ") || value.endsWith(" ")
    ? `"${value.replace(/"/g, '""')}"`
    : value;
}
