/** The workflow calls of the API, typed with the contracts the server validates with. */
import type { Contact } from "@omneural/contracts/contacts";
import type { Template } from "@omneural/contracts/templates";
import type {
  SimulateRequest,
  Simulation,
  TraceEntry,
  Workflow,
  WorkflowProblem,
  WorkflowVersion,
} from "@omneural/contracts/workflows";
import { ApiError, request } from "../../api.ts";
import type { WorkflowGraph } from "./graph.ts";

export type { Simulation, TraceEntry, Workflow, WorkflowVersion };
export type VersionSummary = Omit<WorkflowVersion, "graph">;

const encode = encodeURIComponent;
const base = (id: string) => `/api/v1/workflows/${encode(id)}`;

export const workflowsApi = {
  list: (cursor: string | undefined) => {
    const query = new URLSearchParams({ limit: "25" });
    if (cursor) query.set("cursor", cursor);
    return request<{ data: Workflow[]; nextCursor: string | null }>("GET", `/api/v1/workflows?${query}`);
  },
  get: (id: string) => request<Workflow>("GET", base(id)),
  create: (name: string, graph: WorkflowGraph) =>
    request<Workflow>("POST", "/api/v1/workflows", { name, graph }),
  save: (id: string, body: { name?: string; graph?: WorkflowGraph }) =>
    request<Workflow>("PATCH", base(id), body),
  validate: (id: string, graph: WorkflowGraph) =>
    request<{ valid: boolean; errors: WorkflowProblem[] }>("POST", `${base(id)}/validate`, { graph }),
  publish: (id: string) => request<WorkflowVersion>("POST", `${base(id)}/publish`),
  versions: (id: string) => request<{ data: VersionSummary[] }>("GET", `${base(id)}/versions`),
  version: (id: string, version: number) =>
    request<WorkflowVersion>("GET", `${base(id)}/versions/${version}`),
  simulate: (id: string, version: number, body: SimulateRequest) =>
    request<Simulation>("POST", `${base(id)}/versions/${version}/simulate`, body),

  /** Templates to pick from: one page of up to 200, of one channel or all. */
  templates: (channel?: string) =>
    request<{ data: Template[]; nextCursor: string | null }>(
      "GET",
      `/api/v1/templates?limit=200${channel ? `&channel=${encode(channel)}` : ""}`,
    ),
  adDestinations: () =>
    request<{ data: { id: string; name: string }[]; nextCursor: string | null }>(
      "GET",
      "/api/v1/ad-destinations?limit=200",
    ),
  lists: () =>
    request<{ data: { id: string; name: string; kind: string }[]; nextCursor: string | null }>(
      "GET",
      "/api/v1/audiences?limit=200",
    ),
  contacts: (search: string) => {
    const query = new URLSearchParams({ limit: "10" });
    if (search) query.set("search", search);
    return request<{ data: Contact[]; nextCursor: string | null }>("GET", `/api/v1/contacts?${query}`);
  },
};

/** The problems a refused publish names (each with its node), or none when it failed otherwise. */
export function problemsOf(error: unknown): WorkflowProblem[] {
  if (!(error instanceof ApiError) || error.code !== "WORKFLOW_INVALID") return [];
  const errors = (error.problem.errors ?? []) as (WorkflowProblem | { field: string; message: string })[];
  return errors.map((e) => ({ nodeId: "nodeId" in e ? e.nodeId : null, field: e.field, message: e.message }));
}
