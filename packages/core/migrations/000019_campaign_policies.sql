-- Campaign policies, holdout and goal at work (the settings themselves are in 000017): the dispatcher
-- counts a campaign's recent sends per channel for its throughput limit, event ingestion finds the
-- campaigns whose goal an event is, and each member's first goal event within the conversion window of
-- their entry is kept, holdout and treatment alike, to measure lift.

-- Throughput limits count a campaign's messages per channel sent in the last hour or being sent now
-- (`sending` rows have no sent_at yet: they sit at the index's null end).
create index messages_campaign_sent on messages (workspace_id, campaign_id, channel, sent_at)
  where status in ('sent', 'sending');

-- An event is a conversion for the campaigns whose goal is its type.
create index campaigns_goal on campaigns (workspace_id, goal_event_type) where goal_event_type is not null;

-- One row per enrollment (member × iteration) that reached the campaign's goal: its first goal event
-- within goal_window_days of enrolled_at. `holdout` is copied from the enrollment so that lift is one
-- grouped count.
create table campaign_conversions (
  workspace_id uuid not null,
  campaign_id uuid not null,
  contact_id uuid not null,
  iteration integer not null,
  event_id text not null,
  holdout boolean not null,
  converted_at timestamptz not null,
  primary key (workspace_id, campaign_id, contact_id, iteration),
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade,
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
);
