-- Subscription topics ("email preferences": newsletter, promotions, product updates): a workspace's
-- topics, each contact's choice per topic, and the topic a campaign belongs to. A contact without a row
-- for a topic receives it (subscribed by default); `subscribed = false` makes the dispatcher skip that
-- topic's campaigns for them. Channel consent still applies on top.
create table topics (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  name text not null check (length(name) between 1 and 200),
  description text check (length(description) <= 1000),
  created_at timestamptz not null default now(),
  primary key (workspace_id, id)
);
create unique index topics_name on topics (workspace_id, lower(name));

create table contact_topics (
  workspace_id uuid not null,
  contact_id uuid not null,
  topic_id uuid not null,
  subscribed boolean not null,
  changed_at timestamptz not null default now(),
  primary key (workspace_id, contact_id, topic_id),
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade,
  foreign key (workspace_id, topic_id) references topics (workspace_id, id) on delete cascade
);
create index contact_topics_topic on contact_topics (workspace_id, topic_id);

-- Null: the campaign belongs to no topic. A topic used by a running or paused campaign cannot be
-- deleted (the API refuses); deleting one used only by finished campaigns clears their topic.
alter table campaigns add column topic_id uuid;
alter table campaigns add constraint campaigns_topic
  foreign key (workspace_id, topic_id) references topics (workspace_id, id) on delete set null (topic_id);
