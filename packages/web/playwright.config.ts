/**
 * End-to-end tests in a real Chromium (Debian's, at /usr/bin/chromium: never downloaded) against the
 * real server, started by e2e/global-setup.ts on a fresh database. `npm test` runs them after Vitest;
 * alone: `npx playwright test -c packages/web/playwright.config.ts`.
 */
import { existsSync } from "node:fs";
import { defineConfig } from "@playwright/test";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `The end-to-end tests need Chromium at ${CHROMIUM}, and it is not there. Install it with \`apt-get install -y chromium\` (Debian/Ubuntu; .ci/run does this), or set CHROMIUM_PATH to another Chromium.`,
  );
}

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/artifacts",
  globalSetup: "./e2e/global-setup.ts",
  fullyParallel: false,
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: CHROMIUM,
      chromiumSandbox: false,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
});
