/** /api/v1/campaigns/{id}/report: a campaign's report, as JSON or CSV, read from its rollups. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { CampaignReport } from "@omneural/contracts/reports";
import { CampaignIdParams } from "@omneural/contracts/workflows";
import { getCampaignReport, reportToCsv } from "@omneural/core/reports/report.service";
import { isDatabaseUnavailable } from "@omneural/core/responses/ingest";
import type { FastifyInstance, FastifyRequest } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

export async function reportRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["reports"];

  /**
   * Reads the report from the replica when there is one (DATABASE_REPLICA_URL), and from the primary
   * when the replica cannot be reached: a report a little behind beats no report.
   */
  const readReport = async (request: FastifyRequest, campaignId: string) => {
    const replica = app.deps.reportsDatabase;
    if (replica) {
      try {
        return await getCampaignReport(replica.db, request.workspace, campaignId);
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        request.log.warn(
          { err: error },
          "the replica cannot be reached: the report is read from the primary",
        );
      }
    }
    return getCampaignReport(db, request.workspace, campaignId);
  };

  app.get(
    "/campaigns/:id/report",
    {
      schema: {
        tags,
        summary: "The campaign's report",
        description:
          "Members, sends and responses per node, channel, hour and A/B variant, skips and deferrals by reason, and lift against the holdout. Exact at any moment, and as fast for a million members as for ten: it reads rollups kept as the campaign runs, never the ledger.",
        params: CampaignIdParams,
        response: { 200: CampaignReport, ...problemResponses(401, 404) },
      },
    },
    async (request) => readReport(request, request.params.id),
  );

  app.get(
    "/campaigns/:id/report.csv",
    {
      schema: {
        tags,
        summary: "The campaign's report as CSV",
        description:
          "One row per scope (the campaign, each node, channel, variant and hour) with the report's figures as columns.",
        params: CampaignIdParams,
        response: { 200: Type.String({ contentMediaType: "text/csv" }), ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const report = await readReport(request, request.params.id);
      const name = report.name.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80) || "campaign";
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${name}-report.csv"`)
        .send(reportToCsv(report));
    },
  );
}
