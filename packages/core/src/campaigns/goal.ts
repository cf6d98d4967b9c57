/**
 * A campaign's goal, pure: the event type that counts as a conversion for the campaign and how long
 * after a message (attribution) or after entry (lift) it still counts; and the settings a launch
 * refuses, each naming its field.
 *
 * Two measures come from one goal event (see goal.repository.ts):
 * - attribution: a goal event within `windowDays` after one of the campaign's sent messages to the
 *   contact is a `message.converted` response to the latest such message;
 * - lift: each enrollment's first goal event within `windowDays` of entry is a row of
 *   `campaign_conversions`, for holdout and treatment members alike.
 */
import type { FieldProblem } from "../shared/errors.ts";
import type { CampaignSettings } from "./settings.ts";

/**
 * The id of the `message.converted` event a goal event makes for one campaign: the same for every
 * replay, and distinct per campaign (one purchase may be the goal of several campaigns).
 */
export const goalConversionEventId = (sourceEventId: string, campaignId: string) =>
  `converted:${campaignId}:${sourceEventId}`;

/** What a launch refuses in a campaign's policies and goal, each problem naming its setting. */
export function launchSettingsProblems(settings: CampaignSettings): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { goal, entry, policies } = settings;
  if (goal?.eventType.startsWith("message.")) {
    problems.push({
      field: "goal.eventType",
      message: `${goal.eventType} is a response to a message, not something the member does: a goal is the member's own event (purchase, signup …)`,
    });
  } else if (goal && entry.mode === "event" && entry.eventType === goal.eventType) {
    problems.push({
      field: "goal.eventType",
      message: `${goal.eventType} is also the event that enrolls members: each of them would convert on entry`,
    });
  }
  const quiet = policies.quietHours;
  if (quiet && quiet.from === quiet.to) {
    problems.push({ field: "policies.quietHours", message: "from and to must differ" });
  }
  return problems;
}
