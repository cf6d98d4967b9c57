/** /api/v1/overview: what the web app's Home shows (campaigns in flight, latest responses, attention). */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Overview } from "@omneural/contracts/overview";
import { getOverview } from "@omneural/core/reports/overview.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function overviewRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/overview",
    {
      schema: {
        tags: ["reports"],
        summary: "The workspace at a glance",
        description:
          "Running, scheduled and paused campaigns with their progress (from the report rollups), the latest 10 responses, and what needs attention: failed members, a provider paused by its circuit breaker, email or SMS blocked by a missing sender identity or number, failed imports. Each attention item links to the page of the web app where it is fixed.",
        response: { 200: Overview, ...problemResponses(401) },
      },
    },
    async (request) => getOverview(app.deps.database.db, request.workspace.id),
  );
}
