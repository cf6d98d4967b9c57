/** /api/v1/outbox: the dev inbox. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Uuid } from "@omneural/contracts/common";
import { OutboxList, OutboxQuery } from "@omneural/contracts/outbox";
import { outboxEmailHtml, outboxMailPdf } from "@omneural/core/delivery/dev-inbox";
import { listOutboxPage } from "@omneural/core/delivery/outbox.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

export async function outboxRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  app.get(
    "/outbox",
    {
      schema: {
        tags: ["outbox"],
        summary: "What the development provider delivered",
        description:
          "The dev inbox records, instead of sending, every message routed to the built-in development provider (the default in embedded mode): recipient, rendered content and headers. Newest first.",
        querystring: OutboxQuery,
        response: { 200: OutboxList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listOutboxPage(db, request.workspace, request.query),
  );

  app.get(
    "/outbox/:id/html",
    {
      schema: {
        tags: ["outbox"],
        summary: "An email in the dev inbox, as its recipient's mail program would show it",
        description:
          "The delivered HTML, for a preview frame: served sandboxed (no script runs, no form is sent, a unique origin), framable by this server's own pages only.",
        params: Type.Object({ id: Uuid }),
        produces: ["text/html"],
        response: { 200: Type.String({ description: "HTML" }), ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const html = await outboxEmailHtml(db, request.workspace, request.params.id);
      return reply
        .type("text/html; charset=utf-8")
        .header(
          "content-security-policy",
          "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src * data:; font-src * data:; frame-ancestors 'self'",
        )
        .header("x-frame-options", "SAMEORIGIN")
        .send(html);
    },
  );

  app.get(
    "/outbox/:id/pdf",
    {
      schema: {
        tags: ["outbox"],
        summary: "The PDF of a direct-mail piece in the dev inbox",
        description:
          "The letter or postcard as it would be printed: return address, recipient's address block, the rendered body and the PURL as a QR code.",
        params: Type.Object({ id: Uuid }),
        produces: ["application/pdf"],
        response: { 200: Type.String({ description: "PDF" }), ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const pdf = await outboxMailPdf(db, request.workspace, request.params.id);
      return reply
        .type("application/pdf")
        .header("content-disposition", `inline; filename="mail-${request.params.id}.pdf"`)
        .send(pdf as unknown as string);
    },
  );
}
