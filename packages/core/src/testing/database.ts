/**
 * A fresh database per test file, cloned from the run's migrated template (test/global-setup.ts).
 * Real PostgreSQL, never a mock.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, inject } from "vitest";
import { adminQuery as admin } from "../db/admin.ts";
import { type DatabaseHandle, openDatabase } from "../db/database.ts";
import { withDatabase } from "../db/embedded-cluster.ts";

export interface TestDatabase {
  readonly handle: DatabaseHandle;
  readonly url: string;
  readonly serverUrl: string;
  readonly name: string;
}

/** Creates a database for this test file before its tests and drops it after. */
export function useTestDatabase(): TestDatabase {
  const serverUrl = inject("databaseServerUrl");
  const template = inject("templateDatabase");
  const name = `omneural_test_${randomBytes(5).toString("hex")}`;
  const url = withDatabase(serverUrl, name);
  let handle: DatabaseHandle | undefined;
  beforeAll(async () => {
    await admin(serverUrl, `create database ${name} template ${template}`);
    handle = openDatabase(url, { poolSize: 8, applicationName: "omneural-test" });
  });
  afterAll(async () => {
    await handle?.close();
    await admin(serverUrl, `drop database if exists ${name} with (force)`);
  });
  return {
    get handle() {
      if (!handle) throw new Error("the test database is ready only inside tests and hooks");
      return handle;
    },
    url,
    serverUrl,
    name,
  };
}
