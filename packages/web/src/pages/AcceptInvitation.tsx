/** /invite/<token>: join a workspace, as a newcomer (name + new password) or with an existing account. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useLocation } from "wouter";
import { api, setCsrfToken } from "../api.ts";
import { AuthLayout } from "../components/AuthLayout.tsx";
import { errorsFrom, Field, type FieldErrors } from "../components/Field.tsx";
import { Alert, Loading, messageOf } from "../components/feedback.tsx";
import { ROLE_HELP, ROLE_LABELS } from "../session.ts";
import { validateNewPassword } from "./Setup.tsx";

const FIELDS = ["name", "password"] as const;
type AcceptField = (typeof FIELDS)[number];

export function AcceptInvitation({ token }: { token: string }) {
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const invitation = useQuery({ queryKey: ["invitation", token], queryFn: () => api.invitation(token) });
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FieldErrors<AcceptField>>({});
  const accept = useMutation({
    mutationFn: () =>
      api.acceptInvitation(
        token,
        invitation.data?.existingUser ? { password } : { name: name.trim(), password },
      ),
    onSuccess: (session) => {
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(["setup"], { needsSetup: false });
      queryClient.setQueryData(["session"], session);
      navigate("/", { replace: true });
    },
    onError: (error) => setErrors(errorsFrom(error, FIELDS)),
  });

  if (invitation.isPending) return <Loading label="Opening your invitation" />;
  if (invitation.error) {
    return (
      <AuthLayout title="This invitation cannot be used">
        <Alert>{messageOf(invitation.error)}</Alert>
        <p>Ask the person who invited you for a new link.</p>
        <p>
          <a href="/">Go to sign in</a>
        </p>
      </AuthLayout>
    );
  }
  const { workspaceName, email, role, existingUser } = invitation.data;

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: FieldErrors<AcceptField> = existingUser
      ? { password: password ? undefined : "Enter your password" }
      : { name: name.trim() ? undefined : "Enter your name", password: validateNewPassword(password) };
    setErrors(found);
    if (!Object.values(found).some(Boolean)) accept.mutate();
  }

  return (
    <AuthLayout
      title={`Join ${workspaceName}`}
      intro={
        <p>
          You are invited as <strong>{ROLE_LABELS[role]}</strong> ({ROLE_HELP[role].toLowerCase()}) with the
          email <strong>{email}</strong>.
        </p>
      }
    >
      <form onSubmit={submit} noValidate className="stack">
        {errors.form ? <Alert>{errors.form}</Alert> : null}
        {existingUser ? (
          <p>You already have an Omneural account: enter its password to add this workspace to it.</p>
        ) : (
          <Field
            label="Your name"
            value={name}
            onChange={setName}
            error={errors.name}
            autoComplete="name"
            required
          />
        )}
        <Field
          label={existingUser ? "Password" : "Choose a password"}
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          hint={existingUser ? undefined : "At least 10 characters."}
          autoComplete={existingUser ? "current-password" : "new-password"}
          required
        />
        <button type="submit" className="button primary full" disabled={accept.isPending}>
          {accept.isPending ? "Joining…" : `Join ${workspaceName}`}
        </button>
      </form>
    </AuthLayout>
  );
}
