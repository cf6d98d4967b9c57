/**
 * The stepper: advances due enrollments of running campaigns in batches. One transaction per batch
 * claims up to `batchSize` due members (`FOR UPDATE SKIP LOCKED`, in due order), loads their facts in a
 * handful of set-based queries, runs the pure transition function for each, and writes their new state,
 * one history row each and their send-ledger rows. The row locks are the claim: a worker that crashes
 * or loses its connection rolls back and its members are due again at once for any other worker; one
 * that hangs loses them when `idle_in_transaction_session_timeout` ends its session. Several workers may
 * step the same campaign: SKIP LOCKED hands each a different batch.
 */

import { hostname } from "node:os";
import type { NodeOf, WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { compileForWorkspace } from "../audiences/audience.service.ts";
import { queueMembershipCheck } from "../audiences/membership.ts";
import { loadExperimentStates, recordExperimentEffects } from "../campaigns/experiment.service.ts";
import type { Db, Executor } from "../db/database.ts";
import { cacheLookups, memberSteps } from "../ops/metrics.ts";
import { uuidv7 } from "../shared/ids.ts";
import type { Logger } from "../shared/logger.ts";
import { startPollLoop } from "../shared/poll-loop.ts";
import { memberTimeZone } from "../workflows/local-time.ts";
import {
  type CompiledWorkflow,
  compileWorkflow,
  type Effect,
  type ExperimentEffect,
  type FactEvent,
  type MemberFacts,
  type MemberState,
  type StepResult,
  transition,
} from "../workflows/transition.ts";
import { findVersion } from "../workflows/workflow.repository.ts";
import {
  addToList,
  type ClaimedRow,
  changeConsentByWorkflow,
  claimDueEnrollments,
  completeFinishedCampaigns,
  insertEnrollmentSteps,
  insertLedgerRows,
  listRunningCampaigns,
  lockCampaignForStep,
  removeFromLists,
  selectContactFacts,
  selectEventsOfTypes,
  selectPerContact,
  setContactAttributes,
  updateEnrollments,
} from "./enrollment.repository.ts";

export { completeFinishedCampaigns };

export interface StepOptions {
  workerId?: string;
  batchSize?: number;
  now?: Date;
  /** Tests only: make a member's step fail at its current node with this message. */
  fault?: (contactId: string, nodeId: string) => string | undefined;
}

export interface StepBatchResult {
  /** The campaign's status as the batch found it. */
  status: string;
  claimed: number;
  moved: number;
  failed: number;
  sends: number;
}

export const DEFAULT_BATCH_SIZE = 1000;
const DEFAULT_WORKER_ID = `${hostname()}:${process.pid}`;

/** A published workflow version as the stepper runs it. */
export interface PublishedVersion {
  workflow: CompiledWorkflow;
  /** `{templateId: version}`: the template versions its sends render (copied onto each ledger row). */
  templateVersions: Readonly<Record<string, number>>;
}

// Published versions never change, so they are cached, compiled, for the life of the process.
const published = new Map<string, PublishedVersion>();
const MAX_CACHED_VERSIONS = 500;

export async function loadPublishedVersion(
  db: Executor,
  workspaceId: string,
  workflowId: string,
  version: number,
): Promise<PublishedVersion> {
  const key = `${workspaceId}:${workflowId}:${version}`;
  const hit = published.get(key);
  cacheLookups.inc({ cache: "workflow_versions", result: hit ? "hit" : "miss" });
  if (hit) return hit;
  const row = await findVersion(db, workspaceId, workflowId, version);
  if (!row) throw new Error(`workflow ${workflowId} has no version ${version}`);
  const entry: PublishedVersion = {
    workflow: compileWorkflow(row.graph as WorkflowGraph),
    templateVersions: Object.freeze({ ...row.template_versions }),
  };
  if (published.size >= MAX_CACHED_VERSIONS) published.delete(published.keys().next().value as string);
  published.set(key, entry);
  return entry;
}

export async function loadWorkflowVersion(
  db: Executor,
  workspaceId: string,
  workflowId: string,
  version: number,
): Promise<CompiledWorkflow> {
  return (await loadPublishedVersion(db, workspaceId, workflowId, version)).workflow;
}

/** Steps one batch of one campaign's due members. */
export async function stepCampaignBatch(
  db: Db,
  workspaceId: string,
  campaignId: string,
  options: StepOptions = {},
): Promise<StepBatchResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const workerId = options.workerId ?? DEFAULT_WORKER_ID;
  return db.transaction().execute(async (trx) => {
    // So "paused" means no member moves after the pause call returns (see lockCampaignForStep).
    const campaign = await lockCampaignForStep(trx, workspaceId, campaignId);
    const empty = { claimed: 0, moved: 0, failed: 0, sends: 0 };
    if (!campaign) return { status: "missing", ...empty };
    if (campaign.status !== "running") return { status: campaign.status, ...empty };
    const now = options.now ?? new Date();
    const claimed = await claimDueEnrollments(trx, workspaceId, campaignId, now, batchSize);
    if (claimed.length === 0) return { status: campaign.status, ...empty };

    const { workflow: wf, templateVersions } = await loadPublishedVersion(
      trx,
      workspaceId,
      campaign.workflow_id,
      campaign.workflow_version,
    );
    const ids = claimed.map((r) => r.contact_id);
    const contacts = await loadContactFacts(trx, workspaceId, ids);
    const events = await loadEventFacts(trx, workspaceId, ids, wf, claimed);
    // Experiments whose test window is over are decided here, before anyone is routed to their winner.
    const experiments = await loadExperimentStates(trx, workspaceId, campaignId, wf.experimentNodes, now);

    const members = claimed.map((row) => ({
      row,
      state: {
        contactId: row.contact_id,
        nodeId: row.node_id,
        state: row.state,
        enrolledAt: row.enrolled_at,
        nodeEnteredAt: row.node_entered_at,
        iteration: row.iteration,
        seq: row.seq,
        dueAt: row.due_at,
      } satisfies MemberState,
    }));

    // Conditions are evaluated in SQL for the whole batch, but only those a member reaches: run the
    // transitions, collect the condition nodes that were asked for and not known, evaluate those for
    // the members that asked, and run those members again (the function is pure, so this is safe).
    const outlets = new Map<string, Map<string, string>>();
    const conditionErrors = new Map<string, string>();
    const results = new Map<string, StepResult>();
    let pending = members;
    for (let round = 0; pending.length > 0 && round <= wf.conditionNodes.length; round++) {
      const needed = new Map<string, Set<string>>();
      const retry: typeof members = [];
      for (const member of pending) {
        const contact = contacts.get(member.state.contactId);
        const fault = options.fault?.(member.state.contactId, member.state.nodeId);
        if (!contact || fault) {
          results.set(
            member.state.contactId,
            detached(member.state, wf.nodes.get(member.state.nodeId)?.type ?? "unknown", now, fault),
          );
          continue;
        }
        let missing: string | undefined;
        const facts: MemberFacts = {
          timeZone: memberTimeZone(contact.timezone, campaign.default_timezone),
          attributes: contact.attributes,
          events: events.get(member.state.contactId) ?? [],
          experiment: (nodeId) => experiments.get(nodeId),
          condition(node) {
            const error = conditionErrors.get(node.id);
            if (error) throw new Error(error);
            const outlet = outlets.get(node.id)?.get(member.state.contactId);
            if (outlet !== undefined) return outlet;
            missing = node.id;
            throw new Error(`condition ${node.id} not evaluated`);
          },
        };
        const result = transition(wf, campaignId, member.state, facts, now);
        if (missing !== undefined) {
          const set = needed.get(missing) ?? new Set();
          set.add(member.state.contactId);
          needed.set(missing, set);
          retry.push(member);
        } else {
          results.set(member.state.contactId, result);
        }
      }
      for (const [nodeId, memberIds] of needed) {
        const node = wf.nodes.get(nodeId) as NodeOf<"condition">;
        try {
          const chosen = await evaluateCondition(trx, workspaceId, campaignId, node, [...memberIds], now);
          const known = outlets.get(nodeId) ?? new Map<string, string>();
          for (const [id, outlet] of chosen) known.set(id, outlet);
          outlets.set(nodeId, known);
        } catch (error) {
          conditionErrors.set(nodeId, `condition could not be evaluated: ${(error as Error).message}`);
        }
      }
      pending = retry;
    }

    const written = await writeResults(
      trx,
      workspaceId,
      campaignId,
      workerId,
      now,
      members,
      results,
      templateVersions,
    );
    return { status: campaign.status, claimed: claimed.length, ...written };
  });
}

/** A member whose contact was erased leaves; a test fault fails the member where they are. */
function detached(member: MemberState, nodeType: string, now: Date, fault: string | undefined): StepResult {
  if (fault) {
    return {
      moved: true,
      nodeId: member.nodeId,
      state: "failed",
      dueAt: null,
      nodeEnteredAt: member.nodeEnteredAt,
      error: fault,
      effects: [],
      trace: [{ at: now, nodeId: member.nodeId, nodeType, action: "failed", reason: fault }],
    };
  }
  return {
    moved: true,
    nodeId: member.nodeId,
    state: "cancelled",
    dueAt: null,
    nodeEnteredAt: member.nodeEnteredAt,
    error: null,
    effects: [],
    trace: [
      {
        at: now,
        nodeId: member.nodeId,
        nodeType,
        action: "left",
        reason: "the contact no longer exists",
      },
    ],
  };
}

async function loadContactFacts(db: Executor, workspaceId: string, ids: string[]) {
  const rows = await selectContactFacts(db, workspaceId, ids);
  return new Map(rows.map((r) => [r.id, r]));
}

async function loadEventFacts(
  db: Executor,
  workspaceId: string,
  ids: string[],
  wf: CompiledWorkflow,
  claimed: ClaimedRow[],
): Promise<Map<string, FactEvent[]>> {
  const byContact = new Map<string, FactEvent[]>();
  if (wf.wakeEventTypes.length === 0) return byContact;
  const since = new Date(Math.min(...claimed.map((r) => r.enrolled_at.getTime())));
  const rows = await selectEventsOfTypes(db, workspaceId, ids, wf.wakeEventTypes, since);
  for (const row of rows) {
    const list = byContact.get(row.contact_id) ?? [];
    list.push({ type: row.type, occurredAt: row.occurred_at, properties: row.properties });
    byContact.set(row.contact_id, list);
  }
  return byContact;
}

/**
 * The outlet of a condition node for each of the given members of the campaign, in one query. The query
 * joins each member's enrollment (`en`), so `entry_event` rules read the event that enrolled them.
 */
export async function evaluateCondition(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  node: NodeOf<"condition">,
  contactIds: string[],
  now: Date,
): Promise<Map<string, string>> {
  const compile = (rule: Parameters<typeof compileForWorkspace>[2]) =>
    compileForWorkspace(db, workspaceId, rule, now, new Map(), contactIds, { enrollment: true });
  let outlet: ReturnType<typeof sql<string>>;
  if (node.rule) {
    outlet = sql<string>`case when ${await compile(node.rule)} then 'yes' else 'no' end`;
  } else {
    const whens = [];
    for (const branch of node.branches ?? []) {
      whens.push(sql`when ${await compile(branch.rule)} then ${branch.key}::text`);
    }
    outlet = sql<string>`case ${sql.join(whens, sql` `)} else 'default' end`;
  }
  const rows = await selectPerContact(db, workspaceId, campaignId, contactIds, outlet);
  return new Map(rows.map((r) => [r.id, r.outlet]));
}

async function writeResults(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  workerId: string,
  now: Date,
  members: { state: MemberState }[],
  results: Map<string, StepResult>,
  templateVersions: Readonly<Record<string, number>>,
) {
  const ids: string[] = [];
  const nodes: string[] = [];
  const states: string[] = [];
  const dues: (Date | null)[] = [];
  const entered: Date[] = [];
  const errors: (string | null)[] = [];
  const increments: number[] = [];
  const history = { ids: [] as string[], seqs: [] as number[], traces: [] as string[] };
  const sends: { member: MemberState; effect: Exclude<Effect, { kind: "update" }> }[] = [];
  const updates: { member: MemberState; effect: Extract<Effect, { kind: "update" }> }[] = [];
  const experiments: { contactId: string; iteration: number; effects: ExperimentEffect[] }[] = [];
  let moved = 0;
  let failed = 0;
  for (const { state: member } of members) {
    const result = results.get(member.contactId);
    if (!result) continue;
    if (result.experiments) {
      experiments.push({
        contactId: member.contactId,
        iteration: member.iteration,
        effects: result.experiments,
      });
    }
    ids.push(member.contactId);
    nodes.push(result.nodeId);
    states.push(result.state);
    dues.push(result.dueAt);
    entered.push(result.nodeEnteredAt);
    errors.push(result.error);
    increments.push(result.moved ? 1 : 0);
    if (!result.moved) continue;
    moved++;
    if (result.state === "failed") failed++;
    history.ids.push(member.contactId);
    history.seqs.push(member.seq + 1);
    history.traces.push(JSON.stringify(result.trace.map((t) => ({ ...t, at: t.at.toISOString() }))));
    for (const effect of result.effects) {
      if (effect.kind === "update") updates.push({ member, effect });
      else sends.push({ member, effect });
    }
  }
  await updateEnrollments(trx, workspaceId, campaignId, now, {
    ids,
    nodes,
    states,
    dues,
    entered,
    errors,
    increments,
  });
  if (history.ids.length) await insertEnrollmentSteps(trx, workspaceId, campaignId, now, workerId, history);
  if (experiments.length) await recordExperimentEffects(trx, workspaceId, campaignId, now, experiments);
  if (sends.length) await insertMessages(trx, workspaceId, campaignId, now, sends, templateVersions);
  if (updates.length) await applyUpdates(trx, workspaceId, campaignId, now, updates);
  return { moved, failed, sends: sends.length };
}

async function insertMessages(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  sends: { member: MemberState; effect: Exclude<Effect, { kind: "update" }> }[],
  templateVersions: Readonly<Record<string, number>>,
) {
  const cols = {
    ids: [] as string[],
    keys: [] as string[],
    contacts: [] as string[],
    nodes: [] as string[],
    channels: [] as string[],
    templates: [] as (string | null)[],
    templateVersions: [] as (number | null)[],
    details: [] as string[],
  };
  for (const { member, effect } of sends) {
    cols.ids.push(uuidv7(now.getTime()));
    cols.keys.push(effect.idempotencyKey);
    cols.contacts.push(member.contactId);
    cols.nodes.push(effect.nodeId);
    if (effect.kind === "send") {
      cols.channels.push(effect.channel);
      cols.templates.push(effect.templateId);
      // The version the workflow version pinned at publish (keys are lower-case, as ids are stored).
      cols.templateVersions.push(
        effect.templateId ? (templateVersions[effect.templateId.toLowerCase()] ?? null) : null,
      );
      cols.details.push(
        JSON.stringify(
          effect.channel === "ads"
            ? {
                // Lower-cased, so that the dispatcher finds one member's changes to one destination.
                destination: effect.destination?.toLowerCase() ?? null,
                audienceAction: effect.audienceAction,
                retry: effect.retry,
              }
            : { destination: effect.destination, retry: effect.retry },
        ),
      );
    } else {
      cols.channels.push("webhook");
      cols.templates.push(null);
      cols.templateVersions.push(null);
      cols.details.push(JSON.stringify({ url: effect.url, body: effect.body, retry: effect.retry }));
    }
  }
  await insertLedgerRows(trx, workspaceId, campaignId, now, cols);
}

/** Update nodes are rare next to waits and sends: applied one member at a time. */
async function applyUpdates(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  updates: { member: MemberState; effect: Extract<Effect, { kind: "update" }> }[],
) {
  const changed = new Set<string>();
  for (const { member, effect } of updates) {
    const contactId = member.contactId;
    if (Object.keys(effect.set).length || effect.unset.length) {
      await setContactAttributes(trx, workspaceId, contactId, effect.set, effect.unset, now);
    }
    for (const listId of effect.addToLists) await addToList(trx, workspaceId, listId, contactId, now);
    if (effect.removeFromLists.length)
      await removeFromLists(trx, workspaceId, contactId, effect.removeFromLists);
    for (const { channel, status } of effect.consent) {
      await changeConsentByWorkflow(
        trx,
        workspaceId,
        contactId,
        channel,
        status,
        `campaign:${campaignId}`,
        now,
      );
    }
    changed.add(contactId);
  }
  await queueMembershipCheck(trx, workspaceId, [...changed], `campaign ${campaignId} update node`);
}

export interface StepperHandle {
  stop(): Promise<void>;
  /** Resolves once no running campaign has a due member (tests and the bench use it). */
  idle(): Promise<void>;
}

/**
 * The worker role's loop: round-robin over running campaigns, a batch at a time, until none has due
 * members; then poll every `idleMs`. Errors (PostgreSQL restarting, a lost connection) are logged and
 * retried after a pause: nothing is lost, since an uncommitted batch is simply due again.
 */
export function startStepper(
  db: Db,
  options: StepOptions & { logger?: Logger; idleMs?: number; maxBackoffMs?: number } = {},
): StepperHandle {
  return startPollLoop({
    name: "stepper",
    logger: options.logger,
    idleMs: options.idleMs ?? 200,
    ...(options.maxBackoffMs ? { maxBackoffMs: options.maxBackoffMs } : {}),
    async pass(stopping) {
      const running = await listRunningCampaigns(db);
      let claimed = 0;
      for (const campaign of running) {
        if (stopping()) break;
        const r = await stepCampaignBatch(db, campaign.workspace_id, campaign.id, options);
        claimed += r.claimed;
        memberSteps.inc(r.moved);
      }
      if (claimed === 0 && running.length) await completeFinishedCampaigns(db);
      return claimed > 0;
    },
  });
}
