-- Retention policies: per workspace, the rules of the daily cleanup (outdated prospects, undeliverable
-- contacts, finished journeys' history and rendered bodies, print-batch files), and a record of every
-- run, dry or real: which policy, how many rows, when, and how it ended.

-- One row per workspace and kind of policy. `settings` holds the kind's options (retention/retention.ts
-- validates them); `max_share` is the largest share of the workspace's contacts one real run may remove
-- without `confirm: true` (a scheduled run never confirms: it stops at needs_confirmation).
create table retention_policies (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  kind text not null check (kind in ('outdated_prospects', 'undeliverable', 'finished_journeys', 'print_files')),
  enabled boolean not null default false,
  settings jsonb not null default '{}',
  max_share numeric not null default 0.2 check (max_share > 0 and max_share <= 1),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, kind)
);

-- One row per run. A real run's row is updated in the transaction of each batch, so `counts` always
-- says what is done; a run killed mid-way stays `running` and the next run of the policy continues it
-- (rows already done no longer qualify). `cursor` is the last row the run finished (progress only).
create table retention_runs (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  kind text not null,
  dry_run boolean not null,
  trigger text not null default 'api' check (trigger in ('api', 'schedule')),
  status text not null default 'running'
    check (status in ('running', 'completed', 'failed', 'needs_confirmation')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  counts jsonb not null default '{}',
  sample jsonb not null default '[]',
  batches integer not null default 0,
  cursor text,
  error text,
  primary key (workspace_id, id)
);
create index retention_runs_recent on retention_runs (workspace_id, started_at desc);
create index retention_runs_running on retention_runs (workspace_id, kind) where status = 'running';

-- No new index on contacts or enrollments: the daily run reads a workspace's contacts once, finding
-- their engagement through events_contact and their journeys through each campaign's primary key (as
-- erasure does). An index on enrollments.updated_at or state would end HOT updates of every step the
-- engine makes.

-- Print-batch files deleted by the print_files policy: the batch row (counts, cost, file name) stays.
alter table print_batches add column files_deleted_at timestamptz;
