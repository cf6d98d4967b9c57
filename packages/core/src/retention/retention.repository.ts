/**
 * SQL of retention: which rows each policy selects, the batches that act on them, and the run log.
 * Candidate predicates are shared by the dry run's count and the real run's batches, so a dry run
 * counts exactly what a real run on the same data does.
 */
import { type RawBuilder, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { uuidv7 } from "../shared/ids.ts";
import type { RetentionKind } from "./retention.ts";

const affected = (result: { numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0);

/**
 * An event that shows engagement: any custom event, and opens, clicks, replies and conversions made by
 * a person (a mail scanner's open or click carries `properties.machine: true` and does not count).
 */
const engaged = (ev: string) => sql`
  (${sql.ref(`${ev}.type`)} not like 'message.%'
   or (${sql.ref(`${ev}.type`)} in ('message.opened', 'message.clicked', 'message.replied', 'message.converted')
       and (${sql.ref(`${ev}.properties`)} -> 'machine') is distinct from 'true'::jsonb))`;

/** No engagement of contact `c` since `since` (an expression). */
const noEngagementSince = (workspaceId: string, since: RawBuilder<unknown>) => sql`
  not exists (
    select 1 from events ev
    where ev.workspace_id = ${workspaceId} and ev.contact_id = c.id and ev.occurred_at >= ${since}
      and ${engaged("ev")})`;

/** Contact `c` is in no journey in progress (active, or failed and awaiting a retry), `except` aside. */
const inNoJourney = (workspaceId: string, except: string | null) => sql`
  not exists (
    select 1 from campaigns k
    join enrollments e on e.workspace_id = k.workspace_id and e.campaign_id = k.id and e.contact_id = c.id
    where k.workspace_id = ${workspaceId} and e.state in ('active', 'failed')
      and k.id is distinct from ${except}::uuid)`;

export interface OutdatedQuery {
  workspaceId: string;
  /** now − inactiveDays */
  cutoff: Date;
  campaignId: string | null;
  /** now − graceDays */
  graceCutoff: Date;
  /**
   * Whether archived contacts are candidates: yes for `delete` and `anonymise` (archiving does not shield
   * personal data from deletion), no for `archive` (an archived contact is not archived again).
   */
  includeArchived: boolean;
}

/** Created before the cutoff, no engagement since, in no journey in progress, not anonymised. */
const outdated = (q: OutdatedQuery) => sql<boolean>`
  c.anonymised_at is null and c.created_at < ${q.cutoff}
  and ${noEngagementSince(q.workspaceId, sql`${q.cutoff}::timestamptz`)}
  and ${inNoJourney(q.workspaceId, null)}`;

/**
 * Outdated contacts not yet given the re-permission campaign. Never an archived one: nothing is sent to
 * it, so it cannot be asked again.
 */
export function outdatedToEnroll(q: OutdatedQuery): RawBuilder<boolean> {
  return sql<boolean>`
    c.archived_at is null and ${outdated(q)}
    and not exists (
      select 1 from enrollments r
      where r.workspace_id = ${q.workspaceId} and r.campaign_id = ${q.campaignId}::uuid and r.contact_id = c.id)`;
}

/**
 * Outdated contacts to act on. Without a re-permission campaign: every outdated contact. With one: those
 * enrolled in it at least graceDays ago who showed no engagement since (nor within inactiveDays), and
 * are in no other journey; and, when archived contacts are candidates, outdated archived ones directly
 * (they cannot be re-permissioned).
 */
export function outdatedToAct(q: OutdatedQuery): RawBuilder<boolean> {
  const archived = q.includeArchived ? sql<boolean>`true` : sql<boolean>`c.archived_at is null`;
  if (!q.campaignId) return sql<boolean>`${archived} and ${outdated(q)}`;
  const repermissioned = sql<boolean>`
    c.archived_at is null and c.anonymised_at is null and c.created_at < ${q.cutoff}
    and ${inNoJourney(q.workspaceId, q.campaignId)}
    and exists (
      select 1 from enrollments r
      where r.workspace_id = ${q.workspaceId} and r.campaign_id = ${q.campaignId}::uuid and r.contact_id = c.id
        and r.enrolled_at <= ${q.graceCutoff}
        and ${noEngagementSince(q.workspaceId, sql`least(r.enrolled_at, ${q.cutoff}::timestamptz)`)})`;
  if (!q.includeArchived) return repermissioned;
  return sql<boolean>`((${repermissioned}) or (c.archived_at is not null and ${outdated(q)}))`;
}

/**
 * Every channel address the contact has is unusable: email and phone bounced, complained or on the
 * suppression list; a postal address returned (mail consent bounced). A contact with no address at all
 * is not "undeliverable" (an ads-only or external-id-only contact). An anonymised contact is never
 * selected again, by either contact policy; an archived one only by `delete` and `anonymise`
 * (`includeArchived`).
 */
export function undeliverable(workspaceId: string, includeArchived: boolean): RawBuilder<boolean> {
  return sql<boolean>`
    c.anonymised_at is null ${includeArchived ? sql`` : sql`and c.archived_at is null`}
    and (c.email is not null or c.phone is not null or c.address_line1 is not null)
    and (c.email is null or c.email_consent in ('bounced', 'complained') or exists (
      select 1 from suppressions s
      where s.workspace_id = ${workspaceId} and s.channel = 'email' and s.address = lower(c.email)))
    and (c.phone is null or c.sms_consent in ('bounced', 'complained') or exists (
      select 1 from suppressions s
      where s.workspace_id = ${workspaceId} and s.channel = 'sms' and s.address = c.phone))
    and (c.address_line1 is null or c.mail_consent in ('bounced', 'complained'))`;
}

export async function countContacts(
  db: Executor,
  workspaceId: string,
  where?: RawBuilder<boolean>,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from contacts c
    where c.workspace_id = ${workspaceId} and ${where ?? sql`true`}`.execute(db);
  return rows[0]?.n ?? 0;
}

export interface ContactSample {
  id: string;
  email: string | null;
}

export async function sampleContacts(
  db: Executor,
  workspaceId: string,
  where: RawBuilder<boolean>,
  limit: number,
): Promise<ContactSample[]> {
  const { rows } = await sql<ContactSample>`
    select c.id, c.email from contacts c
    where c.workspace_id = ${workspaceId} and ${where} order by c.id limit ${limit}`.execute(db);
  return rows;
}

/**
 * Locks the next batch of candidates. Contacts another transaction holds (a send being recorded, an
 * update) are skipped, not waited for: the next run takes them.
 */
export async function lockContacts(
  db: Executor,
  workspaceId: string,
  where: RawBuilder<boolean>,
  limit: number,
  after: string | null = null,
): Promise<ContactSample[]> {
  // `after`: the run's last contact so far. The next batch starts behind it instead of walking again
  // over the index entries of every contact the run already removed (dead until vacuumed). The
  // candidates' conditions on events are probed contact by contact: a merge or hash anti-join would
  // read the workspace's events from the first contact on at every batch, more as the run goes on.
  await sql`select set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', 'off', true)`.execute(
    db,
  );
  const { rows } = await sql<ContactSample>`
    select c.id, c.email from contacts c
    where c.workspace_id = ${workspaceId} and ${where} ${after ? sql`and c.id > ${after}::uuid` : sql``}
    order by c.id limit ${limit}
    for update of c skip locked`.execute(db);
  await sql`select set_config('enable_mergejoin', 'on', true), set_config('enable_hashjoin', 'on', true)`.execute(
    db,
  );
  return rows;
}

/**
 * Locks the contacts of one duplicate group without waiting: the ids that are still there and free.
 * Fewer than asked means a contact is being changed (or was merged or erased): the group is skipped.
 */
export async function lockGroupSkipLocked(
  db: Executor,
  workspaceId: string,
  ids: string[],
): Promise<ContactSample[]> {
  const { rows } = await sql<ContactSample>`
    select c.id, c.email from contacts c
    where c.workspace_id = ${workspaceId} and c.id = any(${ids}::uuid[])
    order by c.id for update of c skip locked`.execute(db);
  return rows;
}

/** Finished journeys (completed, converted, cancelled) last changed before `cutoff` that still have history. */
const finishedWithHistory = (workspaceId: string, cutoff: Date) => sql`
  from campaigns k
  join enrollments e on e.workspace_id = k.workspace_id and e.campaign_id = k.id
  where k.workspace_id = ${workspaceId} and e.state in ('completed', 'converted', 'cancelled')
    and e.updated_at < ${cutoff}
    and exists (select 1 from enrollment_steps s
                where s.workspace_id = e.workspace_id and s.campaign_id = e.campaign_id and s.contact_id = e.contact_id)`;

export async function countFinishedJourneys(db: Executor, workspaceId: string, cutoff: Date) {
  const { rows } = await sql<{ journeys: number; steps: number }>`
    select count(*)::int as journeys,
           coalesce(sum((select count(*) from enrollment_steps s
                         where s.workspace_id = e.workspace_id and s.campaign_id = e.campaign_id
                           and s.contact_id = e.contact_id)), 0)::int as steps
    ${finishedWithHistory(workspaceId, cutoff)}`.execute(db);
  return rows[0] ?? { journeys: 0, steps: 0 };
}

export async function sampleFinishedJourneys(db: Executor, workspaceId: string, cutoff: Date, limit: number) {
  const { rows } = await sql<ContactSample>`
    select e.contact_id::text as id,
           (select c.email from contacts c where c.workspace_id = e.workspace_id and c.id = e.contact_id) as email
    ${finishedWithHistory(workspaceId, cutoff)}
    order by e.updated_at, e.contact_id limit ${limit}`.execute(db);
  return rows;
}

/**
 * Deletes the history steps of up to `limit` finished journeys. The enrollment row stays (the contact
 * must not re-enter the campaign; reports and frequency caps read the ledger, which stays too).
 */
export async function purgeFinishedJourneys(db: Executor, workspaceId: string, cutoff: Date, limit: number) {
  const { rows } = await sql<{ journeys: number; steps: number; last: string | null }>`
    with picked as (
      select e.campaign_id, e.contact_id, e.updated_at
      ${finishedWithHistory(workspaceId, cutoff)}
      order by e.updated_at, e.contact_id limit ${limit}
      for update of e skip locked
    ), deleted as (
      delete from enrollment_steps s using picked p
      where s.workspace_id = ${workspaceId} and s.campaign_id = p.campaign_id and s.contact_id = p.contact_id
      returning 1
    )
    select (select count(*)::int from picked) as journeys, (select count(*)::int from deleted) as steps,
           (select max(contact_id::text) from picked) as last`.execute(db);
  return rows[0] ?? { journeys: 0, steps: 0, last: null };
}

/** Dev-inbox entries (rendered bodies) older than the cutoff. */
export async function countOldOutbox(db: Executor, workspaceId: string, cutoff: Date) {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from outbox where workspace_id = ${workspaceId} and created_at < ${cutoff}`.execute(
    db,
  );
  return rows[0]?.n ?? 0;
}

export async function sampleOldOutbox(db: Executor, workspaceId: string, cutoff: Date, limit: number) {
  const { rows } = await sql<ContactSample>`
    select id::text as id, case when channel = 'email' then recipient end as email from outbox
    where workspace_id = ${workspaceId} and created_at < ${cutoff} order by created_at, id limit ${limit}`.execute(
    db,
  );
  return rows;
}

export async function deleteOldOutbox(db: Executor, workspaceId: string, cutoff: Date, limit: number) {
  return affected(
    await sql`
      delete from outbox where workspace_id = ${workspaceId} and id in (
        select id from outbox where workspace_id = ${workspaceId} and created_at < ${cutoff}
        order by created_at, id limit ${limit} for update skip locked)`.execute(db),
  );
}

export interface PrintBatchFiles {
  id: string;
  pdf_path: string | null;
  manifest_path: string | null;
}

const oldPrintBatches = (workspaceId: string, cutoff: Date) => sql`
  from print_batches
  where workspace_id = ${workspaceId} and status = 'written' and written_at < ${cutoff} and files_deleted_at is null`;

export async function countOldPrintBatches(db: Executor, workspaceId: string, cutoff: Date) {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n ${oldPrintBatches(workspaceId, cutoff)}`.execute(db);
  return rows[0]?.n ?? 0;
}

export async function samplePrintBatches(db: Executor, workspaceId: string, cutoff: Date, limit: number) {
  const { rows } = await sql<{ id: string }>`
    select id ${oldPrintBatches(workspaceId, cutoff)} order by written_at, id limit ${limit}`.execute(db);
  return rows;
}

export async function lockOldPrintBatches(db: Executor, workspaceId: string, cutoff: Date, limit: number) {
  const { rows } = await sql<PrintBatchFiles>`
    select id, pdf_path, manifest_path ${oldPrintBatches(workspaceId, cutoff)}
    order by written_at, id limit ${limit} for update skip locked`.execute(db);
  return rows;
}

export async function markPrintFilesDeleted(db: Executor, workspaceId: string, ids: string[], now: Date) {
  await sql`
    update print_batches set files_deleted_at = ${now}
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(db);
}

// ---- policies ----

export interface PolicyRow {
  workspace_id: string;
  kind: RetentionKind;
  enabled: boolean;
  settings: Record<string, unknown>;
  max_share: string;
  updated_at: Date;
}

export async function listPolicies(db: Executor, workspaceId: string): Promise<PolicyRow[]> {
  const { rows } = await sql<PolicyRow>`
    select * from retention_policies where workspace_id = ${workspaceId} order by kind`.execute(db);
  return rows;
}

export async function findPolicy(db: Executor, workspaceId: string, kind: RetentionKind) {
  const { rows } = await sql<PolicyRow>`
    select * from retention_policies where workspace_id = ${workspaceId} and kind = ${kind}`.execute(db);
  return rows[0];
}

export async function upsertPolicy(
  db: Executor,
  p: {
    workspaceId: string;
    kind: RetentionKind;
    enabled: boolean;
    settings: unknown;
    maxShare: number;
    now: Date;
  },
): Promise<PolicyRow> {
  const { rows } = await sql<PolicyRow>`
    insert into retention_policies (workspace_id, kind, enabled, settings, max_share, updated_at)
    values (${p.workspaceId}, ${p.kind}, ${p.enabled}, ${JSON.stringify(p.settings)}::jsonb, ${p.maxShare}, ${p.now})
    on conflict (workspace_id, kind) do update
      set enabled = excluded.enabled, settings = excluded.settings, max_share = excluded.max_share,
          updated_at = excluded.updated_at
    returning *`.execute(db);
  return rows[0]!;
}

/** Every enabled policy of every workspace, for the daily job. */
export async function listEnabledPolicies(db: Executor): Promise<PolicyRow[]> {
  const { rows } = await sql<PolicyRow>`
    select * from retention_policies where enabled order by workspace_id, kind`.execute(db);
  return rows;
}

// ---- runs ----

export interface RunRow {
  workspace_id: string;
  id: string;
  kind: RetentionKind;
  dry_run: boolean;
  trigger: "api" | "schedule";
  status: "running" | "completed" | "failed" | "needs_confirmation";
  started_at: Date;
  finished_at: Date | null;
  counts: Record<string, number>;
  sample: { id: string; email: string | null; action: string; into?: string }[];
  batches: number;
  cursor: string | null;
  error: string | null;
}

export async function insertRun(
  db: Executor,
  r: Pick<RunRow, "workspace_id" | "kind" | "dry_run" | "trigger" | "status" | "counts" | "sample"> & {
    started_at: Date;
    finished_at: Date | null;
  },
): Promise<RunRow> {
  const { rows } = await sql<RunRow>`
    insert into retention_runs (workspace_id, id, kind, dry_run, trigger, status, started_at, finished_at, counts, sample)
    values (${r.workspace_id}, ${uuidv7()}, ${r.kind}, ${r.dry_run}, ${r.trigger}, ${r.status}, ${r.started_at}, ${r.finished_at},
            ${JSON.stringify(r.counts)}::jsonb, ${JSON.stringify(r.sample)}::jsonb)
    returning *`.execute(db);
  return rows[0]!;
}

/** A real run of the policy left `running` by a process that stopped: the new run continues it. */
export async function findUnfinishedRun(db: Executor, workspaceId: string, kind: RetentionKind) {
  const { rows } = await sql<RunRow>`
    select * from retention_runs
    where workspace_id = ${workspaceId} and kind = ${kind} and status = 'running' and not dry_run
    order by started_at limit 1`.execute(db);
  return rows[0];
}

/** Adds one batch's counts to the run, in the batch's own transaction. */
export async function addBatchToRun(
  db: Executor,
  workspaceId: string,
  runId: string,
  delta: Record<string, number>,
  cursor: string | null,
) {
  await sql`
    update retention_runs r set
      counts = (select coalesce(jsonb_object_agg(k, coalesce((r.counts ->> k)::int, 0) + coalesce((d.v ->> k)::int, 0)), '{}')
                from (select ${JSON.stringify(delta)}::jsonb as v) d,
                     lateral (select jsonb_object_keys(r.counts) union select jsonb_object_keys(d.v)) as keys(k)),
      batches = r.batches + 1,
      cursor = coalesce(${cursor}::text, r.cursor)
    where r.workspace_id = ${workspaceId} and r.id = ${runId}`.execute(db);
}

export async function finishRun(
  db: Executor,
  workspaceId: string,
  runId: string,
  status: RunRow["status"],
  now: Date,
  extra: { error?: string; sample?: RunRow["sample"] } = {},
): Promise<RunRow> {
  const { rows } = await sql<RunRow>`
    update retention_runs set status = ${status}, finished_at = ${now}, error = ${extra.error ?? null},
      sample = coalesce(${extra.sample ? JSON.stringify(extra.sample) : null}::jsonb, sample)
    where workspace_id = ${workspaceId} and id = ${runId}
    returning *`.execute(db);
  return rows[0]!;
}

export async function listRuns(
  db: Executor,
  workspaceId: string,
  kind: RetentionKind | undefined,
  limit: number,
) {
  const { rows } = await sql<RunRow>`
    select * from retention_runs
    where workspace_id = ${workspaceId} and (${kind ?? null}::text is null or kind = ${kind ?? null})
    order by started_at desc, id desc limit ${limit}`.execute(db);
  return rows;
}

/**
 * The `anonymise` action's statements for one contact whose ledger rows are `messageIds`: what only
 * counts stays (ledger statuses, event types and times, enrollment states, consent statuses), every
 * field that can name the person is cleared. Rendered bodies, print pieces, PURLs and short links are
 * deleted by the erasure statements before this runs.
 */
export async function anonymiseContactRows(
  db: Executor,
  workspaceId: string,
  contactId: string,
  messageIds: string[],
  now: Date,
) {
  // Ledger rows keep status, channel, times and an ads row's destination (an id); webhook bodies and
  // provider reasons, which can quote the person, go.
  const messages = affected(
    await sql`
      update messages
      set details = case when details ? 'destination'
                         then jsonb_build_object('destination', details -> 'destination') else '{}' end,
          reason = null
      where workspace_id = ${workspaceId} and id = any(${messageIds}::uuid[])
        and ((details - 'destination') <> '{}' or reason is not null)`.execute(db),
  );
  const events = affected(
    await sql`
      update events set properties = '{}'
      where workspace_id = ${workspaceId} and contact_id = ${contactId} and properties <> '{}'`.execute(db),
  );
  const enrollments = affected(
    await sql`
      update enrollments e set trigger_event = null
      from campaigns k
      where k.workspace_id = ${workspaceId} and e.workspace_id = k.workspace_id and e.campaign_id = k.id
        and e.contact_id = ${contactId} and e.trigger_event is not null`.execute(db),
  );
  const transitions = affected(
    await sql`
      update audience_transitions set cause = 'anonymised'
      where workspace_id = ${workspaceId} and contact_id = ${contactId} and cause <> 'anonymised'`.execute(
      db,
    ),
  );
  const consentChanges = affected(
    await sql`
      update consent_changes set actor = null, reason = null
      where workspace_id = ${workspaceId} and contact_id = ${contactId}
        and (actor is not null or reason is not null)`.execute(db),
  );
  const contact = affected(
    await sql`
      update contacts set external_id = null, email = null, phone = null, first_name = null, last_name = null,
        address_line1 = null, address_line2 = null, city = null, region = null, postal_code = null,
        country = null, timezone = null, attributes = '{}', anonymised_at = ${now}, updated_at = ${now}
      where workspace_id = ${workspaceId} and id = ${contactId}`.execute(db),
  );
  return { messages, events, enrollments, audienceTransitions: transitions, consentChanges, contact };
}

/**
 * Erasure (DELETE /contacts/{id}, or a policy's): the contact's email goes from every run's sample of any
 * kind, found by the contact's id or by the address itself (a finished_journeys sample names dev-inbox
 * entries by their own id, with the recipient).
 */
export async function forgetSampleEmailsOf(
  db: Executor,
  workspaceId: string,
  contactId: string,
  email: string | null,
) {
  const named = sql`(x.e ->> 'id' = ${contactId}::text or lower(x.e ->> 'email') = ${email}::text)`;
  return affected(
    await sql`
      update retention_runs r set sample = (
        select coalesce(jsonb_agg(case when ${named} then jsonb_set(x.e, '{email}', 'null') else x.e end
                                  order by x.n), '[]')
        from jsonb_array_elements(r.sample) with ordinality as x(e, n))
      where r.workspace_id = ${workspaceId}
        and exists (select 1 from jsonb_array_elements(r.sample) as x(e)
                    where ${named} and x.e ->> 'email' is not null)`.execute(db),
  );
}

/**
 * Runs' samples show the email of each contact concerned; once a contact is erased, anonymised or merged
 * away, its email is removed from every earlier run's sample (a dry run's above all), so that no run row
 * keeps it.
 */
export async function forgetSampleEmails(db: Executor, workspaceId: string, contactIds: string[]) {
  if (contactIds.length === 0) return 0;
  return affected(
    await sql`
      update retention_runs r set sample = (
        select coalesce(jsonb_agg(case when x.e ->> 'id' = any(${contactIds}::text[])
                                       then jsonb_set(x.e, '{email}', 'null') else x.e end order by x.n), '[]')
        from jsonb_array_elements(r.sample) with ordinality as x(e, n))
      where r.workspace_id = ${workspaceId} and r.kind in ('outdated_prospects', 'undeliverable', 'duplicates')
        and exists (select 1 from jsonb_array_elements(r.sample) s
                    where s ->> 'id' = any(${contactIds}::text[]) and s ->> 'email' is not null)`.execute(db),
  );
}
