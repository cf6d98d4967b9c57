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
];

export function createLogger(options: {
  level: string;
  format: "json" | "pretty" | "auto";
  name?: string;
  /** 1 (stdout, the default) or 2 (stderr, for commands whose stdout is their output). */
  destination?: 1 | 2;
}): Logger {
  const destination = options.destination ?? 1;
  const stream = destination === 1 ? process.stdout : process.stderr;
  const pretty = options.format === "pretty" || (options.format === "auto" && stream.isTTY === true);
  const base = {
    name: options.name ?? "omneural",
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
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
