import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import { conversionCounts } from "../campaigns/goal.repository.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { createDevInboxEmailChannel } from "../delivery/dev-inbox.ts";
import { dispatchEmailBatch } from "../delivery/dispatcher.ts";
import { setSender } from "../delivery/sender.service.ts";
import { recordEvents } from "../events/event.service.ts";
import { writeResponses } from "../responses/response.service.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, publishGraph, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { foldReportDeltas } from "./report.repository.ts";
import { getCampaignReport, reportToCsv } from "./report.service.ts";
import { branchNodes, buildReport } from "./report.ts";

const database = useTestDatabase();
const T0 = new Date("2026-05-04T09:10:00Z");
const MINUTE = 60_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

const BROWSER =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

let ws: WorkspaceContext;
let campaignId: string;

const graph = (a: string, b: string): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "split" } },
    {
      id: "split",
      type: "split",
      branches: [
        { key: "a", weight: 50 },
        { key: "b", weight: 50 },
      ],
      outlets: { a: "sa", b: "sb" },
    },
    { id: "sa", type: "send", channel: "email", templateId: a, outlets: { next: "done" } },
    { id: "sb", type: "send", channel: "email", templateId: b, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
});

/** What the ledger and the events say, counted directly: the figures the report must equal. */
async function direct(id: string) {
  const db = database.handle.db;
  const { rows: ledger } = await sql<{ node_id: string; status: string; reason: string; n: number }>`
    select node_id, status, report_reason(reason) as reason, count(*)::int as n
    from messages where workspace_id = ${ws.id} and campaign_id = ${id} group by 1, 2, 3`.execute(db);
  const { rows: responses } = await sql<{ node_id: string; type: string; people: number; machine: number }>`
    select properties ->> 'nodeId' as node_id, type,
           count(distinct properties ->> 'messageId') filter (where properties ->> 'machine' is null)::int as people,
           count(*) filter (where properties ->> 'machine' = 'true')::int as machine
    from events where workspace_id = ${ws.id} and campaign_id = ${id} group by 1, 2`.execute(db);
  // An email clicked by a person was opened, whether or not its pixel loaded (migration 000035).
  const { rows: opens } = await sql<{ node_id: string; people: number }>`
    select properties ->> 'nodeId' as node_id, count(distinct properties ->> 'messageId')::int as people
    from events where workspace_id = ${ws.id} and campaign_id = ${id} and properties ->> 'machine' is null
      and (type = 'message.opened' or (type = 'message.clicked' and channel = 'email'))
    group by 1`.execute(db);
  const { rows: members } = await sql<{ state: string; n: number }>`
    select state, count(*)::int as n from enrollments
    where workspace_id = ${ws.id} and campaign_id = ${id} group by 1`.execute(db);
  const sum = (rows: { n: number }[]) => rows.reduce((s, r) => s + r.n, 0);
  const responseCount = (type: string, node?: string) =>
    responses
      .filter((r) => r.type === type && (!node || r.node_id === node))
      .reduce((s, r) => s + r.people, 0);
  return {
    sent: sum(ledger.filter((r) => r.status === "sent")),
    sentAt: (node: string) => sum(ledger.filter((r) => r.status === "sent" && r.node_id === node)),
    rowsAt: (node: string) => sum(ledger.filter((r) => r.node_id === node)),
    skippedByReason: Object.fromEntries(
      [...new Set(ledger.filter((r) => r.status === "skipped").map((r) => r.reason))].map((reason) => [
        reason,
        sum(ledger.filter((r) => r.status === "skipped" && r.reason === reason)),
      ]),
    ),
    opened: opens.reduce((s, r) => s + r.people, 0),
    openedAt: (node: string) => opens.filter((r) => r.node_id === node).reduce((s, r) => s + r.people, 0),
    openedByPixel: responseCount("message.opened"),
    clicked: responseCount("message.clicked"),
    converted: responseCount("message.converted"),
    machineClicks: responses.filter((r) => r.type === "message.clicked").reduce((s, r) => s + r.machine, 0),
    members: Object.fromEntries(members.map((m) => [m.state, m.n])),
    entered: sum(members),
  };
}

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  await setSender(db, ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    postalAddress: "1 High Street, Springfield",
  });
  const [a, b] = await Promise.all(
    ["Variant A", "Variant B"].map((name) =>
      createTemplate(db, ws, {
        name,
        channel: "email",
        content: { subject: name, html: `<p>${name}: <a href="https://acme.example/sale">sale</a></p>` },
      }),
    ),
  );
  // 240 reachable people, 25 without an email address, 15 who unsubscribed.
  const listId = uuidv7();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, 'report list', 'list')`.execute(
    db,
  );
  await sql`
    with made as (
      insert into contacts (workspace_id, id, email, email_consent)
      select ${ws.id}, gen_random_uuid(), case when i <= 25 then null else 'r' || i || '@example.com' end,
             case when i > 25 and i <= 40 then 'unsubscribed' else 'subscribed' end
      from generate_series(1, 280) as i
      returning id
    )
    insert into list_members (workspace_id, list_id, contact_id) select ${ws.id}, ${listId}, id from made`.execute(
    db,
  );
  const campaign = await launchGraph(db, ws, listId, graph(a!.id, b!.id), T0);
  campaignId = campaign.id;
  await drain(db, ws.id, campaignId, { now: T0 });
  const email = createDevInboxEmailChannel(db);
  while (
    (await dispatchEmailBatch(db, { links: TEST_LINKS, email, now: at(MINUTE), batchSize: 100 })).claimed > 0
  );

  // Responses: opens (some twice, some by a machine), clicks (some by a scanner within seconds),
  // conversions attributed to the last message.
  const { rows: sent } = await sql<{ id: string; contact_id: string; node_id: string }>`
    select id, contact_id, node_id from messages
    where workspace_id = ${ws.id} and campaign_id = ${campaignId} and status = 'sent' order by id`.execute(
    db,
  );
  const responses = sent.flatMap((m, i) => {
    const base = { workspaceId: ws.id, messageId: m.id, properties: { userAgent: BROWSER } };
    const r = [];
    // Variant b is opened more.
    if (i % (m.node_id === "sb" ? 2 : 4) === 0) {
      r.push({ ...base, id: uuidv7(), kind: "opened" as const, at: at(30 * MINUTE) });
      if (i % 8 === 0) r.push({ ...base, id: uuidv7(), kind: "opened" as const, at: at(90 * MINUTE) });
    }
    if (i % 10 === 0) r.push({ ...base, id: uuidv7(), kind: "clicked" as const, at: at(95 * MINUTE) });
    if (i % 15 === 1) r.push({ ...base, id: uuidv7(), kind: "clicked" as const, at: at(MINUTE + 2000) });
    return r;
  });
  const written = await writeResponses(db, responses, at(2 * 60 * MINUTE));
  expect(written.recorded).toBe(responses.length);
  await recordEvents(
    db,
    ws,
    sent
      .filter((_, i) => i % 20 === 0)
      .map((m) => ({
        contactId: m.contact_id,
        type: "purchase",
        occurredAt: at(3 * 60 * MINUTE).toISOString(),
      })),
    at(3 * 60 * MINUTE),
  );
});

describe("campaign reports", () => {
  it("equals the counts computed directly from the ledger, enrollments and events", async () => {
    const db = database.handle.db;
    // Half folded, half still deltas: a report is exact either way.
    await foldReportDeltas(db, 7);
    const report = await getCampaignReport(db, ws, campaignId, at(4 * 60 * MINUTE));
    const d = await direct(campaignId);

    expect(d.sent).toBe(240);
    expect(report.members.entered).toBe(d.entered);
    expect(report.members.byState).toEqual(d.members);
    expect(report.totals.sent).toBe(d.sent);
    expect(report.skippedByReason).toEqual(d.skippedByReason);
    expect(report.skippedByReason).toEqual({ "no address": 25, "no consent": 15 });
    expect(report.totals.opened).toBe(d.opened);
    // Some emails were clicked without their pixel loading: those count as opened too.
    expect(d.opened).toBeGreaterThan(d.openedByPixel);
    expect(report.totals.opened).toBeGreaterThanOrEqual(report.totals.clicked);
    expect(report.totals.clicked).toBe(d.clicked);
    expect(report.totals.converted).toBe(d.converted);
    expect(report.totals.converted).toBeGreaterThan(0);
    expect(report.totals.machineClicks).toBe(d.machineClicks);
    expect(report.totals.machineClicks).toBeGreaterThan(0);
    expect(report.totals.queued + report.totals.failed).toBe(0);

    for (const node of ["sa", "sb"]) {
      const n = report.byNode.find((x) => x.nodeId === node)!;
      expect(n.figures.sent).toBe(d.sentAt(node));
      expect(n.figures.opened).toBe(d.openedAt(node));
      expect(n.entered).toBe(d.rowsAt(node));
    }
    expect(report.byNode.find((x) => x.nodeId === "entry")!.entered).toBe(280);
    expect(report.byNode.find((x) => x.nodeId === "done")!.entered).toBe(280);
    expect(report.byChannel).toHaveLength(1);
    expect(report.byChannel[0]!.figures.sent).toBe(d.sent);

    // Variants: members per branch are the split's decisions; b was opened more.
    const [va, vb] = report.variants;
    expect(va!.members + vb!.members).toBe(280);
    expect(va!.members).toBe(d.rowsAt("sa"));
    expect(vb!.figures.opened).toBe(d.openedAt("sb"));
    expect(vb!.openRate.value).toBeGreaterThan(va!.openRate.value);
    expect(vb!.openRate.low).toBeLessThan(vb!.openRate.value);

    // The time series adds up to the totals.
    const series = (k: "sent" | "opened" | "clicked" | "entered") =>
      report.timeSeries.reduce((s, b) => s + b[k], 0);
    expect(series("sent")).toBe(d.sent);
    expect(series("opened")).toBe(d.opened);
    expect(series("clicked")).toBe(d.clicked);
    expect(series("entered")).toBe(280);
    expect(report.timeSeries.map((b) => b.at)).toContain("2026-05-04T09:00:00.000Z");
    expect(report.holdout).toBeNull();

    // Folding everything changes nothing but speed.
    while ((await foldReportDeltas(db)) > 0);
    const folded = await getCampaignReport(db, ws, campaignId, at(4 * 60 * MINUTE));
    expect(folded).toEqual(report);
  });

  it("keeps counting as members move and messages change after the first report", async () => {
    const db = database.handle.db;
    // Cancelling queued work and re-sending are ledger changes like any other: mark two sent rows failed.
    await sql`
      update messages set status = 'failed', reason = 'smtp: gave up after 5 attempts'
      where id in (select id from messages where workspace_id = ${ws.id} and campaign_id = ${campaignId}
                   and status = 'sent' order by id limit 2)`.execute(db);
    const report = await getCampaignReport(db, ws, campaignId);
    const d = await direct(campaignId);
    expect(report.totals.sent).toBe(d.sent);
    expect(report.totals.failed).toBe(2);
    expect(report.failedByReason).toEqual({ "provider gave up": 2 });
  });

  it("exports CSV with a row per scope, and names each reason", async () => {
    const report = await getCampaignReport(database.handle.db, ws, campaignId);
    const csv = reportToCsv(report);
    const lines = csv.trim().split("\r\n");
    expect(lines[0]).toMatch(/^scope,id,type,entered,sent,delivered,opened,clicked/);
    expect(lines.filter((l) => l.startsWith("node,"))).toHaveLength(5);
    expect(lines.filter((l) => l.startsWith("variant,"))).toHaveLength(2);
    expect(lines[1]).toContain("skipped no address: 25");
  });

  it("measures lift against the holdout from the goal's conversions, as counted directly", async () => {
    const db = database.handle.db;
    const template = await createTemplate(db, ws, {
      name: "Lift",
      channel: "email",
      content: { subject: "Lift", html: "<p>Come back</p>" },
    });
    const listId = uuidv7();
    await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, 'lift list', 'list')`.execute(
      db,
    );
    await sql`
      with made as (
        insert into contacts (workspace_id, id, email, email_consent)
        select ${ws.id}, gen_random_uuid(), 'lift' || i || '@example.com', 'subscribed'
        from generate_series(1, 400) as i returning id
      )
      insert into list_members (workspace_id, list_id, contact_id) select ${ws.id}, ${listId}, id from made`.execute(
      db,
    );
    const { workflowId } = await publishGraph(db, ws, {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "mail" } },
        { id: "mail", type: "send", channel: "email", templateId: template.id, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    });
    const created = await createCampaign(
      db,
      ws,
      {
        name: "Lift test",
        audienceId: listId,
        workflowId,
        holdoutPercent: 25,
        goal: { eventType: "purchase", windowDays: 7 },
      },
      T0,
    );
    await launchCampaign(db, ws, created.id, T0);
    await drain(db, ws.id, created.id, { now: T0 });
    // Treatment members buy twice as often as held-out ones.
    const { rows: people } = await sql<{ contact_id: string; holdout: boolean }>`
      select contact_id, holdout from enrollments where workspace_id = ${ws.id} and campaign_id = ${created.id}
      order by contact_id`.execute(db);
    const buyers = people.filter((p, i) => i % (p.holdout ? 10 : 5) === 0);
    await recordEvents(
      db,
      ws,
      buyers.map((b) => ({
        contactId: b.contact_id,
        type: "purchase",
        occurredAt: at(60 * MINUTE).toISOString(),
      })),
      at(60 * MINUTE),
    );
    const report = await getCampaignReport(db, ws, created.id);
    const counted = await conversionCounts(db, ws.id, created.id);
    expect(report.holdout).not.toBeNull();
    const lift = report.holdout!;
    expect({ holdout: { members: lift.holdout.members, converted: lift.holdout.converted } }).toEqual({
      holdout: counted.holdout,
    });
    expect({ members: lift.treatment.members, converted: lift.treatment.converted }).toEqual(
      counted.treatment,
    );
    expect(lift.holdout.members).toBeGreaterThan(60);
    expect(lift.holdout.members).toBeLessThan(140);
    expect(lift.treatment.converted).toBeGreaterThan(0);
    expect(lift.lift.absolute.value).toBeCloseTo(
      lift.treatment.converted / lift.treatment.members - lift.holdout.converted / lift.holdout.members,
      12,
    );
    // The holdout was never contacted: its sends are skipped with that reason.
    expect(report.skippedByReason.holdout).toBe(lift.holdout.members);
    expect(report.totals.sent).toBe(0); // not dispatched in this test
    expect(report.totals.queued).toBe(lift.treatment.members);
  });

  it("takes events whose campaignId is not a campaign's, and counts nothing for them", async () => {
    const db = database.handle.db;
    const before = await getCampaignReport(db, ws, campaignId);
    const { rows } = await sql<{
      id: string;
    }>`select id from contacts where workspace_id = ${ws.id} limit 1`.execute(db);
    const result = await recordEvents(db, ws, [
      { contactId: rows[0]!.id, type: "message.opened", properties: { campaignId: "spring-sale" } },
      { contactId: rows[0]!.id, type: "message.opened", properties: { campaignId: uuidv7() } },
    ]);
    expect(result.results.every((r) => r.status !== "rejected")).toBe(true);
    expect(await getCampaignReport(db, ws, campaignId)).toEqual({
      ...before,
      generatedAt: expect.any(String),
    });
  });

  it("finds the nodes only one branch of a split reaches", () => {
    const g: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s" } },
        {
          id: "s",
          type: "split",
          branches: [
            { key: "x", weight: 1 },
            { key: "y", weight: 1 },
          ],
          outlets: { x: "x1", y: "y1" },
        },
        { id: "x1", type: "exit", outlets: { next: "m" } },
        { id: "y1", type: "exit", outlets: { next: "m" } },
        { id: "m", type: "exit", outlets: {} },
      ],
    } as unknown as WorkflowGraph;
    const nodes = branchNodes(g, g.nodes[1]!);
    expect(nodes.get("x")).toEqual(["x1"]);
    expect(nodes.get("y")).toEqual(["y1"]);
  });
});

describe("rates in a campaign of several channels", () => {
  it("count opens over emails and clicks over emails and texts, not over letters", () => {
    const graph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s" } },
        {
          id: "s",
          type: "split",
          branches: [
            { key: "a", weight: 1 },
            { key: "b", weight: 1 },
          ],
          outlets: { a: "email_a", b: "text_b" },
        },
        { id: "email_a", type: "send", channel: "email", templateId: "t1", outlets: { next: "letter" } },
        { id: "text_b", type: "send", channel: "sms", templateId: "t2", outlets: { next: "letter" } },
        { id: "letter", type: "send", channel: "mail", templateId: "t3", outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    } as unknown as WorkflowGraph;
    const row = (metric: string, node_id: string, channel: string, dim: string, count: number) => ({
      metric,
      node_id,
      channel,
      dim,
      segment: "",
      count,
    });
    const report = buildReport({
      campaign: { id: "c", name: "Mixed", status: "completed", holdoutPercent: 0, goalEventType: null },
      graph,
      entryId: "entry",
      rows: [
        row("entered", "entry", "", "", 200),
        row("action", "s", "", "split/a", 100),
        row("action", "s", "", "split/b", 100),
        row("messages", "email_a", "email", "sent", 100),
        row("messages", "text_b", "sms", "sent", 100),
        row("messages", "letter", "mail", "sent", 200),
        row("unique", "email_a", "email", "opened", 40),
        row("unique", "email_a", "email", "clicked", 10),
        row("unique", "text_b", "sms", "clicked", 20),
        row("unique", "letter", "mail", "converted", 8),
      ],
      hours: [],
      experiments: [],
      now: new Date("2026-05-04T12:00:00Z"),
    });
    expect(report.totals).toMatchObject({ sent: 400, opened: 40, clicked: 30, converted: 8 });
    expect(report.rates.openRate.value).toBeCloseTo(40 / 100);
    expect(report.rates.clickRate.value).toBeCloseTo(30 / 200);
    expect(report.rates.conversionRate.value).toBeCloseTo(8 / 400);
    const [a, b] = report.variants;
    expect(a).toMatchObject({ branch: "a", members: 100 });
    expect(a!.openRate.value).toBeCloseTo(40 / 100);
    expect(a!.clickRate.value).toBeCloseTo(10 / 100);
    // b sent texts only: nothing to open, its clicks over its texts.
    expect(b!.openRate.value).toBe(0);
    expect(b!.clickRate.value).toBeCloseTo(20 / 100);
  });
});
