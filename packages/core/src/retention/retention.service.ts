/**
 * Runs retention policies: a dry run counts and samples the candidates without changing anything; a real
 * run acts on them in batches, each batch its own transaction that also adds its counts to the run's
 * row, so a run killed mid-way leaves whole contacts only and a record of what it did. The next run of
 * the policy continues that row; rows already done no longer qualify, so a re-run is idempotent.
 *
 * Contacts are erased with the erasure of DELETE /contacts/{id} (eraseContactWithin): journeys exited,
 * every row removed, opted-out addresses kept as tombstones, report counts kept, an erasure-log row.
 * Or, with `action: "anonymise"`, anonymised (anonymiseContactWithin): the same tombstones and exits,
 * but the contact and what only counts stay, cleared of personal data and marked `anonymised_at`.
 * Or, with `action: "archive"`, archived (archiveContacts): everything stays, journeys are exited and
 * `archived_at` keeps the contact out of audiences and sends until it is restored.
 *
 * The `duplicates` policy merges likely duplicates with the merge service (mergeInTransaction), group
 * by group in the order of mergeLikelyDuplicates; its dry run is the same merges in a transaction that is
 * rolled back, since one merge can make the next group (an email merge fills a phone or an address).
 */

import { unlink } from "node:fs/promises";
import type {
  RetentionKind,
  RetentionPolicy,
  RetentionPolicyPut,
  RetentionRun,
} from "@omneural/contracts/retention";
import { type RawBuilder, sql } from "kysely";
import { queueMembershipCheck } from "../audiences/membership.ts";
import { systemActor } from "../audit/actors.ts";
import { recordAudit } from "../audit/audit.service.ts";
import { enrollWhere, findCampaign, setCampaignStatus } from "../campaigns/campaign.repository.ts";
import { setContactsArchived } from "../contacts/contact.repository.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import {
  anonymiseTestSends,
  deleteByMessages,
  deleteImportRejections,
  deleteOutbox,
  exitEnrollments,
  keepReportCounts,
  selectMessages,
} from "../contacts/erasure.repository.ts";
import { buryAddresses, eraseContactsWithin, lockContactRows } from "../contacts/erasure.service.ts";
import { findDuplicateGroups } from "../contacts/merge.repository.ts";
import { mergeInTransaction } from "../contacts/merge.service.ts";
import { MAX_DUPLICATES_PER_MERGE } from "../contacts/merge.ts";
import type { Db, Executor } from "../db/database.ts";
import { acrossWorkspaces } from "../db/tenancy.ts";
import { loadWorkflowVersion } from "../engine/stepper.ts";
import {
  type CutoffOf,
  countOldEvents,
  droppablePartitions,
  removeOldEventsBatch,
  sampleOldEvents,
} from "../events/partitions.ts";
import { AppError, validationFailed } from "../shared/errors.ts";
import {
  addBatchToRun,
  anonymiseContactRows,
  countContacts,
  countFinishedJourneys,
  countOldOutbox,
  countOldPrintBatches,
  deleteOldOutbox,
  findPolicy,
  findUnfinishedRun,
  finishRun,
  forgetSampleEmails,
  insertRun,
  listEnabledPolicies,
  listPolicies,
  listRuns,
  lockContacts,
  lockGroupSkipLocked,
  lockOldPrintBatches,
  markPrintFilesDeleted,
  type OutdatedQuery,
  outdatedToAct,
  outdatedToEnroll,
  type PolicyRow,
  purgeFinishedJourneys,
  type RunRow,
  sampleContacts,
  sampleFinishedJourneys,
  sampleOldOutbox,
  samplePrintBatches,
  undeliverable,
  upsertPolicy,
} from "./retention.repository.ts";
import {
  CONTACT_KINDS,
  type ContactAction,
  DEFAULT_BATCH_SIZE,
  DEFAULT_GRACE_DAYS,
  DEFAULT_MAX_GROUPS,
  DEFAULT_MAX_SHARE,
  DEFAULT_PACE,
  daysBefore,
  duplicateReasonsOf,
  needsConfirmation,
  SAMPLE_SIZE,
  type SettingsByKind,
  settingsProblems,
} from "./retention.ts";

export interface RunOptions {
  /** Count and sample only (default true). */
  dryRun?: boolean;
  /** Allow deleting more than the policy's maxShare of the workspace's contacts. */
  confirm?: boolean;
  now?: Date;
  /** Candidates per transaction (default 500). */
  batchSize?: number;
  trigger?: "api" | "schedule";
  /** Keys.tombstones: required to erase contacts whose opted-out addresses must stay suppressed. */
  tombstoneKey?: Buffer | undefined;
  /**
   * After each batch, rest this many times as long as the batch took (default 2): a run then takes at
   * most a third of one database connection's time, and sends, journeys and API reads keep their pace.
   * 0 runs batches back to back.
   */
  pace?: number;
  /** Test hook: called after each committed batch (a test throws here to stand for a killed process). */
  afterBatch?: (batch: number) => void | Promise<void>;
}

type Sample = RunRow["sample"];

/** What a policy does, as the runner drives it. */
interface Plan {
  /** Exact counts of what a real run would do now, per action. */
  count(db: Executor): Promise<Record<string, number>>;
  sample(db: Executor): Promise<Sample>;
  /**
   * Instead of count and sample in one snapshot: a policy whose candidates change as it acts (merges)
   * previews by acting in a transaction it rolls back.
   */
  preview?(db: Db): Promise<{ counts: Record<string, number>; sample: Sample }>;
  /** Contacts it would delete, anonymise or merge away (for the confirmation threshold); 0 otherwise. */
  toDelete(counts: Record<string, number>): number;
  /** One batch in the caller's transaction: its counts and last row, or null when nothing is left. */
  batch(
    trx: Executor,
    limit: number,
  ): Promise<{ counts: Record<string, number>; last: string | null } | null>;
}

function toPolicy(row: PolicyRow): RetentionPolicy {
  return {
    kind: row.kind,
    enabled: row.enabled,
    settings: row.settings,
    maxShare: Number(row.max_share),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toRun(row: RunRow): RetentionRun {
  return {
    id: row.id,
    kind: row.kind,
    dryRun: row.dry_run,
    trigger: row.trigger,
    status: row.status,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    counts: row.counts,
    sample: row.sample,
    batches: row.batches,
    error: row.error,
  };
}

const withAction = (rows: { id: string; email: string | null }[], action: string): Sample =>
  rows.map((r) => ({ id: r.id, email: r.email, action }));

/** The workspace's running campaign that re-permission enrolls into, with its entry node. */
async function repermissionCampaign(trx: Executor, workspaceId: string, campaignId: string, lock: boolean) {
  const campaign = await findCampaign(trx, workspaceId, campaignId, lock);
  if (!campaign) throw new AppError("NOT_FOUND", `re-permission campaign ${campaignId} does not exist`);
  if (campaign.status !== "running")
    throw new AppError("CONFLICT", `re-permission campaign ${campaignId} is ${campaign.status}, not running`);
  return campaign;
}

export type { ContactAction };

/** The run's count key for each action: `{ deleted: n }`, `{ anonymised: n }` or `{ archived: n }`. */
const COUNT_KEY: Record<ContactAction, string> = {
  delete: "deleted",
  anonymise: "anonymised",
  archive: "archived",
};

/** The reason journeys in progress and queued sends carry when their contact is anonymised. */
export const ANONYMISED_REASON = "the contact was anonymised by a retention policy";
/** The reason journeys in progress and queued sends carry when their contact is archived. */
export const ARCHIVED_REASON = "the contact was archived by a retention policy";

/**
 * Archives locked contacts in the caller's transaction: `archived_at` is set and nothing else of theirs
 * changes, except that journeys in progress are exited and queued sends cancelled (ARCHIVED_REASON), as
 * for a campaign that ended: restoring does not resume them. Listened segments re-check them, which
 * logs their exit.
 */
async function archiveContacts(trx: Executor, workspaceId: string, contactIds: string[], now: Date) {
  const archived = await setContactsArchived(trx, workspaceId, contactIds, now, now);
  await exitEnrollments(trx, workspaceId, archived, now, ARCHIVED_REASON);
  await queueMembershipCheck(trx, workspaceId, archived, "contact archived");
  return archived;
}

/**
 * Anonymises locked contacts in the caller's transaction. As erasure: opted-out or suppressed addresses
 * become tombstones, journeys in progress are exited and queued sends cancelled, rendered bodies, print
 * pieces, PURLs, short links and import rejections naming them are deleted and test sends anonymised.
 * Unlike erasure the contacts, their ledger rows, events, enrollments, memberships and consent ledger
 * stay, cleared of every field that could name the person (anonymiseContactRows).
 */
async function anonymiseContactsWithin(
  trx: Executor,
  workspaceId: string,
  contactIds: string[],
  options: RunOptions,
  now: Date,
) {
  const contacts = await lockContactRows(trx, workspaceId, contactIds);
  if (contacts.length === 0) return;
  const ids = contacts.map((c) => c.id);
  const emails = contacts.flatMap((c) => (c.email ? [c.email.toLowerCase()] : []));
  const phones = contacts.flatMap((c) => (c.phone ? [c.phone] : []));
  await keepReportCounts(trx, true);
  await buryAddresses(trx, workspaceId, contacts, options.tombstoneKey);
  await exitEnrollments(trx, workspaceId, ids, now, ANONYMISED_REASON);
  const messages = await selectMessages(trx, workspaceId, ids);
  const messageIds = messages.map((m) => m.id);
  await deleteOutbox(trx, workspaceId, messageIds, emails, phones);
  for (const table of ["print_pieces", "purls", "short_links"] as const)
    await deleteByMessages(trx, table, workspaceId, messageIds);
  await deleteImportRejections(trx, workspaceId, emails, phones);
  await anonymiseTestSends(trx, workspaceId, emails, phones);
  for (const id of ids) {
    const own = messages.filter((m) => m.contactId === id).map((m) => m.id);
    await anonymiseContactRows(trx, workspaceId, id, own, now);
  }
  await keepReportCounts(trx, false);
}

/**
 * Where a run is in the contacts, in id order: each batch starts after the last contact of the one
 * before. A contact skipped because another transaction held it is left to the next run.
 */
interface Cursor {
  after: string | null;
}

/** Erases, anonymises or archives each locked contact; a batch's contacts commit together or not at all. */
async function actOnBatch(
  trx: Executor,
  ws: WorkspaceContext,
  kind: RetentionKind,
  action: ContactAction,
  where: RawBuilder<boolean>,
  limit: number,
  options: RunOptions,
  now: Date,
  cursor: Cursor,
) {
  const contacts = await lockContacts(trx, ws.id, where, limit, cursor.after);
  if (contacts.length === 0) return null;
  cursor.after = contacts.at(-1)!.id;
  if (action === "archive") {
    await archiveContacts(
      trx,
      ws.id,
      contacts.map((c) => c.id),
      now,
    );
    return { counts: { archived: contacts.length }, last: contacts.at(-1)?.id ?? null };
  }
  const ids = contacts.map((c) => c.id);
  if (action === "anonymise") await anonymiseContactsWithin(trx, ws.id, ids, options, now);
  else
    await eraseContactsWithin(trx, ws.id, ids, {
      tombstoneKey: options.tombstoneKey,
      requestedBy: { source: "system", actor: `retention:${kind}` },
      now,
    });
  await forgetSampleEmails(
    trx,
    ws.id,
    contacts.map((c) => c.id),
  );
  return { counts: { [COUNT_KEY[action]]: contacts.length }, last: contacts.at(-1)?.id ?? null };
}

function planFor(
  ws: WorkspaceContext,
  kind: RetentionKind,
  policy: PolicyRow,
  options: RunOptions,
  now: Date,
): Plan {
  if (kind === "outdated_prospects") {
    const s = policy.settings as unknown as SettingsByKind["outdated_prospects"];
    const q: OutdatedQuery = {
      workspaceId: ws.id,
      cutoff: daysBefore(now, s.inactiveDays),
      campaignId: s.repermissionCampaignId ?? null,
      graceCutoff: daysBefore(now, s.graceDays ?? DEFAULT_GRACE_DAYS),
      includeArchived: s.action !== "archive",
    };
    const act = outdatedToAct(q);
    const enroll = q.campaignId ? outdatedToEnroll(q) : null;
    const action: ContactAction = s.action;
    const acted: Cursor = { after: null };
    const enrolled: Cursor = { after: null };
    return {
      async count(db) {
        const counts: Record<string, number> = { [COUNT_KEY[action]]: await countContacts(db, ws.id, act) };
        if (enroll) counts.enrolled = await countContacts(db, ws.id, enroll);
        return counts;
      },
      async sample(db) {
        const acted = withAction(await sampleContacts(db, ws.id, act, SAMPLE_SIZE), action);
        if (!enroll || acted.length >= SAMPLE_SIZE) return acted;
        return [
          ...acted,
          ...withAction(await sampleContacts(db, ws.id, enroll, SAMPLE_SIZE - acted.length), "enroll"),
        ];
      },
      toDelete: (counts) => (action === "archive" ? 0 : (counts[COUNT_KEY[action]] ?? 0)),
      async batch(trx, limit) {
        // Those past their grace first, then the newly outdated get the re-permission campaign.
        const erased = await actOnBatch(trx, ws, kind, action, act, limit, options, now, acted);
        if (erased || !enroll || !q.campaignId) return erased;
        const campaign = await repermissionCampaign(trx, ws.id, q.campaignId, true);
        const contacts = await lockContacts(trx, ws.id, enroll, limit, enrolled.after);
        if (contacts.length === 0) return null;
        enrolled.after = contacts.at(-1)!.id;
        const wf = await loadWorkflowVersion(trx, ws.id, campaign.workflow_id, campaign.workflow_version);
        const ids = contacts.map((c) => c.id);
        const n = await enrollWhere(
          trx,
          ws.id,
          campaign.id,
          wf.entryId,
          sql<boolean>`c.id = any(${ids}::uuid[])`,
          now,
          null,
          Number(campaign.holdout_percent),
        );
        await setCampaignStatus(trx, ws.id, campaign.id, campaign.status, now, { enrolledDelta: n });
        return { counts: { enrolled: n }, last: ids.at(-1) ?? null };
      },
    };
  }
  if (kind === "undeliverable") {
    const action: ContactAction = (policy.settings as unknown as SettingsByKind["undeliverable"]).action;
    const where = undeliverable(ws.id, action !== "archive");
    const key = COUNT_KEY[action];
    const cursor: Cursor = { after: null };
    return {
      count: async (db) => ({ [key]: await countContacts(db, ws.id, where) }),
      sample: async (db) => withAction(await sampleContacts(db, ws.id, where, SAMPLE_SIZE), action),
      toDelete: (counts) => (action === "archive" ? 0 : (counts[key] ?? 0)),
      batch: (trx, limit) => actOnBatch(trx, ws, kind, action, where, limit, options, now, cursor),
    };
  }
  if (kind === "duplicates") {
    return duplicatesPlan(ws, policy.settings as unknown as SettingsByKind["duplicates"], options, now);
  }
  const s = policy.settings as unknown as SettingsByKind["finished_journeys"];
  const cutoff = daysBefore(now, s.olderThanDays);
  if (kind === "old_events") return oldEventsPlan(ws, cutoff, now);
  if (kind === "finished_journeys") {
    return {
      async count(db) {
        const journeys = await countFinishedJourneys(db, ws.id, cutoff);
        return {
          journeys: journeys.journeys,
          steps: journeys.steps,
          outbox: await countOldOutbox(db, ws.id, cutoff),
        };
      },
      async sample(db) {
        const journeys = withAction(
          await sampleFinishedJourneys(db, ws.id, cutoff, SAMPLE_SIZE),
          "purge_history",
        );
        if (journeys.length >= SAMPLE_SIZE) return journeys;
        const outbox = await sampleOldOutbox(db, ws.id, cutoff, SAMPLE_SIZE - journeys.length);
        return [...journeys, ...withAction(outbox, "delete_body")];
      },
      toDelete: () => 0,
      async batch(trx, limit): ReturnType<Plan["batch"]> {
        // Enrollment triggers do not fire on steps; set anyway so nothing this batch does moves a report.
        await keepReportCounts(trx, true);
        const purged = await purgeFinishedJourneys(trx, ws.id, cutoff, limit);
        if (purged.journeys > 0)
          return { counts: { journeys: purged.journeys, steps: purged.steps }, last: purged.last };
        const outbox = await deleteOldOutbox(trx, ws.id, cutoff, limit);
        return outbox > 0 ? { counts: { outbox }, last: null } : null;
      },
    };
  }
  return {
    count: async (db) => ({ batches: await countOldPrintBatches(db, ws.id, cutoff) }),
    async sample(db) {
      const rows = await samplePrintBatches(db, ws.id, cutoff, SAMPLE_SIZE);
      return rows.map((r) => ({ id: r.id, email: null, action: "delete_files" }));
    },
    toDelete: () => 0,
    async batch(trx, limit) {
      const batches = await lockOldPrintBatches(trx, ws.id, cutoff, limit);
      if (batches.length === 0) return null;
      let files = 0;
      // Files go before the commit; a crash in between deletes nothing twice (a missing file is done).
      for (const b of batches) {
        for (const path of [b.pdf_path, b.manifest_path]) {
          if (!path) continue;
          try {
            await unlink(path);
            files++;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          }
        }
      }
      await markPrintFilesDeleted(
        trx,
        ws.id,
        batches.map((b) => b.id),
        now,
      );
      return { counts: { batches: batches.length, files }, last: batches.at(-1)?.id ?? null };
    },
  };
}

/**
 * The `old_events` policy: the workspace's events that occurred more than olderThanDays ago go, by
 * dropping whole monthly partitions where every workspace with events in them has such a policy that
 * covers them too, and by deleting in batches elsewhere (events/partitions.ts). Reports keep their
 * counts: they are rollups of their own, not read from events.
 */
function oldEventsPlan(ws: WorkspaceContext, cutoff: Date, now: Date): Plan {
  const cutoffOf: CutoffOf = async (db, workspaceId) => {
    const { rows } = await sql<{ days: number }>`
      select (settings ->> 'olderThanDays')::int as days from retention_policies
      where workspace_id = ${workspaceId} and kind = 'old_events' and enabled`.execute(db);
    return rows[0] ? daysBefore(now, rows[0].days) : null;
  };
  return {
    async count(trx) {
      return {
        events: await countOldEvents(trx, ws.id, cutoff),
        partitions: (await droppablePartitions(trx, ws.id, cutoff, cutoffOf)).length,
      };
    },
    async sample(trx) {
      const byType = await sampleOldEvents(trx, ws.id, cutoff, SAMPLE_SIZE);
      return byType.map((t) => ({
        id: t.type,
        email: null,
        action: `delete ${t.count} (${t.oldest.toISOString().slice(0, 10)} … ${t.newest.toISOString().slice(0, 10)})`,
      }));
    },
    toDelete: () => 0,
    async batch(trx, limit) {
      // Events are small rows: ten times a contact batch is still a short statement.
      const batch = await removeOldEventsBatch(trx, ws.id, cutoff, cutoffOf, limit * 10);
      if (!batch) return null;
      const counts: Record<string, number> = { events: batch.events };
      if (batch.partition) counts.partitions = 1;
      if (batch.ids) counts.eventIds = batch.ids;
      return { counts, last: batch.partition };
    },
  };
}

/** Groups read per query; a batch may stop part-way through them (the cursor then says where). */
const GROUPS_PER_READ = 100;

/** Where the duplicates policy is in one run: the reason, the last group key done, groups merged. */
interface DuplicatesCursor {
  reason: number;
  after: string;
  groups: number;
  done: boolean;
}

/** Thrown to roll a dry run's merges back. */
class RollBack extends Error {}

/**
 * The `duplicates` policy: each group of likely duplicates (reasons in the order email, phone, name and
 * address; groups in key order) merges into its oldest contact with the merge service, so the most
 * restrictive consent wins and everything moves as for POST /contacts/merge. Left alone, as by the merge
 * policy: groups of more than 51 contacts, groups with different external ids, and groups a contact of
 * which is locked or gone (`skippedChanged`: the next run takes them). A batch merges groups until it
 * has merged `limit` contacts away (a group is never split); a run stops after `maxGroups` groups.
 */
function duplicatesPlan(
  ws: WorkspaceContext,
  settings: SettingsByKind["duplicates"],
  options: RunOptions,
  now: Date,
): Plan {
  const reasons = duplicateReasonsOf(settings);
  const maxGroups = settings.maxGroups ?? DEFAULT_MAX_GROUPS;

  async function step(trx: Executor, cursor: DuplicatesCursor, limit: number, sample?: Sample) {
    if (cursor.done) return null;
    const counts: Record<string, number> = {};
    const add = (key: string, n = 1) => {
      counts[key] = (counts[key] ?? 0) + n;
    };
    let merged = 0;
    let last: string | null = null;
    while (cursor.reason < reasons.length) {
      const reason = reasons[cursor.reason]!;
      const groups = await findDuplicateGroups(trx, ws.id, reason, cursor.after, GROUPS_PER_READ);
      for (const group of groups) {
        if (merged >= Math.max(limit, 1)) return { counts, last };
        if (group.size > MAX_DUPLICATES_PER_MERGE + 1) {
          add("skippedTooLarge");
        } else if (group.external_ids > 1) {
          add("skippedConflictingExternalIds");
        } else if (cursor.groups >= maxGroups) {
          add("more");
          cursor.done = true;
          return { counts, last };
        } else {
          const locked = await lockGroupSkipLocked(trx, ws.id, group.ids);
          if (locked.length < group.ids.length) add("skippedChanged");
          else {
            const [survivorId, ...duplicateIds] = group.ids as [string, ...string[]];
            await mergeInTransaction(trx, ws, {
              survivorId,
              duplicateIds,
              cause: `policy:${reason}`,
              actor: `retention:duplicates`,
              now,
            });
            await forgetSampleEmails(trx, ws.id, duplicateIds);
            cursor.groups++;
            merged += duplicateIds.length;
            last = survivorId;
            add("groups");
            add("merged", duplicateIds.length);
            add(reason, duplicateIds.length);
            const emails = new Map(locked.map((c) => [c.id, c.email]));
            for (const id of duplicateIds) {
              if (sample && sample.length < SAMPLE_SIZE)
                sample.push({ id, email: emails.get(id) ?? null, action: "merge", into: survivorId });
            }
          }
        }
        cursor.after = group.key;
      }
      if (groups.length < GROUPS_PER_READ) {
        cursor.reason++;
        cursor.after = "";
      }
    }
    cursor.done = true;
    return Object.keys(counts).length ? { counts, last } : null;
  }

  const cursor: DuplicatesCursor = { reason: 0, after: "", groups: 0, done: false };
  const limit = options.batchSize ?? DEFAULT_BATCH_SIZE;
  return {
    // Not used: preview stands in for them.
    count: async () => ({}),
    sample: async () => [],
    async preview(db) {
      const counts: Record<string, number> = { groups: 0, merged: 0 };
      const sample: Sample = [];
      try {
        await db.transaction().execute(async (trx) => {
          const dry: DuplicatesCursor = { reason: 0, after: "", groups: 0, done: false };
          for (;;) {
            const done = await step(trx, dry, limit, sample);
            if (!done) break;
            for (const [key, n] of Object.entries(done.counts)) counts[key] = (counts[key] ?? 0) + n;
          }
          throw new RollBack();
        });
      } catch (error) {
        if (!(error instanceof RollBack)) throw error;
      }
      return { counts, sample };
    },
    toDelete: (counts) => counts.merged ?? 0,
    batch: (trx, batchLimit) => step(trx, cursor, batchLimit),
  };
}

/** A policy as stored, or the kind's disabled default (so a dry run needs the settings first). */
async function requirePolicy(db: Executor, ws: WorkspaceContext, kind: RetentionKind): Promise<PolicyRow> {
  const policy = await findPolicy(db, ws.id, kind);
  if (!policy) throw new AppError("NOT_FOUND", `retention policy ${kind} is not set: PUT its settings first`);
  return policy;
}

/**
 * Runs one policy of one workspace. A dry run records and returns exact counts and a sample. A real
 * run first checks the confirmation threshold (stopping at `needs_confirmation` with the counts), then
 * acts in batches until nothing qualifies; a failure ends the run as `failed` with what was done.
 */
export function runRetentionPolicy(
  db: Db,
  ws: WorkspaceContext,
  kind: RetentionKind,
  options: RunOptions = {},
): Promise<RetentionRun> {
  // Removing old events reads the other workspaces' policies and which workspaces have events in a
  // month's partition, and drops whole partitions (which only the owner may do): it runs across
  // workspaces even when a request starts it (row-level security, db/tenancy.ts).
  return kind === "old_events"
    ? acrossWorkspaces(() => runPolicy(db, ws, kind, options))
    : runPolicy(db, ws, kind, options);
}

async function runPolicy(
  db: Db,
  ws: WorkspaceContext,
  kind: RetentionKind,
  options: RunOptions,
): Promise<RetentionRun> {
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? true;
  const trigger = options.trigger ?? "api";
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const policy = await requirePolicy(db, ws, kind);
  const plan = planFor(ws, kind, policy, options, now);
  const settings = policy.settings as { repermissionCampaignId?: string | null };
  if (kind === "outdated_prospects" && settings.repermissionCampaignId)
    await repermissionCampaign(db, ws.id, settings.repermissionCampaignId, false);

  // One snapshot, so the counts and the sample agree.
  const preview = plan.preview
    ? await plan.preview(db)
    : await db
        .transaction()
        .setIsolationLevel("repeatable read")
        .execute(async (trx) => ({ counts: await plan.count(trx), sample: await plan.sample(trx) }));
  const base = { workspace_id: ws.id, kind, trigger, started_at: now, sample: preview.sample };
  if (dryRun) {
    const row = await insertRun(db, {
      ...base,
      dry_run: true,
      status: "completed",
      counts: preview.counts,
      finished_at: now,
    });
    return toRun(row);
  }
  const toDelete = plan.toDelete(preview.counts);
  if (CONTACT_KINDS.has(kind) && !options.confirm) {
    const total = await countContacts(db, ws.id);
    if (needsConfirmation(toDelete, total, Number(policy.max_share))) {
      const row = await insertRun(db, {
        ...base,
        dry_run: false,
        status: "needs_confirmation",
        counts: { ...preview.counts, workspaceContacts: total },
        finished_at: now,
      });
      return toRun(row);
    }
  }
  // A real run's own sample does not keep the emails of the contacts it erases or anonymises.
  const sample = CONTACT_KINDS.has(kind)
    ? preview.sample.map((r) => (r.action === "enroll" ? r : { ...r, email: null }))
    : preview.sample;
  const run =
    (await findUnfinishedRun(db, ws.id, kind)) ??
    (await insertRun(db, {
      ...base,
      sample,
      dry_run: false,
      status: "running",
      counts: {},
      finished_at: null,
    }));
  let batches = 0;
  const pace = options.pace ?? DEFAULT_PACE;
  try {
    for (;;) {
      const started = performance.now();
      const done = await db.transaction().execute(async (trx) => {
        const result = await plan.batch(trx, batchSize);
        if (result) await addBatchToRun(trx, ws.id, run.id, result.counts, result.last);
        return result;
      });
      if (!done) break;
      batches++;
      await options.afterBatch?.(batches);
      const rest = (performance.now() - started) * pace;
      if (rest >= 1) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await finishRun(db, ws.id, run.id, "failed", now, {
      error: message,
    });
    throw error;
  }
  return toRun(await finishRun(db, ws.id, run.id, "completed", now, { sample }));
}

export async function listRetentionPolicies(db: Db, ws: WorkspaceContext): Promise<RetentionPolicy[]> {
  return (await listPolicies(db, ws.id)).map(toPolicy);
}

export async function putRetentionPolicy(
  db: Db,
  ws: WorkspaceContext,
  kind: RetentionKind,
  body: RetentionPolicyPut,
  now = new Date(),
): Promise<RetentionPolicy> {
  const problems = settingsProblems(kind, body.settings);
  if (problems.length) throw validationFailed(problems);
  await checkEventWindows(db, ws, kind, body);
  const campaignId = body.settings.repermissionCampaignId;
  if (kind === "outdated_prospects" && typeof campaignId === "string") {
    const campaign = await findCampaign(db, ws.id, campaignId);
    if (!campaign)
      throw validationFailed([
        { field: "settings.repermissionCampaignId", message: `campaign ${campaignId} does not exist` },
      ]);
  }
  const row = await upsertPolicy(db, {
    workspaceId: ws.id,
    kind,
    enabled: body.enabled,
    settings: body.settings,
    maxShare: body.maxShare ?? DEFAULT_MAX_SHARE,
    now,
  });
  return toPolicy(row);
}

/**
 * Outdated prospects are found by their events: events dropped sooner than the inactivity window would
 * make engaged contacts look outdated. An enabled old_events policy must keep at least inactiveDays.
 */
async function checkEventWindows(
  db: Db,
  ws: WorkspaceContext,
  kind: RetentionKind,
  body: RetentionPolicyPut,
) {
  if (!body.enabled || (kind !== "old_events" && kind !== "outdated_prospects")) return;
  const other = await findPolicy(db, ws.id, kind === "old_events" ? "outdated_prospects" : "old_events");
  if (!other?.enabled) return;
  const keep = Number(kind === "old_events" ? body.settings.olderThanDays : other.settings.olderThanDays);
  const inactive = Number(kind === "old_events" ? other.settings.inactiveDays : body.settings.inactiveDays);
  if (keep >= inactive) return;
  throw validationFailed([
    kind === "old_events"
      ? {
          field: "settings.olderThanDays",
          message: `must be at least ${inactive}, the outdated_prospects policy's inactiveDays: contacts whose engagement was dropped would look outdated`,
        }
      : {
          field: "settings.inactiveDays",
          message: `must be at most ${keep}, the old_events policy's olderThanDays: contacts whose engagement was dropped would look outdated`,
        },
  ]);
}

export async function listRetentionRuns(
  db: Db,
  ws: WorkspaceContext,
  query: { kind?: RetentionKind; limit?: number } = {},
): Promise<RetentionRun[]> {
  return (await listRuns(db, ws.id, query.kind, query.limit ?? 50)).map(toRun);
}

export const RETENTION_JOB = "retention";

/**
 * The daily job: every enabled policy of every workspace, for real and unconfirmed (a run over the
 * threshold is recorded as needs_confirmation). One policy failing does not stop the others.
 */
export async function runScheduledRetention(
  db: Db,
  options: {
    tombstoneKey?: Buffer | undefined;
    now?: Date;
    onError?: (error: unknown, policy: PolicyRow) => void;
  } = {},
): Promise<RetentionRun[]> {
  const runs: RetentionRun[] = [];
  for (const policy of await listEnabledPolicies(db)) {
    const ws = { id: policy.workspace_id } as WorkspaceContext;
    let run: RetentionRun | undefined;
    try {
      run = await runRetentionPolicy(db, ws, policy.kind, {
        dryRun: false,
        trigger: "schedule",
        tombstoneKey: options.tombstoneKey,
        ...(options.now ? { now: options.now } : {}),
      });
      runs.push(run);
    } catch (error) {
      options.onError?.(error, policy);
    }
    // The audit log's entry, as for a run through the API, by the system (docs/audit-log.md).
    try {
      await recordAudit(
        db,
        ws.id,
        {
          actor: systemActor("retention"),
          action: "retention_policy.run",
          objectId: policy.kind,
          details: { trigger: "schedule", runId: run?.id ?? null, status: run?.status ?? "failed" },
        },
        options.now,
      );
    } catch (error) {
      options.onError?.(error, policy);
    }
  }
  return runs;
}
