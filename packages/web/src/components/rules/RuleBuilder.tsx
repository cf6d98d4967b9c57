/**
 * The visual rule builder: the whole audience rule language as nested groups ("all of" / "any of"),
 * exclusions ("not") and conditions, each with the inputs its kind and operator need. It edits a rule
 * tree as the API takes it and never shows JSON. Problems the server found are shown next to the node
 * they name when a RuleBuilderContext provider passes them (see ruleContext.ts).
 */
import type { JSX } from "react";
import { SelectField } from "../Field.tsx";
import "../../styles/audiences.css";
import { joinErrors } from "./bind.ts";
import {
  AudienceRuleEditor,
  BucketRuleEditor,
  ConsentRuleEditor,
  EntryEventRuleEditor,
  EventRuleEditor,
  FieldRuleEditor,
  ListRuleEditor,
  ReachableRuleEditor,
  ResponseRuleEditor,
  SHOWN_KEYS,
} from "./LeafEditors.tsx";
import { errorAt, otherErrors, useRuleSettings } from "./ruleContext.ts";
import { LEAF_KIND_NAMES, type LeafKind, newLeaf, type Rule } from "./ruleModel.ts";

export type { Rule };

export function RuleBuilder(props: {
  value: Rule;
  onChange: (rule: Rule) => void;
  disabled?: boolean;
  label: string;
}): JSX.Element {
  const { value, onChange, disabled, label } = props;
  const { root } = useRuleSettings();
  const isGroup = value.kind === "all" || value.kind === "any";
  return (
    <div className="rule-builder">
      <RuleNode rule={value} onChange={onChange} path={root} number="" label={label} disabled={disabled} />
      {!isGroup && !disabled ? (
        <div className="rule-actions">
          <button
            type="button"
            className="button secondary small"
            onClick={() => onChange({ kind: "all", rules: [value, newLeaf("field")] })}
          >
            Add another condition
          </button>
        </div>
      ) : null}
    </div>
  );
}

interface NodeProps {
  rule: Rule;
  onChange: (rule: Rule) => void;
  path: string;
  /** Its place, "2.1"; empty for the root. */
  number: string;
  /** The root's accessible name. */
  label?: string;
  disabled?: boolean | undefined;
  /** Buttons the parent offers (remove, exclude). */
  actions?: JSX.Element | null;
}

function RuleNode(props: NodeProps) {
  const { rule } = props;
  if (rule.kind === "all" || rule.kind === "any") return <GroupNode {...props} rule={rule} />;
  if (rule.kind === "not") return <NotNode {...props} rule={rule} />;
  return <LeafNode {...props} />;
}

function nameOf(rule: Rule, number: string, label?: string): string {
  if (!number) return label ?? "Rules";
  if (rule.kind === "all" || rule.kind === "any") return `Group ${number}`;
  if (rule.kind === "not") return `Exclusion ${number}`;
  return `Condition ${number}`;
}

type GroupProps = NodeProps & { rule: Extract<Rule, { kind: "all" | "any" }> };
type NotProps = NodeProps & { rule: Extract<Rule, { kind: "not" }> };

function GroupNode({ rule, onChange, path, number, label, disabled, actions }: GroupProps) {
  const { errors } = useRuleSettings();
  const name = nameOf(rule, number, label);
  const groupError = joinErrors(
    errorAt(errors, path),
    errorAt(errors, `${path}.rules`),
    errorAt(errors, `${path}.kind`),
  );
  const setChild = (index: number, child: Rule) =>
    onChange({ ...rule, rules: rule.rules.map((r, i) => (i === index ? child : r)) });
  const removeChild = (index: number) =>
    onChange({ ...rule, rules: rule.rules.filter((_, i) => i !== index) });
  const add = (child: Rule) => onChange({ ...rule, rules: [...rule.rules, child] });
  const move = (index: number, by: number) => {
    const rules = [...rule.rules];
    const [moved] = rules.splice(index, 1);
    if (moved) rules.splice(index + by, 0, moved);
    onChange({ ...rule, rules });
  };
  return (
    <fieldset className={`rule-group rule-group-${rule.kind}${number ? "" : " rule-root"}`} aria-label={name}>
      <legend className="visually-hidden">{name}</legend>
      <div className="rule-group-header">
        <SelectField
          label={number ? `${name} matches` : "Contacts who match"}
          value={rule.kind}
          onChange={(kind) => onChange({ kind: kind as "all" | "any", rules: rule.rules })}
          options={[
            { value: "all", label: "all of these (and)" },
            { value: "any", label: "any of these (or)" },
          ]}
          disabled={disabled}
        />
        {actions}
      </div>
      {rule.rules.length === 0 ? (
        <p className="muted small">No condition yet{disabled ? "." : ": add one below."}</p>
      ) : null}
      <ol className="rule-children">
        {rule.rules.map((child, index) => {
          const childNumber = number ? `${number}.${index + 1}` : String(index + 1);
          const childName = nameOf(child, childNumber);
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: rules have no identity but their place
            <li key={index} className={index > 0 ? `rule-joined rule-joined-${rule.kind}` : undefined}>
              {index > 0 ? (
                <span className="rule-joiner" aria-hidden="true">
                  {rule.kind === "all" ? "and" : "or"}
                </span>
              ) : null}
              <RuleNode
                rule={child}
                onChange={(next) => setChild(index, next)}
                path={`${path}.rules[${index}]`}
                number={childNumber}
                disabled={disabled}
                actions={
                  disabled ? null : (
                    <div className="rule-node-actions">
                      {child.kind === "not" ? null : (
                        <button
                          type="button"
                          className="button secondary small"
                          onClick={() => setChild(index, { kind: "not", rule: child })}
                          aria-label={`Exclude ${childName}: match contacts who do not match it`}
                        >
                          Exclude
                        </button>
                      )}
                      {index > 0 ? (
                        <button
                          type="button"
                          className="button secondary small"
                          onClick={() => move(index, -1)}
                          aria-label={`Move ${childName} up`}
                        >
                          ↑
                        </button>
                      ) : null}
                      {index < rule.rules.length - 1 ? (
                        <button
                          type="button"
                          className="button secondary small"
                          onClick={() => move(index, 1)}
                          aria-label={`Move ${childName} down`}
                        >
                          ↓
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="button secondary small"
                        onClick={() => removeChild(index)}
                        aria-label={`Remove ${childName}`}
                      >
                        Remove
                      </button>
                    </div>
                  )
                }
              />
            </li>
          );
        })}
      </ol>
      {groupError ? <p className="field-error">{groupError}</p> : null}
      {disabled ? null : (
        <div className="rule-actions">
          <button
            type="button"
            className="button secondary small"
            onClick={() => add(newLeaf("field"))}
            aria-label={`Add a condition to ${name}`}
          >
            + Condition
          </button>
          <button
            type="button"
            className="button secondary small"
            onClick={() => add({ kind: rule.kind === "all" ? "any" : "all", rules: [newLeaf("field")] })}
            aria-label={`Add a group to ${name}`}
          >
            + Group
          </button>
        </div>
      )}
    </fieldset>
  );
}

function NotNode({ rule, onChange, path, number, label, disabled, actions }: NotProps) {
  const { errors } = useRuleSettings();
  const name = nameOf(rule, number, label);
  const error = joinErrors(errorAt(errors, path), errorAt(errors, `${path}.kind`));
  return (
    <section className="rule-not" aria-label={name}>
      <div className="rule-not-header">
        <strong>Except contacts who match:</strong>
        {disabled ? null : (
          <button
            type="button"
            className="button secondary small"
            onClick={() => onChange(rule.rule)}
            aria-label={`Stop excluding ${number ? `condition ${number}` : "these"}`}
          >
            Stop excluding
          </button>
        )}
        {actions}
      </div>
      {error ? <p className="field-error">{error}</p> : null}
      <RuleNode
        rule={rule.rule}
        onChange={(inner) => onChange({ kind: "not", rule: inner })}
        path={`${path}.rule`}
        number={number || "1"}
        disabled={disabled}
      />
    </section>
  );
}

function LeafNode({ rule, onChange, path, number, label, disabled, actions }: NodeProps) {
  const { errors, allowEntryEvent } = useRuleSettings();
  const name = nameOf(rule, number, label);
  const kind = rule.kind as LeafKind;
  const kinds = (Object.keys(LEAF_KIND_NAMES) as LeafKind[]).filter(
    (k) => k !== "entry_event" || allowEntryEvent || kind === "entry_event",
  );
  const leftover = [
    errorAt(errors, path),
    errorAt(errors, `${path}.kind`),
    ...otherErrors(errors, path, ["kind", ...(SHOWN_KEYS[kind] ?? [])]),
  ].filter(Boolean);
  const common = { path, onChange, disabled };
  return (
    <fieldset className={`rule-leaf${leftover.length ? " rule-invalid" : ""}`} aria-label={name}>
      <div className="rule-leaf-fields">
        <SelectField
          label="Condition type"
          value={kind}
          onChange={(next) => onChange(newLeaf(next as LeafKind))}
          options={kinds.map((k) => ({ value: k, label: LEAF_KIND_NAMES[k] }))}
          disabled={disabled}
        />
        {rule.kind === "field" ? <FieldRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "event" ? <EventRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "response" ? <ResponseRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "consent" ? <ConsentRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "reachable" ? <ReachableRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "list" ? <ListRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "audience" ? <AudienceRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "bucket" ? <BucketRuleEditor rule={rule} {...common} /> : null}
        {rule.kind === "entry_event" ? <EntryEventRuleEditor rule={rule} {...common} /> : null}
      </div>
      {leftover.length ? <p className="field-error">{leftover.join(" ")}</p> : null}
      {actions}
    </fieldset>
  );
}
