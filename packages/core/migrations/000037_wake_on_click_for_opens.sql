-- A click on an email now matches a wait for `opened` (workflows/transition.ts), so a click must wake
-- the members waiting for an open. Campaigns launched before kept the event types that wake them as
-- they were at launch: those that wait for `message.opened` also wake on `message.clicked` from now on.
select set_config('omneural.workspace_id', '*', true);
update campaigns
set wake_event_types = array(select distinct t from unnest(wake_event_types || 'message.clicked'::text) t order by t)
where 'message.opened' = any(wake_event_types) and not 'message.clicked' = any(wake_event_types);
