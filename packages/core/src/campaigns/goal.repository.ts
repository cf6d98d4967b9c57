/** SQL of campaign goals: which events are goals, attribution to sent messages, and lift per enrollment. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

export interface GoalEvent {
  id: string;
  contactId: string;
  type: string;
  occurredAt: Date;
}

export interface AttributedMessage {
  messageId: string;
  campaignId: string;
  nodeId: string;
  channel: string;
}

/** Which of these event types are the goal of one of the workspace's campaigns. */
export async function selectGoalEventTypes(
  db: Executor,
  workspaceId: string,
  types: string[],
): Promise<Set<string>> {
  if (types.length === 0) return new Set();
  const { rows } = await sql<{ type: string }>`
    select distinct goal_event_type as type from campaigns
    where workspace_id = ${workspaceId} and goal_event_type = any(${types}::text[])`.execute(db);
  return new Set(rows.map((r) => r.type));
}

/**
 * For each goal event, by position: per campaign whose goal is its type, the latest of that campaign's
 * messages sent to the contact at or before the event and within the campaign's window.
 */
export async function findGoalMessages(
  db: Executor,
  workspaceId: string,
  events: GoalEvent[],
): Promise<{ index: number; message: AttributedMessage }[]> {
  if (events.length === 0) return [];
  const { rows } = await sql<{
    n: number;
    id: string;
    campaign_id: string;
    node_id: string;
    channel: string;
  }>`
    select r.n::int as n, m.id, m.campaign_id, m.node_id, m.channel
    from unnest(${events.map((e) => e.contactId)}::uuid[], ${events.map((e) => e.type)}::text[],
                ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[])
      with ordinality as r(contact_id, type, at, n)
    join campaigns c on c.workspace_id = ${workspaceId} and c.goal_event_type = r.type
    cross join lateral (
      select m.id, m.campaign_id, m.node_id, m.channel from messages m
      where m.workspace_id = ${workspaceId} and m.contact_id = r.contact_id and m.campaign_id = c.id
        and m.sent_at <= r.at and m.sent_at > r.at - make_interval(days => c.goal_window_days)
      order by m.sent_at desc, m.id desc
      limit 1
    ) m
    order by r.n, m.campaign_id`.execute(db);
  return rows.map((row) => ({
    index: row.n - 1,
    message: { messageId: row.id, campaignId: row.campaign_id, nodeId: row.node_id, channel: row.channel },
  }));
}

/**
 * For each (contact, time), by position: the contact's most recent message sent at or before that time
 * and within `windowDays` of it by a campaign without a goal (a campaign with one credits only its own
 * goal, see findGoalMessages), or null.
 */
export async function findLastSentMessagesWithoutGoal(
  db: Executor,
  workspaceId: string,
  conversions: { contactId: string; at: Date }[],
  windowDays: number,
): Promise<(AttributedMessage | null)[]> {
  const found: (AttributedMessage | null)[] = conversions.map(() => null);
  if (conversions.length === 0) return found;
  const { rows } = await sql<{
    n: number;
    id: string;
    campaign_id: string;
    node_id: string;
    channel: string;
  }>`
    select r.n::int as n, m.id, m.campaign_id, m.node_id, m.channel
    from unnest(${conversions.map((c) => c.contactId)}::uuid[], ${conversions.map((c) => c.at.toISOString())}::timestamptz[])
      with ordinality as r(contact_id, at, n)
    cross join lateral (
      select m.id, m.campaign_id, m.node_id, m.channel from messages m
      join campaigns c on c.workspace_id = m.workspace_id and c.id = m.campaign_id and c.goal_event_type is null
      where m.workspace_id = ${workspaceId} and m.contact_id = r.contact_id
        and m.sent_at <= r.at and m.sent_at > r.at - make_interval(days => ${windowDays}::int)
      order by m.sent_at desc, m.id desc
      limit 1
    ) m`.execute(db);
  for (const row of rows) {
    found[row.n - 1] = {
      messageId: row.id,
      campaignId: row.campaign_id,
      nodeId: row.node_id,
      channel: row.channel,
    };
  }
  return found;
}

/**
 * Records, for each enrollment these goal events fall in the window of (from enrolled_at to
 * goal_window_days after), its first goal event: holdout and treatment members alike. An earlier goal
 * event arriving later replaces a later one; a replayed event changes nothing.
 */
export async function insertCampaignConversions(
  db: Executor,
  workspaceId: string,
  events: GoalEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const result = await sql`
    insert into campaign_conversions (workspace_id, campaign_id, contact_id, iteration, event_id, holdout,
                                      converted_at)
    select distinct on (c.id, e.contact_id)
           ${workspaceId}, c.id, e.contact_id, e.iteration, r.id, e.holdout, r.at
    from unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.contactId)}::uuid[],
                ${events.map((e) => e.type)}::text[], ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[])
      as r(id, contact_id, type, at)
    join campaigns c on c.workspace_id = ${workspaceId} and c.goal_event_type = r.type
    join enrollments e on e.workspace_id = ${workspaceId} and e.campaign_id = c.id and e.contact_id = r.contact_id
    where r.at >= e.enrolled_at and r.at <= e.enrolled_at + make_interval(days => c.goal_window_days)
    order by c.id, e.contact_id, r.at, r.id
    on conflict (workspace_id, campaign_id, contact_id, iteration) do update
      set event_id = excluded.event_id, converted_at = excluded.converted_at
      where excluded.converted_at < campaign_conversions.converted_at`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export interface ConversionCounts {
  holdout: { members: number; converted: number };
  treatment: { members: number; converted: number };
}

/**
 * Lift's inputs: members (enrollments, each re-entry counting once more) and those of them that reached
 * the goal within its window of entry, in the holdout and in the treatment.
 */
export async function conversionCounts(
  db: Executor,
  workspaceId: string,
  campaignId: string,
): Promise<ConversionCounts> {
  const { rows } = await sql<{ holdout: boolean; members: number; converted: number }>`
    with members as (
      select holdout, sum(iteration)::int as n from enrollments
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
      group by holdout
    ), converted as (
      select holdout, count(*)::int as n from campaign_conversions
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
      group by holdout
    )
    select h.holdout, coalesce(m.n, 0) as members, coalesce(c.n, 0) as converted
    from (values (true), (false)) as h(holdout)
    left join members m on m.holdout = h.holdout
    left join converted c on c.holdout = h.holdout`.execute(db);
  const of = (holdout: boolean) => {
    const row = rows.find((r) => r.holdout === holdout);
    return { members: row?.members ?? 0, converted: row?.converted ?? 0 };
  };
  return { holdout: of(true), treatment: of(false) };
}
