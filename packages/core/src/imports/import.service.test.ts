import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../testing/database.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";
import { streamChunks } from "./import.repository.ts";
import { CHUNK_BYTES, receiveImport } from "./import.service.ts";

const database = useTestDatabase();

/** A CSV of about `bytes` bytes, delivered in pieces of 100 kB. */
function csvOf(bytes: number): Buffer {
  let text = "email,first name\n";
  for (let i = 0; text.length < bytes; i++) text += `person${i}@example.com,Name ${i}\n`;
  return Buffer.from(text);
}

function* piecesOf(file: Buffer): Generator<Uint8Array> {
  for (let at = 0; at < file.length; at += 100_000) yield file.subarray(at, at + 100_000);
}

async function workspace() {
  const { workspace } = await createWorkspace(database.handle.db, { name: "Uploads" });
  return { id: workspace.id, defaultCountry: "US", defaultTimezone: "UTC" };
}

describe("receiveImport", () => {
  it("stores a file of several chunks whole and in order", async () => {
    const ws = await workspace();
    const file = csvOf(5.5 * CHUNK_BYTES);
    const received = await receiveImport(database.handle.db, ws, {
      filename: "contacts.csv",
      options: {},
      source: piecesOf(file),
      maxBytes: Number.MAX_SAFE_INTEGER,
      enqueue: false,
    });
    expect(received.status).toBe("queued");
    const client = await database.handle.pool.connect();
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of streamChunks(client, ws.id, received.id)) chunks.push(chunk);
      expect(chunks.length).toBe(6);
      expect(Buffer.concat(chunks).equals(file)).toBe(true);
    } finally {
      client.release();
    }
  });

  it("keeps nothing of a file refused part-way through, once its chunks were being stored", async () => {
    const ws = await workspace();
    const file = csvOf(5.5 * CHUNK_BYTES);
    await expect(
      receiveImport(database.handle.db, ws, {
        filename: "contacts.csv",
        options: {},
        source: piecesOf(file),
        maxBytes: 3.5 * CHUNK_BYTES,
        enqueue: false,
      }),
    ).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    const { rows } = await sql<{ chunks: number; status: string }>`
      select (select count(*)::int from import_chunks where workspace_id = ${ws.id}) as chunks,
             (select status from imports where workspace_id = ${ws.id}) as status`.execute(
      database.handle.db,
    );
    expect(rows[0]).toEqual({ chunks: 0, status: "failed" });
  });
});
