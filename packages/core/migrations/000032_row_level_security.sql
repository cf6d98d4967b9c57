-- Row-level security: a second wall behind the services' own `where workspace_id = …`.
--
-- Every table with a `workspace_id` column (and `workspaces` itself, by `id`) gets row-level security
-- enabled and forced, with one policy, `workspace_isolation`: a row is visible and writable only when
-- the setting `omneural.workspace_id` names its workspace, or is '*' (code that works across workspaces
-- by design: the worker, tracking, the CLI). A connection with the setting unset, empty or anything else
-- sees no row at all.
--
-- Authenticated API requests connect as the role `omneural_app`, which owns nothing and has no
-- BYPASSRLS, with the setting fixed to the request's workspace (packages/core/src/db/tenancy.ts).
-- Migrations and cross-workspace work run as the database owner. A superuser bypasses row-level
-- security whatever the policies say: production installs should own the schema with an ordinary role.
--
-- `omneural_protect_tenant_tables()` protects every table that is not yet protected; migrate.ts runs it
-- after each batch of migrations, so a table added later cannot be forgotten (a test checks it too).

-- The application role. Roles belong to the whole cluster: several databases (tests, staging) share it,
-- and may race to create it.
do $$
begin
  if not exists (select from pg_roles where rolname = 'omneural_app') then
    begin
      create role omneural_app nologin;
    exception when duplicate_object or unique_violation then
      null;
    end;
  end if;
  -- The owner connects and switches to it (`SET ROLE`), which needs membership unless it is a superuser.
  if not (select rolsuper from pg_roles where rolname = current_user)
     and not pg_has_role(current_user, 'omneural_app', 'member') then
    execute format('grant omneural_app to %I', current_user);
  end if;
end $$;

grant usage on schema public to omneural_app;
grant select, insert, update, delete on all tables in schema public to omneural_app;
grant usage, select on all sequences in schema public to omneural_app;
-- Tables, sequences and schemas the owner creates later (migrations, event partitions, graphile-worker's
-- own schema, which API requests write jobs into) are granted as they are made.
alter default privileges grant select, insert, update, delete on tables to omneural_app;
alter default privileges grant usage, select on sequences to omneural_app;
alter default privileges grant usage on schemas to omneural_app;
do $$
begin
  if exists (select from pg_namespace where nspname = 'graphile_worker') then
    grant usage on schema graphile_worker to omneural_app;
    grant select, insert, update, delete on all tables in schema graphile_worker to omneural_app;
    grant usage, select on all sequences in schema graphile_worker to omneural_app;
  end if;
end $$;
-- Imports stage rows in tables of their own.
grant create on schema public to omneural_app;

-- The workspace a connection is limited to; null when it is not limited to one (unset, '*', garbage).
create function omneural_workspace() returns uuid
language sql stable parallel safe as $$
  select case
    when current_setting('omneural.workspace_id', true) ~ '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'
    then current_setting('omneural.workspace_id', true)::uuid
  end
$$;

-- Whether the connection works across workspaces.
create function omneural_all_workspaces() returns boolean
language sql stable parallel safe as $$
  select coalesce(current_setting('omneural.workspace_id', true) = '*', false)
$$;

-- Enables and forces row-level security on one table with its workspace policy (idempotent).
create function omneural_protect_table(rel regclass, key_column text default 'workspace_id') returns void
language plpgsql as $$
begin
  execute format('alter table %s enable row level security', rel);
  execute format('alter table %s force row level security', rel);
  execute format('drop policy if exists workspace_isolation on %s', rel);
  execute format(
    'create policy workspace_isolation on %s
       using (public.omneural_all_workspaces() or %I = public.omneural_workspace())
       with check (public.omneural_all_workspaces() or %I = public.omneural_workspace())',
    rel, key_column, key_column);
  execute format('grant select, insert, update, delete on %s to omneural_app', rel);
end $$;

-- Protects every table of this schema that has a workspace_id column and no policy yet (partitions
-- included: a query naming a partition directly does not go through its parent's policy). Returns how
-- many it protected.
create function omneural_protect_tenant_tables() returns integer
language plpgsql as $$
declare
  t record;
  n integer := 0;
begin
  for t in
    select c.oid::regclass as rel
      from pg_class c
      join pg_namespace ns on ns.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped
     where ns.nspname = 'public'
       and c.relkind in ('r', 'p')
       and not (c.relrowsecurity and c.relforcerowsecurity
                and exists (select from pg_policy p where p.polrelid = c.oid and p.polname = 'workspace_isolation'))
  loop
    perform public.omneural_protect_table(t.rel);
    n := n + 1;
  end loop;
  return n;
end $$;

select omneural_protect_tenant_tables();
select omneural_protect_table('workspaces', 'id');

-- New event partitions are protected as they are made.
create or replace function omneural_create_event_partition(month_start timestamptz) returns boolean
language plpgsql as $$
declare
  lo timestamptz := public.omneural_month_start(month_start);
  hi timestamptz := public.omneural_month_start(lo + interval '40 days');
  part text := 'events_' || to_char(lo at time zone 'UTC', 'YYYY_MM');
begin
  if to_regclass(part) is not null then
    return false;
  end if;
  execute format('create table %I (like events including defaults including generated)', part);
  perform public.omneural_protect_table(part::regclass);
  -- Rows of this month already in the default partition move first: a partition cannot be attached
  -- while the default one holds rows of its range. Inserting into the partition table directly fires
  -- none of the statement triggers of `events`: these rows were counted when they arrived.
  execute format(
    'with moved as (delete from events_default where occurred_at >= %L and occurred_at < %L
                    returning workspace_id, id, contact_id, type, properties, occurred_at, received_at)
     insert into %I (workspace_id, id, contact_id, type, properties, occurred_at, received_at)
     select * from moved', lo, hi, part);
  execute format('alter table events attach partition %I for values from (%L) to (%L)', part, lo, hi);
  return true;
end $$;

-- Requests queue jobs (imports, audience refreshes, campaign entry) in their own transactions, as the
-- application role. graphile-worker keeps its tables to their owner (row-level security with no policy),
-- so they queue through this function, which runs as the owner. plpgsql, because graphile-worker's
-- schema may not exist yet: the worker creates it when it first starts.
create function omneural_add_job(
  identifier text,
  payload json default null,
  job_key text default null,
  job_key_mode text default 'replace',
  max_attempts integer default null
) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform graphile_worker.add_job(
    identifier,
    payload,
    job_key := job_key,
    job_key_mode := coalesce(job_key_mode, 'replace'),
    max_attempts := max_attempts);
end $$;
revoke all on function omneural_add_job(text, json, text, text, integer) from public;
grant execute on function omneural_add_job(text, json, text, text, integer) to omneural_app;
