/**
 * A workflow's editor: the draft on a canvas (add steps from the palette, connect outlets by dragging or
 * with the "next steps" selects, configure the selected step in the side panel, delete with the Delete
 * key), saved as a draft, validated with each problem shown on its step, published as an immutable
 * version; published versions viewed read-only; and the simulator, which plays a member's path back on
 * the canvas.
 */
import "../styles/workflows.css";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type KeyboardEvent, type ReactNode, useCallback, useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { errorsFrom, Field, SelectField } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import {
  ADDABLE_TYPES,
  asGraph,
  displayName,
  freshId,
  friendlyProblem,
  localProblems,
  NODE_TYPE_HELP,
  NODE_TYPE_NAMES,
  type NodeType,
  newNode,
  outletsOf,
  type WorkflowGraph,
  type WorkflowNode,
  type WorkflowProblem,
  withPositions,
} from "../components/workflow/graph.ts";
import { NodePanel } from "../components/workflow/NodePanel.tsx";
import { pathOf, type SimulationView, Simulator } from "../components/workflow/Simulator.tsx";
import { connect, removeNodes, WorkflowCanvas } from "../components/workflow/WorkflowCanvas.tsx";
import { problemsOf, type Workflow, workflowsApi } from "../components/workflow/workflowApi.ts";
import { can, useSession } from "../session.ts";

export default function WorkflowEditor({ params }: { params: { id: string } }) {
  const workflow = useQuery({
    queryKey: ["workflow", params.id],
    queryFn: () => workflowsApi.get(params.id),
  });
  if (workflow.isPending) return <Loading label="Loading the workflow" />;
  if (workflow.error) return <PageError error={workflow.error} />;
  return <Editor key={workflow.data.id} workflow={workflow.data} />;
}

type Tab = "step" | "problems" | "versions" | "simulate";
const TABS: { id: Tab; label: string }[] = [
  { id: "step", label: "Step" },
  { id: "problems", label: "Problems" },
  { id: "versions", label: "Versions" },
  { id: "simulate", label: "Simulate" },
];

function Editor({ workflow }: { workflow: Workflow }) {
  const session = useSession();
  const writable = can(session.role, "write");
  const queryClient = useQueryClient();
  const [graph, setGraph] = useState<WorkflowGraph>(() => withPositions(asGraph(workflow.graph)));
  const [name, setName] = useState(workflow.name);
  const [nameError, setNameError] = useState<string>();
  const [dirty, setDirty] = useState(false);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [problems, setProblems] = useState<WorkflowProblem[] | null>(null);
  const [notice, setNotice] = useState<{ tone: "success" | "info" | "error"; text: string } | null>(null);
  const [tab, setTab] = useState<Tab>("step");
  const [viewing, setViewing] = useState<number | null>(null);
  const [simulation, setSimulation] = useState<SimulationView | null>(null);
  const [fitSignal, setFitSignal] = useState(0);
  /** The step selected on a published version's read-only canvas. */
  const [versionStepId, setVersionStepId] = useState<string | null>(null);

  // Warn before leaving the page (closing the tab, reloading) with unsaved changes.
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const versions = useQuery({
    queryKey: ["workflow", workflow.id, "versions"],
    queryFn: () => workflowsApi.versions(workflow.id),
  });
  const templates = useQuery({ queryKey: ["templates", "names"], queryFn: () => workflowsApi.templates() });
  const templateNames = useMemo(
    () => new Map((templates.data?.data ?? []).map((t) => [t.id, t.name])),
    [templates.data],
  );
  const templateName = useCallback((id: string) => templateNames.get(id), [templateNames]);

  const shownVersion = tab === "simulate" && simulation ? simulation.version : viewing;
  const version = useQuery({
    queryKey: ["workflow", workflow.id, "version", shownVersion],
    queryFn: () => workflowsApi.version(workflow.id, shownVersion as number),
    enabled: shownVersion !== null,
  });
  const versionGraph = useMemo(
    () => (version.data ? withPositions(asGraph(version.data.graph)) : null),
    [version.data],
  );

  const change = useCallback((next: WorkflowGraph) => {
    setGraph(next);
    setDirty(true);
    setNotice(null);
  }, []);

  const save = useMutation({
    mutationFn: () => workflowsApi.save(workflow.id, { name: name.trim(), graph }),
    onSuccess: (saved) => {
      setDirty(false);
      queryClient.setQueryData(["workflow", workflow.id], saved);
      queryClient.invalidateQueries({ queryKey: ["workflows"] });
    },
  });

  const validate = useMutation({
    mutationFn: () => workflowsApi.validate(workflow.id, graph),
    onSuccess: (server) => {
      const errors = [...localProblems(graph), ...server.errors];
      const result = { valid: errors.length === 0, errors };
      setProblems(result.errors);
      if (result.valid)
        setNotice({ tone: "success", text: "No problems found: the workflow is ready to publish." });
      else {
        setNotice({
          tone: "error",
          text: `${result.errors.length} problem${result.errors.length === 1 ? "" : "s"} to fix before publishing. They are marked in red on the steps.`,
        });
        setTab("problems");
      }
    },
    onError: (error) => setNotice({ tone: "error", text: messageOf(error) }),
  });

  const publish = useMutation({
    mutationFn: async () => {
      if (dirty) await save.mutateAsync();
      return workflowsApi.publish(workflow.id);
    },
    onSuccess: (published) => {
      setProblems([]);
      setNotice({
        tone: "success",
        text:
          published.version === latest
            ? `Nothing changed since version ${published.version}: it is still the latest.`
            : `Published as version ${published.version}.`,
      });
      queryClient.invalidateQueries({ queryKey: ["workflow", workflow.id] });
      queryClient.invalidateQueries({ queryKey: ["workflows"] });
    },
    onError: (error) => {
      const found = problemsOf(error);
      if (found.length) {
        setProblems(found);
        setTab("problems");
        setNotice({
          tone: "error",
          text: `Not published: ${found.length} problem${found.length === 1 ? "" : "s"} to fix first. They are marked in red on the steps.`,
        });
      } else setNotice({ tone: "error", text: messageOf(error) });
    },
  });

  function saveDraft() {
    const trimmed = name.trim();
    const error = trimmed
      ? trimmed.length > 200
        ? "At most 200 characters."
        : undefined
      : "Give it a name.";
    setNameError(error);
    if (error) {
      setSelectedId(null);
      setTab("step");
      return;
    }
    save.mutate(undefined, {
      onSuccess: () => setNotice({ tone: "success", text: "Draft saved." }),
      onError: (err) => {
        const found = errorsFrom(err, ["name"] as const);
        if (found.name) {
          setNameError(found.name);
          setSelectedId(null);
          setTab("step");
        }
        setNotice({
          tone: "error",
          text: found.name ? "Not saved: check the workflow name." : messageOf(err),
        });
      },
    });
  }

  function addNode(type: NodeType) {
    const id = freshId(graph, type);
    const selected = graph.nodes.find((n) => n.id === selectedId);
    const openOutlet = selected ? outletsOf(selected).find((o) => !selected.outlets?.[o]) : undefined;
    const below = selected?.position
      ? { x: selected.position.x, y: selected.position.y + 170 }
      : { x: 0, y: Math.max(0, ...graph.nodes.map((n) => n.position?.y ?? 0)) + 170 };
    let next: WorkflowGraph = { nodes: [...graph.nodes, newNode(type, id, below)] };
    if (selected && openOutlet) next = connect(next, selected.id, openOutlet, id);
    change(next);
    setSelectedId(id);
    setTab("step");
  }

  const problemsByNode = useMemo(() => {
    const byNode: Record<string, string[]> = {};
    for (const problem of problems ?? []) {
      if (problem.nodeId)
        byNode[problem.nodeId] = [...(byNode[problem.nodeId] ?? []), friendlyProblem(problem)];
    }
    return byNode;
  }, [problems]);

  function focusNode(id: string) {
    setSelectedId(id);
    setViewing(null);
    setTab("step");
    requestAnimationFrame(() => {
      const element = document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
      element?.focus();
    });
  }

  const selectedIndex = graph.nodes.findIndex((n) => n.id === selectedId);
  const versionStep = versionGraph?.nodes.find((n) => n.id === versionStepId);
  const selected = selectedIndex >= 0 ? graph.nodes[selectedIndex] : undefined;
  const latest = versions.data?.data[0]?.version ?? workflow.latestVersion;
  const busy = save.isPending || publish.isPending || validate.isPending;

  const simulationPath = useMemo(() => {
    if (!simulation) return null;
    return pathOf(simulation.simulation.timeline.slice(0, simulation.shown));
  }, [simulation]);
  const currentSimStep = simulation
    ? simulation.simulation.timeline[simulation.shown - 1]?.nodeId
    : undefined;

  let canvas: ReactNode;
  if (shownVersion !== null) {
    canvas = (
      <div>
        <div className="wf-viewing alert alert-info" role="status">
          <span>
            {tab === "simulate" && simulation
              ? `Showing the simulated path on version ${shownVersion} (read-only).`
              : `Viewing version ${shownVersion} (read-only).`}
          </span>
          {tab !== "simulate" ? (
            <button type="button" className="button secondary small" onClick={() => setViewing(null)}>
              Back to the draft
            </button>
          ) : null}
        </div>
        {version.isPending ? <Loading label={`Loading version ${shownVersion}`} /> : null}
        {version.error ? <PageError error={version.error} /> : null}
        {versionGraph ? (
          <WorkflowCanvas
            key={`version-${shownVersion}`}
            graph={versionGraph}
            label={`Version ${shownVersion} of the workflow, read-only`}
            templateName={templateName}
            {...(simulationPath && tab === "simulate"
              ? { highlight: simulationPath.nodes, highlightEdges: simulationPath.edges, path: true }
              : {})}
            current={tab === "simulate" ? (currentSimStep ?? null) : null}
            selectedId={tab === "simulate" ? null : versionStepId}
            onSelect={(id) => {
              if (tab === "simulate") return;
              setVersionStepId(id);
              if (id) setTab("step");
            }}
          />
        ) : null}
      </div>
    );
  } else {
    canvas = (
      <WorkflowCanvas
        key="draft"
        graph={graph}
        label="The workflow's steps"
        editable={writable}
        selectedId={selectedId}
        onSelect={(id) => {
          setSelectedId(id);
          if (id) setTab("step");
        }}
        onChange={change}
        problems={problemsByNode}
        templateName={templateName}
        fitSignal={fitSignal}
      />
    );
  }

  function onTabKey(event: KeyboardEvent<HTMLButtonElement>, index: number) {
    const delta = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!delta) return;
    event.preventDefault();
    const next = TABS[(index + delta + TABS.length) % TABS.length] as (typeof TABS)[number];
    setTab(next.id);
    document.getElementById(`wf-tab-${next.id}`)?.focus();
  }

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">
            <Link href="/workflows">Workflows</Link>
          </p>
          <h1>{workflow.name}</h1>
          <p className="muted">
            {latest ? `Version ${latest} published` : "Not published yet"}
            {dirty
              ? " · unsaved changes"
              : workflow.draftChanged && latest
                ? " · the draft has changes not yet published"
                : ""}
          </p>
        </div>
      </header>

      {writable ? (
        <div className="wf-toolbar" role="toolbar" aria-label="Workflow actions">
          <button type="button" className="button secondary" onClick={saveDraft} disabled={busy}>
            {save.isPending && !publish.isPending ? "Saving…" : "Save draft"}
          </button>
          <button
            type="button"
            className="button secondary"
            onClick={() => validate.mutate()}
            disabled={busy}
          >
            {validate.isPending ? "Checking…" : "Check for problems"}
          </button>
          <button
            type="button"
            className="button primary"
            onClick={() => {
              const local = localProblems(graph);
              if (local.length) {
                setProblems(local);
                setTab("problems");
                setNotice({
                  tone: "error",
                  text: `Not published: ${local.length} problem${local.length === 1 ? "" : "s"} to fix first. They are marked in red on the steps.`,
                });
                return;
              }
              setNotice(null);
              publish.mutate();
            }}
            disabled={busy}
          >
            {publish.isPending ? "Publishing…" : "Publish"}
          </button>
          <button
            type="button"
            className="button secondary"
            onClick={() => {
              change(withPositions(graph, true));
              setFitSignal((n) => n + 1);
            }}
            disabled={viewing !== null}
          >
            Tidy up the layout
          </button>
          <span className="wf-status" aria-live="polite">
            {dirty ? "Unsaved changes" : "All changes saved"}
          </span>
        </div>
      ) : (
        <Alert tone="info">
          You can look at this workflow and simulate it; only marketers and admins change it.
        </Alert>
      )}
      {notice ? <Alert tone={notice.tone}>{notice.text}</Alert> : null}

      {writable && shownVersion === null ? (
        <section className="wf-palette" aria-labelledby="wf-palette-heading">
          <h2 id="wf-palette-heading">Add a step</h2>
          {ADDABLE_TYPES.map((type) => (
            <button
              key={type}
              type="button"
              className="button secondary small"
              title={NODE_TYPE_HELP[type]}
              onClick={() => addNode(type)}
            >
              {NODE_TYPE_NAMES[type]}
            </button>
          ))}
        </section>
      ) : null}

      <div className="wf-editor">
        <div>
          {canvas}
          {shownVersion === null ? (
            <p className="muted small">
              Drag from a step's round handle to another step to connect them, or use “Next steps” in the side
              panel. A new step is connected after the selected step when it has a free connection. Select a
              step and press Delete to remove it.
            </p>
          ) : null}
        </div>
        <aside className="wf-panel" aria-label="Workflow side panel">
          <div className="wf-tabs" role="tablist" aria-label="Side panel">
            {TABS.map((t, i) => (
              <button
                key={t.id}
                id={`wf-tab-${t.id}`}
                type="button"
                role="tab"
                className="wf-tab"
                aria-selected={tab === t.id}
                aria-controls={`wf-tabpanel-${t.id}`}
                tabIndex={tab === t.id ? 0 : -1}
                onClick={() => setTab(t.id)}
                onKeyDown={(event) => onTabKey(event, i)}
              >
                {t.label}
                {t.id === "problems" && problems?.length ? ` (${problems.length})` : ""}
              </button>
            ))}
          </div>
          <div id={`wf-tabpanel-${tab}`} role="tabpanel" aria-labelledby={`wf-tab-${tab}`}>
            {tab === "step" ? (
              <div className="wf-form">
                {shownVersion === null ? (
                  <SelectField
                    label="Selected step"
                    value={selected?.id ?? ""}
                    onChange={(id) => setSelectedId(id || null)}
                    options={[
                      { value: "", label: "None: the workflow itself" },
                      ...graph.nodes.map((n) => ({ value: n.id, label: `${displayName(n)} (${n.id})` })),
                    ]}
                    hint="Or click a step on the canvas (or Tab to it and press Enter)."
                  />
                ) : null}
                {selected && shownVersion === null ? (
                  <NodePanel
                    key={selected.id}
                    node={selected}
                    index={selectedIndex}
                    graph={graph}
                    problems={(problems ?? []).filter((p) => p.nodeId === selected.id)}
                    disabled={!writable}
                    onChange={(node: WorkflowNode) =>
                      change({ nodes: graph.nodes.map((n) => (n.id === selected.id ? node : n)) })
                    }
                    onConnect={(outlet, target) => change(connect(graph, selected.id, outlet, target))}
                    onDelete={() => {
                      change(removeNodes(graph, [selected.id]));
                      setSelectedId(null);
                    }}
                  />
                ) : versionStep && versionGraph && shownVersion !== null ? (
                  <NodePanel
                    key={`v${shownVersion}-${versionStep.id}`}
                    node={versionStep}
                    index={versionGraph.nodes.indexOf(versionStep)}
                    graph={versionGraph}
                    problems={[]}
                    disabled
                    onChange={() => undefined}
                    onConnect={() => undefined}
                    onDelete={() => undefined}
                  />
                ) : (
                  <div className="wf-form">
                    <p className="muted">
                      {shownVersion !== null
                        ? "Published versions cannot change. Select a step to see its settings, or go back to the draft to edit."
                        : writable
                          ? "Choose a step to change it, or add one with the buttons above the canvas."
                          : "Select a step on the canvas to see its settings."}
                    </p>
                    <Field
                      label="Workflow name"
                      value={name}
                      onChange={(value) => {
                        setName(value);
                        setDirty(true);
                      }}
                      error={nameError}
                      disabled={!writable}
                      maxLength={200}
                      autoComplete="off"
                    />
                  </div>
                )}
              </div>
            ) : null}
            {tab === "problems" ? (
              <div className="wf-form">
                {problems === null ? (
                  <p className="muted">
                    {writable
                      ? "Press “Check for problems” to look for anything that would stop the workflow from publishing."
                      : "Nothing checked yet."}
                  </p>
                ) : problems.length === 0 ? (
                  <p>No problems found.</p>
                ) : (
                  <ul className="wf-problems" aria-label="Problems to fix">
                    {problems.map((problem, i) => {
                      const node = graph.nodes.find((n) => n.id === problem.nodeId);
                      return (
                        // biome-ignore lint/suspicious/noArrayIndexKey: problems are a fixed list
                        <li key={i} className="wf-problem-item">
                          {node ? (
                            <button type="button" className="wf-problem" onClick={() => focusNode(node.id)}>
                              <strong>{displayName(node)}</strong> ({node.id}): {friendlyProblem(problem)}
                            </button>
                          ) : (
                            <p className="alert alert-error">{friendlyProblem(problem)}</p>
                          )}
                        </li>
                      );
                    })}
                  </ul>
                )}
              </div>
            ) : null}
            {tab === "versions" ? (
              <div className="wf-form">
                {versions.isPending ? <Loading label="Loading versions" /> : null}
                {versions.error ? <PageError error={versions.error} /> : null}
                {versions.data && versions.data.data.length === 0 ? (
                  <p className="muted">
                    No version yet. Publish the workflow to make version 1, which campaigns can then use.
                  </p>
                ) : null}
                {versions.data && versions.data.data.length > 0 ? (
                  <ul className="wf-versions" aria-label="Published versions">
                    {versions.data.data.map((v) => (
                      <li key={v.version}>
                        <span>
                          <strong>Version {v.version}</strong>
                          <span className="muted small"> · {new Date(v.publishedAt).toLocaleString()}</span>
                        </span>
                        <button
                          type="button"
                          className="button secondary small"
                          aria-pressed={viewing === v.version}
                          onClick={() => setViewing(viewing === v.version ? null : v.version)}
                        >
                          {viewing === v.version ? "Back to the draft" : `View version ${v.version}`}
                        </button>
                      </li>
                    ))}
                  </ul>
                ) : null}
              </div>
            ) : null}
            {tab === "simulate" ? (
              <Simulator
                workflowId={workflow.id}
                versions={versions.data?.data ?? []}
                graphOf={versionGraph}
                view={simulation}
                onView={setSimulation}
              />
            ) : null}
          </div>
        </aside>
      </div>
    </div>
  );
}
