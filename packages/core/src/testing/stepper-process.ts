/**
 * Runs the journey engine's stepper in its own process until killed (for the crash test):
 *
 *   node --import tsx stepper-process.ts <database url> [worker id] [batch size]
 *
 * Prints "started <pid>" once the stepper loop is running. Connects with the application name
 * `stepper:<worker id>`, so the parent can find its sessions in pg_stat_activity. Exits by itself when
 * its stdin closes (the parent died), and stops gracefully on SIGTERM.
 */
import { openDatabase } from "../db/database.ts";
import { DEFAULT_BATCH_SIZE, startStepper } from "../engine/stepper.ts";
import { createLogger } from "../shared/logger.ts";

const [url, workerId = `stepper-${process.pid}`, batchSize = String(DEFAULT_BATCH_SIZE)] =
  process.argv.slice(2);
if (!url) {
  process.stderr.write("usage: stepper-process.ts <database url> [worker id] [batch size]\n");
  process.exit(2);
}

const handle = openDatabase(url, { poolSize: 2, applicationName: `stepper:${workerId}` });
// Only warnings: a healthy run prints nothing but its start line.
const logger = createLogger({ level: "warn", format: "json", name: `stepper:${workerId}`, destination: 2 });
const stepper = startStepper(handle.db, { workerId, batchSize: Number(batchSize), logger });
process.stdout.write(`started ${process.pid}\n`);

// An orphan must not keep stepping a database its test has dropped.
process.stdin.on("close", () => process.exit(1));
process.stdin.resume();

process.once("SIGTERM", async () => {
  await stepper.stop();
  await handle.close();
  process.exit(0);
});
