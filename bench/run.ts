/**
 * `npm run bench -- <name> [options]` runs one benchmark. Each prints its figures beside a baseline
 * measured in the same run and ends with one line of JSON (see lib.ts).
 */
const BENCHES: Record<string, string> = {
  import: "./import.ts",
  audiences: "./audiences.ts",
  engine: "./engine.ts",
  "engine-crash": "./engine-crash.ts",
  delivery: "./delivery.ts",
  tracking: "./tracking.ts",
  reports: "./reports.ts",
  cleanup: "./cleanup.ts",
  scale: "./scale.ts",
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !BENCHES[name]) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join("|")}> [options]\n`);
  process.exit(64);
}
const bench = (await import(BENCHES[name]!)) as { main(args: string[]): Promise<void> };
await bench.main(rest);
