/** /api/v1/workspace: the workspace of the calling key. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Workspace } from "@omneural/contracts/workspaces";
import { findWorkspace } from "@omneural/core/workspaces/workspace.repository";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function workspaceRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/workspace",
    {
      schema: {
        tags: ["workspace"],
        summary: "The workspace this API key belongs to",
        response: { 200: Workspace, ...problemResponses(401) },
      },
    },
    async (request) => {
      const row = (await findWorkspace(app.deps.database.db, request.workspace.id))!;
      return {
        id: row.id,
        name: row.name,
        defaultCountry: row.default_country,
        defaultTimezone: row.default_timezone,
        createdAt: row.created_at.toISOString(),
      };
    },
  );
}
