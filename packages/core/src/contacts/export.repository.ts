/** SQL of the GDPR export: every table's rows about one contact, read in one snapshot. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

type Id = { workspaceId: string; contactId: string };

export async function selectConsentLedger(db: Executor, k: Id) {
  const { rows } = await sql<{
    channel: string;
    status: string;
    previous_status: string | null;
    source: string;
    actor: string | null;
    reason: string | null;
    changed_at: Date;
  }>`
    select channel, status, previous_status, source, actor, reason, changed_at from consent_changes
    where workspace_id = ${k.workspaceId} and contact_id = ${k.contactId} order by changed_at, id`.execute(
    db,
  );
  return rows;
}

export async function selectLists(db: Executor, k: Id) {
  const { rows } = await sql<{ id: string; name: string; added_at: Date }>`
    select a.id, a.name, m.added_at from list_members m
    join audiences a on a.workspace_id = m.workspace_id and a.id = m.list_id
    where m.workspace_id = ${k.workspaceId} and m.contact_id = ${k.contactId} order by m.added_at`.execute(
    db,
  );
  return rows;
}

export async function selectSegments(db: Executor, k: Id) {
  const { rows } = await sql<{ id: string; name: string; entered_at: Date }>`
    select a.id, a.name, m.entered_at from audience_members m
    join audiences a on a.workspace_id = m.workspace_id and a.id = m.audience_id
    where m.workspace_id = ${k.workspaceId} and m.contact_id = ${k.contactId} order by m.entered_at`.execute(
    db,
  );
  return rows;
}

export async function selectAudienceTransitions(db: Executor, k: Id) {
  const { rows } = await sql<{
    audience_id: string;
    audience_name: string | null;
    transition: string;
    cause: string;
    at: Date;
  }>`
    select t.audience_id, a.name as audience_name, t.transition, t.cause, t.at from audience_transitions t
    left join audiences a on a.workspace_id = t.workspace_id and a.id = t.audience_id
    where t.workspace_id = ${k.workspaceId} and t.contact_id = ${k.contactId} order by t.at, t.id`.execute(
    db,
  );
  return rows;
}

export async function selectTopicChoices(db: Executor, k: Id) {
  const { rows } = await sql<{ topic_id: string; name: string; subscribed: boolean; changed_at: Date }>`
    select ct.topic_id, t.name, ct.subscribed, ct.changed_at from contact_topics ct
    join topics t on t.workspace_id = ct.workspace_id and t.id = ct.topic_id
    where ct.workspace_id = ${k.workspaceId} and ct.contact_id = ${k.contactId} order by t.name`.execute(db);
  return rows;
}

export async function selectEvents(db: Executor, k: Id) {
  const { rows } = await sql<{
    id: string;
    type: string;
    properties: unknown;
    occurred_at: Date;
    received_at: Date;
  }>`
    select id, type, properties, occurred_at, received_at from events
    where workspace_id = ${k.workspaceId} and contact_id = ${k.contactId} order by occurred_at, id`.execute(
    db,
  );
  return rows;
}

export async function selectEnrollments(db: Executor, k: Id) {
  const { rows } = await sql<{
    campaign_id: string;
    campaign_name: string | null;
    node_id: string;
    state: string;
    iteration: number;
    holdout: boolean;
    enrolled_at: Date;
    updated_at: Date;
    error: string | null;
    trigger_event: unknown;
    steps: { seq: number; at: string; trace: unknown }[];
  }>`
    select e.campaign_id, c.name as campaign_name, e.node_id, e.state, e.iteration, e.holdout, e.enrolled_at,
           e.updated_at, e.error, e.trigger_event,
           coalesce((select jsonb_agg(jsonb_build_object('seq', s.seq, 'at', s.at, 'trace', s.trace) order by s.seq)
                     from enrollment_steps s
                     where s.workspace_id = e.workspace_id and s.campaign_id = e.campaign_id
                       and s.contact_id = e.contact_id), '[]'::jsonb) as steps
    from campaigns c
    join enrollments e on e.workspace_id = c.workspace_id and e.campaign_id = c.id and e.contact_id = ${k.contactId}
    where c.workspace_id = ${k.workspaceId}
    order by e.enrolled_at`.execute(db);
  return rows;
}

export async function selectCampaignEntries(db: Executor, k: Id) {
  const { rows } = await sql<{ campaign_id: string; cause: string; iteration: number; at: Date }>`
    select campaign_id, cause, iteration, at from campaign_entries
    where workspace_id = ${k.workspaceId} and contact_id = ${k.contactId} order by at`.execute(db);
  return rows;
}

export async function selectConversions(db: Executor, k: Id) {
  const { rows } = await sql<{
    campaign_id: string;
    iteration: number;
    event_id: string;
    holdout: boolean;
    converted_at: Date;
  }>`
    select v.campaign_id, v.iteration, v.event_id, v.holdout, v.converted_at
    from campaigns c
    join campaign_conversions v on v.workspace_id = c.workspace_id and v.campaign_id = c.id and v.contact_id = ${k.contactId}
    where c.workspace_id = ${k.workspaceId} order by v.converted_at`.execute(db);
  return rows;
}

export async function selectSplitAssignments(db: Executor, k: Id) {
  const { rows } = await sql<{
    campaign_id: string;
    node_id: string;
    iteration: number;
    branch: string;
    phase: string;
    at: Date;
  }>`
    select campaign_id, node_id, iteration, branch, phase, at from split_assignments
    where workspace_id = ${k.workspaceId} and contact_id = ${k.contactId} order by at`.execute(db);
  return rows;
}

export interface ExportedMessageRow {
  id: string;
  campaign_id: string;
  node_id: string;
  channel: string;
  template_id: string | null;
  template_version: number | null;
  status: string;
  reason: string | null;
  details: unknown;
  queued_at: Date;
  sent_at: Date | null;
  provider: string | null;
  provider_message_id: string | null;
  delivery_status: string | null;
  outbox: {
    recipient: string;
    subject: string | null;
    content: unknown;
    headers: unknown;
    created_at: string;
  } | null;
  print_piece: { status: string; piece: unknown; created_at: string } | null;
  purl: string | null;
  short_links: { code: string; url: string }[];
}

/** The ledger rows, each with what was rendered for it and the links it carried. */
export async function selectMessages(db: Executor, k: Id): Promise<ExportedMessageRow[]> {
  const { rows } = await sql<ExportedMessageRow>`
    select m.id, m.campaign_id, m.node_id, m.channel, m.template_id, m.template_version, m.status, m.reason,
           m.details, m.queued_at, m.sent_at, m.provider, m.provider_message_id, m.delivery_status,
           (select jsonb_build_object('recipient', o.recipient, 'subject', o.subject, 'content', o.content,
                                      'headers', o.headers, 'created_at', o.created_at)
            from outbox o where o.workspace_id = m.workspace_id and o.message_id = m.id) as outbox,
           (select jsonb_build_object('status', p.status, 'piece', p.piece, 'created_at', p.created_at)
            from print_pieces p where p.workspace_id = m.workspace_id and p.message_id = m.id) as print_piece,
           (select u.code from purls u where u.workspace_id = m.workspace_id and u.message_id = m.id) as purl,
           coalesce((select jsonb_agg(jsonb_build_object('code', l.code, 'url', l.url) order by l.created_at, l.code)
                     from short_links l where l.workspace_id = m.workspace_id and l.message_id = m.id),
                    '[]'::jsonb) as short_links
    from messages m
    where m.workspace_id = ${k.workspaceId} and m.contact_id = ${k.contactId}
    order by m.queued_at, m.id`.execute(db);
  return rows;
}

/** Dev-inbox entries to the contact's addresses that belong to no ledger row (test sends). */
export async function selectOtherDeliveries(
  db: Executor,
  workspaceId: string,
  email: string | null,
  phone: string | null,
) {
  const { rows } = await sql<{
    id: string;
    channel: string;
    recipient: string;
    subject: string | null;
    content: unknown;
    created_at: Date;
  }>`
    select id, channel, recipient, subject, content, created_at from outbox
    where workspace_id = ${workspaceId} and message_id is null
      and ((channel = 'email' and lower(recipient) = ${email}::text) or (channel = 'sms' and recipient = ${phone}::text))
    order by created_at`.execute(db);
  return rows;
}

export async function selectTestSends(
  db: Executor,
  workspaceId: string,
  email: string | null,
  phone: string | null,
) {
  const { rows } = await sql<{
    id: string;
    template_id: string;
    template_version: number;
    channel: string;
    recipient: string;
    sent_at: Date;
    outcome: string | null;
  }>`
    select id, template_id, template_version, channel, recipient, sent_at, outcome from template_test_sends
    where workspace_id = ${workspaceId}
      and ((channel = 'email' and lower(recipient) = ${email}::text) or (channel = 'sms' and recipient = ${phone}::text))
    order by sent_at`.execute(db);
  return rows;
}

export async function selectAdAudiences(db: Executor, k: Id) {
  const { rows } = await sql<{
    destination_id: string;
    name: string | null;
    platform: string | null;
    added_at: Date;
    removed_at: Date | null;
  }>`
    select m.destination_id, d.name, d.platform, m.added_at, m.removed_at from ad_audience_members m
    left join ad_destinations d on d.workspace_id = m.workspace_id and d.id = m.destination_id
    where m.workspace_id = ${k.workspaceId} and m.contact_id = ${k.contactId} order by m.added_at`.execute(
    db,
  );
  return rows;
}
