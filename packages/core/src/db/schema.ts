/** Kysely table types. Keep in step with the SQL migrations in packages/core/migrations. */
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<
  Record<string, unknown>,
  string | Record<string, unknown> | undefined,
  string | Record<string, unknown>
>;
/** A jsonb column without a default: an insert must give it. */
type RequiredJson = ColumnType<
  Record<string, unknown>,
  string | Record<string, unknown>,
  string | Record<string, unknown>
>;

export type ConsentStatus = "subscribed" | "unsubscribed" | "bounced" | "complained" | "never_asked";

export interface WorkspacesTable {
  id: Generated<string>;
  name: string;
  default_country: Generated<string>;
  default_timezone: Generated<string>;
  created_at: Generated<Date>;
}

export interface ApiKeysTable {
  workspace_id: string;
  id: Generated<string>;
  name: string;
  prefix: string;
  key_hash: Buffer;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface ContactsTable {
  workspace_id: string;
  id: Generated<string>;
  external_id: string | null;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
  timezone: string | null;
  attributes: Json;
  email_consent: ColumnType<ConsentStatus, ConsentStatus | undefined, ConsentStatus>;
  sms_consent: ColumnType<ConsentStatus, ConsentStatus | undefined, ConsentStatus>;
  mail_consent: ColumnType<ConsentStatus, ConsentStatus | undefined, ConsentStatus>;
  ads_consent: ColumnType<ConsentStatus, ConsentStatus | undefined, ConsentStatus>;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** 000026: set when a retention policy anonymised the contact. */
  anonymised_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** 000027: set while the contact is archived (kept whole, but selected by no audience and sent nothing). */
  archived_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface ConsentChangesTable {
  workspace_id: string;
  id: Generated<string>;
  contact_id: string;
  channel: string;
  status: string;
  previous_status: string | null;
  source: string;
  actor: string | null;
  reason: string | null;
  changed_at: Timestamp;
}

export interface EventsTable {
  workspace_id: string;
  id: string;
  contact_id: string;
  type: string;
  properties: Json;
  occurred_at: Timestamp;
  received_at: Timestamp;
  /** Generated from properties.channel / properties.campaignId (JSON strings only). */
  channel: ColumnType<string | null, never, never>;
  campaign_id: ColumnType<string | null, never, never>;
}

/** The ids of recorded events: a replayed id is ignored (events is partitioned and cannot hold that key). */
export interface EventIdsTable {
  workspace_id: string;
  id: string;
  occurred_at: Timestamp;
}

export type ImportStatus = "receiving" | "queued" | "processing" | "completed" | "failed";

export interface ImportsTable {
  workspace_id: string;
  id: Generated<string>;
  status: ColumnType<ImportStatus, ImportStatus | undefined, ImportStatus>;
  filename: string | null;
  size_bytes: ColumnType<number, number | undefined, number>;
  options: Json;
  detected: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  total_rows: Generated<number>;
  processed_rows: Generated<number>;
  processed_bytes: ColumnType<number, number | undefined, number>;
  inserted: Generated<number>;
  updated: Generated<number>;
  rejected: Generated<number>;
  merged_duplicates: Generated<number>;
  error: string | null;
  attempt: Generated<number>;
  locked_by: string | null;
  heartbeat_at: Date | null;
  created_at: Generated<Date>;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface ImportChunksTable {
  workspace_id: string;
  import_id: string;
  seq: number;
  data: Buffer;
}

export interface ImportRejectionsTable {
  workspace_id: string;
  import_id: string;
  line_no: number;
  field: string | null;
  reason: string;
  raw: string;
}

export interface AudiencesTable {
  workspace_id: string;
  id: string;
  name: string;
  description: string | null;
  kind: "segment" | "list";
  definition: ColumnType<unknown | null, string | null, string | null>;
  listened: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ListMembersTable {
  workspace_id: string;
  list_id: string;
  contact_id: string;
  added_at: Generated<Date>;
}

export interface AudienceMembersTable {
  workspace_id: string;
  audience_id: string;
  contact_id: string;
  entered_at: Generated<Date>;
}

export interface AudienceTransitionsTable {
  workspace_id: string;
  id: Generated<string>;
  audience_id: string;
  contact_id: string;
  transition: "entered" | "left";
  cause: string;
  at: Generated<Date>;
}

export interface AudienceCountsTable {
  workspace_id: string;
  audience_id: string;
  count: number;
  computed_at: Date;
}

export interface TemplatesTable {
  workspace_id: string;
  id: string;
  name: string;
  channel: string;
  content: Json;
  /** The number of the current content's version (template_versions). */
  version: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** 000011: every content a template has had, numbered; immutable. */
export interface TemplateVersionsTable {
  workspace_id: string;
  template_id: string;
  version: number;
  content: RequiredJson;
  change: "created" | "edited" | "restored" | "backfill";
  /** Set exactly when `change` is `restored`. */
  restored_from: number | null;
  source: "api" | "ui" | "system" | null;
  actor: string | null;
  created_at: Generated<Date>;
}

/** 000011: the log of test sends, which their rate limit counts. */
export interface TemplateTestSendsTable {
  workspace_id: string;
  id: string;
  template_id: string;
  template_version: number;
  channel: "email" | "sms";
  recipient: string;
  actor: string | null;
  sent_at: Date;
  /** null until the provider answers: `sent`, or its reason for refusing. */
  outcome: string | null;
  provider_message_id: string | null;
}

export interface WorkflowsTable {
  workspace_id: string;
  id: string;
  name: string;
  description: string | null;
  graph: ColumnType<unknown, string, string>;
  latest_version: number | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface WorkflowVersionsTable {
  workspace_id: string;
  workflow_id: string;
  version: number;
  graph: ColumnType<unknown, string, string>;
  published_at: Generated<Date>;
  /** The template versions the graph's sends render: `{templateId: version}`. */
  template_versions: ColumnType<Record<string, number>, string | undefined, string>;
}

export interface CampaignsTable {
  workspace_id: string;
  id: string;
  name: string;
  audience_id: string;
  workflow_id: string;
  workflow_version: number;
  status: Generated<string>;
  wake_event_types: ColumnType<string[], string[] | undefined, string[]>;
  enrolled: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  launched_at: Date | null;
  finished_at: Date | null;
  /** 000015: the subscription topic the campaign belongs to, if any. */
  topic_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** 000016: when a `scheduled` campaign starts (null: at launch). */
  start_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** 000016: the wall-clock start in each member's timezone (both null, or both set; not with start_at). */
  start_local_date: ColumnType<string | null, string | null | undefined, string | null>;
  start_local_time: ColumnType<string | null, string | null | undefined, string | null>;
  /** 000016: when the campaign ends (null: never). */
  end_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** 000017: `once`, `continuous` or `event`. */
  entry_mode: ColumnType<string, string | undefined, string>;
  entry_event_type: ColumnType<string | null, string | null | undefined, string | null>;
  entry_where: ColumnType<unknown[], string | undefined, string>;
  /** 000017: `never`, `after` (with reentry_after_days) or `always`. */
  reentry_mode: ColumnType<string, string | undefined, string>;
  reentry_after_days: ColumnType<number | null, number | null | undefined, number | null>;
  /** 000017: the campaign's CampaignPolicies. */
  policies: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** 000017: numeric(5,2), read as a string by pg. */
  holdout_percent: ColumnType<string, number | undefined, number>;
  goal_event_type: ColumnType<string | null, string | null | undefined, string | null>;
  goal_window_days: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface EnrollmentsTable {
  workspace_id: string;
  campaign_id: string;
  contact_id: string;
  node_id: string;
  state: Generated<string>;
  due_at: Date | null;
  iteration: Generated<number>;
  seq: Generated<number>;
  enrolled_at: Generated<Date>;
  node_entered_at: Generated<Date>;
  error: string | null;
  updated_at: Generated<Date>;
  /** 000017: enrolled but never contacted (the campaign's holdout share). */
  holdout: Generated<boolean>;
  /** 000017: event entry: the event that enrolled the member this iteration. */
  trigger_event: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
}

export interface EnrollmentStepsTable {
  workspace_id: string;
  campaign_id: string;
  contact_id: string;
  seq: number;
  at: Generated<Date>;
  worker: string | null;
  trace: ColumnType<unknown, string, string>;
}

export interface MessagesTable {
  workspace_id: string;
  id: string;
  idempotency_key: string;
  campaign_id: string;
  contact_id: string;
  node_id: string;
  channel: string;
  template_id: string | null;
  details: Json;
  status: Generated<string>;
  queued_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Date | null;
  lease_until: Date | null;
  provider: string | null;
  provider_message_id: string | null;
  sent_at: Date | null;
  reason: string | null;
  /** The pinned template version this send renders; null for rows queued before pinning. */
  template_version: number | null;
  /** What the provider said after taking it (status callback, bounce); null until it says anything. */
  delivery_status: "delivered" | "undelivered" | "failed" | "bounced" | null;
  delivery_reason: string | null;
  delivery_updated_at: Date | null;
}

export interface WorkspaceSendersTable {
  workspace_id: string;
  from_name: string | null;
  from_address: string;
  reply_to: string | null;
  postal_address: string;
  sms_from: string | null;
  /** The answer to an inbound HELP; null: the default naming the workspace. */
  sms_help_text: string | null;
  updated_at: Generated<Date>;
}

export interface OutboxTable {
  workspace_id: string;
  id: string;
  message_id: string | null;
  channel: string;
  recipient: string;
  subject: string | null;
  content: Json;
  headers: Json;
  created_at: Generated<Date>;
}

export interface DeliveryPoliciesTable {
  workspace_id: string;
  channel: string;
  allowed_from: string | null;
  allowed_to: string | null;
  cap_count: number | null;
  cap_days: number | null;
  cap_action: Generated<string>;
  updated_at: Generated<Date>;
}

/** 000008: the personal URL printed on a direct-mail piece, `${PUBLIC_URL}/r/{code}`. */
export interface PurlsTable {
  workspace_id: string;
  code: string;
  message_id: string;
  contact_id: string;
  campaign_id: string;
  created_at: Generated<Date>;
}

export type PrintBatchStatus = "writing" | "written";

/** 000008: one merged PDF and CSV manifest handed to the print shop. */
export interface PrintBatchesTable {
  workspace_id: string;
  id: string;
  status: ColumnType<PrintBatchStatus, PrintBatchStatus | undefined, PrintBatchStatus>;
  cutoff_at: Date;
  file_name: string;
  pieces: number | null;
  pages: number | null;
  /** numeric(12, 2): pg returns it as a string. */
  estimated_cost: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  currency: string | null;
  pdf_path: string | null;
  manifest_path: string | null;
  created_at: Generated<Date>;
  written_at: Date | null;
}

export type PrintPieceStatus = "pending" | "batched" | "printed" | "rejected";

/** 000008: a rendered piece waiting for the next print-batch cut-off. */
export interface PrintPiecesTable {
  workspace_id: string;
  id: string;
  /** The send-ledger row; null for a piece sent outside a campaign. */
  message_id: string | null;
  idempotency_key: string;
  piece: RequiredJson;
  status: ColumnType<PrintPieceStatus, PrintPieceStatus | undefined, PrintPieceStatus>;
  batch_id: string | null;
  reason: string | null;
  created_at: Generated<Date>;
}

/** 000009: a workspace's audience on an ad platform, or a CSV to download. */
export interface AdDestinationsTable {
  workspace_id: string;
  id: string;
  name: string;
  platform: "meta" | "google" | "csv";
  audience_id: string | null;
  customer_id: string | null;
  login_customer_id: string | null;
  base_url: string | null;
  /** Sealed with the credentials key; write-only. */
  credentials: Buffer | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** 000009: who is in each ad destination; `removed_at` once taken out again. */
export interface AdAudienceMembersTable {
  workspace_id: string;
  destination_id: string;
  contact_id: string;
  added_at: Date;
  removed_at: Date | null;
  message_id: string | null;
}

/** 000010: an SMS short link, `${PUBLIC_URL}/s/{code}`. */
export interface ShortLinksTable {
  code: string;
  workspace_id: string;
  message_id: string;
  url: string;
  created_at: Generated<Date>;
}

/** 000010: addresses not to be sent to again on a channel. */
export interface SuppressionsTable {
  workspace_id: string;
  channel: "email" | "sms";
  /** Email lowercased; phone in E.164. */
  address: string;
  reason: string;
  source: "provider" | "bounce" | "complaint" | "manual";
  message_id: string | null;
  created_at: Generated<Date>;
}

/** 000012: a workspace's own provider account for a channel; secrets sealed, never returned. */
export interface WorkspaceProvidersTable {
  workspace_id: string;
  channel: "email" | "sms" | "mail";
  provider: "smtp" | "twilio" | "lob";
  settings: Json;
  secrets: Buffer | null;
  secret_names: ColumnType<string[], string[] | undefined, string[]>;
  updated_at: Generated<Date>;
}

/** 000015: a subscription topic (newsletter, promotions…): name unique per workspace, any case. */
export interface TopicsTable {
  workspace_id: string;
  id: string;
  name: string;
  description: string | null;
  created_at: Generated<Date>;
}

/** 000015: a contact's choice for a topic; no row means subscribed. */
export interface ContactTopicsTable {
  workspace_id: string;
  contact_id: string;
  topic_id: string;
  subscribed: boolean;
  changed_at: Generated<Date>;
}

/** 000028: a person who signs in to the web app; email stored lower-cased, unique in any case. */
export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** 000028: a user's membership of a workspace, with a role. */
export interface WorkspaceMembersTable {
  workspace_id: string;
  user_id: string;
  role: "owner" | "admin" | "marketer" | "viewer";
  created_at: Generated<Date>;
}

/** 000028: a browser session; only the token's SHA-256 is stored. */
export interface SessionsTable {
  id: Generated<string>;
  token_hash: Buffer;
  user_id: string;
  workspace_id: string | null;
  csrf_secret: string;
  created_at: Generated<Date>;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
}

/** 000028: an invitation to join a workspace; only the token's SHA-256 is stored. */
export interface InvitationsTable {
  workspace_id: string;
  id: Generated<string>;
  token_hash: Buffer;
  email: string;
  role: "owner" | "admin" | "marketer" | "viewer";
  invited_by: string | null;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  accepted_at: Date | null;
}

/** 000030: who did what to which object, and when (docs/audit-log.md). Never a request body. */
export interface AuditLogTable {
  workspace_id: string;
  id: string;
  at: Date;
  /** 000033 adds `cli` and `anonymous`. */
  actor_kind: "user" | "api_key" | "system" | "cli" | "anonymous";
  actor_id: string;
  actor_label: string;
  action: string;
  object_type: string;
  object_id: string | null;
  request_id: string | null;
  status: number | null;
  ip: string | null;
  details: Json;
}

/** 000031: a workspace's OpenID Connect identity provider (docs/sso.md); the secret is sealed. */
export interface SsoConfigsTable {
  workspace_id: string;
  slug: string;
  issuer: string;
  client_id: string;
  client_secret: Buffer;
  default_role: "admin" | "marketer" | "viewer";
  sso_required: boolean;
  allowed_domains: ColumnType<string[], string[] | undefined, string[]>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** 000031: a session signed in by a workspace's identity provider, bound to that workspace. */
export interface SsoSessionsTable {
  workspace_id: string;
  session_id: string;
  user_id: string;
  created_at: Generated<Date>;
}

export interface Database {
  delivery_policies: DeliveryPoliciesTable;
  workspace_senders: WorkspaceSendersTable;
  outbox: OutboxTable;
  templates: TemplatesTable;
  template_versions: TemplateVersionsTable;
  template_test_sends: TemplateTestSendsTable;
  workflows: WorkflowsTable;
  workflow_versions: WorkflowVersionsTable;
  campaigns: CampaignsTable;
  enrollments: EnrollmentsTable;
  enrollment_steps: EnrollmentStepsTable;
  messages: MessagesTable;
  audiences: AudiencesTable;
  list_members: ListMembersTable;
  audience_members: AudienceMembersTable;
  audience_transitions: AudienceTransitionsTable;
  audience_counts: AudienceCountsTable;
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
  contacts: ContactsTable;
  consent_changes: ConsentChangesTable;
  events: EventsTable;
  event_ids: EventIdsTable;
  imports: ImportsTable;
  import_chunks: ImportChunksTable;
  import_rejections: ImportRejectionsTable;
  purls: PurlsTable;
  print_batches: PrintBatchesTable;
  print_pieces: PrintPiecesTable;
  ad_destinations: AdDestinationsTable;
  ad_audience_members: AdAudienceMembersTable;
  short_links: ShortLinksTable;
  suppressions: SuppressionsTable;
  workspace_providers: WorkspaceProvidersTable;
  topics: TopicsTable;
  contact_topics: ContactTopicsTable;
  users: UsersTable;
  workspace_members: WorkspaceMembersTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  audit_log: AuditLogTable;
  sso_configs: SsoConfigsTable;
  sso_sessions: SsoSessionsTable;
}

export type ContactRow = Selectable<ContactsTable>;
export type NewContactRow = Insertable<ContactsTable>;
export type WorkspaceRow = Selectable<WorkspacesTable>;
export type ImportRow = Selectable<ImportsTable>;
export type AudienceRow = Selectable<AudiencesTable>;
export type TemplateRow = Selectable<TemplatesTable>;
export type TemplateVersionRow = Selectable<TemplateVersionsTable>;
export type WorkflowRow = Selectable<WorkflowsTable>;
export type CampaignRow = Selectable<CampaignsTable>;
export type TopicRow = Selectable<TopicsTable>;
export type EnrollmentRow = Selectable<EnrollmentsTable>;
