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
import type { Db, Executor } from "../db/database.ts";
import { uuidv7 } from "../shared/ids.ts";
import type { Logger } from "../shared/logger.ts";
import { memberTimeZone } from "../workflows/local-time.ts";
import {
  type CompiledWorkflow,
  compileWorkflow,
  type Effect,
  type FactEvent,
  type MemberFacts,
  type MemberState,
  type StepResult,
  transition,
} from "../workflows/transition.ts";

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

// Published versions never change, so compiled graphs are cached for the life of the process.
const compiled = new Map<string, CompiledWorkflow>();
const MAX_CACHED_VERSIONS = 500;

export async function loadWorkflowVersion(
  db: Executor,
  workspaceId: string,
  workflowId: string,
  version: number,
): Promise<CompiledWorkflow> {
  const key = `${workspaceId}:${workflowId}:${version}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const row = await db
    .selectFrom("workflow_versions")
    .select("graph")
    .where("workspace_id", "=", workspaceId)
    .where("workflow_id", "=", workflowId)
    .where("version", "=", version)
    .executeTakeFirst();
  if (!row) throw new Error(`workflow ${workflowId} has no version ${version}`);
  const wf = compileWorkflow(row.graph as WorkflowGraph);
  if (compiled.size >= MAX_CACHED_VERSIONS) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, wf);
  return wf;
}

interface ClaimedRow {
  contact_id: string;
  node_id: string;
  state: "active";
  enrolled_at: Date;
  node_entered_at: Date;
  due_at: Date;
  iteration: number;
  seq: number;
}

interface ContactFactsRow {
  id: string;
  timezone: string | null;
  attributes: Record<string, unknown>;
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
    await sql`set local idle_in_transaction_session_timeout = '60s'`.execute(trx);
    // FOR SHARE: pausing or cancelling (an UPDATE of this row) waits for batches in flight, and no batch
    // starts after it. So "paused" means no member moves after the pause call returns.
    const campaign = (
      await sql<{
        status: string;
        workflow_id: string;
        workflow_version: number;
        default_timezone: string;
      }>`
        select c.status, c.workflow_id, c.workflow_version, w.default_timezone
        from campaigns c join workspaces w on w.id = c.workspace_id
        where c.workspace_id = ${workspaceId} and c.id = ${campaignId}
        for share of c`.execute(trx)
    ).rows[0];
    const empty = { claimed: 0, moved: 0, failed: 0, sends: 0 };
    if (!campaign) return { status: "missing", ...empty };
    if (campaign.status !== "running") return { status: campaign.status, ...empty };
    const now = options.now ?? new Date();
    const { rows: claimed } = await sql<ClaimedRow>`
      select contact_id, node_id, state, enrolled_at, node_entered_at, due_at, iteration, seq
      from enrollments
      where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
        and state = 'active' and due_at <= ${now}
      order by due_at
      limit ${batchSize}
      for update skip locked`.execute(trx);
    if (claimed.length === 0) return { status: campaign.status, ...empty };

    const wf = await loadWorkflowVersion(trx, workspaceId, campaign.workflow_id, campaign.workflow_version);
    const ids = claimed.map((r) => r.contact_id);
    const contacts = await loadContactFacts(trx, workspaceId, ids);
    const events = await loadEventFacts(trx, workspaceId, ids, wf, claimed);

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
          results.set(member.state.contactId, detached(member.state, now, fault));
          continue;
        }
        let missing: string | undefined;
        const facts: MemberFacts = {
          timeZone: memberTimeZone(contact.timezone, campaign.default_timezone),
          attributes: contact.attributes,
          events: events.get(member.state.contactId) ?? [],
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
          const chosen = await evaluateCondition(trx, workspaceId, node, [...memberIds], now);
          const known = outlets.get(nodeId) ?? new Map<string, string>();
          for (const [id, outlet] of chosen) known.set(id, outlet);
          outlets.set(nodeId, known);
        } catch (error) {
          conditionErrors.set(nodeId, `condition could not be evaluated: ${(error as Error).message}`);
        }
      }
      pending = retry;
    }

    const written = await writeResults(trx, workspaceId, campaignId, workerId, now, members, results);
    return { status: campaign.status, claimed: claimed.length, ...written };
  });
}

/** A member whose contact was erased leaves; a test fault fails the member where they are. */
function detached(member: MemberState, now: Date, fault: string | undefined): StepResult {
  if (fault) {
    return {
      moved: true,
      nodeId: member.nodeId,
      state: "failed",
      dueAt: null,
      nodeEnteredAt: member.nodeEnteredAt,
      error: fault,
      effects: [],
      trace: [{ at: now, nodeId: member.nodeId, nodeType: "", action: "failed", reason: fault }],
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
        nodeType: "",
        action: "left",
        reason: "the contact no longer exists",
      },
    ],
  };
}

async function loadContactFacts(db: Executor, workspaceId: string, ids: string[]) {
  const { rows } = await sql<ContactFactsRow>`
    select id, timezone, attributes from contacts
    where workspace_id = ${workspaceId} and id = any(${ids}::uuid[])`.execute(db);
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
  const { rows } = await sql<{
    contact_id: string;
    type: string;
    occurred_at: Date;
    properties: Record<string, unknown>;
  }>`
    select contact_id, type, occurred_at, properties from events
    where workspace_id = ${workspaceId} and contact_id = any(${ids}::uuid[])
      and type = any(${wf.wakeEventTypes}::text[]) and occurred_at >= ${since}
    order by occurred_at, id`.execute(db);
  for (const row of rows) {
    const list = byContact.get(row.contact_id) ?? [];
    list.push({ type: row.type, occurredAt: row.occurred_at, properties: row.properties });
    byContact.set(row.contact_id, list);
  }
  return byContact;
}

/** The outlet of a condition node for each of the given contacts, in one query. */
export async function evaluateCondition(
  db: Executor,
  workspaceId: string,
  node: NodeOf<"condition">,
  contactIds: string[],
  now: Date,
): Promise<Map<string, string>> {
  const compile = (rule: Parameters<typeof compileForWorkspace>[2]) =>
    compileForWorkspace(db, workspaceId, rule, now, new Map(), contactIds);
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
  const { rows } = await sql<{ id: string; outlet: string }>`
    select c.id, ${outlet} as outlet from contacts c
    where c.workspace_id = ${workspaceId} and c.id = any(${contactIds}::uuid[])`.execute(db);
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
  let moved = 0;
  let failed = 0;
  for (const { state: member } of members) {
    const result = results.get(member.contactId);
    if (!result) continue;
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
  await sql`
    update enrollments e set
      node_id = u.node_id, state = u.state, due_at = u.due_at, node_entered_at = u.entered_at,
      error = u.error, seq = e.seq + u.inc, updated_at = ${now}
    from unnest(${ids}::uuid[], ${nodes}::text[], ${states}::text[], ${dues}::timestamptz[],
                 ${entered}::timestamptz[], ${errors}::text[], ${increments}::int[])
      as u(contact_id, node_id, state, due_at, entered_at, error, inc)
    where e.workspace_id = ${workspaceId} and e.campaign_id = ${campaignId} and e.contact_id = u.contact_id`.execute(
    trx,
  );
  if (history.ids.length) {
    await sql`
      insert into enrollment_steps (workspace_id, campaign_id, contact_id, seq, at, worker, trace)
      select ${workspaceId}, ${campaignId}, u.contact_id, u.seq, ${now}, ${workerId}, u.trace
      from unnest(${history.ids}::uuid[], ${history.seqs}::int[], ${history.traces}::jsonb[])
        as u(contact_id, seq, trace)`.execute(trx);
  }
  if (sends.length) await insertMessages(trx, workspaceId, campaignId, now, sends);
  if (updates.length) await applyUpdates(trx, workspaceId, campaignId, now, updates);
  return { moved, failed, sends: sends.length };
}

async function insertMessages(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  sends: { member: MemberState; effect: Exclude<Effect, { kind: "update" }> }[],
) {
  const cols = {
    ids: [] as string[],
    keys: [] as string[],
    contacts: [] as string[],
    nodes: [] as string[],
    channels: [] as string[],
    templates: [] as (string | null)[],
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
      cols.details.push(JSON.stringify({ destination: effect.destination, retry: effect.retry }));
    } else {
      cols.channels.push("webhook");
      cols.templates.push(null);
      cols.details.push(JSON.stringify({ url: effect.url, body: effect.body, retry: effect.retry }));
    }
  }
  // The idempotency key is unique: a step recomputed after a crash finds its sends already there.
  await sql`
    insert into messages (workspace_id, id, idempotency_key, campaign_id, contact_id, node_id, channel,
                          template_id, details, queued_at)
    select ${workspaceId}, u.id, u.key, ${campaignId}, u.contact_id, u.node_id, u.channel, u.template_id,
           u.details, ${now}
    from unnest(${cols.ids}::uuid[], ${cols.keys}::text[], ${cols.contacts}::uuid[], ${cols.nodes}::text[],
                ${cols.channels}::text[], ${cols.templates}::uuid[], ${cols.details}::jsonb[])
      as u(id, key, contact_id, node_id, channel, template_id, details)
    on conflict (workspace_id, idempotency_key) do nothing`.execute(trx);
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
      await sql`
        update contacts set attributes = (attributes || ${JSON.stringify(effect.set)}::jsonb) - ${effect.unset}::text[],
          updated_at = ${now}
        where workspace_id = ${workspaceId} and id = ${contactId}`.execute(trx);
    }
    for (const listId of effect.addToLists) {
      await sql`
        insert into list_members (workspace_id, list_id, contact_id, added_at)
        select ${workspaceId}, ${listId}, ${contactId}, ${now}
        where exists (select 1 from audiences where workspace_id = ${workspaceId} and id = ${listId} and kind = 'list')
        on conflict do nothing`.execute(trx);
    }
    if (effect.removeFromLists.length) {
      await sql`
        delete from list_members where workspace_id = ${workspaceId} and contact_id = ${contactId}
          and list_id = any(${effect.removeFromLists}::uuid[])`.execute(trx);
    }
    for (const { channel, status } of effect.consent) {
      await sql`
        with previous as (
          select ${sql.ref(`${channel}_consent`)} as status from contacts
          where workspace_id = ${workspaceId} and id = ${contactId} for update
        ), changed as (
          update contacts set ${sql.ref(`${channel}_consent`)} = ${status}, updated_at = ${now}
          where workspace_id = ${workspaceId} and id = ${contactId}
            and ${sql.ref(`${channel}_consent`)} is distinct from ${status}
          returning id
        )
        insert into consent_changes (workspace_id, contact_id, channel, status, previous_status, source, actor, changed_at)
        select ${workspaceId}, ${contactId}, ${channel}, ${status}, (select status from previous), 'workflow',
               ${`campaign:${campaignId}`}, ${now}
        from changed`.execute(trx);
    }
    changed.add(contactId);
  }
  await queueMembershipCheck(trx, workspaceId, [...changed], `campaign ${campaignId} update node`);
}

/** Marks running campaigns with no active member left as completed. */
export async function completeFinishedCampaigns(db: Db, now = new Date()): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    update campaigns c set status = 'completed', finished_at = ${now}, updated_at = ${now}
    where c.status = 'running'
      and not exists (select 1 from enrollments e
                      where e.workspace_id = c.workspace_id and e.campaign_id = c.id and e.state = 'active')
    returning c.id`.execute(db);
  return rows.length;
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
  let stopping = false;
  let wake: (() => void) | undefined;
  const idleWaiters: (() => void)[] = [];
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = async () => {
    let backoff = 250;
    while (!stopping) {
      try {
        const { rows: running } = await sql<{ workspace_id: string; id: string }>`
          select workspace_id, id from campaigns where status = 'running' order by launched_at`.execute(db);
        let claimed = 0;
        for (const campaign of running) {
          if (stopping) break;
          const result = await stepCampaignBatch(db, campaign.workspace_id, campaign.id, options);
          claimed += result.claimed;
        }
        backoff = 250;
        if (claimed === 0) {
          if (running.length) await completeFinishedCampaigns(db);
          for (const resolve of idleWaiters.splice(0)) resolve();
          await sleep(options.idleMs ?? 200);
        }
      } catch (error) {
        options.logger?.warn({ err: error }, "stepper: batch failed; retrying");
        await sleep(backoff);
        backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 5000);
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      stopping = true;
      wake?.();
      for (const resolve of idleWaiters.splice(0)) resolve();
      await running;
    },
    idle() {
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
