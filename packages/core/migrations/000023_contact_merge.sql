-- Duplicate contacts and their merge: the keys that tell two contacts are likely the same person, the
-- indexes that find them without reading every contact of a large workspace, and the merge log.
--
-- Email, phone and external id are each unique per workspace, so duplicates differ in spelling only:
--   email            lower-cased and trimmed; Gmail (gmail.com, googlemail.com) ignores dots and the +tag
--                    of the mailbox name, so those go too: "Ada.L+news@GoogleMail.com" is "adal@gmail.com".
--   phone            "+" and the digits only (rows the normaliser wrote are E.164 already).
--   name and address first and last name (case and accents ignored), address line 1 (case, accents,
--                    spaces, commas and dots ignored) and postal code (case, spaces and hyphens ignored).
--
-- Indexes: a contact whose email (phone) is already its own key can only be found by another contact's
-- key, through the unique index on email (phone); so only the others — Gmail addresses with dots or a
-- +tag, and rows written around the normaliser — are indexed, which keeps imports fast. Name and address
-- has no such shortcut: every contact with all four parts is indexed (about the cost of one more index
-- on contacts for the rows that have a postal address).

-- Accents come off only when there are any (decomposed, combining marks dropped): ASCII, the common case
-- on imports, costs a lower() alone.
create function omneural_fold(value text) returns text
language sql immutable parallel safe as $$
  select case
    when octet_length(value) = length(value) then lower(value)
    else lower(regexp_replace(normalize(value, NFD), '[\u0300-\u036f]+', '', 'g'))
  end
$$;

create function omneural_email_key(email text) returns text
language sql immutable parallel safe as $$
  select case
    when split_part(lower(btrim(email)), '@', 2) in ('gmail.com', 'googlemail.com')
      then replace(split_part(split_part(lower(btrim(email)), '@', 1), '+', 1), '.', '') || '@gmail.com'
    else lower(btrim(email))
  end
$$;

create function omneural_phone_key(phone text) returns text
language sql immutable parallel safe as $$
  select '+' || regexp_replace(phone, '[^0-9]+', '', 'g')
$$;

-- Null unless all four parts are there. omneural_fold is named with its schema: PostgreSQL 17 and later
-- run index builds and maintenance with search_path = pg_catalog, pg_temp.
create function omneural_name_address_key(first_name text, last_name text, line1 text, postal_code text)
returns text language sql immutable parallel safe as $$
  select nullif(btrim(public.omneural_fold(first_name)), '') || '|' || nullif(btrim(public.omneural_fold(last_name)), '') || '|'
    || nullif(replace(replace(replace(public.omneural_fold(line1), ' ', ''), ',', ''), '.', ''), '') || '|'
    || nullif(upper(replace(replace(postal_code, ' ', ''), '-', '')), '')
$$;

create index contacts_email_key on contacts (workspace_id, omneural_email_key(email))
  where omneural_email_key(email) <> email;
create index contacts_phone_key on contacts (workspace_id, omneural_phone_key(phone))
  where phone !~ '^[+][0-9]+$';
create index contacts_name_address_key
  on contacts (workspace_id, omneural_name_address_key(first_name, last_name, address_line1, postal_code))
  where first_name is not null and last_name is not null and address_line1 is not null and postal_code is not null;

-- A merge moves a contact's audience log to the survivor; without this, each merge would read the whole
-- log of the workspace. (Erasure, which deletes the same rows, benefits too.)
create index if not exists audience_transitions_contact on audience_transitions (workspace_id, contact_id);

-- One row per merge: who survived, who was merged into it (those contacts no longer exist) and what moved.
-- Erasing the survivor erases its merge log; merging the survivor into another contact moves its log there.
create table contact_merges (
  workspace_id uuid not null,
  id uuid not null,
  survivor_id uuid not null,
  duplicate_ids uuid[] not null,
  -- 'api' (POST /contacts/merge) or 'policy:<reason>' (the likely-duplicates policy).
  cause text not null,
  actor text,
  -- {moved: {events: n, …}, dropped: {enrollments: n, …}, filled: [field…], consent: [{channel, from, to}]}
  summary jsonb not null,
  merged_at timestamptz not null default now(),
  primary key (workspace_id, id),
  foreign key (workspace_id, survivor_id) references contacts (workspace_id, id) on delete cascade
);
create index contact_merges_survivor on contact_merges (workspace_id, survivor_id);
