/** buildApp() assembles the HTTP server; listen() is the caller's business (tests use inject()). */
import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import fastifyCookie from "@fastify/cookie";
import fastifyMultipart from "@fastify/multipart";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import { Problem } from "@omneural/contracts/common";
import { createCache } from "@omneural/core/cache/cache";
import { openDatabase } from "@omneural/core/db/database";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { installAuditLog } from "./audit.ts";
import { installAuth, SESSION_COOKIE } from "./auth.ts";
import type { AppDeps } from "./context.ts";
import { providerHookRoutes } from "./hooks/hooks.ts";
import { installMetrics } from "./metrics.ts";
import { installErrorHandling } from "./problems.ts";
import { installRateLimit } from "./rate-limit.ts";
import { adDestinationRoutes } from "./routes/ad-destinations.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { audienceRoutes } from "./routes/audiences.ts";
import { campaignRoutes } from "./routes/campaigns.ts";
import { contactActivityRoutes } from "./routes/contact-activity.ts";
import { contactMergeRoutes } from "./routes/contact-merge.ts";
import { contactRoutes } from "./routes/contacts.ts";
import { contactExportRoutes } from "./routes/contacts-export.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { importRoutes } from "./routes/imports.ts";
import { outboxRoutes } from "./routes/outbox.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { reportRoutes } from "./routes/reports.ts";
import { retentionRoutes } from "./routes/retention.ts";
import { sessionRoutes } from "./routes/session.ts";
import { installSsoSessionGuard, ssoRoutes, ssoSignInRoutes } from "./routes/sso.ts";
import { teamRoutes } from "./routes/team.ts";
import { templatePdfRoutes } from "./routes/template-pdf.ts";
import { templateRoutes } from "./routes/templates.ts";
import { topicRoutes } from "./routes/topics.ts";
import { workflowRoutes } from "./routes/workflows.ts";
import { workspaceRoutes } from "./routes/workspace.ts";
import { allowInlineStyles, installCors, installSecurityHeaders } from "./security-headers.ts";
import { createLinkFastPath, MAX_TOKEN_LENGTH } from "./tracking/links.ts";
import { trackingRoutes } from "./tracking/routes.ts";
import { validatorCompiler } from "./validation.ts";
import { webAppRoutes } from "./web.ts";

export interface BuildAppOptions {
  deps: AppDeps;
  logger?: Logger | false;
  /** The web app's build to serve at / (default: packages/web/dist). */
  webRoot?: string;
}

/**
 * The server every role's HTTP app starts from: request ids, the dependencies, validation, problem+json
 * errors and the JSON body parser. `buildApp` adds the API and the tracking endpoints to it; the
 * tracking role (tracking/app.ts) only the latter.
 */
export function createServer(options: BuildAppOptions): FastifyInstance {
  // Open pixels and click redirects are answered before Fastify when they can be (tracking/links.ts).
  const linkFastPath = createLinkFastPath({
    keyOfLinks: options.deps.keys.links,
    sink: options.deps.responses,
    https: options.deps.config.publicUrl.startsWith("https:"),
  });
  const common = {
    // Fastify's own HTTP/1 server, with the fast path in front.
    serverFactory: (
      handler: (request: IncomingMessage, response: ServerResponse) => void,
      opts: Record<string, unknown>,
    ) => {
      const server = http.createServer((opts.http ?? {}) as http.ServerOptions, (request, response) => {
        if (!linkFastPath(request, response)) handler(request, response);
      });
      server.keepAliveTimeout = opts.keepAliveTimeout as number;
      server.requestTimeout = opts.requestTimeout as number;
      server.setTimeout(opts.connectionTimeout as number);
      if ((opts.maxRequestsPerSocket as number) > 0)
        server.maxRequestsPerSocket = opts.maxRequestsPerSocket as number;
      return server;
    },
    bodyLimit: 1024 * 1024,
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    // A click token carries the link's URL (up to 2,000 bytes, about 2,700 characters in a token).
    routerOptions: { maxParamLength: MAX_TOKEN_LENGTH },
  };
  const app = (options.logger
    ? Fastify({ ...common, loggerInstance: options.logger })
    : Fastify({ ...common, logger: false })) as unknown as FastifyInstance;
  // The shared cache (core cache/cache.ts), made from the config unless the caller brings one; closed
  // with the app when made here.
  const cache =
    options.deps.cache ??
    createCache({
      mode: options.deps.config.cache,
      databaseUrl: options.deps.database.url,
      redisUrl: options.deps.config.redisUrl,
      logger: options.logger || undefined,
    });
  if (!options.deps.cache) app.addHook("onClose", () => cache.close());
  // The replica reports are read from, opened from the config unless the caller brings one.
  const reportsDatabase =
    options.deps.reportsDatabase ??
    (options.deps.config.databaseReplicaUrl
      ? openDatabase(options.deps.config.databaseReplicaUrl, {
          poolSize: 4,
          applicationName: "omneural-reports",
        })
      : undefined);
  if (reportsDatabase && !options.deps.reportsDatabase) app.addHook("onClose", () => reportsDatabase.close());
  app.decorate("deps", { ...options.deps, cache, reportsDatabase });
  app.setValidatorCompiler(validatorCompiler);
  installErrorHandling(app);
  installSecurityHeaders(app);
  // An empty body sent with `Content-Type: application/json` (curl -H … -X POST, many HTTP clients) is
  // read as no body, so that actions without one (publish, launch, pause …) work; routes that need a
  // body still say so.
  const parseJson = app.getDefaultJsonParser("error", "ignore");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (typeof body === "string" && body.trim() === "") return done(null, undefined);
    parseJson(request, body as string, done);
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  installMetrics(app);
  return app;
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app = createServer(options);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Omneural API",
        version: "1",
        description:
          "Multi-channel marketing campaigns. Authenticate with `Authorization: Bearer <API key>`; create a workspace and its first key with `omneural workspace create <name>`. The web app signs in with a session cookie instead (POST /api/session), and sends the session's CSRF token as `x-csrf-token` with every POST, PUT, PATCH and DELETE; a signed-in member's role limits what they may change (docs/users-and-roles.md). Errors are RFC 9457 problem+json with a stable `code` (see docs/errors.md).",
      },
      servers: [{ url: options.deps.config.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "An Omneural API key (omn_…)" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: SESSION_COOKIE,
            description: "The web app's session (POST /api/session); unsafe methods also need x-csrf-token",
          },
        },
        schemas: { Problem: Problem as unknown as Record<string, unknown> },
      },
      security: [{ apiKey: [] }, { session: [] }],
      tags: [
        { name: "contacts", description: "People a workspace may contact" },
        { name: "events", description: "What contacts did" },
        { name: "imports", description: "CSV imports of contacts" },
        { name: "audiences", description: "Segments (rules) and static lists" },
        { name: "workspace", description: "The calling workspace" },
        { name: "team", description: "The workspace's members, their roles, and invitations" },
        { name: "session", description: "The web app's sign-in: first-run setup, sessions, invitations" },
        { name: "sso", description: "Single sign-on (OpenID Connect) per workspace" },
      ],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/api/docs", transformStaticCSP: allowInlineStyles });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(fastifyCookie);
  installSsoSessionGuard(app);
  await installCors(app);
  const rateLimit = await installRateLimit(app);
  await app.register(healthRoutes);
  await app.register(trackingRoutes);
  await app.register(providerHookRoutes, { prefix: "/hooks" });
  await app.register(
    async (api) => {
      await api.register(fastifyMultipart, {
        limits: { fileSize: options.deps.config.importMaxBytes, files: 1, fields: 10, fieldSize: 100_000 },
      });
      if (rateLimit) api.addHook("onRequest", rateLimit);
      installAuth(api);
      await installAuditLog(api);
      await api.register(workspaceRoutes);
      await api.register(apiKeyRoutes);
      await api.register(teamRoutes);
      await api.register(ssoRoutes);
      // Static paths (/contacts/duplicates, /contacts/merge) win over /contacts/:id whatever the order.
      await api.register(contactMergeRoutes);
      await api.register(contactRoutes);
      await api.register(contactExportRoutes);
      await api.register(contactActivityRoutes);
      await api.register(templatePdfRoutes);
      await api.register(overviewRoutes);
      await api.register(eventRoutes);
      await api.register(importRoutes);
      await api.register(audienceRoutes);
      await api.register(templateRoutes);
      await api.register(workflowRoutes);
      await api.register(campaignRoutes);
      await api.register(reportRoutes);
      await api.register(outboxRoutes);
      await api.register(adDestinationRoutes);
      await api.register(topicRoutes);
      await api.register(retentionRoutes);
    },
    { prefix: "/api/v1" },
  );
  await app.register(
    async (scope) => {
      if (rateLimit) scope.addHook("onRequest", rateLimit);
      await scope.register(sessionRoutes);
      await scope.register(ssoSignInRoutes);
    },
    { prefix: "/api" },
  );
  await app.register(webAppRoutes, {
    maxParamLength: MAX_TOKEN_LENGTH,
    ...(options.webRoot ? { root: options.webRoot } : {}),
  });

  return app;
}
