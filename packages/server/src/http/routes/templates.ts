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
  TemplateTestSend,
  TemplateTestSendRequest,
  TemplateVersion,
  TemplateVersionList,
  TemplateVersionListQuery,
  TemplateVersionParams,
} from "@omneural/contracts/templates";
import type { DispatchChannels } from "@omneural/core/delivery/dispatcher";
import { channelsFor } from "@omneural/core/delivery/email-channel";
import { ChannelResolver } from "@omneural/core/delivery/provider.service";
import {
  createTemplate,
  getTemplate,
  getTemplateVersion,
  listTemplatesPage,
  listTemplateVersionsPage,
  patchTemplate,
  previewDraft,
  previewTemplate,
  removeTemplate,
  restoreTemplateVersion,
  type TemplateActor,
} from "@omneural/core/templates/template.service";
import { sendTestMessage } from "@omneural/core/templates/test-send";
import type { FastifyInstance, FastifyRequest } from "fastify";
import Type from "typebox";
import { emptyBodyAsObject, problemResponses } from "../problems.ts";

export async function templateRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["templates"];
  const actorOf = (request: FastifyRequest): TemplateActor => ({ source: "api", id: request.apiKeyId });

  // The providers test sends go through: the workspace's own account for a channel where it has one,
  // the installation's otherwise. Made on the first test send and closed with the server.
  let installation: DispatchChannels | undefined;
  let resolver: ChannelResolver | undefined;
  const resolverOnce = () => {
    installation ??= channelsFor(app.deps.config, db);
    resolver ??= new ChannelResolver(db, installation, {
      credentialsKey: app.deps.keys.credentials,
      publicUrl: app.deps.config.publicUrl,
      // A test send is how one checks a provider just set up: it must go through it at once, not
      // within the dispatchers' 10 seconds. It costs one small query per test send.
      ttlMs: 0,
    });
    return resolver;
  };
  app.addHook("onClose", async () => {
    await resolver?.close();
    for (const channel of Object.values(installation ?? {})) await channel?.close();
  });

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
    async (request, reply) =>
      reply.code(201).send(await createTemplate(db, request.workspace, request.body, actorOf(request))),
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
        description:
          "A content change makes a new version (see /versions); a PATCH that changes nothing makes none.",
        params: TemplateIdParams,
        body: TemplatePatch,
        response: { 200: Template, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) =>
      patchTemplate(db, request.workspace, request.params.id, request.body, actorOf(request)),
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

  app.get(
    "/templates/:id/preview.html",
    {
      schema: {
        tags,
        summary: "An email template rendered for a contact, as a page for a preview frame",
        description:
          "The current version's HTML for contactId's contact (or a sample one), served sandboxed (no script runs, a unique origin) and framable by this server's own pages only: the web app's editor shows it. A send that would fail shows its reasons instead.",
        params: TemplateIdParams,
        querystring: Type.Object(
          { contactId: Type.Optional(Uuid), v: Type.Optional(Type.String({ maxLength: 40 })) },
          { additionalProperties: false },
        ),
        produces: ["text/html"],
        response: { 200: Type.String({ description: "HTML" }), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { contactId } = request.query;
      const preview = await previewTemplate(
        db,
        request.workspace,
        request.params.id,
        contactId ? { contactId } : {},
      );
      const html =
        preview.email?.html ??
        `<!doctype html><meta charset="utf-8"><title>No preview</title><ul>${(preview.errors.length
          ? preview.errors.map((e) => `${e.field}: ${e.message}`)
          : [`This ${preview.channel} template has no email to show.`]
        )
          .map((line) => `<li>${escapeHtml(line)}</li>`)
          .join("")}</ul>`;
      return reply
        .type("text/html; charset=utf-8")
        .header(
          "content-security-policy",
          "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src * data:; font-src * data:; frame-ancestors 'self'",
        )
        .header("x-frame-options", "SAMEORIGIN")
        .header("cache-control", "no-store")
        .send(html);
    },
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

  app.get(
    "/templates/:id/versions",
    {
      schema: {
        tags,
        summary: "List a template's versions, newest first",
        description:
          "Every content change (create, edit, restore) made one; their content is in each version.",
        params: TemplateIdParams,
        querystring: TemplateVersionListQuery,
        response: { 200: TemplateVersionList, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => listTemplateVersionsPage(db, request.workspace, request.params.id, request.query),
  );

  app.get(
    "/templates/:id/versions/:version",
    {
      schema: {
        tags,
        summary: "Get a version of a template, with its content",
        params: TemplateVersionParams,
        response: { 200: TemplateVersion, ...problemResponses(401, 404) },
      },
    },
    async (request) => getTemplateVersion(db, request.workspace, request.params.id, request.params.version),
  );

  app.post(
    "/templates/:id/versions/:version/restore",
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags,
        summary: "Make a version's content current again",
        description:
          "As a new version (history is kept); checked as an edit is. Restoring the current content changes nothing.",
        params: TemplateVersionParams,
        response: { 200: Template, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      restoreTemplateVersion(
        db,
        request.workspace,
        request.params.id,
        request.params.version,
        actorOf(request),
      ),
  );

  app.post(
    "/templates/:id/test-send",
    {
      schema: {
        tags,
        summary: "Send a template to one address now, as a test",
        description:
          "Email and SMS templates. Rendered for contactId's contact (else the sample contact), sent with the workspace's sender identity through its own provider account (PUT /workspace/providers) where it has one, else the installation's; an email's subject starts with \"[Test] \". An address the provider refuses for good is suppressed. Not a message of the send ledger: no frequency cap, no report. At most 20 a minute and 200 a day per workspace (429 with Retry-After).",
        params: TemplateIdParams,
        body: TemplateTestSendRequest,
        response: { 200: TemplateTestSend, ...problemResponses(400, 401, 404, 422, 429, 503) },
      },
    },
    async (request) => {
      const { email, sms } = await resolverOnce().channelsFor(request.workspace.id);
      return sendTestMessage(db, request.workspace, request.params.id, request.body, {
        email,
        ...(sms ? { sms } : {}),
        actor: request.apiKeyId,
      });
    },
  );
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
