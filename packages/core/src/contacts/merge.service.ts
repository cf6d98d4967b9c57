/**
 * Duplicate contacts: listing the groups of likely duplicates, merging contacts into a survivor (one
 * transaction), and the policy that merges every likely group into its oldest contact. See
 * docs/data-lifecycle.md, "Duplicates and merge".
 */
import type {
  ContactMergeResult,
  DuplicateContact,
  DuplicateGroupList,
  DuplicatesMergeResult,
} from "@omneural/contracts/merge";
import { queueMembershipCheck } from "../audiences/membership.ts";
import type { Db, Executor } from "../db/database.ts";
import type { ContactRow } from "../db/schema.ts";
import { joinTransaction } from "../definitions/nested-transaction.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { insertConsentChanges, updateContact } from "./contact.repository.ts";
import type { WorkspaceContext } from "./contact.service.ts";
import { toContact } from "./contact.ts";
import {
  clearIdentifiers,
  type DuplicateGroupRow,
  deleteContacts,
  findContactsByIds,
  findDuplicateGroups,
  insertMergeLog,
  keepReportCounts,
  lockContacts,
  moveContactData,
} from "./merge.repository.ts";
import {
  addCounts,
  checkMergeRequest,
  DUPLICATE_REASONS,
  type DuplicateReason,
  decodeGroupCursor,
  emptyCounts,
  encodeGroupCursor,
  MAX_DUPLICATES_PER_MERGE,
  planMerge,
} from "./merge.ts";

function toDuplicateContact(row: ContactRow): DuplicateContact {
  const name = [row.first_name, row.last_name].filter(Boolean).join(" ");
  return {
    id: row.id,
    externalId: row.external_id,
    email: row.email,
    phone: row.phone,
    name: name || null,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * Groups of likely duplicates, email groups first, then phone, then name and address; within a reason in
 * the order of their (normalised) key. A contact can be in a group of each reason.
 */
export async function listDuplicateGroups(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string; reason?: DuplicateReason },
): Promise<DuplicateGroupList> {
  const limit = query.limit ?? 20;
  const reasons = query.reason ? [query.reason] : DUPLICATE_REASONS;
  let start = { reason: reasons[0]!, key: "" };
  if (query.cursor !== undefined) {
    start = decodeGroupCursor(query.cursor);
    if (!reasons.includes(start.reason)) {
      throw validationFailed([{ field: "cursor", message: "belongs to a list of another reason" }]);
    }
  }
  const found: { reason: DuplicateReason; group: DuplicateGroupRow }[] = [];
  for (const reason of reasons.slice(reasons.indexOf(start.reason))) {
    const after = reason === start.reason ? start.key : "";
    const groups = await findDuplicateGroups(db, ws.id, reason, after, limit + 1 - found.length);
    found.push(...groups.map((group) => ({ reason, group })));
    if (found.length > limit) break;
  }
  const page = found.slice(0, limit);
  const rows = await findContactsByIds(
    db,
    ws.id,
    page.flatMap((g) => g.group.ids),
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const last = page[page.length - 1];
  return {
    data: page.map(({ reason, group }) => ({
      reason,
      size: group.size,
      survivorId: group.ids[0]!,
      contacts: group.ids.flatMap((id) => {
        const row = byId.get(id);
        return row ? [toDuplicateContact(row)] : [];
      }),
    })),
    nextCursor: found.length > limit && last ? encodeGroupCursor(last.reason, last.group.key) : null,
  };
}

export interface MergeInput {
  survivorId: string;
  duplicateIds: string[];
  /** 'api' or 'policy:<reason>', for the merge log. */
  cause: string;
  /** The API key (or 'policy'), for the merge log and the consent ledger. */
  actor: string | null;
  now: Date;
}

/**
 * The merge, in the caller's transaction: locks the contacts, fills the survivor, takes the most
 * restrictive consent (in the ledger with source 'merge'), moves everything else, deletes the duplicates
 * and logs the merge. The survivor stays archived only when every contact merged was archived: one that
 * is not is in use, and the merge must not hide it. Also the retention policy `duplicates`' step.
 */
export async function mergeInTransaction(
  trx: Executor,
  ws: WorkspaceContext,
  input: MergeInput,
): Promise<ContactMergeResult> {
  const { survivorId, duplicateIds, now } = input;
  const locked = new Map(
    (await lockContacts(trx, ws.id, [survivorId, ...duplicateIds])).map((row) => [row.id, row]),
  );
  for (const id of [survivorId, ...duplicateIds]) if (!locked.has(id)) throw notFound("contact", id);
  const survivor = locked.get(survivorId)!;
  const plan = planMerge(
    survivor,
    duplicateIds.map((id) => locked.get(id)!),
  );

  await keepReportCounts(trx);
  await clearIdentifiers(trx, ws.id, duplicateIds);
  const { moved, dropped } = await moveContactData(trx, ws.id, survivorId, duplicateIds, now);
  const unarchive = survivor.archived_at !== null && duplicateIds.some((id) => !locked.get(id)!.archived_at);
  const updated = await updateContact(trx, ws.id, survivorId, {
    ...plan.values,
    attributes: plan.attributes,
    ...(unarchive ? { archived_at: null } : {}),
  });
  await insertConsentChanges(
    trx,
    ws.id,
    plan.consent.map((c) => ({
      contactId: survivorId,
      channel: c.channel,
      status: c.status,
      previous: c.previous,
      source: "merge",
      actor: input.actor,
      reason: `merged with contact ${c.fromContactId}, whose ${c.channel} consent was ${c.status}`,
    })),
  );
  await deleteContacts(trx, ws.id, duplicateIds);
  const mergeId = uuidv7(now.getTime());
  const summary = { filled: plan.filled, consent: plan.consent, moved, dropped };
  await insertMergeLog(trx, {
    workspaceId: ws.id,
    id: mergeId,
    survivorId,
    duplicateIds,
    cause: input.cause,
    actor: input.actor,
    summary,
    at: now,
  });
  // Attributes and events changed: listened segments look at the survivor again.
  await queueMembershipCheck(trx, ws.id, [survivorId], "contacts merged");
  return {
    mergeId,
    survivor: toContact(updated),
    duplicateIds,
    ...summary,
    mergedAt: now.toISOString(),
  };
}

/**
 * Merges `duplicateIds` into `survivorId`, in one transaction. Every contact must be the workspace's
 * (404 otherwise, as for any contact of another workspace); at most 50 duplicates, never the survivor.
 */
export async function mergeContacts(
  db: Db,
  ws: WorkspaceContext,
  request: { survivorId: string; duplicateIds: string[] },
  actor: string | null,
  now = new Date(),
): Promise<ContactMergeResult> {
  checkMergeRequest(request.survivorId, request.duplicateIds);
  return db
    .transaction()
    .execute((trx) => mergeInTransaction(trx, ws, { ...request, cause: "api", actor: actor ?? null, now }));
}

export interface MergePolicyOptions {
  /** Which groups to merge, in this order (default: email, phone, name_and_address). */
  reasons?: readonly DuplicateReason[];
  /** Default true: merge inside a transaction that is rolled back, and report what would have happened. */
  dryRun?: boolean;
  /** Merge at most this many groups (default 1000). */
  maxGroups?: number;
  actor?: string | null;
  now?: Date;
}

const SAMPLE_SIZE = 20;
const GROUPS_PER_READ = 100;

/** Thrown to roll a dry run back. */
class DryRunDone extends Error {}

/**
 * The likely-duplicates policy: merges each group into its oldest contact, reason by reason (email, then
 * phone, then name and address: a merge by email may complete a contact's name and address for the
 * next pass). Each group merges in its own transaction. Left alone: groups of more than 51 contacts, and
 * groups whose contacts carry different external ids (the source system says they are different people).
 *
 * A dry run is the same run inside one transaction that is rolled back at the end, so its counts are
 * those a real run would give on the same data.
 */
export async function mergeLikelyDuplicates(
  db: Db,
  ws: WorkspaceContext,
  options: MergePolicyOptions = {},
): Promise<DuplicatesMergeResult> {
  const dryRun = options.dryRun ?? true;
  if (!dryRun) return runPolicy(db, ws, options, false);
  let result: DuplicatesMergeResult | undefined;
  try {
    await db.transaction().execute(async (trx) => {
      result = await runPolicy(joinTransaction(trx), ws, options, true);
      throw new DryRunDone();
    });
  } catch (error) {
    if (!(error instanceof DryRunDone)) throw error;
  }
  return result!;
}

async function runPolicy(
  db: Db,
  ws: WorkspaceContext,
  options: MergePolicyOptions,
  dryRun: boolean,
): Promise<DuplicatesMergeResult> {
  const maxGroups = options.maxGroups ?? 1000;
  const result: DuplicatesMergeResult = {
    dryRun,
    groups: 0,
    contactsMerged: 0,
    byReason: {
      email: { groups: 0, contacts: 0 },
      phone: { groups: 0, contacts: 0 },
      name_and_address: { groups: 0, contacts: 0 },
    },
    skipped: { tooLarge: 0, conflictingExternalIds: 0, changed: 0 },
    moved: emptyCounts(),
    dropped: emptyCounts(),
    sample: [],
    more: false,
  };
  const reasons = DUPLICATE_REASONS.filter((r) => (options.reasons ?? DUPLICATE_REASONS).includes(r));
  for (const reason of reasons) {
    let after = "";
    for (;;) {
      const groups = await findDuplicateGroups(db, ws.id, reason, after, GROUPS_PER_READ);
      for (const group of groups) {
        after = group.key;
        if (group.size > MAX_DUPLICATES_PER_MERGE + 1) {
          result.skipped.tooLarge++;
          continue;
        }
        if (group.external_ids > 1) {
          result.skipped.conflictingExternalIds++;
          continue;
        }
        if (result.groups >= maxGroups) {
          result.more = true;
          return result;
        }
        const [survivorId, ...duplicateIds] = group.ids as [string, ...string[]];
        let merged: ContactMergeResult;
        try {
          merged = await db.transaction().execute((trx) =>
            mergeInTransaction(trx, ws, {
              survivorId,
              duplicateIds,
              cause: `policy:${reason}`,
              actor: options.actor ?? "policy",
              now: options.now ?? new Date(),
            }),
          );
        } catch (error) {
          // A contact of the group was merged or erased meanwhile: the group is no longer what was read.
          if (error instanceof AppError && error.code === "NOT_FOUND") {
            result.skipped.changed++;
            continue;
          }
          throw error;
        }
        result.groups++;
        result.contactsMerged += duplicateIds.length;
        result.byReason[reason].groups++;
        result.byReason[reason].contacts += duplicateIds.length;
        addCounts(result.moved, merged.moved);
        addCounts(result.dropped, merged.dropped);
        if (result.sample.length < SAMPLE_SIZE) {
          result.sample.push({ reason, survivorId, duplicateIds, mergeId: dryRun ? null : merged.mergeId });
        }
      }
      if (groups.length < GROUPS_PER_READ) break;
    }
  }
  return result;
}
