/**
 * The workspace overview (the web app's Home): campaigns in flight with their progress from the report
 * rollups (never the ledger), the latest responses, and what needs attention:
 *   - failed members of a campaign (retry them from the campaign's page);
 *   - a provider paused by its circuit breaker (messages wait until it recovers);
 *   - email or SMS that cannot go out because the sender identity or the SMS number is missing;
 *   - an import that failed in the last week.
 */
import type { AttentionItem, Overview } from "@omneural/contracts/overview";
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

const IN_FLIGHT = ["running", "scheduled", "paused"];
/** What a person did (deliveries are the provider's, not a response). */
const SHOWN_RESPONSES = [
  "opened",
  "clicked",
  "replied",
  "converted",
  "unsubscribed",
  "purl_visited",
  "bounced",
  "complained",
];

export async function getOverview(db: Executor, workspaceId: string, now = new Date()): Promise<Overview> {
  const campaigns = await campaignsInFlight(db, workspaceId);
  const attention: AttentionItem[] = [];

  for (const c of campaigns) {
    if (c.failed > 0) {
      attention.push({
        kind: "failed_members",
        severity: "error",
        title: `${c.failed.toLocaleString("en")} failed ${c.failed === 1 ? "member" : "members"} in ${c.name}`,
        detail: "A step could not be completed for them. See why on the campaign's page, then retry them.",
        href: `/campaigns/${c.id}`,
        campaignId: c.id,
        count: c.failed,
      });
    }
  }

  const { rows: paused } = await sql<{ channel: string; n: number; until: Date }>`
    select channel, count(*)::int as n, max(next_attempt_at) as until from messages
    where workspace_id = ${workspaceId} and status = 'queued' and next_attempt_at > ${now}
      and reason like '%(circuit breaker)'
    group by channel order by channel`.execute(db);
  for (const p of paused) {
    attention.push({
      kind: "provider_paused",
      severity: "warning",
      title: `The ${p.channel} provider keeps failing`,
      detail: `Sending on ${p.channel} is paused until about ${p.until.toISOString().slice(11, 16)} UTC; ${p.n.toLocaleString("en")} ${p.n === 1 ? "message waits" : "messages wait"} and will go out when it recovers. Check the provider's credentials and status.`,
      href: "/settings/providers",
      campaignId: null,
      count: p.n,
    });
  }

  attention.push(...(await missingSettings(db, workspaceId, campaigns)));

  const { rows: imports } = await sql<{ id: string; filename: string | null; error: string | null }>`
    select id, filename, error from imports
    where workspace_id = ${workspaceId} and status = 'failed'
      and created_at > ${new Date(now.getTime() - 7 * 86_400_000)}
    order by created_at desc limit 3`.execute(db);
  for (const i of imports) {
    attention.push({
      kind: "import_failed",
      severity: "warning",
      title: `The import of ${i.filename ?? "a CSV file"} failed`,
      detail: i.error ?? "Nothing of it was imported. Check the file and import it again.",
      href: "/contacts",
      campaignId: null,
      count: 1,
    });
  }

  return {
    campaigns: campaigns.map(({ channels: _channels, ...c }) => c),
    recentResponses: await recentResponses(db, workspaceId),
    attention,
  };
}

interface CampaignInFlight {
  id: string;
  name: string;
  status: string;
  enrolled: number;
  active: number;
  completed: number;
  failed: number;
  messagesSent: number;
  updatedAt: string;
  /** The channels its workflow version sends on. */
  channels: string[];
}

async function campaignsInFlight(db: Executor, workspaceId: string): Promise<CampaignInFlight[]> {
  const { rows } = await sql<{
    id: string;
    name: string;
    status: string;
    enrolled: number;
    updated_at: Date;
    channels: string[] | null;
    active: number | null;
    completed: number | null;
    failed: number | null;
    sent: number | null;
  }>`
    with c as (
      select id, name, status, enrolled, updated_at, workflow_id, workflow_version from campaigns
      where workspace_id = ${workspaceId} and status = any(${IN_FLIGHT}::text[])
      order by updated_at desc limit 20
    ), figures as (
      select r.campaign_id,
             sum(r.count) filter (where r.metric = 'members' and r.dim = 'active') as active,
             sum(r.count) filter (where r.metric = 'members' and r.dim in ('completed', 'converted')) as completed,
             sum(r.count) filter (where r.metric = 'members' and r.dim = 'failed') as failed,
             sum(r.count) filter (where r.metric = 'sent') as sent
      from (
        select campaign_id, metric, dim, count from report_counts
        where workspace_id = ${workspaceId} and campaign_id in (select id from c) and metric in ('members', 'sent')
        union all
        select campaign_id, metric, dim, count from report_deltas
        where workspace_id = ${workspaceId} and campaign_id in (select id from c) and metric in ('members', 'sent')
      ) r
      group by r.campaign_id
    )
    select c.id, c.name, c.status, c.enrolled, c.updated_at,
           f.active::int, f.completed::int, f.failed::int, f.sent::int,
           (select array_agg(distinct n ->> 'channel') from jsonb_array_elements(v.graph -> 'nodes') n
            where n ->> 'type' = 'send') as channels
    from c
    left join figures f on f.campaign_id = c.id
    left join workflow_versions v
      on v.workspace_id = ${workspaceId} and v.workflow_id = c.workflow_id and v.version = c.workflow_version
    order by c.updated_at desc`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    enrolled: r.enrolled,
    active: r.active ?? 0,
    completed: r.completed ?? 0,
    failed: r.failed ?? 0,
    messagesSent: r.sent ?? 0,
    updatedAt: r.updated_at.toISOString(),
    channels: (r.channels ?? []).filter(Boolean),
  }));
}

/** Campaigns in flight that send email without a sender identity, or SMS without a sender number. */
async function missingSettings(
  db: Executor,
  workspaceId: string,
  campaigns: CampaignInFlight[],
): Promise<AttentionItem[]> {
  const email = campaigns.filter((c) => c.channels.includes("email"));
  const sms = campaigns.filter((c) => c.channels.includes("sms"));
  if (!email.length && !sms.length) return [];
  const { rows } = await sql<{ sms_from: string | null }>`
    select sms_from from workspace_senders where workspace_id = ${workspaceId}`.execute(db);
  const sender = rows[0];
  const items: AttentionItem[] = [];
  const names = (list: CampaignInFlight[]) =>
    list
      .slice(0, 3)
      .map((c) => c.name)
      .join(", ") + (list.length > 3 ? ` and ${list.length - 3} more` : "");
  if (!sender && email.length) {
    items.push({
      kind: "missing_sender",
      severity: "error",
      title: "Email cannot go out: no sender identity",
      detail: `${names(email)} ${email.length === 1 ? "sends" : "send"} email, which must carry who it is from and a postal address. Set them in Settings → Sender.`,
      href: "/settings/sender",
      campaignId: email.length === 1 ? email[0]!.id : null,
      count: email.length,
    });
  }
  if (!sender?.sms_from && sms.length) {
    items.push({
      kind: "missing_sms_number",
      severity: "error",
      title: "Texts cannot go out: no SMS sender number",
      detail: `${names(sms)} ${sms.length === 1 ? "sends" : "send"} SMS. Set the number texts come from in Settings → Sender.`,
      href: "/settings/sender",
      campaignId: sms.length === 1 ? sms[0]!.id : null,
      count: sms.length,
    });
  }
  return items;
}

async function recentResponses(db: Executor, workspaceId: string): Promise<Overview["recentResponses"]> {
  const { rows } = await sql<{
    id: string;
    type: string;
    occurred_at: Date;
    contact_id: string;
    first_name: string | null;
    last_name: string | null;
    email: string | null;
    phone: string | null;
    campaign_id: string | null;
    campaign_name: string | null;
    channel: string | null;
    machine: boolean;
  }>`
    select e.id, e.type, e.occurred_at, e.contact_id, ct.first_name, ct.last_name, ct.email, ct.phone,
           k.id as campaign_id, k.name as campaign_name, e.channel,
           coalesce(e.properties ->> 'machine' = 'true', false) as machine
    from (
      -- The newest few of each kind through the (workspace, type, occurred_at) index, then the newest overall.
      select e.* from unnest(${SHOWN_RESPONSES.map((k) => `message.${k}`)}::text[]) as t(type)
      cross join lateral (
        select * from events ev
        where ev.workspace_id = ${workspaceId} and ev.type = t.type
        order by ev.occurred_at desc limit 10
      ) e
      order by e.occurred_at desc limit 10
    ) e
    join contacts ct on ct.workspace_id = e.workspace_id and ct.id = e.contact_id
    left join campaigns k on k.workspace_id = e.workspace_id
      and e.campaign_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      and k.id = e.campaign_id::uuid
    order by e.occurred_at desc`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    kind: r.type.slice("message.".length),
    at: r.occurred_at.toISOString(),
    contactId: r.contact_id,
    contactLabel: [r.first_name, r.last_name].filter(Boolean).join(" ") || r.email || r.phone || "A contact",
    campaignId: r.campaign_id,
    campaignName: r.campaign_name,
    channel: r.channel,
    machine: r.machine,
  }));
}
