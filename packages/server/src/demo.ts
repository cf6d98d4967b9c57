/**
 * `omneural demo`: a whole campaign on the dev-inbox providers within a minute or two. It creates a demo
 * workspace with realistic contacts, templates for all four channels, a workflow whose first step is an
 * A/B test of two emails (decided on clicks with a z-test when its compressed window ends), a wait for a
 * click and a branch, and a campaign with a 10 % holdout and a purchase goal. It launches it with time
 * compressed to seconds, plays the recipients as it runs (opens and clicks through the real tracking
 * links, purchases through the events API, fewer in the holdout), shows progress until every member is
 * through, then prints a summary read from the campaign's report and where to look.
 */
import { createHash, randomBytes } from "node:crypto";
import type { CampaignReport } from "@omneural/contracts/reports";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { createAdDestination } from "@omneural/core/ads/ad-destination.service";
import { createCampaign, getCampaign, launchCampaign } from "@omneural/core/campaigns/campaign.service";
import type { ExperimentStatistics } from "@omneural/core/campaigns/experiment";
import { listExperiments } from "@omneural/core/campaigns/experiment.service";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import type { Db } from "@omneural/core/db/database";
import { setDeliveryPolicy } from "@omneural/core/delivery/policy.service";
import { setSender } from "@omneural/core/delivery/sender.service";
import { getCampaignReport } from "@omneural/core/reports/report.service";
import { SCANNER_CLICK_WINDOW_MS } from "@omneural/core/responses/machine-activity";
import type { Keys } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { createTemplate } from "@omneural/core/templates/template.service";
import { clickToken, openToken } from "@omneural/core/tracking/tokens";
import { hashPassword } from "@omneural/core/users/password";
import {
  findFirstUser,
  insertMember,
  insertUser,
  lockSetup,
  setUserPassword,
} from "@omneural/core/users/user.repository";
import { createWorkflow, publishWorkflow } from "@omneural/core/workflows/workflow.service";
import { createWorkspace } from "@omneural/core/workspaces/workspace.service";
import { sql } from "kysely";

export interface DemoOptions {
  contacts: number;
  /** How long the A/B test runs before the members who waited get the winner. */
  windowSeconds: number;
  /** How long a member waits for a click before taking the other branch. */
  waitSeconds: number;
}

/** The campaign's settings and the A/B test, fixed so that the demo tells the same story every time. */
export const DEMO_CAMPAIGN = {
  name: "Spring launch (demo)",
  holdoutPercent: 10,
  goal: { eventType: "purchase", windowDays: 7 },
  /** Share of the members who take a variant at once; the others wait for the winner. */
  testPercent: 50,
  splitNodeId: "subject",
} as const;

/**
 * The simulated recipients. A share of each variant's emails is opened and a smaller one clicked
 * ("b", 20 % off, is clicked three times as often); some clickers then buy, and a few members buy
 * anyway, held out or not.
 */
export const DEMO_READERS = {
  variants: {
    a: { open: 0.36, click: 0.08 },
    b: { open: 0.5, click: 0.24 },
  } as Record<string, { open: number; click: number }>,
  buyAfterClick: 0.35,
  buyAnyway: 0.04,
};

/**
 * Readers open an email this long after it was sent, not sooner: the response writer takes a click
 * within SCANNER_CLICK_WINDOW_MS of sending for a link scanner's and leaves it out of the figures.
 */
export const READ_DELAY_SECONDS = Math.ceil(SCANNER_CLICK_WINDOW_MS / 1000) + 1;

/** A wait for a click shorter than this would end before the readers click. */
export const MIN_WAIT_SECONDS = READ_DELAY_SECONDS + 4;

const BROWSER =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

/** Who can open the demo workspace in the web app. */
export type DemoWebAccess =
  | { kind: "demo-user"; email: string; password: string }
  | { kind: "first-user"; email: string; name: string };

/** The web app's demo user, made when the installation has no user yet. */
export const DEMO_USER_EMAIL = "demo@omneural.example";

export interface DemoWorld {
  ws: WorkspaceContext;
  workspaceName: string;
  apiKey: string;
  web: DemoWebAccess;
  campaignId: string;
  audienceId: string;
  /** Each email node of the A/B test: its variant and the link its button leads to. */
  emails: Record<string, { variant: string; url: string }>;
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

function emailMjml(headline: string, text: string, button: string, href: string) {
  return `<mjml>
  <mj-body background-color="#f4f4f4">
    <mj-section background-color="#0b5fff" padding="24px 0">
      <mj-column>
        <mj-text align="center" color="#ffffff" font-size="24px" font-weight="bold">${headline}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text font-size="15px" line-height="24px">${text}</mj-text>
        <mj-button background-color="#ff5a1f" href="${href}">${button}</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
}

const SHOP_A = "https://shop.example.com/spring?utm_source=omneural-demo&utm_content=a";
const SHOP_B = "https://shop.example.com/spring?utm_source=omneural-demo&utm_content=b";

/**
 * Makes the demo workspace visible in the web app. On an installation with no user yet (a fresh
 * `npm run demo`), a demo user owns it, with a new random password (printed in the summary); the demo
 * user of an earlier run gets a new one. Otherwise the first user who set Omneural up becomes an owner
 * of it, and finds it in the workspace menu. Serialised with the first-user setup.
 */
export async function grantWebAccess(db: Db, workspaceId: string): Promise<DemoWebAccess> {
  const password = randomBytes(12).toString("base64url");
  const passwordHash = await hashPassword(password);
  return db.transaction().execute(async (trx) => {
    await lockSetup(trx);
    const first = await findFirstUser(trx);
    if (first && first.email.toLowerCase() !== DEMO_USER_EMAIL) {
      await insertMember(trx, { workspaceId, userId: first.id, role: "owner" });
      return { kind: "first-user", email: first.email, name: first.name };
    }
    let userId = first?.id;
    if (userId) await setUserPassword(trx, userId, passwordHash);
    else userId = (await insertUser(trx, { email: DEMO_USER_EMAIL, name: "Demo", passwordHash })).id;
    await insertMember(trx, { workspaceId, userId, role: "owner" });
    return { kind: "demo-user", email: DEMO_USER_EMAIL, password };
  });
}

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

  const emailA = await createTemplate(db, ws, {
    name: "Spring launch email (a: the collection)",
    channel: "email",
    content: {
      subject: "{{ firstName }}, the spring collection is here",
      preheader: "Free delivery this week",
      mjml: emailMjml(
        'Hello {{ firstName | default: "there" }}!',
        "Our spring collection is here, with free delivery for members this week.",
        "Shop the collection",
        SHOP_A,
      ),
    },
  });
  const emailB = await createTemplate(db, ws, {
    name: "Spring launch email (b: 20% off)",
    channel: "email",
    content: {
      subject: "{{ firstName }}, 20% off the spring collection, this week only",
      preheader: "Your code is inside",
      mjml: emailMjml(
        '{{ firstName | default: "Hello" }}, take 20% off',
        "This week only: 20% off the whole spring collection with code SPRING20, and free delivery.",
        "Take 20% off",
        SHOP_B,
      ),
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
      { id: "entry", type: "entry", outlets: { next: DEMO_CAMPAIGN.splitNodeId } },
      {
        id: DEMO_CAMPAIGN.splitNodeId,
        type: "split",
        label: "A/B test: collection or 20% off",
        branches: [
          { key: "a", weight: 50 },
          { key: "b", weight: 50 },
        ],
        experiment: {
          testPercent: DEMO_CAMPAIGN.testPercent,
          window: { seconds: options.windowSeconds },
          metric: "click",
          confidence: 0.95,
          fallback: "a",
        },
        outlets: { a: "email_a", b: "email_b" },
      },
      {
        id: "email_a",
        type: "send",
        label: "Email a: the collection",
        channel: "email",
        templateId: emailA.id,
        outlets: { next: "clicked" },
      },
      {
        id: "email_b",
        type: "send",
        label: "Email b: 20% off",
        channel: "email",
        templateId: emailB.id,
        outlets: { next: "clicked" },
      },
      {
        id: "clicked",
        type: "wait_for",
        label: "Clicked?",
        for: { kind: "response", response: "clicked" },
        timeout: { seconds: options.waitSeconds },
        outlets: { matched: "thanks", timed_out: "loyal" },
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
        id: "loyal",
        type: "condition",
        label: "4 orders or more?",
        rule: {
          kind: "field",
          field: "attributes.orders",
          type: "number",
          condition: { op: "gte", value: 4 },
        },
        outlets: { yes: "letter", no: "ads" },
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
    name: DEMO_CAMPAIGN.name,
    audienceId,
    workflowId: workflow.id,
    holdoutPercent: DEMO_CAMPAIGN.holdoutPercent,
    goal: { ...DEMO_CAMPAIGN.goal },
  });
  await launchCampaign(db, ws, campaign.id, now);
  return {
    ws,
    workspaceName: created.workspace.name,
    apiKey: created.apiKey,
    web: await grantWebAccess(db, ws.id),
    campaignId: campaign.id,
    audienceId,
    emails: { email_a: { variant: "a", url: SHOP_A }, email_b: { variant: "b", url: SHOP_B } },
  };
}

/** A stable fraction in [0, 1) for a text: who buys anyway, and when, is the same on every run. */
function fractionOf(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0) / 2 ** 32;
}

/** The fractional parts of n·φ spread evenly over [0, 1): each variant gets its shares almost exactly. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** Runs `task` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

interface Purchase {
  id: string;
  contactId: string;
  type: "purchase";
  properties: { value: number; currency: string; source: string };
}

/**
 * The demo's recipients, as the running server sees them: each email of the A/B test is read once it
 * is READ_DELAY_SECONDS old, opened and clicked through the tracking endpoints with a browser's user
 * agent by each variant's shares; some clickers buy at once, and a few members (holdout included) buy
 * anyway at some moment of the run; purchases go through the events API with the workspace's key.
 */
export class DemoRecipients {
  readonly tally = { opened: 0, clicked: 0, bought: 0 };
  private readonly read = new Set<string>();
  private readonly readPerVariant = new Map<string, number>();
  private readonly buyers = new Set<string>();
  private readFrom = new Date(0);
  /** Members who buy whatever they get, each at a moment of the run (ms since launch). */
  private buyAnyway: { contactId: string; atMs: number }[] | undefined;

  constructor(
    private readonly db: Db,
    private readonly world: DemoWorld,
    private readonly keys: Keys,
    private readonly baseUrl: string,
    private readonly launchedAt: number,
    /** Over how long after launch the members who buy anyway do so. */
    private readonly spanMs: number,
  ) {}

  /** Reads the emails due now and sends the purchases due now. */
  async step(now = Date.now()) {
    const purchases = [...(await this.readEmails()), ...(await this.dueBuyAnyway(now))];
    await this.buy(purchases);
  }

  /** Sends the purchases of members who buy anyway that are still to come. */
  async finish() {
    await this.buy(await this.dueBuyAnyway(Number.POSITIVE_INFINITY));
  }

  private async readEmails(): Promise<Purchase[]> {
    const { world } = this;
    // Rows a second dispatcher committed a moment late are caught by the overlap; `read` skips the rest.
    const since = new Date(this.readFrom.getTime() - 5000);
    const { rows } = await sql<{ id: string; node_id: string; contact_id: string; sent_at: Date }>`
      select id, node_id, contact_id, sent_at from messages
      where workspace_id = ${world.ws.id} and campaign_id = ${world.campaignId} and channel = 'email'
        and status = 'sent' and sent_at > ${since}
        and sent_at <= now() - make_interval(secs => ${READ_DELAY_SECONDS})
      order by sent_at, id`.execute(this.db);
    const purchases: Purchase[] = [];
    const reads: { id: string; url: string; open: boolean; click: boolean }[] = [];
    for (const row of rows) {
      if (row.sent_at > this.readFrom) this.readFrom = row.sent_at;
      if (this.read.has(row.id)) continue;
      this.read.add(row.id);
      const email = world.emails[row.node_id];
      const shares = email && DEMO_READERS.variants[email.variant];
      if (!email || !shares) continue;
      const n = (this.readPerVariant.get(email.variant) ?? 0) + 1;
      this.readPerVariant.set(email.variant, n);
      const u = (n * GOLDEN) % 1;
      reads.push({ id: row.id, url: email.url, open: u < shares.open, click: u < shares.click });
      if (u < shares.click * DEMO_READERS.buyAfterClick) purchases.push(this.purchase(row.contact_id));
    }
    const headers = { "user-agent": BROWSER };
    await eachLimited(reads, 8, async (r) => {
      const token = { workspaceId: world.ws.id, messageId: r.id };
      if (r.open) {
        const opened = await fetch(`${this.baseUrl}/t/o/${openToken(this.keys.links, token)}`, { headers });
        await opened.arrayBuffer();
        if (opened.ok) this.tally.opened++;
      }
      if (r.click) {
        const link = clickToken(this.keys.links, { ...token, index: 0, url: r.url });
        const clicked = await fetch(`${this.baseUrl}/t/c/${link}`, { headers, redirect: "manual" });
        await clicked.arrayBuffer();
        if (clicked.status >= 300 && clicked.status < 400) this.tally.clicked++;
      }
    });
    return purchases;
  }

  private async dueBuyAnyway(now: number): Promise<Purchase[]> {
    if (!this.buyAnyway) {
      const { rows } = await sql<{ contact_id: string }>`
        select contact_id from enrollments
        where workspace_id = ${this.world.ws.id} and campaign_id = ${this.world.campaignId}`.execute(this.db);
      this.buyAnyway = rows
        .filter((r) => fractionOf(`buys:${r.contact_id}`) < DEMO_READERS.buyAnyway)
        .map((r) => ({ contactId: r.contact_id, atMs: fractionOf(`when:${r.contact_id}`) * this.spanMs }));
    }
    const due = this.buyAnyway.filter((b) => this.launchedAt + b.atMs <= now);
    this.buyAnyway = this.buyAnyway.filter((b) => this.launchedAt + b.atMs > now);
    return due.map((b) => this.purchase(b.contactId));
  }

  private purchase(contactId: string): Purchase {
    return {
      id: `demo-purchase:${contactId}`,
      contactId,
      type: "purchase",
      properties: {
        value: 40 + Math.round(fractionOf(`value:${contactId}`) * 160),
        currency: "USD",
        source: "omneural demo",
      },
    };
  }

  /** Posts purchases to the events API, one each per member at most. */
  private async buy(purchases: Purchase[]) {
    const fresh = purchases.filter((p) => !this.buyers.has(p.contactId));
    for (let i = 0; i < fresh.length; i += 1000) {
      const events = fresh.slice(i, i + 1000);
      const response = await fetch(`${this.baseUrl}/api/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.world.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ events }),
      });
      if (!response.ok) throw new Error(`POST /api/v1/events: ${response.status} ${await response.text()}`);
      const result = (await response.json()) as { accepted: number };
      this.tally.bought += result.accepted;
      for (const e of events) this.buyers.add(e.contactId);
    }
  }
}

export interface DemoProgress {
  enrolled: number;
  finished: number;
  /** Messages not yet decided: queued or being sent. */
  pending: number;
  /** Members at the A/B split now: waiting for its winner. */
  awaitingWinner: number;
  byNode: Record<string, number>;
  messages: Record<string, Record<string, number>>;
  experiment: { status: "testing" | "decided"; winner: string | null; reason: string | null } | null;
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
  const experiment = (await listExperiments(db, world.ws.id, world.campaignId)).find(
    (e) => e.nodeId === DEMO_CAMPAIGN.splitNodeId,
  );
  return {
    enrolled: campaign.enrolled,
    finished,
    pending,
    awaitingWinner: byNode[`${DEMO_CAMPAIGN.splitNodeId}:active`] ?? 0,
    byNode,
    messages: campaign.counts.messages,
    experiment: experiment
      ? { status: experiment.status, winner: experiment.winner, reason: experiment.reason }
      : null,
  };
}

const CHANNELS = ["email", "sms", "mail", "ads"];

/** One line of progress: members through, messages per channel, and what the recipients did. */
export function formatProgress(p: DemoProgress, tally: DemoRecipients["tally"]): string {
  const channels = CHANNELS.map((c) => `${c} ${p.messages[c]?.sent ?? 0}`).join(" · ");
  const pct = p.enrolled ? Math.round((p.finished / p.enrolled) * 100) : 0;
  const waiting = p.awaitingWinner ? ` · ${p.awaitingWinner} await the A/B winner` : "";
  const pending = p.pending ? ` · ${p.pending} to send` : "";
  return `${p.finished}/${p.enrolled} members through (${pct}%)${waiting} · sent: ${channels}${pending} · opened ${tally.opened} · clicked ${tally.clicked} · bought ${tally.bought}`;
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const pValue = (p: number) => (p < 0.0001 ? `p = ${p.toExponential(1)}` : `p = ${p.toFixed(4)}`);
const signed = (n: number, digits: number) => `${n >= 0 ? "+" : "−"}${Math.abs(n).toFixed(digits)}`;

/**
 * The summary the demo ends with, read from the campaign's report: totals, each variant's figures and the
 * experiment's decision, and the holdout's lift. `holdoutMessages`: messages to holdout members that
 * were not skipped (there should be none).
 */
export function summarizeReport(report: CampaignReport, holdoutMessages: number): string[] {
  const t = report.totals;
  const sentBy = new Map(report.byChannel.map((c) => [c.channel, c.figures.sent]));
  const lines = [
    `  ${report.members.entered} members · sent ${t.sent} (${CHANNELS.map((c) => `${c} ${sentBy.get(c) ?? 0}`).join(" · ")}) · opened ${t.opened} · clicked ${t.clicked} · converted ${t.converted}`,
    `  A/B test, each variant's test and rollout members together:`,
  ];
  for (const v of report.variants.filter((v) => v.splitNodeId === DEMO_CAMPAIGN.splitNodeId)) {
    lines.push(
      `    "${v.branch}": ${v.members} members · sent ${v.figures.sent} · opened ${v.figures.opened} (${percent(v.openRate.value)}) · clicked ${v.figures.clicked} (${percent(v.clickRate.value)})`,
    );
  }
  const experiment = report.experiments.find((e) => e.nodeId === DEMO_CAMPAIGN.splitNodeId);
  const stats = experiment?.statistics as ExperimentStatistics | null | undefined;
  if (!experiment?.winner || !stats) {
    lines.push("    not decided yet");
  } else if (stats.significant && stats.best === experiment.winner) {
    const winner = stats.variants.find((v) => v.key === experiment.winner)!;
    for (const c of stats.comparisons) {
      const other = stats.variants.find((v) => v.key === c.against)!;
      lines.push(
        `    winner "${winner.key}" on clicks: ${percent(winner.rate)} of its ${winner.members} test members vs ${percent(other.rate)} of ${other.members} for "${other.key}", ${pValue(c.pValue)} (z-test, ${stats.confidence * 100}% confidence)`,
      );
    }
  } else {
    lines.push(`    winner "${experiment.winner}": ${experiment.reason}`);
  }
  const h = report.holdout;
  if (h) {
    lines.push(
      `  Holdout (${h.percent}%): ${h.holdout.members} members, ${holdoutMessages} messages to them (${report.skippedByReason.holdout ?? 0} sends skipped)`,
    );
    const relative = h.lift.relative === null ? "" : ` (${signed(h.lift.relative * 100, 0)}%)`;
    lines.push(
      `    ${h.goal.replace(/^event /, "")} within ${DEMO_CAMPAIGN.goal.windowDays} days: ${percent(h.treatment.rate.value)} of the others (${h.treatment.converted}/${h.treatment.members}) vs ${percent(h.holdout.rate.value)} of the holdout (${h.holdout.converted}/${h.holdout.members}): lift ${signed(h.lift.absolute.value * 100, 1)} points${relative}, ${pValue(h.lift.pValue)}${h.lift.significant ? "" : ", not significant at 95%"}`,
    );
  }
  return lines;
}

/** Messages to holdout members that were not skipped: the holdout gets nothing, so none. */
async function countHoldoutMessages(db: Db, world: DemoWorld): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from messages m
    join enrollments e
      on e.workspace_id = m.workspace_id and e.campaign_id = m.campaign_id and e.contact_id = m.contact_id
    where m.workspace_id = ${world.ws.id} and m.campaign_id = ${world.campaignId} and e.holdout
      and m.status <> 'skipped'`.execute(db);
  return rows[0]?.n ?? 0;
}

/** A member worth tracing: one who waited for the A/B winner and clicked it, if any. */
async function memberToTrace(db: Db, world: DemoWorld): Promise<string | undefined> {
  const { rows } = await sql<{ contact_id: string }>`
    select a.contact_id from split_assignments a
    join enrollments e
      on e.workspace_id = a.workspace_id and e.campaign_id = a.campaign_id and e.contact_id = a.contact_id
    where a.workspace_id = ${world.ws.id} and a.campaign_id = ${world.campaignId} and not e.holdout
    order by a.phase = 'rollout' desc,
      exists (select 1 from events ev
              where ev.workspace_id = a.workspace_id and ev.contact_id = a.contact_id
                and ev.campaign_id = ${world.campaignId}::text and ev.type = 'message.clicked') desc,
      a.contact_id
    limit 1`.execute(db);
  return rows[0]?.contact_id;
}

/** How often a progress line is printed at most (a line also needs something to have changed). */
const PROGRESS_EVERY_MS = 3000;

/**
 * Seeds and launches the demo campaign on the running server at `baseUrl`, plays its recipients, shows
 * progress until every member is through, then prints the report's summary and where to look.
 */
export async function runDemo(
  db: Db,
  keys: Keys,
  baseUrl: string,
  options: DemoOptions,
  out: (line?: string) => void = (line = "") => process.stdout.write(`${line}\n`),
) {
  const started = Date.now();
  const seconds = (ms: number) => Math.round(ms / 1000);
  out();
  out(
    `Creating a demo workspace: ${options.contacts} contacts, templates for email (two variants), SMS, direct mail and ads…`,
  );
  const world = await seedDemo(db, keys, options);
  const launchedAt = Date.now();
  const { holdoutPercent, goal, testPercent } = DEMO_CAMPAIGN;
  out(`Launched "${DEMO_CAMPAIGN.name}", time compressed to seconds:`);
  out(
    `  1. A/B test: ${testPercent}% of members get email "a" (the collection) or "b" (20% off) now; the others wait ${options.windowSeconds} s, then get the one clicked more (z-test, 95%).`,
  );
  out(
    `  2. Wait ${options.waitSeconds} s for a click: clickers get a thank-you SMS; the others a letter (4 orders or more) or a retargeting ad.`,
  );
  out(
    `  Holdout: ${holdoutPercent}% of members walk the journey but get nothing, to measure the lift in purchases (goal: ${goal.eventType} within ${goal.windowDays} days).`,
  );
  out(
    `Simulated recipients open and click through the real tracking links ${READ_DELAY_SECONDS} s or more after delivery (sooner is a link scanner), "b" about three times as often as "a"; some buy (POST /api/v1/events).`,
  );
  out();
  const recipients = new DemoRecipients(
    db,
    world,
    keys,
    baseUrl,
    launchedAt,
    (options.windowSeconds + options.waitSeconds) * 1000,
  );
  let lastLine = "";
  let lastPrinted = 0;
  let announced = false;
  for (;;) {
    await recipients.step();
    const progress = await demoProgress(db, world);
    const { experiment } = progress;
    if (!announced && experiment?.status === "decided") {
      announced = true;
      out(
        `  ${seconds(Date.now() - launchedAt)} s · A/B test decided: "${experiment.winner}", ${experiment.reason}; those who waited get "${experiment.winner}"`,
      );
    }
    const done =
      progress.enrolled > 0 &&
      progress.finished >= progress.enrolled &&
      progress.pending === 0 &&
      experiment?.status === "decided";
    const line = formatProgress(progress, recipients.tally);
    if (line !== lastLine && (done || Date.now() - lastPrinted >= PROGRESS_EVERY_MS)) {
      out(`  ${seconds(Date.now() - launchedAt)} s · ${line}`);
      lastLine = line;
      lastPrinted = Date.now();
    }
    if (done) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  await recipients.finish();

  const report = await getCampaignReport(db, world.ws, world.campaignId);
  const holdoutMessages = await countHoldoutMessages(db, world);
  const member = await memberToTrace(db, world);
  const campaign = `${baseUrl}/api/v1/campaigns/${world.campaignId}`;
  const auth = `curl -s -H "Authorization: Bearer $KEY"`;
  // One write, so that whoever reads the output gets the summary whole.
  out(
    [
      "",
      `Done in ${seconds(Date.now() - started)} s. From the campaign's report:`,
      ...summarizeReport(report, holdoutMessages),
      "",
      "Look around (the server keeps running; Ctrl-C stops it):",
      world.web.kind === "demo-user"
        ? `  In the web app: ${baseUrl}/ — sign in as ${world.web.email} with the password ${world.web.password}`
        : `  In the web app: ${baseUrl}/ — ${world.web.name} (${world.web.email}) owns "${world.workspaceName}": pick it in the workspace menu`,
      `  export KEY=${world.apiKey}`,
      `  ${auth} ${campaign}/report          # the report: per node, channel, variant, hour; experiment; lift`,
      `  ${auth} ${campaign}/report.csv      # the same as CSV`,
      ...(member
        ? [
            `  ${auth} "${baseUrl}/api/v1/contacts/${member}/trace?campaignId=${world.campaignId}"   # one member's journey, sends and responses`,
          ]
        : []),
      `  ${auth} "${baseUrl}/api/v1/outbox?channel=email&limit=1"   # an email as the dev inbox received it`,
      `  API docs: ${baseUrl}/api/docs`,
    ].join("\n"),
  );
}
