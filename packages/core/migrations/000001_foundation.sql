-- Foundation: workspaces (tenants), API keys, contacts with per-channel consent and its ledger, events,
-- and CSV imports. Every business table carries workspace_id as the leading column of its primary key
-- so the schema can later be distributed by workspace (Citus) without rewriting keys.

create table workspaces (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  default_country text not null default 'US' check (default_country ~ '^[A-Z]{2}$'),
  default_timezone text not null default 'UTC',
  created_at timestamptz not null default now()
);

-- Only a SHA-256 of each key is stored; the key itself is shown once, at creation.
create table api_keys (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  name text not null,
  prefix text not null,
  key_hash bytea not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  primary key (workspace_id, id)
);
create unique index api_keys_key_hash on api_keys (key_hash);

-- Contacts are the hottest table: no foreign key to workspaces (a per-row check on every bulk insert);
-- workspace deletion removes them explicitly. Ids are UUIDv7 made by the application, so id order is
-- creation order and bulk inserts append to the primary key.
create table contacts (
  workspace_id uuid not null,
  id uuid not null default gen_random_uuid(),
  external_id text,
  email text,
  phone text,
  first_name text,
  last_name text,
  address_line1 text,
  address_line2 text,
  city text,
  region text,
  postal_code text,
  country text,
  timezone text,
  attributes jsonb not null default '{}',
  email_consent text not null default 'never_asked',
  sms_consent text not null default 'never_asked',
  mail_consent text not null default 'never_asked',
  ads_consent text not null default 'never_asked',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id),
  constraint contacts_consent_values check (
    email_consent in ('subscribed', 'unsubscribed', 'bounced', 'complained', 'never_asked')
    and sms_consent in ('subscribed', 'unsubscribed', 'bounced', 'complained', 'never_asked')
    and mail_consent in ('subscribed', 'unsubscribed', 'bounced', 'complained', 'never_asked')
    and ads_consent in ('subscribed', 'unsubscribed', 'bounced', 'complained', 'never_asked')
  ),
  constraint contacts_attributes_object check (jsonb_typeof(attributes) = 'object')
);
-- Identities are unique per workspace; the upsert rule matches on them in this order.
create unique index contacts_external_id on contacts (workspace_id, external_id) where external_id is not null;
create unique index contacts_email on contacts (workspace_id, email) where email is not null;
create unique index contacts_phone on contacts (workspace_id, phone) where phone is not null;

-- The consent ledger: every change of a contact's consent, who made it and how. Append-only.
create table consent_changes (
  workspace_id uuid not null,
  id bigint generated always as identity,
  contact_id uuid not null,
  channel text not null check (channel in ('email', 'sms', 'mail', 'ads')),
  status text not null,
  previous_status text,
  source text not null,
  actor text,
  reason text,
  changed_at timestamptz not null default now(),
  primary key (workspace_id, id),
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
);
create index consent_changes_contact on consent_changes (workspace_id, contact_id, changed_at);

-- Events are append-only. The id is the client's (or generated): a replayed id is ignored.
create table events (
  workspace_id uuid not null,
  id text not null,
  contact_id uuid not null,
  type text not null,
  properties jsonb not null default '{}',
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  primary key (workspace_id, id),
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
);
create index events_contact on events (workspace_id, contact_id, occurred_at desc);
create index events_type on events (workspace_id, type, occurred_at);

-- CSV imports. The upload is kept in import_chunks (so any worker can process it) until it is merged.
create table imports (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  status text not null default 'receiving'
    check (status in ('receiving', 'queued', 'processing', 'completed', 'failed')),
  filename text,
  size_bytes bigint not null default 0,
  options jsonb not null default '{}',
  detected jsonb,
  total_rows integer not null default 0,
  processed_rows integer not null default 0,
  processed_bytes bigint not null default 0,
  inserted integer not null default 0,
  updated integer not null default 0,
  rejected integer not null default 0,
  merged_duplicates integer not null default 0,
  error text,
  attempt integer not null default 0,
  locked_by text,
  heartbeat_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  primary key (workspace_id, id)
);
create index imports_recent on imports (workspace_id, created_at desc);
create index imports_active on imports (status, heartbeat_at) where status in ('queued', 'processing');

create table import_chunks (
  workspace_id uuid not null,
  import_id uuid not null,
  seq integer not null,
  data bytea not null,
  primary key (workspace_id, import_id, seq),
  foreign key (workspace_id, import_id) references imports (workspace_id, id) on delete cascade
);
-- CSV chunks are read once; skip TOAST compression to keep uploads fast.
alter table import_chunks alter column data set storage external;

create table import_rejections (
  workspace_id uuid not null,
  import_id uuid not null,
  line_no integer not null,
  field text,
  reason text not null,
  raw text not null,
  primary key (workspace_id, import_id, line_no),
  foreign key (workspace_id, import_id) references imports (workspace_id, id) on delete cascade
);

-- Staging tables of running imports live here (unlogged, one per import, dropped after the merge).
create schema if not exists omneural_staging;
