-- Campaign scheduling: a campaign may start at an instant (`start_at`: launch makes it `scheduled` and
-- the scheduler job starts it then) or at a wall-clock time in each member's own timezone
-- (`start_local_date` + `start_local_time`: launch enrolls everyone, each member due at their moment),
-- and may end at an instant (`end_at`: the scheduler job cancels the members still in it and completes
-- it). All null: starts at launch, never ends.
alter table campaigns add column start_at timestamptz;
alter table campaigns add column start_local_date date;
alter table campaigns add column start_local_time time;
alter table campaigns add column end_at timestamptz;

alter table campaigns add constraint campaigns_start_one_kind
  check (start_at is null or start_local_date is null);
alter table campaigns add constraint campaigns_start_local_whole
  check ((start_local_date is null) = (start_local_time is null));
alter table campaigns add constraint campaigns_end_after_start
  check (end_at is null or start_at is null or end_at > start_at);

-- `scheduled`: launched, waiting for `start_at`.
alter table campaigns drop constraint campaigns_status_check;
alter table campaigns add constraint campaigns_status_check
  check (status in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled'));

-- The scheduler's two scans, each over the few campaigns it can concern.
create index campaigns_due_to_start on campaigns (start_at) where status = 'scheduled';
create index campaigns_due_to_end on campaigns (end_at)
  where end_at is not null and status in ('scheduled', 'running', 'paused');
