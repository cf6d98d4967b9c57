/** /api/v1/workflows: drafts, validation, published versions and the simulator. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Uuid } from "@omneural/contracts/common";
import {
  SimulateRequest,
  Simulation,
  Workflow,
  WorkflowCreate,
  WorkflowIdParams,
  WorkflowList,
  WorkflowListQuery,
  WorkflowPatch,
  WorkflowValidation,
  WorkflowVersion,
  WorkflowVersionList,
  WorkflowVersionParams,
} from "@omneural/contracts/workflows";
import { simulateWorkflow } from "@omneural/core/workflows/simulator";
import {
  createWorkflow,
  getWorkflow,
  getWorkflowVersion,
  listWorkflowsPage,
  listWorkflowVersions,
  patchWorkflow,
  publishWorkflow,
  removeWorkflow,
  validateWorkflow,
} from "@omneural/core/workflows/workflow.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { emptyBodyAsObject, problemResponses } from "../problems.ts";

export async function workflowRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["workflows"];

  app.post(
    "/workflows",
    {
      schema: {
        tags,
        summary: "Create a workflow",
        description:
          "The graph is a draft: it is stored even when not yet valid, and checked on validate and publish. Without a graph the workflow starts as entry → exit. See docs/workflows.md.",
        body: WorkflowCreate,
        response: { 201: Workflow, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createWorkflow(db, request.workspace, request.body)),
  );

  app.get(
    "/workflows",
    {
      schema: {
        tags,
        summary: "List workflows",
        querystring: WorkflowListQuery,
        response: { 200: WorkflowList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listWorkflowsPage(db, request.workspace, request.query),
  );

  app.get(
    "/workflows/:id",
    {
      schema: {
        tags,
        summary: "Get a workflow and its draft",
        params: WorkflowIdParams,
        response: { 200: Workflow, ...problemResponses(401, 404) },
      },
    },
    async (request) => getWorkflow(db, request.workspace, request.params.id),
  );

  app.patch(
    "/workflows/:id",
    {
      schema: {
        tags,
        summary: "Change the draft, name or description",
        description: "Published versions never change; publish again to make the draft a new version.",
        params: WorkflowIdParams,
        body: WorkflowPatch,
        response: { 200: Workflow, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => patchWorkflow(db, request.workspace, request.params.id, request.body),
  );

  app.delete(
    "/workflows/:id",
    {
      schema: {
        tags,
        summary: "Delete a workflow",
        description: "Refused while a campaign uses one of its versions.",
        params: WorkflowIdParams,
        response: {
          200: Type.Object({ id: Uuid, deleted: Type.Literal(true) }),
          ...problemResponses(401, 404, 409),
        },
      },
    },
    async (request) => {
      await removeWorkflow(db, request.workspace, request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.post(
    "/workflows/:id/validate",
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags,
        summary: "Check the draft (or a given graph) without publishing",
        description: "Every problem is listed with the node it concerns.",
        params: WorkflowIdParams,
        body: Type.Object({ graph: Type.Optional(Type.Unknown()) }, { additionalProperties: false }),
        response: { 200: WorkflowValidation, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => validateWorkflow(db, request.workspace, request.params.id, request.body?.graph),
  );

  app.post(
    "/workflows/:id/publish",
    {
      schema: {
        tags,
        summary: "Publish the draft as a new immutable version",
        description:
          "Refused with WORKFLOW_INVALID (each error names its node) when the draft is not valid. Publishing a draft identical to the latest version returns that version (200) instead of a new one (201).",
        params: WorkflowIdParams,
        response: { 200: WorkflowVersion, 201: WorkflowVersion, ...problemResponses(401, 404, 422) },
      },
    },
    async (request, reply) => {
      const { version, created } = await publishWorkflow(db, request.workspace, request.params.id);
      return reply.code(created ? 201 : 200).send(version);
    },
  );

  app.get(
    "/workflows/:id/versions",
    {
      schema: {
        tags,
        summary: "List published versions, newest first",
        params: WorkflowIdParams,
        response: { 200: WorkflowVersionList, ...problemResponses(401, 404) },
      },
    },
    async (request) => listWorkflowVersions(db, request.workspace, request.params.id),
  );

  app.get(
    "/workflows/:id/versions/:version",
    {
      schema: {
        tags,
        summary: "Get a published version",
        params: WorkflowVersionParams,
        response: { 200: WorkflowVersion, ...problemResponses(401, 404) },
      },
    },
    async (request) => getWorkflowVersion(db, request.workspace, request.params.id, request.params.version),
  );

  app.post(
    "/workflows/:id/versions/:version/simulate",
    {
      schema: {
        tags,
        summary: "Dry-run a member through a version with time travel",
        description:
          "Runs the engine's transition function for a real (contactId) or hypothetical (contact) member with a fast-forwarded clock and hypothetical events; returns each node, when, what would be sent and why each branch was taken. Nothing is written or sent.",
        params: WorkflowVersionParams,
        body: SimulateRequest,
        response: { 200: Simulation, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      simulateWorkflow(db, request.workspace, request.params.id, request.params.version, request.body),
  );
}
