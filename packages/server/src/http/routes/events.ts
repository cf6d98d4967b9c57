/** /api/v1/events */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { EventBatch, EventBatchResult } from "@omneural/contracts/events";
import { recordEvents } from "@omneural/core/events/event.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function eventRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    "/events",
    {
      bodyLimit: 5 * 1024 * 1024,
      schema: {
        tags: ["events"],
        summary: "Record a batch of events",
        description:
          "Up to 1,000 events. Each names its contact by contactId, externalId or email; contacts identified by externalId or email are created when unknown. An event id seen before is ignored (status duplicate), so a batch can be retried safely.",
        body: EventBatch,
        response: { 200: EventBatchResult, ...problemResponses(400, 401, 413) },
      },
    },
    async (request) => recordEvents(app.deps.database.db, request.workspace, request.body.events),
  );
}
