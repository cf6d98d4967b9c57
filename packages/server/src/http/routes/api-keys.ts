/** /api/v1/api-keys: the workspace's API keys (owners and admins; see access.ts). */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  ApiKey,
  ApiKeyCreate,
  ApiKeyIdParams,
  ApiKeyList,
  CreatedApiKey,
} from "@omneural/contracts/api-keys";
import {
  createWorkspaceApiKey,
  listWorkspaceApiKeys,
  revokeWorkspaceApiKey,
} from "@omneural/core/auth/api-key.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function apiKeyRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["api-keys"];

  app.get(
    "/api-keys",
    {
      // API keys act with an owner's rights: only owners and admins see or manage them.
      config: { access: "admin" },
      schema: {
        tags,
        summary: "List API keys",
        description:
          "Every key of the workspace, newest first, revoked ones included; never the keys themselves.",
        response: { 200: ApiKeyList, ...problemResponses(401, 403) },
      },
    },
    async (request) => ({ data: await listWorkspaceApiKeys(db, request.workspace.id) }),
  );

  app.post(
    "/api-keys",
    {
      // API keys act with an owner's rights: only owners and admins see or manage them.
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Create an API key",
        description:
          "The answer holds the key itself (`key`), shown this once: only its hash is stored. Send it as `Authorization: Bearer <key>`.",
        body: ApiKeyCreate,
        response: { 201: CreatedApiKey, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createWorkspaceApiKey(db, request.workspace.id, request.body.name)),
  );

  app.delete(
    "/api-keys/:id",
    {
      // API keys act with an owner's rights: only owners and admins see or manage them.
      config: { access: "admin" },
      schema: {
        tags,
        summary: "Revoke an API key",
        description:
          "The key stops working at once, in every process of the installation. A key may revoke itself. Revoked keys stay listed, with revokedAt.",
        params: ApiKeyIdParams,
        response: { 200: ApiKey, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => revokeWorkspaceApiKey(db, request.workspace.id, request.params.id, app.deps.cache),
  );
}
