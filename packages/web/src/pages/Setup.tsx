/** First run: the first user and their workspace. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, setCsrfToken } from "../api.ts";
import { AuthLayout } from "../components/AuthLayout.tsx";
import { errorsFrom, Field, type FieldErrors } from "../components/Field.tsx";
import { Alert } from "../components/feedback.tsx";

const FIELDS = ["name", "email", "password", "workspaceName", "defaultCountry", "defaultTimezone"] as const;
type SetupField = (typeof FIELDS)[number];

const browserTimezone = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
})();

export function validateEmail(email: string): string | undefined {
  if (!email.trim()) return "Enter an email address";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()))
    return "Enter a valid email address, like ada@example.com";
  return undefined;
}

export function validateNewPassword(password: string): string | undefined {
  if (password.length < 10) return "Use at least 10 characters";
  return undefined;
}

export function Setup() {
  const queryClient = useQueryClient();
  const [values, setValues] = useState<Record<SetupField, string>>({
    name: "",
    email: "",
    password: "",
    workspaceName: "",
    defaultCountry: "US",
    defaultTimezone: browserTimezone,
  });
  const [errors, setErrors] = useState<FieldErrors<SetupField>>({});
  const set = (field: SetupField) => (value: string) => setValues((v) => ({ ...v, [field]: value }));

  const setup = useMutation({
    mutationFn: api.setup,
    onSuccess: (session) => {
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(["session"], session);
      queryClient.setQueryData(["setup"], { needsSetup: false });
    },
    onError: (error) => setErrors(errorsFrom(error, FIELDS)),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: FieldErrors<SetupField> = {
      name: values.name.trim() ? undefined : "Enter your name",
      email: validateEmail(values.email),
      password: validateNewPassword(values.password),
      workspaceName: values.workspaceName.trim() ? undefined : "Name your workspace, e.g. your company",
      defaultCountry: /^[A-Za-z]{2}$/.test(values.defaultCountry.trim())
        ? undefined
        : "Use a two-letter code, like US or GB",
    };
    setErrors(found);
    if (Object.values(found).some(Boolean)) return;
    setup.mutate({
      name: values.name.trim(),
      email: values.email.trim(),
      password: values.password,
      workspaceName: values.workspaceName.trim(),
      defaultCountry: values.defaultCountry.trim().toUpperCase(),
      defaultTimezone: values.defaultTimezone.trim() || "UTC",
    });
  }

  return (
    <AuthLayout
      title="Welcome to Omneural"
      intro={<p>Create your account and your company's workspace. You can invite your team afterwards.</p>}
    >
      <form onSubmit={submit} noValidate className="stack">
        {errors.form ? <Alert>{errors.form}</Alert> : null}
        <fieldset>
          <legend>You</legend>
          <Field
            label="Your name"
            value={values.name}
            onChange={set("name")}
            error={errors.name}
            autoComplete="name"
            required
          />
          <Field
            label="Email"
            type="email"
            value={values.email}
            onChange={set("email")}
            error={errors.email}
            autoComplete="email"
            required
          />
          <Field
            label="Password"
            type="password"
            value={values.password}
            onChange={set("password")}
            error={errors.password}
            hint="At least 10 characters."
            autoComplete="new-password"
            required
          />
        </fieldset>
        <fieldset>
          <legend>Your workspace</legend>
          <Field
            label="Workspace name"
            value={values.workspaceName}
            onChange={set("workspaceName")}
            error={errors.workspaceName}
            hint="Usually your company's name."
            autoComplete="organization"
            required
          />
          <div className="row">
            <Field
              label="Default country"
              value={values.defaultCountry}
              onChange={set("defaultCountry")}
              error={errors.defaultCountry}
              hint="For phone numbers without a country code."
              maxLength={2}
            />
            <Field
              label="Default timezone"
              value={values.defaultTimezone}
              onChange={set("defaultTimezone")}
              error={errors.defaultTimezone}
              hint="For contacts whose timezone is unknown."
            />
          </div>
        </fieldset>
        <button type="submit" className="button primary full" disabled={setup.isPending}>
          {setup.isPending ? "Creating…" : "Create my workspace"}
        </button>
      </form>
    </AuthLayout>
  );
}
