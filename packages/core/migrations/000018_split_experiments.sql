-- A/B experiments on split nodes: a split with an experiment sends its variants to a test share of the
-- members, waits the test window (from the first member's arrival), then picks the winner and routes the
-- rest to it. One row per experiment records its window and, once decided, the winner, why, and the
-- statistics it was chosen on; one row per member who passed the node records the variant they took and
-- in which phase, so that statistics and reports count members per variant exactly.
create table split_experiments (
  workspace_id uuid not null,
  campaign_id uuid not null,
  node_id text not null,
  status text not null default 'testing' check (status in ('testing', 'decided')),
  started_at timestamptz not null,
  -- started_at plus the test window: members who are not in the test wait until then.
  decide_at timestamptz not null,
  winner text,
  decided_at timestamptz,
  -- As a member's trace shows it, e.g. 'the winner: click rate 12.1% vs 8.0% for "a", p = 0.003'.
  reason text,
  -- {metric, confidence, comparisonConfidence, fallback, best, significant,
  --  variants: [{key, members, successes, rate, interval: {low, high}}],
  --  comparisons: [{variant, against, difference, z, pValue, significant}]}
  statistics jsonb,
  primary key (workspace_id, campaign_id, node_id),
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade,
  constraint split_experiments_decided check (
    (status = 'decided') = (winner is not null and decided_at is not null and statistics is not null))
);

create table split_assignments (
  workspace_id uuid not null,
  campaign_id uuid not null,
  node_id text not null,
  contact_id uuid not null,
  -- The enrollment's iteration (re-entry count): a member who enters again is assigned again.
  iteration integer not null,
  branch text not null,
  -- test: in the test share, by weight; rollout: sent to the winner after the decision.
  phase text not null check (phase in ('test', 'rollout')),
  at timestamptz not null,
  primary key (workspace_id, campaign_id, node_id, contact_id, iteration),
  foreign key (workspace_id, campaign_id, node_id)
    references split_experiments (workspace_id, campaign_id, node_id) on delete cascade,
  -- Erasing a contact erases their assignments.
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
);
create index split_assignments_contact on split_assignments (workspace_id, contact_id);
