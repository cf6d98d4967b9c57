/**
 * The audit log's HTTP side: every successful (2xx) /api/v1 request that changes something, and every
 * read that exports data, leaves one audit entry saying who (the API key or the signed-in member) did
 * what (`AUDIT_ACTIONS`, by route) to which object, and when. Also serves GET /api/v1/audit.
 *
 * What is recorded is decided here, in one table, so the rule is visible: each unsafe route (POST, PUT,
 * PATCH, DELETE) names its action, or `null` when it never changes anything (previews, validation,
 * simulation; access.ts lets viewers call those). A route whose need depends on its body (dry runs,
 * access.ts) is recorded only when access.ts says the request changes something. audit.test.ts fails
 * when an unsafe route is missing from the table.
 *
 * The entry is written before the response leaves (onSend), so a client that saw a 2xx can read its
 * entry at once. Writing it is not part of the change's transaction: a failed write is logged, and the
 * change (already committed) is still answered as it happened.
 */

import type { AuditInput } from "@omneural/core/audit/audit";
import { recordAudit } from "@omneural/core/audit/audit.service";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { accessOf, ROUTE_ACCESS } from "./access.ts";
import { auditRoutes } from "./routes/audit.ts";

/**
 * Where a value comes from: a path parameter, a field of the request body, a field of the response
 * body, or the calling workspace's id. Only body fields named here are read, and cleanDetails (core)
 * keeps only ids, roles, flags and counts: never free text, an email or a body.
 */
type Source = `param:${string}` | `body:${string}` | `response:${string}` | "workspace";

export interface AuditRule {
  /** `<object type>.<verb>` */
  action: string;
  /**
   * The object's id. Default: the route's first path parameter, else the response's `id` (a create).
   * `null`: the action is on no one object.
   */
  object?: Source | null;
  /** More facts, by name. The other path parameters are added on their own. */
  details?: Record<string, Source>;
}

/**
 * Every unsafe /api/v1 route, and the reads that export data, by "METHOD /route/:pattern". `null`: the
 * route changes nothing and is not recorded.
 */
export const AUDIT_ACTIONS: Record<string, AuditRule | null> = {
  // The workspace's settings
  "PUT /api/v1/workspace/sender": { action: "workspace.sender_update", object: "workspace" },
  "PUT /api/v1/workspace/delivery-policies/:channel": { action: "delivery_policy.update" },
  "PUT /api/v1/workspace/providers/:channel": { action: "provider.update" },
  "DELETE /api/v1/workspace/providers/:channel": { action: "provider.delete" },

  // API keys (never the key: its id, from the response when created)
  "POST /api/v1/api-keys": { action: "api_key.create" },
  "DELETE /api/v1/api-keys/:id": { action: "api_key.revoke" },

  // The team (the invitee's email is never recorded: the invitation's id and role are)
  "POST /api/v1/team/invitations": { action: "invitation.create", details: { role: "body:role" } },
  "DELETE /api/v1/team/invitations/:id": { action: "invitation.revoke" },
  "PATCH /api/v1/team/members/:userId": { action: "member.role_change", details: { role: "body:role" } },
  "DELETE /api/v1/team/members/:userId": { action: "member.remove" },

  // Single sign-on (never the client secret). SSO sign-ins are recorded too, as session.sso_sign_in
  // (routes/sso.ts: they happen outside /api/v1).
  "PUT /api/v1/sso": {
    action: "sso.update",
    object: "workspace",
    details: { ssoRequired: "body:ssoRequired", defaultRole: "body:defaultRole" },
  },
  "DELETE /api/v1/sso": { action: "sso.delete", object: "workspace" },
  "POST /api/v1/sso/test": { action: "sso.test", object: "workspace", details: { ok: "response:ok" } },

  // Contacts. POST /contacts creates (201) or updates (200) the contact it matches: the status says which.
  "POST /api/v1/contacts": { action: "contact.upsert" },
  "PATCH /api/v1/contacts/:id": { action: "contact.update" },
  "DELETE /api/v1/contacts/:id": { action: "contact.erase" },
  "POST /api/v1/contacts/:id/restore": { action: "contact.restore" },
  "GET /api/v1/contacts/:id/export": { action: "contact.export" },
  "GET /api/v1/contacts/export.csv": { action: "contact.list_export", object: "workspace" },
  "PUT /api/v1/contacts/:id/topics/:topicId": {
    action: "contact.topic_set",
    details: { subscribed: "body:subscribed" },
  },
  "POST /api/v1/contacts/merge": {
    action: "contact.merge",
    object: "body:survivorId",
    details: { duplicateIds: "body:duplicateIds", mergeId: "response:mergeId" },
  },
  // Recorded only when confirmed (a dry run changes nothing: access.ts).
  "POST /api/v1/contacts/duplicates/merge": {
    action: "contact.merge_duplicates",
    object: null,
    details: { groups: "response:groups", contactsMerged: "response:contactsMerged" },
  },
  "POST /api/v1/events": {
    action: "event.record",
    object: null,
    details: { accepted: "response:accepted", rejected: "response:rejected" },
  },

  // Imports
  "POST /api/v1/contacts/imports": { action: "import.create", object: "response:id" },
  "GET /api/v1/contacts/imports/:id/rejections.csv": { action: "import.rejections_export" },

  // Audiences
  "POST /api/v1/audiences": { action: "audience.create" },
  "POST /api/v1/audiences/preview": null,
  "PATCH /api/v1/audiences/:id": { action: "audience.update" },
  "DELETE /api/v1/audiences/:id": { action: "audience.delete" },
  "POST /api/v1/audiences/:id/members": {
    action: "audience.members_add",
    details: { changed: "response:changed" },
  },
  "POST /api/v1/audiences/:id/members/remove": {
    action: "audience.members_remove",
    details: { changed: "response:changed" },
  },
  "POST /api/v1/audiences/:id/freeze": { action: "audience.freeze", details: { listId: "response:id" } },

  // Templates
  "POST /api/v1/templates": { action: "template.create" },
  "POST /api/v1/templates/preview": null,
  "PATCH /api/v1/templates/:id": { action: "template.update" },
  "DELETE /api/v1/templates/:id": { action: "template.delete" },
  "POST /api/v1/templates/:id/preview": null,
  "POST /api/v1/templates/:id/versions/:version/restore": { action: "template.version_restore" },
  // The recipient is not recorded (an address); the template and the time are.
  "POST /api/v1/templates/:id/test-send": { action: "template.test_send" },

  // Workflows
  "POST /api/v1/workflows": { action: "workflow.create" },
  "PATCH /api/v1/workflows/:id": { action: "workflow.update" },
  "DELETE /api/v1/workflows/:id": { action: "workflow.delete" },
  "POST /api/v1/workflows/:id/validate": null,
  "POST /api/v1/workflows/:id/publish": {
    action: "workflow.publish",
    details: { version: "response:version" },
  },
  "POST /api/v1/workflows/:id/versions/:version/simulate": null,

  // Campaigns
  "POST /api/v1/campaigns": { action: "campaign.create" },
  "PATCH /api/v1/campaigns/:id": { action: "campaign.update" },
  "POST /api/v1/campaigns/:id/launch": {
    action: "campaign.launch",
    details: { changed: "response:changed" },
  },
  "POST /api/v1/campaigns/:id/pause": { action: "campaign.pause", details: { changed: "response:changed" } },
  "POST /api/v1/campaigns/:id/resume": {
    action: "campaign.resume",
    details: { changed: "response:changed" },
  },
  "POST /api/v1/campaigns/:id/cancel": {
    action: "campaign.cancel",
    details: { changed: "response:changed" },
  },
  "POST /api/v1/campaigns/:id/retry": {
    action: "campaign.retry",
    details: { contactId: "body:contactId", changed: "response:changed" },
  },
  "POST /api/v1/campaigns/:id/enrollments": {
    action: "campaign.enroll",
    details: { contactId: "body:contactId", changed: "response:changed" },
  },
  "GET /api/v1/campaigns/:id/report.csv": { action: "campaign.report_export" },

  // Ad destinations
  "POST /api/v1/ad-destinations": { action: "ad_destination.create" },
  "PATCH /api/v1/ad-destinations/:id": { action: "ad_destination.update" },
  "DELETE /api/v1/ad-destinations/:id": { action: "ad_destination.delete" },
  "GET /api/v1/ad-destinations/:id/members.csv": { action: "ad_destination.members_export" },

  // Topics
  "POST /api/v1/topics": { action: "topic.create" },
  "PATCH /api/v1/topics/:id": { action: "topic.update" },
  "DELETE /api/v1/topics/:id": { action: "topic.delete" },

  // Retention (a run is recorded only when real: access.ts)
  "PUT /api/v1/retention/policies/:kind": {
    action: "retention_policy.update",
    details: { enabled: "body:enabled" },
  },
  "POST /api/v1/retention/policies/:kind/run": {
    action: "retention_policy.run",
    details: { confirm: "body:confirm", runId: "response:id", status: "response:status" },
  },
};

/** What a route without an entry in AUDIT_ACTIONS is recorded as (audit.test.ts keeps there being none). */
const UNLISTED: AuditRule = { action: "unlisted.change" };

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
const MAX_PARSED_RESPONSE = 1024 * 1024;

/** The rule for a request, or undefined when it is not recorded. */
function ruleFor(request: FastifyRequest): AuditRule | undefined {
  const key = `${request.method} ${request.routeOptions.url}`;
  const rule = AUDIT_ACTIONS[key];
  if (SAFE.has(request.method)) return rule ?? undefined;
  if (rule === null) return undefined;
  // A POST whose need depends on its body (a dry run, access.ts) is recorded only when it changes something.
  if (typeof ROUTE_ACCESS[key] === "function" && accessOf(request) === "read") return undefined;
  if (rule === undefined) {
    request.log.error(
      { route: key },
      "no audit action for this route: add it to AUDIT_ACTIONS (http/audit.ts)",
    );
    return UNLISTED;
  }
  return rule;
}

function parseResponse(payload: unknown): Record<string, unknown> {
  const text = Buffer.isBuffer(payload) ? payload.toString("utf8") : payload;
  if (typeof text !== "string" || text.length > MAX_PARSED_RESPONSE || !text.startsWith("{")) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The entry for a successful request, from its rule, its route parameters, body and response. */
function auditInputOf(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  rule: AuditRule,
): AuditInput {
  const params = (request.params as Record<string, string> | undefined) ?? {};
  const body =
    request.body && typeof request.body === "object" ? (request.body as Record<string, unknown>) : {};
  let response: Record<string, unknown> | undefined;
  const read = (source: Source): unknown => {
    if (source === "workspace") return request.workspace.id;
    const at = source.indexOf(":");
    const where = source.slice(0, at);
    const name = source.slice(at + 1);
    if (where === "param") return params[name];
    if (where === "body") return body[name];
    response ??= parseResponse(payload);
    return response[name];
  };

  // The route's path parameters in order: the first names the object, the others are details.
  const pathParams = [...(request.routeOptions.url ?? "").matchAll(/:(\w+)/g)].map((match) => match[1]!);
  const objectSource: Source | null =
    rule.object !== undefined ? rule.object : pathParams[0] ? `param:${pathParams[0]}` : "response:id";
  const objectId = objectSource === null ? null : read(objectSource);
  const details: Record<string, unknown> = rule === UNLISTED ? { method: request.method } : {};
  for (const name of pathParams) {
    if (objectSource !== `param:${name}`) details[name] = params[name];
  }
  for (const [name, source] of Object.entries(rule.details ?? {})) {
    const value = read(source);
    if (value !== undefined) details[name] = value;
  }
  return {
    actor: { kind: request.actor.kind, id: request.actor.id },
    action: rule.action,
    objectId: typeof objectId === "string" ? objectId : null,
    requestId: request.id,
    status: reply.statusCode,
    ip: request.ip,
    details,
  };
}

/** Records /api/v1's changes and exports (call inside the /api/v1 scope, after installAuth), and serves GET /audit. */
export async function installAuditLog(api: FastifyInstance) {
  api.addHook("onSend", async (request, reply, payload) => {
    if (reply.statusCode < 200 || reply.statusCode >= 300) return payload;
    if (!request.workspace || !request.actor || !request.routeOptions.url) return payload;
    const rule = ruleFor(request);
    if (!rule) return payload;
    try {
      const input = auditInputOf(request, reply, payload, rule);
      await recordAudit(api.deps.database.db, request.workspace.id, input);
    } catch (error) {
      request.log.error({ err: error }, "the audit entry of this request could not be written");
    }
    return payload;
  });
  await api.register(auditRoutes);
}
