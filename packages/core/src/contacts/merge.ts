/**
 * Duplicate contacts and their merge: the reasons two contacts are likely one person, which consent is
 * the more restrictive, and the plan of a merge (what the survivor keeps, takes and changes). Pure: the
 * SQL is in merge.repository.ts, the transaction in merge.service.ts. See docs/data-lifecycle.md.
 */
import type { ConsentStatus, ContactRow } from "../db/schema.ts";
import { validationFailed } from "../shared/errors.ts";
import { CHANNELS, CONSENT_COLUMN } from "./contact.ts";
import type { Channel } from "./normalize.ts";

/**
 * Why contacts look like one person, in the order the duplicates list shows them: the same email once
 * normalised (case, spaces; Gmail's dots and +tags), the same phone digits, or the same first and last
 * name (case and accents aside) at the same address line 1 and postal code. The SQL keys are in
 * migration 000023.
 */
export type DuplicateReason = "email" | "phone" | "name_and_address";
export const DUPLICATE_REASONS: readonly DuplicateReason[] = ["email", "phone", "name_and_address"];

/** At most this many contacts merge into one survivor at once (a larger group is not merged by the policy). */
export const MAX_DUPLICATES_PER_MERGE = 50;

/** From least to most restrictive: a merged contact keeps the most restrictive consent of its parts. */
export const CONSENT_ORDER: readonly ConsentStatus[] = [
  "never_asked",
  "subscribed",
  "unsubscribed",
  "bounced",
  "complained",
];

export function isMoreRestrictive(candidate: ConsentStatus, than: ConsentStatus): boolean {
  return CONSENT_ORDER.indexOf(candidate) > CONSENT_ORDER.indexOf(than);
}

/** The API's names of what moves to the survivor (or is dropped) in a merge, in the order they are shown. */
export const MERGE_COUNTS = [
  "events",
  "consentChanges",
  "listMemberships",
  "audienceMemberships",
  "audienceTransitions",
  "adAudienceMemberships",
  "topics",
  "enrollments",
  "enrollmentSteps",
  "splitAssignments",
  "campaignEntries",
  "campaignConversions",
  "messages",
  "cancelledMessages",
  "purls",
  "reportResponses",
  "merges",
] as const;
export type MergeCountName = (typeof MERGE_COUNTS)[number];
export type MergeCounts = Record<MergeCountName, number>;

export function emptyCounts(): MergeCounts {
  return Object.fromEntries(MERGE_COUNTS.map((name) => [name, 0])) as MergeCounts;
}

export function addCounts(total: MergeCounts, more: MergeCounts): MergeCounts {
  for (const name of MERGE_COUNTS) total[name] += more[name];
  return total;
}

/** Fields of the survivor a merge can fill, by API name. The address is one block (see planMerge). */
const SINGLE_FIELDS = [
  ["externalId", "external_id"],
  ["email", "email"],
  ["phone", "phone"],
  ["firstName", "first_name"],
  ["lastName", "last_name"],
  ["timezone", "timezone"],
] as const;
const ADDRESS_COLUMNS = [
  "address_line1",
  "address_line2",
  "city",
  "region",
  "postal_code",
  "country",
] as const;

type FillableColumn = (typeof SINGLE_FIELDS)[number][1] | (typeof ADDRESS_COLUMNS)[number];
type ConsentColumn = (typeof CONSENT_COLUMN)[Channel];

export interface ConsentTaken {
  channel: Channel;
  previous: ConsentStatus;
  status: ConsentStatus;
  /** The duplicate whose consent it was. */
  fromContactId: string;
}

export interface MergePlan {
  /** The survivor's columns that change (filled identifiers and fields, and consent). */
  values: Partial<Record<FillableColumn, string> & Record<ConsentColumn, ConsentStatus>>;
  attributes: Record<string, unknown>;
  /** API names of the fields taken from duplicates ("address" for the address block). */
  filled: string[];
  consent: ConsentTaken[];
}

/**
 * What the survivor becomes. `duplicates` are in order of preference: where two of them could fill the
 * same field, the first wins.
 *
 * - Identifiers and fields: the survivor's own stay; each one it lacks (external id, email, phone, first
 *   name, last name, timezone) comes from the first duplicate that has it. The postal address is taken
 *   whole, and only when the survivor has no address at all, so two addresses never mix.
 * - Attributes: the survivor's keys win; keys it lacks come from the duplicates.
 * - Consent, per channel: the most restrictive of all (complained > bounced > unsubscribed > subscribed >
 *   never asked). A duplicate's opt-out therefore survives the merge; a subscription only replaces
 *   "never asked".
 */
export function planMerge(survivor: ContactRow, duplicates: readonly ContactRow[]): MergePlan {
  const values: MergePlan["values"] = {};
  const filled: string[] = [];
  for (const [field, column] of SINGLE_FIELDS) {
    if (survivor[column] !== null) continue;
    const donor = duplicates.find((d) => d[column] !== null);
    if (!donor) continue;
    values[column] = donor[column]!;
    filled.push(field);
  }
  if (ADDRESS_COLUMNS.every((column) => survivor[column] === null)) {
    const donor = duplicates.find((d) => ADDRESS_COLUMNS.some((column) => d[column] !== null));
    if (donor) {
      for (const column of ADDRESS_COLUMNS) if (donor[column] !== null) values[column] = donor[column]!;
      filled.push("address");
    }
  }

  const attributes: Record<string, unknown> = {};
  for (const row of [...duplicates].reverse()) Object.assign(attributes, row.attributes);
  Object.assign(attributes, survivor.attributes);
  const added = Object.keys(attributes).filter((key) => !Object.hasOwn(survivor.attributes, key));
  if (added.length) filled.push(...added.map((key) => `attributes.${key}`));

  const consent: ConsentTaken[] = [];
  for (const channel of CHANNELS) {
    const column = CONSENT_COLUMN[channel];
    let status = survivor[column];
    let from: string | undefined;
    for (const duplicate of duplicates) {
      if (isMoreRestrictive(duplicate[column], status)) {
        status = duplicate[column];
        from = duplicate.id;
      }
    }
    if (from !== undefined) {
      values[column] = status;
      consent.push({ channel, previous: survivor[column], status, fromContactId: from });
    }
  }
  return { values, attributes, filled, consent };
}

/** Refuses a merge request that cannot be right whatever the data: checked before anything is read. */
export function checkMergeRequest(survivorId: string, duplicateIds: readonly string[]) {
  if (duplicateIds.length === 0) {
    throw validationFailed([{ field: "duplicateIds", message: "name at least one contact to merge" }]);
  }
  if (duplicateIds.length > MAX_DUPLICATES_PER_MERGE) {
    throw validationFailed([
      {
        field: "duplicateIds",
        message: `at most ${MAX_DUPLICATES_PER_MERGE} contacts merge at once, got ${duplicateIds.length}`,
      },
    ]);
  }
  if (duplicateIds.includes(survivorId)) {
    throw validationFailed([
      { field: "duplicateIds", message: "must not contain the survivor: a contact cannot merge into itself" },
    ]);
  }
  if (new Set(duplicateIds).size !== duplicateIds.length) {
    throw validationFailed([{ field: "duplicateIds", message: "names a contact twice" }]);
  }
}

/** Cursors of the duplicates list: the reason and the key of the last group of the page, opaque to clients. */
export function encodeGroupCursor(reason: DuplicateReason, key: string): string {
  return Buffer.from(JSON.stringify([reason, key])).toString("base64url");
}

export function decodeGroupCursor(raw: string): { reason: DuplicateReason; key: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      DUPLICATE_REASONS.includes(value[0]) &&
      typeof value[1] === "string"
    ) {
      return { reason: value[0] as DuplicateReason, key: value[1] };
    }
  } catch {
    // reported below
  }
  throw validationFailed([{ field: "cursor", message: "is not a cursor returned by this API" }]);
}
