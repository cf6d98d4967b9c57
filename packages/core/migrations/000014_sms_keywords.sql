-- Inbound SMS and provider webhooks: the text a workspace answers HELP with, what the provider later
-- said about a sent message's delivery (a Twilio status callback, an email bounce), and an index to find
-- a ledger row by the provider's id (a Twilio MessageSid, an email's Message-ID).

-- Null: "<workspace name>: Reply STOP to opt out, START to opt back in." (responses/inbound-sms.ts).
alter table workspace_senders
  add column sms_help_text text check (length(sms_help_text) between 1 and 320);

-- `status` stays what the dispatcher recorded (`sent`: the provider took it); these say what happened next.
alter table messages
  add column delivery_status text check (delivery_status in ('delivered', 'undelivered', 'failed', 'bounced')),
  add column delivery_reason text,
  add column delivery_updated_at timestamptz;

create index messages_provider_message on messages (provider_message_id) where provider_message_id is not null;
