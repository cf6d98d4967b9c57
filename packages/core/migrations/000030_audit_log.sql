-- The audit log: who (a member, an API key, or the system) did what to which object, and when. The API
-- writes one row per successful change made through /api/v1 and per data export
-- (packages/server/src/http/audit.ts); owners and admins read it at GET /api/v1/audit.
--
-- A row never holds a request body: only ids, the action, the status code and a few whitelisted scalar
-- details (roles, flags, counts, ids). `actor_label` is the member's email or the API key's name and
-- prefix (`default (omn_AbC123…)`) as they were when the row was written, so the row still says who
-- acted after the member left or the key was revoked; never a secret. See docs/audit-log.md.
create table audit_log (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  -- UUIDv7 made from `at`, so ids of one millisecond keep their order.
  id uuid not null,
  -- Written by the application (millisecond precision: the list's cursor is an instant and an id).
  at timestamptz not null,
  actor_kind text not null check (actor_kind in ('user', 'api_key', 'system')),
  -- A user's or an API key's id; for the system, the job's name (e.g. `retention`).
  actor_id text not null check (length(actor_id) between 1 and 100),
  actor_label text not null check (length(actor_label) <= 400),
  -- `<object type>.<verb>`, e.g. campaign.launch, contact.erase, template.update.
  action text not null check (action ~ '^[a-z_]+\.[a-z_]+$'),
  object_type text not null check (object_type ~ '^[a-z_]+$'),
  -- An id of the workspace's object (a UUID, a channel, a retention kind …); null for actions on no one
  -- object (an event batch, a merge of duplicates).
  object_id text check (length(object_id) <= 100),
  request_id text check (length(request_id) <= 100),
  status smallint,
  ip text check (length(ip) <= 64),
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object' and pg_column_size(details) <= 4096),
  primary key (workspace_id, id)
);

-- The list, newest first, and "everything that happened to this object".
create index audit_log_recent on audit_log (workspace_id, at desc, id desc);
create index audit_log_object on audit_log (workspace_id, object_type, object_id, at desc);

-- Rows are never changed: an audit entry that can be edited is not evidence. Deleting stays possible
-- (the workspace's deletion cascades; a future retention of audit rows).
create function audit_log_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log rows cannot be changed';
end;
$$;
create trigger audit_log_immutable before update on audit_log
  for each row execute function audit_log_immutable();
