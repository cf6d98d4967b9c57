/**
 * Pure parts of a contact import: turning a CSV record into contact input with the column mapping, and
 * encoding normalised contacts as rows of PostgreSQL's COPY text format for the staging table.
 */
import type { ContactInput, NormalizedContact } from "../contacts/normalize.ts";
import { inferAttributeValue, parseConsent } from "../contacts/normalize.ts";
import type { ColumnMapping } from "./column-mapping.ts";

/** Contact columns shared by the staging table and the direct COPY into contacts, in COPY order. */
const PROFILE_COLUMNS = [
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

/** Rows that need the exact merge: their line, how much their timezone says, a new id, the profile. */
export const STAGING_COLUMNS = ["line_no", "tz_rank", "id", ...PROFILE_COLUMNS] as const;

/** New contacts COPYed straight into the contacts table. */
export const CONTACT_COPY_COLUMNS = ["workspace_id", "id", ...PROFILE_COLUMNS] as const;

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

/** A contact's PROFILE_COLUMNS in COPY text format; absent consents as `absentConsent`. */
function profileText(n: NormalizedContact, absentConsent: string): string {
  const attrs = Object.keys(n.attributes).length ? JSON.stringify(n.attributes) : "{}";
  return `${copyText(n.externalId)}\t${copyText(n.email)}\t${copyText(n.phone)}\t${copyText(n.firstName)}\t${copyText(
    n.lastName,
  )}\t${copyText(n.addressLine1)}\t${copyText(n.addressLine2)}\t${copyText(n.city)}\t${copyText(n.region)}\t${copyText(
    n.postalCode,
  )}\t${copyText(n.country)}\t${copyText(n.timezone)}\t${copyText(attrs)}\t${n.consent.email ?? absentConsent}\t${
    n.consent.sms ?? absentConsent
  }\t${n.consent.mail ?? absentConsent}\t${n.consent.ads ?? absentConsent}\n`;
}

/** A row for the staging table (STAGING_COLUMNS). A consent the file does not give stays NULL. */
export function stagingLine(line: number, id: string, n: NormalizedContact, tzRank: number): string {
  return `${line}\t${tzRank}\t${id}\t${profileText(n, "\\N")}`;
}

/** A row COPYed into contacts after the workspace id (CONTACT_COPY_COLUMNS minus the first). */
export function contactLine(id: string, n: NormalizedContact): string {
  return `${id}\t${profileText(n, "never_asked")}`;
}

/** Writes rejected rows as a CSV a user can fix and re-import: line, error, then the original columns. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value.startsWith(" ") || value.endsWith(" ")
    ? `"${value.replace(/"/g, '""')}"`
    : value;
}
