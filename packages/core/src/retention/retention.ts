/**
 * Retention policies: their kinds, settings and the pure rules of a run (settings validation, the
 * confirmation threshold). SQL is in retention.repository.ts, the runner in retention.service.ts.
 *
 * Glossary: a *candidate* is a row the policy would act on now; a *batch* is up to `batchSize`
 * candidates handled in one transaction; a *run* is one pass of a policy, dry (counts and a sample, no
 * change) or real (batches until no candidate is left), recorded in `retention_runs`.
 */
import type {
  OlderThanSettings,
  OutdatedProspectsSettings,
  RetentionKind,
  UndeliverableSettings,
} from "@omneural/contracts/retention";
import type { FieldProblem } from "../shared/errors.ts";

export type { RetentionKind };

export interface SettingsByKind {
  outdated_prospects: OutdatedProspectsSettings;
  undeliverable: UndeliverableSettings;
  finished_journeys: OlderThanSettings;
  print_files: OlderThanSettings;
}

/** Days a re-permission campaign gets before an outdated contact who did not engage is acted on. */
export const DEFAULT_GRACE_DAYS = 30;
/** Share of the workspace's contacts one run may delete or anonymise without confirmation. */
export const DEFAULT_MAX_SHARE = 0.2;
/** Candidates per transaction: short enough that no lock is held for long. */
export const DEFAULT_BATCH_SIZE = 500;
/** Rows shown in a run's sample. */
export const SAMPLE_SIZE = 20;

/** Policies that delete or anonymise contacts: the only ones the confirmation threshold applies to. */
export const CONTACT_KINDS: ReadonlySet<RetentionKind> = new Set(["outdated_prospects", "undeliverable"]);

const isContactAction = (v: unknown) => v === "delete" || v === "anonymise";
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
    need("action", isContactAction(settings.action), "must be delete or anonymise");
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
    need("action", isContactAction(settings.action), "must be delete or anonymise");
  } else {
    need("olderThanDays", isDays(settings.olderThanDays), "must be a whole number of days from 1 to 36500");
  }
  return problems;
}

/** A real run that would delete more than `maxShare` of the workspace's contacts needs `confirm`. */
export function needsConfirmation(toDelete: number, workspaceContacts: number, maxShare: number): boolean {
  return toDelete > 0 && toDelete > maxShare * workspaceContacts;
}

export const daysBefore = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000);
