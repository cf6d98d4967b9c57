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
import { generateContactsCsv } from "@omneural/core/testing/contacts-csv";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

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
  const uploadRss: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const copyMs = await rawCopy(db.url, file);
      copyRates.push(rows / (copyMs / 1000));
      // The API's part (store the upload) and the worker's part (process it) run in their own processes,
      // as they do in production, so each peak RSS is that role's own.
      const side = async (...args: string[]) => {
        const { stdout, stderr } = await promisify(execFile)(
          process.execPath,
          [
            ...(process.env.BENCH_NODE_FLAGS?.split(" ") ?? []),
            "--import",
            "tsx",
            path.join(here, "import-child.ts"),
            ...args,
          ],
          { maxBuffer: 10 * 1024 * 1024 },
        );
        if (stderr.trim()) process.stderr.write(stderr);
        return JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, number> & {
          workspaceId: string;
          importId: string;
        };
      };
      const upload = await side("upload", db.url, file);
      const child = await side("process", db.url, upload.workspaceId, upload.importId);
      if (child.inserted! + child.rejected! !== rows || child.rejected! > rows / 100) {
        throw new Error(`expected ${rows} new contacts, the import reports ${JSON.stringify(child)}`);
      }
      const totalMs = upload.ms! + child.ms!;
      importRates.push(rows / (totalMs / 1000));
      rss.push(child.maxRssMb!);
      uploadRss.push(upload.maxRssMb!);
      console.error(
        `run ${run + 1}: raw COPY ${round(copyMs)} ms (${round(rows / (copyMs / 1000))} rows/s) | import ${round(totalMs)} ms ` +
          `(${round(rows / (totalMs / 1000))} rows/s: upload ${round(upload.ms!)} ms, parse+COPY ${round(child.parseMs!)} ms, ` +
          `merge+commit ${round(child.mergeMs!)} ms; worker CPU ${round(child.nodeCpuMs!)} ms) | peak RSS: worker ${child.maxRssMb} MB, API ${upload.maxRssMb} MB`,
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
    figures: {
      importRowsPerSec: round(importRate),
      importPeakRssMb: peakRss,
      apiUploadPeakRssMb: Math.max(...uploadRss),
      rows,
    },
    baselines: { rawCopyRowsPerSec: round(copyRate) },
    ratios: { importVsRawCopy: round(ratio, 3) },
    goals: { importVsRawCopy: ">= 0.5", importPeakRssMb: "< 300" },
    met: ratio >= 0.5 && peakRss < 300,
  });
}
