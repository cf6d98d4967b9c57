/** /api/v1/outbox: the dev inbox. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { OutboxList, OutboxQuery } from "@omneural/contracts/outbox";
import { listOutboxPage } from "@omneural/core/delivery/outbox.service";
import type { FastifyInstance } from "fastify";
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
}
