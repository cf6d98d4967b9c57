/**
 * Ad destinations: create, read, change, delete, and the download of a destination's current members as a
 * hashed CSV. Credentials are sealed before they are stored and never returned; a response only says
 * whether every credential the platform needs is there (`credentialsSet`).
 */
import type {
  AdDestination,
  AdDestinationCreate,
  AdDestinationPatch,
  AdPlatform,
} from "@omneural/contracts/ad-destinations";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import { type AdAudienceMember, hashedAudienceCsv } from "../delivery/ad-audiences.ts";
import { sealJson } from "../security/keys.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf, cleanName, pageOf } from "../shared/pagination.ts";
import {
  countCurrentMembers,
  deleteAdDestination,
  findAdDestination,
  findAdDestinationByName,
  insertAdDestination,
  listAdDestinations,
  listCurrentMembers,
  updateAdDestination,
} from "./ad-destination.repository.ts";
import {
  type AdCredentialValues,
  type AdDestinationFields,
  type AdDestinationRow,
  checkBaseUrl,
  checkDestinationFields,
  cleanCustomerId,
  credentialsContext,
  missingCredentials,
  openCredentials,
  toAdDestination,
} from "./ad-destination.ts";

export interface AdDestinationOptions {
  /** Seals and opens the stored credentials (`keys.credentials`). */
  credentialsKey: Buffer;
  /** Hosts a base URL may name although they are internal (ADS_ALLOW_HOSTS). */
  allowHosts?: readonly string[];
}

function sealCredentials(key: Buffer, workspaceId: string, id: string, values: AdCredentialValues) {
  // A pasted token often ends with a newline.
  const given = Object.fromEntries(
    Object.entries(values)
      .filter(([, v]) => typeof v === "string")
      .map(([name, v]) => [name, (v as string).trim()]),
  );
  if (Object.keys(given).length === 0) return null;
  return sealJson(key, given, credentialsContext(workspaceId, id));
}

async function present(db: Executor, key: Buffer, rows: AdDestinationRow[]): Promise<AdDestination[]> {
  if (rows.length === 0) return [];
  const members = await countCurrentMembers(
    db,
    rows[0]!.workspace_id,
    rows.map((r) => r.id),
  );
  return rows.map((row) => {
    const stored = openCredentials(key, row);
    return toAdDestination(row, {
      members: members.get(row.id) ?? 0,
      credentialsSet: stored !== undefined && missingCredentials(row.platform, stored).length === 0,
    });
  });
}

async function assertNameFree(db: Executor, ws: WorkspaceContext, name: string, selfId?: string) {
  const other = await findAdDestinationByName(db, ws.id, name);
  if (other && other.id !== selfId) {
    throw new AppError("CONFLICT", `an ad destination named "${other.name}" already exists`, {
      errors: [{ field: "name", message: "is already used by another ad destination" }],
      adDestinationId: other.id,
    });
  }
}

/** The fields as stored: customer ids without dashes, the base URL without a trailing slash. */
function normalised(fields: AdDestinationFields, allowHosts: readonly string[]): AdDestinationFields {
  const problems = checkDestinationFields(fields, allowHosts);
  if (problems.length > 0) throw validationFailed(problems);
  const base = fields.baseUrl === null ? null : checkBaseUrl(fields.baseUrl, allowHosts);
  return { ...fields, baseUrl: base?.ok ? base.url : null };
}

const customerIdOf = (value: string | null | undefined) =>
  value === undefined || value === null ? null : cleanCustomerId(value);

export async function createAdDestination(
  db: Db,
  ws: WorkspaceContext,
  input: AdDestinationCreate,
  options: AdDestinationOptions,
): Promise<AdDestination> {
  const name = cleanName(input.name);
  const fields = normalised(
    {
      platform: input.platform,
      audienceId: input.audienceId?.trim() ?? null,
      customerId: customerIdOf(input.customerId),
      loginCustomerId: customerIdOf(input.loginCustomerId),
      baseUrl: input.baseUrl ?? null,
      credentials: input.credentials ?? {},
    },
    options.allowHosts ?? [],
  );
  const id = uuidv7();
  return db.transaction().execute(async (trx) => {
    await assertNameFree(trx, ws, name);
    const row = await insertAdDestination(trx, {
      workspaceId: ws.id,
      id,
      name,
      platform: fields.platform,
      audienceId: fields.audienceId,
      customerId: fields.customerId,
      loginCustomerId: fields.loginCustomerId,
      baseUrl: fields.baseUrl,
      credentials: sealCredentials(options.credentialsKey, ws.id, id, fields.credentials ?? {}),
    });
    return (await present(trx, options.credentialsKey, [row]))[0]!;
  });
}

async function requireDestination(db: Executor, ws: WorkspaceContext, id: string, forUpdate = false) {
  const row = await findAdDestination(db, ws.id, id, forUpdate);
  if (!row) throw notFound("ad destination", id);
  return row;
}

export async function getAdDestination(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  options: AdDestinationOptions,
): Promise<AdDestination> {
  return (await present(db, options.credentialsKey, [await requireDestination(db, ws, id)]))[0]!;
}

export async function listAdDestinationsPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string; platform?: AdPlatform },
  options: AdDestinationOptions,
) {
  const limit = query.limit ?? 50;
  const rows = await listAdDestinations(db, ws.id, limit + 1, afterIdOf(query.cursor), query.platform);
  const page = await pageOf(rows, limit, (row) => row);
  return { data: await present(db, options.credentialsKey, page.data), nextCursor: page.nextCursor };
}

/**
 * Changes a destination. Credentials given replace the stored ones field by field (so a token can be
 * rotated alone); the result must still be complete for the platform.
 */
export async function patchAdDestination(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: AdDestinationPatch,
  options: AdDestinationOptions,
): Promise<AdDestination> {
  const name = patch.name === undefined ? undefined : cleanName(patch.name);
  return db.transaction().execute(async (trx) => {
    const row = await requireDestination(trx, ws, id, true);
    // Credentials that cannot be opened (SECRET_KEY changed) are replaced by what is given.
    const merged =
      patch.credentials === undefined
        ? undefined
        : { ...(openCredentials(options.credentialsKey, row) ?? {}), ...patch.credentials };
    const fields = normalised(
      {
        platform: row.platform,
        audienceId: patch.audienceId === undefined ? row.audience_id : patch.audienceId.trim(),
        customerId: patch.customerId === undefined ? row.customer_id : customerIdOf(patch.customerId),
        loginCustomerId:
          patch.loginCustomerId === undefined ? row.login_customer_id : customerIdOf(patch.loginCustomerId),
        baseUrl: patch.baseUrl === undefined ? row.base_url : patch.baseUrl,
        ...(merged === undefined ? {} : { credentials: merged }),
      },
      options.allowHosts ?? [],
    );
    const credentials =
      merged === undefined ? row.credentials : sealCredentials(options.credentialsKey, ws.id, id, merged);
    if (name !== undefined) await assertNameFree(trx, ws, name, id);
    const updated = await updateAdDestination(
      trx,
      ws.id,
      id,
      {
        name: name ?? row.name,
        audienceId: fields.audienceId,
        customerId: fields.customerId,
        loginCustomerId: fields.loginCustomerId,
        baseUrl: fields.baseUrl,
        credentials,
      },
      new Date(),
    );
    if (!updated) throw notFound("ad destination", id);
    return (await present(trx, options.credentialsKey, [updated]))[0]!;
  });
}

/**
 * Deletes a destination and its member list. Journeys that still name it fail their ads sends with the
 * reason; nothing is removed from the platform's audience.
 */
export async function removeAdDestination(db: Db, ws: WorkspaceContext, id: string) {
  if (!(await deleteAdDestination(db, ws.id, id))) throw notFound("ad destination", id);
}

const CSV_PAGE = 5000;

/**
 * The destination's current members as a hashed CSV (`email_sha256,phone_sha256`, see
 * `hashedAudienceCsv`), a page at a time. The hashes follow `rules` (default: the destination's platform;
 * Meta's for csv destinations). Members without a usable email or phone are left out.
 */
export async function* membersCsv(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  rules?: "meta" | "google",
): AsyncGenerator<string> {
  const row = await requireDestination(db, ws, id);
  const platform = rules ?? (row.platform === "google" ? "google" : "meta");
  let after: string | undefined;
  let first = true;
  for (;;) {
    const page = await listCurrentMembers(db, ws.id, id, CSV_PAGE, after);
    const members: AdAudienceMember[] = page.map((m) => ({
      contactId: m.contact_id,
      email: m.email,
      phone: m.phone,
    }));
    const csv = hashedAudienceCsv(members, platform);
    // Every page's CSV starts with the header line; only the first keeps it.
    yield first ? csv : csv.slice(csv.indexOf("\r\n") + 2);
    first = false;
    if (page.length < CSV_PAGE) return;
    after = page[page.length - 1]!.contact_id;
  }
}
