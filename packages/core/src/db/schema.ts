/** Kysely table types. Keep in step with the SQL migrations in packages/core/migrations. */
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<
  Record<string, unknown>,
  string | Record<string, unknown> | undefined,
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
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
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
}

export interface WorkspaceSendersTable {
  workspace_id: string;
  from_name: string | null;
  from_address: string;
  reply_to: string | null;
  postal_address: string;
  sms_from: string | null;
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

export interface Database {
  delivery_policies: DeliveryPoliciesTable;
  workspace_senders: WorkspaceSendersTable;
  outbox: OutboxTable;
  templates: TemplatesTable;
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
  imports: ImportsTable;
  import_chunks: ImportChunksTable;
  import_rejections: ImportRejectionsTable;
}

export type ContactRow = Selectable<ContactsTable>;
export type NewContactRow = Insertable<ContactsTable>;
export type WorkspaceRow = Selectable<WorkspacesTable>;
export type ImportRow = Selectable<ImportsTable>;
export type AudienceRow = Selectable<AudiencesTable>;
export type TemplateRow = Selectable<TemplatesTable>;
export type WorkflowRow = Selectable<WorkflowsTable>;
export type CampaignRow = Selectable<CampaignsTable>;
export type EnrollmentRow = Selectable<EnrollmentsTable>;
