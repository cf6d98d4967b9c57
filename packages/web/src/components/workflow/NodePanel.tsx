/**
 * The settings of the selected step, as form controls: what it sends, how long it waits, what it waits
 * for, the rule it checks, its variants; where each of its outlets leads (the keyboard way to connect);
 * and deleting it. Every change comes back as a new node. Problems the validator found are shown next to
 * the control they concern.
 */
import type { Rule } from "@omneural/contracts/audiences";
import { WEEKDAYS } from "@omneural/contracts/workflows";
import { useQuery } from "@tanstack/react-query";
import { type ReactNode, useId } from "react";
import { Field, SelectField } from "../Field.tsx";
import { CheckboxField } from "../rules/controls.tsx";
import { PropertyFilters } from "../rules/LeafEditors.tsx";
import { RuleBuilder } from "../rules/RuleBuilder.tsx";
import { RuleBuilderContext } from "../rules/ruleContext.ts";
import type { PropertyFilterValue } from "../rules/ruleModel.ts";
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

/** Select options from a value → label table, in the table's order. */
function optionsOf(labels: Record<string, string>): { value: string; label: string }[] {
  return Object.entries(labels).map(([value, label]) => ({ value, label }));
}

const CHANNEL_OPTIONS = optionsOf({
  email: "Email",
  sms: "Text message (SMS)",
  mail: "Direct mail",
  ads: "Ad audience",
});
const RESPONSE_OPTIONS = optionsOf({
  clicked: "Clicks a link",
  opened: "Opens the message",
  received: "Receives the message",
  replied: "Replies",
  converted: "Converts",
  unsubscribed: "Unsubscribes",
});
const UNIT_OPTIONS = ["minutes", "hours", "days"].map((unit) => ({ value: unit, label: unit }));
/** "mon" → "Mon". */
const DAY_NAMES: Record<string, string> = Object.fromEntries(
  WEEKDAYS.map((day) => [day, day.charAt(0).toUpperCase() + day.slice(1)]),
);

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
  /** What every step type's settings need to edit the node; `located` adds where it sits, for its problems. */
  const edit = { patch, errorAt, disabled };
  const located = { ...edit, index, problems };

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
      {node.type === "send" ? <SendSettings node={node} {...edit} /> : null}
      {node.type === "wait" ? (
        <WaitSettings node={node} onChange={onChange} errorAt={errorAt} disabled={disabled} />
      ) : null}
      {node.type === "wait_for" ? <WaitForSettings node={node} graph={graph} {...located} /> : null}
      {node.type === "condition" ? <ConditionSettings node={node} {...located} /> : null}
      {node.type === "split" ? <SplitSettings node={node} {...edit} /> : null}
      {node.type === "update" ? <UpdateSettings node={node} {...edit} /> : null}
      {node.type === "webhook" ? <WebhookSettings node={node} {...edit} /> : null}
      {node.type === "goal" ? (
        <>
          <Field
            label="Event name"
            value={node.eventType}
            onChange={(eventType) => patch({ eventType: eventType.trim() })}
            error={errorAt("eventType") ?? (node.eventType ? undefined : "Give the event's name.")}
            disabled={disabled}
            placeholder="order_placed"
            autoComplete="off"
            hint="When a member performs this event, they leave the workflow as converted."
          />
          <WhereFilters
            filters={node.where ?? []}
            onChange={(where) => patch({ where: where.length ? where : undefined })}
            root={`nodes[${index}].where`}
            problems={problems}
            disabled={disabled}
            title="Only events whose details match"
          />
        </>
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
      <RetrySettings
        retry={node.retry}
        onChange={(retry) => patch({ retry })}
        errorAt={errorAt}
        disabled={disabled}
        what="sending"
      />
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
  index,
  problems,
}: SettingsProps<NodeOf<"wait_for">> & { graph: WorkflowGraph; index: number; problems: WorkflowProblem[] }) {
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
            hint={
              node.for.response === "opened"
                ? "A click on an email counts as an open: its images may have been blocked."
                : node.for.response === "clicked"
                  ? "Clicks by link scanners (such as Safe Links) do not count."
                  : undefined
            }
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
        <>
          <Field
            label="Event name"
            value={node.for.eventType}
            onChange={(eventType) => patch({ for: { ...node.for, eventType: eventType.trim() } })}
            error={errorAt("for.eventType") ?? errorAt("for")}
            disabled={disabled}
            placeholder="order_placed"
            autoComplete="off"
          />
          <WhereFilters
            filters={node.for.where ?? []}
            onChange={(where) => {
              const { where: _, ...rest } = node.for as Loose;
              patch({ for: where.length ? { ...rest, where } : rest });
            }}
            root={`nodes[${index}].for.where`}
            problems={problems}
            disabled={disabled}
            title="Only events whose details match"
          />
        </>
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

/** The validator's problems by full path (`nodes[3].rule.condition.value`), as the rule builder wants them. */
function ruleErrors(problems: WorkflowProblem[]): Record<string, string> {
  return Object.fromEntries(
    problems.map((p) => {
      const text = friendlyProblem(p).replace(/^[A-Za-z0-9_.[\]]+: /, "");
      return [p.field, text.charAt(0).toUpperCase() + text.slice(1)] as const;
    }),
  );
}

/** A branch or variant key from what was typed: letters, digits, _ and -. */
const asKey = (text: string) =>
  text
    .replace(/\s+/g, "_")
    .replace(/[^A-Za-z0-9_-]/g, "")
    .slice(0, 64);

/** Moves an outlet to a new name (a renamed branch keeps where it leads). */
function renameOutlet(outlets: Record<string, string>, from: string, to: string): Record<string, string> {
  if (from === to) return outlets;
  const next: Record<string, string> = {};
  for (const [name, target] of Object.entries(outlets)) {
    if (name === from) next[to] = target;
    else if (name !== to) next[name] = target;
  }
  return next;
}

function ConditionSettings({
  node,
  index,
  problems,
  patch,
  errorAt,
  disabled,
}: SettingsProps<NodeOf<"condition">> & { index: number; problems: WorkflowProblem[] }) {
  const errors = ruleErrors(problems);
  const branches = node.branches;
  // Replacing the whole node (rule and branches exclude each other): patch with the keys to drop unset.
  const onReplace = (next: Loose) => patch({ rule: undefined, branches: undefined, ...next });
  const setMode = (mode: string) => {
    const { rule: _r, branches: _b, ...rest } = node as Loose;
    if (mode === "branches" && !branches) {
      const outlets: Record<string, string> = {};
      if (node.outlets.yes) outlets.branch_1 = node.outlets.yes;
      if (node.outlets.no) outlets.default = node.outlets.no;
      onReplace({
        ...rest,
        branches: [{ key: "branch_1", rule: node.rule ?? { kind: "reachable", channel: "email" } }],
        outlets,
      });
    }
    if (mode === "yes_no" && branches) {
      const first = branches[0];
      const outlets: Record<string, string> = {};
      if (first && node.outlets[first.key]) outlets.yes = node.outlets[first.key] as string;
      if (node.outlets.default) outlets.no = node.outlets.default;
      onReplace({ ...rest, rule: first?.rule ?? { kind: "reachable", channel: "email" }, outlets });
    }
  };
  const modeSelect = (
    <SelectField
      label="Ways out"
      value={branches ? "branches" : "yes_no"}
      onChange={setMode}
      options={[
        { value: "yes_no", label: "Two: yes or no" },
        { value: "branches", label: "Several branches, each with its own rule" },
      ]}
      disabled={disabled}
      hint="With several branches, a member takes the first branch they match, else “otherwise”."
    />
  );
  if (branches) {
    const keyProblem = (i: number, key: string) => {
      if (!key) return "Give the branch a name.";
      if (key === "default") return "“default” is taken by “otherwise”: choose another name.";
      if (branches.findIndex((b) => b.key === key) !== i) return "Another branch has this name.";
      return errorAt(`branches[${i}].key`);
    };
    const rename = (i: number, text: string) => {
      const key = asKey(text);
      const old = branches[i]?.key ?? "";
      const clash = branches.some((b, j) => j !== i && b.key === key) || key === "default";
      patch({
        branches: branches.map((b, j) => (j === i ? { ...b, key } : b)),
        outlets: clash ? node.outlets : renameOutlet(node.outlets, old, key),
      });
    };
    const nextKey = () => {
      const taken = new Set(branches.map((b) => b.key));
      for (let n = branches.length + 1; ; n++) if (!taken.has(`branch_${n}`)) return `branch_${n}`;
    };
    return (
      <>
        {modeSelect}
        {branches.map((branch, i) => (
          <fieldset
            // biome-ignore lint/suspicious/noArrayIndexKey: the key is being edited; the position is stable
            key={i}
            className="wf-rows wf-branch"
          >
            <legend className="small">Branch {i + 1}</legend>
            <Field
              label={`Branch ${i + 1} name`}
              value={branch.key}
              onChange={(text) => rename(i, text)}
              error={keyProblem(i, branch.key)}
              disabled={disabled}
              autoComplete="off"
              hint="Shown on its connection. Letters, digits, _ and -."
            />
            <RuleBuilderContext.Provider
              value={{ errors, root: `nodes[${index}].branches[${i}].rule`, allowEntryEvent: true }}
            >
              <RuleBuilder
                label={`Go to “${branch.key || `branch ${i + 1}`}” when`}
                value={branch.rule as Rule}
                disabled={disabled}
                onChange={(rule) =>
                  patch({ branches: branches.map((b, j) => (j === i ? { ...b, rule } : b)) })
                }
              />
            </RuleBuilderContext.Provider>
            {errorAt(`branches[${i}].rule`) &&
            !Object.keys(errors).some((f) => f.startsWith(`nodes[${index}].branches[${i}].rule`)) ? (
              <p className="field-error">{errorAt(`branches[${i}].rule`)}</p>
            ) : null}
            {!disabled && branches.length > 1 ? (
              <button
                type="button"
                className="button secondary small"
                onClick={() => {
                  const outlets = { ...node.outlets };
                  delete outlets[branch.key];
                  patch({ branches: branches.filter((_, j) => j !== i), outlets });
                }}
              >
                Remove branch {branch.key || i + 1}
              </button>
            ) : null}
          </fieldset>
        ))}
        {errorAt("branches") && !branches.some((_, i) => errorAt(`branches[${i}]`)) ? (
          <p className="field-error">{errorAt("branches")}</p>
        ) : null}
        {!disabled && branches.length < 20 ? (
          <button
            type="button"
            className="button secondary small"
            onClick={() =>
              patch({
                branches: [...branches, { key: nextKey(), rule: { kind: "reachable", channel: "email" } }],
              })
            }
          >
            Add a branch
          </button>
        ) : null}
        <p className="muted small">Members who match no branch go to “otherwise”.</p>
      </>
    );
  }
  return (
    <>
      {modeSelect}
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
    </>
  );
}

/** What the shares of a split's variants add up to, and the problem when it is not 100. */
export function splitTotalProblem(branches: { weight: number }[]): string | undefined {
  const total = Math.round(branches.reduce((sum, b) => sum + (Number(b.weight) || 0), 0) * 100) / 100;
  return total === 100 ? undefined : `The shares add up to ${total}%: make them add up to 100%.`;
}

function SplitSettings({ node, patch, errorAt, disabled }: SettingsProps<NodeOf<"split">>) {
  const branches = node.branches ?? [];
  const experiment = node.experiment;
  const rename = (i: number, text: string) => {
    const key = asKey(text);
    const old = branches[i]?.key ?? "";
    const clash = branches.some((b, j) => j !== i && b.key === key);
    patch({
      branches: branches.map((b, j) => (j === i ? { ...b, key } : b)),
      outlets: clash ? node.outlets : renameOutlet(node.outlets, old, key),
      ...(experiment && experiment.fallback === old ? { experiment: { ...experiment, fallback: key } } : {}),
    });
  };
  const setWeight = (i: number, weight: number) =>
    patch({ branches: branches.map((b, j) => (j === i ? { ...b, weight } : b)) });
  const nextKey = () => {
    const taken = new Set(branches.map((b) => b.key));
    for (const letter of "abcdefghijklmnopqrst") if (!taken.has(letter)) return letter;
    return `v${branches.length + 1}`;
  };
  const keyProblem = (i: number, key: string) => {
    if (!key) return "Give the variant a name.";
    if (branches.findIndex((b) => b.key === key) !== i) return "Another variant has this name.";
    if (experiment && key === "best") return "“best” is taken in an A/B test: choose another name.";
    return errorAt(`branches[${i}].key`);
  };
  const total = splitTotalProblem(branches);
  const evenly = () => {
    const share = Math.floor(100 / branches.length);
    const rest = 100 - share * branches.length;
    patch({ branches: branches.map((b, i) => ({ ...b, weight: share + (i < rest ? 1 : 0) })) });
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
                onChange={(text) => rename(i, text)}
                error={keyProblem(i, branch.key)}
                disabled={disabled}
                autoComplete="off"
              />
              <Field
                label={`Variant ${i + 1} share`}
                type="number"
                min={0}
                max={100}
                value={String(branch.weight)}
                onChange={(text) => setWeight(i, Math.max(0, Math.min(100, Number(text) || 0)))}
                error={
                  errorAt(`branches[${i}].weight`) ??
                  (experiment && branch.weight === 0 ? "Above 0 in an A/B test." : undefined)
                }
                disabled={disabled}
              />
              {!disabled && branches.length > 2 ? (
                <button
                  type="button"
                  className="button secondary small"
                  aria-label={`Remove variant ${branch.key || i + 1}`}
                  onClick={() => {
                    const outlets = { ...node.outlets };
                    delete outlets[branch.key];
                    patch({
                      branches: branches.filter((_, j) => j !== i),
                      outlets,
                      ...(experiment && experiment.fallback === branch.key
                        ? { experiment: { ...experiment, fallback: "best" } }
                        : {}),
                    });
                  }}
                >
                  Remove
                </button>
              ) : (
                <span />
              )}
            </div>
          ))}
          {total ? (
            <p className="field-error" role="status">
              {total}
            </p>
          ) : (
            <p className="muted small">The shares add up to 100%.</p>
          )}
          {!total && errorAt("branches") && !branches.some((_, i) => errorAt(`branches[${i}]`)) ? (
            <p className="field-error">{errorAt("branches")}</p>
          ) : null}
          {!disabled ? (
            <div className="wf-buttons">
              {branches.length < 20 ? (
                <button
                  type="button"
                  className="button secondary small"
                  onClick={() => patch({ branches: [...branches, { key: nextKey(), weight: 0 }] })}
                >
                  Add a variant
                </button>
              ) : null}
              <button type="button" className="button secondary small" onClick={evenly}>
                Share evenly
              </button>
            </div>
          ) : null}
        </div>
      </fieldset>
      <CheckboxField
        label="Run it as an A/B test: try the variants on a share, then send the winner to the rest"
        checked={Boolean(experiment)}
        disabled={disabled}
        onChange={(checked) =>
          patch({
            experiment: checked
              ? { testPercent: 20, window: { days: 2 }, metric: "click", fallback: "best" }
              : undefined,
          })
        }
        className="wf-check"
      />
      {experiment ? (
        <fieldset className="wf-rows">
          <legend className="small">A/B test</legend>
          <Field
            label="Test share (%)"
            type="number"
            min={1}
            max={100}
            value={String(experiment.testPercent)}
            onChange={(text) => patch({ experiment: { ...experiment, testPercent: Number(text) || 0 } })}
            error={
              errorAt("experiment.testPercent") ??
              (experiment.testPercent < 1 || experiment.testPercent > 100 ? "From 1 to 100." : undefined)
            }
            disabled={disabled}
            hint="The share of members who arrive during the test and try a variant. The others wait for the winner."
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
            label="How sure before choosing a winner"
            value={String(Math.round((experiment.confidence ?? 0.95) * 100))}
            onChange={(value) => patch({ experiment: { ...experiment, confidence: Number(value) / 100 } })}
            options={[
              { value: "80", label: "80% sure" },
              { value: "90", label: "90% sure" },
              { value: "95", label: "95% sure (recommended)" },
              { value: "99", label: "99% sure" },
            ]}
            error={errorAt("experiment.confidence")}
            disabled={disabled}
          />
          <SelectField
            label="When no variant is clearly better"
            value={experiment.fallback}
            onChange={(fallback) => patch({ experiment: { ...experiment, fallback } })}
            options={[
              { value: "best", label: "Use the best observed" },
              ...branches.filter((b) => b.key).map((b) => ({ value: b.key, label: `Use variant ${b.key}` })),
            ]}
            error={errorAt("experiment.fallback")}
            disabled={disabled}
          />
        </fieldset>
      ) : null}
    </>
  );
}

type ValueKind = "text" | "number" | "boolean" | "other";
const kindOf = (value: unknown): ValueKind =>
  typeof value === "string"
    ? "text"
    : typeof value === "number"
      ? "number"
      : typeof value === "boolean"
        ? "boolean"
        : "other";

/**
 * Names and values (an update's attributes, a webhook's extra fields): a row each, with the kind of
 * value (text, number, yes/no); a value of any other shape (a list, an object) is kept as it is.
 */
function KeyValueRows({
  legend,
  noun,
  entries,
  onChange,
  errorAt,
  prefix,
  disabled,
  keyProblem,
  hint,
}: {
  legend: string;
  noun: string;
  entries: [string, unknown][];
  onChange: (entries: [string, unknown][]) => void;
  errorAt: (prefix: string) => string | undefined;
  prefix: string;
  disabled: boolean;
  keyProblem?: (key: string) => string | undefined;
  hint?: string;
}) {
  const Noun = noun.charAt(0).toUpperCase() + noun.slice(1);
  const replace = (i: number, entry: [string, unknown]) =>
    onChange(entries.map((e, j) => (j === i ? entry : e)));
  return (
    <fieldset className="wf-rows">
      <legend className="small">{legend}</legend>
      {hint ? <p className="muted small">{hint}</p> : null}
      {entries.length === 0 ? <p className="muted small">None.</p> : null}
      {entries.map(([key, value], i) => {
        const kind = kindOf(value);
        const keyError =
          (!key ? `Give the ${noun} a name.` : undefined) ??
          (entries.findIndex(([k]) => k === key) !== i ? `Another ${noun} has this name.` : undefined) ??
          keyProblem?.(key) ??
          errorAt(`${prefix}.${key}`);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: the name is being edited; the position is stable
          <div key={i} className="wf-kv">
            <Field
              label={`${Noun} ${i + 1} name`}
              value={key}
              onChange={(next) => replace(i, [next.replace(/\s+/g, "_"), value])}
              error={keyError}
              disabled={disabled}
              autoComplete="off"
            />
            <SelectField
              label={`${Noun} ${i + 1} kind`}
              value={kind}
              onChange={(next) =>
                replace(i, [
                  key,
                  next === "number"
                    ? Number(value) || 0
                    : next === "boolean"
                      ? value === true || value === "true"
                      : next === "text"
                        ? value === null || value === undefined || kind === "other"
                          ? ""
                          : String(value)
                        : value,
                ])
              }
              options={[
                { value: "text", label: "Text" },
                { value: "number", label: "Number" },
                { value: "boolean", label: "Yes / no" },
                ...(kind === "other" ? [{ value: "other", label: "Other (kept as is)" }] : []),
              ]}
              disabled={disabled}
            />
            {kind === "boolean" ? (
              <SelectField
                label={`${Noun} ${i + 1} value`}
                value={value ? "true" : "false"}
                onChange={(next) => replace(i, [key, next === "true"])}
                options={[
                  { value: "true", label: "Yes" },
                  { value: "false", label: "No" },
                ]}
                disabled={disabled}
              />
            ) : kind === "other" ? (
              <Field
                label={`${Noun} ${i + 1} value`}
                value={JSON.stringify(value) ?? ""}
                onChange={() => undefined}
                readOnly
                disabled={disabled}
              />
            ) : (
              <Field
                label={`${Noun} ${i + 1} value`}
                type={kind === "number" ? "number" : "text"}
                value={String(value)}
                onChange={(next) => replace(i, [key, kind === "number" ? Number(next) || 0 : next])}
                disabled={disabled}
                autoComplete="off"
              />
            )}
            {!disabled ? (
              <button
                type="button"
                className="button secondary small"
                aria-label={`Remove ${noun} ${key || i + 1}`}
                onClick={() => onChange(entries.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            ) : null}
          </div>
        );
      })}
      {errorAt(prefix) && !entries.some(([key]) => errorAt(`${prefix}.${key}`)) ? (
        <p className="field-error">{errorAt(prefix)}</p>
      ) : null}
      {!disabled ? (
        <button
          type="button"
          className="button secondary small"
          onClick={() => {
            const taken = new Set(entries.map(([k]) => k));
            let n = entries.length + 1;
            while (taken.has(`${noun.replace(/\s+/g, "_")}_${n}`)) n++;
            onChange([...entries, [`${noun.replace(/\s+/g, "_")}_${n}`, ""]]);
          }}
        >
          Add {noun === "attribute" ? "an" : "a"} {noun}
        </button>
      ) : null}
    </fieldset>
  );
}

/** Keeps the entries as an object, with duplicates (being typed) folded into the last. */
const toRecord = (entries: [string, unknown][]) => Object.fromEntries(entries);

const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const attributeKeyProblem = (key: string) =>
  KEY_PATTERN.test(key) ? undefined : "Start with a letter or _; then letters, digits and _ only.";

/** Rows of one value each (attributes to clear, lists), with add and remove. */
function ValueRows({
  legend,
  noun,
  values,
  onChange,
  render,
  addLabel,
  newValue,
  max,
  error,
  disabled,
}: {
  legend: string;
  noun: string;
  values: string[];
  onChange: (values: string[]) => void;
  render: (value: string, i: number, set: (value: string) => void) => ReactNode;
  addLabel: string;
  newValue: string;
  max: number;
  error?: string | undefined;
  disabled: boolean;
}) {
  return (
    <fieldset className="wf-rows">
      <legend className="small">{legend}</legend>
      {values.length === 0 ? <p className="muted small">None.</p> : null}
      {values.map((value, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: values may repeat while being chosen
        <div key={i} className="wf-inline-2">
          {render(value, i, (next) => onChange(values.map((v, j) => (j === i ? next : v))))}
          {!disabled ? (
            <button
              type="button"
              className="button secondary small"
              aria-label={`Remove ${noun} ${i + 1}`}
              onClick={() => onChange(values.filter((_, j) => j !== i))}
            >
              Remove
            </button>
          ) : null}
        </div>
      ))}
      {error ? <p className="field-error">{error}</p> : null}
      {!disabled && values.length < max ? (
        <button
          type="button"
          className="button secondary small"
          onClick={() => onChange([...values, newValue])}
        >
          {addLabel}
        </button>
      ) : null}
    </fieldset>
  );
}

function UpdateSettings({ node, patch, errorAt, disabled }: SettingsProps<NodeOf<"update">>) {
  const lists = useQuery({ queryKey: ["audiences", "lists-picker"], queryFn: workflowsApi.lists });
  const listOptions = [
    { value: "", label: lists.isPending ? "Loading lists…" : "Choose a list" },
    ...(lists.data?.data ?? []).filter((a) => a.kind === "list").map((l) => ({ value: l.id, label: l.name })),
  ];
  const consent = node.consent ?? [];
  const setList = (name: "addToLists" | "removeFromLists", values: string[]) =>
    patch({ [name]: values.length ? values : undefined });
  const listRows = (name: "addToLists" | "removeFromLists", legend: string, verb: string) => (
    <ValueRows
      legend={legend}
      noun={`list to ${verb}`}
      values={node[name] ?? []}
      onChange={(values) => setList(name, values)}
      addLabel={`Add a list to ${verb}`}
      newValue=""
      max={20}
      error={errorAt(name)}
      disabled={disabled}
      render={(value, i, set) => (
        <SelectField
          label={`List to ${verb} ${i + 1}`}
          value={value}
          onChange={set}
          options={listOptions}
          error={value ? undefined : "Choose a list."}
          disabled={disabled}
        />
      )}
    />
  );
  const usedChannels = new Set(consent.map((c) => c.channel));
  return (
    <>
      <KeyValueRows
        legend="Set attributes"
        noun="attribute"
        entries={Object.entries(node.set ?? {})}
        onChange={(entries) => patch({ set: entries.length ? toRecord(entries) : undefined })}
        errorAt={errorAt}
        prefix="set"
        disabled={disabled}
        keyProblem={attributeKeyProblem}
      />
      <ValueRows
        legend="Clear attributes"
        noun="attribute to clear"
        values={node.unset ?? []}
        onChange={(values) => patch({ unset: values.length ? values : undefined })}
        addLabel="Add an attribute to clear"
        newValue=""
        max={100}
        error={errorAt("unset")}
        disabled={disabled}
        render={(value, i, set) => (
          <Field
            label={`Attribute to clear ${i + 1}`}
            value={value}
            onChange={(next) => set(next.replace(/\s+/g, "_"))}
            error={value ? attributeKeyProblem(value) : "Give the attribute's name."}
            disabled={disabled}
            autoComplete="off"
          />
        )}
      />
      {listRows("addToLists", "Add to lists", "join")}
      {listRows("removeFromLists", "Remove from lists", "leave")}
      <fieldset className="wf-rows">
        <legend className="small">Change consent</legend>
        {consent.length === 0 ? <p className="muted small">None.</p> : null}
        {consent.map((change, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the channel is being edited; the position is stable
          <div key={i} className="wf-kv">
            <SelectField
              label={`Consent ${i + 1} channel`}
              value={change.channel}
              onChange={(channel) =>
                patch({ consent: consent.map((c, j) => (j === i ? { ...c, channel } : c)) })
              }
              options={CHANNEL_OPTIONS}
              error={
                consent.findIndex((c) => c.channel === change.channel) !== i
                  ? "This channel is changed already."
                  : errorAt(`consent[${i}]`)
              }
              disabled={disabled}
            />
            <SelectField
              label={`Consent ${i + 1} becomes`}
              value={change.status}
              onChange={(status) =>
                patch({
                  consent: consent.map((c, j) =>
                    j === i ? { ...c, status: status as "subscribed" | "unsubscribed" } : c,
                  ),
                })
              }
              options={[
                { value: "subscribed", label: "Subscribed" },
                { value: "unsubscribed", label: "Unsubscribed" },
              ]}
              disabled={disabled}
            />
            {!disabled ? (
              <button
                type="button"
                className="button secondary small"
                aria-label={`Remove consent change ${i + 1}`}
                onClick={() => {
                  const next = consent.filter((_, j) => j !== i);
                  patch({ consent: next.length ? next : undefined });
                }}
              >
                Remove
              </button>
            ) : (
              <span />
            )}
          </div>
        ))}
        {errorAt("consent") && !consent.some((_, i) => errorAt(`consent[${i}]`)) ? (
          <p className="field-error">{errorAt("consent")}</p>
        ) : null}
        {!disabled && consent.length < 4 ? (
          <button
            type="button"
            className="button secondary small"
            onClick={() => {
              const channel =
                CHANNEL_OPTIONS.map((o) => o.value).find((c) => !usedChannels.has(c as "email")) ?? "email";
              patch({ consent: [...consent, { channel, status: "unsubscribed" }] });
            }}
          >
            Add a consent change
          </button>
        ) : null}
      </fieldset>
    </>
  );
}

/** Fields Omneural puts in every webhook request; extra fields with these names are replaced. */
const WEBHOOK_FIELDS = ["event", "campaignId", "nodeId", "messageId", "contact", "sentAt"];

function WebhookSettings({ node, patch, errorAt, disabled }: SettingsProps<NodeOf<"webhook">>) {
  const urlProblem =
    node.url && !/^https?:\/\/[^\s/]+/.test(node.url)
      ? "Give a full address starting with https:// (or http://)."
      : undefined;
  return (
    <>
      <Field
        label="URL"
        type="url"
        value={node.url}
        onChange={(url) => patch({ url: url.trim() })}
        error={errorAt("url") ?? urlProblem}
        disabled={disabled}
        placeholder="https://example.com/hooks/omneural"
        hint="Omneural sends a signed POST request about the member to this address."
      />
      <KeyValueRows
        legend="Extra fields in the request"
        noun="field"
        entries={Object.entries(node.body ?? {})}
        onChange={(entries) => patch({ body: entries.length ? toRecord(entries) : undefined })}
        errorAt={errorAt}
        prefix="body"
        disabled={disabled}
        keyProblem={(key) =>
          WEBHOOK_FIELDS.includes(key) ? `“${key}” is filled in by Omneural: choose another name.` : undefined
        }
        hint="Fixed values your system needs, such as a source or a tag, sent with every call."
      />
      <details className="wf-help">
        <summary>What the request contains</summary>
        <p className="small">
          A JSON body with your extra fields (text values may use the member's details as in a text template,
          e.g. <code>{"{{ firstName }}"}</code> or <code>{"{{ attributes.plan | default: 'free' }}"}</code>),
          plus: <code>event</code> (always “workflow.webhook”), <code>campaignId</code>, <code>nodeId</code>{" "}
          (this step), <code>messageId</code>, <code>contact</code> (the member's <code>id</code>,{" "}
          <code>externalId</code> and <code>email</code>) and <code>sentAt</code>. Look the member up by their
          id for anything else. Each request is signed: check the <code>Omneural-Signature</code> header
          against your webhook secret.
        </p>
      </details>
      <RetrySettings
        retry={node.retry}
        onChange={(retry) => patch({ retry })}
        errorAt={errorAt}
        disabled={disabled}
        what="the call"
      />
    </>
  );
}

const BACKOFF_UNITS = [
  { value: "1", label: "seconds" },
  { value: "60", label: "minutes" },
  { value: "3600", label: "hours" },
];

/** Whether and how to try again when a send or a webhook call fails. */
function RetrySettings({
  retry,
  onChange,
  errorAt,
  disabled,
  what,
}: {
  retry: { maxAttempts: number; backoffSeconds: number } | undefined;
  onChange: (retry: { maxAttempts: number; backoffSeconds: number } | undefined) => void;
  errorAt: (prefix: string) => string | undefined;
  disabled: boolean;
  what: string;
}) {
  const id = useId();
  const unit = retry
    ? retry.backoffSeconds % 3600 === 0
      ? 3600
      : retry.backoffSeconds % 60 === 0
        ? 60
        : 1
    : 60;
  const attemptsProblem =
    retry && (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1 || retry.maxAttempts > 20)
      ? "From 1 to 20."
      : undefined;
  const backoffProblem =
    retry && (retry.backoffSeconds < 1 || retry.backoffSeconds > 86_400) ? "At most one day." : undefined;
  return (
    <fieldset className="wf-rows">
      <legend className="small">When {what} fails</legend>
      <CheckboxField
        label="Change how often to try again (by default: 5 attempts, waiting 1 minute, then 2, 4 …)"
        checked={Boolean(retry)}
        disabled={disabled}
        onChange={(checked) => onChange(checked ? { maxAttempts: 5, backoffSeconds: 60 } : undefined)}
        className="wf-check"
      />
      {retry ? (
        <>
          <Field
            label="Attempts at most"
            type="number"
            min={1}
            max={20}
            value={String(retry.maxAttempts)}
            onChange={(text) => onChange({ ...retry, maxAttempts: Math.trunc(Number(text) || 0) })}
            error={errorAt("retry.maxAttempts") ?? attemptsProblem}
            disabled={disabled}
            hint="Including the first try."
          />
          <div className="wf-inline">
            <Field
              id={`${id}-backoff`}
              label="First wait before trying again"
              type="number"
              min={1}
              value={String(retry.backoffSeconds / unit)}
              onChange={(text) =>
                onChange({ ...retry, backoffSeconds: Math.max(0, Math.trunc(Number(text) || 0)) * unit })
              }
              error={errorAt("retry.backoffSeconds") ?? backoffProblem}
              disabled={disabled}
            />
            <SelectField
              id={`${id}-backoff-unit`}
              label="Wait unit"
              value={String(unit)}
              onChange={(next) =>
                onChange({ ...retry, backoffSeconds: (retry.backoffSeconds / unit) * Number(next) })
              }
              options={BACKOFF_UNITS}
              disabled={disabled}
            />
          </div>
          <p className="muted small">Each later wait is twice as long.</p>
        </>
      ) : null}
      {errorAt("retry") && !retry ? <p className="field-error">{errorAt("retry")}</p> : null}
    </fieldset>
  );
}

/** Filters on an event's details (properties), with the validator's problems shown beside them. */
function WhereFilters({
  filters,
  onChange,
  root,
  problems,
  disabled,
  title,
}: {
  filters: PropertyFilterValue[];
  onChange: (filters: PropertyFilterValue[]) => void;
  /** The full path of the filters in the validator's problems: `nodes[3].for.where`. */
  root: string;
  problems: WorkflowProblem[];
  disabled: boolean;
  title: string;
}) {
  return (
    <RuleBuilderContext.Provider value={{ errors: ruleErrors(problems), root, allowEntryEvent: true }}>
      <PropertyFilters
        filters={filters}
        onChange={onChange}
        path={root}
        disabled={disabled}
        title={title}
        emptyText="Any event of this name counts."
        numbered
        checkProperty={propertyProblem}
      />
    </RuleBuilderContext.Provider>
  );
}

function propertyProblem(property: string): string | undefined {
  if (!property) return "Give the detail's name, e.g. total.";
  return KEY_PATTERN.test(property)
    ? undefined
    : "Start with a letter or _; then letters, digits and _ only.";
}
