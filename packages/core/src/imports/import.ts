/**
 * Pure parts of a contact import: turning a CSV record into contact input with the column mapping, and
 * encoding normalised contacts as COPY rows: text format for the staging table, binary for contacts.
 */
import { randomFillSync } from "node:crypto";
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

/**
 * Rows of PostgreSQL's COPY text format, written straight into a byte buffer: no row strings to build,
 * flatten and encode again when they are handed to the socket, which is most of what the import's
 * JavaScript side used to spend on encoding.
 */
export class CopyRows {
  private buf: Buffer;
  private pos = 0;

  constructor(private readonly size = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  get byteLength(): number {
    return this.pos;
  }

  /** Hands over the bytes written so far (the caller owns them) and starts a new buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    return out;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** ASCII that needs no escaping (ids, numbers, consent values), as is. */
  ascii(value: string): void {
    const n = value.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = value.charCodeAt(i);
    this.pos = p;
  }

  /** A value escaped for COPY's text format; null as \N. */
  text(value: string | null): void {
    if (value === null) {
      this.ensure(2);
      this.buf[this.pos++] = 92;
      this.buf[this.pos++] = 78;
      return;
    }
    const n = value.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit, an escape 2 bytes per (ASCII) unit.
    this.ensure(3 * n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        // Non-ASCII: the rest goes through the native UTF-8 encoder.
        p += buf.write(escapeCopyText(value.slice(i)), p, "utf8");
        break;
      }
      if (c === 92 || c === 9 || c === 10 || c === 13) {
        buf[p++] = 92;
        buf[p++] = c === 92 ? 92 : c === 9 ? 116 : c === 10 ? 110 : 114;
      } else {
        buf[p++] = c;
      }
    }
    this.pos = p;
  }

  /** Binary COPY: the header, once before the first row. */
  binaryHeader(): void {
    this.ensure(BINARY_HEADER.length);
    BINARY_HEADER.copy(this.buf, this.pos);
    this.pos += BINARY_HEADER.length;
  }

  /** Binary COPY: the start of a row of `fields` values. */
  binaryRow(fields: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(fields, this.pos);
  }

  /** Binary COPY: the trailer, once after the last row. */
  binaryTrailer(): void {
    this.binaryRow(-1);
  }

  /** Binary COPY: a text value (its UTF-8 bytes, nothing escaped), or NULL. */
  binaryText(value: string | null): void {
    if (value === null) {
      this.ensure(4);
      this.pos = this.buf.writeInt32BE(-1, this.pos);
      return;
    }
    this.binaryString(value, -1);
  }

  /** Binary COPY: a jsonb value from its JSON text (format version 1, then the text). */
  binaryJsonb(json: string): void {
    this.binaryString(json, 1);
  }

  private binaryString(value: string, versionByte: number): void {
    const n = value.length;
    this.ensure(5 + 3 * n);
    const buf = this.buf;
    const start = this.pos;
    let p = start + 4;
    if (versionByte >= 0) buf[p++] = versionByte;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) {
        p += buf.write(i === 0 ? value : value.slice(i), p, "utf8");
        break;
      }
      buf[p++] = c;
    }
    buf.writeInt32BE(p - start - 4, start);
    this.pos = p;
  }

  /** Binary COPY: a UUID from its 16 bytes. */
  binaryUuidBytes(bytes: Uint8Array): void {
    this.ensure(20);
    const buf = this.buf;
    let p = buf.writeInt32BE(16, this.pos);
    for (let i = 0; i < 16; i++) buf[p++] = bytes[i]!;
    this.pos = p;
  }

  /** Binary COPY: a UUID from its canonical text form (8-4-4-4-12 hex digits). */
  binaryUuid(value: string): void {
    this.ensure(20);
    const buf = this.buf;
    let p = this.buf.writeInt32BE(16, this.pos);
    for (let i = 0; i < 36; i += 2) {
      if (i === 8 || i === 13 || i === 18 || i === 23) i++;
      buf[p++] = (hexValue(value.charCodeAt(i)) << 4) | hexValue(value.charCodeAt(i + 1));
    }
    this.pos = p;
  }

  /** A column separator. */
  tab(): void {
    this.ensure(1);
    this.buf[this.pos++] = 9;
  }

  /** The end of a row. */
  endRow(): void {
    this.ensure(1);
    this.buf[this.pos++] = 10;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A UUID's 16 bytes from its canonical text form. */
export function uuidBytes(value: string): Uint8Array {
  const rows = new CopyRows(20);
  rows.binaryUuid(value);
  return new Uint8Array(rows.take().subarray(4));
}

/**
 * Time-ordered ids for new contacts, as shared/ids.ts's uuidv7 makes them (RFC 9562 version 7: the
 * millisecond, a 12-bit sequence within it, 62 random bits) but kept as bytes: a contact row takes the
 * 16 bytes, and only the rare row that needs the id as text (a staging row, a consent entry) pays
 * for the string.
 */
export class ContactIds {
  /** The current id, until the next call of `next()`. */
  readonly bytes = new Uint8Array(16);
  private readonly random = Buffer.alloc(8 * 4096);
  private offset = this.random.length;
  private lastMs = 0;
  private sequence = 0;

  next(now: number = Date.now()): Uint8Array {
    if (this.offset + 8 > this.random.length) {
      randomFillSync(this.random);
      this.offset = 0;
    }
    // The sequence keeps ids made in the same millisecond in order; past 4095 the clock is borrowed from.
    if (now <= this.lastMs) {
      this.sequence++;
      if (this.sequence > 0xfff) {
        this.lastMs++;
        this.sequence = 0;
      }
      now = this.lastMs;
    } else {
      this.lastMs = now;
      this.sequence = 0;
    }
    const b = this.bytes;
    const hi = Math.floor(now / 0x10000);
    const lo = now % 0x10000;
    b[0] = hi >>> 24;
    b[1] = hi >>> 16;
    b[2] = hi >>> 8;
    b[3] = hi;
    b[4] = lo >>> 8;
    b[5] = lo;
    b[6] = 0x70 | (this.sequence >>> 8);
    b[7] = this.sequence;
    const r = this.random;
    const o = this.offset;
    b[8] = 0x80 | (r[o]! & 0x3f);
    for (let i = 1; i < 8; i++) b[8 + i] = r[o + i]!;
    this.offset += 8;
    return b;
  }

  /** The current id in its canonical text form. */
  text(): string {
    const h = (i: number) => HEX[this.bytes[i]!]!;
    return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
  }
}

const BINARY_HEADER = Buffer.concat([
  Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"),
  Buffer.alloc(8), // flags, header extension length
]);

function hexValue(code: number): number {
  const value = code <= 57 ? code - 48 : (code | 32) - 87;
  if (value < 0 || value > 15 || (code > 57 && code < 65)) throw new Error("not a UUID");
  return value;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;

/** Escapes a value for COPY's text format. */
export function escapeCopyText(value: string): string {
  if (!COPY_SPECIAL.test(value)) return value;
  return value.replace(COPY_SPECIALS, (c) =>
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

function attributesJson(attributes: Record<string, unknown>): string {
  for (const _ in attributes) return JSON.stringify(attributes);
  return "{}";
}

/** A contact's PROFILE_COLUMNS, each followed by a tab or (the last) the end of the row. */
function writeProfile(rows: CopyRows, n: NormalizedContact, absentConsent: string): void {
  rows.text(n.externalId);
  rows.tab();
  rows.text(n.email);
  rows.tab();
  rows.text(n.phone);
  rows.tab();
  rows.text(n.firstName);
  rows.tab();
  rows.text(n.lastName);
  rows.tab();
  rows.text(n.addressLine1);
  rows.tab();
  rows.text(n.addressLine2);
  rows.tab();
  rows.text(n.city);
  rows.tab();
  rows.text(n.region);
  rows.tab();
  rows.text(n.postalCode);
  rows.tab();
  rows.text(n.country);
  rows.tab();
  rows.text(n.timezone);
  rows.tab();
  rows.text(attributesJson(n.attributes));
  rows.tab();
  rows.ascii(n.consent.email ?? absentConsent);
  rows.tab();
  rows.ascii(n.consent.sms ?? absentConsent);
  rows.tab();
  rows.ascii(n.consent.mail ?? absentConsent);
  rows.tab();
  rows.ascii(n.consent.ads ?? absentConsent);
  rows.endRow();
}

/** A row for the staging table (STAGING_COLUMNS). A consent the file does not give stays NULL. */
export function writeStagingRow(
  rows: CopyRows,
  line: number,
  id: string,
  n: NormalizedContact,
  tzRank: number,
): void {
  rows.ascii(String(line));
  rows.tab();
  rows.ascii(String(tzRank));
  rows.tab();
  rows.ascii(id);
  rows.tab();
  writeProfile(rows, n, "\\N");
}

/**
 * A row COPYed into contacts (CONTACT_COPY_COLUMNS) in binary format: PostgreSQL then parses no text
 * (UUIDs, escapes, line splitting), which measured 1–2 µs of its 11–14 µs a row, and PostgreSQL is
 * the import's bottleneck. The stream starts with `binaryHeader()` and ends with `binaryTrailer()`.
 */
export function writeContactRow(
  rows: CopyRows,
  workspaceId: Uint8Array,
  id: Uint8Array,
  n: NormalizedContact,
): void {
  rows.binaryRow(CONTACT_COPY_COLUMNS.length);
  rows.binaryUuidBytes(workspaceId);
  rows.binaryUuidBytes(id);
  rows.binaryText(n.externalId);
  rows.binaryText(n.email);
  rows.binaryText(n.phone);
  rows.binaryText(n.firstName);
  rows.binaryText(n.lastName);
  rows.binaryText(n.addressLine1);
  rows.binaryText(n.addressLine2);
  rows.binaryText(n.city);
  rows.binaryText(n.region);
  rows.binaryText(n.postalCode);
  rows.binaryText(n.country);
  rows.binaryText(n.timezone);
  rows.binaryJsonb(attributesJson(n.attributes));
  rows.binaryText(n.consent.email ?? "never_asked");
  rows.binaryText(n.consent.sms ?? "never_asked");
  rows.binaryText(n.consent.mail ?? "never_asked");
  rows.binaryText(n.consent.ads ?? "never_asked");
}

/** Writes rejected rows as a CSV a user can fix and re-import: line, error, then the original columns. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || value.startsWith(" ") || value.endsWith(" ")
    ? `"${value.replace(/"/g, '""')}"`
    : value;
}
