/**
 * Configuration is read from the environment once, at start-up, validated, frozen and passed down.
 * Nothing below this module reads `process.env`. A bad value fails fast and names the variable.
 */
import path from "node:path";

export type LogFormat = "json" | "pretty" | "auto";

export interface Config {
  /** PostgreSQL connection string; when absent an embedded PostgreSQL runs in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** A streaming replica of DATABASE_URL that campaign reports are read from; unset: the primary. */
  readonly databaseReplicaUrl: string | undefined;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly databasePoolSize: number;
  readonly workerConcurrency: number;
  readonly stepperBatchSize: number;
  /** SMTP server for email (`smtp://user:password@host:587`, `smtps://…:465`); unset: the dev inbox. */
  readonly smtpUrl: string | undefined;
  /** Twilio-compatible SMS API with credentials (`https://SID:TOKEN@api.twilio.com`); unset: dev inbox. */
  readonly twilioUrl: string | undefined;
  /** Secret that signs webhook calls; unset: webhook nodes deliver to the dev inbox. */
  readonly webhookSecret: string | undefined;
  readonly webhookAllowHosts: readonly string[];
  /** Hosts an ad destination's base URL may reach although they are private, loopback or link-local. */
  readonly adsAllowHosts: readonly string[];
  /** Lob-compatible print-and-mail API with the API key as user (`https://KEY@api.lob.com`). */
  readonly lobUrl: string | undefined;
  /** Direct mail by daily print batch into this directory (when LOB_URL is unset). */
  readonly printBatchDir: string | undefined;
  /** The print batch's daily cut-off, "HH:MM" in UTC. */
  readonly printBatchCutoff: string;
  readonly printBatchCostPerLetter: number;
  readonly printBatchCostPerPostcard: number;
  readonly printBatchCurrency: string;
  /** Master secret for link signing and credential encryption; unset: `dataDir/secret.key`. */
  readonly secretKey: string | undefined;
  /** Redis for shared rate limits; unset: each process counts its own. */
  readonly redisUrl: string | undefined;
  /** The shared cache's mode (cache/cache.ts): redis when REDIS_URL is set, else memory; off: none. */
  readonly cache: "memory" | "redis" | "off";
  /** Provider rate limits, messages per second per worker process; 0: unlimited. */
  readonly emailMaxPerSecond: number;
  readonly smsMaxPerSecond: number;
  readonly importMaxBytes: number;
  readonly shutdownTimeoutMs: number;
  /** Bearer token `GET /metrics` requires; unset: only this machine (loopback) may read it. */
  readonly metricsToken: string | undefined;
  /** A port on which a worker-only process serves /metrics and /healthz; unset: none. */
  readonly metricsPort: number | undefined;
  /** API requests per minute per API key, session or address; 0: no limit. */
  readonly apiRateLimit: number;
  /** Origins (`https://app.example.com`) whose pages may call the API cross-origin; empty: none. */
  readonly corsOrigins: readonly string[];
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

interface Option<T> {
  variable: string;
  description: string;
  defaultText: string;
  parse(raw: string | undefined, env: Record<string, string | undefined>): T;
}

function integer(variable: string, fallback: number, min: number, max: number) {
  return (raw: string | undefined): number => {
    if (raw === undefined || raw.trim() === "") return fallback;
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(variable, `expected a whole number, got "${raw}"`);
    const value = Number(raw.trim());
    if (value < min || value > max)
      throw new ConfigError(variable, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

function oneOf<T extends string>(variable: string, fallback: T, allowed: readonly T[]) {
  return (raw: string | undefined): T => {
    if (raw === undefined || raw.trim() === "") return fallback;
    const value = raw.trim().toLowerCase() as T;
    if (!allowed.includes(value))
      throw new ConfigError(variable, `must be one of ${allowed.join(", ")}, got "${raw}"`);
    return value;
  };
}

/**
 * An optional URL: unset or blank is undefined; otherwise it must parse, use one of `protocols` and pass
 * `check` (which returns a problem or nothing).
 */
function optionalUrl(
  variable: string,
  example: string,
  protocols: readonly string[],
  check: (url: URL) => string | undefined = () => undefined,
) {
  return (raw: string | undefined): string | undefined => {
    if (raw === undefined || raw.trim() === "") return undefined;
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new ConfigError(variable, `is not a valid URL (expected ${example})`);
    }
    if (!protocols.includes(url.protocol)) {
      const allowed = protocols.map((p) => `${p}//`).join(" or ");
      throw new ConfigError(variable, `must start with ${allowed}, got "${url.protocol}//"`);
    }
    const problem = check(url);
    if (problem) throw new ConfigError(variable, problem);
    return raw.trim();
  };
}

/** A non-negative amount with at most two decimals (a price). */
function amount(variable: string, fallback: number) {
  return (raw: string | undefined): number => {
    if (raw === undefined || raw.trim() === "") return fallback;
    if (!/^\d+(\.\d{1,2})?$/.test(raw.trim()))
      throw new ConfigError(variable, `expected an amount such as 0.85, got "${raw}"`);
    return Number(raw.trim());
  };
}

/** An optional secret of at least `minLength` characters. */
function optionalSecret(variable: string, minLength: number) {
  return (raw: string | undefined): string | undefined => {
    if (raw === undefined || raw.trim() === "") return undefined;
    if (raw.trim().length < minLength)
      throw new ConfigError(variable, `must be at least ${minLength} characters`);
    return raw.trim();
  };
}

/** A comma-separated list of host names or addresses. */
const hostList = (raw: string | undefined): readonly string[] =>
  (raw ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);

/**
 * A comma-separated list of web origins (scheme, host and port, no path): each is checked and written as
 * the browser sends it in `Origin` (`https://app.example.com`, no trailing slash).
 */
function originList(variable: string) {
  return (raw: string | undefined): readonly string[] =>
    (raw ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean)
      .map((item) => {
        if (item === "*") throw new ConfigError(variable, "lists origins one by one; * is not allowed");
        let url: URL;
        try {
          url = new URL(item);
        } catch {
          throw new ConfigError(variable, `"${item}" is not an origin (expected https://app.example.com)`);
        }
        if (url.protocol !== "http:" && url.protocol !== "https:") {
          throw new ConfigError(variable, `"${item}" must start with http:// or https://`);
        }
        if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
          throw new ConfigError(
            variable,
            `"${item}" must be an origin alone, without a path (https://app.example.com)`,
          );
        }
        return url.origin;
      });
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Every option, with its default. docs/configuration.md is written from this table. */
export const OPTIONS = {
  databaseUrl: {
    variable: "DATABASE_URL",
    description:
      "PostgreSQL connection string. When unset, an embedded PostgreSQL is started in the data directory.",
    defaultText: "(unset: embedded PostgreSQL)",
    parse: optionalUrl("DATABASE_URL", "postgres://user:password@host:port/database", [
      "postgres:",
      "postgresql:",
    ]),
  } satisfies Option<string | undefined>,
  databaseReplicaUrl: {
    variable: "DATABASE_REPLICA_URL",
    description:
      "A streaming replica of DATABASE_URL (read-only) that the API reads campaign reports from, so that report reads do not compete with sending. Reports then lag the primary by the replication delay; if the replica cannot be reached, they are read from the primary.",
    defaultText: "(unset: reports read the primary)",
    parse: optionalUrl("DATABASE_REPLICA_URL", "postgres://user:password@replica-host:port/database", [
      "postgres:",
      "postgresql:",
    ]),
  } satisfies Option<string | undefined>,
  dataDir: {
    variable: "OMNEURAL_DATA_DIR",
    description: "Directory for the embedded PostgreSQL cluster and local state.",
    defaultText: "./.omneural",
    parse: (raw) => path.resolve(raw?.trim() || ".omneural"),
  } satisfies Option<string>,
  host: {
    variable: "HOST",
    description: "Address the HTTP server binds to. Use 0.0.0.0 in containers.",
    defaultText: "127.0.0.1",
    parse: (raw) => raw?.trim() || "127.0.0.1",
  } satisfies Option<string>,
  port: {
    variable: "PORT",
    description: "HTTP port.",
    defaultText: "3000",
    parse: integer("PORT", 3000, 0, 65535),
  } satisfies Option<number>,
  publicUrl: {
    variable: "PUBLIC_URL",
    description:
      "The URL recipients and browsers reach this server at: tracked links, the open pixel, unsubscribe links, SMS short links and PURLs in messages point here.",
    defaultText: "http://localhost:$PORT",
    parse(raw, env) {
      const fallback = `http://localhost:${integer("PORT", 3000, 0, 65535)(env.PORT)}`;
      const value = raw?.trim() || fallback;
      try {
        const url = new URL(value);
        if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
      } catch {
        throw new ConfigError("PUBLIC_URL", `must be an http(s) URL, got "${value}"`);
      }
      return value.replace(/\/+$/, "");
    },
  } satisfies Option<string>,
  logLevel: {
    variable: "LOG_LEVEL",
    description: "Minimum log level: fatal, error, warn, info, debug, trace or silent.",
    defaultText: "info",
    parse: oneOf("LOG_LEVEL", "info", LOG_LEVELS),
  } satisfies Option<string>,
  logFormat: {
    variable: "LOG_FORMAT",
    description: "json, pretty, or auto (pretty when stdout is a terminal).",
    defaultText: "auto",
    parse: oneOf<LogFormat>("LOG_FORMAT", "auto", ["json", "pretty", "auto"]),
  } satisfies Option<LogFormat>,
  databasePoolSize: {
    variable: "DATABASE_POOL_SIZE",
    description: "Maximum PostgreSQL connections per process for API and engine queries.",
    defaultText: "10",
    parse: integer("DATABASE_POOL_SIZE", 10, 1, 500),
  } satisfies Option<number>,
  workerConcurrency: {
    variable: "WORKER_CONCURRENCY",
    description: "Jobs run at once by one worker process.",
    defaultText: "4",
    parse: integer("WORKER_CONCURRENCY", 4, 1, 100),
  } satisfies Option<number>,
  stepperBatchSize: {
    variable: "STEPPER_BATCH_SIZE",
    description:
      "Enrollments the journey engine claims and advances per transaction. Larger batches move more members per second; smaller ones let pause take effect sooner.",
    defaultText: "1000",
    parse: integer("STEPPER_BATCH_SIZE", 1000, 1, 20_000),
  } satisfies Option<number>,
  smtpUrl: {
    variable: "SMTP_URL",
    description:
      "SMTP server that sends email: smtp://user:password@host:587 (STARTTLS when offered) or smtps://user:password@host:465. When unset, email goes to the dev inbox (GET /api/v1/outbox) and nothing leaves the machine.",
    defaultText: "(unset: dev inbox)",
    parse: optionalUrl("SMTP_URL", "smtp://user:password@host:port", ["smtp:", "smtps:"]),
  } satisfies Option<string | undefined>,
  twilioUrl: {
    variable: "TWILIO_URL",
    description:
      "Twilio-compatible SMS API, with the account SID and auth token as user and password: https://SID:TOKEN@api.twilio.com. When unset, SMS goes to the dev inbox.",
    defaultText: "(unset: dev inbox)",
    parse: optionalUrl("TWILIO_URL", "https://SID:TOKEN@api.twilio.com", ["https:", "http:"], (url) =>
      url.username && url.password ? undefined : "needs the account SID and auth token as user and password",
    ),
  } satisfies Option<string | undefined>,
  webhookSecret: {
    variable: "WEBHOOK_SECRET",
    description:
      "Secret that signs every workflow webhook call (HMAC-SHA256 over timestamp and body, header Omneural-Signature). When unset, webhook nodes deliver to the dev inbox.",
    defaultText: "(unset: dev inbox)",
    parse: optionalSecret("WEBHOOK_SECRET", 16),
  } satisfies Option<string | undefined>,
  webhookAllowHosts: {
    variable: "WEBHOOK_ALLOW_HOSTS",
    description:
      "Comma-separated hosts or addresses webhook calls may reach although they are private, loopback or link-local (refused otherwise).",
    defaultText: "(none)",
    parse: hostList,
  } satisfies Option<readonly string[]>,
  lobUrl: {
    variable: "LOB_URL",
    description:
      "Lob-compatible print-and-mail API for direct mail, with the secret API key as user: https://KEY@api.lob.com. When unset, direct mail goes to the print batch (PRINT_BATCH_DIR) or the dev inbox.",
    defaultText: "(unset: print batch or dev inbox)",
    parse: optionalUrl("LOB_URL", "https://KEY@api.lob.com", ["https:", "http:"], (url) =>
      url.username ? undefined : "needs the API key as user (https://KEY@api.lob.com)",
    ),
  } satisfies Option<string | undefined>,
  printBatchDir: {
    variable: "PRINT_BATCH_DIR",
    description:
      "Directory that direct mail is written into, once a day at PRINT_BATCH_CUTOFF: one merged PDF and CSV manifest per workspace. When neither this nor LOB_URL is set, direct mail goes to the dev inbox.",
    defaultText: "(unset: dev inbox)",
    parse(raw, env) {
      if (raw === undefined || raw.trim() === "") return undefined;
      if (env.LOB_URL?.trim())
        throw new ConfigError("PRINT_BATCH_DIR", "set LOB_URL or PRINT_BATCH_DIR for direct mail, not both");
      return path.resolve(raw.trim());
    },
  } satisfies Option<string | undefined>,
  printBatchCutoff: {
    variable: "PRINT_BATCH_CUTOFF",
    description:
      "Daily cut-off of the print batch, HH:MM in UTC: the pieces sent before it are written into that day's batch.",
    defaultText: "17:00",
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return "17:00";
      const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(raw.trim());
      if (!match)
        throw new ConfigError("PRINT_BATCH_CUTOFF", `expected HH:MM (00:00 to 23:59), got "${raw}"`);
      return raw.trim();
    },
  } satisfies Option<string>,
  printBatchCostPerLetter: {
    variable: "PRINT_BATCH_COST_PER_LETTER",
    description: "Estimated price of printing and posting one letter, for the print batch's cost estimate.",
    defaultText: "0.85",
    parse: amount("PRINT_BATCH_COST_PER_LETTER", 0.85),
  } satisfies Option<number>,
  printBatchCostPerPostcard: {
    variable: "PRINT_BATCH_COST_PER_POSTCARD",
    description: "Estimated price of printing and posting one postcard.",
    defaultText: "0.55",
    parse: amount("PRINT_BATCH_COST_PER_POSTCARD", 0.55),
  } satisfies Option<number>,
  printBatchCurrency: {
    variable: "PRINT_BATCH_CURRENCY",
    description: "Currency of the print batch's prices (ISO 4217).",
    defaultText: "USD",
    parse(raw) {
      if (raw === undefined || raw.trim() === "") return "USD";
      const value = raw.trim().toUpperCase();
      if (!/^[A-Z]{3}$/.test(value))
        throw new ConfigError("PRINT_BATCH_CURRENCY", `expected a three-letter ISO 4217 code, got "${raw}"`);
      return value;
    },
  } satisfies Option<string>,
  adsAllowHosts: {
    variable: "ADS_ALLOW_HOSTS",
    description:
      "Comma-separated hosts or addresses an ad destination's base URL (a Graph-API- or Google-Ads-API-compatible endpoint) may reach although they are private, loopback or link-local (refused otherwise).",
    defaultText: "(none)",
    parse: hostList,
  } satisfies Option<readonly string[]>,
  secretKey: {
    variable: "SECRET_KEY",
    description:
      "Signs the links in messages (tracked clicks, open pixel, unsubscribe) and encrypts stored provider credentials. At least 32 characters; every process of an installation needs the same one. When unset, a key is generated once and kept in $OMNEURAL_DATA_DIR/secret.key.",
    defaultText: "(unset: generated into the data directory)",
    parse: optionalSecret("SECRET_KEY", 32),
  } satisfies Option<string | undefined>,
  redisUrl: {
    variable: "REDIS_URL",
    description:
      "Redis shared by every process: provider rate limits are counted there, so several workers together keep to them. When unset, each process counts its own.",
    defaultText: "(unset: in-process)",
    parse: optionalUrl("REDIS_URL", "redis://host:6379", ["redis:", "rediss:"]),
  } satisfies Option<string | undefined>,
  cache: {
    variable: "CACHE",
    description:
      "The shared cache of what every request reads (API keys, workspace settings): memory (an LRU in each process; changes reach the other processes through PostgreSQL LISTEN/NOTIFY), redis (shared by every process through REDIS_URL), or off (every read goes to the database). Entries live at most 30 seconds, so a lost invalidation is never stale for longer.",
    defaultText: "redis when REDIS_URL is set, else memory",
    parse: (raw, env) => {
      const redis = Boolean(env.REDIS_URL?.trim());
      const mode = oneOf("CACHE", redis ? "redis" : "memory", ["memory", "redis", "off"] as const)(raw);
      if (mode === "redis" && !redis) throw new ConfigError("CACHE", "is redis, but REDIS_URL is not set");
      return mode;
    },
  } satisfies Option<"memory" | "redis" | "off">,
  emailMaxPerSecond: {
    variable: "EMAIL_MAX_PER_SECOND",
    description:
      "Most emails one worker process sends a second (a token bucket; messages over it are deferred, not failed). 0: as fast as the provider takes them.",
    defaultText: "0 (unlimited)",
    parse: integer("EMAIL_MAX_PER_SECOND", 0, 0, 100_000),
  } satisfies Option<number>,
  smsMaxPerSecond: {
    variable: "SMS_MAX_PER_SECOND",
    description:
      "Most SMS one worker process sends a second (match your provider's limit, e.g. 1 for a Twilio long code). 0: unlimited.",
    defaultText: "0 (unlimited)",
    parse: integer("SMS_MAX_PER_SECOND", 0, 0, 100_000),
  } satisfies Option<number>,
  importMaxBytes: {
    variable: "IMPORT_MAX_BYTES",
    description: "Largest CSV upload accepted, in bytes.",
    defaultText: "524288000 (500 MB)",
    parse: integer("IMPORT_MAX_BYTES", 500 * 1024 * 1024, 1024, 10 * 1024 * 1024 * 1024),
  } satisfies Option<number>,
  shutdownTimeoutMs: {
    variable: "SHUTDOWN_TIMEOUT_MS",
    description: "How long a graceful shutdown waits for in-flight work before exiting.",
    defaultText: "10000",
    parse: integer("SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
  } satisfies Option<number>,
  apiRateLimit: {
    variable: "API_RATE_LIMIT",
    description:
      "Requests per minute the API (/api/v1 and the sign-in endpoints) takes from one API key, one session, or one address without either; beyond it 429 RATE_LIMITED with Retry-After. Counted in Redis when REDIS_URL is set (all processes together), else per process. 0 turns the limit off.",
    defaultText: "6000",
    parse: integer("API_RATE_LIMIT", 6000, 0, 1_000_000),
  } satisfies Option<number>,
  corsOrigins: {
    variable: "CORS_ORIGINS",
    description:
      "Comma-separated web origins (https://app.example.com) whose pages may call the API (/api/…) from the browser, authenticating with an API key (no cookies are accepted cross-origin). When unset, the API answers no cross-origin request: only the web app served by this server (same origin) calls it.",
    defaultText: "(none: same origin only)",
    parse: originList("CORS_ORIGINS"),
  } satisfies Option<readonly string[]>,
  metricsToken: {
    variable: "METRICS_TOKEN",
    description:
      "Bearer token that GET /metrics (Prometheus) requires. When unset, /metrics answers only requests from this machine (loopback), not ones through a proxy on another host.",
    defaultText: "(unset: loopback only)",
    parse: optionalSecret("METRICS_TOKEN", 16),
  } satisfies Option<string | undefined>,
  metricsPort: {
    variable: "METRICS_PORT",
    description:
      "A port on which `omneural worker` serves /metrics and /healthz (a worker has no HTTP server otherwise). Roles with HTTP serve /metrics on PORT.",
    defaultText: "(unset: none)",
    parse: (raw) =>
      raw === undefined || raw.trim() === "" ? undefined : integer("METRICS_PORT", 0, 1, 65535)(raw),
  } satisfies Option<number | undefined>,
} as const;

type Options = typeof OPTIONS;

/** Parses the environment. Throws a ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const entries = Object.entries(OPTIONS).map(([key, option]) => {
    const o = option as Option<unknown>;
    return [key, o.parse(env[o.variable], env)];
  });
  return Object.freeze(Object.fromEntries(entries)) as unknown as Config & {
    [K in keyof Options]: ReturnType<Options[K]["parse"]>;
  };
}
