/**
 * A campaign's own send-time policies on top of the workspace's (policies.ts), pure: its sending hours
 * replace the workspace's on every channel, an `exempt` campaign is outside the frequency cap, and its
 * throughput limit lets at most N of its messages per channel go in any rolling hour.
 */
import type { CampaignPolicies } from "@omneural/contracts/workflows";
import type { ChannelPolicy } from "./policies.ts";

/** The rolling window of a throughput limit. */
export const THROUGHPUT_WINDOW_MS = 3_600_000;

/** Whether this campaign's sends are outside the frequency cap: neither held by it nor counted. */
export function isCapExempt(policies: CampaignPolicies | undefined): boolean {
  return policies?.frequencyCap === "exempt";
}

/** The policy one campaign's message obeys: the workspace's, with the campaign's hours and cap choice. */
export function campaignChannelPolicy(
  workspace: ChannelPolicy,
  campaign: CampaignPolicies | undefined,
): ChannelPolicy {
  if (!campaign) return workspace;
  return {
    allowedHours: campaign.quietHours ?? workspace.allowedHours,
    frequencyCap: isCapExempt(campaign) ? null : workspace.frequencyCap,
  };
}

/** The campaign's messages per hour on this channel; undefined: no limit. */
export function throughputLimit(policies: CampaignPolicies | undefined, channel: string): number | undefined {
  const limits = policies?.throughputPerHour as Record<string, number | undefined> | undefined;
  return limits?.[channel];
}

export const throughputReason = (limit: number) => `campaign throughput limit: ${limit}/h`;

/**
 * How many of a campaign's `due` rows (on one channel, in due order) may go at `now` under a limit of
 * `limit` per rolling hour, given when its messages in the last hour went (`recent`, in any order; a
 * message still being sent counts as `now`). Each of the rest is deferred to when a slot frees for it:
 * the k-th one to when the k-th message counted from the oldest leaves the window, so a backlog comes
 * back at about the limit's pace rather than all at once.
 */
export function throughputDecision(
  limit: number,
  recent: readonly Date[],
  due: number,
  now: Date,
): { admit: number; deferUntil: Date[] } {
  const since = now.getTime() - THROUGHPUT_WINDOW_MS;
  const occupied = recent
    .map((d) => d.getTime())
    .filter((t) => t > since)
    .sort((a, b) => a - b);
  const admit = Math.min(due, Math.max(0, limit - occupied.length));
  for (let i = 0; i < admit; i++) occupied.push(now.getTime());
  const deferUntil: Date[] = [];
  for (let j = 0; j < due - admit; j++) {
    // occupied has at least `limit` entries here; each deferred row takes the slot it waits for.
    const slot = occupied[occupied.length - limit]! + THROUGHPUT_WINDOW_MS;
    occupied.push(slot);
    deferUntil.push(new Date(slot));
  }
  return { admit, deferUntil };
}
