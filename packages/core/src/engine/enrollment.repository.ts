/** SQL of the journey engine: claiming due enrollments, reading facts, writing steps and their effects. */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";

export interface ClaimedRow {
  contact_id: string;
  node_id: string;
  state: "active";
  enrolled_at: Date;
  node_entered_at: Date;
  due_at: Date;
  iteration: number;
  seq: number;
}

export interface ContactFactsRow {
  id: string;
  timezone: string | null;
  attributes: Record<string, unknown>;
}

/**
 * Locks the campaign row FOR SHARE for the batch: pausing or cancelling (an UPDATE of the row) waits for
 * batches in flight, and no batch starts after it. A hung session loses its claim after 60 s idle.
 */
export async function lockCampaignForStep(trx: Executor, workspaceId: string, campaignId: string) {
  await sql`set local idle_in_transaction_session_timeout = '60s'`.execute(trx);
  const { rows } = await sql<{
    status: string;
    workflow_id: string;
    workflow_version: number;
    default_timezone: string;
  }>`
    select c.status, c.workflow_id, c.workflow_version, w.default_timezone
    from campaigns c join workspaces w on w.id = c.workspace_id
    where c.workspace_id = ${workspaceId} and c.id = ${campaignId}
    for share of c`.execute(trx);
  return rows[0];
}

/** Up to `limit` due members of a campaign, in due order, skipping those another worker holds. */
export async function claimDueEnrollments(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  limit: number,
): Promise<ClaimedRow[]> {
  const { rows } = await sql<ClaimedRow>`
    select contact_id, node_id, state, enrolled_at, node_entered_at, due_at, iteration, seq
    from enrollments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
      and state = 'active' and due_at <= ${now}
    order by due_at
    limit ${limit}
    for update skip locked`.execute(trx);
  return rows;
}

export async function selectContactFacts(db: Executor, workspaceId: string, ids: string[]) {
  const { rows } = await sql<ContactFactsRow>`
    select id, timezone, attributes from contacts
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(db);
  return rows;
}

export async function selectEventsOfTypes(
  db: Executor,
  workspaceId: string,
  ids: string[],
  types: string[],
  since: Date,
) {
  const { rows } = await sql<{
    contact_id: string;
    type: string;
    occurred_at: Date;
    properties: Record<string, unknown>;
  }>`
    select contact_id, type, occurred_at, properties from events
    where workspace_id = ${workspaceId} and contact_id = any(${ids}::uuid[])
      and type = any(${types}::text[]) and occurred_at >= ${since}
    order by occurred_at, id`.execute(db);
  return rows;
}

/**
 * Each contact's value of an SQL expression over `contacts c` and their enrollment in the campaign,
 * `enrollments en` (all nulls for a contact not enrolled).
 */
export async function selectPerContact(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  ids: string[],
  expression: RawBuilder<string>,
) {
  const { rows } = await sql<{ id: string; outlet: string }>`
    select c.id, ${expression} as outlet from contacts c
    left join enrollments en on en.workspace_id = c.workspace_id and en.campaign_id = ${campaignId}
      and en.contact_id = c.id
    where c.workspace_id = ${workspaceId} and c.id = any(${ids}::uuid[])`.execute(db);
  return rows;
}

export interface EnrollmentChanges {
  ids: string[];
  nodes: string[];
  states: string[];
  dues: (Date | null)[];
  entered: Date[];
  errors: (string | null)[];
  increments: number[];
}

/** Writes the new state of a batch of enrollments in one statement. */
export async function updateEnrollments(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  c: EnrollmentChanges,
) {
  await sql`
    update enrollments e set
      node_id = u.node_id, state = u.state, due_at = u.due_at, node_entered_at = u.entered_at,
      error = u.error, seq = e.seq + u.inc, updated_at = ${now}
    from unnest(${c.ids}::uuid[], ${c.nodes}::text[], ${c.states}::text[], ${c.dues}::timestamptz[],
                 ${c.entered}::timestamptz[], ${c.errors}::text[], ${c.increments}::int[])
      as u(contact_id, node_id, state, due_at, entered_at, error, inc)
    where e.workspace_id = ${workspaceId} and e.campaign_id = ${campaignId} and e.contact_id = u.contact_id`.execute(
    trx,
  );
}

export async function insertEnrollmentSteps(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  workerId: string,
  steps: { ids: string[]; seqs: number[]; traces: string[] },
) {
  await sql`
    insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
    select ${workspaceId}, ${campaignId}, u.contact_id, u.seq, ${now}, ${workerId}, u.trace
    from unnest(${steps.ids}::uuid[], ${steps.seqs}::int[], ${steps.traces}::jsonb[])
      as u(contact_id, seq, trace)`.execute(trx);
}

export interface LedgerRows {
  ids: string[];
  keys: string[];
  contacts: string[];
  nodes: string[];
  channels: string[];
  templates: (string | null)[];
  /** The pinned template version of each send (null: none, render the current content). */
  templateVersions: (number | null)[];
  details: string[];
}

/**
 * Queues send-ledger rows. The idempotency key is unique: a recomputed step finds its rows there. A
 * member of the campaign's holdout gets the row too, written `skipped` with the reason "holdout": the
 * dispatcher never claims it, so no provider is ever called for them (webhooks and ad audiences
 * included), while their journey goes on as anyone's.
 */
export async function insertLedgerRows(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  rows: LedgerRows,
) {
  await sql`
    insert into messages (workspace_id, id, idempotency_key, campaign_id, contact_id, node_id, channel,
                          template_id, template_version, details, queued_at, status, reason)
    select ${workspaceId}, u.id, u.key, ${campaignId}, u.contact_id, u.node_id, u.channel, u.template_id,
           u.template_version, u.details, ${now},
           case when e.holdout then 'skipped' else 'queued' end,
           case when e.holdout then 'holdout' end
    from unnest(${rows.ids}::uuid[], ${rows.keys}::text[], ${rows.contacts}::uuid[], ${rows.nodes}::text[],
                ${rows.channels}::text[], ${rows.templates}::uuid[], ${rows.templateVersions}::int[],
                ${rows.details}::jsonb[])
      as u(id, key, contact_id, node_id, channel, template_id, template_version, details)
    left join enrollments e
      on e.workspace_id = ${workspaceId} and e.campaign_id = ${campaignId} and e.contact_id = u.contact_id
    on conflict (workspace_id, idempotency_key) do nothing`.execute(trx);
}

export async function setContactAttributes(
  trx: Executor,
  workspaceId: string,
  contactId: string,
  set: Record<string, unknown>,
  unset: string[],
  now: Date,
) {
  await sql`
    update contacts set attributes = (attributes || ${JSON.stringify(set)}::jsonb) - ${unset}::text[],
      updated_at = ${now}
    where workspace_id = ${workspaceId} and id = ${contactId}`.execute(trx);
}

/** Adds a contact to a static list of the workspace (nothing if the list is gone). */
export async function addToList(
  trx: Executor,
  workspaceId: string,
  listId: string,
  contactId: string,
  now: Date,
) {
  await sql`
    insert into list_members (workspace_id, list_id, contact_id, added_at)
    select ${workspaceId}, ${listId}, ${contactId}, ${now}
    where exists (select 1 from audiences where workspace_id = ${workspaceId} and id = ${listId} and kind = 'list')
    on conflict do nothing`.execute(trx);
}

export async function removeFromLists(
  trx: Executor,
  workspaceId: string,
  contactId: string,
  listIds: string[],
) {
  await sql`
    delete from list_members where workspace_id = ${workspaceId} and contact_id = ${contactId}
      and list_id = any(${listIds}::uuid[])`.execute(trx);
}

/** Changes one channel's consent and appends it to the consent ledger, when it actually changes. */
export async function changeConsentByWorkflow(
  trx: Executor,
  workspaceId: string,
  contactId: string,
  channel: "email" | "sms" | "mail" | "ads",
  status: string,
  actor: string,
  now: Date,
) {
  const column = sql.ref(`${channel}_consent`);
  // The old value comes back through the UPDATE's join: a CTE read beside an UPDATE of the same row
  // in one statement may run after it and then no longer sees the row (previous_status would be null).
  await sql`
    with previous as (
      select id, ${column} as status from contacts
      where workspace_id = ${workspaceId} and id = ${contactId} for update
    ), changed as (
      update contacts c set ${column} = ${status}, updated_at = ${now}
      from previous p
      where c.workspace_id = ${workspaceId} and c.id = p.id and p.status is distinct from ${status}
      returning p.status as previous_status
    )
    insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor, changed_at)
    select ${workspaceId}, ${contactId}, ${channel}, ${status}, previous_status, 'workflow', ${actor}, ${now}
    from changed`.execute(trx);
}

/**
 * Marks running campaigns with no active member left as completed. Only one-shot (`once`) campaigns:
 * continuous and event campaigns take new members until they are cancelled or end.
 */
export async function completeFinishedCampaigns(db: Executor, now = new Date()): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    update campaigns c set status = 'completed', finished_at = ${now}, updated_at = ${now}
    where c.status = 'running' and c.entry_mode = 'once'
      and not exists (select 1 from enrollments e
                      where e.workspace_id = c.workspace_id and e.campaign_id = c.id and e.state = 'active')
    returning c.id`.execute(db);
  return rows.length;
}

export async function listRunningCampaigns(db: Executor) {
  const { rows } = await sql<{ workspace_id: string; id: string }>`
    select workspace_id, id from campaigns where status = 'running' order by launched_at`.execute(db);
  return rows;
}
