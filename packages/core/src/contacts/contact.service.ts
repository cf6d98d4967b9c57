/** Contact use cases: upsert by identity, read, search, patch, erase. */
import type { Contact, ContactCreate, ContactListQuery, ContactPatch } from "@omneural/contracts/contacts";
import { queueMembershipCheck } from "../audiences/membership.ts";
import type { Db, Executor } from "../db/database.ts";
import type { ConsentStatus, ContactRow } from "../db/schema.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import {
  type ContactSearch,
  findContactById,
  findContactByIdentity,
  insertConsentChanges,
  insertContact,
  listContacts,
  setContactsArchived,
  updateContact,
} from "./contact.repository.ts";
import {
  CHANNELS,
  CONSENT_COLUMN,
  decodeCursor,
  encodeCursor,
  parseAttributeFilter,
  toContact,
} from "./contact.ts";
import {
  type ContactInput,
  isValidAttributeKey,
  type NormalizedContact,
  normalizeContactInput,
  normalizePhone,
} from "./normalize.ts";
import { applySuppressionsToNewContact } from "./suppression.service.ts";

/** GDPR erasure lives in erasure.service.ts. */
export { eraseContact } from "./erasure.service.ts";

export interface WorkspaceContext {
  id: string;
  defaultCountry: string;
  defaultTimezone: string;
}

export interface Actor {
  source: "api" | "import" | "ui" | "system";
  id: string | null;
}

export interface ContactWriteOptions {
  /**
   * Keys.tombstones: a contact created with the address of an erased contact who had opted out then
   * starts unsubscribed. Without it, only plain suppression entries are matched.
   */
  tombstoneKey?: Buffer | undefined;
}

const IDENTITIES = [
  ["externalId", "external_id"],
  ["email", "email"],
  ["phone", "phone"],
] as const;

function normalizeOrThrow(ws: WorkspaceContext, input: ContactInput): NormalizedContact {
  const result = normalizeContactInput(input, {
    defaultCountry: ws.defaultCountry,
    defaultTimezone: ws.defaultTimezone,
  });
  if (!result.ok) throw validationFailed(result.errors);
  return result.value;
}

function columnsOf(n: NormalizedContact) {
  return {
    external_id: n.externalId,
    email: n.email,
    phone: n.phone,
    first_name: n.firstName,
    last_name: n.lastName,
    address_line1: n.addressLine1,
    address_line2: n.addressLine2,
    city: n.city,
    region: n.region,
    postal_code: n.postalCode,
    country: n.country,
    timezone: n.timezone,
  };
}

/** Refuses identifiers that already belong to another contact of the workspace. */
async function assertIdentitiesFree(
  db: Executor,
  ws: WorkspaceContext,
  n: NormalizedContact,
  selfId: string | null,
) {
  for (const [field, column] of IDENTITIES) {
    const value = n[field];
    if (value === null) continue;
    const owner = await findContactByIdentity(db, ws.id, column, value);
    if (owner && owner.id !== selfId) {
      throw new AppError("IDENTITY_CONFLICT", `${field} ${value} belongs to another contact (${owner.id})`, {
        errors: [{ field, message: `belongs to contact ${owner.id}` }],
        contactId: owner.id,
      });
    }
  }
}

function consentChanges(
  existing: ContactRow | undefined,
  wanted: NormalizedContact["consent"],
): { channel: (typeof CHANNELS)[number]; status: ConsentStatus; previous: ConsentStatus | null }[] {
  const out = [];
  for (const channel of CHANNELS) {
    const status = wanted[channel];
    if (!status) continue;
    const previous = existing ? existing[CONSENT_COLUMN[channel]] : null;
    if (previous === status || (!existing && status === "never_asked")) continue;
    out.push({ channel, status, previous });
  }
  return out;
}

async function writeContact(
  trx: Executor,
  ws: WorkspaceContext,
  actor: Actor,
  existing: ContactRow | undefined,
  n: NormalizedContact,
  attributes: Record<string, unknown>,
  options: ContactWriteOptions = {},
): Promise<ContactRow> {
  const changes = consentChanges(existing, n.consent);
  const consentColumns = Object.fromEntries(changes.map((c) => [CONSENT_COLUMN[c.channel], c.status]));
  let row = existing
    ? await updateContact(trx, ws.id, existing.id, { ...columnsOf(n), ...consentColumns, attributes })
    : await insertContact(trx, ws.id, { ...columnsOf(n), ...consentColumns, attributes });
  await insertConsentChanges(
    trx,
    ws.id,
    changes.map((c) => ({ ...c, contactId: row.id, source: actor.source, actor: actor.id })),
  );
  if (!existing) {
    row = await applySuppressionsToNewContact(trx, ws.id, row, {
      source: actor.source,
      actor: actor.id,
      tombstoneKey: options.tombstoneKey,
    });
  }
  await queueMembershipCheck(trx, ws.id, [row.id], existing ? "contact updated" : "contact created");
  return row;
}

function mergeAttributes(base: Record<string, unknown>, patch: Record<string, unknown> | null | undefined) {
  const merged = { ...base };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** The stored contact as normaliser input, so a patch can be applied and re-validated as a whole. */
function asInput(row: ContactRow): ContactInput {
  return {
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
    attributes: {},
  };
}

function definedOnly<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Creates a contact, or updates the one matched by externalId, else email, else phone. */
export async function upsertContact(
  db: Db,
  ws: WorkspaceContext,
  input: ContactCreate,
  actor: Actor,
  options: ContactWriteOptions = {},
): Promise<{ contact: Contact; created: boolean }> {
  const candidate = normalizeOrThrow(ws, input);
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        let existing: ContactRow | undefined;
        for (const [field, column] of IDENTITIES) {
          const value = candidate[field];
          if (value === null) continue;
          existing = await findContactByIdentity(trx, ws.id, column, value, true);
          if (existing) {
            if (
              field !== "externalId" &&
              existing.external_id &&
              candidate.externalId &&
              existing.external_id !== candidate.externalId
            ) {
              throw new AppError(
                "IDENTITY_CONFLICT",
                `${field} ${value} belongs to contact ${existing.id}, which has a different externalId (${existing.external_id})`,
                {
                  errors: [{ field, message: "belongs to a contact with a different externalId" }],
                  contactId: existing.id,
                },
              );
            }
            // Matched only by phone but the contact has another email: two people share the phone.
            if (
              field === "phone" &&
              existing.email &&
              candidate.email &&
              existing.email !== candidate.email
            ) {
              throw new AppError(
                "IDENTITY_CONFLICT",
                `phone ${value} belongs to contact ${existing.id}, which has a different email (${existing.email})`,
                {
                  errors: [{ field, message: "belongs to a contact with a different email" }],
                  contactId: existing.id,
                },
              );
            }
            break;
          }
        }
        let n = candidate;
        if (existing) {
          // Fields the request leaves out keep their stored values.
          const merged: ContactInput = { ...asInput(existing), ...definedOnly(input) };
          if (input.address) merged.address = { ...asInput(existing).address, ...definedOnly(input.address) };
          n = normalizeOrThrow(ws, merged);
        }
        await assertIdentitiesFree(trx, ws, n, existing?.id ?? null);
        const attributes = mergeAttributes(existing?.attributes ?? {}, n.attributes);
        const row = await writeContact(trx, ws, actor, existing, n, attributes, options);
        return { contact: toContact(row), created: !existing };
      });
    } catch (error) {
      // Two requests creating the same new contact at once: the loser retries and updates instead.
      if ((error as { code?: string }).code === "23505" && attempt < 2) continue;
      throw error;
    }
  }
}

export async function getContact(db: Db, ws: WorkspaceContext, id: string): Promise<Contact> {
  const row = await findContactById(db, ws.id, id);
  if (!row) throw notFound("contact", id);
  return toContact(row);
}

/**
 * Brings an archived contact back (POST /contacts/{id}/restore): audiences select it again (listened
 * segments re-check it, which may enter it into continuous campaigns), and it can be sent to. Journeys
 * exited when it was archived stay ended. Restoring a contact that is not archived changes nothing.
 */
export async function restoreContact(db: Db, ws: WorkspaceContext, id: string, now = new Date()) {
  return db.transaction().execute(async (trx) => {
    const existing = await findContactById(trx, ws.id, id, true);
    if (!existing) throw notFound("contact", id);
    const restored = await setContactsArchived(trx, ws.id, [id], null, now);
    if (!restored.length) return toContact(existing);
    await queueMembershipCheck(trx, ws.id, restored, "contact restored");
    return toContact((await findContactById(trx, ws.id, id))!);
  });
}

export async function patchContact(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: ContactPatch,
  actor: Actor,
): Promise<Contact> {
  return db.transaction().execute(async (trx) => {
    const existing = await findContactById(trx, ws.id, id, true);
    if (!existing) throw notFound("contact", id);
    const base = asInput(existing);
    const merged: ContactInput = { ...base, ...definedOnly(patch) };
    if (patch.address !== undefined) {
      merged.address = patch.address === null ? null : { ...base.address, ...definedOnly(patch.address) };
    }
    const n = normalizeOrThrow(ws, merged);
    await assertIdentitiesFree(trx, ws, n, existing.id);
    const attributes = mergeAttributes(existing.attributes, patch.attributes);
    for (const key of Object.keys(patch.attributes ?? {})) {
      if (!isValidAttributeKey(key)) {
        throw validationFailed([
          {
            field: `attributes.${key}`,
            message: "keys use letters, digits and _, start with a letter or _, max 64",
          },
        ]);
      }
    }
    const row = await writeContact(trx, ws, actor, existing, n, attributes);
    return toContact(row);
  });
}

export async function searchContacts(
  db: Db,
  ws: WorkspaceContext,
  query: ContactListQuery,
): Promise<{ data: Contact[]; nextCursor: string | null }> {
  const limit = query.limit ?? 50;
  const search: ContactSearch = { attributes: [], limit: limit + 1 };
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    if (!after)
      throw validationFailed([{ field: "cursor", message: "is not a cursor returned by this API" }]);
    search.afterId = after;
  }
  const term = query.search?.trim();
  if (term) {
    if (term.includes("@")) search.emailPrefix = term.toLowerCase();
    else if (/^[+\d][\d\s().-]{4,}$/.test(term)) {
      const phone = normalizePhone(term, ws.defaultCountry);
      if (phone.ok) search.phone = phone.value.e164;
      else search.phonePrefix = `+${term.replace(/\D/g, "")}`;
    } else search.text = term;
  }
  const filters =
    query.attribute === undefined ? [] : Array.isArray(query.attribute) ? query.attribute : [query.attribute];
  for (const raw of filters) {
    const filter = parseAttributeFilter(raw);
    if (!filter || !isValidAttributeKey(filter.key)) {
      throw validationFailed([
        { field: "attribute", message: `"${raw}" is not key:value with a valid attribute key` },
      ]);
    }
    search.attributes.push(filter);
  }
  if (query.archived) search.archived = query.archived;
  const rows = await listContacts(db, ws.id, search);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map((row) => toContact(row)),
    nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}
