/** Realistic contact CSVs for benchmarks and load tests: shaped like a CRM export. */
import fs from "node:fs";

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
