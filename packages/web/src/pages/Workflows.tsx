/** Workflows: what happens to each member of a campaign, step by step; the list and making a new one. */
import "../styles/workflows.css";
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { NewNamedItemForm } from "../components/NewNamedItemForm.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import { starterGraph } from "../components/workflow/graph.ts";
import { type Workflow, workflowsApi } from "../components/workflow/workflowApi.ts";
import { can, useSession } from "../session.ts";

function statusOf(workflow: Workflow): { label: string; tone: string } {
  if (workflow.latestVersion === null) return { label: "Draft", tone: "neutral" };
  if (workflow.draftChanged) return { label: "Unpublished changes", tone: "warning" };
  return { label: "Published", tone: "success" };
}

export default function Workflows() {
  const session = useSession();
  const pages = useCursorPages();
  const { cursor } = pages;
  const workflows = useQuery({
    queryKey: ["workflows", cursor],
    queryFn: () => workflowsApi.list(cursor),
  });
  const writable = can(session.role, "write");
  const empty = workflows.data && workflows.data.data.length === 0 && pages.page === 1;
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Workflows</h1>
          <p className="muted">
            What happens to each member of a campaign, step by step: the messages they get, how long to wait,
            and which way to go depending on what they do. Publish a workflow to use it in a campaign; each
            publication is a version that never changes.
          </p>
        </div>
      </header>
      {writable ? <NewWorkflowForm /> : null}
      {workflows.isPending ? <Loading label="Loading workflows" /> : null}
      {workflows.error ? <PageError error={workflows.error} /> : null}
      {empty ? (
        <EmptyState title="No workflows yet">
          <p>
            {writable
              ? "Give your first workflow a name above. It starts with a start and an exit; add messages, waits and branches on the canvas, then publish it."
              : "When a teammate makes a workflow, it appears here."}
          </p>
        </EmptyState>
      ) : null}
      {workflows.data && workflows.data.data.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Workflows</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Latest version</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {workflows.data.data.map((workflow) => {
                  const status = statusOf(workflow);
                  return (
                    <tr key={workflow.id}>
                      <th scope="row">
                        <Link href={`/workflows/${workflow.id}`}>{workflow.name}</Link>
                      </th>
                      <td>
                        <span className={`badge ${status.tone}`}>{status.label}</span>
                      </td>
                      <td>{workflow.latestVersion === null ? "Not published" : workflow.latestVersion}</td>
                      <td>{new Date(workflow.updatedAt).toLocaleString()}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} nextCursor={workflows.data.nextCursor} label="Pages of workflows" />
        </>
      ) : null}
    </div>
  );
}

function NewWorkflowForm() {
  return (
    <NewNamedItemForm
      title="New workflow"
      nameLabel="Workflow name"
      nameHint="For example “Welcome series” or “Win back lapsed customers”."
      submitLabel="New workflow"
      pendingLabel="Creating…"
      create={(name) => workflowsApi.create(name, starterGraph())}
      hrefOf={(id) => `/workflows/${id}`}
      sectionClassName="card wf-new"
    />
  );
}
