/** Structured JSON logs (pino); pretty when writing to a terminal. Secrets are redacted by path. */
import pino, { type Logger } from "pino";

export type { Logger };

export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "apiKey",
  "password",
  "*.password",
  "*.apiKey",
  "databaseUrl",
  "smtpUrl",
  "twilioUrl",
  "webhookSecret",
  "secretKey",
  "redisUrl",
  "lobUrl",
  "*.authToken",
  "*.accessToken",
  "*.developerToken",
  "*.dkimPrivateKey",
  // Single sign-on client secrets and the `secrets` object of a provider's settings, should either
  // ever be logged whole; the headers a request carries its credentials in.
  "clientSecret",
  "*.clientSecret",
  "secrets",
  "*.secrets",
  'req.headers["x-csrf-token"]',
  'req.headers["x-twilio-signature"]',
];

/**
 * The tokens in tracking and hook paths (/t/o, /t/c, /u, /s, /r, /hooks/email) act for a recipient or a
 * workspace, and an invitation link's (/invite, /api/invitations) lets its holder join one: request logs
 * show the path with the token replaced.
 */
export function redactLinkTokens(url: string): string {
  return (
    url
      .replace(/^(\/(?:t\/[oc]|u|s|r|hooks\/email|invite|api\/invitations)\/)[^/?#]+/, "$1[token]")
      // The single sign-on callback's one-time code and state.
      .replace(/^(\/api\/session\/sso\/callback\?).*$/, "$1[redacted]")
  );
}

interface LoggedRequest {
  method?: string;
  url?: string;
  hostname?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** What a request log line says of the request: never its headers, tokens in paths replaced. */
function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactLinkTokens(req.url),
    host: req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(options: {
  level: string;
  format: "json" | "pretty" | "auto";
  name?: string;
  /** 1 (stdout, the default) or 2 (stderr, for commands whose stdout is their output). */
  destination?: 1 | 2;
  /** Write JSON lines here instead (tests capture the logs the real configuration writes). */
  stream?: pino.DestinationStream;
}): Logger {
  const destination = options.destination ?? 1;
  const stream = destination === 1 ? process.stdout : process.stderr;
  const pretty = options.format === "pretty" || (options.format === "auto" && stream.isTTY === true);
  const base = {
    name: options.name ?? "omneural",
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { req: serializeRequest },
  };
  if (options.stream) return pino(base, options.stream);
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: "pino-pretty",
        options: {
          colorize: stream.isTTY === true,
          translateTime: "HH:MM:ss.l",
          ignore: "pid,hostname",
          destination,
        },
      },
    });
  }
  return pino(base, pino.destination({ dest: destination, sync: false }));
}

/** Removes the password from a connection string before it is printed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "[unparseable url]";
  }
}
