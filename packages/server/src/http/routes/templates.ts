/** /api/v1/templates: message content per channel (what a workflow's send node names). */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Uuid } from "@omneural/contracts/common";
import {
  Template,
  TemplateCreate,
  TemplateDraftPreviewRequest,
  TemplateIdParams,
  TemplateList,
  TemplateListQuery,
  TemplatePatch,
  TemplatePreview,
  TemplatePreviewRequest,
} from "@omneural/contracts/templates";
import {
  createTemplate,
  getTemplate,
  listTemplatesPage,
  patchTemplate,
  previewDraft,
  previewTemplate,
  removeTemplate,
} from "@omneural/core/templates/template.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { emptyBodyAsObject, problemResponses } from "../problems.ts";

export async function templateRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["templates"];

  app.post(
    "/templates",
    {
      schema: {
        tags,
        summary: "Create a template",
        description:
          "Content is checked for its channel: Liquid syntax, variables (a contact field, an attribute with a default, or a declared default) and MJML. See docs/templates.md.",
        body: TemplateCreate,
        response: { 201: Template, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createTemplate(db, request.workspace, request.body)),
  );

  app.get(
    "/templates",
    {
      schema: {
        tags,
        summary: "List templates",
        querystring: TemplateListQuery,
        response: { 200: TemplateList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listTemplatesPage(db, request.workspace, request.query),
  );

  app.get(
    "/templates/:id",
    {
      schema: {
        tags,
        summary: "Get a template",
        params: TemplateIdParams,
        response: { 200: Template, ...problemResponses(401, 404) },
      },
    },
    async (request) => getTemplate(db, request.workspace, request.params.id),
  );

  app.patch(
    "/templates/:id",
    {
      schema: {
        tags,
        summary: "Rename a template or change its content",
        params: TemplateIdParams,
        body: TemplatePatch,
        response: { 200: Template, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => patchTemplate(db, request.workspace, request.params.id, request.body),
  );

  app.delete(
    "/templates/:id",
    {
      schema: {
        tags,
        summary: "Delete a template",
        description: "Refused while a published workflow version sends it.",
        params: TemplateIdParams,
        response: {
          200: Type.Object({ id: Uuid, deleted: Type.Literal(true) }),
          ...problemResponses(401, 404, 409),
        },
      },
    },
    async (request) => {
      await removeTemplate(db, request.workspace, request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.post(
    "/templates/:id/preview",
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags,
        summary: "Render a template for a contact",
        description:
          "For contactId's contact, a hypothetical contact, or a sample one. ok=false gives the reason this member's send would fail.",
        params: TemplateIdParams,
        body: TemplatePreviewRequest,
        response: { 200: TemplatePreview, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => previewTemplate(db, request.workspace, request.params.id, request.body),
  );

  app.post(
    "/templates/preview",
    {
      schema: {
        tags,
        summary: "Render unsaved template content",
        description: "Checks the content as a save would (400 with each problem), then renders it.",
        body: TemplateDraftPreviewRequest,
        response: { 200: TemplatePreview, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => previewDraft(db, request.workspace, request.body),
  );
}
