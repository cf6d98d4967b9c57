/**
 * Import benchmark. Generates a realistic contacts CSV (1,000,000 rows by default), then measures on the
 * same database server:
 *   (a) raw COPY of the file into an unindexed table of text columns: the floor of any CSV load;
 *   (b) the full product import (upload, parse, normalise, staging COPY, set-based merge into the
 *       indexed contacts table), run in a separate process exactly as `omneural import contacts` does,
 *       whose peak RSS is reported.
 * Goal: (b) reaches at least 50% of (a)'s rows/s, with the importing process under 300 MB peak RSS.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

const FIRST = [
  "James",
  "Mary",
  "Robert",
  "Patricia",
  "John",
  "Jennifer",
  "Michael",
  "Linda",
  "David",
  "Elizabeth",
  "José",
  "Zoë",
  "Anaïs",
  "Björn",
];
const LAST = [
  "Smith",
  "Johnson",
  "Williams",
  "Brown",
  "Jones",
  "Garcia",
  "Miller",
  "Davis",
  "O'Brien",
  "Martínez",
  "Nguyen",
  "van der Berg",
];
const STATES = [
  ["CA", "Los Angeles"],
  ["NY", "New York"],
  ["TX", "Austin"],
  ["FL", "Miami"],
  ["WA", "Seattle"],
  ["IL", "Chicago"],
  ["MA", "Boston"],
];
const PLANS = ["free", "starter", "growth", "enterprise"];
const AREA_CODES = [
  201, 202, 206, 212, 213, 214, 215, 303, 305, 310, 312, 404, 408, 415, 503, 512, 602, 617, 646, 702, 713,
  718, 773, 805, 818, 917,
];
const ascii = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[^A-Za-z]/g, "")
    .toLowerCase();

/** Writes the CSV in the shape a CRM export has: mixed phone formats, quoted addresses, custom columns. */
export async function generateContactsCsv(file: string, rows: number) {
  const out = fs.createWriteStream(file, { highWaterMark: 1024 * 1024 });
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r()));
  await write(
    "Email,First Name,Last Name,Phone Number,Street Address,City,State,Zip,Country,Plan,Lifetime Value,Signup Date\r\n",
  );
  let buffer = "";
  for (let i = 0; i < rows; i++) {
    const first = FIRST[i % FIRST.length]!;
    const last = LAST[(i * 7) % LAST.length]!;
    const [state, city] = STATES[i % STATES.length]!;
    // Distinct numbers for up to 8M rows per area code.
    const area = AREA_CODES[Math.floor(i / 8_000_000) % AREA_CODES.length]!;
    const line = String(i % 10000).padStart(4, "0");
    const exchange = 200 + (Math.floor(i / 10000) % 800);
    const phone =
      i % 3 === 0
        ? `(${area}) ${exchange}-${line}`
        : i % 3 === 1
          ? `+1 ${area} ${exchange} ${line}`
          : `${area}-${exchange}-${line}`;
    buffer += `${ascii(first)}.${i}@example${i % 50}.com,${first},${last},${phone},"${(i % 9000) + 1} Main St, Apt ${i % 40}",${city},${state},${String(10000 + (i % 89999)).padStart(5, "0")},US,${PLANS[i % 4]},${(i % 5000) / 10},2024-0${(i % 9) + 1}-1${i % 9}\r\n`;
    if (buffer.length > 512 * 1024) {
      await write(buffer);
      buffer = "";
    }
  }
  await write(buffer);
  await new Promise<void>((resolve) => out.end(resolve));
}

async function rawCopy(url: string, file: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`create table raw_contacts (email text, first_name text, last_name text, phone text, street text, city text,
    state text, zip text, country text, plan text, ltv text, signup text)`);
  const started = performance.now();
  await pipeline(
    fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
    client.query(copyFrom("copy raw_contacts from stdin with (format csv, header true)")),
  );
  const ms = performance.now() - started;
  await client.query("drop table raw_contacts");
  await client.end();
  return ms;
}

export async function main(args: string[]) {
  const rows = argValue(args, "--rows", 1_000_000);
  const runs = argValue(args, "--runs", 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-bench-import-"));
  const file = path.join(dir, "contacts.csv");
  console.error(`generating ${rows.toLocaleString()} rows…`);
  await generateContactsCsv(file, rows);
  const bytes = fs.statSync(file).size;
  console.error(`file: ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  const db = await benchDatabase("import");
  const copyRates: number[] = [];
  const importRates: number[] = [];
  const rss: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const copyMs = await rawCopy(db.url, file);
      copyRates.push(rows / (copyMs / 1000));
      // The product import runs in its own process so its peak RSS is its own.
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", path.join(here, "import-child.ts"), db.url, file],
        {
          maxBuffer: 10 * 1024 * 1024,
        },
      );
      if (stderr.trim()) process.stderr.write(stderr);
      const child = JSON.parse(stdout.trim().split("\n").pop()!) as {
        ms: number;
        maxRssMb: number;
        inserted: number;
        rejected: number;
        phases: Record<string, number>;
      };
      if (child.inserted + child.rejected !== rows || child.rejected > rows / 100) {
        throw new Error(`expected ${rows} new contacts, the import reports ${JSON.stringify(child)}`);
      }
      importRates.push(rows / (child.ms / 1000));
      rss.push(child.maxRssMb);
      console.error(
        `run ${run + 1}: raw COPY ${round(copyMs)} ms (${round(rows / (copyMs / 1000))} rows/s) | import ${round(child.ms)} ms (${round(rows / (child.ms / 1000))} rows/s; ${Object.entries(
          child.phases,
        )
          .map(([k, v]) => `${k} ${round(v)} ms`)
          .join(", ")}) | peak RSS ${child.maxRssMb} MB`,
      );
    }
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const copyRate = median(copyRates);
  const importRate = median(importRates);
  const peakRss = Math.max(...rss);
  const ratio = importRate / copyRate;
  console.error(`raw COPY:      ${round(copyRate)} rows/s (baseline)`);
  console.error(
    `product import: ${round(importRate)} rows/s  = ${round(ratio * 100, 1)}% of raw COPY (goal ≥ 50%)`,
  );
  console.error(`worker peak RSS: ${peakRss} MB (goal < 300 MB)`);
  printReport({
    bench: "import",
    figures: { importRowsPerSec: round(importRate), importPeakRssMb: peakRss, rows },
    baselines: { rawCopyRowsPerSec: round(copyRate) },
    ratios: { importVsRawCopy: round(ratio, 3) },
    goals: { importVsRawCopy: ">= 0.5", importPeakRssMb: "< 300" },
    met: ratio >= 0.5 && peakRss < 300,
  });
}
