import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { MIGRATIONS_DIR } from "../db/migrate.ts";
import { uuidv7 } from "../shared/ids.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { selectTemplateVersions } from "./template.repository.ts";
import {
  createTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplateVersionsPage,
  patchTemplate,
} from "./template.service.ts";

const database = useTestDatabase();
let ws: WorkspaceContext;
let other: WorkspaceContext;

beforeAll(async () => {
  ws = await newWorkspaceContext(database.handle.db);
  other = await newWorkspaceContext(database.handle.db);
});

describe("template versions", () => {
  it("numbers concurrent edits one after the other, the last one current", async () => {
    const db = database.handle.db;
    const template = await createTemplate(db, ws, { name: "Busy", channel: "sms", content: { body: "0" } });
    const bodies = ["1", "2", "3", "4", "5", "6"];
    await Promise.all(bodies.map((body) => patchTemplate(db, ws, template.id, { content: { body } })));
    const page = await listTemplateVersionsPage(db, ws, template.id, {});
    expect(page.data.map((v) => v.version)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const contents = await Promise.all(
      page.data.map(async (v) => (await getTemplateVersion(db, ws, template.id, v.version)).content),
    );
    expect(new Set(contents.map((c) => (c as { body: string }).body)).size).toBe(7);
    const current = await getTemplate(db, ws, template.id);
    expect(current.version).toBe(7);
    expect(current.content).toEqual(contents[0]);
  });

  it("selectTemplateVersions gives each pinned version's content, and nothing for unknown or foreign keys", async () => {
    const db = database.handle.db;
    const email = await createTemplate(db, ws, {
      name: "Pinned",
      channel: "email",
      content: { subject: "Old", html: "<p>Old</p>" },
    });
    await patchTemplate(db, ws, email.id, { content: { subject: "New", html: "<p>New</p>" } });
    const rows = await selectTemplateVersions(db, [
      { workspaceId: ws.id, templateId: email.id, version: 1 },
      { workspaceId: ws.id, templateId: email.id, version: 2 },
      { workspaceId: ws.id, templateId: email.id, version: 3 },
      { workspaceId: other.id, templateId: email.id, version: 1 },
      { workspaceId: ws.id, templateId: uuidv7(), version: 1 },
    ]);
    expect(rows.sort((a, b) => a.version - b.version)).toEqual([
      {
        workspace_id: ws.id,
        id: email.id,
        version: 1,
        channel: "email",
        content: { subject: "Old", html: "<p>Old</p>" },
      },
      {
        workspace_id: ws.id,
        id: email.id,
        version: 2,
        channel: "email",
        content: { subject: "New", html: "<p>New</p>" },
      },
    ]);
    expect(await selectTemplateVersions(db, [])).toEqual([]);
  });
});

describe("migration 000011", () => {
  it("gives every existing template a version 1 with its content", async () => {
    const { pool } = database.handle;
    const file = fs.readdirSync(MIGRATIONS_DIR).find((name) => name.startsWith("000011_"))!;
    const migration = fs.readFileSync(path.join(MIGRATIONS_DIR, file), "utf8");
    const client = await pool.connect();
    try {
      // Back to the schema before 000011, with a template written then, in a transaction rolled back.
      await client.query("begin");
      await client.query("drop table template_test_sends, template_versions");
      await client.query("alter table templates drop column version");
      const id = uuidv7();
      await client.query(
        `insert into templates (workspace_id, id, name, channel, content, updated_at)
         values ($1, $2, 'Before', 'sms', '{"body": "Kept"}', '2025-01-02T03:04:05Z')`,
        [ws.id, id],
      );
      await client.query(migration);
      const { rows } = await client.query(
        `select t.version as current, v.version, v.content, v.change, v.created_at
         from templates t join template_versions v on v.workspace_id = t.workspace_id and v.template_id = t.id
         where t.workspace_id = $1 and t.id = $2`,
        [ws.id, id],
      );
      expect(rows).toEqual([
        {
          current: 1,
          version: 1,
          content: { body: "Kept" },
          change: "backfill",
          created_at: new Date("2025-01-02T03:04:05Z"),
        },
      ]);
    } finally {
      await client.query("rollback");
      client.release();
    }
  });
});
