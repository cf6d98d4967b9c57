/**
 * Security headers on every response (`@fastify/helmet`) and strict CORS for the API (`@fastify/cors`).
 * See docs/deploy.md, "Security headers, CORS and limits".
 *
 * One Content-Security-Policy serves the web app, the API's JSON and the API docs (/api/docs): all of
 * them load only their own scripts, styles and images (the web app's Vite build has no inline script or
 * style; React's `style` props are set through the DOM, which CSP allows; its favicon is a data: URL).
 * The tracking pages set a stricter policy of their own (tracking/routes.ts: no scripts at all, their
 * one inline stylesheet), and mark their answers Cross-Origin-Resource-Policy: cross-origin so that the
 * open pixel loads inside web mail, which is another origin.
 *
 * HSTS and upgrade-insecure-requests only when PUBLIC_URL is https: over plain http (local use, a test
 * server) they would send the browser to an https port that does not answer.
 */
import fastifyCors from "@fastify/cors";
import fastifyHelmet from "@fastify/helmet";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** The Content-Security-Policy directives of everything but the tracking pages. */
export function contentSecurityPolicyDirectives(https: boolean): Record<string, string[]> {
  return {
    "default-src": ["'self'"],
    "base-uri": ["'self'"],
    "connect-src": ["'self'"],
    "font-src": ["'self'", "data:"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "script-src": ["'self'"],
    "script-src-attr": ["'none'"],
    "style-src": ["'self'"],
    ...(https ? { "upgrade-insecure-requests": [] } : {}),
  };
}

/**
 * The API docs (/api/docs): Swagger UI sets one inline style as it renders, harmless without inline
 * scripts, so its pages alone also allow inline styles. Passed to @fastify/swagger-ui as
 * `transformStaticCSP`.
 */
export function allowInlineStyles(policy: string): string {
  return policy.replace(/(^|;\s*)style-src ([^;]*)/, (_match, lead: string, sources: string) =>
    sources.includes("'unsafe-inline'")
      ? `${lead}style-src ${sources}`
      : `${lead}style-src ${sources} 'unsafe-inline'`,
  );
}

/** HSTS for a year once the installation is reached over https; subdomains are the operator's business. */
const HSTS = { maxAge: 365 * 86_400, includeSubDomains: false, preload: false };

/**
 * Helmet's headers on every response of `app` (the API server and the tracking role alike). Registered
 * without waiting, so that createServer stays synchronous; Fastify loads it before the routes.
 */
export function installSecurityHeaders(app: FastifyInstance) {
  const https = app.deps.config.publicUrl.startsWith("https:");
  void app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicyDirectives(https) },
    strictTransportSecurity: https ? HSTS : false,
    crossOriginOpenerPolicy: { policy: "same-origin" },
    crossOriginResourcePolicy: { policy: "same-origin" },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: "no-referrer" },
    xFrameOptions: { action: "deny" },
  });
}

/** What a cross-origin page of a listed origin may use: an API key, JSON, the request id. */
const CORS_OPTIONS = {
  methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  allowedHeaders: ["authorization", "content-type", "x-request-id", "idempotency-key"],
  exposedHeaders: ["x-request-id", "retry-after", "location"],
  // Cross-origin callers use API keys: the session cookie (and so the CSRF token) stays same-origin.
  credentials: false,
  maxAge: 600,
};

/**
 * CORS for the API (/api/…): only the origins of CORS_ORIGINS get `Access-Control-Allow-Origin` (their
 * own origin, never `*`) and an answered preflight. Every other origin, and every other path, gets no
 * CORS header at all, so the browser keeps the page from reading the answer; a preflight from it is a
 * 404 problem. With no origin configured nothing is registered: the API is same-origin only.
 */
export async function installCors(app: FastifyInstance) {
  const allowed = new Set(app.deps.config.corsOrigins);
  if (allowed.size === 0) return;
  const isAllowed = (request: FastifyRequest) => {
    const origin = request.headers.origin;
    return (
      typeof origin === "string" &&
      allowed.has(origin) &&
      (request.url === "/api" || request.url.startsWith("/api/"))
    );
  };
  await app.register(fastifyCors, {
    hideOptionsRoute: true,
    delegator: (request, callback) =>
      callback(
        null,
        isAllowed(request) ? { ...CORS_OPTIONS, origin: request.headers.origin } : { origin: false },
      ),
  });
}
