-- Ad audiences: a workspace's destinations on the ad platforms (a Meta custom audience, a Google Customer
-- Match user list, or a CSV to download and upload by hand), and who is in each. Journeys' `ads` sends add
-- and remove members; the dispatcher syncs them to the platform and keeps ad_audience_members in step.
create table ad_destinations (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  name text not null check (length(name) between 1 and 200),
  platform text not null check (platform in ('meta', 'google', 'csv')),
  -- Meta: the custom audience id. Google: the user list id (or its resource name). csv: none.
  audience_id text check (length(audience_id) <= 200),
  -- Google: the Ads account that owns the list, and the manager account to act through (digits only).
  customer_id text check (customer_id ~ '^[0-9]{1,20}$'),
  login_customer_id text check (login_customer_id ~ '^[0-9]{1,20}$'),
  -- A Graph-API- or Google-Ads-API-compatible endpoint to call instead of the platform's own; null: the
  -- platform's.
  base_url text check (length(base_url) <= 500),
  -- The access token (and Google's developer token), sealed with the instance's credentials key
  -- (AES-256-GCM, bound to "ad_destination:<workspace_id>:<id>"). Write-only: the API never returns it.
  credentials bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id),
  constraint ad_destinations_platform_fields check (
    case platform
      when 'csv' then audience_id is null and customer_id is null and login_customer_id is null
        and base_url is null and credentials is null
      when 'meta' then audience_id is not null and customer_id is null and login_customer_id is null
      else audience_id is not null and customer_id is not null
    end)
);
create unique index ad_destinations_name on ad_destinations (workspace_id, lower(name));

-- Who is in each destination audience: a row per contact ever added; removed_at set when they were taken
-- out again (and cleared when they come back). Erasing the contact or deleting the destination deletes
-- the rows.
create table ad_audience_members (
  workspace_id uuid not null,
  destination_id uuid not null,
  contact_id uuid not null,
  added_at timestamptz not null,
  removed_at timestamptz,
  -- The send-ledger row that last changed this membership.
  message_id uuid,
  primary key (workspace_id, destination_id, contact_id),
  foreign key (workspace_id, destination_id) references ad_destinations (workspace_id, id) on delete cascade,
  foreign key (workspace_id, contact_id) references contacts (workspace_id, id) on delete cascade
);
-- For the cascade when a contact is erased.
create index ad_audience_members_contact on ad_audience_members (workspace_id, contact_id);

-- The dispatcher keeps one member's changes to one destination in order: it looks for earlier ads rows of
-- the same contact and destination that are not finished yet.
create index messages_ads_pending on messages (workspace_id, contact_id, (details ->> 'destination'), queued_at)
  where channel = 'ads' and status in ('queued', 'sending');
