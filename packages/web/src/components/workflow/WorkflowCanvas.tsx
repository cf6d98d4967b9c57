/**
 * The workflow drawn with React Flow: one card per step with its outlets as labelled handles, arrows for
 * the connections. Editable (drag, connect, delete, select) or read-only (versions, campaigns); steps
 * can carry problems, counts and a highlight (the simulator's path). The graph is the only state: every
 * change comes back through `onChange` as a new graph.
 */
import "@xyflow/react/dist/style.css";
import "../../styles/workflows.css";
import {
  Background,
  type Connection,
  Controls,
  type Edge,
  type EdgeChange,
  Handle,
  MarkerType,
  type Node,
  type NodeChange,
  type NodeProps,
  Position,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  displayName,
  hasInlet,
  NODE_TYPE_NAMES,
  outletName,
  outletsOf,
  summaryOf,
  type WorkflowGraph,
  type WorkflowNode,
} from "./graph.ts";

export interface StepData extends Record<string, unknown> {
  node: WorkflowNode;
  summary: string;
  problems: string[];
  counts: { label: string; value: number }[];
  highlighted: boolean;
  current: boolean;
  /** The position of the step in the simulated path, from 1. */
  order: number[];
}
type StepFlowNode = Node<StepData, "step">;

function StepNode({ data, selected }: NodeProps<StepFlowNode>) {
  const { node, problems, counts } = data;
  const outlets = outletsOf(node);
  const classes = [
    "wf-node",
    `wf-node-${node.type}`,
    selected ? "is-selected" : "",
    problems.length ? "has-problems" : "",
    data.highlighted ? "is-highlighted" : "",
    data.current ? "is-current" : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={classes}>
      {hasInlet(node) ? <Handle type="target" position={Position.Top} id="in" className="wf-inlet" /> : null}
      <div className="wf-node-head">
        <span className="wf-node-type">{NODE_TYPE_NAMES[node.type]}</span>
        {data.order.length ? (
          <span className="wf-node-order">
            {data.order.length > 1 ? `steps ${data.order.join(", ")}` : `step ${data.order[0]}`}
          </span>
        ) : null}
      </div>
      {node.label?.trim() ? <div className="wf-node-title">{displayName(node)}</div> : null}
      <div className="wf-node-summary">{data.summary}</div>
      {counts.length ? (
        <ul className="wf-node-counts" aria-label="Counts">
          {counts.map((count) => (
            <li key={count.label} className="wf-count">
              <span className="wf-count-value">{count.value.toLocaleString()}</span> {count.label}
            </li>
          ))}
        </ul>
      ) : null}
      {problems.length ? (
        <ul className="wf-node-problems">
          {problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      ) : null}
      {outlets.length ? (
        <div className="wf-node-outlets">
          {outlets.map((outlet) => (
            <div key={outlet} className="wf-outlet">
              <span className="wf-outlet-name">{outletName(outlet)}</span>
              <Handle
                type="source"
                position={Position.Bottom}
                id={outlet}
                className={`wf-handle${node.outlets?.[outlet] ? "" : " is-open"}`}
                title={`Drag from here to connect “${outletName(outlet)}” to the next step`}
              />
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}

const nodeTypes = { step: StepNode };

/** Keeps every step in view when steps are added or removed (once React Flow has measured them). */
function FitWhenStepsChange({ signature }: { signature: string }) {
  const { fitView } = useReactFlow();
  const initialized = useNodesInitialized();
  const fitted = useRef(signature);
  useEffect(() => {
    if (!initialized || fitted.current === signature) return;
    fitted.current = signature;
    fitView({ padding: 0.15, maxZoom: 1, minZoom: 0.5 });
  }, [initialized, signature, fitView]);
  return null;
}

export function edgeId(source: string, outlet: string): string {
  return `${source}:${outlet}`;
}

/** Removes a node and every connection that leads to it. */
export function removeNodes(graph: WorkflowGraph, ids: string[]): WorkflowGraph {
  const gone = new Set(ids);
  return {
    nodes: graph.nodes
      .filter((n) => !gone.has(n.id) || n.type === "entry")
      .map((n) => ({
        ...n,
        outlets: Object.fromEntries(Object.entries(n.outlets ?? {}).filter(([, to]) => !gone.has(to))),
      })),
  };
}

/** Sets (or with `target` null, removes) where a node's outlet leads. */
export function connect(
  graph: WorkflowGraph,
  source: string,
  outlet: string,
  target: string | null,
): WorkflowGraph {
  return {
    nodes: graph.nodes.map((n) => {
      if (n.id !== source) return n;
      const outlets = { ...(n.outlets ?? {}) };
      if (target) outlets[outlet] = target;
      else delete outlets[outlet];
      return { ...n, outlets } as WorkflowNode;
    }),
  };
}

export interface CanvasProps {
  graph: WorkflowGraph;
  label: string;
  height?: number | string;
  editable?: boolean;
  selectedId?: string | null;
  onSelect?: (id: string | null) => void;
  onChange?: (graph: WorkflowGraph) => void;
  problems?: Record<string, string[]>;
  counts?: Record<string, { label: string; value: number }[]>;
  /** Node ids to emphasise, in the order visited when they are a path. */
  highlight?: string[];
  /** Whether `highlight` is a path in order (the simulator's): steps show their order. */
  path?: boolean;
  /** Edge ids (`source:outlet`) to emphasise; by default the edges between highlighted steps. */
  highlightEdges?: string[];
  /** The step the simulator is showing now. */
  current?: string | null;
  templateName?: (id: string) => string | undefined;
  /** Changing it fits every step into view again (after "Tidy up"). */
  fitSignal?: number;
}

export function WorkflowCanvas({
  graph,
  label,
  height = 600,
  editable = false,
  selectedId = null,
  onSelect,
  onChange,
  problems,
  counts,
  highlight,
  highlightEdges,
  path = false,
  current,
  templateName,
  fitSignal = 0,
}: CanvasProps) {
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});

  const nodes = useMemo<StepFlowNode[]>(() => {
    const visited = new Set(highlight ?? []);
    return graph.nodes.map((node) => {
      const order = path ? (highlight ?? []).flatMap((id, i) => (id === node.id ? [i + 1] : [])) : [];
      const nodeProblems = problems?.[node.id] ?? [];
      const summary = summaryOf(node, templateName);
      const size = sizes[node.id];
      return {
        id: node.id,
        type: "step",
        position: node.position ?? { x: 0, y: 0 },
        data: {
          node,
          summary,
          problems: nodeProblems,
          counts: counts?.[node.id] ?? [],
          highlighted: visited.has(node.id),
          current: current === node.id,
          order: [...new Set(order)].slice(0, 5),
        },
        selected: node.id === selectedId,
        deletable: editable && node.type !== "entry",
        ariaLabel: `${NODE_TYPE_NAMES[node.type]}${node.label?.trim() ? ` “${node.label.trim()}”` : ""}: ${summary}${
          nodeProblems.length ? `. Problems: ${nodeProblems.join(" ")}` : ""
        }`,
        ...(size ? { measured: size } : {}),
      };
    });
  }, [graph, sizes, selectedId, problems, counts, highlight, path, current, editable, templateName]);

  const edges = useMemo<Edge[]>(() => {
    const ids = new Set(graph.nodes.map((n) => n.id));
    const lit = highlight ?? [];
    const litSet = new Set(lit);
    const isLit = (from: string, to: string) =>
      path ? lit.some((id, i) => id === from && lit[i + 1] === to) : litSet.has(from) && litSet.has(to);
    const onPath = new Set(
      highlightEdges ??
        graph.nodes.flatMap((n) =>
          Object.entries(n.outlets ?? {})
            .filter(([, to]) => isLit(n.id, to))
            .map(([outlet]) => edgeId(n.id, outlet)),
        ),
    );
    return graph.nodes.flatMap((node) => {
      const outlets = outletsOf(node);
      const connected = Object.entries(node.outlets ?? {}).filter(
        ([outlet, to]) => ids.has(to) && outlets.includes(outlet),
      );
      // Outlets of one step that lead to the same step share one label, so that labels do not pile up.
      const labelOf = (outlet: string, to: string) => {
        const same = outlets.filter((o) => node.outlets?.[o] === to);
        return same[0] === outlet ? same.map(outletName).join(" · ") : undefined;
      };
      return connected.map(([outlet, to]) => {
        const id = edgeId(node.id, outlet);
        const shown = onPath.has(id);
        return {
          id,
          source: node.id,
          sourceHandle: outlet,
          target: to,
          targetHandle: "in",
          deletable: editable,
          className: shown ? "wf-edge is-highlighted" : "wf-edge",
          markerEnd: {
            type: MarkerType.ArrowClosed,
            width: 18,
            height: 18,
            ...(shown ? { color: "#166534" } : {}),
          },
          ariaLabel: `${displayName(node)} (${outletName(outlet)}) to ${displayName(
            graph.nodes.find((n) => n.id === to) as WorkflowNode,
          )}`,
          ...(outlets.length > 1 && labelOf(outlet, to) ? { label: labelOf(outlet, to) } : {}),
        };
      });
    });
  }, [graph, highlight, highlightEdges, path, editable]);

  const onNodesChange = useCallback(
    (changes: NodeChange<StepFlowNode>[]) => {
      const measured: Record<string, { width: number; height: number }> = {};
      let moved: Record<string, { x: number; y: number }> | null = null;
      const removed: string[] = [];
      let selected: string | null | undefined;
      for (const change of changes) {
        if (change.type === "dimensions" && change.dimensions) measured[change.id] = change.dimensions;
        else if (change.type === "position" && change.position && editable) {
          moved = { ...(moved ?? {}), [change.id]: change.position };
        } else if (change.type === "remove" && editable) removed.push(change.id);
        else if (change.type === "select") {
          if (change.selected) selected = change.id;
          else if (selected === undefined && change.id === selectedId) selected = null;
        }
      }
      if (Object.keys(measured).length) setSizes((current) => ({ ...current, ...measured }));
      if (moved && onChange) {
        const positions = moved;
        onChange({
          nodes: graph.nodes.map((n) =>
            positions[n.id]
              ? { ...n, position: { x: Math.round(positions[n.id]!.x), y: Math.round(positions[n.id]!.y) } }
              : n,
          ),
        });
      }
      if (removed.length && onChange) onChange(removeNodes(graph, removed));
      if (selected !== undefined && onSelect) onSelect(selected);
    },
    [editable, graph, onChange, onSelect, selectedId],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      if (!editable || !onChange) return;
      let next = graph;
      for (const change of changes) {
        if (change.type !== "remove") continue;
        const [source, outlet] = change.id.split(":");
        if (source && outlet) next = connect(next, source, outlet, null);
      }
      if (next !== graph) onChange(next);
    },
    [editable, graph, onChange],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      if (!onChange || !connection.sourceHandle) return;
      onChange(connect(graph, connection.source, connection.sourceHandle, connection.target));
    },
    [graph, onChange],
  );

  const isValidConnection = useCallback(
    (connection: Connection | Edge) => {
      const target = graph.nodes.find((n) => n.id === connection.target);
      return Boolean(target && hasInlet(target) && connection.source !== connection.target);
    },
    [graph],
  );

  return (
    <section className="wf-canvas" style={{ height }} aria-label={label}>
      <ReactFlow<StepFlowNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onPaneClick={() => onSelect?.(null)}
        nodesDraggable={editable}
        nodesConnectable={editable}
        nodesFocusable
        edgesFocusable={editable}
        elementsSelectable={Boolean(onSelect) || editable}
        deleteKeyCode={editable ? ["Delete", "Backspace"] : null}
        connectionRadius={40}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1, minZoom: 0.5 }}
        minZoom={0.2}
        maxZoom={1.5}
        proOptions={{ hideAttribution: false }}
      >
        <FitWhenStepsChange signature={`${nodes.length}:${fitSignal}`} />
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </section>
  );
}
