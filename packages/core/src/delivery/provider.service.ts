/**
 * A workspace's own provider accounts (its SMTP server with DKIM, its Twilio and Lob accounts), and the resolver
 * the dispatcher asks for the channel of a workspace: the workspace's provider when it has one, the
 * installation's otherwise. Secrets are sealed with the credentials key, bound to workspace and channel,
 * and never leave this module except into the adapters.
 */
import { createPrivateKey } from "node:crypto";
import type { Provider, ProviderChannel, ProviderInput } from "@omneural/contracts/providers";
import { sql } from "kysely";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db, Executor } from "../db/database.ts";
import { sealJson, UnsealError, unsealJson } from "../security/keys.ts";
import { type FieldProblem, notFound, validationFailed } from "../shared/errors.ts";
import type { EmailChannel, MailChannel, SmsChannel } from "./channel.ts";
import type { DispatchChannels } from "./dispatcher.ts";
import { CircuitBreaker } from "./guards.ts";
import { createLobChannel } from "./lob-channel.ts";
import { createSmtpChannel } from "./smtp-channel.ts";
import { createTwilioSmsChannel } from "./twilio-sms-channel.ts";

interface ProviderRow {
  workspace_id: string;
  channel: ProviderChannel;
  provider: "smtp" | "twilio" | "lob";
  settings: Record<string, unknown>;
  secrets: Buffer | null;
  secret_names: string[];
  updated_at: Date;
}

type Secrets = Record<string, string>;

const context = (workspaceId: string, channel: string) => `workspace_provider:${workspaceId}:${channel}`;

function toProvider(row: ProviderRow): Provider {
  return {
    channel: row.channel,
    provider: row.provider,
    settings: row.settings,
    secretsSet: row.secret_names,
    updatedAt: row.updated_at.toISOString(),
  };
}

async function selectProviders(db: Executor, workspaceId: string): Promise<ProviderRow[]> {
  const { rows } = await sql<ProviderRow>`
    select workspace_id, channel, provider, settings, secrets, secret_names, updated_at
    from workspace_providers where workspace_id = ${workspaceId} order by channel`.execute(db);
  return rows;
}

export async function listProviders(db: Db, ws: WorkspaceContext): Promise<Provider[]> {
  return (await selectProviders(db, ws.id)).map(toProvider);
}

const CHANNEL_OF: Record<ProviderInput["provider"], ProviderChannel> = {
  smtp: "email",
  twilio: "sms",
  lob: "mail",
};

/**
 * Sets the workspace's provider of a channel. Secrets given replace those stored, `null` removes one,
 * and secrets not mentioned are kept (so a settings change need not repeat a password).
 */
export async function setProvider(
  db: Db,
  ws: WorkspaceContext,
  channel: ProviderChannel,
  input: ProviderInput,
  credentialsKey: Buffer,
): Promise<Provider> {
  if (CHANNEL_OF[input.provider] !== channel) {
    throw validationFailed([
      { field: "provider", message: `${input.provider} is not a provider of ${channel}` },
    ]);
  }
  const [existing] = (await selectProviders(db, ws.id)).filter((r) => r.channel === channel);
  let secrets: Secrets = {};
  if (existing?.secrets && existing.provider === input.provider) {
    secrets = unsealJson<Secrets>(credentialsKey, existing.secrets, context(ws.id, channel));
  }
  for (const [name, value] of Object.entries(input.secrets ?? {})) {
    if (value === null) delete secrets[name];
    else if (value !== undefined) secrets[name] = value;
  }
  const problems = providerProblems(input, secrets);
  if (problems.length > 0) throw validationFailed(problems);
  const names = Object.keys(secrets).sort();
  const sealed = names.length > 0 ? sealJson(credentialsKey, secrets, context(ws.id, channel)) : null;
  const { rows } = await sql<ProviderRow>`
    insert into workspace_providers (workspace_id, channel, provider, settings, secrets, secret_names, updated_at)
    values (${ws.id}, ${channel}, ${input.provider}, ${JSON.stringify(input.settings)}::jsonb, ${sealed},
            ${names}::text[], clock_timestamp())
    on conflict (workspace_id, channel) do update set provider = excluded.provider,
      settings = excluded.settings, secrets = excluded.secrets, secret_names = excluded.secret_names,
      updated_at = excluded.updated_at
    returning workspace_id, channel, provider, settings, secrets, secret_names, updated_at`.execute(db);
  return toProvider(rows[0]!);
}

export async function removeProvider(db: Db, ws: WorkspaceContext, channel: ProviderChannel) {
  const result = await sql`
    delete from workspace_providers where workspace_id = ${ws.id} and channel = ${channel}`.execute(db);
  if (Number(result.numAffectedRows ?? 0) === 0) throw notFound(`${channel} provider of workspace`, ws.id);
}

/**
 * The auth token of the workspace's own Twilio account, which signs the webhooks Twilio posts for it
 * (`X-Twilio-Signature`): `none` when the workspace sends SMS through the installation's provider,
 * `unreadable` when its stored secret cannot be opened (SECRET_KEY changed).
 */
export async function readWorkspaceTwilioAuthToken(
  db: Executor,
  workspaceId: string,
  credentialsKey: Buffer,
): Promise<{ kind: "own"; authToken: string } | { kind: "none" } | { kind: "unreadable" }> {
  const [row] = (await selectProviders(db, workspaceId)).filter(
    (r) => r.channel === "sms" && r.provider === "twilio",
  );
  if (!row) return { kind: "none" };
  try {
    const secrets = row.secrets
      ? unsealJson<Secrets>(credentialsKey, row.secrets, context(workspaceId, "sms"))
      : {};
    return secrets.authToken ? { kind: "own", authToken: secrets.authToken } : { kind: "unreadable" };
  } catch (error) {
    if (error instanceof UnsealError) return { kind: "unreadable" };
    throw error;
  }
}

function providerProblems(input: ProviderInput, secrets: Secrets): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.provider === "smtp") {
    if (input.settings.user && !secrets.password) {
      problems.push({ field: "secrets.password", message: "is required with settings.user" });
    }
    if (input.settings.dkim && !secrets.dkimPrivateKey) {
      problems.push({ field: "secrets.dkimPrivateKey", message: "is required with settings.dkim" });
    }
    if (secrets.dkimPrivateKey) {
      try {
        const key = createPrivateKey(secrets.dkimPrivateKey);
        if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "ed25519") {
          problems.push({ field: "secrets.dkimPrivateKey", message: "must be an RSA or Ed25519 key" });
        }
      } catch {
        problems.push({ field: "secrets.dkimPrivateKey", message: "is not a PEM private key" });
      }
    }
  } else if (input.provider === "twilio" && !secrets.authToken) {
    problems.push({ field: "secrets.authToken", message: "is required" });
  } else if (input.provider === "lob" && !secrets.apiKey) {
    problems.push({ field: "secrets.apiKey", message: "is required" });
  }
  return problems;
}

/** A channel built from a stored provider row. */
function buildChannel(
  row: ProviderRow,
  credentialsKey: Buffer,
  links: { statusCallbackBase: string },
): EmailChannel | SmsChannel | MailChannel {
  const secrets = row.secrets
    ? unsealJson<Secrets>(credentialsKey, row.secrets, context(row.workspace_id, row.channel))
    : {};
  if (row.provider === "smtp") {
    const s = row.settings as {
      host: string;
      port: number;
      secure?: boolean;
      requireTls?: boolean;
      user?: string;
      dkim?: { domainName: string; keySelector: string };
    };
    return createSmtpChannel({
      host: s.host,
      port: s.port,
      ...(s.secure !== undefined ? { secure: s.secure } : {}),
      ...(s.requireTls !== undefined ? { requireTls: s.requireTls } : {}),
      ...(s.user ? { auth: { user: s.user, pass: secrets.password ?? "" } } : {}),
      ...(s.dkim && secrets.dkimPrivateKey
        ? { dkim: { ...s.dkim, privateKey: secrets.dkimPrivateKey } }
        : {}),
    });
  }
  if (row.provider === "lob") {
    const s = row.settings as { baseUrl?: string; color?: boolean; postcardSize?: "4x6" | "6x9" | "6x11" };
    return createLobChannel({
      baseUrl: s.baseUrl ?? "https://api.lob.com",
      apiKey: secrets.apiKey ?? "",
      ...(s.color !== undefined ? { color: s.color } : {}),
      ...(s.postcardSize ? { postcardSize: s.postcardSize } : {}),
    });
  }
  const s = row.settings as { accountSid: string; baseUrl?: string };
  return createTwilioSmsChannel({
    baseUrl: s.baseUrl ?? "https://api.twilio.com",
    accountSid: s.accountSid,
    authToken: secrets.authToken ?? "",
    statusCallbackUrl: `${links.statusCallbackBase}/hooks/twilio/status`,
  });
}

interface Resolved {
  checkedAt: number;
  /** updated_at of each provider row the channels were built from. */
  versions: string;
  channels: DispatchChannels;
}

/**
 * The channels of each workspace, cached for `ttlMs`: a provider changed through the API is used by
 * every dispatcher within that time. Channels replaced by a change are closed after `closeAfterMs`, when
 * sends begun with them are over.
 */
export class ChannelResolver {
  private readonly cache = new Map<string, Resolved>();
  private readonly breakers = new WeakMap<object, CircuitBreaker>();
  private readonly retired = new Set<{ close(): Promise<void> }>();

  constructor(
    private readonly db: Db,
    private readonly defaults: DispatchChannels,
    private readonly options: {
      credentialsKey: Buffer;
      publicUrl: string;
      ttlMs?: number;
      closeAfterMs?: number;
    },
  ) {}

  async channelsFor(workspaceId: string, nowMs = Date.now()): Promise<DispatchChannels> {
    const cached = this.cache.get(workspaceId);
    if (cached && nowMs - cached.checkedAt < (this.options.ttlMs ?? 10_000)) return cached.channels;
    const rows = await selectProviders(this.db, workspaceId);
    const versions = rows.map((r) => `${r.channel}:${r.updated_at.toISOString()}`).join(",");
    if (cached && cached.versions === versions) {
      cached.checkedAt = nowMs;
      return cached.channels;
    }
    const channels: DispatchChannels = { ...this.defaults };
    for (const row of rows) {
      const built = buildChannel(row, this.options.credentialsKey, {
        statusCallbackBase: this.options.publicUrl,
      });
      if (row.channel === "email") channels.email = built as EmailChannel;
      else if (row.channel === "sms") channels.sms = built as SmsChannel;
      else channels.mail = built as MailChannel;
    }
    if (cached) this.retire(cached.channels);
    this.cache.set(workspaceId, { checkedAt: nowMs, versions, channels });
    return channels;
  }

  /** One circuit breaker per workspace channel (the installation's channels have their own guards). */
  breakerFor(channel: object): CircuitBreaker {
    let breaker = this.breakers.get(channel);
    if (!breaker) {
      breaker = new CircuitBreaker(5, 30_000);
      this.breakers.set(channel, breaker);
    }
    return breaker;
  }

  isDefault(channel: object): boolean {
    return Object.values(this.defaults).includes(channel);
  }

  private retire(channels: DispatchChannels) {
    for (const channel of [channels.email, channels.sms, channels.mail]) {
      if (!channel || this.isDefault(channel)) continue;
      this.retired.add(channel);
      setTimeout(() => {
        this.retired.delete(channel);
        void channel.close();
      }, this.options.closeAfterMs ?? 130_000).unref();
    }
  }

  async close() {
    const open = new Set<{ close(): Promise<void> }>(this.retired);
    for (const { channels } of this.cache.values()) {
      for (const channel of [channels.email, channels.sms, channels.mail]) {
        if (channel && !this.isDefault(channel)) open.add(channel);
      }
    }
    this.cache.clear();
    this.retired.clear();
    await Promise.all([...open].map((c) => c.close()));
  }
}
