// Builds the web app after `npm install` / `npm ci` (the root package's postinstall), so that
// `npm start` serves it with no extra step. About two seconds. In an install without dev dependencies
// (no Vite), it says so and leaves the server to show how to build it.
import path from "node:path";
import { fileURLToPath } from "node:url";

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let vite;
try {
  vite = await import("vite");
} catch {
  console.log("omneural: Vite is not installed (a production install?); the web app is not built.");
  process.exit(0);
}
const started = Date.now();
await vite.build({ root: web, logLevel: "warn" });
console.log(
  `omneural: web app built into packages/web/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
