import type { CampaignCreate, WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { conversionEventId, recordEvents } from "../events/event.service.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, publishGraph, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createCampaign, launchCampaign } from "./campaign.service.ts";
import { conversionCounts, insertCampaignConversions } from "./goal.repository.ts";
import { goalConversionEventId, launchSettingsProblems } from "./goal.ts";
import { DEFAULT_SETTINGS } from "./settings.ts";

const database = useTestDatabase();

const T0 = new Date("2026-05-04T09:00:00Z");
const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;
let graph: WorkflowGraph;

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  const template = await createTemplate(db, ws, {
    name: "offer",
    channel: "email",
    content: { subject: "Offer", html: "<p>Offer</p>" },
  });
  graph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "offer" } },
      { id: "offer", type: "send", channel: "email", templateId: template.id, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
});

/**
 * A campaign entry → send email → exit with these settings over `members` new contacts, launched at
 * T0 and stepped; its messages (the treatment's) marked sent at `sentAt`, as the dispatcher would.
 */
async function sentCampaign(
  members: number,
  settings: Pick<CampaignCreate, "holdoutPercent" | "goal">,
  sentAt = at(HOUR),
) {
  const db = database.handle.db;
  const { listId, contactIds } = await seedContactsInList(db, ws.id, members);
  const { workflowId } = await publishGraph(db, ws, graph);
  const campaign = await createCampaign(db, ws, {
    name: `campaign ${crypto.randomUUID()}`,
    audienceId: listId,
    workflowId,
    ...settings,
  });
  await launchCampaign(db, ws, campaign.id, T0);
  await drain(db, ws.id, campaign.id, { now: T0 });
  const { rows } = await sql<{ id: string; contact_id: string }>`
    update messages set status = 'sent', sent_at = ${sentAt}
    where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and status = 'queued'
    returning id, contact_id`.execute(db);
  return { campaignId: campaign.id, contactIds, messageOf: new Map(rows.map((r) => [r.contact_id, r.id])) };
}

async function convertedEvents(contactId: string) {
  const { rows } = await sql<{ id: string; properties: Record<string, unknown> }>`
    select id, properties from events
    where workspace_id = ${ws.id} and contact_id = ${contactId} and type = 'message.converted'
    order by id`.execute(database.handle.db);
  return rows;
}

async function conversions(campaignId: string) {
  const { rows } = await sql<{ contact_id: string; event_id: string; holdout: boolean; converted_at: Date }>`
    select contact_id, event_id, holdout, converted_at from campaign_conversions
    where workspace_id = ${ws.id} and campaign_id = ${campaignId} order by contact_id`.execute(
    database.handle.db,
  );
  return rows;
}

describe("launchSettingsProblems", () => {
  it.each([
    ["no goal", null, { mode: "once" as const }, []],
    ["a member's own event", { eventType: "purchase", windowDays: 7 }, { mode: "once" as const }, []],
    [
      "a response to a message",
      { eventType: "message.clicked", windowDays: 7 },
      { mode: "once" as const },
      ["goal.eventType"],
    ],
    [
      "the event that enrolls",
      { eventType: "signup", windowDays: 7 },
      { mode: "event" as const, eventType: "signup" },
      ["goal.eventType"],
    ],
  ])("%s", (_name, goal, entry, fields) => {
    const problems = launchSettingsProblems({ ...DEFAULT_SETTINGS, goal, entry });
    expect(problems.map((p) => p.field)).toEqual(fields);
  });
});

describe("campaign goal: attribution", () => {
  it("credits a goal event to the campaign's latest message within the campaign's window, and only its goal", async () => {
    const db = database.handle.db;
    const signup = await sentCampaign(4, { goal: { eventType: "signup", windowDays: 14 } });
    const plain = await sentCampaign(2, {});
    const [inWindow, outside, purchaser, twice] = signup.contactIds as [string, string, string, string];
    const [plainBuyer, plainSignup] = plain.contactIds as [string, string];
    const events = [
      // 10 days after the send: inside the 14-day window, outside the default 7.
      { id: "su-1", contactId: inWindow, type: "signup", occurredAt: at(HOUR + 10 * DAY).toISOString() },
      { id: "su-2", contactId: outside, type: "signup", occurredAt: at(2 * HOUR + 14 * DAY).toISOString() },
      // A purchase is a default conversion type, but this campaign's goal is signup.
      { id: "buy-1", contactId: purchaser, type: "purchase", occurredAt: at(2 * DAY).toISOString() },
      // Campaigns without a goal keep the defaults: purchase within 7 days counts, signup does not.
      { id: "buy-2", contactId: plainBuyer, type: "purchase", occurredAt: at(2 * DAY).toISOString() },
      { id: "su-3", contactId: plainSignup, type: "signup", occurredAt: at(2 * DAY).toISOString() },
    ];
    await recordEvents(db, ws, events, at(15 * DAY));

    const [credited] = await convertedEvents(inWindow);
    expect(credited!.id).toBe(goalConversionEventId("su-1", signup.campaignId));
    expect(credited!.properties).toMatchObject({
      campaignId: signup.campaignId,
      nodeId: "offer",
      messageId: signup.messageOf.get(inWindow),
      channel: "email",
      sourceEventId: "su-1",
      sourceEventType: "signup",
    });
    expect(await convertedEvents(outside)).toEqual([]);
    expect(await convertedEvents(purchaser)).toEqual([]);
    expect((await convertedEvents(plainBuyer)).map((e) => e.id)).toEqual([conversionEventId("buy-2")]);
    expect(await convertedEvents(plainSignup)).toEqual([]);

    // The same event is a conversion for every campaign whose goal it is, each crediting its own message.
    const second = await sentCampaign(0, { goal: { eventType: "signup", windowDays: 30 } });
    await sql`
      insert into messages (workspace_id, id, idempotency_key, campaign_id, contact_id, node_id, channel,
                            status, sent_at)
      values (${ws.id}, gen_random_uuid(), ${`second-${twice}`}, ${second.campaignId}, ${twice}, 'offer', 'email',
              'sent', ${at(3 * DAY)})`.execute(db);
    await recordEvents(
      db,
      ws,
      [{ id: "su-4", contactId: twice, type: "signup", occurredAt: at(4 * DAY).toISOString() }],
      at(15 * DAY),
    );
    expect((await convertedEvents(twice)).map((e) => e.id).sort()).toEqual(
      [
        goalConversionEventId("su-4", signup.campaignId),
        goalConversionEventId("su-4", second.campaignId),
      ].sort(),
    );
  });
});

describe("campaign goal: conversions for lift", () => {
  it("records each member's first goal event within the window of entry, holdout and treatment alike; replays change nothing", async () => {
    const db = database.handle.db;
    const campaign = await sentCampaign(40, {
      holdoutPercent: 50,
      goal: { eventType: "purchase", windowDays: 7 },
    });
    const { rows: members } = await sql<{ contact_id: string; holdout: boolean }>`
      select contact_id, holdout from enrollments
      where workspace_id = ${ws.id} and campaign_id = ${campaign.campaignId}`.execute(db);
    const holdout = members.filter((m) => m.holdout).map((m) => m.contact_id);
    const treatment = members.filter((m) => !m.holdout).map((m) => m.contact_id);
    expect(holdout.length).toBeGreaterThan(5);
    expect(treatment.length).toBeGreaterThan(5);

    // Three of each group buy within the week of entry, one of each after it; the rest never.
    const buy = (contactId: string, id: string, after: number) => ({
      id,
      contactId,
      type: "purchase",
      occurredAt: at(after).toISOString(),
    });
    const events = [
      ...holdout.slice(0, 3).map((c, i) => buy(c, `h-${i}`, 2 * DAY)),
      ...treatment.slice(0, 3).map((c, i) => buy(c, `t-${i}`, 2 * DAY)),
      buy(holdout[3]!, "h-late", 8 * DAY),
      buy(treatment[3]!, "t-late", 8 * DAY),
      // A second purchase of a converted member: the first one stays.
      buy(holdout[0]!, "h-0-again", 3 * DAY),
    ];
    const first = await recordEvents(db, ws, events, at(9 * DAY));
    expect(first.accepted).toBe(events.length);
    const expected = [
      ...holdout.slice(0, 3).map((c, i) => ({ contact_id: c, event_id: `h-${i}`, holdout: true })),
      ...treatment.slice(0, 3).map((c, i) => ({ contact_id: c, event_id: `t-${i}`, holdout: false })),
    ].sort((a, b) => a.contact_id.localeCompare(b.contact_id));
    expect((await conversions(campaign.campaignId)).map(({ converted_at, ...rest }) => rest)).toEqual(
      expected,
    );
    // Only the treatment had a message to credit.
    expect(await convertedEvents(holdout[0]!)).toEqual([]);
    expect((await convertedEvents(treatment[0]!)).map((e) => e.id)).toEqual([
      goalConversionEventId("t-0", campaign.campaignId),
    ]);

    const counts = {
      holdout: { members: holdout.length, converted: 3 },
      treatment: { members: treatment.length, converted: 3 },
    };
    expect(await conversionCounts(db, ws.id, campaign.campaignId)).toEqual(counts);

    // Replays: the same events again (duplicates), and the conversions recorded again from them.
    const replay = await recordEvents(db, ws, events, at(10 * DAY));
    expect(replay).toMatchObject({ accepted: 0, duplicates: events.length });
    await insertCampaignConversions(
      db,
      ws.id,
      events.map((e) => ({ ...e, occurredAt: new Date(e.occurredAt) })),
    );
    expect((await conversions(campaign.campaignId)).map(({ converted_at, ...rest }) => rest)).toEqual(
      expected,
    );
    expect(await conversionCounts(db, ws.id, campaign.campaignId)).toEqual(counts);

    // An earlier purchase reported late takes the place of the later one.
    await recordEvents(db, ws, [buy(treatment[1]!, "t-1-earlier", DAY)], at(10 * DAY));
    const row = (await conversions(campaign.campaignId)).find((c) => c.contact_id === treatment[1]);
    expect(row).toMatchObject({ event_id: "t-1-earlier", converted_at: at(DAY) });
    expect(await conversionCounts(db, ws.id, campaign.campaignId)).toEqual(counts);
  });

  it("counts nothing for a campaign without members", async () => {
    expect(await conversionCounts(database.handle.db, ws.id, crypto.randomUUID())).toEqual({
      holdout: { members: 0, converted: 0 },
      treatment: { members: 0, converted: 0 },
    });
  });
});
