/** Settings → API keys: the workspace's keys by prefix, making one (shown once) and revoking one. */
import type { ApiKey, CreatedApiKey } from "@omneural/contracts/api-keys";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { request } from "../api.ts";
import { CopyField } from "../components/CopyField.tsx";
import { errorsFrom, Field, type FieldErrors } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";

const apiKeysApi = {
  list: () => request<{ data: ApiKey[] }>("GET", "/api/v1/api-keys"),
  create: (name: string) => request<CreatedApiKey>("POST", "/api/v1/api-keys", { name }),
  revoke: (id: string) => request<ApiKey>("DELETE", `/api/v1/api-keys/${encodeURIComponent(id)}`),
};

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "never");

export default function ApiKeySettings() {
  const session = useSession();
  const admin = can(session.role, "admin");
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: apiKeysApi.list, enabled: admin });
  const live = keys.data?.data.filter((k) => !k.revokedAt) ?? [];
  const revoked = keys.data?.data.filter((k) => k.revokedAt) ?? [];

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>API keys</h1>
          <p className="muted">
            Programs that call the API of {session.workspace.name} send a key as{" "}
            <code>Authorization: Bearer &lt;key&gt;</code>. A key can do anything an owner can: give each
            program its own, and revoke it when the program no longer needs it. The API is described at{" "}
            <a href="/api/docs">/api/docs</a>.
          </p>
        </div>
      </header>
      {!admin ? (
        <p className="muted">Only owners and admins can see and manage API keys.</p>
      ) : (
        <>
          <CreateKeyForm />
          {keys.isPending ? <Loading label="Loading the API keys" /> : null}
          {keys.error ? <PageError error={keys.error} /> : null}
          {keys.data ? (
            <section aria-labelledby="keys-heading">
              <h2 id="keys-heading">Keys in use</h2>
              {live.length === 0 ? (
                <p className="muted">No key is in use. Make one above for each program that calls the API.</p>
              ) : (
                <KeyTable keys={live} />
              )}
              {revoked.length ? (
                <details>
                  <summary>Revoked keys ({revoked.length})</summary>
                  <KeyTable keys={revoked} />
                </details>
              ) : null}
            </section>
          ) : null}
        </>
      )}
    </div>
  );
}

function KeyTable({ keys }: { keys: ApiKey[] }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Starts with</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <KeyRow key={key.id} apiKey={key} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation({
    mutationFn: () => apiKeysApi.revoke(apiKey.id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  return (
    <tr>
      <th scope="row">{apiKey.name}</th>
      <td>
        <code>{apiKey.prefix}…</code>
      </td>
      <td>{when(apiKey.createdAt)}</td>
      <td>{apiKey.revokedAt ? `revoked ${when(apiKey.revokedAt)}` : when(apiKey.lastUsedAt)}</td>
      <td className="actions">
        {apiKey.revokedAt ? null : confirming ? (
          <span className="confirm">
            <button
              type="button"
              className="button danger small"
              onClick={() => revoke.mutate()}
              disabled={revoke.isPending}
            >
              Revoke {apiKey.name} now
            </button>
            <button type="button" className="button secondary small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button
            type="button"
            className="button secondary small"
            aria-label={`Revoke the key ${apiKey.name}`}
            onClick={() => setConfirming(true)}
          >
            Revoke
          </button>
        )}
        {revoke.error ? <Alert>{messageOf(revoke.error)}</Alert> : null}
      </td>
    </tr>
  );
}

const KEY_FIELDS = ["name"] as const;

function CreateKeyForm() {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<FieldErrors<(typeof KEY_FIELDS)[number]>>({});
  const [created, setCreated] = useState<CreatedApiKey>();
  const create = useMutation({
    mutationFn: () => apiKeysApi.create(name.trim()),
    onSuccess: (key) => {
      setCreated(key);
      setName("");
      queryClient.invalidateQueries({ queryKey: ["api-keys"] });
    },
    onError: (error) => setErrors(errorsFrom(error, KEY_FIELDS)),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    const found = {
      name: !trimmed
        ? "Say what the key is for."
        : trimmed.length > 100
          ? "At most 100 characters."
          : undefined,
    };
    setErrors(found);
    if (!found.name) create.mutate();
  }

  return (
    <section className="card" aria-labelledby="new-key-heading">
      <h2 id="new-key-heading">Make a key</h2>
      <form onSubmit={submit} noValidate className="invite-form">
        <Field
          label="What it is for"
          value={name}
          onChange={setName}
          error={errors.name}
          autoComplete="off"
          hint="e.g. zapier, website sign-up form, data warehouse"
        />
        <button type="submit" className="button primary" disabled={create.isPending}>
          {create.isPending ? "Making…" : "Make a key"}
        </button>
      </form>
      {errors.form ? <Alert>{errors.form}</Alert> : null}
      {created ? (
        <div className="invite-link" role="status">
          <p>
            The key <strong>{created.name}</strong>. Copy it now: it is shown only this once, and only its
            first characters are kept.
          </p>
          <CopyField label="The new API key" value={created.key} hideLabel button="Copy key" />
        </div>
      ) : null}
    </section>
  );
}
