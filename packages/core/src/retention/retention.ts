/**
 * Retention policies: their kinds, settings and the pure rules of a run (settings validation, the
 * confirmation threshold). SQL is in retention.repository.ts, the runner in retention.service.ts.
 *
 * Glossary: a *candidate* is a row the policy would act on now; a *batch* is up to `batchSize`
 * candidates handled in one transaction; a *run* is one pass of a policy, dry (counts and a sample, no
 * change) or real (batches until no candidate is left), recorded in `retention_runs`.
 */
import type {
  DuplicatesSettings,
  OlderThanSettings,
  OutdatedProspectsSettings,
  RetentionKind,
  UndeliverableSettings,
} from "@omneural/contracts/retention";
import { DUPLICATE_REASONS, type DuplicateReason } from "../contacts/merge.ts";
import type { FieldProblem } from "../shared/errors.ts";

export type { RetentionKind };

export interface SettingsByKind {
  outdated_prospects: OutdatedProspectsSettings;
  undeliverable: UndeliverableSettings;
  finished_journeys: OlderThanSettings;
  print_files: OlderThanSettings;
  duplicates: DuplicatesSettings;
  old_events: OlderThanSettings;
}

/** Days a re-permission campaign gets before an outdated contact who did not engage is acted on. */
export const DEFAULT_GRACE_DAYS = 30;
/** Share of the workspace's contacts one run may delete or anonymise without confirmation. */
export const DEFAULT_MAX_SHARE = 0.2;
/** Candidates per transaction: short enough that no lock is held for long. */
export const DEFAULT_BATCH_SIZE = 500;
/**
 * A run rests twice as long as each batch took: it takes at most a third of one connection's time, so
 * that API reads and journeys keep their latency (npm run bench -- cleanup).
 */
export const DEFAULT_PACE = 2;
/** Rows shown in a run's sample. */
export const SAMPLE_SIZE = 20;

/** Groups the duplicates policy merges in one run unless its settings say otherwise. */
export const DEFAULT_MAX_GROUPS = 1000;

/**
 * Policies that act on contacts. Those that delete, anonymise or merge them away are held by the
 * confirmation threshold (archiving is not: it keeps every row and restore undoes it), and a real run's
 * sample keeps no emails of theirs.
 */
export const CONTACT_KINDS: ReadonlySet<RetentionKind> = new Set([
  "outdated_prospects",
  "undeliverable",
  "duplicates",
]);

/** What a contact policy does to each contact. */
export type ContactAction = "delete" | "anonymise" | "archive";
export const CONTACT_ACTIONS: readonly ContactAction[] = ["delete", "anonymise", "archive"];

/** The duplicates policy's groups, in the order it merges them (the merge service's order). */
export function duplicateReasonsOf(settings: DuplicatesSettings): DuplicateReason[] {
  return DUPLICATE_REASONS.filter((r) => (settings.match ?? DUPLICATE_REASONS).includes(r));
}

const isContactAction = (v: unknown) => CONTACT_ACTIONS.includes(v as ContactAction);
const isDays = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 36500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks a policy's settings against its kind; returns the problems (empty when valid). */
export function settingsProblems(kind: RetentionKind, settings: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const allowed: Record<RetentionKind, string[]> = {
    outdated_prospects: ["inactiveDays", "action", "repermissionCampaignId", "graceDays"],
    undeliverable: ["action"],
    finished_journeys: ["olderThanDays"],
    print_files: ["olderThanDays"],
    duplicates: ["match", "maxGroups"],
    old_events: ["olderThanDays"],
  };
  for (const key of Object.keys(settings)) {
    if (!allowed[kind].includes(key))
      problems.push({ field: `settings.${key}`, message: `is not a setting of ${kind}` });
  }
  const need = (key: string, ok: boolean, message: string) => {
    if (!ok) problems.push({ field: `settings.${key}`, message });
  };
  if (kind === "outdated_prospects") {
    need("inactiveDays", isDays(settings.inactiveDays), "must be a whole number of days from 1 to 36500");
    need("action", isContactAction(settings.action), "must be delete, anonymise or archive");
    const campaign = settings.repermissionCampaignId;
    need(
      "repermissionCampaignId",
      campaign === undefined || campaign === null || (typeof campaign === "string" && UUID.test(campaign)),
      "must be a campaign id or null",
    );
    need(
      "graceDays",
      settings.graceDays === undefined || isDays(settings.graceDays),
      "must be a whole number of days from 1 to 36500",
    );
  } else if (kind === "undeliverable") {
    need("action", isContactAction(settings.action), "must be delete, anonymise or archive");
  } else if (kind === "duplicates") {
    const match = settings.match;
    need(
      "match",
      match === undefined ||
        (Array.isArray(match) &&
          match.length > 0 &&
          new Set(match).size === match.length &&
          match.every((r) => DUPLICATE_REASONS.includes(r as DuplicateReason))),
      `must be a non-empty list of distinct reasons among ${DUPLICATE_REASONS.join(", ")}`,
    );
    const max = settings.maxGroups;
    need(
      "maxGroups",
      max === undefined || (Number.isInteger(max) && (max as number) >= 1 && (max as number) <= 10000),
      "must be a whole number from 1 to 10000",
    );
  } else {
    need("olderThanDays", isDays(settings.olderThanDays), "must be a whole number of days from 1 to 36500");
  }
  return problems;
}

/** A real run that would delete (anonymise, merge away) more than `maxShare` of the workspace's contacts needs `confirm`. */
export function needsConfirmation(toDelete: number, workspaceContacts: number, maxShare: number): boolean {
  return toDelete > 0 && toDelete > maxShare * workspaceContacts;
}

export const daysBefore = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000);
