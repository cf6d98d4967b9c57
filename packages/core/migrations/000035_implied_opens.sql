-- A click on an email proves it was opened: reports count the email's first human click as an open too,
-- when no open came before it (a mail client that blocks images never loads the pixel). This is how the
-- major email services count opens, and it keeps a report from showing more clicks than opens. Only
-- email has opens; machine clicks (scanners) imply nothing. `responses` (every event) is unchanged: the
-- implied open is a first response, not an event.
create or replace function report_events_inserted() returns trigger language plpgsql as $$
begin
  with named as materialized (
    select distinct workspace_id, campaign_id from new_rows
    where campaign_id is not null and type like 'message.%'
  ), shaped as materialized (
    -- A campaignId that is not a uuid (an API client's own property) is simply not a campaign.
    select workspace_id, campaign_id,
           case when campaign_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                then campaign_id::uuid end as id
    from named
  ), campaigns_of as materialized (
    select s.workspace_id, s.campaign_id, s.id from shaped s
    join campaigns c on c.workspace_id = s.workspace_id and c.id = s.id
  ), responses as (
    select e.workspace_id, k.id as campaign_id, substr(e.type, 9) as kind,
           coalesce(e.properties ->> 'nodeId', '') as node_id, coalesce(e.channel, '') as channel,
           coalesce(e.properties ->> 'messageId', 'contact:' || e.contact_id) as response_key,
           coalesce(e.properties ->> 'machine' = 'true', false) as machine, e.occurred_at
    from new_rows e
    join campaigns_of k on k.workspace_id = e.workspace_id and k.campaign_id = e.campaign_id
    where e.type like 'message.%'
  ), human as (
    select workspace_id, campaign_id, response_key, kind, node_id, channel, occurred_at
    from responses where not machine
    union all
    select workspace_id, campaign_id, response_key, 'opened', node_id, channel, occurred_at
    from responses where not machine and kind = 'clicked' and channel = 'email'
  ), firsts as (
    insert into report_first_responses (workspace_id, campaign_id, response_key, kind, node_id, channel, at)
    select distinct on (workspace_id, campaign_id, response_key, kind)
           workspace_id, campaign_id, response_key, kind, node_id, channel, occurred_at
    from human
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

-- The emails clicked before this migration without an open: their open, at the first click's time.
-- Every workspace's rows (row-level security is forced, and owners that are not superusers obey it).
select set_config('omneural.workspace_id', '*', true);
with implied as (
  insert into report_first_responses (workspace_id, campaign_id, response_key, kind, node_id, channel, at)
  select workspace_id, campaign_id, response_key, 'opened', node_id, channel, at
  from report_first_responses
  where kind = 'clicked' and channel = 'email'
  on conflict do nothing
  returning workspace_id, campaign_id, node_id, channel, at
)
insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, count)
select workspace_id, campaign_id, 'unique', node_id, channel, 'opened', '', date_trunc('hour', at, 'UTC'), count(*)
from implied group by 1, 2, 4, 5, 8;
