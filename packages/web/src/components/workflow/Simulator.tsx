/**
 * The simulator: runs one contact (real or made up) through a published version with hypothetical
 * events ("clicks after 2 days"), and plays the path back step by step on the canvas with the trace
 * alongside. Nothing is sent or written.
 */
import type { Contact } from "@omneural/contracts/contacts";
import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Field, SelectField } from "../Field.tsx";
import { Alert, messageOf } from "../feedback.tsx";
import { type DurationUnit, displayName, outletName, type WorkflowGraph } from "./graph.ts";
import { type Simulation, type TraceEntry, type VersionSummary, workflowsApi } from "./workflowApi.ts";

interface HypotheticalEvent {
  key: number;
  kind: "response" | "event";
  response: string;
  eventType: string;
  amount: string;
  unit: DurationUnit;
}

const RESPONSES = [
  { value: "clicked", label: "Clicks a link" },
  { value: "opened", label: "Opens the message" },
  { value: "replied", label: "Replies" },
  { value: "converted", label: "Converts" },
  { value: "unsubscribed", label: "Unsubscribes" },
  { value: "received", label: "Receives the message" },
];
const EVENT_TYPE = /^[A-Za-z0-9_.:-]{1,100}$/;
const STEP_MS = 700;

export interface SimulationView {
  version: number;
  simulation: Simulation;
  /** How many entries of the timeline are shown so far. */
  shown: number;
}

const ACTION_WORDS: Record<string, string> = {
  entered: "Started",
  send: "Sent",
  webhook: "Called the webhook",
  waiting: "Waiting",
  waited: "Waited",
  matched: "Responded",
  timed_out: "No response in time",
  branched: "Checked",
  split: "Split",
  updated: "Updated the contact",
  exited: "Left the workflow",
  converted: "Converted",
  failed: "Failed",
  arrived: "Arrived",
  horizon: "Still waiting at the end of the simulation",
};

function offset(from: string, at: string): string {
  const minutes = Math.round((new Date(at).getTime() - new Date(from).getTime()) / 60_000);
  if (minutes <= 0) return "At the start";
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = [
    days ? `${days} day${days === 1 ? "" : "s"}` : "",
    hours ? `${hours} hour${hours === 1 ? "" : "s"}` : "",
    mins ? `${mins} minute${mins === 1 ? "" : "s"}` : "",
  ].filter(Boolean);
  return `After ${parts.join(" ")}`;
}

/** The steps visited, in order, and the connections taken, for the canvas. */
export function pathOf(timeline: TraceEntry[]): { nodes: string[]; edges: string[] } {
  const nodes: string[] = [];
  const edges: string[] = [];
  for (const entry of timeline) {
    if (nodes.at(-1) !== entry.nodeId) nodes.push(entry.nodeId);
    if (entry.outlet) edges.push(`${entry.nodeId}:${entry.outlet}`);
  }
  return { nodes, edges };
}

export function Simulator({
  workflowId,
  versions,
  graphOf,
  view,
  onView,
}: {
  workflowId: string;
  versions: VersionSummary[];
  /** The graph of the version simulated, once loaded (for step names). */
  graphOf: WorkflowGraph | null;
  view: SimulationView | null;
  onView: (view: SimulationView | null) => void;
}) {
  const [version, setVersion] = useState(() => String(versions[0]?.version ?? ""));
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState<string | null>(null);
  const [contact, setContact] = useState<Contact | null>(null);
  const [events, setEvents] = useState<HypotheticalEvent[]>([
    { key: 1, kind: "response", response: "clicked", eventType: "", amount: "2", unit: "days" },
  ]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [focusResult, setFocusResult] = useState(false);
  const resultHeading = useRef<HTMLHeadingElement>(null);

  // Take keyboard and screen-reader users to the result, which appears below the form.
  useEffect(() => {
    if (!focusResult || !view) return;
    resultHeading.current?.focus();
    setFocusResult(false);
  }, [focusResult, view]);

  useEffect(() => {
    if (!version && versions[0]) setVersion(String(versions[0].version));
  }, [versions, version]);

  const contacts = useQuery({
    queryKey: ["contacts", "simulator", query],
    queryFn: () => workflowsApi.contacts(query ?? ""),
    enabled: query !== null,
  });

  const run = useMutation({
    mutationFn: () =>
      workflowsApi.simulate(workflowId, Number(version), {
        ...(contact ? { contactId: contact.id } : {}),
        events: events.map((e) => ({
          type: e.kind === "response" ? `message.${e.response}` : e.eventType.trim(),
          after: { [e.unit]: Math.floor(Number(e.amount)) },
        })),
      }),
    onSuccess: (simulation) => {
      onView({ version: Number(version), simulation, shown: 1 });
      setFocusResult(true);
    },
  });

  // Play the path back one entry at a time (all at once for those who prefer less motion).
  useEffect(() => {
    if (!view || view.shown >= view.simulation.timeline.length) return;
    if (window.matchMedia?.("(prefers-reduced-motion: reduce)").matches) {
      onView({ ...view, shown: view.simulation.timeline.length });
      return;
    }
    const timer = setTimeout(() => onView({ ...view, shown: view.shown + 1 }), STEP_MS);
    return () => clearTimeout(timer);
  }, [view, onView]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!version) found.version = "Publish the workflow first: the simulator runs a published version.";
    for (const e of events) {
      const amount = Number(e.amount);
      if (e.amount.trim() === "" || !Number.isInteger(amount) || amount < 0)
        found[`amount-${e.key}`] = "A whole number, 0 or more.";
      if (e.kind === "event" && !EVENT_TYPE.test(e.eventType.trim()))
        found[`event-${e.key}`] = "Letters, digits, _ . : or -, e.g. order_placed.";
    }
    setErrors(found);
    if (Object.keys(found).length === 0) run.mutate();
  }

  const update = (key: number, changes: Partial<HypotheticalEvent>) =>
    setEvents((current) => current.map((e) => (e.key === key ? { ...e, ...changes } : e)));
  const nameOf = (id: string) => {
    const node = graphOf?.nodes.find((n) => n.id === id);
    return node ? displayName(node) : id;
  };

  return (
    <div className="wf-form">
      <div>
        <h2>Simulate a member</h2>
        <p className="muted small">
          See which way a contact would go, and when, if they did what you describe. Nothing is sent.
        </p>
      </div>
      {versions.length === 0 ? (
        <Alert tone="info">Publish the workflow first: the simulator runs a published version.</Alert>
      ) : (
        <form onSubmit={submit} noValidate className="wf-form" aria-label="Simulation">
          <SelectField
            label="Version"
            value={version}
            onChange={setVersion}
            options={versions.map((v) => ({ value: String(v.version), label: `Version ${v.version}` }))}
            error={errors.version}
          />
          <fieldset>
            <legend className="small">Contact</legend>
            <p className="small">
              {contact ? (
                <>
                  Simulating <strong>{contactName(contact)}</strong>.{" "}
                  <button type="button" className="link-button" onClick={() => setContact(null)}>
                    Use a made-up contact instead
                  </button>
                </>
              ) : (
                "A made-up contact with no data, unless you pick one."
              )}
            </p>
            <search className="wf-inline">
              <Field
                label="Find a contact"
                type="search"
                value={search}
                onChange={setSearch}
                placeholder="Name or email"
                autoComplete="off"
                onKeyDown={(event) => {
                  if (event.key === "Enter") {
                    event.preventDefault();
                    setQuery(search.trim());
                  }
                }}
              />
              <button type="button" className="button secondary" onClick={() => setQuery(search.trim())}>
                Search
              </button>
            </search>
            {contacts.isFetching ? <p className="muted small">Searching…</p> : null}
            {contacts.data && query !== null ? (
              contacts.data.data.length ? (
                <ul className="wf-contact-results" aria-label="Contacts found">
                  {contacts.data.data.map((c) => (
                    <li key={c.id}>
                      <button
                        type="button"
                        className="link-button"
                        aria-pressed={contact?.id === c.id}
                        onClick={() => setContact(c)}
                      >
                        {contactName(c)}
                      </button>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted small">No contact matches “{query}”.</p>
              )
            ) : null}
          </fieldset>
          <fieldset>
            <legend className="small">What the member does</legend>
            <ul className="wf-events">
              {events.map((e, i) => (
                <li key={e.key} className="wf-event">
                  <SelectField
                    label={`Event ${i + 1}`}
                    value={e.kind === "response" ? e.response : "event"}
                    onChange={(value) =>
                      update(
                        e.key,
                        value === "event" ? { kind: "event" } : { kind: "response", response: value },
                      )
                    }
                    options={[...RESPONSES, { value: "event", label: "Performs a named event…" }]}
                  />
                  {e.kind === "event" ? (
                    <Field
                      label={`Event ${i + 1} name`}
                      value={e.eventType}
                      onChange={(eventType) => update(e.key, { eventType })}
                      error={errors[`event-${e.key}`]}
                      placeholder="order_placed"
                      autoComplete="off"
                    />
                  ) : null}
                  <div className="wf-inline">
                    <Field
                      label={`Event ${i + 1} after`}
                      type="number"
                      min={0}
                      value={e.amount}
                      onChange={(amount) => update(e.key, { amount })}
                      error={errors[`amount-${e.key}`]}
                    />
                    <SelectField
                      label={`Event ${i + 1} unit`}
                      value={e.unit}
                      onChange={(unit) => update(e.key, { unit: unit as DurationUnit })}
                      options={[
                        { value: "minutes", label: "minutes" },
                        { value: "hours", label: "hours" },
                        { value: "days", label: "days" },
                      ]}
                    />
                  </div>
                  <button
                    type="button"
                    className="button secondary small"
                    onClick={() => setEvents((current) => current.filter((x) => x.key !== e.key))}
                  >
                    Remove event {i + 1}
                  </button>
                </li>
              ))}
            </ul>
            <button
              type="button"
              className="button secondary small"
              onClick={() =>
                setEvents((current) => [
                  ...current,
                  {
                    key: Math.max(0, ...current.map((x) => x.key)) + 1,
                    kind: "response",
                    response: "opened",
                    eventType: "",
                    amount: "1",
                    unit: "days",
                  },
                ])
              }
            >
              Add an event
            </button>
            <p className="muted small">Times count from when the member starts.</p>
          </fieldset>
          <button type="submit" className="button primary" disabled={run.isPending}>
            {run.isPending ? "Simulating…" : "Run the simulation"}
          </button>
          {run.isPending ? (
            <p className="muted small" role="status">
              Running the member through version {version}…
            </p>
          ) : null}
          {run.error ? <Alert>{messageOf(run.error)}</Alert> : null}
        </form>
      )}
      {view ? (
        <section aria-labelledby="wf-trace-heading">
          <h2 id="wf-trace-heading" tabIndex={-1} ref={resultHeading}>
            What would happen
          </h2>
          <p className="small" role="status">
            {view.shown < view.simulation.timeline.length
              ? `Playing step ${view.shown} of ${view.simulation.timeline.length}…`
              : outcomeText(view.simulation, nameOf)}
          </p>
          <div className="button-row">
            <button
              type="button"
              className="button secondary small"
              onClick={() => onView({ ...view, shown: 1 })}
            >
              Play again
            </button>
            <button
              type="button"
              className="button secondary small"
              onClick={() => onView({ ...view, shown: view.simulation.timeline.length })}
            >
              Show all steps
            </button>
          </div>
          <ol className="wf-trace" aria-label="Simulated steps">
            {view.simulation.timeline.map((entry, i) => {
              const start = view.simulation.timeline[0]?.at ?? entry.at;
              const state = i + 1 === view.shown ? "is-current" : i + 1 > view.shown ? "is-future" : "";
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: the timeline never reorders
                <li key={i} className={state} aria-current={i + 1 === view.shown ? "step" : undefined}>
                  <span className="wf-trace-time" title={new Date(entry.at).toLocaleString()}>
                    {offset(start, entry.at)}
                  </span>
                  <strong>{nameOf(entry.nodeId)}</strong>: {ACTION_WORDS[entry.action] ?? entry.action}
                  {entry.outlet && entry.outlet !== "next" ? ` → ${outletName(entry.outlet)}` : ""}
                  <span className="muted small"> ({entry.reason})</span>
                </li>
              );
            })}
          </ol>
        </section>
      ) : null}
    </div>
  );
}

function contactName(contact: Contact): string {
  const name = [contact.firstName, contact.lastName].filter(Boolean).join(" ");
  return name
    ? `${name}${contact.email ? ` (${contact.email})` : ""}`
    : (contact.email ?? contact.phone ?? contact.id);
}

function outcomeText(simulation: Simulation, nameOf: (id: string) => string): string {
  if (simulation.outcome === "completed")
    return `The member completes the workflow at ${nameOf(simulation.finalNodeId)}.`;
  if (simulation.outcome === "converted") return "The member converts.";
  if (simulation.state === "failed") return `The member fails at ${nameOf(simulation.finalNodeId)}.`;
  if (simulation.state === "active")
    return `The member is still at ${nameOf(simulation.finalNodeId)} when the simulation ends.`;
  return `The member ends ${simulation.outcome ?? simulation.state} at ${nameOf(simulation.finalNodeId)}.`;
}
