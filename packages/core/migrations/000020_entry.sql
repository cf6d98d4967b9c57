-- Entry after launch (continuous and event entry): each entry is recorded with what caused it, so that
-- a job that runs twice never lets a contact in twice for the same cause; and contacts added to a static
-- list that a running continuous campaign enters from are logged as audience transitions 'entered'
-- (lists have no membership diff of their own) and queued for entry like a segment's.

-- One row per entry after launch. `cause`: 'event:<event id>' or 'transition:<audience_transitions.id>'.
create table campaign_entries (
  workspace_id uuid not null,
  campaign_id uuid not null,
  cause text not null,
  contact_id uuid not null,
  -- The iteration of the enrollment this entry started (1: first entry).
  iteration integer not null,
  at timestamptz not null,
  primary key (workspace_id, campaign_id, cause),
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade,
  -- Entries are few next to a launch's enrollments: the foreign key's check costs little here.
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
);
create index campaign_entries_contact on campaign_entries (workspace_id, contact_id);

-- Statement-level, so a large list import pays one check, not one per row. Rows of lists that no
-- running continuous campaign enters from are ignored (and not logged). The job name is entry.ts's
-- CAMPAIGN_ENTRY_JOB; the payload the one membership.ts queues for a segment's transitions.
create function omneural_list_joined() returns trigger language plpgsql as $$
declare
  queued integer;
begin
  -- The common case first, and alone: no running continuous campaign enters from these lists. (The
  -- statement below is planned only when it runs, so a database without the job queue's schema — a
  -- migration-only tool, a test — can still take list members.)
  if not exists (select 1 from added a join campaigns c
                 on c.workspace_id = a.workspace_id and c.audience_id = a.list_id
                 where c.entry_mode = 'continuous' and c.status = 'running') then
    return null;
  end if;
  with joined as (
    select distinct a.workspace_id, a.list_id, a.contact_id from added a
    where exists (select 1 from campaigns c
                  where c.workspace_id = a.workspace_id and c.audience_id = a.list_id
                    and c.entry_mode = 'continuous' and c.status = 'running')
  ), logged as (
    insert into audience_transitions (workspace_id, audience_id, contact_id, transition, cause, at)
    select workspace_id, list_id, contact_id, 'entered', 'added to the list', now() from joined
    returning workspace_id, audience_id, id, contact_id
  ), chunked as (
    select workspace_id, audience_id, id, contact_id,
           (row_number() over (partition by workspace_id, audience_id order by id) - 1) / 1000 as chunk
    from logged
  )
  select count(*) into queued from (
    select graphile_worker.add_job('campaign_entry',
             json_build_object('workspaceId', workspace_id::text, 'audienceId', audience_id::text,
                               'joined', json_agg(json_build_array(id, contact_id::text) order by id)),
             max_attempts := 10)
    from chunked group by workspace_id, audience_id, chunk
  ) q;
  return null;
end;
$$;

create trigger list_members_joined after insert on list_members
  referencing new table as added for each statement execute function omneural_list_joined();
