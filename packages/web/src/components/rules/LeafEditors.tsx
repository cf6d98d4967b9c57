/**
 * The inputs of each kind of condition (a leaf of the rule tree): a contact detail, an event, a
 * response to a message, consent, reachability, a list, another audience, a random sample, the event
 * a journey was entered by.
 */
import type { Audience } from "@omneural/contracts/audiences";
import { useQuery } from "@tanstack/react-query";
import { api, request } from "../../api.ts";
import { Field, SelectField } from "../Field.tsx";
import { ConditionEditor } from "./ConditionEditor.tsx";
import { NumberField } from "./controls.tsx";
import { errorAt, useRuleSettings } from "./ruleContext.ts";
import {
  CHANNEL_NAMES,
  type Channel,
  CONSENT_NAMES,
  COUNT_OPS,
  defaultCondition,
  FIELD_NAMES,
  type FieldRuleValue,
  fieldType,
  newPropertyFilter,
  type PropertyFilterValue,
  RESPONSE_NAMES,
  type Rule,
  TYPE_NAMES,
  type ValueType,
} from "./ruleModel.ts";

type Of<K extends Rule["kind"]> = Extract<Rule, { kind: K }>;
interface LeafProps<K extends Rule["kind"]> {
  rule: Of<K>;
  onChange: (rule: Rule) => void;
  path: string;
  disabled?: boolean | undefined;
}

const optionsOf = (labels: Record<string, string>) =>
  Object.entries(labels).map(([value, label]) => ({ value, label }));

/** The keys each kind's editor shows; problems about any other key are listed under the condition. */
export const SHOWN_KEYS: Record<string, readonly string[]> = {
  field: ["field", "type", "condition"],
  event: ["type", "where", "count", "within"],
  response: ["response", "campaignId", "channel", "within", "count"],
  consent: ["channel", "status"],
  reachable: ["channel"],
  list: ["listId"],
  audience: ["audienceId"],
  bucket: ["salt", "percent"],
  entry_event: ["where"],
};

export function FieldRuleEditor({ rule, onChange, path, disabled }: LeafProps<"field">) {
  const { errors } = useRuleSettings();
  const isAttribute = rule.field.startsWith("attributes.");
  const attributeKey = isAttribute ? rule.field.slice("attributes.".length) : "";
  const change = (field: string, type: ValueType) => {
    const condition = type === rule.type ? rule.condition : defaultCondition(type, rule.condition.op);
    onChange({ kind: "field", field, type, condition } as FieldRuleValue);
  };
  return (
    <>
      <SelectField
        label="Detail"
        value={isAttribute ? "attributes" : rule.field}
        onChange={(value) =>
          value === "attributes"
            ? change(`attributes.${attributeKey}`, rule.type)
            : change(value, fieldType(value) ?? "string")
        }
        options={[...optionsOf(FIELD_NAMES), { value: "attributes", label: "Custom attribute…" }]}
        error={isAttribute ? undefined : errorAt(errors, `${path}.field`)}
        disabled={disabled}
      />
      {isAttribute ? (
        <>
          <Field
            label="Attribute name"
            value={attributeKey}
            onChange={(key) => change(`attributes.${key}`, rule.type)}
            error={errorAt(errors, `${path}.field`)}
            hint="As in your imports, e.g. plan or lifetime_value."
            disabled={disabled}
            autoComplete="off"
          />
          <SelectField
            label="Kind of value"
            value={rule.type}
            onChange={(type) => change(rule.field, type as ValueType)}
            options={optionsOf(TYPE_NAMES)}
            error={errorAt(errors, `${path}.type`)}
            disabled={disabled}
          />
        </>
      ) : null}
      <ConditionEditor
        type={rule.type}
        condition={rule.condition}
        onChange={(condition) => onChange({ ...rule, condition } as FieldRuleValue)}
        path={`${path}.condition`}
        disabled={disabled}
      />
    </>
  );
}

/** How many times, and over which window: shared by events and responses. */
function CountAndWindow({
  rule,
  onChange,
  path,
  disabled,
}: {
  rule: Of<"event"> | Of<"response">;
  onChange: (rule: Rule) => void;
  path: string;
  disabled?: boolean | undefined;
}) {
  const { errors } = useRuleSettings();
  const count = rule.count ?? { op: "at_least" as const, value: 1 };
  return (
    <>
      <SelectField
        label="How many times"
        value={count.op}
        onChange={(op) => onChange({ ...rule, count: { ...count, op: op as typeof count.op } })}
        options={optionsOf(COUNT_OPS)}
        error={errorAt(errors, `${path}.count`) ?? errorAt(errors, `${path}.count.op`)}
        disabled={disabled}
      />
      <NumberField
        label="Times"
        integer
        value={count.value}
        onChange={(value) => onChange({ ...rule, count: { ...count, value } })}
        error={errorAt(errors, `${path}.count.value`)}
        hint={count.op === "exactly" && count.value === 0 ? "Exactly 0: never did it." : undefined}
        disabled={disabled}
      />
      <SelectField
        label="When"
        value={rule.within ? "within" : "ever"}
        onChange={(choice) => {
          if (choice === "ever") {
            const { within: _, ...rest } = rule;
            onChange(rest as Rule);
          } else onChange({ ...rule, within: { days: 30 } });
        }}
        options={[
          { value: "ever", label: "ever" },
          { value: "within", label: "in the last … days" },
        ]}
        error={errorAt(errors, `${path}.within`)}
        disabled={disabled}
      />
      {rule.within ? (
        <NumberField
          label="Days"
          integer
          value={rule.within.days}
          onChange={(days) => onChange({ ...rule, within: { days } })}
          error={errorAt(errors, `${path}.within.days`)}
          disabled={disabled}
        />
      ) : null}
    </>
  );
}

export function EventRuleEditor({ rule, onChange, path, disabled }: LeafProps<"event">) {
  const { errors } = useRuleSettings();
  return (
    <>
      <Field
        label="Event name"
        value={rule.type}
        onChange={(type) => onChange({ ...rule, type })}
        error={errorAt(errors, `${path}.type`)}
        hint="As your site or app sends it, e.g. order.placed."
        disabled={disabled}
        autoComplete="off"
      />
      <CountAndWindow rule={rule} onChange={onChange} path={path} disabled={disabled} />
      <PropertyFilters
        filters={rule.where ?? []}
        onChange={(where) => {
          const { where: _, ...rest } = rule;
          onChange(where.length ? { ...rest, where } : rest);
        }}
        path={`${path}.where`}
        disabled={disabled}
        title="Only events whose details match"
      />
    </>
  );
}

export function EntryEventRuleEditor({ rule, onChange, path, disabled }: LeafProps<"entry_event">) {
  return (
    <PropertyFilters
      filters={rule.where}
      onChange={(where) => onChange({ ...rule, where })}
      path={`${path}.where`}
      disabled={disabled}
      title="The event that started the journey has details matching"
      required
    />
  );
}

/** Filters on an event's properties, each typed like a contact detail's condition. */
function PropertyFilters({
  filters,
  onChange,
  path,
  disabled,
  title,
  required,
}: {
  filters: PropertyFilterValue[];
  onChange: (filters: PropertyFilterValue[]) => void;
  path: string;
  disabled?: boolean | undefined;
  title: string;
  required?: boolean;
}) {
  const { errors } = useRuleSettings();
  const listError = errorAt(errors, path);
  const replace = (index: number, filter: PropertyFilterValue) =>
    onChange(filters.map((f, i) => (i === index ? filter : f)));
  return (
    <fieldset className="rule-filters">
      <legend>{title}</legend>
      {filters.length === 0 ? <p className="muted small">Any details.</p> : null}
      {filters.map((filter, index) => {
        const at = `${path}[${index}]`;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: filters have no identity but their place
          <fieldset key={index} className="rule-filter" aria-label={`Detail filter ${index + 1}`}>
            <Field
              label="Detail name"
              value={filter.property}
              onChange={(property) => replace(index, { ...filter, property })}
              error={errorAt(errors, `${at}.property`)}
              disabled={disabled}
              autoComplete="off"
            />
            <SelectField
              label="Kind of value"
              value={filter.type}
              onChange={(type) =>
                replace(index, {
                  property: filter.property,
                  type,
                  condition: defaultCondition(type as ValueType, filter.condition.op),
                } as PropertyFilterValue)
              }
              options={optionsOf({ string: "Text", number: "Number", boolean: "Yes / no" })}
              error={
                [errorAt(errors, at), errorAt(errors, `${at}.type`)].filter(Boolean).join(" ") || undefined
              }
              disabled={disabled}
            />
            <ConditionEditor
              type={filter.type}
              condition={filter.condition}
              onChange={(condition) => replace(index, { ...filter, condition } as PropertyFilterValue)}
              path={`${at}.condition`}
              disabled={disabled}
            />
            {disabled || (required && filters.length === 1) ? null : (
              <button
                type="button"
                className="button secondary small"
                onClick={() => onChange(filters.filter((_, i) => i !== index))}
              >
                Remove detail filter {index + 1}
              </button>
            )}
          </fieldset>
        );
      })}
      {listError ? <p className="field-error">{listError}</p> : null}
      {disabled || filters.length >= 20 ? null : (
        <button
          type="button"
          className="button secondary small"
          onClick={() => onChange([...filters, newPropertyFilter()])}
        >
          Add a detail filter
        </button>
      )}
    </fieldset>
  );
}

export function ResponseRuleEditor({ rule, onChange, path, disabled }: LeafProps<"response">) {
  const { errors } = useRuleSettings();
  const campaigns = useQuery({ queryKey: ["campaigns", "options"], queryFn: api.campaignOptions });
  const campaignOptions = [
    { value: "", label: "any campaign" },
    ...(campaigns.data?.data ?? []).map((c) => ({ value: c.id, label: c.name })),
  ];
  if (rule.campaignId && !campaignOptions.some((o) => o.value === rule.campaignId)) {
    campaignOptions.push({
      value: rule.campaignId,
      label: campaigns.isPending ? "Loading…" : "A deleted campaign",
    });
  }
  const set = <K extends "campaignId" | "channel">(key: K, value: string) => {
    const { [key]: _, ...rest } = rule;
    onChange((value ? { ...rest, [key]: value } : rest) as Rule);
  };
  return (
    <>
      <SelectField
        label="Response"
        value={rule.response}
        onChange={(response) => onChange({ ...rule, response: response as typeof rule.response })}
        options={optionsOf(RESPONSE_NAMES)}
        error={errorAt(errors, `${path}.response`)}
        disabled={disabled}
      />
      <SelectField
        label="Channel"
        value={rule.channel ?? ""}
        onChange={(channel) => set("channel", channel)}
        options={[{ value: "", label: "any channel" }, ...optionsOf(CHANNEL_NAMES)]}
        error={errorAt(errors, `${path}.channel`)}
        disabled={disabled}
      />
      <SelectField
        label="Campaign"
        value={rule.campaignId ?? ""}
        onChange={(id) => set("campaignId", id)}
        options={campaignOptions}
        error={errorAt(errors, `${path}.campaignId`)}
        disabled={disabled}
      />
      <CountAndWindow rule={rule} onChange={onChange} path={path} disabled={disabled} />
    </>
  );
}

export function ConsentRuleEditor({ rule, onChange, path, disabled }: LeafProps<"consent">) {
  const { errors } = useRuleSettings();
  return (
    <>
      <SelectField
        label="Channel"
        value={rule.channel}
        onChange={(channel) => onChange({ ...rule, channel: channel as Channel })}
        options={optionsOf(CHANNEL_NAMES)}
        error={errorAt(errors, `${path}.channel`)}
        disabled={disabled}
      />
      <SelectField
        label="Consent is"
        value={rule.status}
        onChange={(status) => onChange({ ...rule, status: status as typeof rule.status })}
        options={optionsOf(CONSENT_NAMES)}
        error={errorAt(errors, `${path}.status`)}
        disabled={disabled}
      />
    </>
  );
}

export function ReachableRuleEditor({ rule, onChange, path, disabled }: LeafProps<"reachable">) {
  const { errors } = useRuleSettings();
  return (
    <SelectField
      label="Channel"
      value={rule.channel}
      onChange={(channel) => onChange({ ...rule, channel: channel as Channel })}
      options={optionsOf(CHANNEL_NAMES)}
      error={errorAt(errors, `${path}.channel`)}
      hint="Has the address the channel needs and has not said no to it."
      disabled={disabled}
    />
  );
}

function useAudienceOptions() {
  return useQuery({
    queryKey: ["audiences", "options"],
    queryFn: () => request<{ data: Audience[] }>("GET", "/api/v1/audiences?limit=500"),
  });
}

function AudiencePicker({
  label,
  value,
  onChange,
  onlyLists,
  error,
  disabled,
}: {
  label: string;
  value: string;
  onChange: (id: string) => void;
  onlyLists: boolean;
  error: string | undefined;
  disabled?: boolean | undefined;
}) {
  const { currentAudienceId } = useRuleSettings();
  const audiences = useAudienceOptions();
  const choices = (audiences.data?.data ?? []).filter(
    (a) => a.id !== currentAudienceId && (!onlyLists || a.kind === "list"),
  );
  const options = [
    {
      value: "",
      label: audiences.isPending ? "Loading…" : onlyLists ? "Choose a list…" : "Choose an audience…",
    },
    ...choices.map((a) => ({
      value: a.id,
      label: onlyLists ? a.name : `${a.name} (${a.kind === "list" ? "list" : "segment"})`,
    })),
  ];
  if (value && !options.some((o) => o.value === value)) {
    options.push({ value, label: audiences.isPending ? "Loading…" : "One not found (deleted?)" });
  }
  return (
    <SelectField
      label={label}
      value={value}
      onChange={onChange}
      options={options}
      error={error ?? (audiences.error ? "The audiences could not be loaded." : undefined)}
      hint={
        !audiences.isPending && choices.length === 0
          ? onlyLists
            ? "No static list yet: make one on the Audiences page."
            : "No other audience yet."
          : undefined
      }
      disabled={disabled}
    />
  );
}

export function ListRuleEditor({ rule, onChange, path, disabled }: LeafProps<"list">) {
  const { errors } = useRuleSettings();
  return (
    <AudiencePicker
      label="List"
      value={rule.listId}
      onChange={(listId) => onChange({ ...rule, listId })}
      onlyLists
      error={errorAt(errors, `${path}.listId`)}
      disabled={disabled}
    />
  );
}

export function AudienceRuleEditor({ rule, onChange, path, disabled }: LeafProps<"audience">) {
  const { errors } = useRuleSettings();
  return (
    <AudiencePicker
      label="Audience"
      value={rule.audienceId}
      onChange={(audienceId) => onChange({ ...rule, audienceId })}
      onlyLists={false}
      error={errorAt(errors, `${path}.audienceId`)}
      disabled={disabled}
    />
  );
}

export function BucketRuleEditor({ rule, onChange, path, disabled }: LeafProps<"bucket">) {
  const { errors } = useRuleSettings();
  return (
    <>
      <NumberField
        label="Percent of contacts"
        integer
        value={rule.percent}
        onChange={(percent) => onChange({ ...rule, percent })}
        error={errorAt(errors, `${path}.percent`)}
        disabled={disabled}
      />
      <Field
        label="Sample name"
        value={rule.salt}
        onChange={(salt) => onChange({ ...rule, salt })}
        error={errorAt(errors, `${path}.salt`)}
        hint="The same name always picks the same contacts; another name picks others."
        disabled={disabled}
        autoComplete="off"
      />
    </>
  );
}
