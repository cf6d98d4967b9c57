import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import QRCode from "qrcode";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OutgoingMailPiece } from "./channel.ts";
import {
  addressBlockLines,
  checkMailAddress,
  MANIFEST_COLUMNS,
  toCsv,
  writePrintBatch,
} from "./print-batch.ts";

/** RFC 4180 reader, the reference the manifest is read back with. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  if (field !== "" || row.length > 0) rows.push([...row, field]);
  return rows;
}

interface PdfPage {
  width: number;
  height: number;
  /** Each text-showing operator's string, decoded (pdfkit writes one per laid-out line). */
  lines: string[];
  /** The baseline of each of `lines`, in PDF coordinates (from the bottom of the page). */
  baselines: number[];
  /** The rectangles drawn (`x y w h re`), in pdfkit's top-left coordinates. */
  rects: [number, number, number, number][];
}

/**
 * The standard fonts' WinAnsi encoding: Latin-1 with typographic marks such as "…" at 0x80–0x9F. (Node
 * 20's TextDecoder("windows-1252") decodes that range as Latin-1 control characters.)
 */
const WIN_ANSI_80_9F = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ";
const winAnsi = {
  decode: (bytes: Buffer) =>
    [...bytes]
      .map((b) => (b >= 0x80 && b <= 0x9f ? WIN_ANSI_80_9F[b - 0x80] : String.fromCharCode(b)))
      .join(""),
};

/**
 * Just enough of a PDF reader for pdfkit's uncompressed output: the page tree, each page's size, and the
 * strings of its content stream. pdfkit writes Helvetica text as hex strings in TJ arrays, split where
 * it kerns: `[<416461204c6f> 15 <76> ...] TJ`.
 */
function readPdf(pdf: Buffer): PdfPage[] {
  const raw = pdf.toString("latin1");
  expect(raw.startsWith("%PDF-")).toBe(true);
  expect(raw.trimEnd().endsWith("%%EOF")).toBe(true);
  const objects = new Map<number, string>();
  for (const m of raw.matchAll(/(\d+) 0 obj\n([\s\S]*?)\nendobj/g)) objects.set(Number(m[1]), m[2]!);
  const tree = [...objects.values()].find((o) => /\/Type \/Pages\b/.test(o))!;
  const kids = [...tree.match(/\/Kids \[([^\]]*)\]/)![1]!.matchAll(/(\d+) 0 R/g)].map((m) => Number(m[1]));
  expect(Number(tree.match(/\/Count (\d+)/)![1])).toBe(kids.length);
  expect(raw.match(/\/Type \/Page\b/g)).toHaveLength(kids.length);
  return kids.map((id) => {
    const page = objects.get(id)!;
    const [, width, height] = page.match(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/)!;
    const contents = objects.get(Number(page.match(/\/Contents (\d+) 0 R/)![1]))!;
    const stream = contents.match(/stream\n([\s\S]*?)\nendstream/)![1]!;
    const shown = [...stream.matchAll(/ ([\d.-]+) Tm\n(?:\/F\d+ [\d.]+ Tf\n)?\[([^\]]*)\] TJ/g)];
    const lines = shown.map((m) =>
      [...m[2]!.matchAll(/<([0-9a-f]*)>/g)].map((h) => winAnsi.decode(Buffer.from(h[1]!, "hex"))).join(""),
    );
    const baselines = shown.map((m) => Number(m[1]));
    const rects = [...stream.matchAll(/([\d.-]+) ([\d.-]+) ([\d.-]+) ([\d.-]+) re/g)].map(
      (m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number],
    );
    return { width: Number(width), height: Number(height), lines, baselines, rects };
  });
}

/** The dark modules the page's rectangles cover, as a QR matrix of `size` × `size` (quiet zone dropped). */
function modulesFromRects(rects: PdfPage["rects"], size: number): boolean[][] {
  const cell = Math.min(...rects.map((r) => r[3]));
  const left = Math.min(...rects.map((r) => r[0]));
  const top = Math.min(...rects.map((r) => r[1]));
  const grid = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  for (const [x, y, w] of rects) {
    const row = Math.round((y - top) / cell);
    const first = Math.round((x - left) / cell);
    for (let col = first; col < first + Math.round(w / cell); col++) grid[row]![col] = true;
  }
  return grid;
}

function expectQrCodeOf(page: PdfPage, text: string) {
  const modules = QRCode.create(text, { errorCorrectionLevel: "M" }).modules;
  const expected = Array.from({ length: modules.size }, (_, row) =>
    Array.from({ length: modules.size }, (_, col) => Boolean(modules.get(row, col))),
  );
  expect(modulesFromRects(page.rects, modules.size)).toEqual(expected);
}

const normalise = (text: string) => text.replace(/\s+/g, " ").trim();

function piece(overrides: Partial<OutgoingMailPiece> & Pick<OutgoingMailPiece, "idempotencyKey">) {
  return {
    workspaceId: "ws-1",
    messageId: null,
    layout: "letter",
    to: {
      name: "Ada Lovelace",
      line1: "12 Analytical Way",
      line2: null,
      city: "Springfield",
      region: "IL",
      postalCode: "62701",
      country: "US",
    },
    returnAddress: "Omneural Books\n1 Market St\nSan Francisco CA 94105",
    body: "Dear Ada,\n\nYour reading list is ready.",
    purl: "https://go.example.com/p/ada123",
    ...overrides,
  } satisfies OutgoingMailPiece;
}

const shortLetter = piece({
  idempotencyKey: "campaign-1:ada:letter",
  messageId: "0b5e8a1e-0000-4000-8000-000000000001",
});

// Enough to fill the first page's body and most of a second page: more than fits on the second if it
// kept the first page's bottom margin, which leaves room for the QR code.
const longParagraphs = Array.from(
  { length: 64 },
  (_, i) => `Paragraph ${i + 1} of the long letter goes here.`,
);
const longLetter = piece({
  idempotencyKey: "campaign-1:grace:letter",
  messageId: "0b5e8a1e-0000-4000-8000-000000000002",
  to: {
    name: 'Grace "Amazing" Hopper, PhD',
    line1: "3 Cobol Court",
    line2: "Apt 4, Floor 2",
    city: "Arlington",
    region: "VA",
    postalCode: "22201",
    country: "US",
  },
  body: `Dear Grace,\r\n\r\n${longParagraphs.join("\n")}\n\nYours,\nThe Omneural team`,
  purl: "https://go.example.com/p/grace456",
});

const postcard = piece({
  idempotencyKey: "campaign-1:alan:postcard",
  layout: "postcard",
  to: {
    name: "Alan Turing",
    line1: "221 Bletchley Road",
    city: "Toronto",
    region: "ON",
    postalCode: "M5V 2T6",
    country: "CA",
  },
  body: "Hello Alan!\nYour 20% discount awaits.",
  purl: "https://go.example.com/p/alan789",
});

const noPostalCode = piece({
  idempotencyKey: "campaign-1:charles:letter",
  to: { name: "Charles Babbage", line1: "1 Engine St", city: "London", postalCode: "  ", country: "GB" },
});

describe("checkMailAddress", () => {
  const complete = shortLetter.to;
  it.each([
    [{ ...complete }, undefined],
    [{ ...complete, name: " " }, "missing name"],
    [{ ...complete, line1: "" }, "missing address line"],
    [{ ...complete, city: "" }, "missing city"],
    [{ ...complete, postalCode: "" }, "missing postal code"],
    [{ ...complete, country: "" }, "missing country"],
    [{ ...complete, region: null }, "missing region"],
    [{ ...complete, country: "CA", region: "" }, "missing region"],
    [{ ...complete, country: "AU", region: undefined }, "missing region"],
    [{ ...complete, country: "DE", region: null }, undefined],
    [{ ...complete, country: "USA" }, expect.stringContaining("unknown country")],
    [{ ...complete, country: "XX" }, expect.stringContaining("unknown country")],
  ])("%o → %s", (to, problem) => {
    expect(checkMailAddress(to)).toEqual(problem);
  });
});

describe("addressBlockLines", () => {
  it("formats the city line by country and names the country of a piece going abroad", () => {
    expect(addressBlockLines(longLetter.to)).toEqual([
      'Grace "Amazing" Hopper, PhD',
      "3 Cobol Court",
      "Apt 4, Floor 2",
      "Arlington VA  22201",
    ]);
    expect(addressBlockLines(postcard.to)).toEqual([
      "Alan Turing",
      "221 Bletchley Road",
      "Toronto ON  M5V 2T6",
      "CANADA",
    ]);
    expect(
      addressBlockLines({ ...postcard.to, country: "DE", region: null, postalCode: "10115" }, "DE"),
    ).toEqual(["Alan Turing", "221 Bletchley Road", "10115 Toronto"]);
  });
});

describe("toCsv", () => {
  it("reads back as the rows it was given", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: "grapheme" }), { minLength: 1, maxLength: 5 })),
        (rows) => {
          // A row of one empty field is an empty line, which CSV cannot tell from no row.
          const meaningful = rows.filter((row) => !(row.length === 1 && row[0] === ""));
          expect(parseCsv(toCsv(meaningful))).toEqual(meaningful);
        },
      ),
    );
  });
});

describe("writePrintBatch", () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "print-batch-"));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("writes the complete pieces into one PDF and its manifest, and rejects the incomplete one", async () => {
    const result = await writePrintBatch([shortLetter, noPostalCode, longLetter, postcard], {
      directory,
      batchId: "2026-11-28-ws-1",
      compress: false,
    });

    expect(result.rejected).toEqual([
      { idempotencyKey: noPostalCode.idempotencyKey, reason: "missing postal code" },
    ]);
    expect(result.pdfPath).toBe(join(directory, "2026-11-28-ws-1.pdf"));
    expect(result.manifestPath).toBe(join(directory, "2026-11-28-ws-1.csv"));
    expect(result.pieces).toBe(3);
    expect(result.pages).toBe(5); // 1 + 2 (the long letter flows onto a second page) + 2 (postcard)
    expect(result.estimatedCost).toBe(2.25); // 2 × 0.85 + 0.55
    expect(result.currency).toBe("USD");
    // Nothing but the two files: the temporary files were renamed into place.
    expect((await readdir(directory)).sort()).toEqual(["2026-11-28-ws-1.csv", "2026-11-28-ws-1.pdf"]);

    const manifest = parseCsv(await readFile(result.manifestPath!, "utf8"));
    expect(manifest[0]).toEqual([...MANIFEST_COLUMNS]);
    const rows = manifest
      .slice(1)
      .map((row) => Object.fromEntries(MANIFEST_COLUMNS.map((c, i) => [c, row[i]])));
    expect(rows).toEqual([
      {
        piece_id: shortLetter.messageId,
        layout: "letter",
        name: "Ada Lovelace",
        address_line1: "12 Analytical Way",
        address_line2: "",
        city: "Springfield",
        region: "IL",
        postal_code: "62701",
        country: "US",
        purl: shortLetter.purl,
        first_page: "1",
        pages: "1",
      },
      {
        piece_id: longLetter.messageId,
        layout: "letter",
        name: 'Grace "Amazing" Hopper, PhD',
        address_line1: "3 Cobol Court",
        address_line2: "Apt 4, Floor 2",
        city: "Arlington",
        region: "VA",
        postal_code: "22201",
        country: "US",
        purl: longLetter.purl,
        first_page: "2",
        pages: "2",
      },
      {
        piece_id: postcard.idempotencyKey, // no ledger row id: the idempotency key stands in
        layout: "postcard",
        name: "Alan Turing",
        address_line1: "221 Bletchley Road",
        address_line2: "",
        city: "Toronto",
        region: "ON",
        postal_code: "M5V 2T6",
        country: "CA",
        purl: postcard.purl,
        first_page: "4",
        pages: "2",
      },
    ]);

    const pages = readPdf(await readFile(result.pdfPath!));
    expect(pages).toHaveLength(5);
    expect(pages.map((p) => [p.width, p.height])).toEqual([
      [612, 792],
      [612, 792],
      [612, 792],
      [432, 288],
      [432, 288],
    ]);
    const [ada, grace1, grace2, front, back] = pages as [PdfPage, PdfPage, PdfPage, PdfPage, PdfPage];

    // Ada's letter: return address, window address, body with its blank line kept as a paragraph break.
    expect(ada.lines).toEqual(
      expect.arrayContaining([
        "Omneural Books",
        "Ada Lovelace",
        "12 Analytical Way",
        "Springfield IL  62701",
        "Dear Ada,",
        "Your reading list is ready.",
      ]),
    );
    expect(ada.lines).not.toContain("Grace");
    // A blank line in the body stays a blank line: two body lines between the baselines around it.
    const baselineOf = (page: PdfPage, line: string) => page.baselines[page.lines.indexOf(line)]!;
    const bodyLine =
      baselineOf(grace1, "Paragraph 1 of the long letter goes here.") -
      baselineOf(grace1, "Paragraph 2 of the long letter goes here.");
    expect(bodyLine).toBeGreaterThan(11);
    expect(baselineOf(ada, "Dear Ada,") - baselineOf(ada, "Your reading list is ready.")).toBeCloseTo(
      2 * bodyLine,
    );
    expect(
      baselineOf(grace1, "Dear Grace,") - baselineOf(grace1, "Paragraph 1 of the long letter goes here."),
    ).toBeCloseTo(2 * bodyLine);
    expectQrCodeOf(ada, shortLetter.purl);

    // Grace's letter starts on a new page and its body continues on the next one, in order, whole.
    expect(grace1.lines).toEqual(
      expect.arrayContaining(['Grace "Amazing" Hopper, PhD', "Apt 4, Floor 2", longLetter.purl]),
    );
    expect(normalise([...grace1.lines, ...grace2.lines].join(" "))).toContain(
      normalise(longLetter.body.replace(/^[\s\S]*?Dear Grace,/, "Dear Grace,")),
    );
    expect(grace1.lines).toContain("Paragraph 1 of the long letter goes here.");
    expect(grace2.lines).toContain("Paragraph 64 of the long letter goes here.");
    expect(grace2.lines.at(-1)).toBe("The Omneural team");
    // The first page's body stops above its QR code (whose top is 126 pt above the page's bottom edge);
    // the continuation page has no QR code and its text runs on below that line.
    const bodyBaselines = grace1.baselines.slice(grace1.lines.indexOf("Dear Grace,"));
    expect(Math.min(...bodyBaselines)).toBeGreaterThan(126);
    expect(grace2.rects).toEqual([]);
    expect(Math.min(...grace2.baselines)).toBeLessThan(126);
    expectQrCodeOf(grace1, longLetter.purl);

    // The postcard: the message on the front, the addresses and the QR code on the back.
    expect(front.lines).toEqual(["Hello Alan!", "Your 20% discount awaits."]);
    expect(front.rects).toEqual([]);
    expect(back.lines).toEqual(
      expect.arrayContaining([
        "Omneural Books",
        "Alan Turing",
        "Toronto ON  M5V 2T6",
        "CANADA",
        postcard.purl,
      ]),
    );
    expectQrCodeOf(back, postcard.purl);
  });

  it("keeps a postcard to two pages however long its message", async () => {
    const result = await writePrintBatch(
      [{ ...postcard, body: Array.from({ length: 200 }, (_, i) => `Line ${i}`).join("\n") }],
      { directory, batchId: "long-postcard", compress: false, costPerPostcard: 0.4, currency: "EUR" },
    );
    expect(result).toMatchObject({ pieces: 1, pages: 2, estimatedCost: 0.4, currency: "EUR" });
    const [front] = readPdf(await readFile(result.pdfPath!));
    expect(front!.lines.at(-1)).toMatch(/…$/);
  });

  it("rejects a second piece with the same idempotency key and a piece without a usable personal URL", async () => {
    const result = await writePrintBatch(
      [shortLetter, { ...shortLetter }, { ...postcard, purl: "javascript:alert(1)" }],
      { directory, batchId: "dupes", compress: false },
    );
    expect(result.rejected).toEqual([
      { idempotencyKey: shortLetter.idempotencyKey, reason: "duplicate piece in batch" },
      { idempotencyKey: postcard.idempotencyKey, reason: "missing or invalid personal URL" },
    ]);
    expect(result).toMatchObject({ pieces: 1, pages: 1, estimatedCost: 0.85 });
  });

  it("writes no file when no piece can be printed", async () => {
    const result = await writePrintBatch([noPostalCode], { directory, batchId: "empty" });
    expect(result).toMatchObject({
      pdfPath: null,
      manifestPath: null,
      pieces: 0,
      pages: 0,
      estimatedCost: 0,
    });
    expect(result.rejected).toHaveLength(1);
    expect(await readdir(directory)).toEqual([]);
  });

  it("refuses a batch id that is not a plain file name", async () => {
    await expect(writePrintBatch([shortLetter], { directory, batchId: "../escape" })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    expect(await readdir(directory)).toEqual([]);
  });

  it("leaves no temporary file behind when the batch cannot be written", async () => {
    const missing = join(directory, "no-such-dir");
    await expect(writePrintBatch([shortLetter], { directory: missing, batchId: "b1" })).rejects.toThrow();
    expect(await readdir(directory)).toEqual([]);
  });
});
