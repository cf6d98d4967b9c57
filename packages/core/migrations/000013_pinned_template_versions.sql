-- Pinned template versions: publishing a workflow records the version of each template its send nodes
-- use, the stepper copies that version onto each send-ledger row, and the dispatcher renders it. Editing
-- a template then changes no message of a running campaign; a re-publish pins the new version.

-- {"<template id>": <version>}, one key per template the graph's send nodes name.
alter table workflow_versions add column template_versions jsonb not null default '{}';

-- Versions published before this migration are pinned to their templates' versions as they are now:
-- their later sends keep today's content, as new campaigns' sends will keep theirs.
update workflow_versions wv set template_versions = pins.versions
from (
  select wv2.workspace_id, wv2.workflow_id, wv2.version,
         jsonb_object_agg(t.id::text, t.version) as versions
  from workflow_versions wv2
  cross join lateral (
    select distinct lower(n ->> 'templateId') as template_id
    from jsonb_array_elements(case when jsonb_typeof(wv2.graph -> 'nodes') = 'array'
                                   then wv2.graph -> 'nodes' else '[]'::jsonb end) as n
    where n ->> 'type' = 'send' and n ->> 'templateId' is not null
  ) ref
  join templates t on t.workspace_id = wv2.workspace_id and t.id::text = ref.template_id
  group by wv2.workspace_id, wv2.workflow_id, wv2.version
) pins
where wv.workspace_id = pins.workspace_id and wv.workflow_id = pins.workflow_id and wv.version = pins.version;

-- The template version a send renders; null on rows queued before this migration, and on sends
-- without a template (webhooks, ads): those render the template's current content.
alter table messages add column template_version integer;
