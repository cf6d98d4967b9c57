import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, setCsrfToken } from "../api.ts";
import { AuthLayout } from "../components/AuthLayout.tsx";
import { errorsFrom, Field, type FieldErrors } from "../components/Field.tsx";
import { Alert } from "../components/feedback.tsx";

const FIELDS = ["email", "password"] as const;
type SignInField = (typeof FIELDS)[number];

export function SignIn() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors<SignInField>>({});
  const signIn = useMutation({
    mutationFn: () => api.signIn(email.trim(), password),
    onSuccess: (session) => {
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(["session"], session);
    },
    onError: (error) => setErrors(errorsFrom(error, FIELDS)),
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
    </AuthLayout>
  );
}
