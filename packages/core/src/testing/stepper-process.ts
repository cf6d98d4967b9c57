/**
 * Runs the journey engine's stepper in its own process until killed (for the crash test):
 *
 *   node --import tsx stepper-process.ts <database url> [worker id] [batch size] [--standby]
 *
 * Prints "started" once the stepper loop is running. With --standby it loads its modules, prints
 * "ready" and waits for a line on stdin before starting: loading takes seconds, and a standby process
 * lets a test restart a killed stepper at once. Connects with the application name
 * `stepper:<worker id>`, so the parent can find its sessions in pg_stat_activity. Exits by itself when
 * its stdin closes (the parent died), and stops gracefully on SIGTERM.
 */
import { createInterface } from "node:readline";
import { openDatabase } from "../db/database.ts";
import { DEFAULT_BATCH_SIZE, startStepper } from "../engine/stepper.ts";
import { createLogger } from "../shared/logger.ts";

const args = process.argv.slice(2);
const standby = args.includes("--standby");
const [url, workerId = `stepper-${process.pid}`, batchSize = String(DEFAULT_BATCH_SIZE)] = args.filter(
  (arg) => arg !== "--standby",
);
if (!url) {
  process.stderr.write("usage: stepper-process.ts <database url> [worker id] [batch size] [--standby]\n");
  process.exit(2);
}

// An orphan must not keep stepping a database its test has dropped.
const stdin = createInterface({ input: process.stdin });
stdin.on("close", () => process.exit(1));
if (standby) {
  process.stdout.write("ready\n");
  await new Promise((resolve) => stdin.once("line", resolve));
}

const handle = openDatabase(url, { poolSize: 2, applicationName: `stepper:${workerId}` });
// Only warnings: a healthy run prints nothing but its start line.
const logger = createLogger({ level: "warn", format: "json", name: `stepper:${workerId}`, destination: 2 });
const stepper = startStepper(handle.db, { workerId, batchSize: Number(batchSize), logger });
process.stdout.write("started\n");

process.once("SIGTERM", async () => {
  await stepper.stop();
  await handle.close();
  process.exit(0);
});
