/** A campaign's status as a coloured badge with its word (colour is never the only signal). */
import { type CampaignStatus, STATUS_LABELS, STATUS_TONE } from "./campaignApi.ts";

export function StatusBadge({ status }: { status: CampaignStatus }) {
  return (
    <span className={`badge ${STATUS_TONE[status] ?? "neutral"}`}>{STATUS_LABELS[status] ?? status}</span>
  );
}
