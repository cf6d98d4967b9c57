-- The dispatcher: what happens to a send-ledger row after the engine queues it, and the sender identity
-- a workspace needs before it may send marketing email.
--
-- messages.status: queued → sending → sent | failed | skipped | unknown; a retryable failure goes back
-- to queued with next_attempt_at; cancel turns queued rows cancelled. `sending` carries a lease: a row
-- whose lease ran out was being sent by a process that died, and becomes `unknown` (or queued again
-- where the provider takes an idempotency key).
alter table messages
  add column attempts integer not null default 0,
  add column next_attempt_at timestamptz,
  add column lease_until timestamptz,
  add column provider text,
  add column provider_message_id text,
  add column sent_at timestamptz,
  add column reason text;
drop index messages_queued;
create index messages_dispatch on messages (channel, (coalesce(next_attempt_at, queued_at)))
  where status = 'queued';
create index messages_sending on messages (lease_until) where status = 'sending';

-- Who marketing email comes from, and the postal address its footer must carry (CAN-SPAM).
create table workspace_senders (
  workspace_id uuid primary key references workspaces (id) on delete cascade,
  from_name text check (length(from_name) <= 200),
  from_address text not null check (from_address ~ '^[^@\s]+@[^@\s]+$'),
  reply_to text check (reply_to ~ '^[^@\s]+@[^@\s]+$'),
  postal_address text not null check (length(postal_address) between 5 and 500),
  updated_at timestamptz not null default now()
);
