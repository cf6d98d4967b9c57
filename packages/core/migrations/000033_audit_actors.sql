-- Two more kinds of actor in the audit log (docs/audit-log.md):
--   `cli`: an administrator's `omneural` command on the server (workspace create, import contacts);
--          actor_id is the operating-system user, actor_label `<user>@<host> (omneural CLI)`.
--   `anonymous`: someone not signed in: a failed sign-in, recorded in each workspace of the account it
--          named; actor_id is `sign-in`, actor_label the email the attempt gave (never the password).
alter table audit_log drop constraint audit_log_actor_kind_check;
alter table audit_log add constraint audit_log_actor_kind_check
  check (actor_kind in ('user', 'api_key', 'system', 'cli', 'anonymous'));
