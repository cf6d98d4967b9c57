/**
 * Settings → Sender: who marketing email comes from, the postal address its footer must carry, and the
 * number texts come from. Until it is set, email sends fail with a reason that says so.
 */
import type { Sender } from "@omneural/contracts/workspaces";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError, request } from "../api.ts";
import { errorsFrom, Field, type FieldErrors, TextAreaField } from "../components/Field.tsx";
import { Alert, Loading, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import { validateEmail } from "./Setup.tsx";

const senderApi = {
  get: async (): Promise<Sender | null> => {
    try {
      return await request<Sender>("GET", "/api/v1/workspace/sender");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  },
  put: (sender: Sender) => request<Sender>("PUT", "/api/v1/workspace/sender", sender),
};

const FIELDS = ["fromName", "fromAddress", "replyTo", "postalAddress", "smsFrom", "smsHelpText"] as const;

export default function SenderSettings() {
  const sender = useQuery({ queryKey: ["sender"], queryFn: senderApi.get });
  if (sender.isPending) return <Loading label="Loading the sender" />;
  if (sender.error) return <PageError error={sender.error} />;
  return <SenderForm saved={sender.data} />;
}

function SenderForm({ saved }: { saved: Sender | null }) {
  const session = useSession();
  const writable = can(session.role, "write");
  const queryClient = useQueryClient();
  const [form, setForm] = useState({
    fromName: saved?.fromName ?? "",
    fromAddress: saved?.fromAddress ?? "",
    replyTo: saved?.replyTo ?? "",
    postalAddress: saved?.postalAddress ?? "",
    smsFrom: saved?.smsFrom ?? "",
    smsHelpText: saved?.smsHelpText ?? "",
  });
  const [errors, setErrors] = useState<FieldErrors<(typeof FIELDS)[number]>>({});
  const set = (key: keyof typeof form) => (value: string) =>
    setForm((current) => ({ ...current, [key]: value }));
  const save = useMutation({
    mutationFn: () =>
      senderApi.put({
        fromName: form.fromName.trim() || null,
        fromAddress: form.fromAddress.trim(),
        replyTo: form.replyTo.trim() || null,
        postalAddress: form.postalAddress.trim(),
        smsFrom: form.smsFrom.trim() || null,
        smsHelpText: form.smsHelpText.trim() || null,
      }),
    onSuccess: (updated) => {
      setErrors({});
      queryClient.setQueryData(["sender"], updated);
    },
    onError: (error) => setErrors(errorsFrom(error, FIELDS)),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: FieldErrors<(typeof FIELDS)[number]> = {
      fromAddress: validateEmail(form.fromAddress),
      replyTo: form.replyTo.trim() ? validateEmail(form.replyTo) : undefined,
      postalAddress:
        form.postalAddress.trim().length < 5
          ? "Give the full postal address: the law requires it in every marketing email."
          : undefined,
    };
    setErrors(found);
    if (!Object.values(found).some(Boolean)) save.mutate();
  }

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Sender</h1>
          <p className="muted">
            Who {session.workspace.name}'s messages come from. Marketing email needs a from address and the
            postal address its footer must carry (CAN-SPAM, GDPR); until both are set, email sends stop with
            that reason.
          </p>
        </div>
      </header>
      {saved ? null : (
        <Alert>No sender yet: campaigns and test sends cannot send email until one is saved here.</Alert>
      )}
      <form onSubmit={submit} noValidate className="card" aria-label="Sender">
        <h2>Email</h2>
        <Field
          label="From name"
          value={form.fromName}
          onChange={set("fromName")}
          error={errors.fromName}
          hint="e.g. Acme Books"
          disabled={!writable}
        />
        <Field
          label="From address"
          type="email"
          value={form.fromAddress}
          onChange={set("fromAddress")}
          error={errors.fromAddress}
          hint="An address of a domain your email provider is set up to send for."
          disabled={!writable}
        />
        <Field
          label="Reply-to address"
          type="email"
          value={form.replyTo}
          onChange={set("replyTo")}
          error={errors.replyTo}
          hint="Optional: where replies go, when not to the from address."
          disabled={!writable}
        />
        <TextAreaField
          label="Postal address"
          value={form.postalAddress}
          onChange={set("postalAddress")}
          error={errors.postalAddress}
          rows={3}
          hint="Printed in the footer of every marketing email."
          disabled={!writable}
        />
        <h2>Texts</h2>
        <Field
          label="Send texts from"
          value={form.smsFrom}
          onChange={set("smsFrom")}
          error={errors.smsFrom}
          hint="An E.164 number (+12025550100), an alphanumeric sender id, or a Twilio messaging service id."
          disabled={!writable}
        />
        <TextAreaField
          label="Answer to HELP"
          value={form.smsHelpText}
          onChange={set("smsHelpText")}
          error={errors.smsHelpText}
          rows={2}
          hint={`Empty: "${session.workspace.name}: Reply STOP to opt out, START to opt back in."`}
          disabled={!writable}
        />
        {errors.form ? <Alert>{errors.form}</Alert> : null}
        {writable ? (
          <div className="form-actions">
            <button type="submit" className="button primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save"}
            </button>
            {save.isSuccess ? (
              <span role="status" className="muted">
                Saved.
              </span>
            ) : null}
          </div>
        ) : (
          <p className="muted">A viewer can look but not change the sender.</p>
        )}
      </form>
    </div>
  );
}
