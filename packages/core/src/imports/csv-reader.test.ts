import { stringify } from "csv-stringify/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CsvEncoding,
  type CsvItem,
  CsvReader,
  type CsvReaderOptions,
  type CsvSniff,
  decodeWindows1252,
  readCsv,
  sniffCsv,
} from "./csv-reader.ts";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function utf16(text: string, encoding: "utf-16le" | "utf-16be", bom: boolean): Uint8Array {
  const source = bom ? `\uFEFF${text}` : text;
  const bytes = new Uint8Array(source.length * 2);
  for (let i = 0; i < source.length; i++) {
    const unit = source.charCodeAt(i);
    const [first, second] = encoding === "utf-16le" ? [unit & 0xff, unit >> 8] : [unit >> 8, unit & 0xff];
    bytes[i * 2] = first;
    bytes[i * 2 + 1] = second;
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits `bytes` into consecutive chunks of the given sizes, cycling through them. */
function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (let k = 0; offset < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    chunks.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return chunks;
}

type ReaderSettings = CsvReaderOptions & { delimiter: string; encoding: CsvEncoding };

function readChunks(chunks: Uint8Array[], settings: ReaderSettings): CsvItem[] {
  const reader = new CsvReader(settings);
  const items: CsvItem[] = [];
  for (const chunk of chunks) items.push(...reader.push(chunk));
  items.push(...reader.end());
  return items;
}

/** Reads the whole input in one chunk, with sniffed settings unless given. */
function read(input: string | Uint8Array, options: CsvReaderOptions = {}): CsvItem[] {
  const bytes = typeof input === "string" ? utf8(input) : input;
  const sniff = sniffCsv(bytes);
  return readChunks([bytes], {
    ...options,
    delimiter: options.delimiter ?? sniff.delimiter,
    encoding: options.encoding ?? sniff.encoding,
  });
}

/** Records as [line, fields] pairs, which is what most assertions care about. */
function rows(items: CsvItem[]): [number, string[]][] {
  return items.map((item) => {
    if (item.kind === "bad") throw new Error(`unexpected bad item: ${item.bad.reason}`);
    return [item.record.line, item.record.fields];
  });
}

/** The option types only admit sniffable delimiters; the reader itself accepts any single character. */
const unchecked = (delimiter: string): "," => delimiter as ",";

async function* source(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function collect(
  generator: AsyncGenerator<CsvItem[], CsvSniff, undefined>,
): Promise<{ batches: CsvItem[][]; result: CsvSniff }> {
  const batches: CsvItem[][] = [];
  for (;;) {
    const next = await generator.next();
    if (next.done) return { batches, result: next.value };
    batches.push(next.value);
  }
}

describe("sniffCsv", () => {
  it.each([
    [",", "name,email,city\nAda,ada@example.com,London\nBob,bob@example.com,Paris\n"],
    [";", "name;email;city\nAda;ada@example.com;London\nBob;bob@example.com;Paris\n"],
    ["\t", "name\temail\tcity\nAda\tada@example.com\tLondon\nBob\tbob@example.com\tParis\n"],
    ["|", "name|email|city\nAda|ada@example.com|London\nBob|bob@example.com|Paris\n"],
  ])("detects %j as the delimiter", (delimiter, text) => {
    expect(sniffCsv(utf8(text))).toEqual({ delimiter, encoding: "utf-8", hasBom: false });
  });

  it("ignores delimiters inside quoted fields, including quoted line breaks", () => {
    const text = 'note,id\n"a;b;c;d",1\n"x;y;z;w",2\n"multi;line;\nnote;here",3\n';
    expect(sniffCsv(utf8(text)).delimiter).toBe(",");
    const tabs = 'id;note\n1;"a\tb\tc"\n2;"d\te\tf"\n';
    expect(sniffCsv(utf8(tabs)).delimiter).toBe(";");
  });

  it("prefers the delimiter with a consistent count over one that appears in the data", () => {
    // Decimal commas in a semicolon file: commas appear on most lines but not the header.
    const text = "name;price;stock\nfoo;1,50;3\nbar;2,00;4\nbaz;3,25;5\n";
    expect(sniffCsv(utf8(text)).delimiter).toBe(";");
  });

  it("defaults to a comma when no candidate appears", () => {
    expect(sniffCsv(utf8("email\nada@example.com\n")).delimiter).toBe(",");
    expect(sniffCsv(new Uint8Array(0))).toEqual({ delimiter: ",", encoding: "utf-8", hasBom: false });
  });

  it("ignores a last line cut off by the sniff limit", () => {
    const text = "a;b;c\n1;2;3\n4;5;6\nthis,line,is,cut,off,at,the,limit,,,,";
    expect(sniffCsv(utf8(text)).delimiter).toBe(";");
  });

  it("detects a UTF-8 BOM", () => {
    const bytes = concat(new Uint8Array([0xef, 0xbb, 0xbf]), utf8("a;b\n1;2\n"));
    expect(sniffCsv(bytes)).toEqual({ delimiter: ";", encoding: "utf-8", hasBom: true });
  });

  it("detects UTF-16 LE and BE from the BOM and sniffs the delimiter from the decoded text", () => {
    const text = "name\temail\nAdé\tade@example.com\n";
    expect(sniffCsv(utf16(text, "utf-16le", true))).toEqual({
      delimiter: "\t",
      encoding: "utf-16le",
      hasBom: true,
    });
    expect(sniffCsv(utf16(text, "utf-16be", true))).toEqual({
      delimiter: "\t",
      encoding: "utf-16be",
      hasBom: true,
    });
  });

  it("detects UTF-16 LE without a BOM from its zero bytes", () => {
    expect(sniffCsv(utf16("a,b\n1,2\n", "utf-16le", false))).toEqual({
      delimiter: ",",
      encoding: "utf-16le",
      hasBom: false,
    });
  });

  it("picks windows-1252 when the head is not valid UTF-8", () => {
    const bytes = new Uint8Array([...utf8("name;city\nRen"), 0xe9, ...utf8(";Orl"), 0xe9, ...utf8("ans\n")]);
    expect(sniffCsv(bytes)).toEqual({ delimiter: ";", encoding: "windows-1252", hasBom: false });
  });

  it("keeps UTF-8 when the head ends in the middle of a multi-byte character", () => {
    const bytes = utf8("a,b\nx,é");
    expect(sniffCsv(bytes.subarray(0, bytes.length - 1)).encoding).toBe("utf-8");
  });
});

describe("CsvReader", () => {
  it("skips a UTF-8 BOM so it does not end up in the first header", () => {
    const bytes = concat(new Uint8Array([0xef, 0xbb, 0xbf]), utf8("email,name\na@example.com,Ada\n"));
    expect(rows(read(bytes))).toEqual([
      [1, ["email", "name"]],
      [2, ["a@example.com", "Ada"]],
    ]);
  });

  it("keeps a U+FEFF that is data rather than a BOM", () => {
    const bytes = concat(new Uint8Array([0xef, 0xbb, 0xbf]), utf8("\uFEFFa,b\n"));
    expect(rows(read(bytes))).toEqual([[1, ["\uFEFFa", "b"]]]);
  });

  it("reads UTF-16 LE with a BOM, including characters outside the BMP", () => {
    const bytes = utf16("name\tnote\nZoë\t😀 ok\n", "utf-16le", true);
    const expected = [
      [1, ["name", "note"]],
      [2, ["Zoë", "😀 ok"]],
    ];
    expect(rows(read(bytes))).toEqual(expected);
    // Odd chunk sizes cut code units and surrogate pairs in half.
    expect(rows(readChunks(chunked(bytes, [1, 3, 5]), { delimiter: "\t", encoding: "utf-16le" }))).toEqual(
      expected,
    );
  });

  it("reads UTF-16 BE with a BOM", () => {
    expect(rows(read(utf16("a;b\nç;ñ\n", "utf-16be", true)))).toEqual([
      [1, ["a", "b"]],
      [2, ["ç", "ñ"]],
    ]);
  });

  it("decodes windows-1252 bytes, including the 0x80-0x9F range", () => {
    const bytes = new Uint8Array([
      ...utf8("name,note\nRen"),
      0xe9,
      ...utf8(","),
      0x93,
      ...utf8("5 "),
      0x80,
      0x94,
      0x0a,
    ]);
    expect(sniffCsv(bytes).encoding).toBe("windows-1252");
    expect(rows(read(bytes))).toEqual([
      [1, ["name", "note"]],
      [2, ["René", "“5 €”"]],
    ]);
  });

  it("maps every windows-1252 byte like the WHATWG encoding table", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    // Node's TextDecoder gets 0x80-0x9F right only in stream mode.
    const reference = new TextDecoder("windows-1252").decode(all, { stream: true });
    expect(decodeWindows1252(all)).toBe(reference);
    expect(decodeWindows1252(new Uint8Array([0x80, 0x9f, 0xff]))).toBe("€Ÿÿ");
  });

  it("handles CRLF, LF and lone CR line ends, even mixed in one file", () => {
    expect(rows(read("a,b\r\nc,d\re,f\ng,h"))).toEqual([
      [1, ["a", "b"]],
      [2, ["c", "d"]],
      [3, ["e", "f"]],
      [4, ["g", "h"]],
    ]);
    expect(rows(read("a,b\rc,d\r"))).toEqual([
      [1, ["a", "b"]],
      [2, ["c", "d"]],
    ]);
  });

  it("parses quoted fields with delimiters, doubled quotes and line breaks, keeping line numbers right", () => {
    const text =
      'id,note,city\n1,"Smith, John","say ""hi"""\n2,"line one\r\nline two\nline three",Paris\n3,x,y\n';
    const items = read(text);
    expect(rows(items)).toEqual([
      [1, ["id", "note", "city"]],
      [2, ["1", "Smith, John", 'say "hi"']],
      [3, ["2", "line one\r\nline two\nline three", "Paris"]],
      [6, ["3", "x", "y"]],
    ]);
    const third = items[2];
    expect(third?.kind === "record" && third.record.raw).toBe('2,"line one\r\nline two\nline three",Paris');
  });

  it("treats an empty quoted field as a value and a trailing delimiter as an empty last field", () => {
    expect(rows(read('a,"",c,\n""\n'))).toEqual([
      [1, ["a", "", "c", ""]],
      [2, [""]],
    ]);
  });

  it("keeps a stray quote inside an unquoted field literally", () => {
    expect(rows(read('name,size\nO"Brien,5"\n'))).toEqual([
      [1, ["name", "size"]],
      [2, ['O"Brien', '5"']],
    ]);
  });

  it("keeps text after a closing quote (lenient) instead of rejecting the record", () => {
    expect(rows(read('"ab"c,"x" y,"q"""\n'))).toEqual([[1, ["abc", "x y", 'q"']]]);
  });

  it("does not treat a quote after leading spaces as opening a quoted field", () => {
    expect(rows(read('a, "b,c"\n'))).toEqual([[1, ["a", ' "b', 'c"']]]);
  });

  it("skips blank lines but still counts them, and trims nothing", () => {
    expect(rows(read("\n\na,b\r\n\r\n\n  ,\t\n\rc,d\n\n"))).toEqual([
      [3, ["a", "b"]],
      [6, ["  ", "\t"]],
      [8, ["c", "d"]],
    ]);
    expect(read("\n\r\n\r")).toEqual([]);
    expect(read("")).toEqual([]);
  });

  it("returns the first record like any other (no header handling)", () => {
    expect(rows(read("email\n"))).toEqual([[1, ["email"]]]);
  });

  it("flushes the last record without a line terminator only on end()", () => {
    const reader = new CsvReader({ delimiter: ",", encoding: "utf-8" });
    expect(rows(reader.push(utf8("a,b\nc,d")))).toEqual([[1, ["a", "b"]]]);
    expect(rows(reader.end())).toEqual([[2, ["c", "d"]]]);
    expect(reader.end()).toEqual([]);
    expect(() => reader.push(utf8("x"))).toThrow(/after end/);
  });

  it("waits for the next chunk before deciding whether a CR is part of CRLF", () => {
    const reader = new CsvReader({ delimiter: ",", encoding: "utf-8" });
    expect(reader.push(utf8("a,b\r"))).toEqual([]);
    expect(rows(reader.push(utf8("\nc,d\r\n")))).toEqual([
      [1, ["a", "b"]],
      [2, ["c", "d"]],
    ]);
    expect(reader.end()).toEqual([]);
  });

  it("rejects delimiters that cannot work", () => {
    expect(() => new CsvReader({ delimiter: unchecked('"'), encoding: "utf-8" })).toThrow(/delimiter/);
    expect(() => new CsvReader({ delimiter: unchecked(",,"), encoding: "utf-8" })).toThrow(/delimiter/);
    expect(() => new CsvReader({ delimiter: ",", encoding: "utf-8", maxRecordChars: 0 })).toThrow(
      /maxRecordChars/,
    );
  });

  it("accepts any other single-character delimiter when given explicitly", () => {
    expect(rows(read("a:b\n", { delimiter: unchecked(":") }))).toEqual([[1, ["a", "b"]]]);
  });

  describe("unterminated quotes", () => {
    it("reports the starting line and resumes on the next line when the quote runs to end of input", () => {
      const items = read('name,note\nAda,"never closed\nBob,fine\n\nCy,ok\n');
      expect(items).toEqual([
        { kind: "record", record: { line: 1, fields: ["name", "note"], raw: "name,note" } },
        {
          kind: "bad",
          bad: {
            line: 2,
            raw: 'Ada,"never closed',
            reason: expect.stringMatching(/^unterminated quote/),
          },
        },
        { kind: "record", record: { line: 3, fields: ["Bob", "fine"], raw: "Bob,fine" } },
        { kind: "record", record: { line: 5, fields: ["Cy", "ok"], raw: "Cy,ok" } },
      ]);
    });

    it("reports an unterminated quote on the last line", () => {
      const items = read('a,b\nc,"d');
      expect(items[1]).toEqual({
        kind: "bad",
        bad: { line: 2, raw: 'c,"d', reason: expect.stringContaining("unterminated quote") },
      });
      expect(items).toHaveLength(2);
    });

    it("gives up at maxRecordChars when a later quote would otherwise close the field", () => {
      const body = Array.from({ length: 20 }, (_, i) => `row${i},value${i}`).join("\n");
      const text = `id,note\n1,"stray quote\n${body}\n2,"properly ""quoted"""\n`;
      const items = read(text, { maxRecordChars: 100 });
      expect(items[1]).toEqual({
        kind: "bad",
        bad: {
          line: 2,
          raw: '1,"stray quote',
          reason: expect.stringMatching(
            /^record longer than 100 characters \(probably an unterminated quote\)/,
          ),
        },
      });
      const after = rows(items.slice(2));
      expect(after).toHaveLength(21);
      expect(after[0]).toEqual([3, ["row0", "value0"]]);
      expect(after[19]).toEqual([22, ["row19", "value19"]]);
      expect(after[20]).toEqual([23, ["2", 'properly "quoted"']]);
    });
  });

  describe("record length limit", () => {
    it("reports a record longer than maxRecordChars, with its raw text capped, and carries on", () => {
      const items = read(`a,b\n${"x".repeat(30)},y\nc,d\n`, { maxRecordChars: 10 });
      expect(items).toEqual([
        { kind: "record", record: { line: 1, fields: ["a", "b"], raw: "a,b" } },
        {
          kind: "bad",
          bad: {
            line: 2,
            raw: "x".repeat(10),
            reason: "record longer than 10 characters; skipped this line",
          },
        },
        { kind: "record", record: { line: 3, fields: ["c", "d"], raw: "c,d" } },
      ]);
    });

    it("accepts a record of exactly maxRecordChars", () => {
      expect(rows(read('"abc",12\n', { maxRecordChars: 8 }))).toEqual([[1, ["abc", "12"]]]);
      expect(read('"abc",123\n', { maxRecordChars: 8 })[0]?.kind).toBe("bad");
    });

    it("reports an over-long line before its end arrives, so buffering stays bounded", () => {
      const reader = new CsvReader({ delimiter: ",", encoding: "utf-8", maxRecordChars: 1000 });
      expect(rows(reader.push(utf8("ok,1\n")))).toEqual([[1, ["ok", "1"]]]);
      const reported: CsvItem[] = [];
      for (let i = 0; i < 100; i++) reported.push(...reader.push(utf8("y".repeat(100))));
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ kind: "bad", bad: { line: 2, raw: "y".repeat(1000) } });
      expect(rows(reader.push(utf8("yyy\nnext,3\n")))).toEqual([[3, ["next", "3"]]]);
      expect(reader.end()).toEqual([]);
    });
  });

  describe("UTF-8 decoding", () => {
    it("decodes multi-byte characters split across chunks at every byte", () => {
      const text = "name,emoji\nRenée,😀\n€uro,ü\n";
      const bytes = utf8(text);
      const expected = rows(read(bytes));
      expect(expected[1]).toEqual([2, ["Renée", "😀"]]);
      const oneByteAtATime = chunked(bytes, [1]);
      expect(rows(readChunks(oneByteAtATime, { delimiter: ",", encoding: "utf-8" }))).toEqual(expected);
      expect(rows(readChunks(chunked(bytes, [2, 3]), { delimiter: ",", encoding: "utf-8" }))).toEqual(
        expected,
      );
    });

    it("reports a record with bytes that are not valid UTF-8 and keeps reading", () => {
      const bytes = new Uint8Array([...utf8("name,city\nRen"), 0xe9, ...utf8(",Paris\nBob,Lyon\n")]);
      expect(read(bytes, { encoding: "utf-8" })).toEqual([
        { kind: "record", record: { line: 1, fields: ["name", "city"], raw: "name,city" } },
        {
          kind: "bad",
          bad: {
            line: 2,
            raw: "Ren\uFFFD,Paris",
            reason: "contains bytes that are not valid UTF-8 (is the file in another encoding?)",
          },
        },
        { kind: "record", record: { line: 3, fields: ["Bob", "Lyon"], raw: "Bob,Lyon" } },
      ]);
    });

    it("keeps a literal U+FFFD that was in the file as data", () => {
      const bytes = new Uint8Array([...utf8("a,\uFFFD\nb,"), 0xff, ...utf8("\nc,\uFFFD\uFFFD\n")]);
      const items = read(bytes, { encoding: "utf-8" });
      expect(items.map((item) => item.kind)).toEqual(["record", "bad", "record"]);
      expect(items[0]).toMatchObject({ record: { fields: ["a", "\uFFFD"] } });
      expect(items[2]).toMatchObject({ record: { line: 3, fields: ["c", "\uFFFD\uFFFD"] } });
    });

    it("does not mistake characters whose UTF-16 form ends in U+DFFF for invalid bytes", () => {
      // U+1FFFF and U+10FFFF are encoded as surrogate pairs ending in the code unit used to mark bad bytes.
      const bytes = new Uint8Array([...utf8("a,\u{1FFFF}\n"), 0xff, ...utf8(',x\n"\u{10FFFF}",\u{1FFFF}\n')]);
      const items = read(bytes, { encoding: "utf-8" });
      expect(items).toEqual([
        { kind: "record", record: { line: 1, fields: ["a", "\u{1FFFF}"], raw: "a,\u{1FFFF}" } },
        {
          kind: "bad",
          bad: { line: 2, raw: "\uFFFD,x", reason: expect.stringContaining("not valid UTF-8") },
        },
        {
          kind: "record",
          record: { line: 3, fields: ["\u{10FFFF}", "\u{1FFFF}"], raw: '"\u{10FFFF}",\u{1FFFF}' },
        },
      ]);
      const tooLong = read(new Uint8Array([0xff, 0x0a, ...utf8("\u{1FFFF}\u{1FFFF}\n")]), {
        encoding: "utf-8",
        maxRecordChars: 3,
      });
      expect(tooLong[1]).toMatchObject({ kind: "bad", bad: { line: 2, raw: "\u{1FFFF}\uD83F" } });
    });

    it("reports invalid bytes inside a multi-line quoted field against the record's first line", () => {
      const bytes = new Uint8Array([...utf8('a,"x\ny'), 0xc3, ...utf8('"\nb,c\n')]);
      const items = read(bytes, { encoding: "utf-8" });
      expect(items[0]).toMatchObject({ kind: "bad", bad: { line: 1, raw: 'a,"x\ny\uFFFD"' } });
      expect(items[1]).toMatchObject({ kind: "record", record: { line: 3, fields: ["b", "c"] } });
    });
  });

  describe("chunk boundaries", () => {
    // BOM, every line ending, quoted CRLF, doubled quotes, blank lines, multi-byte characters, a literal
    // U+FFFD, an invalid byte, an over-long record and an unterminated quote at the end.
    const tricky = concat(
      new Uint8Array([0xef, 0xbb, 0xbf]),
      utf8('id,name,note\r\n1,"Zoë ""Z""","two\r\nlines"\r\n\r\n2,a"b,"x"y\r3,😀,\uFFFD\n4,bad'),
      new Uint8Array([0xe9]),
      utf8(',z\n5,"far too long for the limit, really",x\n\n6,"€",\n7,"unterminated\n8,last'),
    );
    const settings: ReaderSettings = { delimiter: ",", encoding: "utf-8", maxRecordChars: 30 };
    const whole = readChunks([tricky], settings);

    it("parses the tricky file as expected in one chunk", () => {
      expect(
        whole.map((item) =>
          item.kind === "record" ? [item.record.line, item.record.fields] : item.bad.line,
        ),
      ).toEqual([
        [1, ["id", "name", "note"]],
        [2, ["1", 'Zoë "Z"', "two\r\nlines"]],
        [5, ["2", 'a"b', "xy"]],
        [6, ["3", "😀", "\uFFFD"]],
        7,
        8,
        [10, ["6", "€", ""]],
        11,
        [12, ["8", "last"]],
      ]);
      expect(whole[4]).toMatchObject({ bad: { reason: expect.stringContaining("not valid UTF-8") } });
      expect(whole[5]).toMatchObject({ bad: { reason: expect.stringContaining("record longer than 30") } });
      expect(whole[7]).toMatchObject({ bad: { reason: expect.stringContaining("unterminated quote") } });
    });

    it("gives identical output when split into two chunks at every byte position", () => {
      for (let at = 0; at <= tricky.length; at++) {
        const items = readChunks([tricky.slice(0, at), tricky.slice(at)], settings);
        expect(items, `split at byte ${at}`).toEqual(whole);
      }
    });

    it("gives identical output when fed one byte at a time", () => {
      expect(readChunks(chunked(tricky, [1]), settings)).toEqual(whole);
    });

    it("gives identical output for UTF-16 LE split at every byte position", () => {
      const text = 'id;note\r\n1;"a;b\r\nc"\r\r\n2;"😀 ""q"""\n3;"open\n4;end';
      const bytes = utf16(text, "utf-16le", true);
      const utf16Settings: ReaderSettings = { delimiter: ";", encoding: "utf-16le" };
      const expected = readChunks([bytes], utf16Settings);
      expect(expected.map((item) => (item.kind === "record" ? item.record.line : -item.bad.line))).toEqual([
        1, 2, 5, -6, 7,
      ]);
      for (let at = 0; at <= bytes.length; at++) {
        expect(
          readChunks([bytes.slice(0, at), bytes.slice(at)], utf16Settings),
          `split at byte ${at}`,
        ).toEqual(expected);
      }
    });
  });
});

describe("readCsv", () => {
  it("gathers at least 64 KiB before sniffing, then yields non-empty batches", async () => {
    const lines = ["name;email;note"];
    for (let i = 0; i < 5000; i++) lines.push(`user ${i};user${i}@example.com;"a, b; c"`);
    const bytes = utf8(`${lines.join("\n")}\n`);
    let pulled = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for (const chunk of chunked(bytes, [1000])) {
        pulled++;
        yield chunk;
      }
    }
    const sniffs: CsvSniff[] = [];
    let pulledAtSniff = 0;
    const { batches, result } = await collect(
      readCsv(counted(), {
        onSniff: (sniff) => {
          sniffs.push(sniff);
          pulledAtSniff = pulled;
        },
      }),
    );
    expect(pulledAtSniff).toBe(66);
    expect(sniffs).toEqual([{ delimiter: ";", encoding: "utf-8", hasBom: false }]);
    expect(result).toEqual(sniffs[0]);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((batch) => batch.length > 0)).toBe(true);
    expect(batches.flat()).toEqual(readChunks([bytes], { delimiter: ";", encoding: "utf-8" }));
  });

  it("sniffs a short stream once it ends", async () => {
    const bytes = utf16("a\tb\n1\t2", "utf-16le", true);
    const { batches, result } = await collect(readCsv(source(chunked(bytes, [3]))));
    expect(result).toEqual({ delimiter: "\t", encoding: "utf-16le", hasBom: true });
    expect(rows(batches.flat())).toEqual([
      [1, ["a", "b"]],
      [2, ["1", "2"]],
    ]);
  });

  it("sniffs windows-1252 from a short file whose last byte is not valid UTF-8", async () => {
    const { batches, result } = await collect(readCsv(source([new Uint8Array([...utf8("a,caf"), 0xe9])])));
    expect(result.encoding).toBe("windows-1252");
    expect(rows(batches.flat())).toEqual([[1, ["a", "café"]]]);
  });

  it("lets explicit options win over sniffing", async () => {
    const { batches, result } = await collect(
      readCsv(source([utf8("a,b;c\n")]), { delimiter: ";", encoding: "windows-1252" }),
    );
    expect(result).toEqual({ delimiter: ";", encoding: "windows-1252", hasBom: false });
    expect(rows(batches.flat())).toEqual([[1, ["a,b", "c"]]]);
  });

  it("yields nothing for an empty stream", async () => {
    const { batches, result } = await collect(readCsv(source([])));
    expect(batches).toEqual([]);
    expect(result).toEqual({ delimiter: ",", encoding: "utf-8", hasBom: false });
  });

  it("stops reading the source when the consumer stops early", async () => {
    let pulled = 0;
    let closed = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          pulled++;
          yield utf8("a,b\n".repeat(10_000));
        }
      } finally {
        closed = true;
      }
    }
    for await (const batch of readCsv(endless())) {
      expect(batch.length).toBeGreaterThan(0);
      break;
    }
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(5);
  });
});

describe("round trip with csv-stringify (property)", () => {
  const fieldChar = fc.constantFrom(
    ",",
    ";",
    "\t",
    "|",
    '"',
    "\r",
    "\n",
    "a",
    "b",
    " ",
    "é",
    "😀",
    "\uFFFD",
    "\uFEFF",
  );
  const field = fc.oneof(
    fc.string({ unit: fieldChar, maxLength: 8 }),
    fc.string({ unit: "binary", maxLength: 6 }),
    fc.constant(""),
  );
  const table = fc
    .integer({ min: 1, max: 4 })
    .chain((columns) =>
      fc.array(fc.array(field, { minLength: columns, maxLength: columns }), { maxLength: 12 }),
    );

  /** Line breaks as the reader counts them: CRLF, lone CR and LF each end one physical line. */
  const lineBreaks = (text: string): number => text.match(/\r\n|\r|\n/g)?.length ?? 0;

  it("parses serialised random tables back to the same fields and starting lines, however chunked", () => {
    fc.assert(
      fc.property(
        table,
        fc.constantFrom(",", ";", "\t"),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.constantFrom<CsvEncoding>("utf-8", "utf-16le", "utf-16be"),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
        (records, delimiter, recordDelimiter, encoding, bom, finalNewline, chunkSizes) => {
          const options = { delimiter, record_delimiter: recordDelimiter, quote_record_delimiter: true };
          const serialised = records.map((record) => stringify([record], options));
          let text = serialised.join("");
          if (!finalNewline && text.endsWith(recordDelimiter)) text = text.slice(0, -recordDelimiter.length);

          const expected: [number, string[]][] = [];
          let line = 1;
          records.forEach((record, i) => {
            const serialisedRecord = serialised[i]!;
            // A single empty field serialises as an empty line, which the reader skips as blank.
            if (serialisedRecord !== recordDelimiter) expected.push([line, record]);
            line += lineBreaks(serialisedRecord);
          });

          // Without a BOM a leading U+FEFF would be read as one, so such files need a real BOM.
          const withBom = bom || text.startsWith("\uFEFF");
          const bytes =
            encoding === "utf-8"
              ? utf8(withBom ? `\uFEFF${text}` : text)
              : utf16(text, encoding as "utf-16le" | "utf-16be", withBom);
          const items = readChunks(chunked(bytes, chunkSizes), { delimiter, encoding });
          expect(rows(items)).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("gives the same items for any chunking of malformed input, with increasing line numbers", () => {
    // Quotes, line ends, UTF-8 fragments, invalid bytes and a literal U+FFFD, in any order.
    const byte = fc.constantFrom(
      0x22,
      0x2c,
      0x0d,
      0x0a,
      0x61,
      0x20,
      0xc3,
      0xa9,
      0xe9,
      0xef,
      0xbf,
      0xbd,
      0xf0,
      0x9f,
    );
    fc.assert(
      fc.property(
        fc.array(byte, { maxLength: 120 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 6 }),
        (values, maxRecordChars, chunkSizes) => {
          const bytes = Uint8Array.from(values);
          const settings: ReaderSettings = { delimiter: ",", encoding: "utf-8", maxRecordChars };
          const whole = readChunks([bytes], settings);
          expect(readChunks(chunked(bytes, chunkSizes), settings)).toEqual(whole);
          const lines = whole.map((item) => (item.kind === "record" ? item.record.line : item.bad.line));
          for (let i = 1; i < lines.length; i++) expect(lines[i]).toBeGreaterThan(lines[i - 1]!);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads the same items through readCsv as through CsvReader, however chunked", async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
        async (records, chunkSizes) => {
          const bytes = utf8(stringify(records, { delimiter: ";" }));
          const { batches } = await collect(
            readCsv(source(chunked(bytes, chunkSizes)), { delimiter: ";", encoding: "utf-8" }),
          );
          expect(batches.flat()).toEqual(readChunks([bytes], { delimiter: ";", encoding: "utf-8" }));
        },
      ),
      { numRuns: 100 },
    );
  });
});
