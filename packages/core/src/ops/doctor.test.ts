import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery } from "../db/admin.ts";
import { withDatabase } from "../db/embedded-cluster.ts";
import { useTestDatabase } from "../testing/database.ts";
import { startTestSmtpServer, type TestSmtpServer } from "../testing/smtp-server.ts";
import { type Check, formatDoctor, runDoctor } from "./doctor.ts";

const database = useTestDatabase();
let smtp: TestSmtpServer;
let provider: Server;
let providerUrl: string;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  provider = createServer((_req, res) => res.writeHead(401).end("unauthorised"));
  await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
  providerUrl = `http://SID:TOKEN-SECRET@127.0.0.1:${(provider.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await smtp.close();
  await new Promise((resolve) => provider.close(resolve));
});

const doctor = (env: Record<string, string>, now?: () => Date) =>
  runDoctor(
    { DATABASE_URL: database.url, SECRET_KEY: "k".repeat(40), ...env },
    { embeddedDatabase: "omneural", timeoutMs: 1500, ...(now ? { now } : {}) },
  );
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]));
/** A port nothing listens on. */
const CLOSED = "127.0.0.1:1";

describe("omneural doctor", () => {
  it("passes a healthy installation: database, migrations, clock, partitions, workers, providers", async () => {
    const checks = await doctor({
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      TWILIO_URL: providerUrl,
      PUBLIC_URL: "https://t.example.com",
    });
    const c = byName(checks);
    expect(checks.filter((x) => x.status !== "ok")).toEqual([]);
    expect(Object.keys(c)).toEqual([
      "configuration",
      "node",
      "database",
      "clock",
      "migrations",
      "connections",
      "event partitions",
      "workers",
      "secret key",
      "public url",
      "redis",
      "smtp",
      "twilio",
    ]);
    // Any HTTP answer means reachable; the credentials never show.
    expect(c.twilio!.detail).toContain("HTTP 401");
    expect(JSON.stringify(checks)).not.toContain("TOKEN-SECRET");
    expect(formatDoctor(checks)).toMatch(/13 passed, 0 warnings, 0 failures\n$/);
  });

  it("stops at an invalid configuration and names the variable", async () => {
    const checks = await doctor({ PORT: "eighty" });
    expect(checks).toEqual([expect.objectContaining({ name: "configuration", status: "fail" })]);
    expect(checks[0]!.detail).toContain("PORT");
  });

  it("fails what cannot be reached, and says what to fix", async () => {
    const c = byName(
      await doctor({
        REDIS_URL: `redis://${CLOSED}`,
        SMTP_URL: `smtp://user:smtp-password@${CLOSED}`,
        LOB_URL: `http://test_key@${CLOSED}`,
      }),
    );
    for (const name of ["redis", "smtp", "lob"]) {
      expect(c[name]!.status, name).toBe("fail");
      expect(c[name]!.fix, name).toBeTruthy();
    }
    expect(JSON.stringify(c)).not.toContain("smtp-password");
    const unreachable = byName(await doctor({ DATABASE_URL: `postgres://postgres@${CLOSED}/nothing` }));
    expect(unreachable.database).toMatchObject({ status: "fail" });
    expect(unreachable.migrations).toBeUndefined();
  });

  it("warns of links to this machine, a key per process, a clock that drifts", async () => {
    const keyless = await runDoctor(
      { DATABASE_URL: database.url, SMTP_URL: `smtp://127.0.0.1:${smtp.port}` },
      { embeddedDatabase: "omneural" },
    );
    expect(byName(keyless)["public url"]).toMatchObject({ status: "warn" });
    expect(byName(keyless)["secret key"]).toMatchObject({ status: "warn" });
    expect(byName(await doctor({}, () => new Date(Date.now() + 5000)))).toMatchObject({
      clock: { status: "warn" },
    });
    expect(byName(await doctor({}, () => new Date(Date.now() - 120_000)))).toMatchObject({
      clock: { status: "fail" },
    });
  });

  it("warns of pending migrations, and of work no worker picks up", async () => {
    const empty = `${database.name}_empty`;
    await adminQuery(database.serverUrl, `create database ${empty}`);
    try {
      const c = byName(await doctor({ DATABASE_URL: withDatabase(database.serverUrl, empty) }));
      expect(c.migrations).toMatchObject({ status: "warn" });
      expect(c.migrations!.detail).toMatch(/^\d+ not applied: 000001_foundation/);
    } finally {
      await adminQuery(database.serverUrl, `drop database if exists ${empty} with (force)`);
    }
    await sql`select graphile_worker.add_job('retention', '{}'::json, run_at := now() - interval '10 minutes')`.execute(
      database.handle.db,
    );
    const c = byName(await doctor({}));
    expect(c.workers).toMatchObject({ status: "warn" });
    expect(c.workers!.detail).toContain("1 jobs");
  });
});
