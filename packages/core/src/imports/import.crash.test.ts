/**
 * Kill -9 the importing process in the middle of an import: nothing is half-merged, and the import is
 * picked up again and completed.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { generateContactsCsv } from "../testing/contacts-csv.ts";
import { useTestDatabase } from "../testing/database.ts";
import { runQueuedJobs } from "../testing/jobs.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";
import { receiveImport, recoverStalledImports } from "./import.service.ts";

const database = useTestDatabase();
const runner = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../testing/run-import.ts");
const ROWS = 120_000;

async function contactCount(workspaceId: string) {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from contacts where workspace_id = ${workspaceId}`.execute(database.handle.db);
  return rows[0]!.n;
}

describe("an import whose process is killed", () => {
  it("leaves no contact behind, is requeued, and completes on the next worker", async () => {
    const { db } = database.handle;
    const { workspace } = await createWorkspace(db, { name: "Crash" });
    const ws = { id: workspace.id, defaultCountry: "US", defaultTimezone: "UTC" };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "omneural-crash-")), "contacts.csv");
    await generateContactsCsv(file, ROWS);
    const received = await receiveImport(db, ws, {
      filename: "contacts.csv",
      options: {},
      source: fs.createReadStream(file),
      maxBytes: Number.MAX_SAFE_INTEGER,
      enqueue: false,
    });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });

    // Start the import in a separate process and SIGKILL it once it is well into the file.
    const child = spawn(process.execPath, ["--import", "tsx", runner, database.url, ws.id, received.id], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const killedAt = await new Promise<number>((resolve, reject) => {
      let output = "";
      child.stdout.on("data", (d) => {
        output += d;
        const match = /progress parsing (\d+)\n/.exec(output);
        if (match && Number(match[1]) > 0) {
          child.kill("SIGKILL");
          resolve(Number(match[1]));
        }
        if (output.includes("done")) reject(new Error("the import finished before it could be killed"));
      });
      child.on("exit", () => undefined);
    });
    await new Promise((r) => child.on("exit", r));
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(ROWS);

    // Nothing of the killed attempt is visible: the merge transaction never committed.
    expect(await contactCount(ws.id)).toBe(0);
    const stuck = await db
      .selectFrom("imports")
      .selectAll()
      .where("id", "=", received.id)
      .executeTakeFirstOrThrow();
    expect(stuck.status).toBe("processing");
    expect(stuck.locked_by).toBe(`${os.hostname()}:${child.pid}`);

    // The worker's recovery sees the dead process on this host and queues the import again.
    expect(await recoverStalledImports(db)).toEqual([received.id]);
    await runQueuedJobs(database.handle);

    const done = await db
      .selectFrom("imports")
      .selectAll()
      .where("id", "=", received.id)
      .executeTakeFirstOrThrow();
    expect(done).toMatchObject({ status: "completed", attempt: 2, total_rows: ROWS, rejected: 0 });
    expect(done.inserted).toBe(ROWS);
    expect(await contactCount(ws.id)).toBe(ROWS);
    const leftovers = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_tables where schemaname = 'omneural_staging'`.execute(db);
    expect(leftovers.rows[0]!.n).toBe(0);
  }, 120_000);

  it("is not taken from a live worker", async () => {
    const { db } = database.handle;
    const { workspace } = await createWorkspace(db, { name: "Live" });
    const received = await receiveImport(
      db,
      { id: workspace.id, defaultCountry: "US", defaultTimezone: "UTC" },
      {
        filename: null,
        options: {},
        source: [Buffer.from("email\nlive@example.com\n")],
        maxBytes: 1000,
        enqueue: false,
      },
    );
    await db
      .updateTable("imports")
      .set({ status: "processing", locked_by: `${os.hostname()}:${process.pid}`, heartbeat_at: new Date() })
      .where("id", "=", received.id)
      .execute();
    expect(await recoverStalledImports(db)).toEqual([]);
  });
});
