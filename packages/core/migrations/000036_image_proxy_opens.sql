-- Opens through Gmail's and Yahoo's image proxies are the reader's: the proxy fetches the pixel when the
-- message is first opened (and caches it), unlike Apple Mail Privacy Protection, which fetches every
-- pixel on delivery. They used to be flagged as machine opens (`machineReason` `image_proxy`) and left
-- out of reports; the writer no longer flags them (responses/machine-activity.ts). The opens recorded
-- before this migration are unflagged here and counted: each moves from the machine opens to the opens
-- of its campaign's report, and the first of each message becomes its unique open (unless the message
-- has one already).
select set_config('omneural.workspace_id', '*', true);
with proxied as (
  update events set properties = properties - 'machine' - 'machineReason'
  where type = 'message.opened' and properties ->> 'machineReason' = 'image_proxy'
  returning workspace_id, contact_id, properties, channel, campaign_id, occurred_at
), responses as (
  select p.workspace_id, c.id as campaign_id, coalesce(p.properties ->> 'nodeId', '') as node_id,
         coalesce(p.channel, '') as channel,
         coalesce(p.properties ->> 'messageId', 'contact:' || p.contact_id) as response_key, p.occurred_at
  from proxied p
  join campaigns c on c.workspace_id = p.workspace_id and c.id::text = p.campaign_id
), firsts as (
  insert into report_first_responses (workspace_id, campaign_id, response_key, kind, node_id, channel, at)
  select distinct on (workspace_id, campaign_id, response_key)
         workspace_id, campaign_id, response_key, 'opened', node_id, channel, occurred_at
  from responses
  order by workspace_id, campaign_id, response_key, occurred_at
  on conflict do nothing
  returning workspace_id, campaign_id, node_id, channel, at
), moves as (
  select workspace_id, campaign_id, 'responses' as metric, node_id, channel, 'machine' as segment,
         occurred_at as at, -1 as n
  from responses
  union all
  select workspace_id, campaign_id, 'responses', node_id, channel, '', occurred_at, 1 from responses
  union all
  select workspace_id, campaign_id, 'unique', node_id, channel, '', at, 1 from firsts
)
insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, segment, bucket, count)
select workspace_id, campaign_id, metric, node_id, channel, 'opened', segment, date_trunc('hour', at, 'UTC'), sum(n)
from moves group by workspace_id, campaign_id, metric, node_id, channel, segment, date_trunc('hour', at, 'UTC');
