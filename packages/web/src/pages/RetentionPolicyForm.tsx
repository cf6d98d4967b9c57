/** Settings → Retention: the form that sets one policy (admins only), checked before it is sent. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { api, type RetentionKind, type RetentionPolicy } from "../api.ts";
import { errorsFrom, Field, type FieldErrors, SelectField } from "../components/Field.tsx";
import { Alert } from "../components/feedback.tsx";
import {
  ACTIONS,
  CONTACT_KINDS,
  type ContactAction,
  type DuplicateReason,
  KINDS,
  MAX_DAYS,
  MAX_GROUPS,
  MIN_DAYS,
  REASONS,
  wholeNumber,
} from "./retentionKinds.ts";

const FIELDS = [
  "enabled",
  "maxShare",
  "settings.inactiveDays",
  "settings.action",
  "settings.repermissionCampaignId",
  "settings.graceDays",
  "settings.olderThanDays",
  "settings.match",
  "settings.maxGroups",
] as const;
type FieldName = (typeof FIELDS)[number];

interface FormState {
  enabled: boolean;
  inactiveDays: string;
  action: ContactAction;
  repermissionCampaignId: string;
  graceDays: string;
  olderThanDays: string;
  match: DuplicateReason[];
  maxGroups: string;
  maxSharePercent: string;
}

const DEFAULT_OLDER_THAN: Partial<Record<RetentionKind, number>> = {
  old_events: 730,
  finished_journeys: 180,
  print_files: 90,
};

function initialState(kind: RetentionKind, policy: RetentionPolicy | undefined): FormState {
  const s = (policy?.settings ?? {}) as Record<string, unknown>;
  const text = (value: unknown, fallback: number) => String(typeof value === "number" ? value : fallback);
  return {
    enabled: policy?.enabled ?? false,
    inactiveDays: text(s.inactiveDays, 730),
    action: (s.action as ContactAction | undefined) ?? "archive",
    repermissionCampaignId: typeof s.repermissionCampaignId === "string" ? s.repermissionCampaignId : "",
    graceDays: text(s.graceDays, 30),
    olderThanDays: text(s.olderThanDays, DEFAULT_OLDER_THAN[kind] ?? 365),
    match: Array.isArray(s.match) ? (s.match as DuplicateReason[]) : REASONS.map((r) => r.value),
    maxGroups: text(s.maxGroups, 1000),
    maxSharePercent: String(Math.round((policy?.maxShare ?? 0.2) * 1000) / 10),
  };
}

/** The form's settings as the API takes them, or the errors found before sending. */
function check(
  kind: RetentionKind,
  form: FormState,
): { settings: Record<string, unknown>; maxShare?: number; errors: FieldErrors<FieldName> } {
  const errors: FieldErrors<FieldName> = {};
  const settings: Record<string, unknown> = {};
  const days = (field: FieldName, text: string) => {
    const parsed = wholeNumber(text, MIN_DAYS, MAX_DAYS, " days");
    if (parsed.error) errors[field] = parsed.error;
    return parsed.value;
  };
  if (kind === "outdated_prospects") {
    settings.inactiveDays = days("settings.inactiveDays", form.inactiveDays);
    settings.action = form.action;
    settings.repermissionCampaignId = form.repermissionCampaignId || null;
    if (form.repermissionCampaignId) settings.graceDays = days("settings.graceDays", form.graceDays);
  } else if (kind === "undeliverable") {
    settings.action = form.action;
  } else if (kind === "duplicates") {
    if (form.match.length === 0) errors["settings.match"] = "Choose at least one kind of duplicate";
    // Always in the order the policy merges them.
    settings.match = REASONS.map((r) => r.value).filter((r) => form.match.includes(r));
    const groups = wholeNumber(form.maxGroups, 1, MAX_GROUPS);
    if (groups.error) errors["settings.maxGroups"] = groups.error;
    settings.maxGroups = groups.value;
  } else {
    settings.olderThanDays = days("settings.olderThanDays", form.olderThanDays);
  }
  let maxShare: number | undefined;
  if (CONTACT_KINDS.has(kind)) {
    const text = form.maxSharePercent.trim();
    const percent = Number(text);
    if (!text || !Number.isFinite(percent) || percent <= 0 || percent > 100) {
      errors.maxShare = "Enter a percentage above 0 and at most 100";
    } else {
      maxShare = percent / 100;
    }
  }
  return { settings, ...(maxShare === undefined ? {} : { maxShare }), errors };
}

export function RetentionPolicyForm({
  kind,
  policy,
  onDone,
}: {
  kind: RetentionKind;
  policy: RetentionPolicy | undefined;
  onDone: (saved: boolean) => void;
}) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState(() => initialState(kind, policy));
  const [errors, setErrors] = useState<FieldErrors<FieldName>>({});
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm({ ...form, [key]: value });
  const campaigns = useQuery({
    queryKey: ["campaigns", "options"],
    queryFn: api.campaignOptions,
    enabled: kind === "outdated_prospects",
  });
  const save = useMutation({
    mutationFn: (body: { enabled: boolean; settings: Record<string, unknown>; maxShare?: number }) =>
      api.putRetentionPolicy(kind, body),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["retention", "policies"] });
      onDone(true);
    },
    onError: (error) => setErrors(errorsFrom(error, FIELDS)),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const checked = check(kind, form);
    setErrors(checked.errors);
    if (Object.keys(checked.errors).length > 0) return;
    save.mutate({
      enabled: form.enabled,
      settings: checked.settings,
      ...(checked.maxShare === undefined ? {} : { maxShare: checked.maxShare }),
    });
  }

  const title = KINDS[kind].title;
  const chosenCampaign = campaigns.data?.data.find((c) => c.id === form.repermissionCampaignId);
  const campaignOptions = [
    { value: "", label: "None: act on outdated contacts directly" },
    ...(campaigns.data?.data ?? []).map((c) => ({ value: c.id, label: `${c.name} (${c.status})` })),
  ];
  if (form.repermissionCampaignId && campaigns.data && !chosenCampaign) {
    campaignOptions.push({ value: form.repermissionCampaignId, label: "A campaign that no longer exists" });
  }

  return (
    <form className="retention-form" onSubmit={submit} noValidate aria-label={`Settings of ${title}`}>
      {kind === "outdated_prospects" ? (
        <>
          <div className="row">
            <Field
              label="Inactive for (days)"
              type="number"
              inputMode="numeric"
              min={MIN_DAYS}
              max={MAX_DAYS}
              step={1}
              value={form.inactiveDays}
              onChange={(v) => set("inactiveDays", v)}
              error={errors["settings.inactiveDays"]}
              hint="Created this long ago, with no engagement since."
            />
          </div>
          <ActionChoice
            value={form.action}
            onChange={(v) => set("action", v)}
            error={errors["settings.action"]}
          />
          <div className="row">
            <SelectField
              label="Re-permission campaign (optional)"
              value={form.repermissionCampaignId}
              onChange={(v) => set("repermissionCampaignId", v)}
              options={campaignOptions}
              error={
                errors["settings.repermissionCampaignId"] ??
                (campaigns.error ? "The campaigns could not be loaded" : undefined)
              }
              hint={
                chosenCampaign && chosenCampaign.status !== "running"
                  ? `This campaign is ${chosenCampaign.status}: runs fail until it is running.`
                  : "Outdated contacts first get this running campaign, a last chance to stay."
              }
            />
            {form.repermissionCampaignId ? (
              <Field
                label="Grace period (days)"
                type="number"
                inputMode="numeric"
                min={MIN_DAYS}
                max={MAX_DAYS}
                step={1}
                value={form.graceDays}
                onChange={(v) => set("graceDays", v)}
                error={errors["settings.graceDays"]}
                hint="Days in the campaign without engaging before the contact is acted on."
              />
            ) : null}
          </div>
        </>
      ) : null}

      {kind === "undeliverable" ? (
        <ActionChoice
          value={form.action}
          onChange={(v) => set("action", v)}
          error={errors["settings.action"]}
        />
      ) : null}

      {kind === "duplicates" ? (
        <>
          <MatchChoice
            value={form.match}
            onChange={(v) => set("match", v)}
            error={errors["settings.match"]}
          />
          <div className="row">
            <Field
              label="Groups merged per run, at most"
              type="number"
              inputMode="numeric"
              min={1}
              max={MAX_GROUPS}
              step={1}
              value={form.maxGroups}
              onChange={(v) => set("maxGroups", v)}
              error={errors["settings.maxGroups"]}
              hint="The rest wait for the next run."
            />
          </div>
        </>
      ) : null}

      {kind === "old_events" || kind === "finished_journeys" || kind === "print_files" ? (
        <div className="row">
          <Field
            label="Older than (days)"
            type="number"
            inputMode="numeric"
            min={MIN_DAYS}
            max={MAX_DAYS}
            step={1}
            value={form.olderThanDays}
            onChange={(v) => set("olderThanDays", v)}
            error={errors["settings.olderThanDays"]}
          />
        </div>
      ) : null}

      {CONTACT_KINDS.has(kind) ? (
        <div className="row">
          <Field
            label="Ask before removing more than (% of contacts)"
            type="number"
            inputMode="decimal"
            min={0.1}
            max={100}
            step="any"
            value={form.maxSharePercent}
            onChange={(v) => set("maxSharePercent", v)}
            error={errors.maxShare}
            hint="A run that would erase, anonymise or merge away more stops and waits for a person. Archiving is never held."
          />
        </div>
      ) : null}

      <div className="checkbox-field">
        <input
          id={`${kind}-enabled`}
          type="checkbox"
          checked={form.enabled}
          onChange={(event) => set("enabled", event.target.checked)}
          aria-describedby={`${kind}-enabled-hint`}
        />
        <div>
          <label htmlFor={`${kind}-enabled`}>Run daily</label>
          <p id={`${kind}-enabled-hint`} className="field-hint">
            Every day at 03:17 UTC, for real. Unticked, it runs only when started here.
          </p>
          {errors.enabled ? <p className="field-error">{errors.enabled}</p> : null}
        </div>
      </div>

      {errors.form ? <Alert>{errors.form}</Alert> : null}
      <div className="button-row">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </button>
        <button type="button" className="button secondary" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ActionChoice({
  value,
  onChange,
  error,
}: {
  value: ContactAction;
  onChange: (value: ContactAction) => void;
  error: string | undefined;
}) {
  const id = useId();
  return (
    <fieldset
      className={`choice${error ? " field-invalid" : ""}`}
      aria-describedby={error ? `${id}-error` : undefined}
    >
      <legend>What happens to them</legend>
      {ACTIONS.map((action) => (
        <div key={action.value} className="choice-option">
          <input
            type="radio"
            id={`${id}-${action.value}`}
            name={`${id}-action`}
            value={action.value}
            checked={value === action.value}
            onChange={() => onChange(action.value)}
            aria-describedby={`${id}-${action.value}-help`}
          />
          <div>
            <label htmlFor={`${id}-${action.value}`}>{action.label}</label>
            <p id={`${id}-${action.value}-help`} className="field-hint">
              {action.help}
            </p>
          </div>
        </div>
      ))}
      {value === "delete" ? (
        <p className="warning" id={`${id}-warning`}>
          <strong>Erasing cannot be undone.</strong> Every contact a run selects is removed with its history;
          only opt-outs are kept, as anonymous tombstones. Preview with a dry run first.
        </p>
      ) : null}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

function MatchChoice({
  value,
  onChange,
  error,
}: {
  value: DuplicateReason[];
  onChange: (value: DuplicateReason[]) => void;
  error: string | undefined;
}) {
  const id = useId();
  return (
    <fieldset
      className={`choice${error ? " field-invalid" : ""}`}
      aria-describedby={error ? `${id}-error` : undefined}
    >
      <legend>Merge contacts that have</legend>
      {REASONS.map((reason) => (
        <div key={reason.value} className="choice-option">
          <input
            type="checkbox"
            id={`${id}-${reason.value}`}
            checked={value.includes(reason.value)}
            onChange={(event) =>
              onChange(
                event.target.checked ? [...value, reason.value] : value.filter((r) => r !== reason.value),
              )
            }
          />
          <label htmlFor={`${id}-${reason.value}`}>{reason.label}</label>
        </div>
      ))}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
