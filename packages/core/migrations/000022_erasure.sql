-- GDPR erasure: erasing a contact removes every row that names them, in one transaction, and keeps three
-- things only: the campaign reports' anonymised counts, suppression tombstones of the addresses that
-- must never be contacted again, and one erasure-log line that says an erasure happened but not whose.

-- Tombstones. When an erased contact's email or phone was suppressed, or its consent on that channel
-- was unsubscribed, bounced or complained, the address stays on the suppression list as
-- 'hmac-sha256:<64 hex digits>': HMAC-SHA256 of '<workspace id>:<address>' (email lower case, phone
-- E.164) under the instance's tombstone key, derived from SECRET_KEY (security/keys.ts). The dispatcher
-- and contact creation hash the addresses they meet the same way, so the person is never contacted
-- again; the database alone cannot tell whose address it was. The prefix keeps plain and hashed rows
-- apart in the one `address` column (no email has it; no phone starts with a letter), and this check
-- keeps every erasure row hashed and every hashed row an erasure's.
alter table suppressions drop constraint suppressions_source_check;
alter table suppressions add constraint suppressions_source_check
  check (source in ('provider', 'bounce', 'complaint', 'manual', 'erasure'));
alter table suppressions add constraint suppressions_tombstone_hashed
  check ((source = 'erasure') = (address ~ '^hmac-sha256:[0-9a-f]{64}$'));

-- One row per erasure. `id` is random (never the contact's id); `counts` the rows removed or
-- anonymised per kind, as the API answered them; `source` and `actor` say who asked (the API key, or
-- the system), never who was erased.
create table erasure_log (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  erased_at timestamptz not null default now(),
  source text not null,
  actor text,
  counts jsonb not null,
  tombstones integer not null default 0,
  primary key (workspace_id, id)
);
create index erasure_log_recent on erasure_log (workspace_id, erased_at desc);

-- Erasure removes a contact's print pieces by their ledger rows (the cascade from messages did this
-- with a scan of the whole table per row).
create index print_pieces_message on print_pieces (workspace_id, message_id) where message_id is not null;

-- Reports keep an erased member's counts: a row removed by an erasure is not a row that never was. The
-- erasure transaction sets omneural.keep_report_counts to 'on', and these delete triggers (otherwise as
-- in 000021) then leave the rollups as they are. Anything else that deletes still subtracts.
create or replace function report_messages_deleted() returns trigger language plpgsql as $$
begin
  if coalesce(current_setting('omneural.keep_report_counts', true), '') = 'on' then
    return null;
  end if;
  -- A deleted campaign's rows go with it (the cascade removes its report too): count only the rest.
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, channel, dim, bucket, count)
  select o.workspace_id, o.campaign_id, 'messages', o.node_id, o.channel, o.status || '|' || report_reason(o.reason),
         date_trunc('hour', now(), 'UTC'), -count(*)
  from old_rows o
  where exists (select 1 from campaigns c where c.workspace_id = o.workspace_id and c.id = o.campaign_id)
  group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create or replace function report_enrollments_deleted() returns trigger language plpgsql as $$
begin
  if coalesce(current_setting('omneural.keep_report_counts', true), '') = 'on' then
    return null;
  end if;
  insert into report_deltas (workspace_id, campaign_id, metric, node_id, dim, segment, bucket, count)
  select o.workspace_id, o.campaign_id, 'members', o.node_id, o.state, case when o.holdout then 'holdout' else '' end,
         date_trunc('hour', now(), 'UTC'), -count(*)
  from old_rows o
  where exists (select 1 from campaigns c where c.workspace_id = o.workspace_id and c.id = o.campaign_id)
  group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;

create or replace function report_conversions_deleted() returns trigger language plpgsql as $$
begin
  if coalesce(current_setting('omneural.keep_report_counts', true), '') = 'on' then
    return null;
  end if;
  insert into report_deltas (workspace_id, campaign_id, metric, dim, segment, bucket, count)
  select o.workspace_id, o.campaign_id, 'goal', '', case when o.holdout then 'holdout' else '' end,
         date_trunc('hour', o.converted_at, 'UTC'), -count(*)
  from old_rows o
  where exists (select 1 from campaigns c where c.workspace_id = o.workspace_id and c.id = o.campaign_id)
  group by 1, 2, 3, 4, 5, 6;
  return null;
end $$;
