/** SQL of contact imports: the import record, its uploaded chunks, staging, the set-based merge. */

import type { Updateable } from "kysely";
import { sql } from "kysely";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { Channel } from "../contacts/normalize.ts";
import type { Executor } from "../db/database.ts";
import type { ImportRow, ImportsTable } from "../db/schema.ts";
import { CONTACT_COPY_COLUMNS, STAGING_COLUMNS } from "./import.ts";

export const stagingTable = (importId: string) => `omneural_staging.import_${importId.replace(/-/g, "")}`;

export async function insertImport(
  db: Executor,
  row: { workspaceId: string; filename: string | null; options: Record<string, unknown> },
): Promise<ImportRow> {
  return db
    .insertInto("imports")
    .values({ workspace_id: row.workspaceId, filename: row.filename, options: JSON.stringify(row.options) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertChunk(
  db: Executor,
  workspaceId: string,
  importId: string,
  seq: number,
  data: Buffer,
) {
  await db
    .insertInto("import_chunks")
    .values({ workspace_id: workspaceId, import_id: importId, seq, data })
    .execute();
}

export async function readChunk(
  db: Executor,
  workspaceId: string,
  importId: string,
  seq: number,
): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom("import_chunks")
    .select("data")
    .where("workspace_id", "=", workspaceId)
    .where("import_id", "=", importId)
    .where("seq", "=", seq)
    .executeTakeFirst();
  return row?.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The stored upload in order, one Buffer per chunk, over one binary COPY on `client`: no round trip per
 * chunk, and no hex text to decode (a query's text result sends bytea as hex, twice the bytes, which
 * the driver then buffers and converts). The client is unusable if the caller stops reading early.
 */
export async function* streamChunks(
  client: pg.ClientBase,
  workspaceId: string,
  importId: string,
): AsyncGenerator<Buffer> {
  // COPY takes no parameters; both ids come from the database, and are checked to be UUIDs anyway.
  if (!UUID.test(workspaceId) || !UUID.test(importId)) throw new Error("streamChunks takes UUIDs");
  const stream = client.query(
    copyTo(
      `copy (select data from import_chunks where workspace_id = '${workspaceId}' and import_id = '${importId}' order by seq) to stdout (format binary)`,
      // Read ahead about one chunk while the caller works on the previous one.
      { highWaterMark: 1024 * 1024 },
    ),
  );
  const values = new BinaryCopyValues();
  for await (const piece of stream) {
    for (const chunk of values.push(piece as Buffer)) yield chunk;
  }
  if (!values.done) throw new Error("the upload's COPY ended before its trailer");
}

const BINARY_COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/** Reads the values of a one-column binary COPY (a non-null bytea) from pieces cut anywhere. */
class BinaryCopyValues {
  done = false;
  private state: "header" | "tuple" | "length" | "data" = "header";
  private rest: Buffer = Buffer.alloc(0);
  private value: Buffer = Buffer.alloc(0);
  private filled = 0;

  push(piece: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const buf = this.rest.length ? Buffer.concat([this.rest, piece]) : piece;
    let at = 0;
    while (!this.done) {
      const left = buf.length - at;
      if (this.state === "data") {
        const n = Math.min(left, this.value.length - this.filled);
        buf.copy(this.value, this.filled, at, at + n);
        this.filled += n;
        at += n;
        if (this.filled < this.value.length) break;
        out.push(this.value);
        this.state = "tuple";
      } else if (this.state === "header") {
        if (left < 19 || left < 19 + buf.readUInt32BE(at + 15)) break;
        if (!buf.subarray(at, at + 11).equals(BINARY_COPY_SIGNATURE))
          throw new Error("not a binary COPY stream");
        at += 19 + buf.readUInt32BE(at + 15);
        this.state = "tuple";
      } else if (this.state === "tuple") {
        if (left < 2) break;
        const fields = buf.readInt16BE(at);
        at += 2;
        if (fields === -1) this.done = true;
        else if (fields !== 1) throw new Error(`expected one column in the COPY, got ${fields}`);
        else this.state = "length";
      } else {
        if (left < 4) break;
        const length = buf.readInt32BE(at);
        at += 4;
        if (length < 0) throw new Error("unexpected NULL chunk");
        this.value = Buffer.allocUnsafe(length);
        this.filled = 0;
        this.state = "data";
      }
    }
    this.rest = at < buf.length && !this.done ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    return out;
  }
}

export async function findImport(
  db: Executor,
  workspaceId: string,
  id: string,
): Promise<ImportRow | undefined> {
  return db
    .selectFrom("imports")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .executeTakeFirst();
}

export async function listImports(db: Executor, workspaceId: string, limit: number): Promise<ImportRow[]> {
  return db
    .selectFrom("imports")
    .selectAll()
    .where("workspace_id", "=", workspaceId)
    .orderBy("created_at", "desc")
    .limit(limit)
    .execute();
}

export async function updateImport(
  db: Executor,
  workspaceId: string,
  id: string,
  values: Omit<Updateable<ImportsTable>, "workspace_id" | "id" | "options" | "detected"> & {
    detected?: Record<string, unknown>;
  },
): Promise<void> {
  const { detected, ...rest } = values;
  await db
    .updateTable("imports")
    .set({ ...rest, ...(detected ? { detected: JSON.stringify(detected) } : {}) })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .execute();
}

/** Takes an import for processing. Returns the new attempt number, or undefined if someone else has it. */
export async function claimImport(
  db: Executor,
  workspaceId: string,
  id: string,
  lockedBy: string,
  staleBefore: Date,
): Promise<number | undefined> {
  const row = await db
    .updateTable("imports")
    .set({
      status: "processing",
      attempt: sql`attempt + 1`,
      locked_by: lockedBy,
      heartbeat_at: sql`now()`,
      started_at: sql`coalesce(started_at, now())`,
      processed_rows: 0,
      processed_bytes: 0,
      error: null,
    })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .where((eb) =>
      eb.or([
        eb("status", "=", "queued"),
        eb.and([eb("status", "=", "processing"), eb("heartbeat_at", "<", staleBefore)]),
      ]),
    )
    .returning("attempt")
    .executeTakeFirst();
  return row?.attempt;
}

/** Records progress; returns false when the import was taken over by another attempt. */
export async function heartbeatImport(
  db: Executor,
  workspaceId: string,
  id: string,
  attempt: number,
  progress: { rows: number; bytes: number },
): Promise<boolean> {
  const result = await db
    .updateTable("imports")
    .set({ heartbeat_at: sql`now()`, processed_rows: progress.rows, processed_bytes: progress.bytes })
    .where("workspace_id", "=", workspaceId)
    .where("id", "=", id)
    .where("attempt", "=", attempt)
    .where("status", "=", "processing")
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function clearRejections(db: Executor, workspaceId: string, importId: string) {
  await db
    .deleteFrom("import_rejections")
    .where("workspace_id", "=", workspaceId)
    .where("import_id", "=", importId)
    .execute();
}

export async function insertRejections(
  db: Executor,
  workspaceId: string,
  importId: string,
  rows: { line: number; field: string | null; reason: string; raw: string }[],
) {
  if (!rows.length) return;
  await sql`
    insert into import_rejections (workspace_id, import_id, line_no, field, reason, raw)
    select ${workspaceId}::uuid, ${importId}::uuid, r.line_no, r.field, r.reason, r.raw
    from unnest(${rows.map((r) => r.line)}::int[], ${rows.map((r) => r.field)}::text[],
                ${rows.map((r) => r.reason)}::text[], ${rows.map((r) => r.raw)}::text[]) as r(line_no, field, reason, raw)
    on conflict (workspace_id, import_id, line_no) do update set reason = excluded.reason, field = excluded.field`.execute(
    db,
  );
}

export async function listRejections(db: Executor, workspaceId: string, importId: string, limit?: number) {
  let query = db
    .selectFrom("import_rejections")
    .select(["line_no", "field", "reason", "raw"])
    .where("workspace_id", "=", workspaceId)
    .where("import_id", "=", importId)
    .orderBy("line_no");
  if (limit !== undefined) query = query.limit(limit);
  return query.execute();
}

export async function createStagingTable(db: Executor, importId: string) {
  const table = sql.raw(stagingTable(importId));
  await sql`drop table if exists ${table}`.execute(db);
  await sql`create unlogged table ${table} (
    line_no integer not null, tz_rank smallint not null, id uuid not null, external_id text, email text, phone text, first_name text, last_name text,
    address_line1 text, address_line2 text, city text, region text, postal_code text, country text,
    timezone text, attributes jsonb not null,
    email_consent text, sms_consent text, mail_consent text, ads_consent text
  ) with (autovacuum_enabled = false)`.execute(db);
}

export async function dropStagingTable(db: Executor, importId: string) {
  await sql`drop table if exists ${sql.raw(stagingTable(importId))}`.execute(db);
}

export const copyStagingSql = (importId: string) =>
  `copy ${stagingTable(importId)} (${STAGING_COLUMNS.join(", ")}) from stdin`;

/** New contacts, in binary format (see writeContactRow). */
export const copyContactsSql = `copy contacts (${CONTACT_COPY_COLUMNS.join(", ")}) from stdin (format binary)`;

/** Consent ledger entries for contacts the import created with a consent other than never_asked. */
export async function insertConsentForNewContacts(
  db: Executor,
  workspaceId: string,
  importId: string,
  rows: { id: string; consent: Partial<Record<Channel, string>> }[],
) {
  const entries = rows.flatMap((r) =>
    Object.entries(r.consent)
      .filter(([, status]) => status && status !== "never_asked")
      .map(([channel, status]) => ({ id: r.id, channel, status: status! })),
  );
  for (let i = 0; i < entries.length; i += 10_000) {
    const batch = entries.slice(i, i + 10_000);
    await sql`
      insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor)
      select ${workspaceId}::uuid, e.id, e.channel, e.status, null, 'import', ${importId}
      from unnest(${batch.map((e) => e.id)}::uuid[], ${batch.map((e) => e.channel)}::text[], ${batch.map((e) => e.status)}::text[])
        as e(id, channel, status)`.execute(db);
  }
}

/** The identifying columns: each is unique within a workspace, and may appear on one row of a file. */
const IDENTIFIERS = [
  { column: "email", field: "email", label: "email" },
  { column: "phone", field: "phone", label: "phone" },
  { column: "external_id", field: "externalId", label: "external id" },
] as const;

export interface MergeResult {
  inserted: number;
  updated: number;
  mergedDuplicates: number;
  conflicts: { line: number; field: string; reason: string }[];
}

/**
 * Merges the staging table into contacts, set-based, inside the caller's transaction. The staging table
 * holds the rows that need this care: those matching an existing contact and those repeating an
 * identifier of an earlier row (whose contact the same transaction may just have created).
 *
 * Each row is matched to an existing contact by external id, else email, else phone. Rows of the file
 * that match the same contact, or share the same identifier when new, are merged in file order (later
 * non-empty values win; attributes are combined). A row is refused when one of its identifiers already
 * belongs to a different contact, or to an earlier row of the file.
 */
export async function mergeStaging(
  db: Executor,
  workspaceId: string,
  importId: string,
): Promise<MergeResult> {
  const staging = sql.raw(stagingTable(importId));
  const ws = sql`${workspaceId}::uuid`;
  await sql`analyze ${staging}`.execute(db);

  // 1. Resolve each row to an existing contact (including ones this import has just created).
  await sql`create temp table import_resolved on commit drop as
    select r.*, coalesce(r.contact_id::text, 'x:' || r.external_id, 'e:' || r.email, 'p:' || r.phone) as gkey
    from (
      select s.*,
        coalesce(cx.id, ce.id, cp.id) as contact_id,
        case when cx.id is not null then 'externalId' when ce.id is not null then 'email' when cp.id is not null then 'phone' end as matched_by,
        coalesce(cx.external_id, ce.external_id, cp.external_id) as matched_external_id,
        cp.email as phone_match_email
      from ${staging} s
      left join contacts cx on cx.workspace_id = ${ws} and cx.external_id = s.external_id
      left join contacts ce on ce.workspace_id = ${ws} and ce.email = s.email
      left join contacts cp on cp.workspace_id = ${ws} and cp.phone = s.phone
    ) r`.execute(db);

  // 2. One candidate per contact-to-be. Most groups hold one row: take those as they are, and fold only
  //    the groups with several rows.
  await sql`create temp table import_multi on commit drop as
    select gkey, count(*) as n from import_resolved group by gkey having count(*) > 1`.execute(db);
  await sql`create temp table import_candidates on commit drop as
    select r.gkey, r.line_no as first_line, 1::bigint as n, r.id as new_id, r.contact_id, r.matched_by, r.matched_external_id,
      r.phone_match_email,
      r.external_id, r.email, r.phone, r.first_name, r.last_name, r.address_line1, r.address_line2, r.city, r.region,
      r.postal_code, r.country, r.timezone, r.tz_rank, r.attributes,
      r.email_consent, r.sms_consent, r.mail_consent, r.ads_consent
    from import_resolved r
    where not exists (select 1 from import_multi m where m.gkey = r.gkey)
    union all
    select r.gkey, min(r.line_no), count(*), (array_agg(r.id order by r.line_no))[1], (array_agg(r.contact_id))[1],
      (array_agg(r.matched_by))[1],
      (array_agg(r.matched_external_id))[1],
      (array_agg(r.phone_match_email))[1],
      (array_agg(r.external_id order by r.line_no desc) filter (where r.external_id is not null))[1],
      (array_agg(r.email order by r.line_no desc) filter (where r.email is not null))[1],
      (array_agg(r.phone order by r.line_no desc) filter (where r.phone is not null))[1],
      (array_agg(r.first_name order by r.line_no desc) filter (where r.first_name is not null))[1],
      (array_agg(r.last_name order by r.line_no desc) filter (where r.last_name is not null))[1],
      (array_agg(r.address_line1 order by r.line_no desc) filter (where r.address_line1 is not null))[1],
      (array_agg(r.address_line2 order by r.line_no desc) filter (where r.address_line2 is not null))[1],
      (array_agg(r.city order by r.line_no desc) filter (where r.city is not null))[1],
      (array_agg(r.region order by r.line_no desc) filter (where r.region is not null))[1],
      (array_agg(r.postal_code order by r.line_no desc) filter (where r.postal_code is not null))[1],
      (array_agg(r.country order by r.line_no desc) filter (where r.country is not null))[1],
      (array_agg(r.timezone order by r.tz_rank desc, r.line_no desc))[1],
      max(r.tz_rank),
      (select coalesce(jsonb_object_agg(kv.key, kv.value), '{}'::jsonb) from (
         select distinct on (e.key) e.key, e.value
         from unnest(array_agg(r.attributes order by r.line_no)) with ordinality as a(attrs, ord),
              jsonb_each(a.attrs) as e(key, value)
         order by e.key, a.ord desc) kv),
      (array_agg(r.email_consent order by r.line_no desc) filter (where r.email_consent is not null))[1],
      (array_agg(r.sms_consent order by r.line_no desc) filter (where r.sms_consent is not null))[1],
      (array_agg(r.mail_consent order by r.line_no desc) filter (where r.mail_consent is not null))[1],
      (array_agg(r.ads_consent order by r.line_no desc) filter (where r.ads_consent is not null))[1]
    from import_resolved r
    join import_multi m using (gkey)
    group by r.gkey`.execute(db);

  // 3. Conflicts: identifiers owned by another contact, a different external id on the matched contact,
  //    or the same identifier on two candidates (the earliest line keeps it).
  const conflicts = await sql<{ gkey: string; first_line: number; field: string; reason: string }>`
    with owned as (
      select k.gkey, k.first_line, 'externalId' as field, 'external id ' || k.external_id || ' belongs to another contact' as reason
      from import_candidates k join contacts c on c.workspace_id = ${ws} and c.external_id = k.external_id
      where c.id is distinct from k.contact_id
      union all
      select k.gkey, k.first_line, 'email', 'email ' || k.email || ' belongs to another contact'
      from import_candidates k join contacts c on c.workspace_id = ${ws} and c.email = k.email
      where c.id is distinct from k.contact_id
      union all
      select k.gkey, k.first_line, 'phone', 'phone ' || k.phone || ' belongs to another contact'
      from import_candidates k join contacts c on c.workspace_id = ${ws} and c.phone = k.phone
      where c.id is distinct from k.contact_id
      union all
      select k.gkey, k.first_line, k.matched_by,
        case k.matched_by when 'email' then 'email ' || k.email else 'phone ' || k.phone end
          || case when c.xmin::text = (txid_current() % 4294967296)::text
               then ' is also on an earlier line of this file, with external id ' || k.matched_external_id
               else ' belongs to a contact with a different external id (' || k.matched_external_id || ')' end
      from import_candidates k join contacts c on c.workspace_id = ${ws} and c.id = k.contact_id
      where k.matched_by in ('email', 'phone') and k.matched_external_id is not null and k.external_id is not null
        and k.external_id <> k.matched_external_id
      union all
      -- Matched only by phone, but the contact has another email: a different person sharing a phone.
      select k.gkey, k.first_line, 'phone', 'phone ' || k.phone || ' belongs to a contact with a different email (' || k.phone_match_email || ')'
      from import_candidates k
      where k.matched_by = 'phone' and k.phone_match_email is not null and k.email is not null and k.email <> k.phone_match_email
    ),
    shared as (${sql.join(
      IDENTIFIERS.map(
        ({ column, field, label }) => sql`
      select gkey, first_line, field, reason from (
        select k.gkey, k.first_line, ${field}::text as field,
          ${`${label} `} || k.${sql.ref(column)} || ' is also on line ' || first_value(k.first_line) over w as reason,
          row_number() over w as rn
        from import_candidates k where k.${sql.ref(column)} is not null
        window w as (partition by k.${sql.ref(column)} order by k.first_line)) x where rn > 1`,
      ),
      sql` union all `,
    )}
    )
    select distinct on (gkey) gkey, first_line, field, reason from (select * from owned union all select * from shared) all_conflicts
    order by gkey, field`.execute(db);

  let conflictLines: { line: number; field: string; reason: string }[] = [];
  if (conflicts.rows.length) {
    await sql`create temp table import_conflicts on commit drop as
      select * from unnest(${conflicts.rows.map((r) => r.gkey)}::text[], ${conflicts.rows.map((r) => r.field)}::text[],
                           ${conflicts.rows.map((r) => r.reason)}::text[]) as c(gkey, field, reason)`.execute(
      db,
    );
    await sql`delete from import_candidates k using import_conflicts c where k.gkey = c.gkey`.execute(db);
    const lines = await sql<{ line_no: number; field: string; reason: string }>`
      select r.line_no, c.field, c.reason from import_resolved r join import_conflicts c using (gkey) order by r.line_no`.execute(
      db,
    );
    conflictLines = lines.rows.map((r) => ({ line: r.line_no, field: r.field, reason: r.reason }));
  }

  // 4. Consent history for the contacts whose consent the file changes, then the writes.
  await sql`
    insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor)
    select ${ws}, c.id, ch.channel, ch.status, ch.previous, 'import', ${importId}
    from import_candidates k
    join contacts c on c.workspace_id = ${ws} and c.id = k.contact_id
    cross join lateral (values ('email', k.email_consent, c.email_consent), ('sms', k.sms_consent, c.sms_consent),
                               ('mail', k.mail_consent, c.mail_consent), ('ads', k.ads_consent, c.ads_consent))
      as ch(channel, status, previous)
    where ch.status is not null and ch.status <> ch.previous`.execute(db);

  // Rows repeating a contact this import has just created are merged duplicates, not updates.
  const intoNew = await sql<{ rows: number; contacts: number }>`
    select coalesce(sum(k.n), 0)::int as rows, count(*)::int as contacts
    from import_candidates k join contacts c on c.workspace_id = ${ws} and c.id = k.contact_id
    where c.xmin::text = (txid_current() % 4294967296)::text`.execute(db);

  const updated = await sql`
    update contacts c set
      external_id = coalesce(k.external_id, c.external_id),
      email = coalesce(k.email, c.email),
      phone = coalesce(k.phone, c.phone),
      first_name = coalesce(k.first_name, c.first_name),
      last_name = coalesce(k.last_name, c.last_name),
      address_line1 = coalesce(k.address_line1, c.address_line1),
      address_line2 = coalesce(k.address_line2, c.address_line2),
      city = coalesce(k.city, c.city),
      region = coalesce(k.region, c.region),
      postal_code = coalesce(k.postal_code, c.postal_code),
      country = coalesce(k.country, c.country),
      timezone = case when k.tz_rank = 2 then k.timezone else coalesce(c.timezone, k.timezone) end,
      attributes = c.attributes || k.attributes,
      email_consent = coalesce(k.email_consent, c.email_consent),
      sms_consent = coalesce(k.sms_consent, c.sms_consent),
      mail_consent = coalesce(k.mail_consent, c.mail_consent),
      ads_consent = coalesce(k.ads_consent, c.ads_consent),
      updated_at = now()
    from import_candidates k
    where c.workspace_id = ${ws} and c.id = k.contact_id`.execute(db);

  const inserted = await sql<{ n: number }>`
    with ins as (
      insert into contacts (workspace_id, id, external_id, email, phone, first_name, last_name, address_line1, address_line2,
        city, region, postal_code, country, timezone, attributes, email_consent, sms_consent, mail_consent, ads_consent)
      select ${ws}, new_id, external_id, email, phone, first_name, last_name, address_line1, address_line2, city, region,
        postal_code, country, timezone, attributes, coalesce(email_consent, 'never_asked'), coalesce(sms_consent, 'never_asked'),
        coalesce(mail_consent, 'never_asked'), coalesce(ads_consent, 'never_asked')
      from import_candidates where contact_id is null
      returning id, email_consent, sms_consent, mail_consent, ads_consent
    ),
    ledger as (
      insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor)
      select ${ws}, ins.id, ch.channel, ch.status, null, 'import', ${importId}
      from ins cross join lateral (values ('email', ins.email_consent), ('sms', ins.sms_consent),
                                          ('mail', ins.mail_consent), ('ads', ins.ads_consent)) as ch(channel, status)
      where ch.status <> 'never_asked'
    )
    select count(*)::int as n from ins`.execute(db);

  const merged = await sql<{
    n: number;
  }>`select coalesce(sum(n - 1), 0)::int as n from import_candidates`.execute(db);
  const repeatsOfNew = intoNew.rows[0] ?? { rows: 0, contacts: 0 };
  return {
    inserted: inserted.rows[0]?.n ?? 0,
    updated: Number(updated.numAffectedRows ?? 0) - repeatsOfNew.contacts,
    // A group folds n rows into one contact; a group folding into a contact this import created folds all n.
    mergedDuplicates: (merged.rows[0]?.n ?? 0) + repeatsOfNew.contacts,
    conflicts: conflictLines,
  };
}

/**
 * Adds every contact this transaction created or updated (the import's rows) to a static list. Rows
 * written by the current transaction carry its id in xmin.
 */
export async function addImportedToList(db: Executor, workspaceId: string, listId: string) {
  await sql`
    insert into list_members (workspace_id, list_id, contact_id)
    select ${workspaceId}, ${listId}, c.id from contacts c
    where c.workspace_id = ${workspaceId} and c.xmin::text = (txid_current() % 4294967296)::text
    on conflict do nothing`.execute(db);
}

/** Imports whose worker died: a dead process on this host, or no heartbeat for `staleBefore`. */
export async function findStalledImports(db: Executor, staleBefore: Date) {
  return db
    .selectFrom("imports")
    .select(["workspace_id", "id", "status", "locked_by", "heartbeat_at", "attempt"])
    .where((eb) =>
      eb.or([
        eb.and([
          eb("status", "=", "processing"),
          eb.or([eb("heartbeat_at", "<", staleBefore), eb("locked_by", "is not", null)]),
        ]),
        eb.and([eb("status", "=", "queued"), eb("created_at", "<", staleBefore)]),
      ]),
    )
    .execute();
}

export async function deleteChunks(db: Executor, workspaceId: string, importId: string) {
  await db
    .deleteFrom("import_chunks")
    .where("workspace_id", "=", workspaceId)
    .where("import_id", "=", importId)
    .execute();
}
