/**
 * A campaign's schedule, pure: when it starts (an instant, or a wall-clock time in each member's own
 * timezone) and when it ends, and what makes a schedule acceptable.
 */
import type { CampaignCreate, LocalStart } from "@omneural/contracts/workflows";
import type { FieldProblem } from "../shared/errors.ts";

/**
 * A start this far in the past is still accepted (and starts at once): a form filled in at 09:00 and
 * sent at 09:01 means "now", not a mistake.
 */
export const START_GRACE_MS = 5 * 60_000;

/** Time zones span UTC−12 (Baker Island) to UTC+14 (Kiritimati): a local moment happens within them. */
const EARLIEST_OFFSET_HOURS = 14;
const LATEST_OFFSET_HOURS = -12;

export interface Schedule {
  startAt: Date | null;
  startLocal: LocalStart | null;
  endAt: Date | null;
}

/** The local date and time read as if in UTC (null when the date does not exist, e.g. 2027-02-30). */
function localAsUtc(local: LocalStart): number | null {
  const [y, m, d] = local.date.split("-").map(Number) as [number, number, number];
  const [hh, mm] = local.time.split(":").map(Number) as [number, number];
  const ms = Date.UTC(y, m - 1, d, hh, mm);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return null;
  return ms;
}

/** The first and last instants at which some timezone reaches this local date and time. */
export function localStartWindow(local: LocalStart): { first: Date; last: Date } | null {
  const ms = localAsUtc(local);
  if (ms === null) return null;
  return {
    first: new Date(ms - EARLIEST_OFFSET_HOURS * 3_600_000),
    last: new Date(ms - LATEST_OFFSET_HOURS * 3_600_000),
  };
}

/**
 * Checks a requested schedule at `now`: a start in the past (beyond the grace; for `startLocal`, past in
 * every timezone), `endAt` not after the start (for `startLocal`, after the last timezone's moment, so
 * every member can enter), or both kinds of start. Each problem names its field.
 */
export function checkSchedule(
  input: Pick<CampaignCreate, "startAt" | "startLocal" | "endAt">,
  now: Date,
): { schedule: Schedule; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const startAt = input.startAt ? new Date(input.startAt) : null;
  const startLocal = input.startLocal ?? null;
  const endAt = input.endAt ? new Date(input.endAt) : null;
  const oldest = now.getTime() - START_GRACE_MS;
  if (startAt && startLocal) {
    problems.push({ field: "startLocal", message: "give either startAt or startLocal, not both" });
  }
  if (startAt && startAt.getTime() < oldest) {
    problems.push({ field: "startAt", message: `${input.startAt} is in the past` });
  }
  let latestStart = startAt;
  if (startLocal) {
    const window = localStartWindow(startLocal);
    if (!window) {
      problems.push({ field: "startLocal.date", message: `${startLocal.date} is not a calendar date` });
    } else if (window.last.getTime() < oldest) {
      problems.push({
        field: "startLocal",
        message: `${startLocal.date} ${startLocal.time} has already passed in every timezone`,
      });
    } else {
      latestStart = window.last;
    }
  }
  if (endAt) {
    if (endAt.getTime() <= now.getTime()) {
      problems.push({ field: "endAt", message: `${input.endAt} is in the past` });
    } else if (latestStart && endAt.getTime() <= latestStart.getTime()) {
      problems.push({
        field: "endAt",
        message: startLocal
          ? `must be after ${latestStart.toISOString()}, when the last timezone reaches startLocal`
          : "must be after startAt",
      });
    }
  }
  return { schedule: { startAt, startLocal, endAt }, problems };
}
