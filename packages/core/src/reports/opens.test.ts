/**
 * What reports count as opened. A click on an email counts as its open (migration 000035): as responses
 * arrive, and for the clicks recorded before the migration, which it backfills once. Opens through
 * Gmail's and Yahoo's image proxies are the reader's; those flagged as machine opens before migration
 * 000036 are counted by it. Campaigns waiting for an open wake on a click from migration 000037 on.
 */
import fs from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { MIGRATIONS_DIR } from "../db/migrate.ts";
import { writeResponses } from "../responses/response.service.ts";
import { uuidv7 } from "../shared/ids.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { type SentMessages, seedSentEmails } from "../testing/responses.ts";
import { getCampaignReport } from "./report.service.ts";

const database = useTestDatabase();
const GMAIL_PROXY =
  "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const BROWSER =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15";
const sentAt = new Date("2026-05-04T09:00:00Z");
const later = (minutes: number) => new Date(sentAt.getTime() + minutes * 60_000);
let ws: WorkspaceContext;
let sent: SentMessages;

beforeAll(async () => {
  ws = await newWorkspaceContext(database.handle.db);
  sent = await seedSentEmails(database.handle.db, ws, 6, sentAt);
});

const response = (
  i: number,
  kind: "opened" | "clicked",
  at: Date,
  properties: Record<string, unknown> = {},
) => ({
  id: uuidv7(),
  workspaceId: ws.id,
  messageId: sent.messages[i]!.id,
  kind,
  at,
  properties: { userAgent: BROWSER, ...properties },
});

/** Runs a migration's SQL again, twice: its backfill must count what it finds once. */
async function runMigrationTwice(file: string) {
  const migration = fs.readFileSync(path.join(MIGRATIONS_DIR, file), "utf8");
  for (let run = 0; run < 2; run++) {
    await database.handle.db.transaction().execute(async (trx) => {
      await sql.raw(migration).execute(trx);
    });
  }
}

describe("a click counts as the email's open", () => {
  it("when its pixel never loaded, once, and not for a scanner's click", async () => {
    const db = database.handle.db;
    await writeResponses(
      db,
      [
        // 0: clicked twice, no pixel (images blocked): one open, at the first click.
        response(0, "clicked", later(60)),
        response(0, "clicked", later(70)),
        // 1: opened, then clicked: one open, the pixel's.
        response(1, "opened", later(30)),
        response(1, "clicked", later(90)),
        // 2: a scanner's click seconds after delivery implies nothing.
        response(2, "clicked", later(0.05), { userAgent: "Barracuda Sentinel (EE)" }),
      ],
      later(120),
    );
    // 3: clicked, and its pixel loaded later (a second look): still one open, the click's.
    await writeResponses(db, [response(3, "clicked", later(100))], later(120));
    await writeResponses(db, [response(3, "opened", later(110))], later(120));

    const report = await getCampaignReport(db, ws, sent.campaignId, later(180));
    expect(report.totals.clicked).toBe(3);
    expect(report.totals.machineClicks).toBe(1);
    expect(report.totals.opened).toBe(3);
    expect(report.rates.openRate.value).toBeCloseTo(3 / 6);
    const hour = (h: string) => report.timeSeries.find((b) => b.at === h);
    // Opens at 09:30 (1's pixel) and 10:00, 10:40 (0's and 3's first clicks).
    expect(hour("2026-05-04T09:00:00.000Z")!.opened).toBe(1);
    expect(hour("2026-05-04T10:00:00.000Z")!.opened).toBe(2);
    expect(report.timeSeries.reduce((s, b) => s + b.opened, 0)).toBe(3);
  });

  it("for the clicks recorded before the migration, which it backfills once", async () => {
    const db = database.handle.db;
    // 4 was clicked before the migration: the old trigger recorded its first click and nothing else.
    const before = await getCampaignReport(db, ws, sent.campaignId, later(180));
    const m4 = sent.messages[4]!.id;
    await sql`
      insert into report_first_responses (workspace_id, campaign_id, response_key, kind, node_id, channel, at)
      values (${ws.id}, ${sent.campaignId}, ${m4}, 'clicked', 's1', 'email', ${later(150)})`.execute(db);
    await sql`
      insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, count)
      values (${ws.id}, ${sent.campaignId}, 'unique', 's1', 'email', 'clicked', '', ${later(120)}, 1)`.execute(
      db,
    );

    await runMigrationTwice("000035_implied_opens.sql");

    const after = await getCampaignReport(db, ws, sent.campaignId, later(180));
    expect(after.totals.clicked).toBe(before.totals.clicked + 1);
    // One open more (4's), dated by its click; the emails already counted are not counted again.
    expect(after.totals.opened).toBe(before.totals.opened + 1);
    const at11 = after.timeSeries.find((b) => b.at === "2026-05-04T11:00:00.000Z");
    expect(at11!.opened).toBe(1);
  });
});

describe("an open through an image proxy", () => {
  it("flagged as a machine's before migration 000036, is counted by it as the reader's", async () => {
    const db = database.handle.db;
    const m5 = sent.messages[5]!.id;
    // As the writer flagged it before: a machine open, left out of the report.
    await writeResponses(
      db,
      [
        response(5, "opened", later(200), {
          userAgent: GMAIL_PROXY,
          machine: true,
          machineReason: "image_proxy",
        }),
        response(5, "opened", later(260), {
          userAgent: GMAIL_PROXY,
          machine: true,
          machineReason: "image_proxy",
        }),
      ],
      later(300),
    );
    const before = await getCampaignReport(db, ws, sent.campaignId, later(400));
    expect(before.totals.machineOpens).toBe(2);

    await runMigrationTwice("000036_image_proxy_opens.sql");

    const after = await getCampaignReport(db, ws, sent.campaignId, later(400));
    expect(after.totals.machineOpens).toBe(0);
    expect(after.totals.opened).toBe(before.totals.opened + 1);
    // The unique open is dated by the first of the two (12:20).
    const at12 = after.timeSeries.find((b) => b.at === "2026-05-04T12:00:00.000Z");
    expect(at12!.opened).toBe(1);
    const { rows } = await sql<{ flagged: number }>`
      select count(*) filter (where properties ? 'machine')::int as flagged from events
      where workspace_id = ${ws.id} and type = 'message.opened' and properties ->> 'messageId' = ${m5}`.execute(
      db,
    );
    expect(rows[0]!.flagged).toBe(0);
  });
});

describe("a campaign launched before a click matched a wait for an open", () => {
  it("wakes on a click from migration 000037 on, if it waits for an open", async () => {
    const db = database.handle.db;
    const other = await seedSentEmails(db, ws, 1, sentAt);
    await sql`update campaigns set wake_event_types = '{message.opened,order.placed}'
      where workspace_id = ${ws.id} and id = ${sent.campaignId}`.execute(db);
    await sql`update campaigns set wake_event_types = '{order.placed}'
      where workspace_id = ${ws.id} and id = ${other.campaignId}`.execute(db);

    await runMigrationTwice("000037_wake_on_click_for_opens.sql");

    const { rows } = await sql<{ id: string; wake_event_types: string[] }>`
      select id, wake_event_types from campaigns
      where workspace_id = ${ws.id} and id in (${sent.campaignId}, ${other.campaignId})`.execute(db);
    const wakes = new Map(rows.map((r) => [r.id, r.wake_event_types]));
    expect(wakes.get(sent.campaignId)).toEqual(["message.clicked", "message.opened", "order.placed"]);
    expect(wakes.get(other.campaignId)).toEqual(["order.placed"]);
  });
});
