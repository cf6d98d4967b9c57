-- The dev inbox: what the built-in development provider "sent", for every channel, so that a demo
-- campaign works without any provider account and the API can show exactly what went out.
create table outbox (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  -- The send-ledger row this delivers, when it came from a campaign; unique, so a retried send is
  -- recorded once.
  message_id uuid,
  channel text not null check (channel in ('email', 'sms', 'mail', 'ads', 'webhook')),
  recipient text not null,
  subject text,
  content jsonb not null,
  headers jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (workspace_id, id)
);
create unique index outbox_message on outbox (workspace_id, message_id) where message_id is not null;
create index outbox_recent on outbox (workspace_id, created_at desc);
