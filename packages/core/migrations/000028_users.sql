-- People who sign in to the web app: users, their membership (with a role) of workspaces, their browser
-- sessions and the invitations that bring new members in. Users are global (one person may belong to
-- several workspaces); everything else leads with workspace_id like every business table, except
-- sessions, which are found by their token hash alone.

-- A user's email is unique whatever its case; the application stores it lower-cased and the index makes
-- sure. `password_hash` is an argon2id PHC string.
create table users (
  id uuid primary key default gen_random_uuid(),
  email text not null check (length(email) between 3 and 320),
  name text not null check (length(name) between 1 and 200),
  password_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email on users (lower(email));

create table workspace_members (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'marketer', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (workspace_id, user_id)
);
create index workspace_members_user on workspace_members (user_id);

-- Only a SHA-256 of the session token (the cookie's value) is stored. `csrf_secret` is the token the
-- browser must echo in x-csrf-token on unsafe requests. A session ends at `expires_at` (absolute), or
-- when unused for the idle timeout (last_seen_at, touched at most once a minute), or at sign-out.
create table sessions (
  id uuid primary key default gen_random_uuid(),
  token_hash bytea not null,
  user_id uuid not null references users (id) on delete cascade,
  workspace_id uuid references workspaces (id) on delete set null,
  csrf_secret text not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create unique index sessions_token_hash on sessions (token_hash);
create index sessions_user on sessions (user_id);

-- An invitation's token is in the link it is sent with; only its SHA-256 is stored. Accepted
-- invitations are kept (accepted_at) as a record of who joined how; revoked ones are deleted.
create table invitations (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  token_hash bytea not null,
  email text not null,
  role text not null check (role in ('owner', 'admin', 'marketer', 'viewer')),
  invited_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  primary key (workspace_id, id)
);
create unique index invitations_token_hash on invitations (token_hash);
create index invitations_pending on invitations (workspace_id, created_at) where accepted_at is null;
