/**
 * What the browser works out from the first lines of a CSV file before it is sent: the delimiter, the
 * header, a few rows to show, and the column mapping the server would detect (both use the synonym table
 * of @omneural/contracts/column-detection). The page then sends the mapping it shows, every column named,
 * so what the user saw is what the server does.
 */
import { type ContactField, detectField, toAttributeKey } from "@omneural/contracts/column-detection";

export type { ContactField };
export { toAttributeKey };

/** What a column becomes: a contact field, a custom attribute, or nothing. */
export type ColumnChoice =
  | { kind: "field"; field: ContactField }
  | { kind: "attribute"; key: string }
  | { kind: "ignore" };

/** The fields in the order the select lists them, with the words a marketer knows them by. */
export const FIELD_LABELS: Record<ContactField, string> = {
  email: "Email",
  phone: "Phone",
  externalId: "Customer id (from your other tools)",
  firstName: "First name",
  lastName: "Last name",
  fullName: "Full name (split into first and last)",
  "address.line1": "Street address",
  "address.line2": "Address line 2",
  "address.city": "City",
  "address.region": "State or region",
  "address.postalCode": "Postal code",
  "address.country": "Country",
  timezone: "Time zone",
  "consent.email": "Email consent",
  "consent.sms": "SMS consent",
  "consent.mail": "Mail consent",
  "consent.ads": "Ads consent",
};

export const CONTACT_FIELDS = Object.keys(FIELD_LABELS) as ContactField[];

export const ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** One choice per header: a field at most once (the first column that names it), else an attribute. */
export function detectChoices(headers: string[]): ColumnChoice[] {
  const taken = new Set<ContactField>();
  const keys = new Set<string>();
  const choices: (ColumnChoice | undefined)[] = headers.map((header) => {
    const field = detectField(header);
    if (!field || taken.has(field)) return undefined;
    taken.add(field);
    return { kind: "field", field };
  });
  return choices.map((choice, index) => {
    if (choice) return choice;
    const base = toAttributeKey(headers[index] ?? "", `column_${index + 1}`);
    let key = base;
    for (let n = 2; keys.has(key); n++) key = `${base.slice(0, 62)}_${n}`;
    keys.add(key);
    return { kind: "attribute", key };
  });
}

export type Delimiter = "," | ";" | "\t" | "|";
export const DELIMITER_NAMES: Record<Delimiter, string> = {
  ",": "commas",
  ";": "semicolons",
  "\t": "tabs",
  "|": "vertical bars",
};

/** Splits CSV text into records (quoted fields with "" and line breaks inside them). */
export function parseRecords(text: string, delimiter: string, maxRecords: number): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = "";
  let quoted = false;
  let started = false;
  for (let i = 0; i < text.length && records.length < maxRecords; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
      continue;
    }
    if (c === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
      started = true;
    } else if (c === delimiter) {
      record.push(cell);
      cell = "";
      started = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      if (started || cell !== "") records.push([...record, cell]);
      record = [];
      cell = "";
      started = false;
    } else {
      cell += c;
      started = true;
    }
  }
  return records;
}

/** The delimiter most lines agree on (ties to more columns, then , ; tab |). */
export function sniffDelimiter(lines: string[]): Delimiter {
  let best: Delimiter = ",";
  let bestShare = 0;
  let bestMode = 0;
  for (const delimiter of [",", ";", "\t", "|"] as Delimiter[]) {
    const counts = lines.map((line) => parseRecords(`${line}\n`, delimiter, 1)[0]?.length ?? 1);
    const tally = new Map<number, number>();
    for (const count of counts) tally.set(count, (tally.get(count) ?? 0) + 1);
    let mode = 0;
    let times = 0;
    for (const [count, n] of tally)
      if (n > times || (n === times && count > mode)) [mode, times] = [count, n];
    if (mode <= 1) continue;
    const share = times / counts.length;
    if (share > bestShare || (share === bestShare && mode > bestMode)) {
      best = delimiter;
      bestShare = share;
      bestMode = mode;
    }
  }
  return best;
}

export interface CsvPreview {
  delimiter: Delimiter;
  headers: string[];
  /** The first data rows (up to 20). */
  rows: string[][];
  choices: ColumnChoice[];
  /** Headers that appear more than once: the server decides those itself. */
  duplicates: Set<string>;
  /** Why the file cannot be imported as it is, if it cannot. */
  problem?: string;
}

const PREVIEW_BYTES = 64 * 1024;
const PREVIEW_ROWS = 20;

/** Reads the start of the file (64 KiB at most) and works out the preview. */
export async function previewFile(file: File): Promise<CsvPreview> {
  const bytes = new Uint8Array(await file.slice(0, PREVIEW_BYTES).arrayBuffer());
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
  } catch {
    text = new TextDecoder("windows-1252").decode(bytes);
  }
  return previewText(text.replace(/^\uFEFF/, ""));
}

export function previewText(text: string): CsvPreview {
  const lines = text.split(/\r\n|\n|\r/).filter((line) => line.trim() !== "");
  const delimiter = sniffDelimiter(lines.slice(0, PREVIEW_ROWS + 1));
  const [first, ...rows] = parseRecords(text, delimiter, PREVIEW_ROWS + 1);
  const headers = (first ?? []).map((h, i) => h.trim() || `column_${i + 1}`);
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const header of headers) (seen.has(header) ? duplicates : seen).add(header);
  const preview: CsvPreview = { delimiter, headers, rows, choices: detectChoices(headers), duplicates };
  if (headers.length === 0) preview.problem = "The file is empty.";
  else if (text.includes("\u0000"))
    preview.problem = "This does not look like a text file: choose a CSV file.";
  else {
    const data = headerLooksLikeData(headers);
    if (data)
      preview.problem = `The first line must name the columns (for example Email, First name), but it looks like data: ${data}. Add a header line and choose the file again.`;
  }
  return preview;
}

function headerLooksLikeData(headers: string[]): string | undefined {
  if (headers.some((header) => detectField(header))) return undefined;
  for (const header of headers) {
    if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(header)) return `“${header}” is an email address`;
    if (/^\+?[\d\s().\-/]+$/.test(header) && header.replace(/\D/g, "").length >= 7)
      return `“${header}” looks like a phone number`;
    if (/^[-+]?\d+(?:[.,]\d+)?$/.test(header) && !/^(?:19|20)\d\d$/.test(header))
      return `“${header}” is a number`;
  }
  return undefined;
}

/** Whether some column is an email, phone or customer id: the server needs one to match contacts. */
export function hasIdentifier(choices: ColumnChoice[]): boolean {
  return choices.some(
    (c) => c.kind === "field" && (c.field === "email" || c.field === "phone" || c.field === "externalId"),
  );
}

export function targetOf(choice: ColumnChoice): string {
  return choice.kind === "ignore"
    ? "ignore"
    : choice.kind === "field"
      ? choice.field
      : `attributes.${choice.key}`;
}

/** What is wrong with the choices, per column index: a field or attribute used twice, a bad key. */
export function mappingProblems(headers: string[], choices: ColumnChoice[]): Map<number, string> {
  const problems = new Map<number, string>();
  const owners = new Map<string, number>();
  choices.forEach((choice, index) => {
    if (choice.kind === "ignore") return;
    if (choice.kind === "attribute" && !ATTRIBUTE_KEY.test(choice.key)) {
      problems.set(
        index,
        "Attribute names use letters, digits and _ and start with a letter or _ (at most 64 characters).",
      );
      return;
    }
    const target = targetOf(choice);
    const owner = owners.get(target);
    if (owner !== undefined) {
      problems.set(index, `“${headers[owner]}” already goes there: choose another field or Ignore.`);
    } else owners.set(target, index);
  });
  return problems;
}

/** The mapping sent with the file: every column named, except repeated headers (ambiguous by name). */
export function mappingOf(preview: Pick<CsvPreview, "headers" | "duplicates">, choices: ColumnChoice[]) {
  const mapping: Record<string, string> = {};
  preview.headers.forEach((header, index) => {
    if (!preview.duplicates.has(header)) mapping[header] = targetOf(choices[index]!);
  });
  return mapping;
}
