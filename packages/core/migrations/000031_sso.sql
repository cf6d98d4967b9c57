-- Single sign-on (OpenID Connect) per workspace: the identity provider a workspace signs its members in
-- with, and which browser sessions that provider signed in. See docs/sso.md.

-- One identity provider per workspace. `slug` is the short name people type on the sign-in page
-- (unique in the installation, lower case). `client_secret` is sealed with the credentials key
-- (AES-256-GCM, security/keys.ts, bound to the workspace): the API never answers it. `default_role` is
-- the role of members created on their first SSO sign-in: never owner. With `sso_required`, members
-- other than owners can no longer sign in to the workspace with a password. `allowed_domains`, when not
-- empty, limits SSO sign-in to emails of those domains (lower case; a provider such as Google with
-- "External" users vouches for anyone's address).
create table sso_configs (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  slug text not null check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  issuer text not null check (length(issuer) between 8 and 2000),
  client_id text not null check (length(client_id) between 1 and 500),
  client_secret bytea not null,
  default_role text not null default 'marketer' check (default_role in ('admin', 'marketer', 'viewer')),
  sso_required boolean not null default false,
  allowed_domains text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id)
);
create unique index sso_configs_slug on sso_configs (slug);

-- A session the workspace's identity provider signed in. Such a session only ever acts in that
-- workspace (it cannot switch to another of the user's workspaces): another workspace's provider must
-- not vouch for access to this one. A session without a row here was signed in with a password.
-- workspace_id has no foreign key on purpose: were the workspace deleted, the row must stay (until its
-- session goes) so that the session is still known as bound to it, and ended rather than moved on.
create table sso_sessions (
  workspace_id uuid not null,
  session_id uuid not null references sessions (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (workspace_id, session_id)
);
create unique index sso_sessions_session on sso_sessions (session_id);
