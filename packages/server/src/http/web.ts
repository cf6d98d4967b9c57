/**
 * The web app: packages/web/dist (built by `npm install`, or `npm run build -w @omneural/web`) served at
 * the root, with index.html for every other path that is not the API's, tracking's or the hooks'
 * (client-side routes such as /contacts/<id>). Hashed assets are cached for a year; index.html is
 * revalidated on every load so a new build is picked up at once. Without a build, a short page says how
 * to make one. Only browsers (Accept: text/html) get the app for an unknown path; programs get the 404
 * problem as before. OMNEURAL_WEB_DIST points at another build (the end-to-end tests build into a
 * directory of their own, so two runs side by side never serve each other's half-written build).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

export const DEFAULT_WEB_DIST = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../web/dist",
);

/** First path segments that belong to the server, never to the web app. */
const SERVER_PREFIXES = new Set(["api", "hooks", "t", "u", "s", "r", "healthz", "readyz"]);

/**
 * The app's URLs, an invitation's token among them, are not sent as the Referer to other sites. That it
 * is never framed (clickjacking) and loads only its own scripts is the Content-Security-Policy's work,
 * set on every response (security-headers.ts).
 */
const PAGE_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Omneural</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Omneural is running, but its web app is not built</h1>
<p>Build it with <code>npm run build -w @omneural/web</code> (<code>npm install</code> does it too), then reload this page.</p>
<p>The API works meanwhile: its documentation is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>
`;

export async function webAppRoutes(app: FastifyInstance, options: { root?: string; maxParamLength: number }) {
  const root = options.root ?? process.env.OMNEURAL_WEB_DIST ?? DEFAULT_WEB_DIST;
  const { maxParamLength } = options;
  await app.register(fastifyStatic, { root, serve: false });

  app.get("/*", { schema: { hide: true } }, async (request, reply) => {
    const requested = (request.params as { "*": string })["*"] ?? "";
    const segments = requested.split("/");
    if (SERVER_PREFIXES.has(segments[0] ?? "")) {
      // What the router answers when this catch-all is not there: a path segment too long for any
      // route's parameter (a forged tracking token, say) is 414, anything else the usual 404 problem.
      if (segments.some((segment) => segment.length > maxParamLength)) {
        return reply.code(414).send({
          error: "URI Too Long",
          code: "FST_ERR_MAX_PARAM_LENGTH",
          message: "A path segment is exceeding the max param length",
          statusCode: 414,
        });
      }
      return reply.callNotFound();
    }
    const isFile = /\.[a-z0-9]+$/i.test(requested);
    // Pages are for browsers; a program asking for a path that does not exist gets the 404 problem.
    if (!isFile && requested !== "" && !(request.headers.accept ?? "").includes("text/html")) {
      return reply.callNotFound();
    }
    if (!existsSync(path.join(root, "index.html"))) {
      return reply
        .code(503)
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .send(NOT_BUILT);
    }
    // A path with an extension is a file of the build (404 when missing); anything else is a page.
    if (isFile) {
      return requested.startsWith("assets/")
        ? reply.sendFile(requested, { maxAge: "365d", immutable: true })
        : reply.sendFile(requested, { maxAge: "1h" });
    }
    return reply
      .header("cache-control", "no-cache")
      .headers(PAGE_HEADERS)
      .sendFile("index.html", { cacheControl: false });
  });
}
