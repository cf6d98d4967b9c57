// `npm test`: the Vitest suite, then the end-to-end suite in Chromium (packages/web/e2e). Arguments go
// to Vitest (`npm test -- --reporter=json …`). Both always run; the exit code fails if either failed.
// E2E_JSON_REPORT=<file> also writes Playwright's JSON report there (.ci/run sums both reports).
// SKIP_E2E=1 runs Vitest alone, and says so. E2E_SPECS="a.spec.ts b.spec.ts" runs only those end-to-end
// specs, and says so. Without Chromium the end-to-end suite fails, loudly.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const run = (command, args, env = process.env) =>
  spawnSync(command, args, { cwd: root, stdio: "inherit", env }).status ?? 1;

const vitest = run(bin("vitest"), ["run", ...process.argv.slice(2)]);

let e2e = 0;
if (process.env.SKIP_E2E === "1") {
  console.log("\n!! SKIP_E2E=1: the end-to-end tests (packages/web/e2e) were NOT run.");
} else {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) {
    console.error(
      `\n!! The end-to-end tests need Chromium at ${chromium}, which is missing.\n` +
        "!! Install it with `apt-get install -y chromium` (Debian/Ubuntu; .ci/run does it), set CHROMIUM_PATH,\n" +
        "!! or run only the unit and API tests with SKIP_E2E=1 npm test.",
    );
    e2e = 1;
  } else {
    const specs = (process.env.E2E_SPECS ?? "").split(/\s+/).filter(Boolean);
    console.log(
      specs.length
        ? `\n== end-to-end tests (Playwright, Chromium): ONLY ${specs.join(", ")} (E2E_SPECS)`
        : "\n== end-to-end tests (Playwright, Chromium)",
    );
    const report = process.env.E2E_JSON_REPORT;
    const args = [
      "test",
      "-c",
      "packages/web/playwright.config.ts",
      ...(report ? ["--reporter=list,json"] : []),
      ...specs,
    ];
    e2e = run(
      bin("playwright"),
      args,
      report ? { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: report } : process.env,
    );
  }
}
process.exit(vitest || e2e);
