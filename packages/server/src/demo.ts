/**
 * `omneural demo`: a whole campaign on the dev-inbox providers within a minute or two. It creates a demo
 * workspace with realistic contacts, templates for all four channels, a workflow with a click branch
 * and an A/B split, launches it with time compressed to seconds, clicks some of the emails through the
 * real tracking redirect (as recipients would), and shows progress until every member is through.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { createAdDestination } from "@omneural/core/ads/ad-destination.service";
import { createCampaign, getCampaign, launchCampaign } from "@omneural/core/campaigns/campaign.service";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { Db } from "@omneural/core/db/database";
import { setDeliveryPolicy } from "@omneural/core/delivery/policy.service";
import { setSender } from "@omneural/core/delivery/sender.service";
import type { Keys } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { createTemplate } from "@omneural/core/templates/template.service";
import { clickToken } from "@omneural/core/tracking/tokens";
import { createWorkflow, publishWorkflow } from "@omneural/core/workflows/workflow.service";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import { sql } from "kysely";

export interface DemoOptions {
  contacts: number;
  /** How long a member waits for a click before taking the other branch. */
  waitSeconds: number;
  /** The share of delivered emails the demo clicks. */
  clickShare: number;
}

export interface DemoWorld {
  ws: WorkspaceContext;
  apiKey: string;
  campaignId: string;
  audienceId: string;
}

const FIRST = [
  "Ada",
  "Grace",
  "Alan",
  "Edsger",
  "Barbara",
  "Donald",
  "Margaret",
  "Linus",
  "Katherine",
  "Dennis",
  "Frances",
  "Ken",
  "Radia",
  "Tim",
  "Hedy",
  "John",
  "Sophie",
  "Guido",
  "Anita",
  "Bjarne",
];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Hamilton",
  "Torvalds",
  "Johnson",
  "Ritchie",
  "Allen",
  "Thompson",
  "Perlman",
  "Berners-Lee",
  "Lamarr",
  "McCarthy",
  "Wilson",
  "van Rossum",
  "Borg",
  "Stroustrup",
];
/** City, state, ZIP, time zone. */
const CITIES: [string, string, string, string][] = [
  ["New York", "NY", "10001", "America/New_York"],
  ["Boston", "MA", "02108", "America/New_York"],
  ["Chicago", "IL", "60601", "America/Chicago"],
  ["Austin", "TX", "73301", "America/Chicago"],
  ["Denver", "CO", "80202", "America/Denver"],
  ["Phoenix", "AZ", "85001", "America/Phoenix"],
  ["Seattle", "WA", "98101", "America/Los_Angeles"],
  ["San Francisco", "CA", "94105", "America/Los_Angeles"],
  ["Anchorage", "AK", "99501", "America/Anchorage"],
  ["Honolulu", "HI", "96813", "Pacific/Honolulu"],
];

const EMAIL_MJML = `<mjml>
  <mj-body background-color="#f4f4f4">
    <mj-section background-color="#0b5fff" padding="24px 0">
      <mj-column>
        <mj-text align="center" color="#ffffff" font-size="24px" font-weight="bold">Hello {{ firstName | default: "there" }}!</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text font-size="15px" line-height="24px">Our spring collection is here, with free delivery for members this week.</mj-text>
        <mj-button background-color="#ff5a1f" href="https://shop.example.com/spring?utm_source=omneural-demo">Shop the collection</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;

/** Creates the demo workspace, its contacts, templates, workflow and campaign, and launches it. */
export async function seedDemo(
  db: Db,
  keys: Keys,
  options: DemoOptions,
  now = new Date(),
): Promise<DemoWorld> {
  const stamp = now.toISOString().slice(0, 19).replace("T", " ");
  const created = await createWorkspace(db, {
    name: `Demo ${stamp}`,
    defaultCountry: "US",
    defaultTimezone: "America/New_York",
  });
  const ws: WorkspaceContext = {
    id: created.workspace.id,
    defaultCountry: "US",
    defaultTimezone: "America/New_York",
  };
  await setSender(db, ws, {
    fromName: "Acme Outfitters",
    fromAddress: "news@acme.example",
    replyTo: "hello@acme.example",
    postalAddress: "Acme Outfitters\n1 Market St\nSan Francisco, CA 94105",
    smsFrom: "+14155550100",
  });
  // The demo runs at any hour: SMS quiet hours (08:00–21:00 by default) would hold some texts back.
  await setDeliveryPolicy(db, ws, "sms", { allowedHours: null, frequencyCap: null });

  const audienceId = uuidv7();
  await db.transaction().execute(async (trx) => {
    await sql`insert into audiences (workspace_id, id, name, kind)
              values (${ws.id}, ${audienceId}, 'Spring launch list', 'list')`.execute(trx);
    await sql`
      with people as (
        select i,
          (${FIRST}::text[])[1 + i % ${FIRST.length}] as first_name,
          (${LAST}::text[])[1 + (i / ${FIRST.length}) % ${LAST.length}] as last_name,
          (${CITIES.map((c) => c[0])}::text[])[1 + i % ${CITIES.length}] as city,
          (${CITIES.map((c) => c[1])}::text[])[1 + i % ${CITIES.length}] as region,
          (${CITIES.map((c) => c[2])}::text[])[1 + i % ${CITIES.length}] as postal_code,
          (${CITIES.map((c) => c[3])}::text[])[1 + i % ${CITIES.length}] as timezone
        from generate_series(1, ${options.contacts}) as i
      ), made as (
        insert into contacts (workspace_id, id, email, phone, first_name, last_name, address_line1, city, region,
                              postal_code, country, timezone, email_consent, sms_consent, mail_consent, ads_consent,
                              attributes)
        select ${ws.id}, gen_random_uuid(),
               lower(replace(first_name || '.' || last_name, ' ', '')) || i || '@example.com',
               '+1415' || lpad(i::text, 7, '0'),
               first_name, last_name, (100 + i % 900) || ' Main Street', city, region, postal_code, 'US', timezone,
               case when i % 20 = 0 then 'unsubscribed' else 'subscribed' end,
               case when i % 3 = 0 then 'never_asked' else 'subscribed' end,
               'subscribed', 'subscribed',
               jsonb_build_object('plan', (array['free', 'pro', 'team'])[1 + i % 3], 'orders', i % 7)
        from people
        returning id
      )
      insert into list_members (workspace_id, list_id, contact_id) select ${ws.id}, ${audienceId}, id from made`.execute(
      trx,
    );
  });

  const email = await createTemplate(db, ws, {
    name: "Spring launch email",
    channel: "email",
    content: {
      subject: "{{ firstName }}, the spring collection is here",
      preheader: "Free delivery this week",
      mjml: EMAIL_MJML,
    },
  });
  const sms = await createTemplate(db, ws, {
    name: "Thanks for looking",
    channel: "sms",
    content: {
      body: "Thanks for looking, {{ firstName }}! 10% off today with code SPRING: https://shop.example.com/spring",
    },
  });
  const letter = await createTemplate(db, ws, {
    name: "Spring letter",
    channel: "mail",
    content: {
      layout: "letter",
      body: "Dear {{ firstName }},\n\nThe spring collection is in our {{ address.city }} store. Scan the code or visit {{ purl }} for 15% off.\n\nAcme Outfitters",
    },
  });
  const retargeting = await createAdDestination(
    db,
    ws,
    { name: "Retargeting: did not click", platform: "csv" },
    { credentialsKey: keys.credentials },
  );
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "email" } },
      {
        id: "email",
        type: "send",
        label: "Spring email",
        channel: "email",
        templateId: email.id,
        outlets: { next: "clicked" },
      },
      {
        id: "clicked",
        type: "wait_for",
        label: "Clicked?",
        for: { kind: "response", response: "clicked", sendNodeId: "email" },
        timeout: { seconds: options.waitSeconds },
        outlets: { matched: "thanks", timed_out: "ab" },
      },
      {
        id: "thanks",
        type: "send",
        label: "Thank-you SMS",
        channel: "sms",
        templateId: sms.id,
        outlets: { next: "done" },
      },
      {
        id: "ab",
        type: "split",
        label: "Letter or ads",
        branches: [
          { key: "letter", weight: 50 },
          { key: "ads", weight: 50 },
        ],
        outlets: { letter: "letter", ads: "ads" },
      },
      {
        id: "letter",
        type: "send",
        label: "Letter",
        channel: "mail",
        templateId: letter.id,
        outlets: { next: "done" },
      },
      {
        id: "ads",
        type: "send",
        label: "Retargeting",
        channel: "ads",
        destination: retargeting.id,
        outlets: { next: "done" },
      },
      { id: "done", type: "exit", outlets: {} },
    ],
  } as WorkflowGraph;
  const workflow = await createWorkflow(db, ws, { name: "Spring launch journey", graph });
  await publishWorkflow(db, ws, workflow.id);
  const campaign = await createCampaign(db, ws, {
    name: "Spring launch (demo)",
    audienceId,
    workflowId: workflow.id,
  });
  await launchCampaign(db, ws, campaign.id, now);
  return { ws, apiKey: created.apiKey, campaignId: campaign.id, audienceId };
}

/**
 * Clicks the emails of the campaign that were sent and not yet clicked by the demo, for a stable share of
 * the members, through the tracking redirect of the running server. Returns how many it clicked.
 */
export async function clickSomeEmails(
  db: Db,
  world: DemoWorld,
  keys: Keys,
  baseUrl: string,
  share: number,
  clicked: Set<string>,
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    select id from messages
    where workspace_id = ${world.ws.id} and campaign_id = ${world.campaignId} and channel = 'email'
      and status = 'sent'`.execute(db);
  let n = 0;
  for (const { id } of rows) {
    if (clicked.has(id)) continue;
    clicked.add(id);
    // A stable share: the last hex digits of the id, as a fraction.
    if (Number.parseInt(id.slice(-4), 16) / 0xffff >= share) continue;
    const token = clickToken(keys.links, {
      workspaceId: world.ws.id,
      messageId: id,
      index: 0,
      url: "https://shop.example.com/spring?utm_source=omneural-demo",
    });
    const response = await fetch(`${baseUrl}/t/c/${token}`, { redirect: "manual" });
    if (response.status >= 300 && response.status < 400) n++;
  }
  return n;
}

export interface DemoProgress {
  enrolled: number;
  finished: number;
  /** Messages not yet decided: queued or being sent. */
  pending: number;
  byNode: Record<string, number>;
  messages: Record<string, Record<string, number>>;
}

export async function demoProgress(db: Db, world: DemoWorld): Promise<DemoProgress> {
  const campaign = await getCampaign(db, world.ws, world.campaignId);
  const byNode: Record<string, number> = {};
  for (const c of campaign.counts.byNode) byNode[`${c.nodeId}:${c.state}`] = c.count;
  const finished =
    (campaign.counts.byState.completed ?? 0) +
    (campaign.counts.byState.converted ?? 0) +
    (campaign.counts.byState.failed ?? 0) +
    (campaign.counts.byState.cancelled ?? 0);
  let pending = 0;
  for (const statuses of Object.values(campaign.counts.messages)) {
    pending += (statuses.queued ?? 0) + (statuses.sending ?? 0);
  }
  return { enrolled: campaign.enrolled, finished, pending, byNode, messages: campaign.counts.messages };
}

/** One line of progress: members through, and messages per channel. */
export function formatProgress(p: DemoProgress, clicks: number): string {
  const channels = ["email", "sms", "mail", "ads"].map((c) => `${c} ${p.messages[c]?.sent ?? 0}`).join(" · ");
  const pct = p.enrolled ? Math.round((p.finished / p.enrolled) * 100) : 0;
  const pending = p.pending ? ` · ${p.pending} to send` : "";
  return `${p.finished}/${p.enrolled} members through (${pct}%) · sent: ${channels}${pending} · clicks ${clicks}`;
}
