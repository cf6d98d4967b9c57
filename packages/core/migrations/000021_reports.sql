-- Campaign reports, kept incrementally. Every change to the ledger (messages), to members (enrollments
-- and their steps) and every response (events) adds a few grouped rows to `report_deltas` in the same
-- transaction: the triggers below work per statement, on the statement's transition tables, so a batch
-- of a thousand changes costs one grouped insert. A worker job folds the deltas into `report_counts`
-- (one row per campaign × metric × node × channel × dimension × segment × hour); a report sums both, so
-- it is exact at any moment and reads a few thousand rows, never the ledger.
--
-- Metrics (`dim` and `segment` in brackets):
--   entered       members who reached a node (flow)                         [ , holdout]
--   members       members at a node now, by state (+1/−1)                   [state, holdout]
--   outcome       members who finished, by state (flow)                     [state, holdout]
--   action        what the engine did at a node (flow)                      [action/outlet]
--   messages      ledger rows now, by status and reason (+1/−1)             [status|reason, ]
--   sent          ledger rows that became sent (flow)                       [ , ]
--   deferrals     ledger rows deferred, by reason (flow)                    [reason, ]
--   responses     response events (flow)                                    [kind, machine]
--   unique        messages (or contacts) with a response of a kind (flow)   [kind, ]   machine ones excluded
--   goal          members who reached the campaign's goal (flow)            [ , holdout]

create table report_counts (
  workspace_id uuid not null,
  campaign_id uuid not null,
  metric text not null,
  node_id text not null default '',
  channel text not null default '',
  dim text not null default '',
  segment text not null default '',
  bucket timestamptz not null,
  count bigint not null,
  primary key (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket),
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade
);

create table report_deltas (
  id bigint generated always as identity primary key,
  workspace_id uuid not null,
  campaign_id uuid not null,
  metric text not null,
  node_id text not null default '',
  channel text not null default '',
  dim text not null default '',
  segment text not null default '',
  bucket timestamptz not null,
  count bigint not null,
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade
) with (autovacuum_vacuum_scale_factor = 0.01);
create index report_deltas_campaign on report_deltas (workspace_id, campaign_id);

-- First response of each kind per message (or per contact, for responses without a message): what
-- makes `unique` count each message once however often it is opened.
create table report_first_responses (
  workspace_id uuid not null,
  campaign_id uuid not null,
  response_key text not null,
  kind text not null,
  node_id text not null,
  channel text not null,
  at timestamptz not null,
  primary key (workspace_id, campaign_id, response_key, kind),
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade
);

-- A ledger reason in a few words, so reports group "quiet hours: it is 22:14 in Europe/Paris …" and
-- its thousand siblings under one name.
create function report_reason(reason text) returns text
language sql immutable parallel safe as $$
  select case
    when reason is null or reason = '' then ''
    when reason ~* '^holdout' then 'holdout'
    when reason ~* 'is suppressed' then 'suppressed'
    when reason ~* 'opted out of topic' then 'topic opt-out'
    when reason ~* 'consent is' then 'no consent'
    when reason ~* 'has no (email address|phone number)|cannot be matched' then 'no address'
    when reason ~* 'no longer exists' then 'contact erased'
    when reason ~* '^quiet hours' then 'quiet hours'
    when reason ~* '^frequency cap' then 'frequency cap'
    when reason ~* 'throughput' then 'campaign throughput limit'
    when reason ~* 'rate limit' then 'provider rate limit'
    when reason ~* 'circuit breaker' then 'provider unavailable'
    when reason ~* 'retrying' then 'retrying'
    when reason ~* 'could not render|template .* (missing|not)' then 'template problem'
    when reason ~* 'campaign ended' then 'campaign ended'
    when reason ~* 'gave up after' then 'provider gave up'
    else 'other'
  end
$$;

-- ---- messages ----

create function report_messages_inserted() returns trigger language plpgsql as $$
begin
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, bucket, count)
  select workspace_id, campaign_id, 'messages', node_id, channel, status || '|' || report_reason(reason),
         date_trunc('hour', now(), 'UTC'), count(*)
  from new_rows group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create function report_messages_updated() returns trigger language plpgsql as $$
begin
  with changed as (
    select n.workspace_id, n.campaign_id, n.node_id, n.channel,
           o.status || '|' || report_reason(o.reason) as before,
           n.status || '|' || report_reason(n.reason) as after,
           n.status, o.status as old_status, report_reason(n.reason) as reason
    from new_rows n join old_rows o on o.workspace_id = n.workspace_id and o.id = n.id
  ), moves as (
    select workspace_id, campaign_id, 'messages' as metric, node_id, channel, before as dim, -1 as n
    from changed where before <> after
    union all
    select workspace_id, campaign_id, 'messages', node_id, channel, after, 1 from changed where before <> after
    union all
    select workspace_id, campaign_id, 'sent', node_id, channel, '', 1
    from changed where status = 'sent' and old_status <> 'sent'
    union all
    select workspace_id, campaign_id, 'deferrals', node_id, channel, reason, 1
    from changed where status = 'queued' and reason <> '' and before <> after
  )
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, bucket, count)
  select workspace_id, campaign_id, metric, node_id, channel, dim, date_trunc('hour', now(), 'UTC'), sum(n)
  from moves group by 1, 2, 3, 4, 5, 6 having sum(n) <> 0;
  return null;
end $$;

create function report_messages_deleted() returns trigger language plpgsql as $$
begin
  -- A deleted campaign's rows go with it (the cascade removes its report too): count only the rest.
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, bucket, count)
  select o.workspace_id, o.campaign_id, 'messages', o.node_id, o.channel, o.status || '|' || report_reason(o.reason),
         date_trunc('hour', now(), 'UTC'), -count(*)
  from old_rows o
  where exists (select 1 from campaigns c where c.workspace_id = o.workspace_id and c.id = o.campaign_id)
  group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create trigger report_messages_inserted after insert on messages
  referencing new table as new_rows for each statement execute function report_messages_inserted();
create trigger report_messages_updated after update on messages
  referencing old table as old_rows new table as new_rows for each statement execute function report_messages_updated();
create trigger report_messages_deleted after delete on messages
  referencing old table as old_rows for each statement execute function report_messages_deleted();

-- ---- enrollments ----

-- Launch inserts a whole audience at once and records its own delta (one grouped count is cheaper than
-- a transition table of a million rows): it sets omneural.bulk_enrollment for its transaction, and this
-- row trigger stays quiet. Every other enrollment (event and continuous entry, the API) counts here.
create function report_enrollment_inserted() returns trigger language plpgsql as $$
begin
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, dim, segment, bucket, count)
  values (new.workspace_id, new.campaign_id, 'entered', new.node_id, '', case when new.holdout then 'holdout' else '' end,
          date_trunc('hour', now(), 'UTC'), 1),
         (new.workspace_id, new.campaign_id, 'members', new.node_id, new.state, case when new.holdout then 'holdout' else '' end,
          date_trunc('hour', now(), 'UTC'), 1);
  return null;
end $$;

create trigger report_enrollment_inserted after insert on enrollments for each row
  when (coalesce(current_setting('omneural.bulk_enrollment', true), '') <> 'on')
  execute function report_enrollment_inserted();

create function report_enrollments_updated() returns trigger language plpgsql as $$
begin
  with changed as (
    select n.workspace_id, n.campaign_id, o.node_id as old_node, n.node_id, o.state as old_state, n.state,
           n.iteration > o.iteration as reentered,
           case when n.holdout then 'holdout' else '' end as segment
    from new_rows n
    join old_rows o on o.workspace_id = n.workspace_id and o.campaign_id = n.campaign_id and o.contact_id = n.contact_id
    where o.node_id <> n.node_id or o.state <> n.state or n.iteration <> o.iteration
  ), moves as (
    select workspace_id, campaign_id, 'members' as metric, old_node as node_id, old_state as dim, segment, -1 as n
    from changed where old_node <> node_id or old_state <> state
    union all
    select workspace_id, campaign_id, 'members', node_id, state, segment, 1
    from changed where old_node <> node_id or old_state <> state
    union all
    select workspace_id, campaign_id, 'outcome', node_id, state, segment, 1
    from changed where state <> 'active' and (old_state <> state or reentered)
    union all
    -- A re-entry starts at the entry node again.
    select workspace_id, campaign_id, 'entered', node_id, '', segment, 1 from changed where reentered
  )
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, dim, segment, bucket, count)
  select workspace_id, campaign_id, metric, node_id, dim, segment, date_trunc('hour', now(), 'UTC'), sum(n)
  from moves group by 1, 2, 3, 4, 5, 6 having sum(n) <> 0;
  return null;
end $$;

create trigger report_enrollments_updated after update on enrollments
  referencing old table as old_rows new table as new_rows for each statement
  execute function report_enrollments_updated();

create function report_enrollments_deleted() returns trigger language plpgsql as $$
begin
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, dim, segment, bucket, count)
  select o.workspace_id, o.campaign_id, 'members', o.node_id, o.state, case when o.holdout then 'holdout' else '' end,
         date_trunc('hour', now(), 'UTC'), -count(*)
  from old_rows o
  where exists (select 1 from campaigns c where c.workspace_id = o.workspace_id and c.id = o.campaign_id)
  group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create trigger report_enrollments_deleted after delete on enrollments
  referencing old table as old_rows for each statement execute function report_enrollments_deleted();

-- ---- steps ----

-- A step's first trace entry is where the member stood; each other node it names is one the member
-- reached (`entered`). Every entry is also an `action` at its node (sent, waited, matched, branch …).
create function report_steps_inserted() returns trigger language plpgsql as $$
begin
  with entries as (
    select s.workspace_id, s.campaign_id, s.contact_id, s.seq, e.n, e.value ->> 'nodeId' as node_id,
           coalesce(e.value ->> 'action', '') || coalesce('/' || (e.value ->> 'outlet'), '') as action,
           s.trace -> 0 ->> 'nodeId' as start_node, s.at
    from new_rows s, jsonb_array_elements(s.trace) with ordinality as e(value, n)
  ), moves as (
    select workspace_id, campaign_id, 'action' as metric, node_id, action as dim, at from entries
    union all
    select distinct on (workspace_id, campaign_id, contact_id, seq, node_id)
           workspace_id, campaign_id, 'entered', node_id, '', at
    from entries where n > 1 and node_id <> start_node
  )
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, dim, bucket, count)
  select workspace_id, campaign_id, metric, coalesce(node_id, ''), dim, date_trunc('hour', at, 'UTC'), count(*)
  from moves group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create trigger report_steps_inserted after insert on enrollment_steps
  referencing new table as new_rows for each statement execute function report_steps_inserted();

-- ---- responses ----

create function report_events_inserted() returns trigger language plpgsql as $$
begin
  with responses as (
    select e.workspace_id, e.campaign_id::uuid as campaign_id, substr(e.type, 9) as kind,
           coalesce(e.properties ->> 'nodeId', '') as node_id, coalesce(e.channel, '') as channel,
           coalesce(e.properties ->> 'messageId', 'contact:' || e.contact_id) as response_key,
           coalesce(e.properties ->> 'machine' = 'true', false) as machine, e.occurred_at
    from new_rows e
    where e.campaign_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      and e.type like 'message.%'
      and exists (select 1 from campaigns c where c.workspace_id = e.workspace_id and c.id = e.campaign_id::uuid)
  ), firsts as (
    insert into report_first_responses (workspace_id, campaign_id, response_key, kind, node_id, channel, at)
    select distinct on (workspace_id, campaign_id, response_key, kind)
           workspace_id, campaign_id, response_key, kind, node_id, channel, occurred_at
    from responses where not machine
    order by workspace_id, campaign_id, response_key, kind, occurred_at
    on conflict do nothing
    returning workspace_id, campaign_id, kind, node_id, channel, at
  ), moves as (
    select workspace_id, campaign_id, 'responses' as metric, node_id, channel, kind as dim,
           case when machine then 'machine' else '' end as segment, occurred_at as at
    from responses
    union all
    select workspace_id, campaign_id, 'unique', node_id, channel, kind, '', at from firsts
  )
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, count)
  select workspace_id, campaign_id, metric, node_id, channel, dim, segment, date_trunc('hour', at, 'UTC'), count(*)
  from moves group by 1, 2, 3, 4, 5, 6, 7, 8;
  return null;
end $$;

create trigger report_events_inserted after insert on events
  referencing new table as new_rows for each statement execute function report_events_inserted();

-- ---- goal conversions (lift against the holdout) ----

create function report_conversions_inserted() returns trigger language plpgsql as $$
begin
  insert into report_deltas (workspace_id, campaign_id, metric, dim, segment, bucket, count)
  select workspace_id, campaign_id, 'goal', '', case when holdout then 'holdout' else '' end,
         date_trunc('hour', converted_at, 'UTC'), count(*)
  from new_rows group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create trigger report_conversions_inserted after insert on campaign_conversions
  referencing new table as new_rows for each statement execute function report_conversions_inserted();

create function report_conversions_deleted() returns trigger language plpgsql as $$
begin
  insert into report_deltas (workspace_id, campaign_id, metric, dim, segment, bucket, count)
  select o.workspace_id, o.campaign_id, 'goal', '', case when o.holdout then 'holdout' else '' end,
         date_trunc('hour', o.converted_at, 'UTC'), -count(*)
  from old_rows o
  where exists (select 1 from campaigns c where c.workspace_id = o.workspace_id and c.id = o.campaign_id)
  group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create trigger report_conversions_deleted after delete on campaign_conversions
  referencing old table as old_rows for each statement execute function report_conversions_deleted();
