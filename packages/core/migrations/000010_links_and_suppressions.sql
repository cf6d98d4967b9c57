-- SMS short links: the 22-character code in `${PUBLIC_URL}/s/<code>` and the URL it leads to. The code is
-- an HMAC of the message and URL, so a retried send writes the same row again.
create table short_links (
  code text primary key check (length(code) between 16 and 64),
  workspace_id uuid not null references workspaces (id) on delete cascade,
  message_id uuid not null,
  url text not null check (length(url) <= 2000),
  created_at timestamptz not null default now()
);
create index short_links_message on short_links (workspace_id, message_id);

-- Addresses that must not be sent to again on a channel: a provider refused them for good (unknown
-- mailbox, invalid or unreachable number), or they bounced hard or complained. The dispatcher skips
-- them with the recorded reason.
create table suppressions (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  channel text not null check (channel in ('email', 'sms')),
  -- Email lowercased; phone in E.164.
  address text not null,
  reason text not null,
  source text not null check (source in ('provider', 'bounce', 'complaint', 'manual')),
  message_id uuid,
  created_at timestamptz not null default now(),
  primary key (workspace_id, channel, address)
);
