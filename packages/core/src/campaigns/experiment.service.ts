/**
 * Split-node experiments of a running campaign: the stepper loads their state for each batch, and the
 * first batch at or after an experiment's decide_at decides it (once: the row is locked for the
 * decision, and a second worker waits and then finds it decided). Reports read them with listExperiments.
 */
import type { NodeOf } from "@omneural/contracts/workflows";
import type { Executor } from "../db/database.ts";
import type { ExperimentEffect, ExperimentState } from "../workflows/transition.ts";
import {
  countTestResponses,
  type ExperimentRow,
  insertExperimentStarts,
  insertSplitAssignments,
  listExperimentRows,
  lockExperimentForDecision,
  recordDecision,
  selectExperiments,
  shareTestingExperiments,
} from "./experiment.repository.ts";
import {
  chooseWinner,
  type ExperimentDecision,
  type ExperimentRecord,
  type ExperimentStatistics,
  METRIC_EVENT,
} from "./experiment.ts";

/**
 * The state of the campaign's experiments at these split nodes, for one stepper batch. Those whose test
 * window is over are decided first; those still testing are locked FOR SHARE for the batch, so that a
 * worker deciding one counts every test member this batch assigns.
 */
export async function loadExperimentStates(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  nodes: readonly NodeOf<"split">[],
  now: Date,
): Promise<Map<string, ExperimentState>> {
  const states = new Map<string, ExperimentState>();
  if (nodes.length === 0) return states;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Rows come in node order and are locked in it, so two workers never wait on each other in a circle.
  for (const row of await selectExperiments(trx, workspaceId, campaignId, [...byId.keys()])) {
    if (row.status === "decided") {
      states.set(row.node_id, toState(row));
    } else if (row.decide_at.getTime() <= now.getTime()) {
      const decided = await decideExperiment(trx, workspaceId, campaignId, byId.get(row.node_id)!, now);
      if (decided) states.set(row.node_id, toState(decided));
    } else {
      // Read again under the lock: another worker (whose clock is ahead) may have decided meanwhile.
      const [locked] = await shareTestingExperiments(trx, workspaceId, campaignId, [row.node_id]);
      if (locked) states.set(row.node_id, toState(locked));
    }
  }
  return states;
}

/**
 * Decides one experiment whose window is over, unless another worker did: counts each variant's test
 * members and successes, chooses the winner and records it with its statistics. Returns the row as it
 * stands afterwards.
 */
export async function decideExperiment(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  node: NodeOf<"split">,
  now: Date,
): Promise<ExperimentRow | undefined> {
  const experiment = node.experiment;
  if (!experiment) throw new Error(`split node "${node.id}" has no experiment`);
  const row = await lockExperimentForDecision(trx, workspaceId, campaignId, node.id);
  if (!row || row.status === "decided") return row;
  const counted = await countTestResponses(
    trx,
    workspaceId,
    campaignId,
    node.id,
    METRIC_EVENT[experiment.metric],
    now,
    experiment.metric === "conversion",
  );
  const byBranch = new Map(counted.map((c) => [c.branch, c]));
  const counts = node.branches.map((b) => ({
    key: b.key,
    members: byBranch.get(b.key)?.members ?? 0,
    successes: byBranch.get(b.key)?.successes ?? 0,
  }));
  const decision: ExperimentDecision = chooseWinner(experiment, counts);
  await recordDecision(trx, workspaceId, campaignId, node.id, { ...decision, decidedAt: now });
  return { ...row, status: "decided", winner: decision.winner, reason: decision.reason, decided_at: now };
}

/** Writes what a batch's steps recorded about experiments: the ones started, then the assignments. */
export async function recordExperimentEffects(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  now: Date,
  recorded: { contactId: string; iteration: number; effects: readonly ExperimentEffect[] }[],
) {
  const starts = new Map<string, { started: Date; decide: Date }>();
  const assignments = {
    contacts: [] as string[],
    nodes: [] as string[],
    iterations: [] as number[],
    branches: [] as string[],
    phases: [] as string[],
  };
  for (const { contactId, iteration, effects } of recorded) {
    for (const effect of effects) {
      if (effect.kind === "start") {
        if (!starts.has(effect.nodeId))
          starts.set(effect.nodeId, { started: effect.startedAt, decide: effect.decideAt });
      } else {
        assignments.contacts.push(contactId);
        assignments.nodes.push(effect.nodeId);
        assignments.iterations.push(iteration);
        assignments.branches.push(effect.branch);
        assignments.phases.push(effect.phase);
      }
    }
  }
  if (starts.size) {
    const nodes = [...starts.keys()];
    await insertExperimentStarts(trx, workspaceId, campaignId, {
      nodes,
      started: nodes.map((n) => starts.get(n)!.started),
      decide: nodes.map((n) => starts.get(n)!.decide),
    });
  }
  if (assignments.contacts.length) {
    await insertSplitAssignments(trx, workspaceId, campaignId, now, assignments);
  }
}

/** The campaign's experiments with their decisions and statistics, oldest first. */
export async function listExperiments(
  db: Executor,
  workspaceId: string,
  campaignId: string,
): Promise<ExperimentRecord[]> {
  const rows = await listExperimentRows(db, workspaceId, campaignId);
  return rows.map((r) => ({
    nodeId: r.node_id,
    status: r.status,
    startedAt: r.started_at,
    decideAt: r.decide_at,
    decidedAt: r.decided_at,
    winner: r.winner,
    reason: r.reason,
    statistics: (r.statistics as ExperimentStatistics | null) ?? null,
  }));
}

function toState(row: ExperimentRow): ExperimentState {
  if (row.status === "decided" && row.winner !== null) {
    return { status: "decided", decideAt: row.decide_at, winner: row.winner, reason: row.reason ?? "" };
  }
  return { status: "testing", decideAt: row.decide_at };
}
