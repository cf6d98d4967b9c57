-- Campaign settings: how members enter (once at launch, continuously as they join the audience, or on
-- an event), whether they may enter again, send-time policies of the campaign's own, a holdout share
-- and a goal with its conversion window.
alter table campaigns
  add column entry_mode text not null default 'once' check (entry_mode in ('once', 'continuous', 'event')),
  add column entry_event_type text,
  -- Property filters (the audience rule language's) the entering event must match.
  add column entry_where jsonb not null default '[]',
  add column reentry_mode text not null default 'never' check (reentry_mode in ('never', 'after', 'always')),
  add column reentry_after_days integer check (reentry_after_days between 1 and 3650),
  -- {quietHours?: {from, to} | null, frequencyCap?: 'apply' | 'exempt', throughputPerHour?: {channel: n}}
  add column policies jsonb not null default '{}',
  add column holdout_percent numeric(5, 2) not null default 0
    check (holdout_percent >= 0 and holdout_percent <= 50),
  add column goal_event_type text,
  add column goal_window_days integer check (goal_window_days between 1 and 365),
  add constraint campaigns_entry_event check ((entry_mode = 'event') = (entry_event_type is not null)),
  add constraint campaigns_reentry_after check ((reentry_mode = 'after') = (reentry_after_days is not null)),
  add constraint campaigns_goal_whole check ((goal_event_type is null) = (goal_window_days is null));

-- An event enrolls its contact in the workspace's running campaigns that enter on its type.
create index campaigns_event_entry on campaigns (workspace_id, entry_event_type)
  where entry_mode = 'event' and status = 'running';
-- A contact joining an audience enters its running continuous campaigns.
create index campaigns_continuous_entry on campaigns (workspace_id, audience_id)
  where entry_mode = 'continuous' and status = 'running';

-- Holdout members walk the workflow but are never contacted: their sends are skipped with that reason.
alter table enrollments add column holdout boolean not null default false;
-- Event entry: the event that enrolled the member this iteration ({id, type, properties, occurredAt}).
alter table enrollments add column trigger_event jsonb;
