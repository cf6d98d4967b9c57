/**
 * Just enough of a PDF reader for the PDFs pdfkit writes, compressed or not, to check mail pieces in
 * tests: the page tree, each page's size, the text of its content stream, and the rectangles drawn (the
 * QR code is drawn as filled squares). pdfkit writes Helvetica text as hex strings in TJ arrays, split
 * where it kerns: `[<416461204c6f> 15 <76> ...] TJ`.
 */
import { inflateSync } from "node:zlib";
import jsQRModule from "jsqr";
import QRCode from "qrcode";

// jsqr is CommonJS with an ES-style default export in its types: take the function either way.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule.default }).default ??
  jsQRModule) as typeof jsQRModule.default;

export interface PdfPage {
  width: number;
  height: number;
  /** Each text-showing operator's string, decoded (pdfkit writes one per laid-out line). */
  lines: string[];
  /** The rectangles drawn (`x y w h re`), in pdfkit's top-left coordinates. */
  rects: [number, number, number, number][];
}

/** The standard fonts' WinAnsi encoding: Latin-1 with typographic marks such as "…" at 0x80–0x9F. */
const WIN_ANSI_80_9F = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ";
const winAnsi = (bytes: Buffer) =>
  [...bytes]
    .map((b) => (b >= 0x80 && b <= 0x9f ? WIN_ANSI_80_9F[b - 0x80] : String.fromCharCode(b)))
    .join("");

interface PdfObject {
  dictionary: string;
  stream?: Buffer;
}

function objectsOf(pdf: Buffer): Map<number, PdfObject> {
  const raw = pdf.toString("latin1");
  const objects = new Map<number, PdfObject>();
  for (const m of raw.matchAll(/(\d+) 0 obj\n/g)) {
    const start = m.index + m[0].length;
    const streamAt = raw.indexOf("\nstream\n", start);
    const endAt = raw.indexOf("\nendobj", start);
    if (streamAt !== -1 && streamAt < endAt) {
      const dictionary = raw.slice(start, streamAt);
      const length = Number(/\/Length (\d+)/.exec(dictionary)![1]);
      const from = streamAt + "\nstream\n".length;
      const bytes = pdf.subarray(from, from + length);
      const stream = /\/Filter \/FlateDecode/.test(dictionary) ? inflateSync(bytes) : Buffer.from(bytes);
      objects.set(Number(m[1]), { dictionary, stream });
    } else {
      objects.set(Number(m[1]), { dictionary: raw.slice(start, endAt) });
    }
  }
  return objects;
}

export function readPdf(pdf: Buffer): PdfPage[] {
  const raw = pdf.toString("latin1");
  if (!raw.startsWith("%PDF-") || !raw.trimEnd().endsWith("%%EOF")) throw new Error("not a whole PDF");
  const objects = objectsOf(pdf);
  const tree = [...objects.values()].find((o) => /\/Type \/Pages\b/.test(o.dictionary))!.dictionary;
  const kids = [...tree.match(/\/Kids \[([^\]]*)\]/)![1]!.matchAll(/(\d+) 0 R/g)].map((m) => Number(m[1]));
  if (Number(tree.match(/\/Count (\d+)/)![1]) !== kids.length) throw new Error("page count mismatch");
  return kids.map((id) => {
    const page = objects.get(id)!.dictionary;
    const [, width, height] = page.match(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/)!;
    const stream = objects.get(Number(page.match(/\/Contents (\d+) 0 R/)![1]))!.stream!.toString("latin1");
    const shown = [...stream.matchAll(/\[([^\]]*)\] TJ/g)];
    const lines = shown.map((m) =>
      [...m[1]!.matchAll(/<([0-9a-f]*)>/g)].map((h) => winAnsi(Buffer.from(h[1]!, "hex"))).join(""),
    );
    const rects = [...stream.matchAll(/([\d.-]+) ([\d.-]+) ([\d.-]+) ([\d.-]+) re/g)].map(
      (m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number],
    );
    return { width: Number(width), height: Number(height), lines, rects };
  });
}

/**
 * The QR code drawn on a page, read back as its module matrix (the quiet zone dropped) and compared
 * with the matrix the text encodes to: equal matrices scan as the same text.
 */
export function qrModulesOnPage(page: PdfPage, size: number): boolean[][] {
  const rects = page.rects;
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

export function qrModulesOf(text: string): boolean[][] {
  const modules = QRCode.create(text, { errorCorrectionLevel: "M" }).modules;
  return Array.from({ length: modules.size }, (_, row) =>
    Array.from({ length: modules.size }, (_, col) => Boolean(modules.get(row, col))),
  );
}

/**
 * Scans the QR code drawn on a page, as a phone would: its squares are rasterised (8 pixels a module,
 * a 4-module quiet zone) and decoded by jsQR. Null when nothing decodes.
 */
export function scanQrOnPage(page: PdfPage): string | null {
  const rects = page.rects;
  if (rects.length === 0) return null;
  const cell = Math.min(...rects.map((r) => r[3]));
  const left = Math.min(...rects.map((r) => r[0]));
  const right = Math.max(...rects.map((r) => r[0] + r[2]));
  const size = Math.round((right - left) / cell);
  const modules = qrModulesOnPage(page, size);
  const scale = 8;
  const quiet = 4;
  const pixels = (size + 2 * quiet) * scale;
  const image = new Uint8ClampedArray(pixels * pixels * 4).fill(255);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      if (!modules[row]![col]) continue;
      for (let y = 0; y < scale; y++) {
        for (let x = 0; x < scale; x++) {
          const offset = (((row + quiet) * scale + y) * pixels + (col + quiet) * scale + x) * 4;
          image[offset] = image[offset + 1] = image[offset + 2] = 0;
        }
      }
    }
  }
  return jsQR(image, pixels, pixels)?.data ?? null;
}
