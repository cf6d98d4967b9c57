/**
 * /api/v1/audit: the workspace's audit log, newest first, for owners and admins (access.ts). What is
 * recorded: http/audit.ts and docs/audit-log.md.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { AuditList, AuditListQuery } from "@omneural/contracts/audit";
import { listAudit } from "@omneural/core/audit/audit.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function auditRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;

  app.get(
    "/audit",
    {
      schema: {
        tags: ["audit"],
        summary: "The audit log: who changed or exported what, and when (owners and admins)",
        description:
          "One entry per successful change made through /api/v1 (create, update, delete, launch, pause, resume, cancel, publish, erase, merge, team changes, settings, real retention runs …) and per data export (a contact's export, a report's CSV, an import's rejected lines, an ad destination's members), with who made it (the member or the API key), the object, the request id and the status. Dry runs, previews and other reads are not recorded. Entries hold ids and a few flags and counts, never a request body. Filters combine; `action` takes an action (`campaign.launch`) or an object type (`campaign`) for all its actions. See docs/audit-log.md.",
        querystring: AuditListQuery,
        response: { 200: AuditList, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => listAudit(db, request.workspace.id, request.query),
  );
}
