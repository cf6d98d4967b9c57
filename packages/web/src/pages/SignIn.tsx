import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, setCsrfToken } from "../api.ts";
import { AuthLayout } from "../components/AuthLayout.tsx";
import { errorsFrom, Field, type FieldErrors } from "../components/Field.tsx";
import { Alert } from "../components/feedback.tsx";
import { ssoStartUrl, ssoWorkspaceOf } from "../sso-api.ts";

const FIELDS = ["email", "password"] as const;
type SignInField = (typeof FIELDS)[number];

export function SignIn() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors<SignInField>>({});
  // ?sso=<name> (a link an admin shares) opens single sign-on with the name filled in.
  const [ssoName, setSsoName] = useState<string | undefined>(
    () => new URLSearchParams(window.location.search).get("sso") ?? undefined,
  );
  const signIn = useMutation({
    mutationFn: () => api.signIn(email.trim(), password),
    onSuccess: (session) => {
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(["session"], session);
    },
    onError: (error) => {
      setErrors(errorsFrom(error, FIELDS));
      // The workspace requires single sign-on: offer it, with the workspace's name filled in.
      const slug = ssoWorkspaceOf(error);
      if (slug) setSsoName(slug);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: FieldErrors<SignInField> = {
      email: email.trim() ? undefined : "Enter your email address",
      password: password ? undefined : "Enter your password",
    };
    setErrors(found);
    if (!found.email && !found.password) signIn.mutate();
  }

  return (
    <AuthLayout title="Sign in">
      <form onSubmit={submit} noValidate className="stack">
        {errors.form ? <Alert>{errors.form}</Alert> : null}
        <Field
          label="Email"
          type="email"
          value={email}
          onChange={setEmail}
          error={errors.email}
          autoComplete="username"
          required
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          autoComplete="current-password"
          required
        />
        <button type="submit" className="button primary full" disabled={signIn.isPending}>
          {signIn.isPending ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted small">
          No account yet? Ask an owner or admin of your workspace for an invitation.
        </p>
      </form>
      <SingleSignOn name={ssoName} onOpen={() => setSsoName((name) => name ?? "")} />
    </AuthLayout>
  );
}

const SSO_SEPARATOR = {
  borderTop: "1px solid var(--border)",
  marginTop: "var(--space-4)",
  paddingTop: "var(--space-4)",
} as const;

/**
 * "Sign in with single sign-on": asks for the workspace's single sign-on name (its admin chose it in
 * Settings → Single sign-on), then leaves for the workspace's identity provider.
 */
function SingleSignOn({ name, onOpen }: { name: string | undefined; onOpen: () => void }) {
  const [value, setValue] = useState(name ?? "");
  const [error, setError] = useState<string>();
  const [leaving, setLeaving] = useState(false);
  const [shown, setShown] = useState(name);
  if (name !== shown) {
    // A refused password sign-in named the workspace: fill it in.
    setShown(name);
    if (name) setValue(name);
  }

  if (name === undefined) {
    // A link (to ?sso, which opens the same form on a reload), so that it is not one more "Sign in" button.
    return (
      <div className="stack" style={SSO_SEPARATOR}>
        <a
          href="?sso="
          className="button secondary full"
          onClick={(event) => {
            event.preventDefault();
            onOpen();
          }}
        >
          Sign in with single sign-on
        </a>
      </div>
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!value.trim()) {
      setError("Enter your workspace's single sign-on name");
      return;
    }
    setLeaving(true);
    window.location.assign(ssoStartUrl(value));
  }

  return (
    <form onSubmit={submit} noValidate className="stack" style={SSO_SEPARATOR} aria-labelledby="sso-heading">
      <h2 id="sso-heading" className="small">
        Single sign-on
      </h2>
      <Field
        label="Workspace's single sign-on name"
        value={value}
        onChange={setValue}
        error={error}
        hint="Your administrator can tell you; it is shown in Settings → Single sign-on."
        autoComplete="organization"
        autoCapitalize="none"
        spellCheck={false}
        required
      />
      <button type="submit" className="button primary full" disabled={leaving}>
        {leaving ? "Going to your identity provider…" : "Continue with single sign-on"}
      </button>
    </form>
  );
}
