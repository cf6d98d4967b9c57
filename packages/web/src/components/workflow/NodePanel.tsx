/**
 * The settings of the selected step, as form controls: what it sends, how long it waits, what it waits
 * for, the rule it checks, its variants; where each of its outlets leads (the keyboard way to connect);
 * and deleting it. Every change comes back as a new node. Problems the validator found are shown next to
 * the control they concern.
 */
import type { Rule } from "@omneural/contracts/audiences";
import { WEEKDAYS } from "@omneural/contracts/workflows";
import { useQuery } from "@tanstack/react-query";
import { useId } from "react";
import { Field, SelectField } from "../Field.tsx";
import { RuleBuilder } from "../rules/RuleBuilder.tsx";
import { RuleBuilderContext } from "../rules/ruleContext.ts";
import {
  type Duration,
  type DurationUnit,
  displayName,
  fieldInNode,
  friendlyProblem,
  hasInlet,
  NODE_TYPE_HELP,
  NODE_TYPE_NAMES,
  outletName,
  outletsOf,
  splitDuration,
  type WorkflowGraph,
  type WorkflowNode,
  type WorkflowProblem,
} from "./graph.ts";
import { workflowsApi } from "./workflowApi.ts";

const CHANNEL_OPTIONS = [
  { value: "email", label: "Email" },
  { value: "sms", label: "Text message (SMS)" },
  { value: "mail", label: "Direct mail" },
  { value: "ads", label: "Ad audience" },
];
const RESPONSE_OPTIONS = [
  { value: "clicked", label: "Clicks a link" },
  { value: "opened", label: "Opens the message" },
  { value: "received", label: "Receives the message" },
  { value: "replied", label: "Replies" },
  { value: "converted", label: "Converts" },
  { value: "unsubscribed", label: "Unsubscribes" },
];
const UNIT_OPTIONS = [
  { value: "minutes", label: "minutes" },
  { value: "hours", label: "hours" },
  { value: "days", label: "days" },
];
const DAY_NAMES: Record<string, string> = {
  mon: "Mon",
  tue: "Tue",
  wed: "Wed",
  thu: "Thu",
  fri: "Fri",
  sat: "Sat",
  sun: "Sun",
};

/** A loosely typed node, for edits that the union type cannot follow (the validator checks the result). */
type Loose = Record<string, unknown>;

export function NodePanel({
  node,
  index,
  graph,
  problems,
  disabled,
  onChange,
  onConnect,
  onDelete,
}: {
  node: WorkflowNode;
  index: number;
  graph: WorkflowGraph;
  problems: WorkflowProblem[];
  disabled: boolean;
  onChange: (node: WorkflowNode) => void;
  onConnect: (outlet: string, target: string | null) => void;
  onDelete: () => void;
}) {
  const errorAt = (prefix: string) => {
    const found = problems.filter((p) => {
      const field = fieldInNode(p);
      return field === prefix || field.startsWith(`${prefix}.`) || field.startsWith(`${prefix}[`);
    });
    return found.length ? found.map(friendlyProblem).join(" ") : undefined;
  };
  const patch = (changes: Loose) => onChange({ ...(node as Loose), ...changes } as WorkflowNode);
  const nodeWide = problems.filter((p) => fieldInNode(p) === "").map(friendlyProblem);

  return (
    <div className="wf-form">
      <div>
        <h2>{NODE_TYPE_NAMES[node.type]}</h2>
        <p className="muted small">{NODE_TYPE_HELP[node.type]}</p>
        {nodeWide.map((message) => (
          <p key={message} className="field-error">
            {message}
          </p>
        ))}
      </div>
      <Field
        label="Name on the canvas"
        value={node.label ?? ""}
        onChange={(label) => patch({ label: label === "" ? undefined : label })}
        error={errorAt("label")}
        disabled={disabled}
        maxLength={200}
        autoComplete="off"
        hint="Optional: a few words that say what this step is for."
      />
      {node.type === "send" ? (
        <SendSettings node={node} patch={patch} errorAt={errorAt} disabled={disabled} />
      ) : null}
      {node.type === "wait" ? (
        <WaitSettings node={node} onChange={onChange} errorAt={errorAt} disabled={disabled} />
      ) : null}
      {node.type === "wait_for" ? (
        <WaitForSettings node={node} graph={graph} patch={patch} errorAt={errorAt} disabled={disabled} />
      ) : null}
      {node.type === "condition" ? (
        <ConditionSettings
          node={node}
          index={index}
          problems={problems}
          patch={patch}
          errorAt={errorAt}
          disabled={disabled}
        />
      ) : null}
      {node.type === "split" ? (
        <SplitSettings node={node} patch={patch} errorAt={errorAt} disabled={disabled} />
      ) : null}
      {node.type === "update" ? (
        <UpdateSettings node={node} patch={patch} errorAt={errorAt} disabled={disabled} />
      ) : null}
      {node.type === "webhook" ? (
        <Field
          label="URL"
          type="url"
          value={node.url}
          onChange={(url) => patch({ url })}
          error={errorAt("url")}
          disabled={disabled}
          placeholder="https://example.com/hooks/omneural"
          hint="Omneural POSTs a signed request about the member to this address."
        />
      ) : null}
      {node.type === "goal" ? (
        <Field
          label="Event name"
          value={node.eventType}
          onChange={(eventType) => patch({ eventType })}
          error={errorAt("eventType")}
          disabled={disabled}
          placeholder="order_placed"
          hint="When a member performs this event, they leave the workflow as converted."
        />
      ) : null}
      <Connections node={node} graph={graph} errorAt={errorAt} disabled={disabled} onConnect={onConnect} />
      {!disabled && node.type !== "entry" ? (
        <div>
          <button type="button" className="button secondary small" onClick={onDelete}>
            Delete this step
          </button>
          <p className="muted small">Or select it on the canvas and press Delete.</p>
        </div>
      ) : null}
    </div>
  );
}

/** Where each outlet leads: a select per outlet, listing the steps that may come next. */
function Connections({
  node,
  graph,
  errorAt,
  disabled,
  onConnect,
}: {
  node: WorkflowNode;
  graph: WorkflowGraph;
  errorAt: (prefix: string) => string | undefined;
  disabled: boolean;
  onConnect: (outlet: string, target: string | null) => void;
}) {
  const outlets = outletsOf(node);
  if (outlets.length === 0) return null;
  const targets = graph.nodes.filter((n) => n.id !== node.id && hasInlet(n));
  const options = [
    { value: "", label: "Not connected yet" },
    ...targets.map((n) => ({ value: n.id, label: `${displayName(n)} (${n.id})` })),
  ];
  return (
    <fieldset className="wf-connections">
      <legend>Next steps</legend>
      <div className="wf-form">
        {outlets.map((outlet) => (
          <SelectField
            key={outlet}
            label={outlets.length === 1 ? "Then go to" : `When “${outletName(outlet)}”, go to`}
            value={node.outlets?.[outlet] ?? ""}
            onChange={(target) => onConnect(outlet, target || null)}
            options={options}
            error={errorAt(`outlets.${outlet}`)}
            disabled={disabled}
          />
        ))}
        {errorAt("outlets") && !outlets.some((o) => errorAt(`outlets.${o}`)) ? (
          <p className="field-error">{errorAt("outlets")}</p>
        ) : null}
      </div>
    </fieldset>
  );
}

interface SettingsProps<T> {
  node: T;
  patch: (changes: Loose) => void;
  errorAt: (prefix: string) => string | undefined;
  disabled: boolean;
}
type NodeOf<K extends WorkflowNode["type"]> = Extract<WorkflowNode, { type: K }>;

function SendSettings({ node, patch, errorAt, disabled }: SettingsProps<NodeOf<"send">>) {
  const ads = node.channel === "ads";
  const templates = useQuery({
    queryKey: ["templates", "picker", node.channel],
    queryFn: () => workflowsApi.templates(node.channel),
    enabled: !ads,
  });
  const destinations = useQuery({
    queryKey: ["ad-destinations", "picker"],
    queryFn: workflowsApi.adDestinations,
    enabled: ads,
  });
  return (
    <>
      <SelectField
        label="Channel"
        value={node.channel}
        onChange={(channel) =>
          patch(
            channel === "ads"
              ? { channel, templateId: undefined, audienceAction: "add" }
              : { channel, templateId: undefined, destination: undefined, audienceAction: undefined },
          )
        }
        options={CHANNEL_OPTIONS}
        error={errorAt("channel")}
        disabled={disabled}
      />
      {ads ? (
        <>
          <SelectField
            label="Ad destination"
            value={node.destination ?? ""}
            onChange={(destination) => patch({ destination: destination || undefined })}
            options={[
              { value: "", label: destinations.isPending ? "Loading…" : "Choose a destination" },
              ...(destinations.data?.data ?? []).map((d) => ({ value: d.id, label: d.name })),
            ]}
            error={errorAt("destination")}
            disabled={disabled}
            hint="Set destinations up under Settings."
          />
          <SelectField
            label="What to do"
            value={node.audienceAction ?? "add"}
            onChange={(audienceAction) => patch({ audienceAction })}
            options={[
              { value: "add", label: "Add the member to the audience" },
              { value: "remove", label: "Remove the member from the audience" },
            ]}
            disabled={disabled}
          />
        </>
      ) : (
        <SelectField
          label="Template"
          value={node.templateId ?? ""}
          onChange={(templateId) => patch({ templateId: templateId || undefined })}
          options={[
            {
              value: "",
              label: templates.isPending
                ? "Loading templates…"
                : templates.data?.data.length
                  ? "Choose a template"
                  : "No template for this channel yet",
            },
            ...(templates.data?.data ?? []).map((t) => ({
              value: t.id,
              label: t.missing.length ? `${t.name} (not ready)` : t.name,
            })),
          ]}
          error={errorAt("templateId")}
          disabled={disabled}
          hint="Write templates under Templates. The version current at publication is the one sent."
        />
      )}
    </>
  );
}

/** A length of time as a number and a unit. */
function DurationField({
  label,
  value,
  onChange,
  error,
  disabled,
}: {
  label: string;
  value: Duration | undefined;
  onChange: (duration: Duration) => void;
  error?: string | undefined;
  disabled: boolean;
}) {
  const { amount, unit } = splitDuration(value);
  const id = useId();
  return (
    <fieldset>
      <legend className="small">{label}</legend>
      <div className="wf-inline">
        <Field
          id={`${id}-amount`}
          label="Amount"
          type="number"
          min={1}
          value={String(amount)}
          onChange={(text) => {
            const next = Math.max(0, Math.floor(Number(text) || 0));
            onChange({ [unit]: next } as Duration);
          }}
          error={error}
          disabled={disabled}
        />
        <SelectField
          id={`${id}-unit`}
          label="Unit"
          value={unit}
          onChange={(next) => onChange({ [next as DurationUnit]: amount } as Duration)}
          options={UNIT_OPTIONS}
          disabled={disabled}
        />
      </div>
    </fieldset>
  );
}

function WaitSettings({
  node,
  onChange,
  errorAt,
  disabled,
}: {
  node: NodeOf<"wait">;
  onChange: (node: WorkflowNode) => void;
  errorAt: (prefix: string) => string | undefined;
  disabled: boolean;
}) {
  const common = {
    id: node.id,
    type: "wait" as const,
    outlets: node.outlets,
    ...(node.label !== undefined ? { label: node.label } : {}),
    ...(node.position ? { position: node.position } : {}),
  };
  const setMode = (mode: string) => {
    if (mode === "duration") onChange({ ...common, mode, duration: { days: 1 } });
    if (mode === "window")
      onChange({
        ...common,
        mode,
        window: { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00" },
      });
    if (mode === "date") onChange({ ...common, mode, date: { attribute: "", offsetDays: 0 } });
  };
  return (
    <>
      <SelectField
        label="Wait"
        value={node.mode}
        onChange={setMode}
        options={[
          { value: "duration", label: "For a length of time" },
          { value: "window", label: "Until a day and time of the week" },
          { value: "date", label: "Until a date the contact has" },
        ]}
        error={errorAt("mode")}
        disabled={disabled}
      />
      {node.mode === "duration" ? (
        <DurationField
          label="How long"
          value={node.duration}
          onChange={(duration) => onChange({ ...node, duration })}
          error={errorAt("duration")}
          disabled={disabled}
        />
      ) : null}
      {node.mode === "window" ? (
        <>
          <fieldset>
            <legend className="small">On these days</legend>
            <div className="wf-days">
              {WEEKDAYS.map((day) => (
                <label key={day}>
                  <input
                    type="checkbox"
                    checked={node.window.days.includes(day)}
                    disabled={disabled}
                    onChange={(event) =>
                      onChange({
                        ...node,
                        window: {
                          ...node.window,
                          days: event.target.checked
                            ? WEEKDAYS.filter((d) => d === day || node.window.days.includes(d))
                            : node.window.days.filter((d) => d !== day),
                        },
                      })
                    }
                  />
                  {DAY_NAMES[day]}
                </label>
              ))}
            </div>
            {errorAt("window.days") ? <p className="field-error">{errorAt("window.days")}</p> : null}
          </fieldset>
          <div className="wf-inline">
            <Field
              label="From"
              type="time"
              value={node.window.from}
              onChange={(from) => onChange({ ...node, window: { ...node.window, from } })}
              error={errorAt("window.from")}
              disabled={disabled}
            />
            <Field
              label="To"
              type="time"
              value={node.window.to}
              onChange={(to) => onChange({ ...node, window: { ...node.window, to } })}
              error={errorAt("window.to")}
              disabled={disabled}
            />
          </div>
          <p className="muted small">In the member's own time zone (else the workspace's).</p>
        </>
      ) : null}
      {node.mode === "date" ? (
        <>
          <Field
            label="Date attribute"
            value={node.date.attribute}
            onChange={(attribute) => onChange({ ...node, date: { ...node.date, attribute } })}
            error={errorAt("date.attribute")}
            disabled={disabled}
            placeholder="renewal_date"
            hint="The contact attribute that holds the date."
          />
          <div className="wf-inline">
            <Field
              label="Days before (−) or after (+)"
              type="number"
              value={String(node.date.offsetDays ?? 0)}
              onChange={(text) =>
                onChange({ ...node, date: { ...node.date, offsetDays: Math.trunc(Number(text) || 0) } })
              }
              error={errorAt("date.offsetDays")}
              disabled={disabled}
            />
            <Field
              label="At"
              type="time"
              value={node.date.at ?? "09:00"}
              onChange={(at) => onChange({ ...node, date: { ...node.date, at } })}
              error={errorAt("date.at")}
              disabled={disabled}
            />
          </div>
          <SelectField
            label="If the contact has no such date"
            value={node.date.ifMissing ?? "continue"}
            onChange={(ifMissing) =>
              onChange({ ...node, date: { ...node.date, ifMissing: ifMissing as "continue" | "exit" } })
            }
            options={[
              { value: "continue", label: "Continue at once" },
              { value: "exit", label: "Leave the workflow" },
            ]}
            disabled={disabled}
          />
        </>
      ) : null}
    </>
  );
}

function WaitForSettings({
  node,
  graph,
  patch,
  errorAt,
  disabled,
}: SettingsProps<NodeOf<"wait_for">> & { graph: WorkflowGraph }) {
  const sends = graph.nodes.filter((n) => n.type === "send");
  return (
    <>
      <SelectField
        label="Wait for"
        value={node.for.kind}
        onChange={(kind) =>
          patch({
            for:
              kind === "event" ? { kind: "event", eventType: "" } : { kind: "response", response: "clicked" },
          })
        }
        options={[
          { value: "response", label: "A response to a message" },
          { value: "event", label: "An event the member performs" },
        ]}
        error={errorAt("for.kind")}
        disabled={disabled}
      />
      {node.for.kind === "response" ? (
        <>
          <SelectField
            label="The member"
            value={node.for.response}
            onChange={(response) => patch({ for: { ...node.for, response } })}
            options={RESPONSE_OPTIONS}
            error={errorAt("for.response")}
            disabled={disabled}
          />
          <SelectField
            label="To the message sent by"
            value={node.for.sendNodeId ?? ""}
            onChange={(sendNodeId) => {
              const { sendNodeId: _, ...rest } = node.for as Loose;
              patch({ for: sendNodeId ? { ...rest, sendNodeId } : rest });
            }}
            options={[
              { value: "", label: "Any earlier send step" },
              ...sends.map((n) => ({ value: n.id, label: `${displayName(n)} (${n.id})` })),
            ]}
            error={errorAt("for.sendNodeId")}
            disabled={disabled}
          />
        </>
      ) : (
        <Field
          label="Event name"
          value={node.for.eventType}
          onChange={(eventType) => patch({ for: { ...node.for, eventType } })}
          error={errorAt("for.eventType") ?? errorAt("for")}
          disabled={disabled}
          placeholder="order_placed"
          autoComplete="off"
        />
      )}
      <DurationField
        label="Wait at most"
        value={node.timeout}
        onChange={(timeout) => patch({ timeout })}
        error={errorAt("timeout")}
        disabled={disabled}
      />
    </>
  );
}

function ConditionSettings({
  node,
  index,
  problems,
  patch,
  errorAt,
  disabled,
}: SettingsProps<NodeOf<"condition">> & { index: number; problems: WorkflowProblem[] }) {
  const errors = Object.fromEntries(
    problems.map((p) => [p.field, friendlyProblem(p).replace(/^[^:]*\]: /, "")] as const),
  );
  if (node.branches) {
    return (
      <>
        {node.branches.map((branch, i) => (
          <RuleBuilderContext.Provider
            key={branch.key}
            value={{ errors, root: `nodes[${index}].branches[${i}].rule`, allowEntryEvent: true }}
          >
            <RuleBuilder
              label={`Branch “${branch.key}” when`}
              value={branch.rule as Rule}
              disabled={disabled}
              onChange={(rule) =>
                patch({
                  branches: (node.branches ?? []).map((b, j) => (j === i ? { ...b, rule } : b)),
                })
              }
            />
          </RuleBuilderContext.Provider>
        ))}
        <p className="muted small">Members who match no branch go to “otherwise”.</p>
      </>
    );
  }
  return (
    <RuleBuilderContext.Provider value={{ errors, root: `nodes[${index}].rule`, allowEntryEvent: true }}>
      <RuleBuilder
        label="Go to “yes” when"
        value={(node.rule ?? { kind: "reachable", channel: "email" }) as Rule}
        onChange={(rule) => patch({ rule })}
        disabled={disabled}
      />
      {errorAt("rule") && !Object.keys(errors).some((f) => f.startsWith(`nodes[${index}].rule`)) ? (
        <p className="field-error">{errorAt("rule")}</p>
      ) : null}
    </RuleBuilderContext.Provider>
  );
}

function SplitSettings({ node, patch, errorAt, disabled }: SettingsProps<NodeOf<"split">>) {
  const branches = node.branches ?? [];
  const setBranch = (i: number, changes: { key?: string; weight?: number }) =>
    patch({ branches: branches.map((b, j) => (j === i ? { ...b, ...changes } : b)) });
  const experiment = node.experiment;
  const nextKey = () => {
    const taken = new Set(branches.map((b) => b.key));
    for (const letter of "abcdefghijklmnopqrst") if (!taken.has(letter)) return letter;
    return `v${branches.length + 1}`;
  };
  return (
    <>
      <fieldset>
        <legend className="small">Variants and their share (%)</legend>
        <div className="wf-form">
          {branches.map((branch, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the key is being edited; the position is stable
            <div key={i} className="wf-inline-3">
              <Field
                label={`Variant ${i + 1} name`}
                value={branch.key}
                onChange={(key) => setBranch(i, { key: key.replace(/[^A-Za-z0-9_-]/g, "") })}
                error={errorAt(`branches[${i}].key`)}
                disabled={disabled}
              />
              <Field
                label={`Variant ${i + 1} share`}
                type="number"
                min={0}
                max={100}
                value={String(branch.weight)}
                onChange={(text) => setBranch(i, { weight: Math.max(0, Math.min(100, Number(text) || 0)) })}
                error={errorAt(`branches[${i}].weight`)}
                disabled={disabled}
              />
              {!disabled && branches.length > 2 ? (
                <button
                  type="button"
                  className="button secondary small"
                  aria-label={`Remove variant ${branch.key}`}
                  onClick={() => {
                    const outlets = { ...node.outlets };
                    delete outlets[branch.key];
                    patch({ branches: branches.filter((_, j) => j !== i), outlets });
                  }}
                >
                  Remove
                </button>
              ) : (
                <span />
              )}
            </div>
          ))}
          {errorAt("branches") && !branches.some((_, i) => errorAt(`branches[${i}]`)) ? (
            <p className="field-error">{errorAt("branches")}</p>
          ) : null}
          {!disabled && branches.length < 20 ? (
            <button
              type="button"
              className="button secondary small"
              onClick={() => patch({ branches: [...branches, { key: nextKey(), weight: 0 }] })}
            >
              Add a variant
            </button>
          ) : null}
        </div>
      </fieldset>
      <label className="wf-check">
        <input
          type="checkbox"
          checked={Boolean(experiment)}
          disabled={disabled}
          onChange={(event) =>
            patch({
              experiment: event.target.checked
                ? { testPercent: 20, window: { days: 2 }, metric: "click", fallback: "best" }
                : undefined,
            })
          }
        />
        Run it as an A/B test: try the variants on a share, then send the winner to the rest
      </label>
      {experiment ? (
        <>
          <Field
            label="Test share (%)"
            type="number"
            min={1}
            max={100}
            value={String(experiment.testPercent)}
            onChange={(text) => patch({ experiment: { ...experiment, testPercent: Number(text) || 0 } })}
            error={errorAt("experiment.testPercent")}
            disabled={disabled}
          />
          <DurationField
            label="Test for"
            value={experiment.window}
            onChange={(window) => patch({ experiment: { ...experiment, window } })}
            error={errorAt("experiment.window")}
            disabled={disabled}
          />
          <SelectField
            label="The winner is the variant with the most"
            value={experiment.metric}
            onChange={(metric) => patch({ experiment: { ...experiment, metric } })}
            options={[
              { value: "click", label: "Clicks" },
              { value: "open", label: "Opens" },
              { value: "conversion", label: "Conversions" },
            ]}
            error={errorAt("experiment.metric")}
            disabled={disabled}
          />
          <SelectField
            label="When no variant is clearly better"
            value={experiment.fallback}
            onChange={(fallback) => patch({ experiment: { ...experiment, fallback } })}
            options={[
              { value: "best", label: "Use the best observed" },
              ...branches.map((b) => ({ value: b.key, label: `Use variant ${b.key}` })),
            ]}
            error={errorAt("experiment.fallback")}
            disabled={disabled}
          />
        </>
      ) : null}
    </>
  );
}

function UpdateSettings({ node, patch, errorAt, disabled }: SettingsProps<NodeOf<"update">>) {
  const lists = useQuery({ queryKey: ["audiences", "lists-picker"], queryFn: workflowsApi.lists });
  const listOptions = (lists.data?.data ?? []).filter((a) => a.kind === "list");
  const set = Object.entries(node.set ?? {});
  const setPairs = (pairs: [string, unknown][]) => patch({ set: Object.fromEntries(pairs) });
  const firstConsent = node.consent?.[0];
  return (
    <>
      <fieldset>
        <legend className="small">Set attributes</legend>
        <div className="wf-form">
          {set.map(([key, value], i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the key is being edited; the position is stable
            <div key={i} className="wf-inline-3">
              <Field
                label={`Attribute ${i + 1}`}
                value={key}
                onChange={(next) => setPairs(set.map((p, j) => (j === i ? [next, p[1]] : p)))}
                error={errorAt(`set.${key}`)}
                disabled={disabled}
              />
              <Field
                label={`Value ${i + 1}`}
                value={typeof value === "string" ? value : JSON.stringify(value)}
                onChange={(next) => setPairs(set.map((p, j) => (j === i ? [p[0], next] : p)))}
                disabled={disabled}
              />
              {!disabled ? (
                <button
                  type="button"
                  className="button secondary small"
                  aria-label={`Remove attribute ${key || i + 1}`}
                  onClick={() => setPairs(set.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              ) : (
                <span />
              )}
            </div>
          ))}
          {!disabled ? (
            <button
              type="button"
              className="button secondary small"
              onClick={() => setPairs([...set, [`attribute_${set.length + 1}`, ""]])}
            >
              Add an attribute
            </button>
          ) : null}
          {errorAt("set") ? <p className="field-error">{errorAt("set")}</p> : null}
        </div>
      </fieldset>
      <SelectField
        label="Add to a list"
        value={node.addToLists?.[0] ?? ""}
        onChange={(id) => patch({ addToLists: id ? [id] : undefined })}
        options={[
          { value: "", label: "No list" },
          ...listOptions.map((l) => ({ value: l.id, label: l.name })),
        ]}
        error={errorAt("addToLists")}
        disabled={disabled}
      />
      <SelectField
        label="Remove from a list"
        value={node.removeFromLists?.[0] ?? ""}
        onChange={(id) => patch({ removeFromLists: id ? [id] : undefined })}
        options={[
          { value: "", label: "No list" },
          ...listOptions.map((l) => ({ value: l.id, label: l.name })),
        ]}
        error={errorAt("removeFromLists")}
        disabled={disabled}
      />
      <div className="wf-inline">
        <SelectField
          label="Change consent on"
          value={firstConsent?.channel ?? ""}
          onChange={(channel) =>
            patch({
              consent: channel ? [{ channel, status: firstConsent?.status ?? "unsubscribed" }] : undefined,
            })
          }
          options={[{ value: "", label: "No channel" }, ...CHANNEL_OPTIONS]}
          error={errorAt("consent")}
          disabled={disabled}
        />
        <SelectField
          label="To"
          value={firstConsent?.status ?? "unsubscribed"}
          onChange={(status) =>
            firstConsent ? patch({ consent: [{ channel: firstConsent.channel, status }] }) : undefined
          }
          options={[
            { value: "subscribed", label: "Subscribed" },
            { value: "unsubscribed", label: "Unsubscribed" },
          ]}
          disabled={disabled || !firstConsent}
        />
      </div>
    </>
  );
}
