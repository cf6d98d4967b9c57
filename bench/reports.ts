/**
 * Reports benchmark. Builds a 1,000,000-member campaign with realistic responses and measures, in the
 * same run on the same database, the latency of its report (GET /campaigns/{id}/report's service call,
 * reading the rollups) beside the equivalent direct aggregate SQL over the ledger, enrollments and
 * events (the figures the report gives, computed at read time).
 *
 * The campaign: entry → split a/b → send email (a or b) → exit, with a 10 % holdout and a `purchase`
 * goal. Members are launched and stepped by the product (launch, then the stepper in batches of 2000);
 * the send ledger is then marked sent in bulk (as the dispatcher would, without sending a million
 * emails), and responses are written in batches of about 25,000 events: ~25 % of messages opened (some
 * twice, some by Apple's proxy), ~4 % clicked (some by scanners), ~1 % converting through
 * `POST /events`-style purchases, a few unsubscribes.
 *
 * Goals: report median < 200 ms, and at least 10 × faster than the direct aggregate.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { createAudience } from "@omneural/core/audiences/audience.service";
import { createCampaign, launchCampaign } from "@omneural/core/campaigns/campaign.service";
import { openDatabase } from "@omneural/core/db/database";
import { stepCampaignBatch } from "@omneural/core/engine/stepper";
import { recordEvents } from "@omneural/core/events/event.service";
import { foldReportDeltas } from "@omneural/core/reports/report.repository";
import { getCampaignReport } from "@omneural/core/reports/report.service";
import { createTemplate } from "@omneural/core/templates/template.service";
import { newWorkspaceContext, publishGraph } from "@omneural/core/testing/campaigns";
import { sql } from "kysely";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function main(args: string[]) {
  const members = argValue(args, "--members", 1_000_000);
  const samples = argValue(args, "--samples", 21);
  const bench = await benchDatabase("reports");
  const handle = openDatabase(bench.url, { poolSize: 8 });
  const { db } = handle;
  const t0 = new Date(Date.now() - 6 * 3_600_000);
  const hour = (h: number) => new Date(t0.getTime() + h * 3_600_000);
  try {
    const ws = await newWorkspaceContext(db, "Reports bench");
    console.error(`building ${members.toLocaleString()} contacts…`);
    await sql`
      insert into contacts (workspace_id, id, email, email_consent)
      select ${ws.id}::uuid, gen_random_uuid(), 'person' || g || '@example.com',
             case when g % 50 = 0 then 'unsubscribed' else 'subscribed' end
      from generate_series(1, ${members}) g`.execute(db);
    await sql`vacuum analyze contacts`.execute(db);
    const audience = await createAudience(db, ws, {
      name: "Everyone with an email",
      definition: { kind: "field", field: "email", type: "string", condition: { op: "exists" } },
    });
    const [a, b] = await Promise.all(
      ["A", "B"].map((v) =>
        createTemplate(db, ws, {
          name: `Spring sale ${v}`,
          channel: "email",
          content: {
            subject: `Spring sale ${v}`,
            html: '<p><a href="https://shop.example/sale">Shop</a></p>',
          },
        }),
      ),
    );
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "split" } },
        {
          id: "split",
          type: "split",
          branches: [
            { key: "a", weight: 50 },
            { key: "b", weight: 50 },
          ],
          outlets: { a: "email_a", b: "email_b" },
        },
        { id: "email_a", type: "send", channel: "email", templateId: a!.id, outlets: { next: "done" } },
        { id: "email_b", type: "send", channel: "email", templateId: b!.id, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const { workflowId } = await publishGraph(db, ws, graph);
    const campaign = await createCampaign(
      db,
      ws,
      {
        name: "Spring sale",
        audienceId: audience.id,
        workflowId,
        holdoutPercent: 10,
        goal: { eventType: "purchase", windowDays: 7 },
      },
      t0,
    );
    console.error("launching…");
    const launched = await launchCampaign(db, ws, campaign.id, t0);
    console.error(`enrolled ${launched.changed.toLocaleString()}; stepping…`);
    const stepStarted = performance.now();
    const stepAll = async () => {
      for (;;) {
        const r = await stepCampaignBatch(db, ws.id, campaign.id, { now: t0, batchSize: 2000 });
        if (r.claimed === 0) return;
      }
    };
    await Promise.all([stepAll(), stepAll()]);
    console.error(
      `stepped in ${round((performance.now() - stepStarted) / 1000, 1)} s; marking the ledger sent…`,
    );
    // As the dispatcher would, in batches: each row sent within the first hours.
    for (let part = 0; part < 20; part++) {
      await sql`
        update messages m set status = 'sent', sent_at = ${hour(0)}::timestamptz + (abs(hashtext(m.id::text)) % 7200) * interval '1 second',
               attempts = 1, provider = 'smtp'
        from contacts c
        where m.workspace_id = ${ws.id} and m.campaign_id = ${campaign.id} and m.status = 'queued'
          and c.workspace_id = m.workspace_id and c.id = m.contact_id and c.email_consent = 'subscribed'
          and abs(hashtext(m.contact_id::text)) % 20 = ${part}`.execute(db);
      await sql`
        update messages set status = 'skipped', reason = 'email consent is unsubscribed', attempts = 1
        where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and status = 'queued'
          and abs(hashtext(contact_id::text)) % 20 = ${part}`.execute(db);
    }
    console.error("writing responses…");
    const responses = [
      { kind: "opened", share: 25, machine: 6, at: 1 },
      { kind: "opened", share: 6, machine: 0, at: 3, again: true },
      { kind: "clicked", share: 4, machine: 1, at: 2 },
      { kind: "delivered", share: 97, machine: 0, at: 0 },
      { kind: "unsubscribed", share: 0.3, machine: 0, at: 4 },
    ];
    for (const r of responses) {
      for (let part = 0; part < 20; part++) {
        await sql`
          insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
          select m.workspace_id, ${`${r.kind}${r.again ? "2" : ""}:`} || m.id, m.contact_id, ${`message.${r.kind}`},
                 jsonb_build_object('campaignId', m.campaign_id, 'nodeId', m.node_id, 'messageId', m.id, 'channel', m.channel)
                   || case when abs(hashtext(m.id::text || 'machine')) % 100 < ${r.machine}
                           then '{"machine": true, "machineReason": "apple_mpp"}'::jsonb else '{}'::jsonb end,
                 m.sent_at + ${r.at} * interval '1 hour' + (abs(hashtext(m.id::text)) % 3600) * interval '1 second'
          from messages m
          where m.workspace_id = ${ws.id} and m.campaign_id = ${campaign.id} and m.status = 'sent'
            and abs(hashtext(m.contact_id::text)) % 20 = ${part}
            and abs(hashtext(m.id::text || ${r.kind} || ${r.again ? "2" : ""})) % 10000 < ${r.share * 100}`.execute(
          db,
        );
      }
    }
    // Purchases through the product's event intake (attribution to the last message, the goal).
    const { rows: buyers } = await sql<{ contact_id: string }>`
      select e.contact_id from enrollments e
      where e.workspace_id = ${ws.id} and e.campaign_id = ${campaign.id}
        and abs(hashtext(e.contact_id::text || 'buy')) % 1000 < case when e.holdout then 8 else 12 end`.execute(
      db,
    );
    for (let i = 0; i < buyers.length; i += 1000) {
      await recordEvents(
        db,
        ws,
        buyers.slice(i, i + 1000).map((buyer) => ({
          contactId: buyer.contact_id,
          type: "purchase",
          properties: { value: 42 },
          occurredAt: hour(5).toISOString(),
        })),
        hour(5),
      );
    }
    console.error(`${buyers.length.toLocaleString()} purchases; folding the report deltas…`);
    const unfolded = Number(
      (await sql<{ n: number }>`select count(*)::int as n from report_deltas`.execute(db)).rows[0]?.n ?? 0,
    );
    while ((await foldReportDeltas(db)) > 0);
    await sql`vacuum analyze`.execute(db);

    const counts = (
      await sql<{ messages: number; events: number; enrollments: number; rollup: number }>`
        select (select count(*) from messages)::int as messages, (select count(*) from events)::int as events,
               (select count(*) from enrollments)::int as enrollments,
               (select count(*) from report_counts)::int as rollup`.execute(db)
    ).rows[0]!;
    console.error(
      `ledger ${counts.messages.toLocaleString()} rows, events ${counts.events.toLocaleString()}, enrollments ${counts.enrollments.toLocaleString()}; ${unfolded.toLocaleString()} deltas folded into ${counts.rollup.toLocaleString()} rollup rows`,
    );

    // The direct aggregate: the same figures computed from the ledger, enrollments and events.
    const direct = async () => {
      await db.transaction().execute(async (trx) => {
        await sql`
          select node_id, channel, status, report_reason(reason), count(*) from messages
          where workspace_id = ${ws.id} and campaign_id = ${campaign.id} group by 1, 2, 3, 4`.execute(trx);
        await sql`
          select node_id, state, holdout, count(*) from enrollments
          where workspace_id = ${ws.id} and campaign_id = ${campaign.id} group by 1, 2, 3`.execute(trx);
        await sql`
          select properties ->> 'nodeId', type,
                 count(distinct properties ->> 'messageId') filter (where properties ->> 'machine' is null),
                 count(*) filter (where properties ->> 'machine' = 'true')
          from events where workspace_id = ${ws.id} and campaign_id = ${campaign.id} group by 1, 2`.execute(
          trx,
        );
        // Opens count an email clicked by a person as opened (migration 000035).
        await sql`
          select properties ->> 'nodeId', count(distinct properties ->> 'messageId')
          from events where workspace_id = ${ws.id} and campaign_id = ${campaign.id}
            and properties ->> 'machine' is null
            and (type = 'message.opened' or (type = 'message.clicked' and channel = 'email'))
          group by 1`.execute(trx);
        await sql`
          select date_trunc('hour', sent_at), count(*) from messages
          where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and status = 'sent' group by 1`.execute(
          trx,
        );
        await sql`
          select date_trunc('hour', first), type, count(*) from (
            select type, properties ->> 'messageId', min(occurred_at) as first from events
            where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and properties ->> 'machine' is null
            group by 1, 2) f group by 1, 2`.execute(trx);
        await sql`
          select date_trunc('hour', first), count(*) from (
            select properties ->> 'messageId', min(occurred_at) as first from events
            where workspace_id = ${ws.id} and campaign_id = ${campaign.id} and properties ->> 'machine' is null
              and (type = 'message.opened' or (type = 'message.clicked' and channel = 'email'))
            group by 1) f group by 1`.execute(trx);
      });
    };
    const report = () => getCampaignReport(db, ws, campaign.id);
    const first = await report();
    const timeIt = async (f: () => Promise<unknown>, n: number) => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const started = performance.now();
        await f();
        times.push(performance.now() - started);
      }
      return times;
    };
    await direct(); // warm the cache for both
    const baseline = await timeIt(direct, 5);
    const product = await timeIt(report, samples);
    const reportMs = median(product);
    const directMs = median(baseline);
    const sorted = [...product].sort((x, y) => x - y);
    const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;

    console.error(
      `report: sent ${first.totals.sent.toLocaleString()}, opened ${first.totals.opened.toLocaleString()} (+${first.totals.machineOpens.toLocaleString()} machine), clicked ${first.totals.clicked.toLocaleString()}, converted ${first.totals.converted.toLocaleString()}; holdout lift ${first.holdout ? `${round(first.holdout.lift.absolute.value * 100, 2)} pts (p = ${first.holdout.lift.pValue.toPrecision(2)})` : "n/a"}`,
    );
    console.log(
      `direct aggregate SQL:  median ${round(directMs)} ms  (${baseline.map((x) => round(x)).join(", ")})`,
    );
    console.log(
      `report from rollups:   median ${round(reportMs, 1)} ms, p95 ${round(p95, 1)} ms  (${samples} calls)`,
    );
    console.log(`report is ${round(directMs / reportMs, 1)}× faster`);
    const ratio = directMs / reportMs;
    printReport({
      bench: "reports",
      figures: { report_ms: round(reportMs, 1), report_p95_ms: round(p95, 1), members },
      baselines: { direct_aggregate_ms: round(directMs) },
      ratios: { direct_over_report: round(ratio, 1) },
      goals: { report_ms: "< 200", direct_over_report: ">= 10" },
      met: reportMs < 200 && ratio >= 10,
    });
  } finally {
    await handle.close();
    await bench.close();
  }
}
