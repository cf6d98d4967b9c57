/**
 * The print-batch direct-mail provider: at the daily cut-off, the due mail pieces become one merged PDF
 * for the print shop and a CSV manifest that says which pages belong to which piece.
 *
 * A batch is complete when its manifest exists: the PDF is written and renamed into place first, the
 * manifest last, each from a temporary file in the same directory. A crash leaves at most a dot-prefixed
 * `.tmp` file or a PDF without its manifest, never a half-written file under the batch's name.
 *
 * Layout units are PDF points (72 per inch). Text uses the PDF standard font Helvetica (WinAnsi
 * encoding), so no font file is embedded.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { getCountry } from "countries-and-timezones";
import PDFDocument from "pdfkit";
import QRCode from "qrcode";
import { validationFailed } from "../shared/errors.ts";
import type { OutgoingMailPiece } from "./channel.ts";

export type MailAddress = OutgoingMailPiece["to"];

/** Countries whose postal services need a state, province or territory in the address. */
const REGION_REQUIRED = new Set(["US", "CA", "AU"]);

/** What makes an address unprintable, or undefined when it is complete enough to mail. */
export function checkMailAddress(to: MailAddress): string | undefined {
  const blank = (value: string | null | undefined) => !value?.trim();
  if (blank(to.name)) return "missing name";
  if (blank(to.line1)) return "missing address line";
  if (blank(to.city)) return "missing city";
  if (blank(to.postalCode)) return "missing postal code";
  if (blank(to.country)) return "missing country";
  const country = to.country.trim();
  if (!/^[A-Z]{2}$/.test(country) || !getCountry(country)) {
    return `unknown country "${country}" (expected an ISO 3166-1 alpha-2 code such as US)`;
  }
  if (REGION_REQUIRED.has(country) && blank(to.region)) return "missing region";
  return undefined;
}

/**
 * The address block as printed: US/CA/AU put "CITY REGION POSTAL" on one line, Great Britain puts the
 * postcode on its own line, elsewhere the postal code precedes the city. The country's name is added
 * when the piece leaves `homeCountry`.
 */
export function addressBlockLines(to: MailAddress, homeCountry = "US"): string[] {
  const country = to.country.trim();
  const region = to.region?.trim();
  const lines = [to.name.trim(), to.line1.trim()];
  if (to.line2?.trim()) lines.push(to.line2.trim());
  if (REGION_REQUIRED.has(country)) {
    lines.push(`${to.city.trim()}${region ? ` ${region}` : ""}  ${to.postalCode.trim()}`);
  } else if (country === "GB") {
    lines.push(to.city.trim(), to.postalCode.trim());
  } else {
    lines.push(`${to.postalCode.trim()} ${to.city.trim()}${region ? ` ${region}` : ""}`);
  }
  if (country !== homeCountry) lines.push((getCountry(country)?.name ?? country).toUpperCase());
  return lines;
}

const FONT = "Helvetica";

/** US Letter, 8.5 × 11 in, laid out for a #10 double-window envelope. */
const LETTER = {
  size: [612, 792] as [number, number],
  margins: { top: 54, bottom: 54, left: 72, right: 72 },
  returnAddress: { x: 72, y: 54, width: 252, height: 60, fontSize: 9 },
  /** The recipient window: 1 in from the left, 2⅛ in from the top, 4 × 1 in. */
  recipient: { x: 72, y: 153, width: 288, height: 72, fontSize: 10 },
  body: { y: 270, fontSize: 11, lineGap: 2 },
  /** 1 in square in the bottom-right corner; the first page's body stops above it. */
  qr: { x: 468, y: 666, size: 72 },
  /** The PURL printed under the QR code, right-aligned with it. */
  qrCaption: { width: 216, fontSize: 7, height: 18 },
} as const;

/** A 6 × 4 in postcard: the front carries the message, the back the addresses and the QR code. */
const POSTCARD = {
  size: [432, 288] as [number, number],
  margins: { top: 18, bottom: 18, left: 18, right: 18 },
  front: { x: 24, y: 24, width: 384, height: 240, fontSize: 12, lineGap: 2 },
  returnAddress: { x: 18, y: 18, width: 180, height: 54, fontSize: 8 },
  recipient: { x: 234, y: 117, width: 180, height: 72, fontSize: 10 },
  /** Bottom-left of the back, clear of the 5/8 in barcode strip along the bottom edge. */
  qr: { x: 18, y: 153, size: 72 },
  qrCaption: { x: 96, width: 126, fontSize: 7 },
} as const;

export interface RenderMailPieceOptions {
  /** The sender's country (ISO 3166-1 alpha-2): addresses abroad get a country line. Default "US". */
  homeCountry?: string;
}

/**
 * Draws one piece on new pages of `doc` and returns how many pages it took: a letter takes one page
 * and as many more as its body needs; a postcard always takes two (a body too long for the front is cut
 * with an ellipsis rather than spilling onto a third page).
 */
export function renderMailPiece(
  doc: PDFKit.PDFDocument,
  piece: OutgoingMailPiece,
  options: RenderMailPieceOptions = {},
): number {
  let pages = 0;
  const countPage = () => {
    pages += 1;
  };
  doc.on("pageAdded", countPage);
  try {
    if (piece.layout === "postcard") renderPostcard(doc, piece, options.homeCountry ?? "US");
    else renderLetter(doc, piece, options.homeCountry ?? "US");
  } finally {
    doc.off("pageAdded", countPage);
  }
  return pages;
}

/** One piece as a PDF of its own (the dev inbox shows each piece so), with its page count. */
export async function renderMailPiecePdf(
  piece: OutgoingMailPiece,
  options: RenderMailPieceOptions & { compress?: boolean } = {},
): Promise<{ pdf: Buffer; pages: number }> {
  const doc = new PDFDocument({
    autoFirstPage: false,
    compress: options.compress ?? true,
    info: { Title: `Mail piece ${piece.messageId ?? piece.idempotencyKey}`, Creator: "Omneural" },
  });
  const chunks: Buffer[] = [];
  doc.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on("end", resolve);
    doc.on("error", reject);
  });
  const pieceOptions = options.homeCountry ? { homeCountry: options.homeCountry } : {};
  const pages = renderMailPiece(doc, piece, pieceOptions);
  doc.end();
  await ended;
  return { pdf: Buffer.concat(chunks), pages };
}

function renderLetter(doc: PDFKit.PDFDocument, piece: OutgoingMailPiece, homeCountry: string) {
  const { margins, returnAddress, recipient, body, qr, qrCaption } = LETTER;
  // The first page's body stops above the QR code; pages the body flows onto use the normal margins.
  const firstPageBottom = LETTER.size[1] - qr.y + body.fontSize * 2;
  doc.addPage({ size: LETTER.size, margins: { ...margins, bottom: firstPageBottom } });

  boxedText(doc, piece.returnAddress, returnAddress);
  boxedText(doc, addressBlockLines(piece.to, homeCountry).join("\n"), recipient);
  drawQrCode(doc, piece.purl, qr.x, qr.y, qr.size);
  boxedText(doc, piece.purl, {
    x: qr.x + qr.size - qrCaption.width,
    y: qr.y + qr.size + 2,
    width: qrCaption.width,
    height: qrCaption.height,
    fontSize: fontSizeToFit(doc, piece.purl, qrCaption.width, qrCaption.fontSize),
    align: "right",
  });

  // pdfkit continues text past the bottom margin on a new page made like the current one; give those
  // pages back the space the first page kept for the QR code.
  const continuationMargins = () => {
    doc.page.margins = { ...margins };
  };
  doc.on("pageAdded", continuationMargins);
  try {
    doc
      .font(FONT)
      .fontSize(body.fontSize)
      .fillColor("black")
      .text(normaliseLineBreaks(piece.body), margins.left, body.y, {
        width: LETTER.size[0] - margins.left - margins.right,
        lineGap: body.lineGap,
      });
  } finally {
    doc.off("pageAdded", continuationMargins);
  }
}

function renderPostcard(doc: PDFKit.PDFDocument, piece: OutgoingMailPiece, homeCountry: string) {
  const { margins, front, returnAddress, recipient, qr, qrCaption } = POSTCARD;
  doc.addPage({ size: POSTCARD.size, margins });
  boxedText(doc, normaliseLineBreaks(piece.body), { ...front, ellipsis: true });

  doc.addPage({ size: POSTCARD.size, margins });
  boxedText(doc, piece.returnAddress, returnAddress);
  boxedText(doc, addressBlockLines(piece.to, homeCountry).join("\n"), recipient);
  drawQrCode(doc, piece.purl, qr.x, qr.y, qr.size);
  boxedText(doc, piece.purl, {
    x: qrCaption.x,
    y: qr.y + qr.size - qrCaption.fontSize * 3,
    width: qrCaption.width,
    height: qrCaption.fontSize * 3,
    fontSize: fontSizeToFit(doc, piece.purl, qrCaption.width, qrCaption.fontSize),
  });
}

interface TextBox {
  x: number;
  y: number;
  width: number;
  height: number;
  fontSize: number;
  lineGap?: number;
  align?: "left" | "right";
  ellipsis?: boolean;
}

/** Text confined to a box: with a height, pdfkit cuts what does not fit instead of adding a page. */
function boxedText(doc: PDFKit.PDFDocument, text: string, box: TextBox) {
  doc
    .font(FONT)
    .fontSize(box.fontSize)
    .fillColor("black")
    .text(text, box.x, box.y, {
      width: box.width,
      height: box.height,
      lineGap: box.lineGap ?? 0,
      align: box.align ?? "left",
      ellipsis: box.ellipsis ?? false,
    });
}

/** The largest size up to `fontSize` (but not below 5 pt) at which `text` fits `width` on one line. */
function fontSizeToFit(doc: PDFKit.PDFDocument, text: string, width: number, fontSize: number): number {
  const natural = doc.font(FONT).fontSize(fontSize).widthOfString(text);
  return natural <= width ? fontSize : Math.max(5, Math.floor((fontSize * width * 10) / natural) / 10);
}

function normaliseLineBreaks(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/**
 * The QR code as filled squares (a run of dark modules in a row is one rectangle): vector output is
 * sharp at any print resolution and several times faster than embedding a PNG. `size` includes the
 * 4-module quiet zone the QR specification asks for.
 */
function drawQrCode(doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number) {
  const modules = QRCode.create(text, { errorCorrectionLevel: "M" }).modules;
  const quietZone = 4;
  const cell = size / (modules.size + 2 * quietZone);
  const origin = { x: x + quietZone * cell, y: y + quietZone * cell };
  doc.save();
  for (let row = 0; row < modules.size; row++) {
    let col = 0;
    while (col < modules.size) {
      if (!modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < modules.size && modules.get(row, col)) col++;
      doc.rect(origin.x + start * cell, origin.y + row * cell, (col - start) * cell, cell);
    }
  }
  doc.fill("black");
  doc.restore();
}

export interface PrintBatchOptions {
  /** The directory the batch's files are written into; it must exist. */
  directory: string;
  /** Names the files `<batchId>.pdf` and `<batchId>.csv`: letters, digits, `.`, `_` and `-`. */
  batchId: string;
  /** Estimated price of printing and posting one letter, whatever its page count. Default 0.85. */
  costPerLetter?: number;
  /** Estimated price of printing and posting one postcard. Default 0.55. */
  costPerPostcard?: number;
  /** Currency of the prices (ISO 4217). Default "USD". */
  currency?: string;
  /** The sender's country: addresses abroad get a country line. Default "US". */
  homeCountry?: string;
  /** Compress the PDF's content streams. Default true; tests turn it off to read the text back. */
  compress?: boolean;
}

export interface PrintBatchResult {
  /** The merged PDF, or null when no piece could be printed (then no file is written). */
  pdfPath: string | null;
  /** The CSV manifest, or null when no piece could be printed. */
  manifestPath: string | null;
  /** Pieces printed. */
  pieces: number;
  /** Pages in the PDF. */
  pages: number;
  /** What the printed pieces should cost, rounded to the cent. */
  estimatedCost: number;
  currency: string;
  /** Pieces not printed, and why: the dispatcher fails their ledger rows for good. */
  rejected: { idempotencyKey: string; reason: string }[];
}

export const MANIFEST_COLUMNS = [
  "piece_id",
  "layout",
  "name",
  "address_line1",
  "address_line2",
  "city",
  "region",
  "postal_code",
  "country",
  "purl",
  "first_page",
  "pages",
] as const;

/** Why a piece cannot be produced: its address, or a personal URL that cannot become a QR code. */
function checkMailPiece(piece: OutgoingMailPiece): string | undefined {
  const addressProblem = checkMailAddress(piece.to);
  if (addressProblem) return addressProblem;
  if (
    !piece.purl ||
    piece.purl.length > 1000 ||
    !/^https?:\/\//i.test(piece.purl) ||
    !URL.canParse(piece.purl)
  ) {
    return "missing or invalid personal URL";
  }
  return undefined;
}

/** Writes one print batch: the pieces with a complete address, in order, into one PDF and its manifest. */
export async function writePrintBatch(
  pieces: OutgoingMailPiece[],
  options: PrintBatchOptions,
): Promise<PrintBatchResult> {
  const costPerLetter = options.costPerLetter ?? 0.85;
  const costPerPostcard = options.costPerPostcard ?? 0.55;
  const currency = options.currency ?? "USD";
  const problems = [];
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(options.batchId)) {
    problems.push({ field: "batchId", message: "use letters, digits, '.', '_' and '-' only" });
  }
  for (const [field, value] of [
    ["costPerLetter", costPerLetter],
    ["costPerPostcard", costPerPostcard],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) problems.push({ field, message: "must be a number ≥ 0" });
  }
  if (problems.length > 0) throw validationFailed(problems);

  const rejected: PrintBatchResult["rejected"] = [];
  const printable: OutgoingMailPiece[] = [];
  const seen = new Set<string>();
  for (const piece of pieces) {
    const reason = seen.has(piece.idempotencyKey) ? "duplicate piece in batch" : checkMailPiece(piece);
    if (reason) rejected.push({ idempotencyKey: piece.idempotencyKey, reason });
    else printable.push(piece);
    seen.add(piece.idempotencyKey);
  }
  if (printable.length === 0) {
    return { pdfPath: null, manifestPath: null, pieces: 0, pages: 0, estimatedCost: 0, currency, rejected };
  }

  const pdfPath = join(options.directory, `${options.batchId}.pdf`);
  const manifestPath = join(options.directory, `${options.batchId}.csv`);
  const temporary = `.${options.batchId}.${randomUUID()}`;
  const pdfTemp = join(options.directory, `${temporary}.pdf.tmp`);
  const manifestTemp = join(options.directory, `${temporary}.csv.tmp`);

  const output = createWriteStream(pdfTemp, { flush: true });
  const written = finished(output);
  // Awaited below; this only keeps a failure to open the file from being reported as unhandled first.
  written.catch(() => {});
  try {
    const doc = new PDFDocument({
      autoFirstPage: false,
      compress: options.compress ?? true,
      info: { Title: `Print batch ${options.batchId}`, Creator: "Omneural" },
    });
    doc.pipe(output);
    const rows: string[][] = [];
    let pages = 0;
    let cents = 0;
    for (const piece of printable) {
      const pieceOptions = options.homeCountry ? { homeCountry: options.homeCountry } : {};
      const piecePages = renderMailPiece(doc, piece, pieceOptions);
      const to = piece.to;
      rows.push([
        piece.messageId ?? piece.idempotencyKey,
        piece.layout,
        to.name.trim(),
        to.line1.trim(),
        to.line2?.trim() ?? "",
        to.city.trim(),
        to.region?.trim() ?? "",
        to.postalCode.trim(),
        to.country.trim(),
        piece.purl,
        String(pages + 1),
        String(piecePages),
      ]);
      pages += piecePages;
      cents += Math.round((piece.layout === "postcard" ? costPerPostcard : costPerLetter) * 100);
    }
    doc.end();
    await written;

    await writeFile(manifestTemp, toCsv([[...MANIFEST_COLUMNS], ...rows]), { flush: true });
    await rename(pdfTemp, pdfPath);
    await rename(manifestTemp, manifestPath);
    await syncDirectory(options.directory);

    return {
      pdfPath,
      manifestPath,
      pieces: printable.length,
      pages,
      estimatedCost: cents / 100,
      currency,
      rejected,
    };
  } catch (error) {
    output.destroy();
    await Promise.all([rm(pdfTemp, { force: true }), rm(manifestTemp, { force: true })]);
    throw error;
  }
}

/** Makes the renames durable: without it, a power cut may bring back the directory as it was. */
async function syncDirectory(directory: string) {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** RFC 4180: CRLF line ends; a field with a comma, quote, line break or edge space goes in quotes. */
export function toCsv(rows: string[][]): string {
  const field = (value: string) =>
    /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
  return rows.map((row) => `${row.map(field).join(",")}\r\n`).join("");
}
