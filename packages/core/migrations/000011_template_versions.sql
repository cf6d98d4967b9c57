-- Template versions: every change of a template's content makes an immutable numbered version, so that
-- an edit can be undone (restore makes a new version with an old content), and a send can name the
-- content it was rendered from. `templates.content` stays the current content and `templates.version`
-- its number. Also the log of test sends, which their rate limit counts.

alter table templates add column version integer not null default 1 check (version > 0);

create table template_versions (
  workspace_id uuid not null,
  template_id uuid not null,
  version integer not null check (version > 0),
  content jsonb not null,
  -- What made it: the template's creation, an edit, a restore of `restored_from`, or this migration.
  change text not null check (change in ('created', 'edited', 'restored', 'backfill')),
  restored_from integer,
  -- Who made it, as in consent_changes: the channel of the request and the API key, when known.
  source text check (source in ('api', 'ui', 'system')),
  actor text,
  created_at timestamptz not null default now(),
  primary key (workspace_id, template_id, version),
  check ((change = 'restored') = (restored_from is not null)),
  foreign key (workspace_id, template_id) references templates (workspace_id, id) on delete cascade
);

-- Every existing template's content is its version 1.
insert into template_versions (workspace_id, template_id, version, content, change, created_at)
select workspace_id, id, 1, content, 'backfill', updated_at from templates;

-- Test sends: rendered and sent at once to one address, outside the send ledger and frequency caps.
-- Kept (without their content) to rate-limit them per workspace and to show who tested what where.
-- No foreign key to the template: deleting one must not reset the workspace's rate limit.
create table template_test_sends (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  template_id uuid not null,
  template_version integer not null,
  channel text not null check (channel in ('email', 'sms')),
  recipient text not null,
  actor text,
  sent_at timestamptz not null,
  -- null until the provider answers: `sent`, or its reason for refusing.
  outcome text,
  provider_message_id text,
  primary key (workspace_id, id)
);
create index template_test_sends_recent on template_test_sends (workspace_id, sent_at desc);
