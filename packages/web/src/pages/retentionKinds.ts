/**
 * What the retention page says about each policy kind, its settings and a run's counts, in plain
 * English (from docs/data-lifecycle.md, "Retention policies"), and the rules the form checks before
 * it sends (the server's own: packages/core/src/retention/retention.ts).
 */
import type { RetentionKind, RetentionRun } from "../api.ts";

export const KIND_ORDER: readonly RetentionKind[] = [
  "outdated_prospects",
  "undeliverable",
  "duplicates",
  "old_events",
  "finished_journeys",
  "print_files",
];

export type ContactAction = "delete" | "anonymise" | "archive";
export type DuplicateReason = "email" | "phone" | "name_and_address";

export const KINDS: Record<RetentionKind, { title: string; explanation: string }> = {
  outdated_prospects: {
    title: "Outdated prospects",
    explanation:
      "Contacts who stopped engaging. A contact created more than the chosen number of days ago, with no engagement since (a custom event, or an open, click, reply or conversion; mail scanners' opens and clicks do not count) and in no journey in progress, is erased, anonymised or archived. With a re-permission campaign, such contacts are first enrolled in it, and acted on only if they still have not engaged after the grace period.",
  },
  undeliverable: {
    title: "Undeliverable contacts",
    explanation:
      "Contacts that can no longer be reached: their email and phone bounced, complained or are on the suppression list, and their postal address (if mail is allowed) bounced or complained. They are erased, anonymised or archived. A contact with no address at all is left alone.",
  },
  duplicates: {
    title: "Likely duplicates",
    explanation:
      "Merges each group of likely duplicates (the same email, the same phone, or the same name and postal address) into its oldest contact, as a manual merge does: everything moves to that contact and the most restrictive consent wins. A merge cannot be undone.",
  },
  old_events: {
    title: "Old events",
    explanation:
      "Removes the events (custom events and responses such as opens and clicks) that happened more than the chosen number of days ago. Reports keep their counts. While the outdated-prospects policy is enabled, events must be kept at least as long as its inactivity window, or engaged contacts would look outdated.",
  },
  finished_journeys: {
    title: "Finished journeys",
    explanation:
      "Deletes the step-by-step history of journeys that ended more than the chosen number of days ago, and the dev-inbox copies of messages older than that. Enrollments, the send ledger and report counts stay, so a contact still cannot re-enter a campaign it finished, and frequency caps still count.",
  },
  print_files: {
    title: "Print files",
    explanation:
      "Deletes the PDF and CSV manifest of print batches written more than the chosen number of days ago. The batch itself stays in the records, marked as having no files.",
  },
};

export const ACTIONS: { value: ContactAction; label: string; help: string }[] = [
  {
    value: "archive",
    label: "Archive",
    help: "Keep everything, but leave the contact out of every audience, campaign and send until it is restored or engages again. Can be undone.",
  },
  {
    value: "anonymise",
    label: "Anonymise",
    help: "Keep the contact for counts and reports, and clear its email, phone, names, address and attributes. Cannot be undone.",
  },
  {
    value: "delete",
    label: "Erase",
    help: "Remove the contact and everything about it, as erasing a contact does. Cannot be undone.",
  },
];

export const ACTION_LABEL: Record<string, string> = {
  archive: "Archive",
  anonymise: "Anonymise",
  delete: "Erase",
  enroll: "Enroll in re-permission campaign",
  merge: "Merge",
  purge_history: "Delete history",
};

export const REASONS: { value: DuplicateReason; label: string }[] = [
  { value: "email", label: "The same email address" },
  { value: "phone", label: "The same phone number" },
  { value: "name_and_address", label: "The same name and postal address" },
];

/** Contact kinds: the confirmation threshold (maxShare) applies to them. */
export const CONTACT_KINDS: ReadonlySet<RetentionKind> = new Set([
  "outdated_prospects",
  "undeliverable",
  "duplicates",
]);

export const COUNT_LABELS: Record<string, string> = {
  deleted: "Contacts erased",
  anonymised: "Contacts anonymised",
  archived: "Contacts archived",
  enrolled: "Contacts enrolled in the re-permission campaign",
  journeys: "Finished journeys cleared",
  steps: "History steps deleted",
  outbox: "Dev-inbox messages deleted",
  batches: "Print batches",
  files: "Files deleted",
  groups: "Duplicate groups merged",
  merged: "Contacts merged away",
  email: "Merged by email",
  phone: "Merged by phone",
  name_and_address: "Merged by name and address",
  skippedTooLarge: "Groups left: too large",
  skippedConflictingExternalIds: "Groups left: different external ids",
  skippedChanged: "Groups left: busy or changed",
  more: "More left for the next run",
  events: "Events",
  partitions: "Whole months dropped",
  eventIds: "Replay records",
  workspaceContacts: "Contacts in the workspace",
};

export function countLabel(key: string): string {
  return COUNT_LABELS[key] ?? key;
}

/** The contacts a real run would remove for good (erase, anonymise, merge away): what maxShare limits. */
export function removedBy(run: RetentionRun): number {
  const c = run.counts;
  return (c.deleted ?? 0) + (c.anonymised ?? 0) + (c.merged ?? 0);
}

export const MIN_DAYS = 1;
export const MAX_DAYS = 36500;
export const MAX_GROUPS = 10000;

/** A whole number from `min` to `max` typed into a field, or an error message. */
export function wholeNumber(
  text: string,
  min: number,
  max: number,
  unit = "",
): { value: number; error?: undefined } | { value?: undefined; error: string } {
  const trimmed = text.trim();
  const range = `from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}${unit}`;
  if (!trimmed) return { error: `Enter a whole number ${range}` };
  if (!/^\d+$/.test(trimmed)) return { error: `Enter a whole number ${range}` };
  const value = Number(trimmed);
  if (value < min || value > max) return { error: `Enter a whole number ${range}` };
  return { value };
}

export function formatDays(days: unknown): string {
  const n = Number(days);
  return `${n.toLocaleString("en")} day${n === 1 ? "" : "s"}`;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
