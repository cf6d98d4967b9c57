-- Retention's `archive` action and the `duplicates` policy.
--
-- An archived contact keeps all its data but is out of the way: audiences (segments and lists), campaign
-- launches and entries never select it, the dispatcher sends it nothing, and GET /contacts hides it
-- unless asked. `archived_at` says since when; POST /contacts/{id}/restore clears it, and so does a new
-- engagement (the trigger below). See docs/data-lifecycle.md.
alter table contacts add column archived_at timestamptz;

-- Archived contacts are few next to the others: this small index lists them (GET /contacts?archived=only)
-- and answers "is anyone here archived at all?" in one probe (the trigger below, list counts).
create index contacts_archived on contacts (workspace_id, id) where archived_at is not null;

-- A new retention kind: merge likely duplicates daily, as POST /contacts/duplicates/merge does.
alter table retention_policies drop constraint retention_policies_kind_check;
alter table retention_policies add constraint retention_policies_kind_check
  check (kind in ('outdated_prospects', 'undeliverable', 'finished_journeys', 'print_files', 'duplicates'));

-- A new engagement restores an archived contact, so that a person who comes back (opens, clicks,
-- replies, converts, or sends any custom event) is not silently left out of every audience. The events
-- count as they do for outdated_prospects: a mail scanner's open or click (properties.machine) does not.
-- Per statement, like the report trigger: when none of the batch's workspaces has an archived contact
-- (nearly always), the cost is one probe of contacts_archived per workspace in the batch.
create function restore_archived_on_engagement() returns trigger language plpgsql as $$
begin
  if not exists (
    select 1 from (select distinct workspace_id from new_rows) w
    where exists (select 1 from contacts c where c.workspace_id = w.workspace_id and c.archived_at is not null)
  ) then
    return null;
  end if;
  update contacts c set archived_at = null, updated_at = now()
  from (
    select distinct e.workspace_id, e.contact_id from new_rows e
    where e.type not like 'message.%'
       or (e.type in ('message.opened', 'message.clicked', 'message.replied', 'message.converted')
           and (e.properties -> 'machine') is distinct from 'true'::jsonb)
  ) n
  where c.workspace_id = n.workspace_id and c.id = n.contact_id and c.archived_at is not null;
  return null;
end $$;

create trigger events_restore_archived after insert on events
  referencing new table as new_rows
  for each statement execute function restore_archived_on_engagement();
