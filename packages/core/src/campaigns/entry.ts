/**
 * Entry after launch. A `once` campaign enrolls its audience at launch and no one after. A `continuous`
 * campaign also takes every contact who enters its audience later (an audience transition 'entered'); an
 * `event` campaign takes the contact of each event of its type that matches its filters. Neither happens
 * in a request: the request's transaction queues a CAMPAIGN_ENTRY_JOB and the worker runs it within
 * seconds. Re-entry decides whether a contact who has finished may start again (see entryDecision).
 *
 * Each entry is recorded with its cause (`event:<id>`, `transition:<id>`) in `campaign_entries`, so a
 * job that runs twice, or an event replayed, never lets anyone in twice for the same cause.
 */

import type { CampaignReentry } from "@omneural/contracts/workflows";
import { compileForWorkspace } from "../audiences/audience.service.ts";
import { matchesPropertyFilters } from "../audiences/audience-evaluator.ts";
import type { Db, Executor } from "../db/database.ts";
import type { AudienceRow, CampaignRow } from "../db/schema.ts";
import { loadWorkflowVersion } from "../engine/stepper.ts";
import { AppError, type FieldProblem, validationFailed } from "../shared/errors.ts";
import {
  findCampaign,
  findEntryCauses,
  insertEntrants,
  insertEntryCauses,
  listContinuousCampaigns,
  listEventCampaigns,
  lockEnrollmentsOf,
  reenterEnrollments,
  selectContactsAmong,
  selectEventsById,
  selectTriggerEvents,
  setCampaignStatus,
} from "./campaign.repository.ts";
import { launchSettingsProblems } from "./goal.ts";
import { settingsOf } from "./settings.ts";

export { CAMPAIGN_ENTRY_JOB } from "./campaign.repository.ts";

const DAY_MS = 86_400_000;

/** The event that let a member in, as `enrollments.trigger_event` keeps it. */
export interface TriggerEvent {
  id: string;
  type: string;
  properties: Record<string, unknown>;
  occurredAt: string;
}

/** A contact who qualifies to enter, and why. */
export interface EntryCandidate {
  contactId: string;
  /** `event:<id>` or `transition:<id>`: one cause lets a contact in at most once. */
  cause: string;
  event: TriggerEvent | null;
  /** How the history puts it ("event signup", "joined the audience"). */
  why: string;
}

export type EntryJobPayload =
  | { workspaceId: string; audienceId: string; joined: [number, string][] }
  | { workspaceId: string; events: string[] };

export type EntryDecision =
  | { kind: "enroll" }
  | { kind: "reenter"; iteration: number }
  | { kind: "skip"; reason: string };

/**
 * Whether a qualifying contact enters, given their enrollment in the campaign (if any). Active members
 * never enter again; a finished one (completed, converted, cancelled or failed) does by the re-entry
 * mode: `never` not, `after` once `afterDays` have passed since their last entry, `always` yes.
 */
export function entryDecision(
  existing: { state: string; enrolledAt: Date; iteration: number } | undefined,
  reentry: CampaignReentry,
  now: Date,
): EntryDecision {
  if (!existing) return { kind: "enroll" };
  if (existing.state === "active") return { kind: "skip", reason: "is in the campaign now" };
  if (reentry.mode === "never") return { kind: "skip", reason: "entered once; re-entry is never" };
  if (reentry.mode === "after") {
    const from = existing.enrolledAt.getTime() + (reentry.afterDays ?? 1) * DAY_MS;
    if (now.getTime() < from) {
      return { kind: "skip", reason: `may enter again from ${new Date(from).toISOString()}` };
    }
  }
  return { kind: "reenter", iteration: existing.iteration + 1 };
}

/**
 * Whether an event enters an event-entry campaign: its type, its properties matching the campaign's
 * `where` (the filters of wait_for and goal nodes), and not older than the launch (a backfill of past
 * events does not enroll their contacts).
 */
export function eventEnters(
  campaign: { entry_event_type: string | null; entry_where: unknown; launched_at: Date | null },
  event: { type: string; properties: Record<string, unknown>; occurredAt: Date },
  now: Date,
): boolean {
  if (event.type !== campaign.entry_event_type) return false;
  if (campaign.launched_at && event.occurredAt.getTime() < campaign.launched_at.getTime()) return false;
  const where = (campaign.entry_where ?? []) as Parameters<typeof matchesPropertyFilters>[0];
  return matchesPropertyFilters(where, event.properties, now);
}

/**
 * What makes a campaign's entry settings impossible to launch, each naming its field. The audience
 * must compile (a continuous campaign re-evaluates it as contacts change; an event campaign checks the
 * contact's membership on each event).
 */
export async function entryProblemsAtLaunch(
  db: Executor,
  row: CampaignRow,
  audience: AudienceRow | undefined,
  now: Date,
): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  const { entry } = settingsOf(row);
  if (!audience) {
    return [{ field: "audienceId", message: `the audience ${row.audience_id} no longer exists` }];
  }
  try {
    await compileForWorkspace(db, row.workspace_id, { kind: "audience", audienceId: audience.id }, now);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const cause = error.extra.errors?.[0];
    problems.push({
      field: "audienceId",
      message: `the audience "${audience.name}" cannot be evaluated${cause ? `: ${cause.field}: ${cause.message}` : ""}`,
    });
  }
  if (entry.mode === "event") {
    if (row.start_local_date) {
      problems.push({
        field: "startLocal",
        message: "an event-entry campaign enrolls on events, not at a local start time",
      });
    }
  }
  return problems;
}

/** Throws VALIDATION_FAILED naming the fields when the campaign's entry, goal or policies cannot be launched. */
export async function assertEntryLaunchable(
  db: Executor,
  row: CampaignRow,
  audience: AudienceRow | undefined,
  now: Date,
) {
  const problems = [
    ...(await entryProblemsAtLaunch(db, row, audience, now)),
    ...launchSettingsProblems(settingsOf(row)),
  ];
  if (problems.length) throw validationFailed(problems);
}

export interface EntryResult {
  entered: number;
  reentered: number;
}

/**
 * Enters qualifying contacts into one campaign, in one transaction: only while it is running; a cause
 * already used is skipped; a contact named twice enters for the first cause; they must be members of
 * the campaign's audience now; then entryDecision says whether each enrolls, re-enters or not. First
 * entries get their holdout decided as at launch; re-entries keep theirs.
 */
export async function enterCampaign(
  db: Db,
  workspaceId: string,
  campaignId: string,
  candidates: EntryCandidate[],
  now = new Date(),
): Promise<EntryResult> {
  const none = { entered: 0, reentered: 0 };
  if (!candidates.length) return none;
  return db.transaction().execute(async (trx) => {
    // FOR UPDATE: waits for stepper batches in flight, and pause or cancel wait for this entry.
    const campaign = await findCampaign(trx, workspaceId, campaignId, true);
    if (campaign?.status !== "running") return none;
    const known = await findEntryCauses(
      trx,
      workspaceId,
      campaignId,
      candidates.map((c) => c.cause),
    );
    const first = new Map<string, EntryCandidate>();
    for (const c of candidates) if (!known.has(c.cause) && !first.has(c.contactId)) first.set(c.contactId, c);
    if (!first.size) return none;
    const ids = [...first.keys()];
    const where = await compileForWorkspace(
      trx,
      workspaceId,
      { kind: "audience", audienceId: campaign.audience_id },
      now,
      new Map(),
      ids,
    );
    const members = await selectContactsAmong(trx, workspaceId, ids, where);
    const qualified = [...first.values()].filter((c) => members.has(c.contactId));
    if (!qualified.length) return none;
    const existing = new Map(
      (
        await lockEnrollmentsOf(
          trx,
          workspaceId,
          campaignId,
          qualified.map((c) => c.contactId),
        )
      ).map((r) => [r.contact_id, r]),
    );
    const { reentry, holdoutPercent } = settingsOf(campaign);
    const enroll: EntryCandidate[] = [];
    const reenter: (EntryCandidate & { iteration: number })[] = [];
    for (const c of qualified) {
      const row = existing.get(c.contactId);
      const decision = entryDecision(
        row && { state: row.state, enrolledAt: row.enrolled_at, iteration: row.iteration },
        reentry,
        now,
      );
      if (decision.kind === "enroll") enroll.push(c);
      else if (decision.kind === "reenter") reenter.push({ ...c, iteration: decision.iteration });
    }
    if (!enroll.length && !reenter.length) return none;
    const wf = await loadWorkflowVersion(trx, workspaceId, campaign.workflow_id, campaign.workflow_version);
    const created = await insertEntrants(
      trx,
      workspaceId,
      campaignId,
      wf.entryId,
      enroll,
      now,
      holdoutPercent,
    );
    const again = await reenterEnrollments(
      trx,
      workspaceId,
      campaignId,
      wf.entryId,
      reenter.map((c) => ({
        contactId: c.contactId,
        event: c.event,
        reason: `entered again (iteration ${c.iteration}): ${c.why}`,
      })),
      now,
    );
    const iterations = new Map<string, number>(again.map((r) => [r.contact_id, r.iteration]));
    for (const id of created) iterations.set(id, 1);
    await insertEntryCauses(
      trx,
      workspaceId,
      campaignId,
      [...first.values()]
        .filter((c) => iterations.has(c.contactId))
        .map((c) => ({ cause: c.cause, contactId: c.contactId, iteration: iterations.get(c.contactId)! })),
      now,
    );
    if (created.size) {
      await setCampaignStatus(trx, workspaceId, campaignId, campaign.status, now, {
        enrolledDelta: created.size,
      });
    }
    return { entered: created.size, reentered: again.length };
  });
}

/** The worker's CAMPAIGN_ENTRY_JOB: enters the payload's contacts into each campaign they qualify for. */
export async function runCampaignEntryJob(
  db: Db,
  payload: EntryJobPayload,
  now = new Date(),
): Promise<EntryResult> {
  const total = { entered: 0, reentered: 0 };
  const add = (r: EntryResult) => {
    total.entered += r.entered;
    total.reentered += r.reentered;
  };
  const { workspaceId } = payload;
  if ("joined" in payload) {
    const candidates: EntryCandidate[] = payload.joined.map(([transitionId, contactId]) => ({
      contactId,
      cause: `transition:${transitionId}`,
      event: null,
      why: "joined the audience",
    }));
    for (const campaign of await listContinuousCampaigns(db, workspaceId, payload.audienceId)) {
      add(await enterCampaign(db, workspaceId, campaign.id, candidates, now));
    }
    return total;
  }
  const events = await selectEventsById(db, workspaceId, payload.events);
  const campaigns = await listEventCampaigns(db, workspaceId, [...new Set(events.map((e) => e.type))]);
  for (const campaign of campaigns) {
    const candidates: EntryCandidate[] = events
      .filter((e) =>
        eventEnters(campaign, { type: e.type, properties: e.properties, occurredAt: e.occurred_at }, now),
      )
      .map((e) => ({
        contactId: e.contact_id,
        cause: `event:${e.id}`,
        event: {
          id: e.id,
          type: e.type,
          properties: e.properties,
          occurredAt: e.occurred_at.toISOString(),
        },
        why: `event ${e.type} ${e.id}`,
      }));
    add(await enterCampaign(db, workspaceId, campaign.id, candidates, now));
  }
  return total;
}

/**
 * For the dispatcher: each ledger row's entering event properties (`event.*` in templates), when its
 * member entered on an event in the iteration that queued the row. A row queued before its member
 * entered again has none (the event it was queued for has been replaced).
 */
export async function triggerEventsOf(
  db: Executor,
  messages: {
    id: string;
    workspace_id: string;
    campaign_id: string;
    contact_id: string;
    idempotency_key: string;
  }[],
): Promise<(message: { id: string }) => Record<string, unknown> | undefined> {
  const rows = await selectTriggerEvents(
    db,
    messages.map((m) => ({
      workspaceId: m.workspace_id,
      campaignId: m.campaign_id,
      contactId: m.contact_id,
    })),
  );
  if (!rows.length) return () => undefined;
  const byMember = new Map(rows.map((r) => [`${r.workspace_id}:${r.campaign_id}:${r.contact_id}`, r]));
  const byMessage = new Map<string, Record<string, unknown>>();
  for (const m of messages) {
    const row = byMember.get(`${m.workspace_id}:${m.campaign_id}:${m.contact_id}`);
    // campaign:contact:node:iteration:step (transition.ts idempotencyKey)
    const parts = m.idempotency_key.split(":");
    if (row && Number(parts[parts.length - 2]) === row.iteration) {
      byMessage.set(m.id, row.trigger_event.properties ?? {});
    }
  }
  return (message) => byMessage.get(message.id);
}
