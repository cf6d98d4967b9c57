/** SQL of split-node experiments: their rows, members' assignments to variants, and their counts. */
import { sql } from "kysely";
import type { Executor } from "../db/database.ts";

export interface ExperimentRow {
  node_id: string;
  status: "testing" | "decided";
  started_at: Date;
  decide_at: Date;
  decided_at: Date | null;
  winner: string | null;
  reason: string | null;
  statistics: unknown;
}

const COLUMNS = sql`node_id, status, started_at, decide_at, decided_at, winner, reason, statistics`;

/** The campaign's experiments at these nodes, as they are now (no lock). */
export async function selectExperiments(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  nodeIds: string[],
): Promise<ExperimentRow[]> {
  const { rows } = await sql<ExperimentRow>`
    select ${COLUMNS} from split_experiments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and node_id = any(${nodeIds}::text[])
    order by node_id`.execute(db);
  return rows;
}

/**
 * Experiments (those still testing) locked FOR SHARE until the transaction ends: a worker
 * deciding one (FOR UPDATE) waits until the test members this transaction assigns are committed, so
 * that it counts them.
 */
export async function shareTestingExperiments(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  nodeIds: string[],
): Promise<ExperimentRow[]> {
  const { rows } = await sql<ExperimentRow>`
    select ${COLUMNS} from split_experiments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and node_id = any(${nodeIds}::text[])
    order by node_id
    for share`.execute(trx);
  return rows;
}

/**
 * One experiment locked for its decision: a second worker waits here, then finds it decided. NO KEY
 * UPDATE, so that inserting assignments (whose foreign key takes KEY SHARE) never waits for a decider.
 */
export async function lockExperimentForDecision(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  nodeId: string,
): Promise<ExperimentRow | undefined> {
  const { rows } = await sql<ExperimentRow>`
    select ${COLUMNS} from split_experiments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and node_id = ${nodeId}
    for no key update`.execute(trx);
  return rows[0];
}

/**
 * Per variant: test members who are not held out, and those of them with at least one `eventType` event
 * of this campaign from their assignment until `until`, machine opens and clicks excluded. An email
 * clicked counts as opened (as in reports: its pixel may not have loaded). With `convertedCounts`, a
 * member whose enrollment (the same iteration) ended converted also succeeds.
 */
export async function countTestResponses(
  db: Executor,
  workspaceId: string,
  campaignId: string,
  nodeId: string,
  eventType: string,
  until: Date,
  convertedCounts: boolean,
): Promise<{ branch: string; members: number; successes: number }[]> {
  const { rows } = await sql<{ branch: string; members: number; successes: number }>`
    select t.branch, count(*)::int as members, count(*) filter (where t.succeeded)::int as successes
    from (
      select a.branch,
        exists (
          select 1 from events ev
          where ev.workspace_id = a.workspace_id and ev.contact_id = a.contact_id
            and ev.campaign_id = ${campaignId}::text
            and (ev.type = ${eventType}
                 or (${eventType} = 'message.opened' and ev.type = 'message.clicked' and ev.channel = 'email'))
            and ev.occurred_at >= a.at and ev.occurred_at <= ${until}
            and not (ev.properties @> '{"machine": true}'::jsonb)
        ) or (${convertedCounts}::boolean and e.state = 'converted' and e.iteration = a.iteration) as succeeded
      from split_assignments a
      join enrollments e
        on e.workspace_id = a.workspace_id and e.campaign_id = a.campaign_id and e.contact_id = a.contact_id
      where a.workspace_id = ${workspaceId} and a.campaign_id = ${campaignId} and a.node_id = ${nodeId}
        and a.phase = 'test' and not e.holdout
    ) t
    group by t.branch`.execute(db);
  return rows;
}

export async function recordDecision(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  nodeId: string,
  decision: { winner: string; reason: string; statistics: unknown; decidedAt: Date },
) {
  await sql`
    update split_experiments set status = 'decided', winner = ${decision.winner}, reason = ${decision.reason},
      statistics = ${JSON.stringify(decision.statistics)}::jsonb, decided_at = ${decision.decidedAt}
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId} and node_id = ${nodeId}`.execute(trx);
}

/** Starts experiments at their first member's arrival; one that another worker started first stays as it is. */
export async function insertExperimentStarts(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  starts: { nodes: string[]; started: Date[]; decide: Date[] },
) {
  await sql`
    insert into split_experiments (workspace_id, campaign_id, node_id, started_at, decide_at)
    select ${workspaceId}, ${campaignId}, u.node_id, u.started_at, u.decide_at
    from unnest(${starts.nodes}::text[], ${starts.started}::timestamptz[], ${starts.decide}::timestamptz[])
      as u(node_id, started_at, decide_at)
    order by u.node_id
    on conflict do nothing`.execute(trx);
}

/** Records members' variants. The first assignment of an iteration stands (a loop back keeps it). */
export async function insertSplitAssignments(
  trx: Executor,
  workspaceId: string,
  campaignId: string,
  at: Date,
  rows: { contacts: string[]; nodes: string[]; iterations: number[]; branches: string[]; phases: string[] },
) {
  await sql`
    insert into split_assignments (workspace_id, campaign_id, node_id, contact_id, iteration, branch, phase, at)
    select ${workspaceId}, ${campaignId}, u.node_id, u.contact_id, u.iteration, u.branch, u.phase, ${at}
    from unnest(${rows.nodes}::text[], ${rows.contacts}::uuid[], ${rows.iterations}::int[],
                ${rows.branches}::text[], ${rows.phases}::text[])
      as u(node_id, contact_id, iteration, branch, phase)
    on conflict do nothing`.execute(trx);
}

export async function listExperimentRows(
  db: Executor,
  workspaceId: string,
  campaignId: string,
): Promise<ExperimentRow[]> {
  const { rows } = await sql<ExperimentRow>`
    select ${COLUMNS} from split_experiments
    where workspace_id = ${workspaceId} and campaign_id = ${campaignId}
    order by started_at, node_id`.execute(db);
  return rows;
}
