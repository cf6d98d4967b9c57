/**
 * A campaign's settings beyond its schedule, pure: entry mode, re-entry, policies, holdout and goal;
 * what makes them acceptable, and how they map to and from the campaign row.
 */
import type {
  CampaignCreate,
  CampaignEntry,
  CampaignGoal,
  CampaignPolicies,
  CampaignReentry,
} from "@omneural/contracts/workflows";
import type { CampaignRow } from "../db/schema.ts";
import type { FieldProblem } from "../shared/errors.ts";

export interface CampaignSettings {
  entry: CampaignEntry;
  reentry: CampaignReentry;
  policies: CampaignPolicies;
  holdoutPercent: number;
  goal: CampaignGoal | null;
}

export const DEFAULT_SETTINGS: CampaignSettings = {
  entry: { mode: "once" },
  reentry: { mode: "never" },
  policies: {},
  holdoutPercent: 0,
  goal: null,
};

/** The settings a create request asks for, with defaults, and each problem naming its field. */
export function checkSettings(input: Partial<Pick<CampaignCreate, keyof CampaignSettings>>): {
  settings: CampaignSettings;
  problems: FieldProblem[];
} {
  const problems: FieldProblem[] = [];
  const entry: CampaignEntry = input.entry ?? DEFAULT_SETTINGS.entry;
  if (entry.mode === "event" && !entry.eventType) {
    problems.push({ field: "entry.eventType", message: "event entry needs the event type that enrolls" });
  }
  if (entry.mode !== "event" && (entry.eventType !== undefined || entry.where !== undefined)) {
    problems.push({
      field: "entry.eventType",
      message: `eventType and where are for event entry only (mode is ${entry.mode})`,
    });
  }
  const reentry: CampaignReentry = input.reentry ?? DEFAULT_SETTINGS.reentry;
  if (reentry.mode === "after" && reentry.afterDays === undefined) {
    problems.push({ field: "reentry.afterDays", message: 're-entry "after" needs afterDays' });
  }
  if (reentry.mode !== "after" && reentry.afterDays !== undefined) {
    problems.push({ field: "reentry.afterDays", message: `afterDays is for re-entry "after" only` });
  }
  if (reentry.mode !== "never" && entry.mode === "once") {
    problems.push({
      field: "reentry.mode",
      message: "a one-shot campaign enrolls each member once: re-entry needs continuous or event entry",
    });
  }
  const policies: CampaignPolicies = input.policies ?? {};
  const quiet = policies.quietHours;
  if (quiet && quiet.from === quiet.to) {
    problems.push({ field: "policies.quietHours", message: "from and to must differ" });
  }
  const holdoutPercent = input.holdoutPercent ?? 0;
  const goal = input.goal ?? null;
  return { settings: { entry, reentry, policies, holdoutPercent, goal }, problems };
}

/** The row's columns for these settings. */
export function settingsColumns(s: CampaignSettings) {
  return {
    entry_mode: s.entry.mode,
    entry_event_type: s.entry.eventType ?? null,
    entry_where: JSON.stringify(s.entry.where ?? []),
    reentry_mode: s.reentry.mode,
    reentry_after_days: s.reentry.afterDays ?? null,
    policies: JSON.stringify(s.policies),
    holdout_percent: s.holdoutPercent,
    goal_event_type: s.goal?.eventType ?? null,
    goal_window_days: s.goal?.windowDays ?? null,
  };
}

/** The settings a campaign row holds. */
export function settingsOf(row: CampaignRow): CampaignSettings {
  const where = row.entry_where as CampaignEntry["where"];
  const entry: CampaignEntry =
    row.entry_mode === "event"
      ? { mode: "event", eventType: row.entry_event_type ?? "", ...(where?.length ? { where } : {}) }
      : { mode: row.entry_mode as CampaignEntry["mode"] };
  const reentry: CampaignReentry =
    row.reentry_mode === "after"
      ? { mode: "after", afterDays: row.reentry_after_days ?? 1 }
      : { mode: row.reentry_mode as CampaignReentry["mode"] };
  return {
    entry,
    reentry,
    policies: (row.policies ?? {}) as CampaignPolicies,
    holdoutPercent: Number(row.holdout_percent),
    goal:
      row.goal_event_type && row.goal_window_days
        ? { eventType: row.goal_event_type, windowDays: row.goal_window_days }
        : null,
  };
}
