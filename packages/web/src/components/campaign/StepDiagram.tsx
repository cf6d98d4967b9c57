/**
 * The campaign's workflow drawn with each step's member counts on it. The drawing library is loaded only
 * when a campaign page needs it; the table beside it says the same for those who cannot see it.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { Component, lazy, type ReactNode, Suspense } from "react";
import { Loading } from "../feedback.tsx";
import { countsForDiagram, type NodeCountRow } from "./NodeCounts.tsx";

const WorkflowDiagram = lazy(() =>
  import("../workflow/WorkflowDiagram.tsx").then((m) => ({ default: m.WorkflowDiagram })),
);

/** A drawing that fails to load leaves the table alone rather than the page blank. */
class DrawingBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override render() {
    return this.state.failed ? null : this.props.children;
  }
}

export function StepDiagram({
  graph,
  rows,
  label,
}: {
  graph: WorkflowGraph;
  rows: NodeCountRow[];
  label: string;
}) {
  return (
    <div className="step-diagram">
      <DrawingBoundary>
        <Suspense fallback={<Loading label="Drawing the workflow" />}>
          <WorkflowDiagram graph={graph} counts={countsForDiagram(rows)} height={360} label={label} />
        </Suspense>
      </DrawingBoundary>
    </div>
  );
}
