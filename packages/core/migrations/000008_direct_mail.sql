-- Direct mail: the personal URL (PURL) printed on each piece, and the print-batch provider's pieces
-- waiting for the daily cut-off and the batches it produced.
--
-- print_pieces.status: pending (recorded by the dispatcher) → batched (claimed by a print batch, whose
-- files are being written) → printed | rejected. A piece belongs to at most one batch, so a cut-off run
-- twice, or resumed after a crash, never prints a piece twice.

-- `${PUBLIC_URL}/r/{code}`: a code short enough to type from paper, one per send-ledger row (a retry of
-- the row reuses it). The code alone finds the row, so it is unique across workspaces.
create table purls (
  workspace_id uuid not null,
  code text not null check (code ~ '^[0-9A-HJKMNP-TV-Z]{10}$'),
  message_id uuid not null,
  contact_id uuid not null,
  campaign_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (workspace_id, code),
  foreign key (workspace_id, message_id) references messages (workspace_id, id) on delete cascade
);
create unique index purls_code on purls (code);
create unique index purls_message on purls (workspace_id, message_id);

-- One merged PDF and CSV manifest handed to the print shop. `writing` until both files are in place
-- and its pieces are marked; a batch left `writing` by a crash is written again, with the same pieces,
-- under the same file names.
create table print_batches (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  status text not null default 'writing' check (status in ('writing', 'written')),
  -- The cut-off this batch closed: it holds the pieces recorded up to this moment.
  cutoff_at timestamptz not null,
  file_name text not null,
  pieces integer,
  pages integer,
  estimated_cost numeric(12, 2),
  currency text,
  pdf_path text,
  manifest_path text,
  created_at timestamptz not null default now(),
  written_at timestamptz,
  primary key (workspace_id, id)
);
create index print_batches_writing on print_batches (created_at) where status = 'writing';

-- A rendered piece as the dispatcher handed it to the print-batch provider (the piece's JSON: layout,
-- address, return address, body, PURL), waiting for the next cut-off.
create table print_pieces (
  workspace_id uuid not null references workspaces (id) on delete cascade,
  id uuid not null,
  -- The send-ledger row; null for a piece sent outside a campaign.
  message_id uuid,
  idempotency_key text not null,
  piece jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'batched', 'printed', 'rejected')),
  batch_id uuid,
  reason text,
  created_at timestamptz not null default now(),
  primary key (workspace_id, id),
  foreign key (workspace_id, message_id) references messages (workspace_id, id) on delete cascade,
  foreign key (workspace_id, batch_id) references print_batches (workspace_id, id)
);
create unique index print_pieces_key on print_pieces (workspace_id, idempotency_key);
create index print_pieces_pending on print_pieces (workspace_id, created_at) where status = 'pending';
create index print_pieces_batch on print_pieces (workspace_id, batch_id) where batch_id is not null;
