import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../shared/errors.ts";
import { useTestDatabase } from "../testing/database.ts";
import { insertUser } from "../users/user.repository.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";
import { listAudit, recordAudit } from "./audit.service.ts";
import { cleanDetails, decodeAuditCursor, encodeAuditCursor } from "./audit.ts";

const database = useTestDatabase();
const db = () => database.handle.db;
const T0 = new Date("2031-03-01T12:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

let a: { id: string; keyId: string };
let b: { id: string; keyId: string };
let userId: string;

beforeAll(async () => {
  const created = await createWorkspace(db(), { name: "Audit A" });
  a = { id: created.workspace.id, keyId: created.apiKeyId };
  const other = await createWorkspace(db(), { name: "Audit B" });
  b = { id: other.workspace.id, keyId: other.apiKeyId };
  userId = (await insertUser(db(), { email: "auditor@team.example", name: "Aud", passwordHash: "x" })).id;
});

describe("recordAudit", () => {
  it("labels a member by email and an API key by name and prefix, never the key", async () => {
    const byUser = await recordAudit(
      db(),
      a.id,
      { actor: { kind: "user", id: userId }, action: "template.create" },
      at(0),
    );
    expect(byUser.actor).toEqual({ kind: "user", id: userId, label: "auditor@team.example" });
    expect(byUser.objectType).toBe("template");

    const byKey = await recordAudit(
      db(),
      a.id,
      { actor: { kind: "api_key", id: a.keyId }, action: "campaign.launch" },
      at(0),
    );
    expect(byKey.actor.label).toMatch(/^default \(omn_[A-Za-z0-9_-]{6}…\)$/);

    const bySystem = await recordAudit(
      db(),
      a.id,
      { actor: { kind: "system", id: "retention" }, action: "contact.erase" },
      at(0),
    );
    expect(bySystem.actor).toEqual({ kind: "system", id: "retention", label: "retention" });
  });

  it("labels a key of another workspace by its id only", async () => {
    const entry = await recordAudit(
      db(),
      a.id,
      { actor: { kind: "api_key", id: b.keyId }, action: "topic.create" },
      at(0),
    );
    expect(entry.actor.label).toBe(b.keyId);
  });

  it("keeps ids, roles, flags and counts in details, and drops text, emails and objects", async () => {
    const entry = await recordAudit(
      db(),
      a.id,
      {
        actor: { kind: "user", id: userId },
        action: "member.role_change",
        objectId: userId,
        details: {
          role: "admin",
          dryRun: false,
          changed: 3,
          ids: ["0190d2c3-0000-7000-8000-000000000001"],
          email: "someone@example.com",
          note: "free text with spaces",
          body: { firstName: "Ada" },
          mixed: ["ok", "not ok"],
        },
      },
      at(0),
    );
    expect(entry.details).toEqual({
      role: "admin",
      dryRun: false,
      changed: 3,
      ids: ["0190d2c3-0000-7000-8000-000000000001"],
    });
  });

  it("refuses an action that is not `<type>.<verb>`", async () => {
    await expect(
      recordAudit(db(), a.id, { actor: { kind: "system", id: "x" }, action: "Launch campaign" }),
    ).rejects.toThrow(/not an audit action/);
  });

  it("never lets a row be changed", async () => {
    const entry = await recordAudit(
      db(),
      a.id,
      { actor: { kind: "system", id: "x" }, action: "topic.delete" },
      at(0),
    );
    await expect(
      sql`update audit_log set action = 'topic.create' where workspace_id = ${a.id} and id = ${entry.id}`.execute(
        db(),
      ),
    ).rejects.toThrow(/cannot be changed/);
  });
});

describe("listAudit", () => {
  let ws: string;
  beforeAll(async () => {
    ws = (await createWorkspace(db(), { name: "Audit list" })).workspace.id;
    const key = { kind: "api_key", id: "0190d2c3-0000-7000-8000-00000000000a" } as const;
    const user = { kind: "user", id: userId } as const;
    await recordAudit(db(), ws, { actor: key, action: "campaign.create", objectId: "c1" }, at(1));
    await recordAudit(db(), ws, { actor: user, action: "campaign.launch", objectId: "c1" }, at(2));
    await recordAudit(db(), ws, { actor: user, action: "campaign_policy.update", objectId: "c1" }, at(3));
    await recordAudit(db(), ws, { actor: key, action: "template.update", objectId: "t1" }, at(4));
    await recordAudit(db(), ws, { actor: user, action: "campaign.pause", objectId: "c2" }, at(5));
  });
  const actions = async (query: Parameters<typeof listAudit>[2]) =>
    (await listAudit(db(), ws, query)).data.map((entry) => entry.action);

  it("lists newest first", async () => {
    expect(await actions({})).toEqual([
      "campaign.pause",
      "template.update",
      "campaign_policy.update",
      "campaign.launch",
      "campaign.create",
    ]);
  });

  it("filters by actor, action, action prefix, object and time", async () => {
    expect(await actions({ actor: userId })).toEqual([
      "campaign.pause",
      "campaign_policy.update",
      "campaign.launch",
    ]);
    expect(await actions({ action: "campaign.launch" })).toEqual(["campaign.launch"]);
    expect(await actions({ action: "campaign" })).toEqual([
      "campaign.pause",
      "campaign.launch",
      "campaign.create",
    ]);
    expect(await actions({ action: "campaign." })).toEqual([
      "campaign.pause",
      "campaign.launch",
      "campaign.create",
    ]);
    expect(await actions({ objectType: "template" })).toEqual(["template.update"]);
    expect(await actions({ objectType: "campaign", objectId: "c1" })).toEqual([
      "campaign.launch",
      "campaign.create",
    ]);
    expect(await actions({ from: at(2).toISOString(), to: at(4).toISOString() })).toEqual([
      "campaign_policy.update",
      "campaign.launch",
    ]);
  });

  it("pages with a cursor, entries of one instant included, each once", async () => {
    const same = (await createWorkspace(db(), { name: "Audit same instant" })).workspace.id;
    for (let i = 0; i < 5; i++) {
      await recordAudit(
        db(),
        same,
        { actor: { kind: "system", id: "x" }, action: "topic.create", objectId: `t${i}` },
        at(9),
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listAudit(db(), same, { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((entry) => entry.objectId!));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(["t4", "t3", "t2", "t1", "t0"]);
  });

  it("refuses a cursor it did not make", async () => {
    const error = await listAudit(db(), ws, { cursor: "bm90LWEtY3Vyc29y" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("VALIDATION_FAILED");
  });

  it("shows a workspace none of another's entries", async () => {
    const empty = (await createWorkspace(db(), { name: "Audit empty" })).workspace.id;
    expect((await listAudit(db(), empty, {})).data).toEqual([]);
    expect((await listAudit(db(), b.id, {})).data).toEqual([]);
  });
});

describe("cursors and details", () => {
  it("round-trips a cursor", () => {
    const cursor = { at: T0, id: "0190d2c3-0000-7000-8000-000000000001" };
    expect(decodeAuditCursor(encodeAuditCursor(cursor))).toEqual(cursor);
    expect(decodeAuditCursor("garbage")).toBeUndefined();
  });

  it("drops keys that are not plain names", () => {
    expect(cleanDetails({ "a b": 1, ok: 2 })).toEqual({ ok: 2 });
  });
});
