/**
 * Settings → Single sign-on: the workspace's OpenID Connect identity provider (issuer, client id, a
 * write-only client secret), the role of newcomers, "SSO required", the redirect URI to register with
 * the provider (with a copy button), and a check of the issuer's discovery. Owners and admins only.
 * docs/sso.md.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError } from "../api.ts";
import { CopyField } from "../components/CopyField.tsx";
import { errorsFrom, Field, type FieldErrors, SelectField } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, ROLE_HELP, ROLE_LABELS, useSession } from "../session.ts";
import { type SsoConfig, type SsoConfigInput, ssoApi } from "../sso-api.ts";

const FIELDS = [
  "slug",
  "issuer",
  "clientId",
  "clientSecret",
  "defaultRole",
  "ssoRequired",
  "allowedDomains",
] as const;
type SsoField = (typeof FIELDS)[number];
type SsoRole = NonNullable<SsoConfigInput["defaultRole"]>;
const SSO_ROLES: SsoRole[] = ["admin", "marketer", "viewer"];
const CALLBACK_PATH = "/api/session/sso/callback";

export default function SsoSettings() {
  const session = useSession();
  const admin = can(session.role, "admin");
  const settings = useQuery({ queryKey: ["sso"], queryFn: ssoApi.settings, enabled: admin });

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Single sign-on</h1>
          <p className="muted">
            Let members of {session.workspace.name} sign in with your identity provider (Microsoft Entra ID,
            Google, Okta or any OpenID Connect provider).
          </p>
        </div>
      </header>
      {!admin ? (
        <p className="notice">Only owners and admins can see or change single sign-on.</p>
      ) : settings.isPending ? (
        <Loading label="Loading the single sign-on settings" />
      ) : settings.error ? (
        <PageError error={settings.error} />
      ) : (
        <SsoForm saved={settings.data} />
      )}
    </div>
  );
}

function SsoForm({ saved }: { saved: SsoConfig | null }) {
  const queryClient = useQueryClient();
  const [slug, setSlug] = useState(saved?.slug ?? "");
  const [issuer, setIssuer] = useState(saved?.issuer ?? "");
  const [clientId, setClientId] = useState(saved?.clientId ?? "");
  const [clientSecret, setClientSecret] = useState("");
  const [defaultRole, setDefaultRole] = useState<SsoRole>(saved?.defaultRole ?? "marketer");
  const [ssoRequired, setSsoRequired] = useState(saved?.ssoRequired ?? false);
  const [allowedDomains, setAllowedDomains] = useState(saved?.allowedDomains.join(", ") ?? "");
  const [errors, setErrors] = useState<FieldErrors<SsoField>>({});
  const [notice, setNotice] = useState<string>();
  const [confirmingRemove, setConfirmingRemove] = useState(false);

  const save = useMutation({
    mutationFn: () =>
      ssoApi.save({
        slug: slug.trim().toLowerCase(),
        issuer: issuer.trim(),
        clientId: clientId.trim(),
        ...(clientSecret ? { clientSecret } : {}),
        defaultRole,
        ssoRequired,
        allowedDomains: domainsOf(allowedDomains),
      }),
    onSuccess: (config) => {
      setClientSecret("");
      setNotice("Saved. Test the issuer, then try signing in with single sign-on in a private window.");
      test.reset();
      queryClient.setQueryData(["sso"], config);
    },
    onError: (error) => {
      setNotice(undefined);
      const found = errorsFrom(error, FIELDS);
      // A problem with one domain (allowedDomains.2) is shown at the domains field.
      if (error instanceof ApiError) {
        const domain = Object.entries(error.fields).find(([field]) => field.startsWith("allowedDomains"));
        if (domain) {
          found.allowedDomains = `${domainsOf(allowedDomains)[Number(domain[0].split(".")[1])] ?? "A domain"}: ${domain[1]}`;
          delete found.form;
        }
      }
      setErrors(found);
    },
  });
  const test = useMutation({ mutationFn: ssoApi.test });
  const remove = useMutation({
    mutationFn: ssoApi.remove,
    onSuccess: () => {
      setConfirmingRemove(false);
      setNotice(undefined);
      test.reset();
      queryClient.setQueryData(["sso"], null);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: FieldErrors<SsoField> = {
      slug: /^[a-z0-9][a-z0-9-]{1,62}$/.test(slug.trim().toLowerCase())
        ? undefined
        : "Use 2–63 lower-case letters, digits and dashes",
      issuer: /^https?:\/\/\S+$/.test(issuer.trim()) ? undefined : "Enter the issuer URL (https://…)",
      clientId: clientId.trim() ? undefined : "Enter the client id",
      clientSecret: saved || clientSecret ? undefined : "Enter the client secret",
    };
    setErrors(found);
    setNotice(undefined);
    if (!Object.values(found).some(Boolean)) save.mutate();
  }

  const callbackUrl = saved?.callbackUrl ?? `${window.location.origin}${CALLBACK_PATH}`;

  return (
    <>
      <section className="card stack" aria-labelledby="sso-callback-heading">
        <h2 id="sso-callback-heading">1. Register Omneural with your identity provider</h2>
        <p className="muted">
          Create a web application (OpenID Connect, authorization code flow) and give it this redirect URI.
          Ask for the scopes <code>openid email profile</code>. docs/sso.md has the steps for Entra ID, Google
          and Okta.
        </p>
        <CopyField label="Redirect URI (callback URL)" value={callbackUrl} button="Copy the redirect URI" />
      </section>

      <section className="card" aria-labelledby="sso-form-heading">
        <h2 id="sso-form-heading">2. Enter what it gave you</h2>
        <form onSubmit={submit} noValidate className="stack">
          <Field
            label="Issuer URL"
            value={issuer}
            onChange={setIssuer}
            error={errors.issuer}
            placeholder="https://login.microsoftonline.com/<tenant id>/v2.0"
            hint="Omneural reads <issuer>/.well-known/openid-configuration."
            autoComplete="off"
            spellCheck={false}
          />
          <Field
            label="Client ID"
            value={clientId}
            onChange={setClientId}
            error={errors.clientId}
            autoComplete="off"
            spellCheck={false}
          />
          <Field
            label="Client secret"
            type="password"
            value={clientSecret}
            onChange={setClientSecret}
            error={errors.clientSecret}
            placeholder={saved ? "Stored — leave empty to keep it" : ""}
            hint="Stored encrypted and never shown again."
            autoComplete="new-password"
          />
          <Field
            label="Single sign-on name"
            value={slug}
            onChange={setSlug}
            error={errors.slug}
            hint="Members type this on the sign-in page (for example your company's name: acme)."
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
          />
          <Field
            label="Allowed email domains"
            value={allowedDomains}
            onChange={setAllowedDomains}
            error={errors.allowedDomains}
            placeholder="acme.com, acme.co.uk"
            hint="Only people with an address at one of these domains may sign in with single sign-on; separate them with commas. Empty: anyone your provider vouches for — set it if your provider lets in outside accounts (Google with “External” users)."
            autoComplete="off"
            spellCheck={false}
          />
          <SelectField
            label="Role of new members"
            value={defaultRole}
            onChange={(value) => setDefaultRole(value as SsoRole)}
            error={errors.defaultRole}
            hint="People who sign in for the first time join with this role. Never owner."
            options={SSO_ROLES.map((r) => ({ value: r, label: `${ROLE_LABELS[r]} — ${ROLE_HELP[r]}` }))}
          />
          <div className="checkbox-field">
            <input
              id="sso-required"
              type="checkbox"
              checked={ssoRequired}
              onChange={(event) => setSsoRequired(event.target.checked)}
              aria-describedby="sso-required-hint"
            />
            <div>
              <label htmlFor="sso-required">Require single sign-on</label>
              <p id="sso-required-hint" className="field-hint">
                Members can no longer sign in to this workspace with a password, and their password sessions
                end. Owners still can, so that a broken identity provider cannot lock everyone out.
              </p>
            </div>
          </div>
          {errors.form ? <Alert>{errors.form}</Alert> : null}
          {notice ? <Alert tone="success">{notice}</Alert> : null}
          <div className="button-row">
            <button type="submit" className="button primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : saved ? "Save changes" : "Turn on single sign-on"}
            </button>
            {saved ? (
              <button
                type="button"
                className="button secondary"
                disabled={test.isPending}
                onClick={() => test.mutate()}
              >
                {test.isPending ? "Testing…" : "Test the issuer"}
              </button>
            ) : null}
          </div>
        </form>
        {test.data ? (
          <div aria-live="polite">
            <Alert tone={test.data.ok ? "success" : "error"}>{test.data.message}</Alert>
          </div>
        ) : null}
        {test.error ? <Alert>{messageOf(test.error)}</Alert> : null}
      </section>

      {saved ? (
        <section className="card stack" aria-labelledby="sso-share-heading">
          <h2 id="sso-share-heading">3. Tell your team</h2>
          <p className="muted">
            On the sign-in page, members choose “Sign in with single sign-on” and enter{" "}
            <strong>{saved.slug}</strong>, or follow this link.
          </p>
          <CopyField label="Single sign-on link" value={saved.signInUrl} button="Copy the link" />
          <div className="button-row">
            {confirmingRemove ? (
              <>
                <button
                  type="button"
                  className="button danger"
                  disabled={remove.isPending}
                  onClick={() => remove.mutate()}
                >
                  {remove.isPending ? "Turning off…" : "Yes, turn single sign-on off"}
                </button>
                <button type="button" className="button secondary" onClick={() => setConfirmingRemove(false)}>
                  Keep it
                </button>
              </>
            ) : (
              <button type="button" className="button secondary" onClick={() => setConfirmingRemove(true)}>
                Turn single sign-on off
              </button>
            )}
          </div>
          {remove.error ? <Alert>{messageOf(remove.error)}</Alert> : null}
        </section>
      ) : null}
    </>
  );
}

function domainsOf(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((domain) => domain.trim())
    .filter(Boolean);
}
