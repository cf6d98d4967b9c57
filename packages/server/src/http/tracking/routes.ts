/**
 * The tracking endpoints, served at the root (the links in messages point here, see docs/responses.md
 * "Tracking endpoints"): open pixel, click redirect, SMS short links, PURL visits, unsubscribe and the
 * preference centre. No API key: the signed token or the unguessable code is the credential.
 *
 * The pixel and the click redirect answer from the request alone (a verified token, no database) and
 * hand the response to `deps.responses`, which never waits for the database. Anything wrong with a
 * token or code gets a harmless page (never a redirect elsewhere than the URL the message carried, and
 * never a 500).
 */
import { findPurl } from "@omneural/core/delivery/purl";
import type { ResponseInput } from "@omneural/core/responses/response";
import { uuidv7 } from "@omneural/core/shared/ids";
import {
  type PreferenceChannel,
  readPreferences,
  savePreferences,
  topicOfLink,
  unsubscribeFromTopic,
} from "@omneural/core/tracking/preferences.service";
import { createShortLinkResolver } from "@omneural/core/tracking/short-link.service";
import { type UnsubscribeToken, verifyToken } from "@omneural/core/tracking/tokens";
import { findWorkspace } from "@omneural/core/workspaces/workspace.repository";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { answerLink, PIXEL_GIF, PIXEL_HEADERS, type RequestFacts, trackingHeaders, webUrl } from "./links.ts";
import {
  badRequestPage,
  expiredPage,
  notFoundPage,
  preferencesPage,
  purlLandingPage,
  topicUnsubscribedPage,
  unavailablePage,
  unsubscribeConfirmPage,
  unsubscribedPage,
} from "./pages.ts";

/**
 * How long an unsubscribe link works. RFC 8058 and the mailbox providers ask for at least 30 days; a
 * letter or an old email in an archive may be found much later, and a person who wants out should get
 * out, so links last more than a year.
 */
export const UNSUBSCRIBE_LINK_DAYS = 400;

/** Form bodies of unsubscribe and preference posts are tiny; anything bigger is not one. */
const FORM_BODY_LIMIT = 16 * 1024;

const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "57P01", "57P03", "08006", "08001", "08003"]);

type TokenParams = { Params: { token: string } };
type CodeParams = { Params: { code: string } };

/** What the request says about who asked: the ingest writer flags machine opens and clicks from it. */
function requestFacts(request: FastifyRequest): RequestFacts {
  return { userAgent: request.headers["user-agent"] ?? null, method: request.method, ip: request.ip };
}

function page(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type("text/html; charset=utf-8").send(body);
}

/** Fields of a form post: url-encoded (browsers, most mailbox providers) or multipart (RFC 8058 allows both). */
export function formFields(contentType: string | undefined, body: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (typeof body !== "string" || body === "") return fields;
  const boundary = /^multipart\/form-data\b.*?;\s*boundary="?([^";]+)"?/i.exec(contentType ?? "")?.[1];
  if (boundary) {
    for (const part of body.split(`--${boundary}`)) {
      const split = part.indexOf("\r\n\r\n");
      if (split < 0) continue;
      const name = /content-disposition:[^\r\n]*?\bname="([^"]*)"/i.exec(part.slice(0, split))?.[1];
      if (name !== undefined && !fields.has(name)) {
        fields.set(name, part.slice(split + 4).replace(/\r\n$/, ""));
      }
    }
    return fields;
  }
  for (const [name, value] of new URLSearchParams(body)) if (!fields.has(name)) fields.set(name, value);
  return fields;
}

export async function trackingRoutes(app: FastifyInstance) {
  const { deps } = app;
  const shortLinks = createShortLinkResolver(deps.database.db);
  const publicUrl = deps.config.publicUrl.replace(/\/+$/, "");

  const record = (response: Omit<ResponseInput, "id" | "at">) =>
    deps.responses.record({ id: uuidv7(), at: new Date(), ...response });

  // Bodies only matter to the unsubscribe and preference posts: read whatever comes as text, parse
  // it as a form in the route. A JSON or XML body is not a form and gets the 400 page, not a problem+json.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string", bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  // These answers carry their own few security headers (below), fixed strings: the general ones
  // (security-headers.ts) are skipped, since @fastify/helmet rebuilds its middleware on every request,
  // which costs a click redirect more than the rest of its work.
  app.addHook("onRoute", (route) => {
    route.config = { ...(route.config ?? {}), helmet: { skipRoute: true } } as typeof route.config;
  });
  const https = deps.config.publicUrl.startsWith("https:");

  const headers = trackingHeaders(https);
  app.addHook("onSend", async (_request, reply, payload) => {
    for (const [name, value] of headers) reply.header(name, value);
    if (String(reply.getHeader("content-type") ?? "").startsWith("text/html")) {
      reply.header("content-security-policy", PAGE_CSP);
      reply.header("x-frame-options", "DENY");
    }
    return payload;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return page(reply, status, badRequestPage());
    const code = (error as { code?: string }).code;
    if (code && CONNECTION_CODES.has(code)) {
      request.log.warn({ err: error }, "tracking page: database unavailable");
      return page(reply.header("retry-after", "30"), 503, unavailablePage());
    }
    request.log.error({ err: error }, "tracking page failed");
    return page(reply, 500, unavailablePage());
  });

  const hidden = { schema: { hide: true } };

  // Open pixel: always the image, so a mail client never shows a broken one. (Requests over HTTP are
  // mostly answered by the fast path in links.ts; these routes answer the rest, and inject().)
  app.get<TokenParams>("/t/o/:token", hidden, async (request, reply) => {
    answerLink(deps.keys.links, deps.responses, "o", request.params.token, requestFacts(request));
    for (const [name, value] of PIXEL_HEADERS) reply.header(name, value);
    return reply.type("image/gif").send(PIXEL_GIF);
  });

  // Click redirect (GET and HEAD; a HEAD is recorded with its method so the ingest can call it a machine).
  app.get<TokenParams>("/t/c/:token", hidden, async (request, reply) => {
    const answer = answerLink(
      deps.keys.links,
      deps.responses,
      "c",
      request.params.token,
      requestFacts(request),
    );
    if (answer?.kind !== "redirect") return page(reply, 404, notFoundPage());
    return reply.redirect(answer.location, 302);
  });

  // SMS short link: the code's row through the in-process cache.
  app.get<CodeParams>("/s/:code", hidden, async (request, reply) => {
    const link = await shortLinks.resolve(request.params.code);
    const url = link && webUrl(link.url);
    if (!link || !url) return page(reply, 404, notFoundPage());
    record({
      workspaceId: link.workspaceId,
      messageId: link.messageId,
      kind: "clicked",
      properties: { url: link.url, shortCode: request.params.code, ...requestFacts(request) },
    });
    return reply.redirect(url, 302);
  });

  // PURL visit: the member's page (no campaign has a landing URL of its own yet).
  app.get<CodeParams>("/r/:code", hidden, async (request, reply) => {
    const purl = await findPurl(deps.database.db, request.params.code);
    if (!purl) return page(reply, 404, notFoundPage());
    record({
      workspaceId: purl.workspace_id,
      messageId: purl.message_id,
      contactId: purl.contact_id,
      kind: "purl_visited",
      properties: { code: purl.code, ...requestFacts(request) },
    });
    const workspace = await findWorkspace(deps.database.db, purl.workspace_id);
    return page(reply, 200, purlLandingPage(workspace?.name ?? ""));
  });

  /** The unsubscribe token of the request, or the page to answer instead. */
  function unsubscribeTokenOf(
    request: FastifyRequest<TokenParams>,
  ): { token: UnsubscribeToken & { channel: PreferenceChannel } } | { status: number; body: string } {
    const token = verifyToken(deps.keys.links, request.params.token);
    if (token?.kind !== "unsubscribe" || token.channel === "ads") {
      return { status: 404, body: notFoundPage() };
    }
    const ageMs = Date.now() - token.issuedAt.getTime();
    if (ageMs > UNSUBSCRIBE_LINK_DAYS * 86_400_000) return { status: 410, body: expiredPage() };
    return { token: token as UnsubscribeToken & { channel: PreferenceChannel } };
  }

  /** The sender's name for a page; the page still works without it when the database does not answer. */
  async function workspaceName(workspaceId: string): Promise<string | undefined> {
    try {
      return (await findWorkspace(deps.database.db, workspaceId))?.name;
    } catch (error) {
      app.log.warn({ err: error }, "unsubscribe page without the workspace's name");
      return undefined;
    }
  }

  /** The topic of the link's campaign, if any; the page still works without it when the database does not answer. */
  async function linkTopic(token: UnsubscribeToken) {
    try {
      return await topicOfLink(deps.database.db, token.workspaceId, token.messageId);
    } catch (error) {
      app.log.warn({ err: error }, "unsubscribe page without the link's topic");
      return undefined;
    }
  }

  const preferencesHref = (request: FastifyRequest<TokenParams>) =>
    `${publicUrl}/u/${request.params.token}/preferences`;

  // A GET never unsubscribes: link scanners and prefetchers follow every link in a message.
  app.get<TokenParams>("/u/:token", hidden, async (request, reply) => {
    const checked = unsubscribeTokenOf(request);
    if (!("token" in checked)) return page(reply, checked.status, checked.body);
    const { token } = checked;
    return page(
      reply,
      200,
      unsubscribeConfirmPage({
        workspaceName: await workspaceName(token.workspaceId),
        channel: token.channel,
        preferencesHref: preferencesHref(request),
        topic: await linkTopic(token),
      }),
    );
  });

  // RFC 8058 one-click (`List-Unsubscribe=One-Click`) or the confirmation page's button.
  app.post<TokenParams>("/u/:token", hidden, async (request, reply) => {
    const checked = unsubscribeTokenOf(request);
    if (!("token" in checked)) return page(reply, checked.status, checked.body);
    const { token } = checked;
    const fields = formFields(request.headers["content-type"], request.body);
    const oneClick = fields.get("List-Unsubscribe") === "One-Click";
    if (!oneClick && fields.get("confirm") !== "unsubscribe") return page(reply, 400, badRequestPage());
    // "Unsubscribe from <topic> only" (the page's second button). One-click always leaves the channel:
    // a mailbox provider's button promises the recipient no more of these messages.
    if (!oneClick && fields.get("scope") === "topic") {
      const topic = await unsubscribeFromTopic(
        deps.database.db,
        token.workspaceId,
        token.contactId,
        token.messageId,
      );
      if (!topic) return page(reply, 404, notFoundPage());
      return page(
        reply,
        200,
        topicUnsubscribedPage({
          workspaceName: await workspaceName(token.workspaceId),
          topic,
          preferencesHref: preferencesHref(request),
        }),
      );
    }
    record({
      workspaceId: token.workspaceId,
      messageId: token.messageId,
      contactId: token.contactId,
      kind: "unsubscribed",
      properties: { channel: token.channel, via: oneClick ? "one-click" : "page", ...requestFacts(request) },
    });
    if (oneClick) return reply.code(200).type("text/plain; charset=utf-8").send("Unsubscribed.\n");
    return page(
      reply,
      200,
      unsubscribedPage({
        workspaceName: await workspaceName(token.workspaceId),
        channel: token.channel,
        preferencesHref: preferencesHref(request),
      }),
    );
  });

  app.get<TokenParams>("/u/:token/preferences", hidden, async (request, reply) => {
    const checked = unsubscribeTokenOf(request);
    if (!("token" in checked)) return page(reply, checked.status, checked.body);
    const { token } = checked;
    const preferences = await readPreferences(deps.database.db, token.workspaceId, token.contactId);
    if (!preferences) return page(reply, 404, notFoundPage());
    return page(reply, 200, preferencesPage(preferences, false));
  });

  app.post<TokenParams>("/u/:token/preferences", hidden, async (request, reply) => {
    const checked = unsubscribeTokenOf(request);
    if (!("token" in checked)) return page(reply, checked.status, checked.body);
    const { token } = checked;
    const fields = formFields(request.headers["content-type"], request.body);
    if (fields.get("save") !== "preferences") return page(reply, 400, badRequestPage());
    // Only the topics the page showed (named in `topics`) are changed.
    const shown = (fields.get("topics") ?? "").split(",").filter((id) => id !== "");
    const topics = new Map(shown.map((id) => [id, fields.get(`topic:${id}`) === "on"]));
    const preferences = await savePreferences(
      deps.database.db,
      token.workspaceId,
      token.contactId,
      {
        email: fields.get("email") === "on",
        sms: fields.get("sms") === "on",
        mail: fields.get("mail") === "on",
      },
      topics,
    );
    if (!preferences) return page(reply, 404, notFoundPage());
    return page(reply, 200, preferencesPage(preferences, true));
  });
}
