/**
 * Settings → Delivery: per channel, the hours messages may go out in each contact's local time (quiet
 * hours outside them) and a frequency cap across all campaigns. Both are decided when a message is about
 * to go, so a change applies to messages already queued.
 */
import type { DeliveryPolicies, DeliveryPolicy, Workspace } from "@omneural/contracts/workspaces";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useId, useState } from "react";
import type { Static } from "typebox";
import { request } from "../api.ts";
import { errorsFrom, Field, type FieldErrors, SelectField } from "../components/Field.tsx";
import { Alert, Loading, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import "../styles/settings.css";

type Policies = Static<typeof DeliveryPolicies>;
type Channel = keyof Policies;

const policiesApi = {
  get: () => request<Policies>("GET", "/api/v1/workspace/delivery-policies"),
  put: (channel: Channel, policy: DeliveryPolicy) =>
    request<Policies>("PUT", `/api/v1/workspace/delivery-policies/${channel}`, policy),
  workspace: () => request<Static<typeof Workspace>>("GET", "/api/v1/workspace"),
};

const CHANNELS: { channel: Channel; title: string; noun: string; what: string }[] = [
  { channel: "email", title: "Email", noun: "email", what: "emails" },
  { channel: "sms", title: "SMS", noun: "SMS", what: "texts" },
  { channel: "mail", title: "Direct mail", noun: "direct mail", what: "letters and postcards" },
  { channel: "ads", title: "Ads", noun: "ads", what: "ad audience updates" },
];

/** What applies when nothing is set (the server's defaults). */
const DEFAULTS: Policies = {
  email: { allowedHours: null, frequencyCap: null },
  sms: { allowedHours: { from: "08:00", to: "21:00" }, frequencyCap: null },
  mail: { allowedHours: null, frequencyCap: null },
  ads: { allowedHours: null, frequencyCap: null },
};

const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

export default function DeliverySettings() {
  const session = useSession();
  const writable = can(session.role, "write");
  const policies = useQuery({ queryKey: ["delivery-policies"], queryFn: policiesApi.get });
  const workspace = useQuery({ queryKey: ["workspace"], queryFn: policiesApi.workspace });
  const timezone = workspace.data?.defaultTimezone;
  return (
    <div className="page settings-page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Quiet hours and frequency caps</h1>
          <p className="muted">
            When messages may reach people, and how many. Sending hours are in each contact's own time zone
            {timezone ? ` (when a contact has none: the workspace's, ${timezone})` : ""}, every day of the
            week; a message due outside them waits for the next allowed hour. Caps count messages of every
            campaign on the channel. Both are checked just before each message goes out, so changes apply to
            messages already waiting too.
          </p>
        </div>
      </header>
      {writable ? null : (
        <Alert tone="info">
          You can see these settings; only owners, admins and marketers can change them.
        </Alert>
      )}
      {policies.isPending ? <Loading label="Loading the delivery settings" /> : null}
      {policies.error ? <PageError error={policies.error} /> : null}
      {policies.data ? (
        <div className="policy-cards">
          {CHANNELS.map((entry) => (
            <PolicyForm
              key={entry.channel}
              {...entry}
              saved={policies.data[entry.channel]}
              writable={writable}
            />
          ))}
        </div>
      ) : null}
    </div>
  );
}

type PolicyField =
  | "allowedHours"
  | "allowedHours.from"
  | "allowedHours.to"
  | "frequencyCap"
  | "frequencyCap.count"
  | "frequencyCap.days"
  | "frequencyCap.action";

const POLICY_FIELDS: PolicyField[] = [
  "allowedHours",
  "allowedHours.from",
  "allowedHours.to",
  "frequencyCap",
  "frequencyCap.count",
  "frequencyCap.days",
  "frequencyCap.action",
];

interface PolicyDraft {
  limitHours: boolean;
  from: string;
  to: string;
  cap: boolean;
  count: string;
  days: string;
  action: "defer" | "skip";
}

function draftOf(policy: DeliveryPolicy): PolicyDraft {
  return {
    limitHours: policy.allowedHours !== null,
    from: policy.allowedHours?.from ?? "08:00",
    to: policy.allowedHours?.to ?? "21:00",
    cap: policy.frequencyCap !== null,
    count: String(policy.frequencyCap?.count ?? 3),
    days: String(policy.frequencyCap?.days ?? 7),
    action: policy.frequencyCap?.action ?? "defer",
  };
}

function summarise(policy: DeliveryPolicy, what: string): string {
  const hours = policy.allowedHours
    ? `Sent between ${policy.allowedHours.from} and ${policy.allowedHours.to}${policy.allowedHours.from > policy.allowedHours.to ? " (overnight)" : ""}`
    : "Sent at any hour";
  const cap = policy.frequencyCap
    ? `at most ${policy.frequencyCap.count} ${what} per contact every ${policy.frequencyCap.days === 1 ? "day" : `${policy.frequencyCap.days} days`} (${policy.frequencyCap.action === "skip" ? "more are skipped" : "more wait"})`
    : "no cap";
  return `${hours}; ${cap}.`;
}

const same = (a: DeliveryPolicy, b: DeliveryPolicy) => JSON.stringify(a) === JSON.stringify(b);

function PolicyForm({
  channel,
  title,
  noun,
  what,
  saved,
  writable,
}: {
  channel: Channel;
  title: string;
  noun: string;
  what: string;
  saved: DeliveryPolicy;
  writable: boolean;
}) {
  const queryClient = useQueryClient();
  const headingId = useId();
  const [draft, setDraft] = useState<PolicyDraft>(() => draftOf(saved));
  const [errors, setErrors] = useState<FieldErrors<PolicyField>>({});
  const [savedNote, setSavedNote] = useState(false);
  const update = (change: Partial<PolicyDraft>) => {
    setDraft((d) => ({ ...d, ...change }));
    setSavedNote(false);
  };
  const save = useMutation({
    mutationFn: (policy: DeliveryPolicy) => policiesApi.put(channel, policy),
    onSuccess: (all) => {
      queryClient.setQueryData(["delivery-policies"], all);
      setDraft(draftOf(all[channel]));
      setErrors({});
      setSavedNote(true);
    },
    onError: (error) => setErrors(errorsFrom(error, POLICY_FIELDS)),
  });
  const isDefault = same(saved, DEFAULTS[channel]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: FieldErrors<PolicyField> = {};
    if (draft.limitHours) {
      if (!TIME.test(draft.from)) found["allowedHours.from"] = "Give a time such as 08:00";
      if (!TIME.test(draft.to)) found["allowedHours.to"] = "Give a time such as 21:00";
      if (!found["allowedHours.from"] && !found["allowedHours.to"] && draft.from === draft.to)
        found["allowedHours.to"] = "The end must differ from the start (for any hour, untick the limit)";
    }
    const count = Number(draft.count);
    const days = Number(draft.days);
    if (draft.cap) {
      if (!Number.isInteger(count) || count < 1 || count > 1000)
        found["frequencyCap.count"] = "A whole number from 1 to 1000";
      if (!Number.isInteger(days) || days < 1 || days > 365)
        found["frequencyCap.days"] = "A whole number of days from 1 to 365";
    }
    setErrors(found);
    setSavedNote(false);
    if (Object.values(found).some(Boolean)) return;
    save.mutate({
      allowedHours: draft.limitHours ? { from: draft.from, to: draft.to } : null,
      frequencyCap: draft.cap ? { count, days, action: draft.action } : null,
    });
  }

  const disabled = !writable || save.isPending;
  /** The value, change and problem of one text input or select of the draft. */
  const bind = (key: "from" | "to" | "count" | "days" | "action", error: string | undefined) => ({
    value: draft[key],
    onChange: (value: string) => update({ [key]: value }),
    error,
  });
  const toggle = (key: "limitHours" | "cap") => ({
    checked: draft[key],
    onToggle: (checked: boolean) => update({ [key]: checked }),
    disabled,
  });
  const hoursError = errors.allowedHours;
  const capError = errors.frequencyCap;
  return (
    <section className="card policy-card" aria-labelledby={headingId}>
      <div className="section-header">
        <h2 id={headingId}>{title}</h2>
        <span className={`badge ${isDefault ? "neutral" : "info"}`}>
          {isDefault ? "Default" : "Customised"}
        </span>
      </div>
      <p className="muted small">
        Now: {summarise(saved, what)}
        {isDefault ? null : ` Default: ${summarise(DEFAULTS[channel], what)}`}
      </p>
      <form onSubmit={submit} noValidate aria-label={`${title} delivery settings`}>
        <OptionalRule
          title={title}
          legend="Sending hours"
          label={`Only send ${what} between certain hours (quiet hours outside them)`}
          {...toggle("limitHours")}
        >
          <div className="row">
            <Field
              label={"Send from"}
              type="time"
              {...bind("from", errors["allowedHours.from"])}
              hint="Contact's local time"
            />
            <Field
              label={"Send until"}
              type="time"
              {...bind("to", errors["allowedHours.to"] ?? hoursError)}
              hint="Earlier than the start: the window runs overnight"
            />
          </div>
        </OptionalRule>
        <OptionalRule
          title={title}
          legend="Frequency cap"
          label={`Limit how many ${what} one contact gets, across all campaigns`}
          {...toggle("cap")}
        >
          <div className="row cap-row">
            <Field
              label={"At most"}
              {...WHOLE_NUMBER}
              max={1000}
              {...bind("count", errors["frequencyCap.count"] ?? capError)}
              hint={what}
            />
            <Field
              label={"Every (days)"}
              {...WHOLE_NUMBER}
              max={365}
              {...bind("days", errors["frequencyCap.days"])}
              hint="days, counted back from each send"
            />
            <SelectField
              label={"When over the cap"}
              {...bind("action", errors["frequencyCap.action"])}
              options={[
                { value: "defer", label: "Wait until the contact is under the cap" },
                { value: "skip", label: "Skip the message" },
              ]}
            />
          </div>
        </OptionalRule>
        {errors.form ? <Alert>{errors.form}</Alert> : null}
        {writable ? (
          <div className="form-actions">
            <button type="submit" className="button primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : `Save ${noun} settings`}
            </button>
            <button
              type="button"
              className="button secondary"
              disabled={save.isPending}
              onClick={() => {
                setDraft(draftOf(DEFAULTS[channel]));
                setErrors({});
                setSavedNote(false);
              }}
            >
              Use the defaults
            </button>
            {savedNote ? (
              <span role="status" className="muted">
                Saved.
              </span>
            ) : null}
          </div>
        ) : null}
      </form>
    </section>
  );
}

const WHOLE_NUMBER = { type: "number", min: 1, inputMode: "numeric" } as const;

/** A part of the policy that is off or on, with its inputs shown when it is on. */
function OptionalRule({
  title,
  legend,
  label,
  checked,
  onToggle,
  disabled,
  children,
}: {
  /** The channel, for screen readers (every channel's form has the same legends). */
  title: string;
  legend: string;
  label: string;
  checked: boolean;
  onToggle: (checked: boolean) => void;
  disabled: boolean;
  children: ReactNode;
}) {
  return (
    <fieldset disabled={disabled}>
      <legend>
        <span className="visually-hidden">{title}: </span>
        {legend}
      </legend>
      <label className="checkbox-field">
        <input type="checkbox" checked={checked} onChange={(event) => onToggle(event.target.checked)} />
        {label}
      </label>
      {checked ? children : null}
    </fieldset>
  );
}
