/**
 * Streaming CSV record reader for contact imports.
 *
 * Files can be hundreds of megabytes, so nothing here holds the whole file: bytes are decoded chunk by
 * chunk and only the unfinished tail (at most `maxRecordChars` plus one chunk) is kept between pushes.
 *
 * Parsing rules, chosen to be forgiving with what spreadsheets and CRMs actually export:
 * - Records end at CRLF, LF or a lone CR, including inside quoted fields for line counting. Empty lines
 *   are skipped but still counted; a line holding only spaces or delimiters is a record.
 * - A field is quoted only when `"` is its very first character (so `a, "b"` keeps ` "b"` as is).
 *   `""` inside a quoted field is one `"`. Quoted fields may contain delimiters and line breaks.
 * - A `"` anywhere else in an unquoted field is kept literally (`a"b` reads as `a"b`).
 * - Text between a closing quote and the next delimiter is kept literally after the quoted value
 *   (`"ab"c` reads as `abc`) rather than failing the record: the data is usually right, the quoting sloppy.
 * - Nothing is trimmed and there is no header handling; the first record is returned like any other.
 * - A quoted field that is still open at end of input, or a record longer than `maxRecordChars`, becomes
 *   a `bad` item for the line where the record started. Parsing resumes on the next physical line, so
 *   one stray quote costs one line instead of swallowing the rest of the file. The `raw` of such a bad
 *   item is that starting line only (capped at `maxRecordChars` characters), because that is all that
 *   was skipped. Only `maxRecordChars` are ever buffered for one record, so a quote left open in the
 *   middle of a large file is reported as "record longer than N characters (probably an unterminated
 *   quote)"; "unterminated quote" is for one still open when the input ends.
 * - In UTF-8 mode, a record containing bytes that are not valid UTF-8 becomes a `bad` item (its `raw` is
 *   the whole record, with U+FFFD where the bad bytes were) rather than a record with U+FFFD in it. A
 *   U+FFFD that was genuinely in the file (bytes EF BF BD) is kept as data.
 *   UTF-16 input is not checked this way: unpaired surrogates decode to U+FFFD like any decoder does.
 */
import { Buffer } from "node:buffer";
import { TextDecoder } from "node:util";

export type CsvEncoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";
export type CsvDelimiter = "," | ";" | "\t" | "|";

export interface CsvRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  fields: string[];
  /** The record's original text without its line terminator (may contain line breaks inside quotes). */
  raw: string;
}

export interface CsvBadRecord {
  line: number;
  raw: string;
  /** What is wrong, without the line number (that is `line`), e.g. "unterminated quote ...". */
  reason: string;
}

export type CsvItem = { kind: "record"; record: CsvRecord } | { kind: "bad"; bad: CsvBadRecord };

export interface CsvReaderOptions {
  delimiter?: CsvDelimiter;
  /** Longest accepted record, in UTF-16 code units of decoded text. Default 65536. */
  maxRecordChars?: number;
  encoding?: CsvEncoding;
}

export interface CsvSniff {
  delimiter: CsvDelimiter;
  encoding: CsvEncoding;
  hasBom: boolean;
}

export interface ReadCsvOptions extends CsvReaderOptions {
  /** Called once, before the first batch, with the settings actually used (explicit options win). */
  onSniff?: (sniff: CsvSniff) => void;
}

export const DEFAULT_MAX_RECORD_CHARS = 65_536;
/** How many bytes `sniffCsv` looks at and `readCsv` gathers before sniffing. */
export const SNIFF_BYTES = 64 * 1024;

const LF = 10;
const CR = 13;
const QUOTE = 34;
const SPACE = 32;
const REPLACEMENT = "\uFFFD";
// Stands in for U+FFFD produced by invalid UTF-8 so it can be told apart from a U+FFFD that was really in
// the file. A lone low surrogate works because decoded UTF-8 never contains one; the same code unit at the
// end of a valid pair (e.g. U+1FFFF) is told apart by the high surrogate in front of it.
const INVALID = "\uDFFF";
const INVALID_MARK = /(?<![\uD800-\uDBFF])\uDFFF/;
const INVALID_MARKS = /(?<![\uD800-\uDBFF])\uDFFF/g;
// How many items readCsv collects before yielding, so consumers pay per batch rather than per record.
const BATCH_ITEMS = 1024;

const DELIMITERS: readonly CsvDelimiter[] = [",", ";", "\t", "|"];

/**
 * Looks at the first bytes (up to 64 KiB) of a file: BOM (UTF-8, UTF-16 LE/BE), whether it is valid UTF-8
 * (else windows-1252), and the delimiter (count , ; tab | outside quotes across the first lines; pick the
 * one that is most consistent and non-zero; default ",").
 *
 * Without a BOM, a head where most odd (or even) bytes are zero is taken as UTF-16 LE (or BE). A UTF-8
 * sequence cut off at the very end of `head` is assumed to continue in the rest of the file.
 * "Most consistent" means: the largest share of records having the same non-zero count; ties go to the
 * delimiter with more columns, then to the order , ; tab |.
 */
export function sniffCsv(head: Uint8Array): CsvSniff {
  return sniffHead(head, undefined, false);
}

function sniffHead(head: Uint8Array, forced: CsvEncoding | undefined, isWholeFile: boolean): CsvSniff {
  const bytes = head.subarray(0, SNIFF_BYTES);
  const bom = bomEncoding(bytes);
  let encoding: CsvEncoding;
  if (forced !== undefined) encoding = forced;
  else if (bom !== undefined) encoding = bom;
  else encoding = guessUtf16(bytes) ?? (isValidUtf8(bytes, isWholeFile) ? "utf-8" : "windows-1252");
  // A UTF-8 BOM still counts when windows-1252 is forced: the reader strips it as "ï»¿".
  const hasBom = bom === encoding || (encoding === "windows-1252" && bom === "utf-8");
  return { delimiter: sniffDelimiter(decodeHead(bytes, encoding)), encoding, hasBom };
}

function bomEncoding(bytes: Uint8Array): CsvEncoding | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return undefined;
}

// BOM-less UTF-16 shows up as a zero byte in almost every ASCII character; real CSV text has no NULs.
function guessUtf16(bytes: Uint8Array): CsvEncoding | undefined {
  const pairs = Math.min(bytes.length, 4096) >> 1;
  if (pairs < 2) return undefined;
  let zeroEven = 0;
  let zeroOdd = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (bytes[i] === 0) zeroEven++;
    if (bytes[i + 1] === 0) zeroOdd++;
  }
  if (zeroOdd >= pairs * 0.3 && zeroEven <= pairs * 0.05) return "utf-16le";
  if (zeroEven >= pairs * 0.3 && zeroOdd <= pairs * 0.05) return "utf-16be";
  return undefined;
}

function isValidUtf8(bytes: Uint8Array, isWholeFile: boolean): boolean {
  try {
    // In stream mode a sequence cut off by the 64 KiB limit is not an error.
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: !isWholeFile });
    return true;
  } catch {
    return false;
  }
}

function decodeHead(bytes: Uint8Array, encoding: CsvEncoding): string {
  if (encoding === "windows-1252") return decodeWindows1252(bytes);
  return new TextDecoder(encoding).decode(bytes, { stream: true });
}

/** Counts candidate delimiters outside quotes per record and picks the most consistent one. */
function sniffDelimiter(text: string): CsvDelimiter {
  const maxRecords = 200;
  const records: number[][] = [];
  let counts = [0, 0, 0, 0];
  let hasContent = false;
  let inQuotes = false;
  let atFieldStart = true;
  const n = text.length;
  for (let i = 0; i < n && records.length < maxRecords; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (c === QUOTE) {
        if (text.charCodeAt(i + 1) === QUOTE) i++;
        else inQuotes = false;
      }
      continue;
    }
    if (c === LF || c === CR) {
      if (hasContent) records.push(counts);
      counts = [0, 0, 0, 0];
      hasContent = false;
      atFieldStart = true;
      continue;
    }
    hasContent = true;
    // The delimiter is unknown yet, so any candidate (or a space after one) may start a quoted field.
    if (c === QUOTE && atFieldStart) {
      inQuotes = true;
      atFieldStart = false;
      continue;
    }
    const d = c === 44 ? 0 : c === 59 ? 1 : c === 9 ? 2 : c === 124 ? 3 : -1;
    if (d >= 0) {
      counts[d]!++;
      atFieldStart = true;
    } else if (c !== SPACE) {
      atFieldStart = false;
    }
  }
  // The last line may have been cut off by the sniff limit; use it only when it is all there is.
  if (hasContent && !inQuotes && records.length === 0) records.push(counts);

  let best: CsvDelimiter = ",";
  let bestShare = 0;
  let bestMode = 0;
  for (let d = 0; d < DELIMITERS.length; d++) {
    const tally = new Map<number, number>();
    for (const record of records) {
      const count = record[d]!;
      tally.set(count, (tally.get(count) ?? 0) + 1);
    }
    let mode = 0;
    let modeRecords = 0;
    for (const [count, times] of tally) {
      if (times > modeRecords || (times === modeRecords && count > mode)) {
        mode = count;
        modeRecords = times;
      }
    }
    if (mode === 0) continue;
    const share = modeRecords / records.length;
    if (share > bestShare || (share === bestShare && mode > bestMode)) {
      best = DELIMITERS[d]!;
      bestShare = share;
      bestMode = mode;
    }
  }
  return best;
}

// Bytes 0x80-0x9F of windows-1252; the rest of the code page is identical to ISO-8859-1.
const WINDOWS_1252_HIGH =
  "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F" +
  "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";
const C1_CONTROLS = /[\u0080-\u009F]/g;

/**
 * Node's own TextDecoder("windows-1252") decodes 0x80-0x9F as ISO-8859-1 outside stream mode (so 0x80
 * becomes U+0080 instead of the euro sign), so decode as Latin-1 and patch that range from the table.
 */
export function decodeWindows1252(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  C1_CONTROLS.lastIndex = 0;
  if (!C1_CONTROLS.test(text)) return text;
  return text.replace(C1_CONTROLS, (c) => WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80]!);
}

/** Keeps the position of the next occurrence of one character so each byte is searched only once. */
class NextIndex {
  /** First occurrence at or after `start`; -1 means none in [start, end). */
  private at = -1;
  private start = 0;
  private end = 0;

  constructor(private readonly char: string) {}

  find(buf: string, from: number): number {
    const at = this.at;
    const known = from >= this.start;
    if (known && at >= from) return at;
    const found = buf.indexOf(this.char, known && at === -1 ? Math.max(from, this.end) : from);
    this.at = found;
    this.start = from;
    this.end = buf.length;
    return found;
  }

  /** The buffer lost its first `count` characters. */
  shift(count: number): void {
    if (this.at !== -1 && this.at < count) {
      this.at = -1;
      this.start = 0;
      this.end = 0;
      return;
    }
    if (this.at !== -1) this.at -= count;
    this.start = Math.max(0, this.start - count);
    this.end = Math.max(0, this.end - count);
  }
}

/**
 * Streaming reader: turns byte chunks into records. Decodes with the sniffed (or given) encoding, skips
 * the BOM, handles CRLF/LF/CR line ends, quoted fields with embedded delimiters, doubled quotes and
 * newlines, trims nothing (the caller trims). Blank lines are skipped.
 *
 * Items come out in file order. A record is returned as soon as its line terminator has been seen (a
 * trailing CR waits for the next chunk to tell CR from CRLF), so call `end()` to get the last one.
 */
export class CsvReader {
  private readonly delimiter: string;
  private readonly delimiterCode: number;
  private readonly maxRecordChars: number;
  private readonly encoding: CsvEncoding;
  private readonly decoder: TextDecoder | undefined;
  /** UTF-8 bytes of a character cut off at the end of the previous chunk. */
  private carry: Uint8Array | undefined;
  private sawInvalidUtf8 = false;
  private bomPending = true;
  private bomHead = "";
  private buf = "";
  private pos = 0;
  private line = 1;
  /** Dropping the rest of an over-long first line of a bad record. */
  private skipping = false;
  private ended = false;
  private readonly nextLf = new NextIndex("\n");
  private readonly nextCr = new NextIndex("\r");
  private readonly nextQuote = new NextIndex('"');
  private readonly nextDelimiter: NextIndex;

  constructor(options: CsvReaderOptions & { delimiter: string; encoding: CsvEncoding }) {
    // Widened: the caller may pass any one-character delimiter, not only the sniffable ones.
    const delimiter: string = options.delimiter;
    const encoding = options.encoding;
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\r" || delimiter === "\n") {
      throw new Error(
        `CSV delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`,
      );
    }
    const max = options.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
    if (!Number.isInteger(max) || max < 1)
      throw new Error(`maxRecordChars must be a positive integer, got ${max}`);
    this.delimiter = delimiter;
    this.delimiterCode = delimiter.charCodeAt(0);
    this.nextDelimiter = new NextIndex(delimiter);
    this.maxRecordChars = max;
    this.encoding = encoding;
    // ignoreBOM keeps U+FEFF in the output; the real BOM is removed once, in stripBom.
    if (encoding === "utf-16le" || encoding === "utf-16be") {
      this.decoder = new TextDecoder(encoding, { ignoreBOM: true });
    } else if (encoding === "utf-8" || encoding === "windows-1252") {
      this.decoder = undefined;
    } else {
      throw new Error(`Unsupported CSV encoding ${JSON.stringify(encoding)}`);
    }
  }

  /** Returns the items completed by this chunk. The chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array): CsvItem[] {
    if (this.ended) throw new Error("CsvReader.push() called after end()");
    return this.feed(this.decode(chunk, false));
  }

  /** Flushes the last record (and reports an unterminated quote, if any). Safe to call twice. */
  end(): CsvItem[] {
    if (this.ended) return [];
    const text = this.decode(new Uint8Array(0), true);
    this.ended = true;
    return this.feed(text);
  }

  private decode(chunk: Uint8Array, final: boolean): string {
    if (this.encoding === "utf-8") return this.decodeUtf8(chunk, final);
    if (this.decoder === undefined) return decodeWindows1252(chunk);
    return this.decoder.decode(chunk, { stream: !final });
  }

  /**
   * UTF-8 is decoded chunk by chunk without a streaming decoder, carrying a cut-off character over by
   * hand. That way the bytes behind each piece of text are known, which is what lets invalid bytes be
   * told apart from a literal U+FFFD. Buffer's decoder (same WHATWG replacement rules) is used because
   * it is about four times faster than TextDecoder on Node 20.
   */
  private decodeUtf8(chunk: Uint8Array, final: boolean): string {
    let bytes = chunk;
    if (this.carry !== undefined) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
      this.carry = undefined;
    }
    const cut = final ? bytes.length : completeUtf8Length(bytes);
    if (cut < bytes.length) this.carry = bytes.slice(cut);
    return this.decodeUtf8Complete(bytes.subarray(0, cut));
  }

  private decodeUtf8Complete(bytes: Uint8Array): string {
    const text = utf8(bytes, 0, bytes.length);
    if (text.indexOf(REPLACEMENT) === -1) return text;
    // Split around literal U+FFFD (EF BF BD). Splitting just before a lead byte or just after a complete
    // character decodes exactly as the whole would, so every U+FFFD left in a piece came from bad bytes.
    let out = "";
    let from = 0;
    let i = bytes.indexOf(0xef);
    while (i !== -1) {
      if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) {
        out += this.markInvalid(utf8(bytes, from, i)) + REPLACEMENT;
        from = i + 3;
        i = bytes.indexOf(0xef, from);
      } else {
        i = bytes.indexOf(0xef, i + 1);
      }
    }
    return out + this.markInvalid(utf8(bytes, from, bytes.length));
  }

  private markInvalid(text: string): string {
    if (text.indexOf(REPLACEMENT) === -1) return text;
    this.sawInvalidUtf8 = true;
    return text.replaceAll(REPLACEMENT, INVALID);
  }

  private stripBom(text: string): string {
    const bom = this.encoding === "windows-1252" ? "\u00EF\u00BB\u00BF" : "\uFEFF";
    const head = this.bomHead + text;
    // Tiny chunks can deliver the BOM a piece at a time.
    if (head.length < bom.length && bom.startsWith(head) && !this.ended) {
      this.bomHead = head;
      return "";
    }
    this.bomPending = false;
    this.bomHead = "";
    return head.startsWith(bom) ? head.slice(bom.length) : head;
  }

  private feed(decoded: string): CsvItem[] {
    const text = this.bomPending ? this.stripBom(decoded) : decoded;
    if (text.length > 0) {
      const consumed = this.pos;
      this.buf = consumed >= this.buf.length ? text : this.buf.slice(consumed) + text;
      this.pos = 0;
      this.nextLf.shift(consumed);
      this.nextCr.shift(consumed);
      this.nextQuote.shift(consumed);
      this.nextDelimiter.shift(consumed);
    } else if (!this.ended) {
      return [];
    }
    const out: CsvItem[] = [];
    this.parse(out);
    if (this.ended) this.buf = "";
    return out;
  }

  private parse(out: CsvItem[]): void {
    const buf = this.buf;
    const n = buf.length;
    const final = this.ended;
    const max = this.maxRecordChars;
    let pos = this.pos;
    while (pos < n) {
      const lf = this.nextLf.find(buf, pos);
      const cr = this.nextCr.find(buf, pos);
      let end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);

      if (this.skipping) {
        if (end === -1) {
          pos = n;
          break;
        }
        if (end === cr && end + 1 >= n && !final) {
          pos = end;
          break;
        }
        pos = end + (end === cr && buf.charCodeAt(end + 1) === LF ? 2 : 1);
        this.line++;
        this.skipping = false;
        continue;
      }

      const quote = this.nextQuote.find(buf, pos);
      if (quote !== -1 && (end === -1 || quote < end)) {
        const next = this.parseQuoted(buf, pos, final, out);
        if (next === -1) break;
        pos = next;
        continue;
      }

      let terminator = 1;
      if (end === -1) {
        if (!final) {
          if (n - pos > max) {
            this.tooLong(out, buf.slice(pos, pos + max), false);
            this.skipping = true;
            continue;
          }
          break;
        }
        end = n;
        terminator = 0;
      } else if (end === cr) {
        if (end + 1 < n) {
          if (buf.charCodeAt(end + 1) === LF) terminator = 2;
        } else if (!final) {
          break;
        }
      }
      if (end > pos) {
        if (end - pos > max) {
          this.tooLong(out, buf.slice(pos, pos + max), false);
        } else {
          const raw = buf.slice(pos, end);
          if (this.sawInvalidUtf8 && hasInvalidMark(raw)) this.invalidUtf8(out, raw);
          else
            out.push({
              kind: "record",
              record: { line: this.line, fields: splitFields(raw, this.delimiter), raw },
            });
        }
      }
      this.line++;
      pos = end + terminator;
    }
    this.pos = pos;
  }

  /**
   * Parses one record that has a quote before its first line end. Returns the position after it, or -1
   * when the buffer ends before the record can be judged.
   */
  private parseQuoted(buf: string, start: number, final: boolean, out: CsvItem[]): number {
    const n = buf.length;
    // A record longer than max has a character at index >= limit.
    const limit = start + this.maxRecordChars;
    const fields: string[] = [];
    let breaks = 0;
    // Where the record's first physical line ends, to resume there if the record turns out bad.
    let firstBreak = -1;
    let firstLineEnd = -1;
    let i = start;
    for (;;) {
      let value: string | undefined;
      if (i < n && buf.charCodeAt(i) === QUOTE) {
        value = "";
        let from = ++i;
        for (;;) {
          const quote = this.nextQuote.find(buf, i);
          const stop = quote === -1 ? n : quote;
          // Line breaks inside the quotes count as physical lines; past the limit they no longer matter.
          let at = this.lineEnd(buf, i);
          while (at !== -1 && at < stop && at < limit) {
            let after = at + 1;
            if (buf.charCodeAt(at) === CR) {
              if (after >= n && !final) return -1;
              if (buf.charCodeAt(after) === LF) after++;
            }
            breaks++;
            if (firstBreak === -1) {
              firstBreak = at;
              firstLineEnd = after;
            }
            at = this.lineEnd(buf, after);
          }
          if (quote === -1 ? n > limit : quote >= limit) {
            return this.quotedTooLong(out, buf, start, firstBreak, firstLineEnd, Math.max(i, limit), true);
          }
          if (quote === -1) {
            if (!final) return -1;
            this.unterminated(out, buf, start, firstBreak, n);
            return firstLineEnd === -1 ? n : firstLineEnd;
          }
          if (quote + 1 >= n && !final) return -1;
          if (buf.charCodeAt(quote + 1) === QUOTE) {
            value += buf.slice(from, quote + 1);
            i = quote + 2;
            from = i;
            continue;
          }
          value += buf.slice(from, quote);
          i = quote + 1;
          break;
        }
      }

      // An unquoted field, or (lenient) whatever follows a closing quote up to the delimiter.
      const fieldEnd = this.fieldEnd(buf, i);
      if (fieldEnd > limit) {
        return this.quotedTooLong(out, buf, start, firstBreak, firstLineEnd, Math.max(i, limit), false);
      }
      if (value === undefined) fields.push(buf.slice(i, fieldEnd));
      else fields.push(fieldEnd > i ? value + buf.slice(i, fieldEnd) : value);
      i = fieldEnd;

      let end = i;
      let terminator = 1;
      if (i >= n) {
        if (!final) return -1;
        terminator = 0;
      } else {
        const c = buf.charCodeAt(i);
        if (c === this.delimiterCode) {
          if (i >= limit) return this.quotedTooLong(out, buf, start, firstBreak, firstLineEnd, i, false);
          i++;
          continue;
        }
        if (c === CR) {
          if (i + 1 >= n && !final) return -1;
          if (buf.charCodeAt(i + 1) === LF) terminator = 2;
        }
        end = i;
      }
      const raw = buf.slice(start, end);
      if (this.sawInvalidUtf8 && hasInvalidMark(raw)) this.invalidUtf8(out, raw);
      else out.push({ kind: "record", record: { line: this.line, fields, raw } });
      this.line += breaks + 1;
      return end + terminator;
    }
  }

  /** Index of the next CR or LF at or after `from`, or -1. */
  private lineEnd(buf: string, from: number): number {
    const lf = this.nextLf.find(buf, from);
    const cr = this.nextCr.find(buf, from);
    return lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
  }

  /** Index of the next delimiter, CR or LF at or after `from`, or the buffer length. */
  private fieldEnd(buf: string, from: number): number {
    const lineEnd = this.lineEnd(buf, from);
    const delimiter = this.nextDelimiter.find(buf, from);
    if (delimiter !== -1 && (lineEnd === -1 || delimiter < lineEnd)) return delimiter;
    return lineEnd === -1 ? buf.length : lineEnd;
  }

  private unterminated(out: CsvItem[], buf: string, start: number, firstBreak: number, n: number): void {
    const raw = buf.slice(start, firstBreak === -1 ? n : firstBreak);
    this.bad(out, raw, "unterminated quote (a quoted field is never closed); skipped this line");
    this.line++;
  }

  private quotedTooLong(
    out: CsvItem[],
    buf: string,
    start: number,
    firstBreak: number,
    firstLineEnd: number,
    at: number,
    inQuotes: boolean,
  ): number {
    const lineEnd =
      firstBreak === -1 ? start + this.maxRecordChars : Math.min(firstBreak, start + this.maxRecordChars);
    this.tooLong(out, buf.slice(start, lineEnd), inQuotes);
    if (firstLineEnd !== -1) {
      this.line++;
      return firstLineEnd;
    }
    // The first line itself is too long and its end is not in the buffer yet.
    this.skipping = true;
    return at;
  }

  private tooLong(out: CsvItem[], raw: string, inQuotes: boolean): void {
    const hint = inQuotes ? " (probably an unterminated quote)" : "";
    this.bad(out, raw, `record longer than ${this.maxRecordChars} characters${hint}; skipped this line`);
  }

  private invalidUtf8(out: CsvItem[], raw: string): void {
    this.bad(out, raw, "contains bytes that are not valid UTF-8 (is the file in another encoding?)");
  }

  private bad(out: CsvItem[], raw: string, reason: string): void {
    const line = this.line;
    const text = this.sawInvalidUtf8 ? raw.replace(INVALID_MARKS, REPLACEMENT) : raw;
    out.push({ kind: "bad", bad: { line, raw: text, reason } });
  }
}

function hasInvalidMark(raw: string): boolean {
  return raw.indexOf(INVALID) !== -1 && INVALID_MARK.test(raw);
}

// An indexOf loop measured faster than String.prototype.split for short records on Node 20.
function splitFields(raw: string, delimiter: string): string[] {
  const fields: string[] = [];
  let from = 0;
  for (;;) {
    const at = raw.indexOf(delimiter, from);
    if (at === -1) break;
    fields.push(raw.slice(from, at));
    from = at + 1;
  }
  fields.push(from === 0 ? raw : raw.slice(from));
  return fields;
}

function utf8(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", start, end);
}

/** Length of `bytes` without a UTF-8 character cut off at the end (at most 3 bytes are held back). */
function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const b = bytes[n - k]!;
    if (b < 0x80) return n;
    if (b >= 0xc0) {
      const needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return needed > k ? n - k : n;
    }
  }
  return n;
}

function concatBytes(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Convenience: async generator over an AsyncIterable<Uint8Array> of bytes: sniffs from the first chunk(s)
 * (gathers at least 64 KiB or until the stream ends before sniffing), then yields items in batches
 * (arrays, never empty) to keep per-item overhead low.
 *
 * The settings used are reported through `options.onSniff` before the first batch and are also the
 * generator's return value (which `for await` discards, hence the callback). Explicit `delimiter` and
 * `encoding` options win over sniffing; the delimiter is then sniffed from text decoded the given way.
 */
export async function* readCsv(
  source: AsyncIterable<Uint8Array>,
  options: ReadCsvOptions = {},
): AsyncGenerator<CsvItem[], CsvSniff, undefined> {
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let reader: CsvReader | undefined;
  let sniff: CsvSniff | undefined;
  let batch: CsvItem[] = [];

  const start = (isWholeFile: boolean): CsvItem[] => {
    const bytes = concatBytes(head, headBytes);
    const sniffed = sniffHead(bytes, options.encoding, isWholeFile);
    sniff = { ...sniffed, delimiter: options.delimiter ?? sniffed.delimiter };
    options.onSniff?.(sniff);
    reader = new CsvReader({ ...options, delimiter: sniff.delimiter, encoding: sniff.encoding });
    head.length = 0;
    return reader.push(bytes);
  };
  const add = (items: CsvItem[]): void => {
    if (batch.length === 0) batch = items;
    else for (const item of items) batch.push(item);
  };

  for await (const chunk of source) {
    if (reader === undefined) {
      // Copied because some sources reuse their buffer for the next chunk.
      head.push(chunk.slice());
      headBytes += chunk.length;
      if (headBytes < SNIFF_BYTES) continue;
      add(start(false));
    } else {
      add(reader.push(chunk));
    }
    if (batch.length >= BATCH_ITEMS) {
      yield batch;
      batch = [];
    }
  }
  if (reader === undefined) add(start(true));
  add(reader!.end());
  if (batch.length > 0) yield batch;
  return sniff!;
}
