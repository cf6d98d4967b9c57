/**
 * The holdout: a campaign's share of members who are enrolled and walk the workflow but are never
 * contacted, to measure lift. Who is held out is a hash of campaign and contact, so it never changes
 * for a contact (re-entry, retries, a second worker) and needs no random state.
 */
import { type RawBuilder, sql } from "kysely";

/** SQL deciding whether the contact `contactId` (an SQL expression) is in the campaign's holdout. */
export function holdoutSql(
  campaignId: string,
  contactId: RawBuilder<unknown>,
  percent: number,
): RawBuilder<boolean> {
  if (!(percent > 0)) return sql<boolean>`false`;
  const basisPoints = Math.round(percent * 100);
  return sql<boolean>`((hashtextextended(${campaignId}::text || ${contactId}::text, 0) & 9223372036854775807) % 10000) < ${basisPoints}`;
}
