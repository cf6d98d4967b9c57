-- The number (or alphanumeric sender id) SMS is sent from.
alter table workspace_senders add column sms_from text check (sms_from ~ '^(\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11}|MG[0-9a-f]{32})$');
