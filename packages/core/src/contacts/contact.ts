/** Contact types and mapping between stored rows and the API shape. */
import type { Contact } from "@omneural/contracts/contacts";
import type { ContactRow } from "../db/schema.ts";
import type { Channel } from "./normalize.ts";

export const CHANNELS: readonly Channel[] = ["email", "sms", "mail", "ads"];

export const CONSENT_COLUMN = {
  email: "email_consent",
  sms: "sms_consent",
  mail: "mail_consent",
  ads: "ads_consent",
} as const satisfies Record<Channel, string>;

export function toContact(row: ContactRow): Contact {
  return {
    id: row.id,
    externalId: row.external_id,
    email: row.email,
    phone: row.phone,
    firstName: row.first_name,
    lastName: row.last_name,
    address: {
      line1: row.address_line1,
      line2: row.address_line2,
      city: row.city,
      region: row.region,
      postalCode: row.postal_code,
      country: row.country,
    },
    timezone: row.timezone,
    attributes: row.attributes,
    consent: { email: row.email_consent, sms: row.sms_consent, mail: row.mail_consent, ads: row.ads_consent },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    anonymisedAt: row.anonymised_at?.toISOString() ?? null,
    archivedAt: row.archived_at?.toISOString() ?? null,
  };
}

/** Cursors are opaque to clients; inside, the last id of the page (ids are time-ordered UUIDv7). */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId).toString("base64url");
}

export function decodeCursor(raw: string): string | undefined {
  const id = Buffer.from(raw, "base64url").toString("utf8");
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : undefined;
}

/** Parses an attribute filter `key:value`; the value is JSON when it parses, else a string. */
export function parseAttributeFilter(raw: string): { key: string; value: unknown } | undefined {
  const at = raw.indexOf(":");
  if (at <= 0) return undefined;
  const key = raw.slice(0, at);
  const text = raw.slice(at + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // a bare string
  }
  return { key, value };
}
