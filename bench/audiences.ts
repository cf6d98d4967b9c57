/**
 * Audience benchmark. Builds 1,000,000 contacts and 5,000,000 events in one workspace, then measures in
 * the same run:
 *   (a) a hand-written SQL count for "state = CA and lifetime value > 100 and clicked an email in the last
 *       30 days and email-subscribed";
 *   (b) the product's count of the same rule through the compiler (uncached);
 *   (c) re-evaluating one contact against 50 listened-to segments after an event (p50/p99).
 * Goals: (b) median < 500 ms and ≤ 1.5× (a); (c) p99 < 50 ms.
 */
import type { Rule } from "@omneural/contracts/audiences";
import { countWhere } from "@omneural/core/audiences/audience.repository";
import { compileForWorkspace, createAudience } from "@omneural/core/audiences/audience.service";
import { reevaluateContacts } from "@omneural/core/audiences/membership";
import { openDatabase } from "@omneural/core/db/database";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import { sql } from "kysely";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

export async function main(args: string[]) {
  const contacts = argValue(args, "--contacts", 1_000_000);
  const events = argValue(args, "--events", 5 * contacts);
  const runs = argValue(args, "--runs", 7);
  const bench = await benchDatabase("audiences");
  const handle = openDatabase(bench.url, { poolSize: 4 });
  const { db } = handle;
  try {
    const { workspace } = await createWorkspace(db, { name: "Audience bench" });
    const ws = workspace.id;
    console.error(`building ${contacts.toLocaleString()} contacts and ${events.toLocaleString()} events…`);
    let started = performance.now();
    await sql`
      insert into contacts (workspace_id, id, email, region, country, attributes, email_consent, sms_consent)
      select ${ws}::uuid, gen_random_uuid(), 'person' || g || '@example' || (g % 97) || '.com',
        (array['CA','NY','TX','FL','WA','IL','MA','GA','OH','NC'])[1 + g % 10], 'US',
        jsonb_build_object('ltv', (g * 7919) % 1000, 'plan', (array['free','pro','team'])[1 + g % 3]),
        case when g % 5 < 3 then 'subscribed' else 'never_asked' end,
        case when g % 7 = 0 then 'subscribed' else 'never_asked' end
      from generate_series(1::bigint, ${contacts}::bigint) g`.execute(db);
    await sql`create temp table bench_ids as select row_number() over () as n, id from contacts where workspace_id = ${ws}`.execute(
      db,
    );
    await sql`create index on bench_ids (n)`.execute(db);
    await sql`
      insert into events (workspace_id, id, contact_id, type, properties, occurred_at)
      select ${ws}::uuid, 'e' || g, b.id,
        (array['message.clicked','message.opened','message.received','purchase','page_view'])[1 + (g * 31) % 5],
        jsonb_build_object('channel', case when g % 4 = 0 then 'sms' else 'email' end),
        now() - (abs(hashint8(g + 7)::bigint) % (180 * 24 * 60)) * interval '1 minute'
      from generate_series(1::bigint, ${events}::bigint) g
      join bench_ids b on b.n = 1 + abs(hashint8(g)::bigint) % ${contacts}`.execute(db);
    // As autovacuum would leave a settled table: statistics and the visibility map.
    await sql`vacuum analyze contacts`.execute(db);
    await sql`vacuum analyze events`.execute(db);
    console.error(`built in ${round((performance.now() - started) / 1000, 1)} s`);

    const handWritten = (now: Date) => sql<{ n: number }>`
      select count(*)::int as n from contacts c
      where c.workspace_id = ${ws} and c.region = 'CA' and c.email_consent = 'subscribed'
        and jsonb_typeof(c.attributes -> 'ltv') = 'number' and (c.attributes ->> 'ltv')::numeric > 100
        and c.id in (
          select e.contact_id from events e
          where e.workspace_id = ${ws} and e.type = 'message.clicked'
            and e.occurred_at >= ${new Date(now.getTime() - 30 * 86_400_000)} and e.occurred_at <= ${now}
            and e.channel = 'email' and not (e.properties @> '{"machine": true}'))`;
    const inCalifornia: Rule = {
      kind: "field",
      field: "address.region",
      type: "string",
      condition: { op: "eq", value: "CA" },
    };
    const rule: Rule = {
      kind: "all",
      rules: [
        inCalifornia,
        { kind: "field", field: "attributes.ltv", type: "number", condition: { op: "gt", value: 100 } },
        { kind: "response", response: "clicked", channel: "email", within: { days: 30 } },
        { kind: "consent", channel: "email", status: "subscribed" },
      ],
    };
    const baseline: number[] = [];
    const product: number[] = [];
    let expected = -1;
    for (let i = 0; i < runs; i++) {
      // Both queries see the same instant, so an event crossing the 30-day edge cannot split them.
      const now = new Date();
      started = performance.now();
      const a = (await handWritten(now).execute(db)).rows[0]!.n;
      baseline.push(performance.now() - started);
      started = performance.now();
      const where = await compileForWorkspace(db, ws, rule, now);
      const b = await countWhere(db, ws, where);
      product.push(performance.now() - started);
      if (expected === -1) expected = a;
      if (a !== b) throw new Error(`the compiled count ${b} differs from the hand-written ${a}`);
    }
    console.error(`count = ${expected}`);
    console.error(
      `hand-written SQL: median ${round(median(baseline))} ms  (${baseline.map((x) => round(x)).join(", ")})`,
    );
    console.error(
      `compiled rule:    median ${round(median(product))} ms  (${product.map((x) => round(x)).join(", ")})`,
    );

    // 50 listened segments of varied shapes, then one contact's re-evaluation after an event.
    const states = ["CA", "NY", "TX", "FL", "WA"];
    for (let i = 0; i < 50; i++) {
      const variants: Rule[] = [
        {
          kind: "field",
          field: "address.region",
          type: "string",
          condition: { op: "eq", value: states[i % 5]! },
        },
        {
          kind: "all",
          rules: [
            inCalifornia,
            {
              kind: "field",
              field: "attributes.ltv",
              type: "number",
              condition: { op: "gt", value: i * 10 },
            },
          ],
        },
        { kind: "response", response: "clicked", within: { days: 7 + i } },
        {
          kind: "event",
          type: "purchase",
          count: { op: "at_least", value: 1 + (i % 3) },
          within: { days: 90 },
        },
        {
          kind: "any",
          rules: [
            { kind: "consent", channel: "sms", status: "subscribed" },
            { kind: "bucket", salt: `s${i}`, percent: 10 },
          ],
        },
      ];
      await createAudience(
        db,
        { id: ws, defaultCountry: "US", defaultTimezone: "UTC" },
        { name: `segment ${i}`, definition: variants[i % 5]!, listened: false },
      );
    }
    await sql`update audiences set listened = true where workspace_id = ${ws}`.execute(db);
    const sample = (
      await sql<{ id: string }>`select id from bench_ids where n % 9973 = 0 limit 200`.execute(db)
    ).rows.map((r) => r.id);
    const reevaluations: number[] = [];
    for (const id of sample) {
      started = performance.now();
      await reevaluateContacts(db, ws, [id], "event");
      reevaluations.push(performance.now() - started);
    }
    const p50 = percentile(reevaluations, 0.5);
    const p99 = percentile(reevaluations, 0.99);
    console.error(
      `re-evaluate one contact against 50 listened segments: p50 ${round(p50, 1)} ms, p99 ${round(p99, 1)} ms`,
    );

    const ratio = median(product) / median(baseline);
    printReport({
      bench: "audiences",
      figures: {
        compiledCountMs: round(median(product)),
        reevaluateP50Ms: round(p50, 1),
        reevaluateP99Ms: round(p99, 1),
        contacts,
        events,
      },
      baselines: { handWrittenCountMs: round(median(baseline)) },
      ratios: { compiledVsHandWritten: round(ratio, 2) },
      goals: { compiledCountMs: "< 500", compiledVsHandWritten: "<= 1.5", reevaluateP99Ms: "< 50" },
      met: median(product) < 500 && ratio <= 1.5 && p99 < 50,
    });
  } finally {
    await handle.close();
    await bench.close();
  }
}
