/** Audit entries written outside the API: the CLI's changes and the scheduled retention runs. */
import { beforeAll, describe, expect, it } from "vitest";
import { putRetentionPolicy, runScheduledRetention } from "../retention/retention.service.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";
import { cliActor } from "./actors.ts";
import { listAudit } from "./audit.service.ts";
import { auditCliChanges } from "./cli-audit.service.ts";

const database = useTestDatabase();
const db = () => database.handle.db;

let ws: { id: string; defaultCountry: string; defaultTimezone: string };
let apiKeyId: string;
beforeAll(async () => {
  const created = await createWorkspace(db(), { name: "System audit" });
  ws = { id: created.workspace.id, defaultCountry: "US", defaultTimezone: "UTC" };
  apiKeyId = created.apiKeyId;
});

describe("the CLI's audit entries", () => {
  it("name the operating-system user and host of the command", () => {
    expect(cliActor("root", "box-1")).toEqual({
      kind: "cli",
      id: "root",
      label: "root@box-1 (omneural CLI)",
    });
  });

  it("records each change of a command by the cli actor", async () => {
    await auditCliChanges(
      db(),
      ws.id,
      [
        { action: "workspace.create", objectId: ws.id },
        { action: "api_key.create", objectId: apiKeyId },
      ],
      cliActor("ops", "db-host"),
    );
    const { data } = await listAudit(db(), ws.id, {});
    expect(data.map((e) => [e.action, e.objectId, e.actor])).toEqual([
      ["api_key.create", apiKeyId, { kind: "cli", id: "ops", label: "ops@db-host (omneural CLI)" }],
      ["workspace.create", ws.id, { kind: "cli", id: "ops", label: "ops@db-host (omneural CLI)" }],
    ]);
  });
});

describe("the scheduled retention run's audit entry", () => {
  it("is written by the system for each enabled policy, with the run's id and status", async () => {
    await putRetentionPolicy(db(), ws, "outdated_prospects", {
      enabled: true,
      settings: { inactiveDays: 90, action: "delete" },
    });
    const now = new Date("2031-05-01T03:17:00Z");
    const runs = await runScheduledRetention(db(), { now });
    const run = runs.find((r) => r.kind === "outdated_prospects" && r.trigger === "schedule");
    expect(run).toBeDefined();
    const { data } = await listAudit(db(), ws.id, { action: "retention_policy.run" });
    expect(data).toEqual([
      expect.objectContaining({
        actor: { kind: "system", id: "retention", label: "retention" },
        objectId: "outdated_prospects",
        at: now.toISOString(),
        details: { trigger: "schedule", runId: run!.id, status: run!.status },
      }),
    ]);
  });
});
