/** How many members are at each step of the workflow now, by state, as a table anyone can read. */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { STATE_LABELS } from "./campaignApi.ts";

export type NodeCountRow = { nodeId: string; state: string; count: number };

const NODE_TYPE_LABELS: Record<string, string> = {
  entry: "Start",
  send: "Send",
  wait: "Wait",
  wait_for: "Wait for",
  condition: "Condition",
  split: "Split",
  update: "Update",
  webhook: "Webhook",
  goal: "Goal",
  exit: "Exit",
};

const STATE_ORDER = ["active", "completed", "converted", "failed", "cancelled"];

export function nodeName(graph: WorkflowGraph | undefined, nodeId: string): string {
  const node = graph?.nodes.find((n) => n.id === nodeId);
  if (!node) return nodeId;
  return node.label || `${NODE_TYPE_LABELS[node.type] ?? node.type} (${node.id})`;
}

/** Per node, its counts as the diagram shows them: one badge per state. */
export function countsForDiagram(rows: NodeCountRow[]): Record<string, { label: string; value: number }[]> {
  const out: Record<string, { label: string; value: number }[]> = {};
  for (const row of rows) {
    (out[row.nodeId] ??= []).push({ label: STATE_LABELS[row.state] ?? row.state, value: row.count });
  }
  return out;
}

export function NodeCountsTable({ rows, graph }: { rows: NodeCountRow[]; graph: WorkflowGraph | undefined }) {
  const states = STATE_ORDER.filter((s) => rows.some((r) => r.state === s)).concat(
    [...new Set(rows.map((r) => r.state))].filter((s) => !STATE_ORDER.includes(s)),
  );
  const order = graph?.nodes.map((n) => n.id) ?? [];
  const nodeIds = [
    ...new Set([...order.filter((id) => rows.some((r) => r.nodeId === id)), ...rows.map((r) => r.nodeId)]),
  ];
  if (rows.length === 0) {
    return (
      <p className="muted">No one is in the campaign yet. Members appear here step by step once it runs.</p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Members per step, by state</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            {states.map((state) => (
              <th key={state} scope="col" className="num">
                {STATE_LABELS[state] ?? state}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {nodeIds.map((nodeId) => (
            <tr key={nodeId}>
              <th scope="row">{nodeName(graph, nodeId)}</th>
              {states.map((state) => (
                <td key={state} className="num">
                  {(rows.find((r) => r.nodeId === nodeId && r.state === state)?.count ?? 0).toLocaleString()}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
