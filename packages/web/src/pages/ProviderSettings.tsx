/**
 * Settings → Providers: which service sends each channel's messages. Without a workspace account a channel
 * uses the installation's provider (or the Outbox, the development inbox, where nothing really leaves).
 * Owners and admins may connect the workspace's own SMTP server, Twilio or Lob account; credentials are
 * write-only: the page only ever learns whether each one is stored.
 */
import type { Provider, ProviderChannel, ProviderInput, ProviderList } from "@omneural/contracts/providers";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useId, useState } from "react";
import type { Static } from "typebox";
import { Link } from "wouter";
import { request } from "../api.ts";
import { errorsFrom, Field, type FieldErrors, SelectField, TextAreaField } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import "../styles/settings.css";

type Providers = Static<typeof ProviderList>;

const providersApi = {
  list: () => request<Providers>("GET", "/api/v1/workspace/providers"),
  put: (channel: ProviderChannel, input: ProviderInput) =>
    request<Provider>("PUT", `/api/v1/workspace/providers/${channel}`, input),
  remove: (channel: ProviderChannel) => request<unknown>("DELETE", `/api/v1/workspace/providers/${channel}`),
};

const CHANNELS: { channel: ProviderChannel; title: string; provider: Provider["provider"]; name: string }[] =
  [
    { channel: "email", title: "Email", provider: "smtp", name: "An SMTP server" },
    { channel: "sms", title: "SMS", provider: "twilio", name: "Twilio" },
    { channel: "mail", title: "Direct mail", provider: "lob", name: "Lob" },
  ];

/** What the installation's default provider means to a marketer. */
const DEFAULT_EXPLAINED: Record<string, ReactNode> = {
  "dev-inbox": (
    <>
      The <Link href="/outbox">Outbox</Link>, the development inbox: messages are kept there for you to read
      and are <strong>not really sent</strong>.
    </>
  ),
  smtp: "The installation's SMTP server, set up by whoever runs Omneural.",
  twilio: "The installation's Twilio account, set up by whoever runs Omneural.",
  lob: "The installation's Lob account, set up by whoever runs Omneural.",
  "print-batch": "Print batches: merged PDFs written for your print shop, set up by whoever runs Omneural.",
};

const SECRET_LABELS: Record<string, string> = {
  password: "SMTP password",
  dkimPrivateKey: "DKIM private key",
  authToken: "Auth token",
  apiKey: "API key",
};

export default function ProviderSettings() {
  const session = useSession();
  const admin = can(session.role, "admin");
  const providers = useQuery({ queryKey: ["providers"], queryFn: providersApi.list });
  return (
    <div className="page settings-page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Providers</h1>
          <p className="muted">
            The services that deliver {session.workspace.name}'s messages. Each channel uses the
            installation's provider until you connect your own account here. Passwords and keys are stored
            encrypted and never shown again: this page only says whether each one is set.
          </p>
        </div>
      </header>
      {admin ? null : (
        <Alert tone="info">Only owners and admins can change providers. You can see what is in use.</Alert>
      )}
      {providers.isPending ? <Loading label="Loading the providers" /> : null}
      {providers.error ? <PageError error={providers.error} /> : null}
      {providers.data ? (
        <div className="provider-list">
          {CHANNELS.map((entry) => (
            <ChannelProvider
              key={entry.channel}
              {...entry}
              saved={providers.data.data.find((p) => p.channel === entry.channel)}
              fallback={providers.data.defaults[entry.channel]}
              admin={admin}
            />
          ))}
          <section className="card provider-card" aria-labelledby="provider-ads">
            <h2 id="provider-ads">Ads</h2>
            <p className="muted">
              Ad platforms (Google, Meta, LinkedIn) are connected per ad audience destination, each with its
              own account, rather than here.
            </p>
          </section>
        </div>
      ) : null}
    </div>
  );
}

function ChannelProvider({
  channel,
  title,
  provider,
  name,
  saved,
  fallback,
  admin,
}: {
  channel: ProviderChannel;
  title: string;
  provider: Provider["provider"];
  name: string;
  saved: Provider | undefined;
  fallback: string;
  admin: boolean;
}) {
  const queryClient = useQueryClient();
  const headingId = useId();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string>();
  const remove = useMutation({
    mutationFn: () => providersApi.remove(channel),
    onSuccess: () => {
      setConfirming(false);
      setNotice(`${title} is back on the installation's provider.`);
      queryClient.invalidateQueries({ queryKey: ["providers"] });
    },
  });

  return (
    <section className="card provider-card" aria-labelledby={headingId}>
      <div className="section-header">
        <h2 id={headingId}>{title}</h2>
        <span className={`badge ${saved ? "success" : "neutral"}`}>{saved ? "Own account" : "Default"}</span>
      </div>
      {saved ? (
        <>
          <p>
            In use: <strong>{name}</strong>, the workspace's own account, saved{" "}
            {new Date(saved.updatedAt).toLocaleString()}.
          </p>
          <SavedSettings saved={saved} />
        </>
      ) : (
        <p>In use: {DEFAULT_EXPLAINED[fallback] ?? `the installation's provider (${fallback}).`}</p>
      )}
      {notice ? (
        <p role="status" className="notice-success">
          {notice}
        </p>
      ) : null}
      {admin && !editing ? (
        <div className="button-row">
          <button
            type="button"
            className="button secondary"
            onClick={() => {
              setEditing(true);
              setNotice(undefined);
            }}
          >
            {saved
              ? `Change the ${title} provider`
              : `Connect your own ${name === "An SMTP server" ? "SMTP server" : name} account`}
          </button>
          {saved && !confirming ? (
            <button type="button" className="button secondary danger" onClick={() => setConfirming(true)}>
              Go back to the default
            </button>
          ) : null}
        </div>
      ) : null}
      {confirming ? (
        <section className="confirm-panel card" aria-label={`Remove the ${title} provider`}>
          <p>
            Stop using this account for {title.toLowerCase()}? Messages will go through{" "}
            {fallback === "dev-inbox" ? "the Outbox (not really sent)" : "the installation's provider"}, and
            the stored credentials are deleted.
          </p>
          <div className="confirm">
            <button
              type="button"
              className="button danger"
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              {remove.isPending ? "Removing…" : "Remove and use the default"}
            </button>
            <button type="button" className="button secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
          {remove.error ? <Alert>{messageOf(remove.error)}</Alert> : null}
        </section>
      ) : null}
      {admin && editing ? (
        <ProviderForm
          channel={channel}
          provider={provider}
          saved={saved?.provider === provider ? saved : undefined}
          onDone={(message) => {
            setEditing(false);
            setNotice(message);
          }}
        />
      ) : null}
    </section>
  );
}

function SavedSettings({ saved }: { saved: Provider }) {
  const s = saved.settings as Record<string, unknown>;
  const rows: [string, string][] = [];
  if (saved.provider === "smtp") {
    rows.push(["Server", `${String(s.host)}:${String(s.port ?? 587)}`]);
    if (s.user) rows.push(["User name", String(s.user)]);
    rows.push([
      "Encryption",
      s.secure ? "TLS from the start" : s.requireTls ? "STARTTLS required" : "STARTTLS when offered",
    ]);
    const dkim = s.dkim as { domainName?: string; keySelector?: string } | undefined;
    if (dkim) rows.push(["DKIM", `${dkim.keySelector}._domainkey.${dkim.domainName}`]);
  } else if (saved.provider === "twilio") {
    rows.push(["Account SID", String(s.accountSid)]);
    if (s.baseUrl) rows.push(["API address", String(s.baseUrl)]);
  } else {
    if (s.baseUrl) rows.push(["API address", String(s.baseUrl)]);
    rows.push(["Colour letters", s.color ? "Yes" : "No"]);
    if (s.postcardSize) rows.push(["Postcard size", String(s.postcardSize)]);
  }
  const secrets =
    saved.provider === "smtp"
      ? ["password", "dkimPrivateKey"]
      : saved.provider === "twilio"
        ? ["authToken"]
        : ["apiKey"];
  return (
    <dl className="details columns provider-details">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
      {secrets.map((secret) => (
        <div key={secret}>
          <dt>{SECRET_LABELS[secret]}</dt>
          <dd>
            <SecretState set={saved.secretsSet.includes(secret)} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function SecretState({ set }: { set: boolean }) {
  return <span className={`badge ${set ? "success" : "neutral"}`}>{set ? "Set" : "Not set"}</span>;
}

type FormKey =
  | "settings.host"
  | "settings.port"
  | "settings.user"
  | "settings.dkim.domainName"
  | "settings.dkim.keySelector"
  | "settings.accountSid"
  | "settings.baseUrl"
  | "settings.postcardSize"
  | "secrets.password"
  | "secrets.dkimPrivateKey"
  | "secrets.authToken"
  | "secrets.apiKey";

const FORM_KEYS: FormKey[] = [
  "settings.host",
  "settings.port",
  "settings.user",
  "settings.dkim.domainName",
  "settings.dkim.keySelector",
  "settings.accountSid",
  "settings.baseUrl",
  "settings.postcardSize",
  "secrets.password",
  "secrets.dkimPrivateKey",
  "secrets.authToken",
  "secrets.apiKey",
];

function ProviderForm({
  channel,
  provider,
  saved,
  onDone,
}: {
  channel: ProviderChannel;
  provider: Provider["provider"];
  saved: Provider | undefined;
  onDone: (message: string) => void;
}) {
  const queryClient = useQueryClient();
  const s = (saved?.settings ?? {}) as Record<string, unknown>;
  const dkim = s.dkim as { domainName?: string; keySelector?: string } | undefined;
  const [form, setForm] = useState({
    host: String(s.host ?? ""),
    port: String(s.port ?? "587"),
    security: s.secure ? "tls" : s.requireTls ? "starttls-required" : "starttls",
    user: String(s.user ?? ""),
    dkimDomain: dkim?.domainName ?? "",
    dkimSelector: dkim?.keySelector ?? "",
    accountSid: String(s.accountSid ?? ""),
    baseUrl: String(s.baseUrl ?? ""),
    color: s.color ? "yes" : "no",
    postcardSize: String(s.postcardSize ?? "4x6"),
    password: "",
    dkimPrivateKey: "",
    authToken: "",
    apiKey: "",
  });
  const [errors, setErrors] = useState<FieldErrors<FormKey>>({});
  const stored = (secret: string) => saved?.secretsSet.includes(secret) ?? false;
  const secretHint = (secret: string, extra?: string) =>
    `${stored(secret) ? "Set. Leave empty to keep the stored one." : "Not set."}${extra ? ` ${extra}` : ""}`;
  /** The value, change and server problem of one input of the form. */
  const bind = (key: keyof typeof form, errorKey?: FormKey) => ({
    value: form[key],
    onChange: (value: string) => setForm((f) => ({ ...f, [key]: value })),
    error: errorKey ? errors[errorKey] : undefined,
  });
  /** A write-only credential: empty keeps the stored one. */
  const secret = (key: "password" | "authToken" | "apiKey", extra?: string) => ({
    ...bind(key, `secrets.${key}`),
    type: "password",
    hint: secretHint(key, extra),
    autoComplete: "new-password",
  });

  const save = useMutation({
    mutationFn: (input: ProviderInput) => providersApi.put(channel, input),
    onSuccess: (result) => {
      queryClient.invalidateQueries({ queryKey: ["providers"] });
      const secrets = result.secretsSet.map((name) => SECRET_LABELS[name] ?? name).join(", ");
      onDone(`Saved.${secrets ? ` ${secrets}: set (never shown again).` : ""}`);
    },
    onError: (error) => setErrors(errorsFrom(error, FORM_KEYS)),
  });

  function build(): { input?: ProviderInput; found: FieldErrors<FormKey> } {
    const found: FieldErrors<FormKey> = {};
    const baseUrl = form.baseUrl.trim();
    if (baseUrl && !/^https?:\/\/[^\s/]+/.test(baseUrl))
      found["settings.baseUrl"] = "Give a full address starting with https://";
    if (provider === "smtp") {
      const host = form.host.trim();
      if (!host) found["settings.host"] = "Give the SMTP server's name, e.g. smtp.example.com";
      else if (!/^[A-Za-z0-9.:[\]-]+$/.test(host))
        found["settings.host"] = "A server name has only letters, digits, dots and dashes";
      const port = Number(form.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        found["settings.port"] = "A port is a number from 1 to 65535 (usually 587 or 465)";
      if (form.user.trim() && !form.password && !stored("password"))
        found["secrets.password"] = "Give the password for this user name";
      const wantsDkim = Boolean(form.dkimDomain.trim() || form.dkimSelector.trim());
      if (wantsDkim) {
        if (!/^[A-Za-z0-9.-]{3,253}$/.test(form.dkimDomain.trim()))
          found["settings.dkim.domainName"] = "Give the domain messages are signed for, e.g. example.com";
        if (!/^[A-Za-z0-9._-]{1,63}$/.test(form.dkimSelector.trim()))
          found["settings.dkim.keySelector"] = "Give the selector of the DNS record, e.g. omneural";
        if (!form.dkimPrivateKey.trim() && !stored("dkimPrivateKey"))
          found["secrets.dkimPrivateKey"] = "Paste the private key (PEM) that matches the DNS record";
      }
      if (form.dkimPrivateKey.trim() && form.dkimPrivateKey.trim().length < 100)
        found["secrets.dkimPrivateKey"] = "This is too short for a PEM private key";
      if (Object.keys(found).length) return { found };
      const secrets: Record<string, string> = {};
      if (form.password) secrets.password = form.password;
      if (form.dkimPrivateKey.trim()) secrets.dkimPrivateKey = form.dkimPrivateKey.trim();
      return {
        found,
        input: {
          provider: "smtp",
          settings: {
            host,
            port,
            ...(form.security === "tls" ? { secure: true } : {}),
            ...(form.security === "starttls-required" ? { requireTls: true } : {}),
            ...(form.user.trim() ? { user: form.user.trim() } : {}),
            ...(wantsDkim
              ? { dkim: { domainName: form.dkimDomain.trim(), keySelector: form.dkimSelector.trim() } }
              : {}),
          },
          ...(Object.keys(secrets).length ? { secrets } : {}),
        },
      };
    }
    if (provider === "twilio") {
      const sid = form.accountSid.trim();
      if (!/^AC[0-9a-fA-F]{32}$/.test(sid))
        found["settings.accountSid"] =
          "The Account SID starts with AC followed by 32 letters and digits (see the Twilio console)";
      if (form.authToken && form.authToken.length < 8)
        found["secrets.authToken"] = "This is too short for a Twilio auth token";
      if (!form.authToken && !stored("authToken"))
        found["secrets.authToken"] = "Give the account's auth token";
      if (Object.keys(found).length) return { found };
      return {
        found,
        input: {
          provider: "twilio",
          settings: { accountSid: sid, ...(baseUrl ? { baseUrl } : {}) },
          ...(form.authToken ? { secrets: { authToken: form.authToken } } : {}),
        },
      };
    }
    if (form.apiKey && form.apiKey.length < 8)
      found["secrets.apiKey"] = "This is too short for a Lob API key";
    if (!form.apiKey && !stored("apiKey")) found["secrets.apiKey"] = "Give the Lob API key";
    if (Object.keys(found).length) return { found };
    return {
      found,
      input: {
        provider: "lob",
        settings: {
          ...(baseUrl ? { baseUrl } : {}),
          color: form.color === "yes",
          postcardSize: form.postcardSize as "4x6" | "6x9" | "6x11",
        },
        ...(form.apiKey ? { secrets: { apiKey: form.apiKey } } : {}),
      },
    };
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const { input, found } = build();
    setErrors(found);
    if (input) save.mutate(input);
  }

  return (
    <form onSubmit={submit} noValidate className="provider-form" aria-label={`${channel} provider account`}>
      {provider === "smtp" ? (
        <>
          <div className="row">
            <Field
              label="SMTP server"
              {...bind("host", "settings.host")}
              hint="e.g. smtp.sendgrid.net"
              autoComplete="off"
            />
            <Field
              label="Port"
              inputMode="numeric"
              {...bind("port", "settings.port")}
              hint="587 (STARTTLS) or 465 (TLS)"
            />
          </div>
          <SelectField
            label="Encryption"
            {...bind("security")}
            options={[
              { value: "starttls", label: "STARTTLS when the server offers it" },
              { value: "starttls-required", label: "Always STARTTLS (refuse to send without it)" },
              { value: "tls", label: "TLS from the start (port 465)" },
            ]}
          />
          <div className="row">
            <Field
              label="User name"
              {...bind("user", "settings.user")}
              hint="Empty when the server needs no sign-in."
              autoComplete="off"
            />
            <Field label="SMTP password" {...secret("password")} />
          </div>
          <details className="advanced">
            <summary>DKIM signing (optional)</summary>
            <div className="row">
              <Field label="DKIM domain" {...bind("dkimDomain", "settings.dkim.domainName")} />
              <Field label="DKIM selector" {...bind("dkimSelector", "settings.dkim.keySelector")} />
            </div>
            <TextAreaField
              label="DKIM private key"
              {...bind("dkimPrivateKey", "secrets.dkimPrivateKey")}
              rows={4}
              hint={secretHint("dkimPrivateKey", "PEM, RSA or Ed25519.")}
              className="secret-area"
            />
          </details>
        </>
      ) : provider === "twilio" ? (
        <>
          <Field
            label="Account SID"
            {...bind("accountSid", "settings.accountSid")}
            hint="From the Twilio console: starts with AC."
            autoComplete="off"
            spellCheck={false}
          />
          <Field label="Auth token" {...secret("authToken")} />
          <Field
            label="API address"
            {...bind("baseUrl", "settings.baseUrl")}
            hint="Optional. Empty: https://api.twilio.com"
          />
        </>
      ) : (
        <>
          <Field
            label="API key"
            {...secret("apiKey", "A live key sends real letters; a test key does not.")}
          />
          <div className="row">
            <SelectField
              label="Letters in colour"
              {...bind("color")}
              options={[
                { value: "no", label: "No (black and white)" },
                { value: "yes", label: "Yes" },
              ]}
            />
            <SelectField
              label="Postcard size"
              {...bind("postcardSize", "settings.postcardSize")}
              options={[
                { value: "4x6", label: "4×6 in" },
                { value: "6x9", label: "6×9 in" },
                { value: "6x11", label: "6×11 in" },
              ]}
            />
          </div>
          <Field
            label="API address"
            {...bind("baseUrl", "settings.baseUrl")}
            hint="Optional. Empty: https://api.lob.com"
          />
        </>
      )}
      <p className="muted small">
        There is no connection test yet: after saving, send a test from a template to check the account works.
        Changes are picked up within 10 seconds.
      </p>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save provider"}
        </button>
        <button
          type="button"
          className="button secondary"
          onClick={() => onDone("")}
          disabled={save.isPending}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
