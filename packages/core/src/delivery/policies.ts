/**
 * Send-time policies, decided for each message when it is about to go (never when it was queued): quiet
 * hours in the recipient's local time, and a frequency cap across all of the workspace's campaigns.
 * Pure functions; the dispatcher supplies the facts.
 */
import { WEEKDAYS } from "@omneural/contracts/workflows";
import { localParts, nextWindowStart } from "../workflows/local-time.ts";

export type PolicyChannel = "email" | "sms" | "mail" | "ads";

export interface ChannelPolicy {
  /** Allowed sending hours in the recipient's local time ("HH:MM"); null: any time. */
  allowedHours: { from: string; to: string } | null;
  /** At most `count` messages per `days` days per contact on this channel; null: no cap. */
  frequencyCap: { count: number; days: number; action: "defer" | "skip" } | null;
}

/** What applies when a workspace has set nothing: SMS only between 08:00 and 21:00 local time. */
export const DEFAULT_POLICIES: Record<PolicyChannel, ChannelPolicy> = {
  email: { allowedHours: null, frequencyCap: null },
  sms: { allowedHours: { from: "08:00", to: "21:00" }, frequencyCap: null },
  mail: { allowedHours: null, frequencyCap: null },
  ads: { allowedHours: null, frequencyCap: null },
};

export type PolicyDecision =
  | { ok: true }
  | { ok: false; action: "defer"; until: Date; reason: string }
  | { ok: false; action: "skip"; reason: string };

const pad = (n: number) => String(n).padStart(2, "0");
const DAY_MS = 86_400_000;

export function quietHoursDecision(policy: ChannelPolicy, now: Date, timeZone: string): PolicyDecision {
  const hours = policy.allowedHours;
  if (!hours) return { ok: true };
  const next = nextWindowStart(now, timeZone, { days: [...WEEKDAYS], from: hours.from, to: hours.to });
  if (next.getTime() <= now.getTime()) return { ok: true };
  const local = localParts(now, timeZone);
  return {
    ok: false,
    action: "defer",
    until: next,
    reason: `quiet hours: it is ${pad(local.hour)}:${pad(local.minute)} in ${timeZone}; sending hours are ${hours.from}–${hours.to}; deferred to ${next.toISOString()}`,
  };
}

/** `recentSends`: when this contact was last sent to on this channel, oldest first (any campaign). */
export function frequencyCapDecision(policy: ChannelPolicy, recentSends: Date[], now: Date): PolicyDecision {
  const cap = policy.frequencyCap;
  if (!cap) return { ok: true };
  const since = now.getTime() - cap.days * DAY_MS;
  const inWindow = recentSends.filter((t) => t.getTime() > since && t.getTime() <= now.getTime());
  if (inWindow.length < cap.count) return { ok: true };
  const what = `frequency cap: ${inWindow.length} sent in the last ${cap.days} days (at most ${cap.count})`;
  if (cap.action === "skip") return { ok: false, action: "skip", reason: what };
  // The cap frees up when the oldest send that counts leaves the window.
  const oldest = inWindow[inWindow.length - cap.count]!;
  const until = new Date(oldest.getTime() + cap.days * DAY_MS + 1000);
  return { ok: false, action: "defer", until, reason: `${what}; deferred to ${until.toISOString()}` };
}
