/**
 * The campaign core: a campaign joins an audience and a pinned workflow version. Launch enrolls the
 * audience set-based; pause, resume, cancel and retry change state in one statement each. Every action
 * is idempotent: repeating it changes nothing more.
 */
import type {
  Campaign,
  CampaignCreate,
  CampaignMessage,
  Enrollment,
  LedgerMessage,
} from "@omneural/contracts/workflows";
import { findAudience } from "../audiences/audience.repository.ts";
import { compileForWorkspace } from "../audiences/audience.service.ts";
import { listenInTransaction } from "../audiences/membership.ts";
import { findContactById } from "../contacts/contact.repository.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import type { CampaignRow } from "../db/schema.ts";
import { loadWorkflowVersion } from "../engine/stepper.ts";
import { AppError, notFound, validationFailed } from "../shared/errors.ts";
import { uuidv7 } from "../shared/ids.ts";
import { afterIdOf, cleanName, pageOf } from "../shared/pagination.ts";
import { findTemplatesByIds } from "../templates/template.repository.ts";
import { referencedTemplateIds } from "../workflows/workflow-validation.ts";
import {
  analyzeEnrollments,
  cancelEnrollments,
  countMessagesByChannelAndStatus,
  countsByNodeAndState,
  enrollContact,
  enrollWhere,
  findCampaign,
  findCampaignByName,
  findEnrollment,
  insertCampaign,
  listCampaignMessages,
  listCampaigns,
  listEnrollmentMessages,
  listEnrollmentSteps,
  retryFailedEnrollments,
  setCampaignStatus,
} from "./campaign.repository.ts";
import { resolveCampaignReferences } from "./campaign-references.ts";
import { assertEntryLaunchable } from "./entry.ts";
import { checkSchedule } from "./schedule.ts";
import { checkSettings, settingsOf } from "./settings.ts";

/** Launches that enroll at least this many members refresh the planner's statistics of enrollments. */
const ANALYZE_AFTER_ENROLLING = 10_000;

export function toCampaign(row: CampaignRow): Campaign {
  return {
    id: row.id,
    name: row.name,
    audienceId: row.audience_id,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    topicId: row.topic_id,
    status: row.status as Campaign["status"],
    enrolled: row.enrolled,
    createdAt: row.created_at.toISOString(),
    launchedAt: row.launched_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    startAt: row.start_at?.toISOString() ?? null,
    startLocal:
      row.start_local_date && row.start_local_time
        ? { date: row.start_local_date, time: row.start_local_time.slice(0, 5) }
        : null,
    endAt: row.end_at?.toISOString() ?? null,
    ...settingsOf(row),
  };
}

async function requireCampaign(
  db: Executor,
  ws: Pick<WorkspaceContext, "id">,
  id: string,
  forUpdate = false,
) {
  const row = await findCampaign(db, ws.id, id, forUpdate);
  if (!row) throw notFound("campaign", id);
  return row;
}

function conflict(message: string): AppError {
  return new AppError("CONFLICT", message);
}

export async function createCampaign(
  db: Db,
  ws: WorkspaceContext,
  input: CampaignCreate,
  now = new Date(),
): Promise<Campaign> {
  const name = cleanName(input.name);
  const { schedule, problems } = checkSchedule(input, now);
  const { settings, problems: settingProblems } = checkSettings(input);
  problems.push(...settingProblems);
  if (problems.length > 0) throw validationFailed(problems);
  return db.transaction().execute(async (trx) => {
    if (await findCampaignByName(trx, ws.id, name)) {
      throw new AppError("CONFLICT", `a campaign named "${name}" already exists`, {
        errors: [{ field: "name", message: "is already used by another campaign" }],
      });
    }
    const refs = await resolveCampaignReferences(trx, ws.id, input);
    const row = await insertCampaign(trx, {
      workspaceId: ws.id,
      id: uuidv7(),
      name,
      audienceId: input.audienceId,
      workflowId: refs.workflowId,
      workflowVersion: refs.version,
      wakeEventTypes: refs.wakeEventTypes,
      topicId: refs.topicId,
      ...schedule,
      settings,
    });
    return toCampaign(row);
  });
}

export async function listCampaignsPage(
  db: Db,
  ws: WorkspaceContext,
  query: { limit?: number; cursor?: string; status?: string | string[] },
) {
  const limit = query.limit ?? 50;
  const statuses = query.status === undefined ? undefined : [query.status].flat();
  const rows = await listCampaigns(db, ws.id, limit + 1, afterIdOf(query.cursor), statuses);
  return pageOf(rows, limit, toCampaign);
}

export async function getCampaign(db: Db, ws: WorkspaceContext, id: string) {
  const row = await requireCampaign(db, ws, id);
  const counts = await countsByNodeAndState(db, ws.id, id);
  const byState: Record<string, number> = {};
  for (const c of counts) byState[c.state] = (byState[c.state] ?? 0) + c.count;
  const messages: Record<string, Record<string, number>> = {};
  for (const m of await countMessagesByChannelAndStatus(db, ws.id, id)) {
    messages[m.channel] = { ...messages[m.channel], [m.status]: Number(m.count) };
  }
  return {
    ...toCampaign(row),
    counts: {
      byState,
      byNode: counts.map((c) => ({ nodeId: c.node_id, state: c.state, count: c.count })),
      messages,
    },
  };
}

type LedgerRow = Omit<
  Awaited<ReturnType<typeof listCampaignMessages>>[number],
  "c_id" | "c_email" | "c_phone" | "c_first_name" | "c_last_name"
>;
type CampaignMessageRow = Awaited<ReturnType<typeof listCampaignMessages>>[number];

function toCampaignMessage(m: CampaignMessageRow): CampaignMessage {
  const name = [m.c_first_name, m.c_last_name].filter(Boolean).join(" ");
  return {
    ...toLedgerMessage(m),
    contact: m.c_id ? { email: m.c_email, phone: m.c_phone, name: name || null } : null,
  };
}

function toLedgerMessage(m: LedgerRow): LedgerMessage {
  return {
    id: m.id,
    idempotencyKey: m.idempotency_key,
    contactId: m.contact_id,
    nodeId: m.node_id,
    channel: m.channel,
    templateId: m.template_id,
    status: m.status,
    reason: m.reason,
    attempts: m.attempts,
    provider: m.provider,
    providerMessageId: m.provider_message_id,
    queuedAt: m.queued_at.toISOString(),
    nextAttemptAt: m.next_attempt_at?.toISOString() ?? null,
    sentAt: m.sent_at?.toISOString() ?? null,
  };
}

/** A campaign's send-ledger rows with their outcome and reason: e.g. every `unknown` or `failed` one. */
export async function listCampaignMessagesPage(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  query: { status?: string; channel?: string; nodeId?: string; limit?: number; cursor?: string },
) {
  await requireCampaign(db, ws, id);
  const limit = query.limit ?? 50;
  const rows = await listCampaignMessages(db, ws.id, id, query, limit + 1, afterIdOf(query.cursor));
  return pageOf(rows, limit, toCampaignMessage);
}

/**
 * Launch: enrolls every member of the audience at the entry node in one INSERT … SELECT from the
 * compiled audience, and starts the campaign. Each member is due now, or with `startLocal` at that local
 * time in their timezone. A campaign with a `startAt` still to come becomes `scheduled` and enrolls no
 * one: the scheduler (`runCampaignSchedule`) launches it again when the time comes. Launching a running,
 * paused, finished or not-yet-due scheduled campaign changes nothing. `started`: this call started it.
 * Entry modes (entry.ts): `continuous` enrolls the audience too and takes those who join it later;
 * `event` enrolls no one now. Settings that cannot run are refused naming the field.
 */
export async function launchCampaign(db: Db, ws: Pick<WorkspaceContext, "id">, id: string, now = new Date()) {
  const result = await db.transaction().execute(async (trx) => {
    const row = await requireCampaign(trx, ws, id, true);
    if (row.status === "cancelled") throw conflict(`campaign ${id} was cancelled; it cannot be launched`);
    const unchanged = { campaign: toCampaign(row), changed: 0, started: false };
    if (row.status !== "draft" && row.status !== "scheduled") return unchanged;
    const audience = await findAudience(trx, ws.id, row.audience_id);
    await assertEntryLaunchable(trx, row, audience, now);
    if (!audience) return unchanged; // (assertEntryLaunchable refused it)
    if (row.start_at && row.start_at > now) {
      if (row.status === "scheduled") return unchanged;
      const scheduled = await setCampaignStatus(trx, ws.id, id, "scheduled", now);
      return { campaign: toCampaign(scheduled), changed: 0, started: false };
    }
    const { entry } = settingsOf(row);
    // Continuous entry follows the audience's transitions: a segment must be listened to, from now (in
    // this transaction, so that its current members are not logged as entering the running campaign).
    // A static list's additions are logged by the list trigger (000020_entry.sql).
    if (entry.mode === "continuous" && audience.kind === "segment" && !audience.listened) {
      await listenInTransaction(trx, audience, now);
    }
    let enrolled = 0;
    // Event entry enrolls no one at launch: each matching event enrolls its contact (entry.ts).
    if (entry.mode !== "event") {
      const wf = await loadWorkflowVersion(trx, ws.id, row.workflow_id, row.workflow_version);
      const where = await compileForWorkspace(trx, ws.id, { kind: "audience", audienceId: audience.id }, now);
      const startLocal =
        row.start_local_date && row.start_local_time
          ? { date: row.start_local_date, time: row.start_local_time }
          : null;
      const holdout = Number(row.holdout_percent);
      enrolled = await enrollWhere(trx, ws.id, id, wf.entryId, where, now, startLocal, holdout);
    }
    const updated = await setCampaignStatus(trx, ws.id, id, "running", now, {
      launchedAt: now,
      enrolledDelta: enrolled,
    });
    return { campaign: toCampaign(updated), changed: enrolled, started: true };
  });
  // A large launch changes the table's statistics at once: refresh them now rather than when autovacuum
  // gets to it, or the stepper's first batches are planned for a table that looks empty.
  if (result.changed >= ANALYZE_AFTER_ENROLLING) await analyzeEnrollments(db);
  return result;
}

/**
 * End (the campaign's `endAt` has passed): members still in it leave with state `cancelled` and the
 * reason "the campaign ended", queued sends are cancelled with that reason, and the campaign is
 * `completed`. Does nothing to a campaign already finished, or whose end is still to come.
 */
export async function endCampaign(db: Db, ws: Pick<WorkspaceContext, "id">, id: string, now = new Date()) {
  return db.transaction().execute(async (trx) => {
    // FOR UPDATE waits for stepper batches in flight (they hold the row FOR SHARE), and for another
    // scheduler ending the same campaign: the status check after it makes the second one a no-op.
    const row = await requireCampaign(trx, ws, id, true);
    const open = row.status === "scheduled" || row.status === "running" || row.status === "paused";
    if (!open || !row.end_at || row.end_at > now) {
      return { campaign: toCampaign(row), changed: 0, ended: false };
    }
    const exited = await cancelEnrollments(trx, ws.id, id, now, CAMPAIGN_ENDED);
    const updated = await setCampaignStatus(trx, ws.id, id, "completed", now, { finishedAt: now });
    return { campaign: toCampaign(updated), changed: exited, ended: true };
  });
}

export const CAMPAIGN_ENDED = "the campaign ended";

async function changeStatus(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  from: string[],
  to: string,
  refuse: Record<string, string>,
  now: Date,
) {
  return db.transaction().execute(async (trx) => {
    // FOR UPDATE waits for stepper batches in flight on this campaign (they hold it FOR SHARE).
    const row = await requireCampaign(trx, ws, id, true);
    const reason = refuse[row.status];
    if (reason) throw conflict(reason);
    if (!from.includes(row.status)) return { campaign: toCampaign(row), changed: 0 };
    const updated = await setCampaignStatus(trx, ws.id, id, to, now);
    return { campaign: toCampaign(updated), changed: 1 };
  });
}

/** Pause: returns once no stepper batch of this campaign is in flight; no member moves until resumed. */
export function pauseCampaign(db: Db, ws: WorkspaceContext, id: string, now = new Date()) {
  return changeStatus(
    db,
    ws,
    id,
    ["running"],
    "paused",
    {
      draft: `campaign ${id} has not been launched`,
      scheduled: `campaign ${id} is scheduled and has not started; cancel it to stop it`,
      cancelled: `campaign ${id} was cancelled`,
    },
    now,
  );
}

export function resumeCampaign(db: Db, ws: WorkspaceContext, id: string, now = new Date()) {
  return changeStatus(
    db,
    ws,
    id,
    ["paused"],
    "running",
    {
      draft: `campaign ${id} has not been launched; launch it`,
      scheduled: `campaign ${id} is scheduled: it starts by itself at its startAt`,
      cancelled: `campaign ${id} was cancelled`,
    },
    now,
  );
}

/** Cancel: every member still in the campaign leaves with state cancelled; queued sends are dropped. */
export async function cancelCampaign(db: Db, ws: WorkspaceContext, id: string, now = new Date()) {
  return db.transaction().execute(async (trx) => {
    const row = await requireCampaign(trx, ws, id, true);
    if (row.status === "cancelled") return { campaign: toCampaign(row), changed: 0 };
    const exited = await cancelEnrollments(trx, ws.id, id, now);
    const updated = await setCampaignStatus(trx, ws.id, id, "cancelled", now, { finishedAt: now });
    return { campaign: toCampaign(updated), changed: exited };
  });
}

/** Retry: failed members resume at the node where they failed (all of them, or one). */
export async function retryCampaign(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  contactId: string | undefined,
  now = new Date(),
) {
  return db.transaction().execute(async (trx) => {
    const row = await requireCampaign(trx, ws, id, true);
    if (row.status === "cancelled")
      throw conflict(`campaign ${id} was cancelled; its members cannot be retried`);
    if (row.status === "draft" || row.status === "scheduled")
      throw conflict(`campaign ${id} has not started`);
    if (contactId) {
      const enrollment = await findEnrollment(trx, ws.id, id, contactId);
      if (!enrollment) throw notFound("enrollment of contact", contactId);
    }
    const resumed = await retryFailedEnrollments(trx, ws.id, id, now, contactId);
    let campaign = row;
    if (resumed > 0 && row.status === "completed") {
      campaign = await setCampaignStatus(trx, ws.id, id, "running", now, { finishedAt: null });
    }
    return { campaign: toCampaign(campaign), changed: resumed };
  });
}

/**
 * Enrolls one contact into a running or paused campaign (the way event-triggered and API entries come
 * in). Idempotent: a contact already enrolled is left as they are.
 */
export async function enrollOne(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  contactId: string,
  now = new Date(),
) {
  return db.transaction().execute(async (trx) => {
    const row = await requireCampaign(trx, ws, id, true);
    if (row.status !== "running" && row.status !== "paused") {
      throw conflict(`campaign ${id} is ${row.status}; members join running or paused campaigns`);
    }
    const contact = await findContactById(trx, ws.id, contactId);
    if (!contact) throw notFound("contact", contactId);
    // Nothing would reach it (the dispatcher skips archived contacts): say so rather than enroll it.
    if (contact.archived_at) {
      throw conflict(
        `contact ${contactId} is archived; restore it (POST /contacts/${contactId}/restore) first`,
      );
    }
    const wf = await loadWorkflowVersion(trx, ws.id, row.workflow_id, row.workflow_version);
    const created = await enrollContact(
      trx,
      ws.id,
      id,
      contactId,
      wf.entryId,
      now,
      Number(row.holdout_percent),
    );
    const campaign = created
      ? await setCampaignStatus(trx, ws.id, id, row.status, now, { enrolledDelta: 1 })
      : row;
    return { campaign: toCampaign(campaign), changed: created ? 1 : 0 };
  });
}

export async function getEnrollment(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  contactId: string,
): Promise<Enrollment> {
  const campaign = await requireCampaign(db, ws, id);
  const row = await findEnrollment(db, ws.id, id, contactId);
  if (!row) throw notFound("enrollment of contact", contactId);
  const steps = await listEnrollmentSteps(db, ws.id, id, contactId);
  const messages = await listEnrollmentMessages(db, ws.id, id, contactId);
  const wf = await loadWorkflowVersion(db, ws.id, campaign.workflow_id, campaign.workflow_version);
  const typeOf = (nodeId: string) => wf.nodes.get(nodeId)?.type ?? "";
  // The engine's reasons name templates by id ("queued email with template 01a2…"): a person reads
  // the template's name instead.
  const templates = await findTemplatesByIds(db, ws.id, referencedTemplateIds(wf.graph));
  const templateNames = new Map(templates.map((t) => [t.id, t.name]));
  const readable = (reason: string) =>
    reason.replace(
      /\btemplate ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/g,
      (text, id) => {
        const name = templateNames.get(id);
        return name === undefined ? text : `template “${name}”`;
      },
    );
  type Entry = Enrollment["steps"][number]["entries"][number];
  // Entries written in SQL (retry) do not know the node's type; the version does.
  const named = (entries: Entry[]) =>
    entries.map((e) => ({
      ...e,
      nodeType: e.nodeType || typeOf(e.nodeId),
      ...(typeof e.reason === "string" ? { reason: readable(e.reason) } : {}),
    }));
  const cancelled =
    row.state === "cancelled" && campaign.status === "cancelled"
      ? [
          {
            seq: row.seq + 1,
            at: (campaign.finished_at ?? row.updated_at).toISOString(),
            worker: null,
            entries: [
              {
                at: (campaign.finished_at ?? row.updated_at).toISOString(),
                nodeId: row.node_id,
                nodeType: typeOf(row.node_id),
                action: "cancelled",
                reason: "the campaign was cancelled",
              },
            ],
          },
        ]
      : [];
  return {
    campaignId: id,
    contactId,
    nodeId: row.node_id,
    state: row.state,
    outcome: outcomeOf(row.state),
    dueAt: row.due_at?.toISOString() ?? null,
    enrolledAt: row.enrolled_at.toISOString(),
    nodeEnteredAt: row.node_entered_at.toISOString(),
    error: row.error,
    steps: [
      {
        seq: 0,
        at: row.enrolled_at.toISOString(),
        worker: null,
        entries: [
          {
            at: row.enrolled_at.toISOString(),
            nodeId: wf.entryId,
            nodeType: "entry",
            action: "enrolled",
            reason: "joined the campaign",
          },
        ],
      },
      ...steps.map((s) => ({
        seq: s.seq,
        at: s.at.toISOString(),
        worker: s.worker,
        entries: named(s.trace as Entry[]),
      })),
      ...cancelled,
    ],
    messages: messages.map(toLedgerMessage),
  };
}

function outcomeOf(state: string): string | null {
  switch (state) {
    case "completed":
      return "completed";
    case "converted":
      return "converted";
    case "cancelled":
      return "cancelled";
    default:
      return null;
  }
}
