/**
 * The inputs of each kind of condition (a leaf of the rule tree): a contact detail, an event, a
 * response to a message, consent, reachability, a list, another audience, a random sample, the event
 * a journey was entered by.
 */
import type { Audience } from "@omneural/contracts/audiences";
import { useQuery } from "@tanstack/react-query";
import { api, request } from "../../api.ts";
import { Field, SelectField } from "../Field.tsx";
import { binder, joinErrors, optionsOf, useBind } from "./bind.ts";
import { ConditionEditor } from "./ConditionEditor.tsx";
import { NumberField } from "./controls.tsx";
import { errorAt, useRuleSettings } from "./ruleContext.ts";
import {
  CHANNEL_NAMES,
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

const FILTER_TYPE_NAMES = { string: "Text", number: "Number", boolean: "Yes / no" };

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
  const { errorOf } = useBind(path, disabled);
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
        error={isAttribute ? undefined : errorOf("field")}
        disabled={disabled}
      />
      {isAttribute ? (
        <>
          <Field
            label="Attribute name"
            value={attributeKey}
            onChange={(key) => change(`attributes.${key}`, rule.type)}
            error={errorOf("field")}
            hint="As in your imports, e.g. plan or lifetime_value."
            disabled={disabled}
            autoComplete="off"
          />
          <SelectField
            label="Kind of value"
            value={rule.type}
            onChange={(type) => change(rule.field, type as ValueType)}
            options={optionsOf(TYPE_NAMES)}
            error={errorOf("type")}
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
  const { errorOf } = binder(errors, path, disabled);
  const ofCount = binder(errors, `${path}.count`, disabled);
  const ofWithin = binder(errors, `${path}.within`, disabled);
  const count = rule.count ?? { op: "at_least" as const, value: 1 };
  const setCount = (next: typeof count) => onChange({ ...rule, count: next });
  return (
    <>
      <SelectField
        label="How many times"
        {...ofCount.bindSelect(count, "op", setCount, COUNT_OPS)}
        error={errorOf("count") ?? ofCount.errorOf("op")}
      />
      <NumberField
        label="Times"
        integer
        {...ofCount.bind(count, "value", setCount)}
        hint={count.op === "exactly" && count.value === 0 ? "Exactly 0: never did it." : undefined}
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
        error={errorOf("within")}
        disabled={disabled}
      />
      {rule.within ? (
        <NumberField
          label="Days"
          integer
          {...ofWithin.bind(rule.within, "days", (within) => onChange({ ...rule, within }))}
        />
      ) : null}
    </>
  );
}

export function EventRuleEditor({ rule, onChange, path, disabled }: LeafProps<"event">) {
  const { bind } = useBind(path, disabled);
  return (
    <>
      <Field
        label="Event name"
        {...bind(rule, "type", onChange)}
        hint="As your site or app sends it, e.g. order.placed."
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

/**
 * Filters on an event's properties, each typed like a contact detail's condition. Also used by a
 * journey step's settings, which number each row's labels (several lists may share the panel) and check
 * each detail's name as it is typed.
 */
export function PropertyFilters({
  filters,
  onChange,
  path,
  disabled,
  title,
  required,
  emptyText = "Any details.",
  numbered,
  checkProperty,
}: {
  filters: PropertyFilterValue[];
  onChange: (filters: PropertyFilterValue[]) => void;
  path: string;
  disabled?: boolean | undefined;
  title: string;
  required?: boolean;
  /** What an empty list means. */
  emptyText?: string;
  /** Labels that name the row: "Detail 1 name" rather than "Detail name". */
  numbered?: boolean;
  /** When given, a detail's name is trimmed as typed and its problem shown before the server sees it. */
  checkProperty?: (property: string) => string | undefined;
}) {
  const { errors } = useRuleSettings();
  const listError = errorAt(errors, path);
  const replace = (index: number, filter: PropertyFilterValue) =>
    onChange(filters.map((f, i) => (i === index ? filter : f)));
  return (
    <fieldset className="rule-filters">
      <legend>{title}</legend>
      {filters.length === 0 ? <p className="muted small">{emptyText}</p> : null}
      {filters.map((filter, index) => {
        const at = `${path}[${index}]`;
        const { bind, bindSelect, errorOf } = binder(errors, at, disabled);
        const change = (next: PropertyFilterValue) => replace(index, next);
        const retype = (next: PropertyFilterValue) =>
          change({
            ...next,
            condition: defaultCondition(next.type, filter.condition.op),
          } as PropertyFilterValue);
        return (
          <fieldset
            // biome-ignore lint/suspicious/noArrayIndexKey: filters have no identity but their place
            key={index}
            className="rule-filter"
            aria-label={numbered ? `Event detail filter ${index + 1}` : `Detail filter ${index + 1}`}
          >
            <Field
              label={numbered ? `Detail ${index + 1} name` : "Detail name"}
              {...propertyBinding(bind(filter, "property", change), checkProperty)}
              autoComplete="off"
            />
            <SelectField
              label={numbered ? `Detail ${index + 1} kind` : "Kind of value"}
              {...bindSelect(filter, "type", retype, FILTER_TYPE_NAMES)}
              error={joinErrors(errorAt(errors, at), errorOf("type"))}
            />
            <ConditionEditor
              type={filter.type}
              condition={filter.condition}
              onChange={(condition) => change({ ...filter, condition } as PropertyFilterValue)}
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

/** A detail name's binding, trimmed and checked as typed when `check` is given. */
function propertyBinding(
  bound: { value: string; onChange: (value: string) => void; error: string | undefined },
  check: ((property: string) => string | undefined) | undefined,
) {
  if (!check) return bound;
  return {
    ...bound,
    onChange: (value: string) => bound.onChange(value.trim()),
    error: bound.error ?? check(bound.value),
  };
}

export function ResponseRuleEditor({ rule, onChange, path, disabled }: LeafProps<"response">) {
  const { bindSelect, bindOptional } = useBind(path, disabled);
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
  return (
    <>
      <SelectField label="Response" {...bindSelect(rule, "response", onChange, RESPONSE_NAMES)} />
      <SelectField
        label="Channel"
        {...bindOptional(rule, "channel", onChange)}
        options={[{ value: "", label: "any channel" }, ...optionsOf(CHANNEL_NAMES)]}
      />
      <SelectField
        label="Campaign"
        {...bindOptional(rule, "campaignId", onChange)}
        options={campaignOptions}
      />
      <CountAndWindow rule={rule} onChange={onChange} path={path} disabled={disabled} />
    </>
  );
}

export function ConsentRuleEditor({ rule, onChange, path, disabled }: LeafProps<"consent">) {
  const { bindSelect } = useBind(path, disabled);
  return (
    <>
      <SelectField label="Channel" {...bindSelect(rule, "channel", onChange, CHANNEL_NAMES)} />
      <SelectField label="Consent is" {...bindSelect(rule, "status", onChange, CONSENT_NAMES)} />
    </>
  );
}

export function ReachableRuleEditor({ rule, onChange, path, disabled }: LeafProps<"reachable">) {
  const { bindSelect } = useBind(path, disabled);
  return (
    <SelectField
      label="Channel"
      {...bindSelect(rule, "channel", onChange, CHANNEL_NAMES)}
      hint="Has the address the channel needs and has not said no to it."
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
  const { bind } = useBind(path, disabled);
  return <AudiencePicker label="List" {...bind(rule, "listId", onChange)} onlyLists />;
}

export function AudienceRuleEditor({ rule, onChange, path, disabled }: LeafProps<"audience">) {
  const { bind } = useBind(path, disabled);
  return <AudiencePicker label="Audience" {...bind(rule, "audienceId", onChange)} onlyLists={false} />;
}

export function BucketRuleEditor({ rule, onChange, path, disabled }: LeafProps<"bucket">) {
  const { bind } = useBind(path, disabled);
  return (
    <>
      <NumberField label="Percent of contacts" integer {...bind(rule, "percent", onChange)} />
      <Field
        label="Sample name"
        {...bind(rule, "salt", onChange)}
        hint="The same name always picks the same contacts; another name picks others."
        autoComplete="off"
      />
    </>
  );
}
