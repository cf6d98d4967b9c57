-- Audiences: segments (a rule tree compiled to SQL) and static lists, the materialised membership of
-- the audiences something listens to, and the log of members entering and leaving them.

create table audiences (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  name text not null check (length(name) between 1 and 200),
  description text,
  kind text not null check (kind in ('segment', 'list')),
  definition jsonb,
  -- Listened-to audiences keep audience_members up to date as contacts change and events arrive.
  listened boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id),
  constraint audiences_definition check ((kind = 'segment') = (definition is not null))
);
create unique index audiences_name on audiences (workspace_id, lower(name));

-- Static list membership.
create table list_members (
  workspace_id uuid not null,
  list_id uuid not null,
  contact_id uuid not null,
  added_at timestamptz not null default now(),
  primary key (workspace_id, list_id, contact_id),
  foreign key (workspace_id, list_id) references audiences (workspace_id, id) on delete cascade
);
create index list_members_contact on list_members (workspace_id, contact_id);

-- Current members of listened-to segments.
create table audience_members (
  workspace_id uuid not null,
  audience_id uuid not null,
  contact_id uuid not null,
  entered_at timestamptz not null default now(),
  primary key (workspace_id, audience_id, contact_id),
  foreign key (workspace_id, audience_id) references audiences (workspace_id, id) on delete cascade
);
create index audience_members_contact on audience_members (workspace_id, contact_id);

-- Every entry into and exit from a listened-to segment, with what caused the re-evaluation.
create table audience_transitions (
  workspace_id uuid not null,
  id bigint generated always as identity,
  audience_id uuid not null,
  contact_id uuid not null,
  transition text not null check (transition in ('entered', 'left')),
  cause text not null,
  at timestamptz not null default now(),
  primary key (workspace_id, id),
  foreign key (workspace_id, audience_id) references audiences (workspace_id, id) on delete cascade
);
create index audience_transitions_audience on audience_transitions (workspace_id, audience_id, at);

-- Cached counts, so repeated reads of a large segment's size are instant; the API says how old they are.
create table audience_counts (
  workspace_id uuid not null,
  audience_id uuid not null,
  count bigint not null,
  computed_at timestamptz not null,
  primary key (workspace_id, audience_id),
  foreign key (workspace_id, audience_id) references audiences (workspace_id, id) on delete cascade
);

-- Date conditions on attributes read text that may not be a date: a bad value must not fail the query.
create function omneural_try_timestamptz(value text) returns timestamptz
language plpgsql stable parallel safe as $$
begin
  if value is null or value !~ '^\d{4}-\d{2}-\d{2}' then
    return null;
  end if;
  return value::timestamptz;
exception when others then
  return null;
end;
$$;

-- Common segment conditions: region ("state = CA") and consent are plain columns; responses and
-- events are found by type and time.
create index contacts_region on contacts (workspace_id, region);
-- Covers "which contacts did X since T" without visiting the table; replaces events_type.
create index events_type_contact on events (workspace_id, type, occurred_at, contact_id);
drop index events_type;

-- Responses ("clicked an email in the last 30 days", "opened campaign X") filter on channel and
-- campaign: as columns they can be indexed and read by index-only scans, which a JSON path cannot.
-- A property counts only when it is a JSON string, as in any string property filter.
alter table events
  add column channel text generated always as
    (case when jsonb_typeof(properties -> 'channel') = 'string' then properties ->> 'channel' end) stored,
  add column campaign_id text generated always as
    (case when jsonb_typeof(properties -> 'campaignId') = 'string' then properties ->> 'campaignId' end) stored;
create index events_response_channel on events (workspace_id, type, channel, occurred_at, contact_id)
  where channel is not null;
create index events_response_campaign on events (workspace_id, campaign_id, type, occurred_at, contact_id)
  where campaign_id is not null;
