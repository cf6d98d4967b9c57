-- Events partitioned by month of occurred_at, so that dropping old events is dropping a partition
-- (docs/data-lifecycle.md, "Old events"), not deleting rows one by one.
--
-- A partitioned table's unique keys must include the partition key, so `(workspace_id, id)` can no
-- longer be unique on `events` itself. Replays are recognised by `event_ids` instead: the writers insert
-- the id there first and the event only when the id was new (events/event.repository.ts,
-- responses/response.repository.ts). `event_ids` keeps the event's time, to be purged with the events.
--
-- Partitions are `events_YYYY_MM` (UTC months). `omneural_ensure_event_partitions` creates the current
-- month and the next ones; the worker runs it daily (job `event_partitions`). An event of a month that
-- has no partition (far past or future) lands in `events_default` and moves to its month's partition when
-- that is created.

lock table events in access exclusive mode;

alter table events rename to events_unpartitioned;
alter table events_unpartitioned rename constraint events_pkey to events_unpartitioned_pkey;
alter index events_contact rename to events_unpartitioned_contact;
alter index events_type_contact rename to events_unpartitioned_type_contact;
alter index events_response_channel rename to events_unpartitioned_response_channel;
alter index events_response_campaign rename to events_unpartitioned_response_campaign;

create table events (
  workspace_id uuid not null,
  id text not null,
  contact_id uuid not null,
  type text not null,
  properties jsonb not null default '{}',
  occurred_at timestamptz not null,
  received_at timestamptz not null default now(),
  channel text generated always as
    (case when jsonb_typeof(properties -> 'channel') = 'string' then properties ->> 'channel' end) stored,
  campaign_id text generated always as
    (case when jsonb_typeof(properties -> 'campaignId') = 'string' then properties ->> 'campaignId' end) stored,
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
) partition by range (occurred_at);

create table events_default partition of events default;

create index events_contact on events (workspace_id, contact_id, occurred_at desc);
create index events_type_contact on events (workspace_id, type, occurred_at, contact_id);
create index events_response_channel on events (workspace_id, type, channel, occurred_at, contact_id)
  where channel is not null;
create index events_response_campaign on events (workspace_id, campaign_id, type, occurred_at, contact_id)
  where campaign_id is not null;
-- Looking an event up by its id (a trace, an entry's cause) within its workspace.
create index events_id on events (workspace_id, id);

-- The ids of the events recorded: a replayed id is ignored.
create table event_ids (
  workspace_id uuid not null,
  id text not null,
  occurred_at timestamptz not null,
  primary key (workspace_id, id)
);

-- The first instant of the UTC month of `at`.
create function omneural_month_start(at timestamptz) returns timestamptz
language sql immutable parallel safe as $$
  select (date_trunc('month', at at time zone 'UTC')) at time zone 'UTC'
$$;

-- Creates the partition of the UTC month starting at `month_start` (moving that month's rows out of
-- events_default first). Returns false when it exists already.
create function omneural_create_event_partition(month_start timestamptz) returns boolean
language plpgsql as $$
declare
  lo timestamptz := public.omneural_month_start(month_start);
  hi timestamptz := public.omneural_month_start(lo + interval '40 days');
  part text := 'events_' || to_char(lo at time zone 'UTC', 'YYYY_MM');
begin
  if to_regclass(part) is not null then
    return false;
  end if;
  execute format('create table %I (like events including defaults including generated)', part);
  -- Rows of this month already in the default partition move first: a partition cannot be attached
  -- while the default one holds rows of its range. Inserting into the partition table directly fires
  -- none of the statement triggers of `events`: these rows were counted when they arrived.
  execute format(
    'with moved as (delete from events_default where occurred_at >= %L and occurred_at < %L
                    returning workspace_id, id, contact_id, type, properties, occurred_at, received_at)
     insert into %I (workspace_id, id, contact_id, type, properties, occurred_at, received_at)
     select * from moved', lo, hi, part);
  execute format('alter table events attach partition %I for values from (%L) to (%L)', part, lo, hi);
  return true;
end $$;

-- Makes sure the partitions of the current UTC month and the next `months_ahead` exist. Returns how
-- many it created. Concurrent callers queue on an advisory lock.
create function omneural_ensure_event_partitions(months_ahead integer default 3) returns integer
language plpgsql as $$
declare
  created integer := 0;
  first timestamptz := public.omneural_month_start(now());
begin
  perform pg_advisory_xact_lock(7340029);
  for i in 0..months_ahead loop
    if public.omneural_create_event_partition(first + make_interval(months => i)) then
      created := created + 1;
    end if;
  end loop;
  return created;
end $$;

-- Partitions for the months the existing events span (at most ten years back), then the copy.
do $$
declare
  oldest timestamptz;
  m timestamptz;
begin
  select public.omneural_month_start(min(occurred_at)) into oldest from events_unpartitioned;
  if oldest is not null then
    m := greatest(oldest, public.omneural_month_start(now() - interval '10 years'));
    while m < public.omneural_month_start(now()) loop
      perform public.omneural_create_event_partition(m);
      m := public.omneural_month_start(m + interval '40 days');
    end loop;
  end if;
  perform public.omneural_ensure_event_partitions(3);
end $$;

insert into events (workspace_id, id, contact_id, type, properties, occurred_at, received_at)
select workspace_id, id, contact_id, type, properties, occurred_at, received_at from events_unpartitioned;
insert into event_ids (workspace_id, id, occurred_at)
select workspace_id, id, occurred_at from events_unpartitioned;

-- The triggers of the old table (reports, archived contacts' restore, …), recreated on the new one
-- after the copy so that the copied rows are not counted twice.
do $$
declare
  t record;
begin
  for t in
    select pg_get_triggerdef(oid) as def from pg_trigger
    where tgrelid = 'events_unpartitioned'::regclass and not tgisinternal
  loop
    execute regexp_replace(t.def, ' ON (public\.)?events_unpartitioned ', ' ON public.events ');
  end loop;
end $$;

drop table events_unpartitioned;

-- The retention policy that removes old events (retention/retention.service.ts, oldEventsPlan).
alter table retention_policies drop constraint retention_policies_kind_check;
alter table retention_policies add constraint retention_policies_kind_check
  check (kind in ('outdated_prospects', 'undeliverable', 'finished_journeys', 'print_files', 'duplicates',
                  'old_events'));
