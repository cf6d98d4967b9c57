-- A workspace's own provider accounts. Secrets (passwords, tokens, DKIM keys) are sealed with the
-- installation's credentials key (AES-256-GCM, bound to workspace and channel) and never returned.
create table workspace_providers (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  channel text not null check (channel in ('email', 'sms', 'mail')),
  provider text not null check (provider in ('smtp', 'twilio', 'lob')),
  settings jsonb not null default '{}',
  secrets bytea,
  secret_names text[] not null default '{}',
  updated_at timestamptz not null default now(),
  primary key (workspace_id, channel)
);
