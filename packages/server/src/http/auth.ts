/**
 * Bearer API keys. Every /api/v1 route runs with the key's workspace; a missing or wrong key is 401, and
 * objects of other workspaces are simply not found (handlers always filter by request.workspace.id).
 */
import { authenticateApiKey } from "@omneural/core/auth/api-key.service";
import type { WorkspaceContext } from "@omneural/core/contacts/contact.service";
import { findWorkspace } from "@omneural/core/workspaces/workspace.repository";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sendProblem } from "./problems.ts";

const WORKSPACE_TTL_MS = 30_000;

export function installApiKeyAuth(app: FastifyInstance) {
  const workspaces = new Map<string, { value: WorkspaceContext; expires: number }>();
  app.decorateRequest("workspace", null as unknown as WorkspaceContext);
  app.decorateRequest("apiKeyId", "");

  const loadWorkspace = async (id: string): Promise<WorkspaceContext | undefined> => {
    const cached = workspaces.get(id);
    if (cached && cached.expires > Date.now()) return cached.value;
    const row = await findWorkspace(app.deps.database.db, id);
    if (!row) return undefined;
    const value = { id: row.id, defaultCountry: row.default_country, defaultTimezone: row.default_timezone };
    workspaces.set(id, { value, expires: Date.now() + WORKSPACE_TTL_MS });
    return value;
  };

  return async function requireApiKey(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      reply.header("www-authenticate", 'Bearer realm="omneural"');
      return sendProblem(
        request,
        reply,
        "UNAUTHORIZED",
        "Send your API key as `Authorization: Bearer <key>`.",
      );
    }
    const principal = await authenticateApiKey(app.deps.database.db, match[1]!);
    const workspace = principal && (await loadWorkspace(principal.workspaceId));
    if (!principal || !workspace) {
      reply.header("www-authenticate", 'Bearer realm="omneural", error="invalid_token"');
      return sendProblem(request, reply, "UNAUTHORIZED", "The API key is not valid or has been revoked.");
    }
    request.workspace = workspace;
    request.apiKeyId = principal.apiKeyId;
    request.log = request.log.child({ workspaceId: workspace.id });
  };
}
