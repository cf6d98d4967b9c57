-- Workflows and the journey engine: templates (the minimum a send node points at; the delivery feature
-- adds versions and rendering), workflow drafts and their immutable published versions, campaigns,
-- enrollments (one member's journey), their step history, and the send ledger.

create table templates (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  name text not null check (length(name) between 1 and 200),
  channel text not null check (channel in ('email', 'sms', 'mail', 'ads')),
  content jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id)
);
create unique index templates_name on templates (workspace_id, lower(name));

create table workflows (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  name text not null check (length(name) between 1 and 200),
  description text,
  -- The draft: editable, possibly invalid. Publishing copies it into workflow_versions.
  graph jsonb not null,
  latest_version integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id)
);
create unique index workflows_name on workflows (workspace_id, lower(name));

-- Published versions never change: campaigns run a pinned version.
create table workflow_versions (
  workspace_id uuid not null,
  workflow_id uuid not null,
  version integer not null check (version > 0),
  graph jsonb not null,
  published_at timestamptz not null default now(),
  primary key (workspace_id, workflow_id, version),
  foreign key (workspace_id, workflow_id) references workflows (workspace_id, id) on delete cascade
);

create table campaigns (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  name text not null check (length(name) between 1 and 200),
  audience_id uuid not null,
  workflow_id uuid not null,
  workflow_version integer not null,
  status text not null default 'draft'
    check (status in ('draft', 'running', 'paused', 'completed', 'cancelled')),
  -- Event types that can move a member (wait_for and goal nodes): an event of one of these types marks
  -- its contact's enrollments due, so the stepper re-evaluates them at once.
  wake_event_types text[] not null default '{}',
  enrolled integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  launched_at timestamptz,
  finished_at timestamptz,
  primary key (workspace_id, id),
  foreign key (workspace_id, audience_id) references audiences (workspace_id, id),
  foreign key (workspace_id, workflow_id, workflow_version)
    references workflow_versions (workspace_id, workflow_id, version)
);
create unique index campaigns_name on campaigns (workspace_id, lower(name));
create index campaigns_running on campaigns (status) where status in ('running', 'paused');

-- One member's journey through one campaign. The stepper rewrites due_at (indexed) on most steps, so
-- updates are not HOT: leave room on each page and vacuum often to keep the table and its indexes dense.
create table enrollments (
  workspace_id uuid not null,
  campaign_id uuid not null,
  contact_id uuid not null,
  node_id text not null,
  state text not null default 'active'
    check (state in ('active', 'failed', 'completed', 'converted', 'cancelled')),
  -- When the stepper should look at this member next (active only).
  due_at timestamptz,
  -- Re-entry count (1 for the first entry); part of every send's idempotency key.
  iteration integer not null default 1,
  -- Committed steps so far; a step's history row and its sends carry the number it was computed at.
  seq integer not null default 0,
  enrolled_at timestamptz not null default now(),
  node_entered_at timestamptz not null default now(),
  error text,
  updated_at timestamptz not null default now(),
  primary key (workspace_id, campaign_id, contact_id),
  -- No foreign key to campaigns (nor to contacts): a launch inserts a million rows at once, and a
  -- per-row check would cost a third of it. Enrollments are only made by the campaign code, and are
  -- removed with their campaign, workspace or contact explicitly.
  constraint enrollments_due check ((state = 'active') = (due_at is not null))
) with (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
-- The stepper's claim: due members of one campaign in due order.
create index enrollments_due on enrollments (workspace_id, campaign_id, due_at) with (fillfactor = 80)
  where state = 'active';
-- No index on contact_id: event wake-ups and erasure go from the workspace's (few) campaigns to the
-- primary key, and launch then maintains two indexes instead of three.

-- One row per committed step: what the member went through, and why. Append-only.
create table enrollment_steps (
  workspace_id uuid not null,
  campaign_id uuid not null,
  contact_id uuid not null,
  seq integer not null,
  at timestamptz not null default now(),
  worker text,
  trace jsonb not null,
  primary key (workspace_id, campaign_id, contact_id, seq)
);

-- The send ledger (the outbox): one row per member × node × iteration × step. The idempotency key is
-- unique, so no retry, resume, crash or re-launch can write a second row for the same send.
create table messages (
  workspace_id uuid not null,
  id uuid not null,
  idempotency_key text not null,
  campaign_id uuid not null,
  contact_id uuid not null,
  node_id text not null,
  channel text not null check (channel in ('email', 'sms', 'mail', 'ads', 'webhook')),
  template_id uuid,
  -- Channel-specific instructions copied from the node (ads destination, webhook url and body, retry).
  details jsonb not null default '{}',
  status text not null default 'queued',
  queued_at timestamptz not null default now(),
  primary key (workspace_id, id),
  foreign key (workspace_id, campaign_id) references campaigns (workspace_id, id) on delete cascade
);
create unique index messages_idempotency on messages (workspace_id, idempotency_key);
create index messages_queued on messages (channel, queued_at) where status = 'queued';
create index messages_contact on messages (workspace_id, contact_id, queued_at);
create index messages_campaign on messages (workspace_id, campaign_id, node_id);
