-- Send-time policies per workspace and channel: quiet hours in the recipient's local time, and a
-- frequency cap across all of the workspace's campaigns. A channel with no row uses the defaults
-- (SMS: 08:00–21:00, no cap; other channels: any time, no cap).
create table delivery_policies (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  channel text not null check (channel in ('email', 'sms', 'mail', 'ads')),
  -- Allowed sending hours, local to the recipient; both null means any time. from > to spans midnight.
  allowed_from text check (allowed_from ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  allowed_to text check (allowed_to ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  -- At most cap_count messages per cap_days days per contact on this channel; null means no cap.
  cap_count integer check (cap_count > 0),
  cap_days integer check (cap_days between 1 and 365),
  cap_action text not null default 'defer' check (cap_action in ('defer', 'skip')),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, channel),
  constraint delivery_policies_hours check ((allowed_from is null) = (allowed_to is null) and (allowed_from is null or allowed_from <> allowed_to)),
  constraint delivery_policies_cap check ((cap_count is null) = (cap_days is null))
);
-- Frequency caps count a contact's recent sends.
create index messages_sent_contact on messages (workspace_id, contact_id, channel, sent_at) where status = 'sent';
