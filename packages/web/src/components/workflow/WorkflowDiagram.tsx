/**
 * A read-only drawing of a workflow graph, for pages that show a workflow without editing it (a
 * campaign's per-step counts, a published version). Steps without positions are laid out by distance
 * from the start.
 */
import type { JSX } from "react";
import { useMemo } from "react";
import { asGraph, type WorkflowGraph, withPositions } from "./graph.ts";
import { WorkflowCanvas } from "./WorkflowCanvas.tsx";

export function WorkflowDiagram(props: {
  graph: WorkflowGraph;
  counts?: Record<string, { label: string; value: number }[]>;
  highlight?: string[];
  height?: number;
  label: string;
}): JSX.Element {
  const graph = useMemo(() => withPositions(asGraph(props.graph)), [props.graph]);
  return (
    <WorkflowCanvas
      graph={graph}
      label={props.label}
      height={props.height ?? 480}
      {...(props.counts ? { counts: props.counts } : {})}
      {...(props.highlight ? { highlight: props.highlight } : {})}
    />
  );
}
