/**
 * New campaign: a wizard in five steps (audience, workflow, schedule, policies, review). Each step checks
 * its fields before moving on, Back and Next keep everything typed, and the server's objections land next
 * to their fields on the step they belong to. The review shows the estimated reach before creating: the
 * audience's count and, for the channels the workflow sends on, how many members each can reach.
 */
import type { Topic } from "@omneural/contracts/topics";
import { useMutation, useQueries, useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { ApiError, request } from "../api.ts";
import { binder } from "../components/campaign/bind.ts";
import { Choices, choicesOf } from "../components/campaign/Choices.tsx";
import {
  type Audience,
  type AudienceReach,
  allPages,
  type CampaignCreate,
  campaignApi,
  formatTime,
  leaveNotice,
} from "../components/campaign/campaignApi.ts";
import {
  describeFilter,
  type EventFilterDraft,
  EventFilters,
  filterProblem,
  toPropertyFilter,
} from "../components/campaign/EventFilters.tsx";
import {
  browserTimeZone,
  inZone,
  isTimeZone,
  timeZones,
  zonedToInstant,
} from "../components/campaign/time.ts";
import { errorsFrom, Field, type FieldErrors, SelectField } from "../components/Field.tsx";
import { Alert, EmptyState, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import "../styles/campaigns.css";

const STEPS = ["Audience", "Workflow", "Schedule", "Policies", "Review"] as const;

const FIELDS = [
  "audienceId",
  "workflowId",
  "workflowVersion",
  "startAt",
  "startZone",
  "startLocal",
  "startLocal.date",
  "startLocal.time",
  "endAt",
  "endZone",
  "entry.mode",
  "entry.eventType",
  "entry.where",
  "reentry.mode",
  "reentry.afterDays",
  "topicId",
  "policies.quietHours",
  "policies.quietHours.from",
  "policies.quietHours.to",
  "policies.frequencyCap",
  "policies.throughputPerHour",
  "policies.throughputPerHour.email",
  "policies.throughputPerHour.sms",
  "policies.throughputPerHour.mail",
  "policies.throughputPerHour.ads",
  "holdoutPercent",
  "goal.eventType",
  "goal.windowDays",
  "name",
] as const;
type FieldName = (typeof FIELDS)[number];
type Errors = FieldErrors<FieldName>;

/** The step each field is on, to go back to it when the server objects. */
function stepOf(field: string): number {
  if (field === "audienceId") return 0;
  if (field.startsWith("workflow")) return 1;
  if (
    field.startsWith("start") ||
    field.startsWith("end") ||
    field.startsWith("entry") ||
    field.startsWith("reentry")
  )
    return 2;
  if (field === "name" || field === "form") return 4;
  return 3;
}

interface Draft {
  audienceId: string;
  workflowId: string;
  workflowVersion: string;
  start: "launch" | "at" | "local";
  startAt: string;
  startZone: string;
  localDate: string;
  localTime: string;
  entryMode: "once" | "continuous" | "event";
  eventType: string;
  eventFilters: EventFilterDraft[];
  end: "never" | "at";
  endAt: string;
  endZone: string;
  reentryMode: "never" | "after" | "always";
  reentryDays: string;
  quiet: "workspace" | "custom";
  quietFrom: string;
  quietTo: string;
  frequencyCap: "apply" | "exempt";
  throttle: boolean;
  limits: Record<ThrottledChannel, string>;
  topicId: string;
  holdoutPercent: string;
  goal: boolean;
  goalEvent: string;
  goalDays: string;
  name: string;
}

const THROTTLED_CHANNELS = ["email", "sms", "mail", "ads"] as const;
type ThrottledChannel = (typeof THROTTLED_CHANNELS)[number];
const THROTTLE_UNITS: Record<ThrottledChannel, string> = {
  email: "emails",
  sms: "text messages",
  mail: "letters",
  ads: "ad audience updates",
};
const THROTTLE_NAMES: Record<ThrottledChannel, string> = {
  email: "Emails per hour",
  sms: "Text messages (SMS) per hour",
  mail: "Letters per hour",
  ads: "Ad audience updates per hour",
};

const EVENT_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;
const TIME_PATTERN = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

function tomorrowAtNine(): string {
  const d = new Date(Date.now() + 86_400_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T09:00`;
}

/** The date `days` after the datetime-local value's date, as YYYY-MM-DD. */
function inDays(local: string, days: number): string {
  const d = new Date(`${local.slice(0, 10)}T12:00`);
  d.setDate(d.getDate() + days);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function initialDraft(): Draft {
  const start = tomorrowAtNine();
  return {
    audienceId: "",
    workflowId: "",
    workflowVersion: "",
    start: "launch",
    startAt: start,
    startZone: browserTimeZone(),
    localDate: start.slice(0, 10),
    localTime: "09:00",
    entryMode: "once",
    eventType: "",
    eventFilters: [],
    end: "never",
    endAt: `${inDays(start, 30)}T23:59`,
    endZone: browserTimeZone(),
    reentryMode: "never",
    reentryDays: "30",
    quiet: "workspace",
    quietFrom: "09:00",
    quietTo: "20:00",
    frequencyCap: "apply",
    throttle: false,
    limits: { email: "", sms: "", mail: "", ads: "" },
    topicId: "",
    holdoutPercent: "0",
    goal: false,
    goalEvent: "",
    goalDays: "7",
    name: "",
  };
}

/** The checks of one step, before Next. */
function check(step: number, d: Draft, published: boolean): Errors {
  const e: Errors = {};
  if (step === 0 && !d.audienceId) e.audienceId = "Choose who the campaign is for.";
  if (step === 1) {
    if (!d.workflowId) e.workflowId = "Choose a workflow.";
    else if (!published) e.workflowId = "This workflow has no published version yet: publish it first.";
    else if (!d.workflowVersion) e.workflowVersion = "Choose a published version.";
  }
  if (step === 2) {
    if (d.start === "at") {
      if (!isTimeZone(d.startZone)) e.startZone = "Choose a time zone from the list, e.g. Europe/Paris.";
      const instant = zonedToInstant(d.startAt, d.startZone);
      if (!d.startAt) e.startAt = "Choose a date and time.";
      else if (instant && new Date(instant).getTime() <= Date.now())
        e.startAt = "Choose a moment in the future.";
    }
    if (d.start === "local") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(d.localDate)) e["startLocal.date"] = "Choose a date.";
      if (!TIME_PATTERN.test(d.localTime)) e["startLocal.time"] = "Choose a time.";
    }
    if (d.entryMode === "event" && !EVENT_PATTERN.test(d.eventType.trim()))
      e["entry.eventType"] = "Name the event, e.g. signed_up (letters, digits, and . _ : -).";
    if (d.entryMode === "event") {
      const index = d.eventFilters.findIndex((f) => filterProblem(f));
      const filter = d.eventFilters[index];
      if (filter) e["entry.where"] = `Condition ${index + 1}: ${filterProblem(filter)}`;
    }
    if (d.end === "at") {
      if (!isTimeZone(d.endZone)) e.endZone = "Choose a time zone from the list, e.g. Europe/Paris.";
      const end = zonedToInstant(d.endAt, d.endZone);
      const start = d.start === "at" ? zonedToInstant(d.startAt, d.startZone) : undefined;
      if (!d.endAt) e.endAt = "Choose the date and time it ends.";
      else if (end && new Date(end).getTime() <= Date.now()) e.endAt = "Choose a moment in the future.";
      else if (end && start && new Date(end).getTime() <= new Date(start).getTime())
        e.endAt = "The end must come after the start.";
      else if (end && d.start === "local" && end.slice(0, 10) < d.localDate)
        e.endAt = "The end must come after the start.";
    }
    if (d.entryMode !== "once" && d.reentryMode === "after") {
      const days = Number(d.reentryDays);
      if (!Number.isInteger(days) || days < 1 || days > 3650)
        e["reentry.afterDays"] = "A whole number of days from 1 to 3650.";
    }
  }
  if (step === 3) {
    if (d.quiet === "custom") {
      if (!TIME_PATTERN.test(d.quietFrom)) e["policies.quietHours.from"] = "Choose a time.";
      if (!TIME_PATTERN.test(d.quietTo)) e["policies.quietHours.to"] = "Choose a time.";
      if (d.quietFrom === d.quietTo) e["policies.quietHours.to"] = "The end must differ from the start.";
    }
    if (d.throttle) {
      const set = THROTTLED_CHANNELS.filter((c) => d.limits[c].trim() !== "");
      if (set.length === 0)
        e["policies.throughputPerHour"] = "Give at least one limit, or untick “Limit how fast it sends”.";
      for (const channel of set) {
        const n = Number(d.limits[channel]);
        if (!Number.isInteger(n) || n < 1 || n > 10_000_000)
          e[`policies.throughputPerHour.${channel}`] =
            "A whole number from 1 to 10,000,000, or leave it empty.";
      }
    }
    const holdout = Number(d.holdoutPercent);
    if (d.holdoutPercent.trim() === "" || Number.isNaN(holdout) || holdout < 0 || holdout > 50)
      e.holdoutPercent = "A share from 0 to 50 %.";
    if (d.goal) {
      if (!EVENT_PATTERN.test(d.goalEvent.trim()))
        e["goal.eventType"] = "Name the event that counts as a conversion, e.g. purchase.";
      const days = Number(d.goalDays);
      if (!Number.isInteger(days) || days < 1 || days > 365)
        e["goal.windowDays"] = "A whole number of days from 1 to 365.";
    }
  }
  if (step === 4) {
    const name = d.name.trim();
    if (!name) e.name = "Give the campaign a name.";
    else if (name.length > 200) e.name = "At most 200 characters.";
  }
  return e;
}

function toRequest(d: Draft): CampaignCreate {
  const body: CampaignCreate = {
    name: d.name.trim(),
    audienceId: d.audienceId,
    workflowId: d.workflowId,
    workflowVersion: Number(d.workflowVersion),
    entry:
      d.entryMode === "event"
        ? {
            mode: "event",
            eventType: d.eventType.trim(),
            ...(d.eventFilters.length > 0 ? { where: d.eventFilters.map(toPropertyFilter) } : {}),
          }
        : { mode: d.entryMode },
    holdoutPercent: Number(d.holdoutPercent),
    policies: {
      quietHours: d.quiet === "custom" ? { from: d.quietFrom, to: d.quietTo } : null,
      frequencyCap: d.frequencyCap,
    },
  };
  if (d.throttle) {
    const limits: Partial<Record<ThrottledChannel, number>> = {};
    for (const channel of THROTTLED_CHANNELS)
      if (d.limits[channel].trim() !== "") limits[channel] = Number(d.limits[channel]);
    body.policies = { ...body.policies, throughputPerHour: limits };
  }
  if (d.end === "at") body.endAt = zonedToInstant(d.endAt, d.endZone) ?? null;
  if (d.entryMode !== "once") {
    body.reentry =
      d.reentryMode === "after"
        ? { mode: "after", afterDays: Number(d.reentryDays) }
        : { mode: d.reentryMode };
  }
  if (d.start === "at") body.startAt = zonedToInstant(d.startAt, d.startZone) ?? null;
  if (d.start === "local") body.startLocal = { date: d.localDate, time: d.localTime };
  if (d.topicId) body.topicId = d.topicId;
  if (d.goal) body.goal = { eventType: d.goalEvent.trim(), windowDays: Number(d.goalDays) };
  return body;
}

export default function CampaignWizard() {
  const session = useSession();
  const [, navigate] = useLocation();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(initialDraft);
  const [errors, setErrors] = useState<Errors>({});
  const heading = useRef<HTMLHeadingElement>(null);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  const audiences = useQuery({
    queryKey: ["audiences", "all"],
    queryFn: () => allPages(campaignApi.audiences),
  });
  const workflows = useQuery({
    queryKey: ["workflows", "all"],
    queryFn: () => allPages(campaignApi.workflows),
  });
  const versions = useQuery({
    queryKey: ["workflow-versions", draft.workflowId],
    queryFn: () => campaignApi.versions(draft.workflowId),
    enabled: Boolean(draft.workflowId),
  });
  const counts = useQueries({
    queries: (audiences.data ?? []).map((a) => ({
      queryKey: ["audience-count", a.id],
      queryFn: () => campaignApi.audienceCount(a.id),
      staleTime: 60_000,
    })),
  });
  const countOf = (id: string) => counts[(audiences.data ?? []).findIndex((a) => a.id === id)];
  const version = useQuery({
    queryKey: ["workflow-version", draft.workflowId, draft.workflowVersion],
    queryFn: () => campaignApi.version(draft.workflowId, Number(draft.workflowVersion)),
    enabled: Boolean(draft.workflowId && draft.workflowVersion) && step >= 2,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const channels = version.data ? sendChannelsOf(version.data.graph) : undefined;
  // Who each channel can reach: counted afresh when the review opens.
  const reach = useQuery({
    queryKey: ["audience-reach", draft.audienceId],
    queryFn: () => campaignApi.audienceReach(draft.audienceId),
    enabled: Boolean(draft.audienceId) && step === 4,
    staleTime: 30_000,
  });

  // Pick the latest published version when a workflow is chosen.
  useEffect(() => {
    const latest = versions.data?.data[0]?.version;
    if (latest && !versions.data?.data.some((v) => String(v.version) === draft.workflowVersion))
      setDraft((d) => ({ ...d, workflowVersion: String(latest) }));
  }, [versions.data, draft.workflowVersion]);

  /** Shows step `n` and moves focus to its heading, so keyboard and screen-reader users land on it. */
  function goTo(n: number) {
    setStep(n);
    requestAnimationFrame(() => heading.current?.focus());
  }

  const chosenWorkflow = workflows.data?.find((w) => w.id === draft.workflowId);
  const published = Boolean(chosenWorkflow && chosenWorkflow.latestVersion !== null);

  const create = useMutation({
    mutationFn: async (launch: boolean) => {
      const campaign = await campaignApi.create(toRequest(draft));
      if (launch) {
        try {
          await campaignApi.act(campaign.id, "launch");
        } catch (error) {
          // Created but not launched: its page shows it as a draft, with its Launch button and why.
          leaveNotice(campaign.id, `The campaign was created but not launched: ${messageOf(error)}`);
        }
      }
      return campaign;
    },
    onSuccess: (campaign) => navigate(`/campaigns/${campaign.id}`),
    onError: (error) => {
      const found = errorsFrom(error, FIELDS);
      // A condition of the entering event, or one channel's limit, named deeper than the form shows it.
      if (error instanceof ApiError) {
        for (const [field, message] of Object.entries(error.fields)) {
          if (field.startsWith("entry.where")) found["entry.where"] ??= message;
          else if (field.startsWith("policies.throughputPerHour"))
            found["policies.throughputPerHour"] ??= message;
        }
        if (found.form && Object.keys(found).length > 1) delete found.form;
      }
      setErrors(found);
      const steps = Object.keys(found).map(stepOf);
      goTo(Math.min(...steps, 4));
    },
  });

  function next(event: FormEvent) {
    event.preventDefault();
    const found = check(step, draft, published);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    if (step < STEPS.length - 1) goTo(step + 1);
  }

  function submit(launch: boolean) {
    for (let s = 0; s < STEPS.length; s++) {
      const found = check(s, draft, published);
      if (Object.keys(found).length > 0) {
        setErrors(found);
        goTo(s);
        return;
      }
    }
    setErrors({});
    create.mutate(launch);
  }

  if (!can(session.role, "write")) {
    return (
      <div className="page">
        <h1>New campaign</h1>
        <p className="notice">Your role is Viewer: a marketer or an admin creates campaigns.</p>
        <Link href="/campaigns">Back to campaigns</Link>
      </div>
    );
  }
  if (audiences.isPending || workflows.isPending) return <Loading label="Loading audiences and workflows" />;
  if (audiences.error) return <PageError error={audiences.error} />;
  if (workflows.error) return <PageError error={workflows.error} />;

  const audience = audiences.data.find((a) => a.id === draft.audienceId);
  const audienceCount = countOf(draft.audienceId)?.data?.count;

  return (
    <div className="page campaign-wizard">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/campaigns">Campaigns</Link> / New campaign
      </nav>
      <h1>New campaign</h1>
      <ol className="wizard-steps" aria-label="Steps">
        {STEPS.map((label, index) => (
          <li
            key={label}
            className={index === step ? "current" : index < step ? "done" : undefined}
            aria-current={index === step ? "step" : undefined}
          >
            <span className="wizard-step-number" aria-hidden="true">
              {index < step ? "✓" : index + 1}
            </span>
            {label}
            {index < step ? <span className="visually-hidden"> (done)</span> : null}
          </li>
        ))}
      </ol>
      <form className="card wizard-card" onSubmit={next} noValidate aria-labelledby="wizard-step-heading">
        <h2 id="wizard-step-heading" ref={heading} tabIndex={-1}>
          Step {step + 1} of {STEPS.length}: {stepTitle(step)}
        </h2>
        {step === 0 ? (
          <AudienceStep
            audiences={audiences.data}
            value={draft.audienceId}
            onChange={(id) => set("audienceId", id)}
            error={errors.audienceId}
            countOf={(id) => {
              const q = countOf(id);
              return q?.data ? q.data.count.toLocaleString() : q?.error ? "count unavailable" : "counting…";
            }}
          />
        ) : null}
        {step === 1 ? (
          <WorkflowStep
            draft={draft}
            set={set}
            errors={errors}
            workflows={workflows.data}
            versions={versions.data?.data ?? []}
            versionsLoading={versions.isFetching}
          />
        ) : null}
        {step === 2 ? <ScheduleStep draft={draft} set={set} errors={errors} /> : null}
        {step === 3 ? <PoliciesStep draft={draft} set={set} errors={errors} channels={channels} /> : null}
        {step === 4 ? (
          <ReviewStep
            draft={draft}
            set={set}
            errors={errors}
            audience={audience}
            audienceCount={reach.data?.count ?? audienceCount}
            reach={reach.data?.reach}
            reachError={reach.error}
            channels={channels}
            workflowName={chosenWorkflow?.name ?? "—"}
          />
        ) : null}
        {errors.form ? <Alert>{errors.form}</Alert> : null}
        <div className="wizard-actions">
          {step > 0 ? (
            <button
              type="button"
              className="button secondary"
              disabled={create.isPending}
              onClick={() => {
                setErrors({});
                goTo(step - 1);
              }}
            >
              Back
            </button>
          ) : (
            <Link href="/campaigns" className="button secondary">
              Cancel
            </Link>
          )}
          {step < STEPS.length - 1 ? (
            <button type="submit" className="button primary">
              Next: {STEPS[step + 1]}
            </button>
          ) : (
            <div className="button-row">
              <button
                type="button"
                className="button secondary"
                disabled={create.isPending}
                onClick={() => submit(false)}
              >
                {create.isPending && create.variables === false ? "Creating…" : "Create as draft"}
              </button>
              <button
                type="button"
                className="button primary"
                disabled={create.isPending}
                onClick={() => submit(true)}
              >
                {create.isPending && create.variables === true
                  ? "Creating and launching…"
                  : "Create and launch"}
              </button>
            </div>
          )}
        </div>
      </form>
    </div>
  );
}

/** The channels a workflow's send steps use, in a fixed order. */
function sendChannelsOf(graph: unknown): ThrottledChannel[] {
  const nodes = (graph as { nodes?: { type?: string; channel?: string }[] } | null)?.nodes ?? [];
  const used = new Set(nodes.filter((n) => n.type === "send").map((n) => n.channel));
  return THROTTLED_CHANNELS.filter((c) => used.has(c));
}

function stepTitle(step: number): string {
  return [
    "who is it for?",
    "what happens to them?",
    "when does it start?",
    "how politely does it send?",
    "check and create",
  ][step] as string;
}

type Setter = <K extends keyof Draft>(key: K, value: Draft[K]) => void;

function AudienceStep({
  audiences,
  value,
  onChange,
  error,
  countOf,
}: {
  audiences: Audience[];
  value: string;
  onChange: (id: string) => void;
  error: string | undefined;
  countOf: (id: string) => string;
}) {
  if (audiences.length === 0) {
    return (
      <EmptyState title="No audience yet">
        <p>
          A campaign goes to an audience: a segment by rules, or a list of contacts.{" "}
          <Link href="/audiences">Make one on the Audiences page</Link>, then come back.
        </p>
      </EmptyState>
    );
  }
  return (
    <Choices
      legend="Audience"
      name="audience"
      value={value}
      onChange={onChange}
      error={error}
      options={audiences.map((a) => ({
        value: a.id,
        label: (
          <>
            {a.name} <span className="choice-count">{countOf(a.id)} contacts</span>
          </>
        ),
        hint: `${a.kind === "list" ? "A list" : "A segment"}${a.description ? `: ${a.description}` : ""}`,
      }))}
    />
  );
}

function WorkflowStep({
  draft,
  set,
  errors,
  workflows,
  versions,
  versionsLoading,
}: {
  draft: Draft;
  set: Setter;
  errors: Errors;
  workflows: { id: string; name: string; latestVersion: number | null; description: string | null }[];
  versions: { version: number; publishedAt: string }[];
  versionsLoading: boolean;
}) {
  const bind = binder(draft, set);
  if (workflows.length === 0) {
    return (
      <EmptyState title="No workflow yet">
        <p>
          A workflow is what happens to each member: messages, waits and conditions.{" "}
          <Link href="/workflows">Draw one on the Workflows page</Link> and publish it, then come back.
        </p>
      </EmptyState>
    );
  }
  return (
    <>
      <p className="notice">
        Only <strong>published</strong> versions can run: a campaign keeps the version it was created with, so
        later edits to the draft never change what members in flight go through.{" "}
        <Link href="/workflows">Open the workflows page</Link> to publish one.
      </p>
      <Choices
        legend="Workflow"
        name="workflow"
        value={draft.workflowId}
        onChange={(id) => {
          set("workflowId", id);
          set("workflowVersion", "");
        }}
        error={errors.workflowId}
        options={workflows.map((w) => ({
          value: w.id,
          label: w.name,
          hint:
            w.latestVersion === null
              ? "Not published yet, so it cannot be used"
              : `Latest published version: ${w.latestVersion}${w.description ? ` · ${w.description}` : ""}`,
          disabled: w.latestVersion === null,
        }))}
      />
      {draft.workflowId ? (
        <SelectField
          label="Published version"
          {...bind("workflowVersion")}
          error={errors.workflowVersion}
          disabled={versionsLoading && versions.length === 0}
          hint="The newest is chosen for you; pick an older one to run it instead."
          options={
            versions.length === 0
              ? [{ value: "", label: versionsLoading ? "Loading versions…" : "No published version" }]
              : versions.map((v, i) => ({
                  value: String(v.version),
                  label: `Version ${v.version}${i === 0 ? " (latest)" : ""}, published ${formatTime(v.publishedAt)}`,
                }))
          }
        />
      ) : null}
    </>
  );
}

function ScheduleStep({ draft, set, errors }: { draft: Draft; set: Setter; errors: Errors }) {
  const bind = binder(draft, set);
  const zones = timeZones();
  const instant = draft.start === "at" ? zonedToInstant(draft.startAt, draft.startZone) : undefined;
  return (
    <>
      <Choices
        legend="When it starts"
        name="start"
        {...bind("start")}
        options={choicesOf({
          launch: ["As soon as I launch it", "Members enter the moment you press Launch."],
          at: ["At a date and time", "Launch it now and it waits, as Scheduled, until then."],
          local: [
            "At a time in each member’s own time zone",
            "Everyone gets it at, say, 9:00 their time (the contact’s time zone, else the workspace’s).",
          ],
        })}
      />
      {draft.start === "at" ? (
        <div className="row">
          <Field
            label="Date and time"
            type="datetime-local"
            {...bind("startAt")}
            error={errors.startAt}
            hint={
              instant && !errors.startZone
                ? `That is ${new Date(instant).toLocaleString()} your time.`
                : undefined
            }
          />
          <Field
            label="Time zone"
            {...bind("startZone")}
            error={errors.startZone}
            list="campaign-time-zones"
            autoComplete="off"
            hint="Type to search, e.g. America/New_York."
          />
        </div>
      ) : null}
      {draft.start === "local" ? (
        <div className="row">
          <Field
            label="Date"
            type="date"
            {...bind("localDate")}
            error={errors["startLocal.date"] ?? errors.startLocal}
          />
          <Field label="Local time" type="time" {...bind("localTime")} error={errors["startLocal.time"]} />
        </div>
      ) : null}
      <Choices
        legend="When it ends"
        name="end"
        {...bind("end")}
        options={choicesOf({
          never: [
            "It runs until everyone has finished (default)",
            "You can still pause or cancel it at any time.",
          ],
          at: [
            "It stops at a date and time",
            "Then no one new enters, anyone still in it leaves, and messages not sent yet are cancelled. Handy for a sale that ends.",
          ],
        })}
      />
      {draft.end === "at" ? (
        <div className="row">
          <Field
            label="End date and time"
            type="datetime-local"
            {...bind("endAt")}
            error={errors.endAt}
            hint={endHint(draft)}
          />
          <Field
            label="End time zone"
            {...bind("endZone")}
            error={errors.endZone}
            list="campaign-time-zones"
            autoComplete="off"
            hint="Type to search, e.g. America/New_York."
          />
        </div>
      ) : null}
      {draft.start === "at" || draft.end === "at" ? (
        <datalist id="campaign-time-zones">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      ) : null}
      <Choices
        legend="Who enters"
        name="entry"
        {...bind("entryMode")}
        error={errors["entry.mode"]}
        options={choicesOf({
          once: [
            "The audience’s members at launch",
            "A one-off send: people who join the audience later are not added.",
          ],
          continuous: [
            "Them, and anyone who joins the audience later",
            "An always-on journey, e.g. a welcome series.",
          ],
          event: [
            "Whoever does something",
            "Each time a contact of the audience triggers an event (e.g. cart_abandoned), they enter.",
          ],
        })}
      />
      {draft.entryMode === "event" ? (
        <>
          <Field
            label="Event that enrolls"
            {...bind("eventType")}
            error={errors["entry.eventType"]}
            placeholder="cart_abandoned"
            autoComplete="off"
          />
          <EventFilters
            filters={draft.eventFilters}
            onChange={(filters) => set("eventFilters", filters)}
            error={errors["entry.where"]}
            eventType={draft.eventType.trim()}
          />
        </>
      ) : null}
      {draft.entryMode !== "once" ? (
        <>
          <SelectField
            label="Can someone go through it again?"
            value={draft.reentryMode}
            onChange={(v) => set("reentryMode", v as Draft["reentryMode"])}
            error={errors["reentry.mode"]}
            options={[
              { value: "never", label: "No, once per person (recommended)" },
              { value: "after", label: "Yes, after some days" },
              { value: "always", label: "Yes, whenever they qualify again" },
            ]}
          />
          {draft.reentryMode === "after" ? (
            <Field
              label="Days before they may enter again"
              type="number"
              min={1}
              max={3650}
              {...bind("reentryDays")}
              error={errors["reentry.afterDays"]}
            />
          ) : null}
        </>
      ) : null}
    </>
  );
}

function endHint(draft: Draft): string | undefined {
  const end = zonedToInstant(draft.endAt, draft.endZone);
  return end ? `That is ${new Date(end).toLocaleString()} your time.` : undefined;
}

function PoliciesStep({
  draft,
  set,
  errors,
  channels,
}: {
  draft: Draft;
  set: Setter;
  errors: Errors;
  /** The channels the chosen workflow version sends on (undefined while loading). */
  channels: ThrottledChannel[] | undefined;
}) {
  const bind = binder(draft, set);
  const throttled = channels && channels.length > 0 ? channels : THROTTLED_CHANNELS;
  const topics = useQuery({
    queryKey: ["topics", "all"],
    queryFn: () =>
      allPages((cursor) =>
        request<{ data: Topic[]; nextCursor: string | null }>(
          "GET",
          `/api/v1/topics?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        ),
      ),
  });
  return (
    <>
      <p className="muted">The defaults suit most campaigns; change them only if you need to.</p>
      <Choices
        legend="Quiet hours"
        name="quiet"
        {...bind("quiet")}
        options={choicesOf({
          workspace: ["Use the workspace’s sending hours (default)", "As set under Settings → Delivery."],
          custom: [
            "Only send between set hours",
            "In each recipient’s local time; messages due outside wait until the window opens.",
          ],
        })}
      />
      {draft.quiet === "custom" ? (
        <div className="row">
          <Field
            label="Send from"
            type="time"
            {...bind("quietFrom")}
            error={errors["policies.quietHours.from"] ?? errors["policies.quietHours"]}
          />
          <Field
            label="Send until"
            type="time"
            {...bind("quietTo")}
            error={errors["policies.quietHours.to"]}
            hint="An end before the start spans midnight."
          />
        </div>
      ) : null}
      <Choices
        legend="Frequency cap"
        name="frequency"
        {...bind("frequencyCap")}
        error={errors["policies.frequencyCap"]}
        options={choicesOf({
          apply: [
            "Respect the workspace’s frequency caps (default)",
            "If someone has had too many messages lately, this one waits.",
          ],
          exempt: [
            "Exempt: this is transactional",
            "For receipts and password resets only: never held back and not counted.",
          ],
        })}
      />
      <div className="checkbox-field">
        <input
          id="campaign-throttle"
          type="checkbox"
          checked={draft.throttle}
          onChange={(e) => set("throttle", e.target.checked)}
          aria-describedby="campaign-throttle-hint"
        />
        <label htmlFor="campaign-throttle">Limit how fast it sends</label>
      </div>
      <p id="campaign-throttle-hint" className="field-hint">
        Spread a big send over time, e.g. so your call centre or website is not flooded. Messages over the
        limit wait for the next hour; nothing is dropped.
      </p>
      {draft.throttle ? (
        <div className="row throttle-fields">
          {throttled.map((channel) => (
            <Field
              key={channel}
              label={THROTTLE_NAMES[channel]}
              type="number"
              min={1}
              max={10_000_000}
              inputMode="numeric"
              value={draft.limits[channel]}
              onChange={(v) => set("limits", { ...draft.limits, [channel]: v })}
              error={errors[`policies.throughputPerHour.${channel}`]}
              placeholder="No limit"
            />
          ))}
          {errors["policies.throughputPerHour"] ? (
            <p className="field-error">{errors["policies.throughputPerHour"]}</p>
          ) : null}
        </div>
      ) : null}
      <Field
        label="Holdout (% of the audience never contacted)"
        type="number"
        min={0}
        max={50}
        step="any"
        {...bind("holdoutPercent")}
        error={errors.holdoutPercent}
        hint="0 to 50. A small holdout (e.g. 5–10 %) lets the report show the campaign’s real lift against people who got nothing."
      />
      <div className="checkbox-field">
        <input
          id="campaign-goal"
          type="checkbox"
          checked={draft.goal}
          onChange={(e) => set("goal", e.target.checked)}
        />
        <label htmlFor="campaign-goal">Count conversions: an event that means it worked</label>
      </div>
      {draft.goal ? (
        <div className="row">
          <Field
            label="Conversion event"
            {...bind("goalEvent")}
            error={errors["goal.eventType"]}
            placeholder="purchase"
            autoComplete="off"
          />
          <Field
            label="Conversion window (days)"
            type="number"
            min={1}
            max={365}
            {...bind("goalDays")}
            error={errors["goal.windowDays"]}
            hint="How long after a message or entry the event still counts (default 7)."
          />
        </div>
      ) : null}
      <SelectField
        label="Subscription topic"
        {...bind("topicId")}
        error={errors.topicId}
        hint="Contacts who opted out of the topic are skipped when the message is sent."
        options={[
          { value: "", label: "None" },
          ...(topics.data ?? []).map((t) => ({ value: t.id, label: t.name })),
        ]}
      />
    </>
  );
}

function ReviewStep({
  draft,
  set,
  errors,
  audience,
  audienceCount,
  reach,
  reachError,
  channels,
  workflowName,
}: {
  draft: Draft;
  set: Setter;
  errors: Errors;
  audience: Audience | undefined;
  audienceCount: number | undefined;
  reach: AudienceReach["reach"];
  reachError: unknown;
  channels: ThrottledChannel[] | undefined;
  workflowName: string;
}) {
  const bind = binder(draft, set);
  const holdout = Number(draft.holdoutPercent) || 0;
  const held = audienceCount === undefined ? undefined : Math.round((audienceCount * holdout) / 100);
  const instant = draft.start === "at" ? zonedToInstant(draft.startAt, draft.startZone) : undefined;
  const start =
    draft.start === "launch"
      ? "As soon as it is launched"
      : draft.start === "at"
        ? instant
          ? inZone(instant, draft.startZone)
          : "—"
        : `${draft.localDate} at ${draft.localTime}, in each member’s time zone`;
  return (
    <>
      <section className="reach" aria-labelledby="reach-heading">
        <h3 id="reach-heading">Estimated reach</h3>
        {draft.entryMode === "event" ? (
          <p>
            No one enters at launch: each <code>{draft.eventType}</code> event from one of the audience’s{" "}
            {audienceCount?.toLocaleString() ?? "…"} contacts enrolls them.
          </p>
        ) : (
          <>
            <p className="reach-figure" data-testid="estimated-reach">
              {audienceCount === undefined ? "Counting…" : audienceCount.toLocaleString()}
              <span> contacts in “{audience?.name}”</span>
            </p>
            <ReachByChannel reach={reach} error={reachError} channels={channels} count={audienceCount} />
            {held ? (
              <p className="muted">
                About {held.toLocaleString()} ({holdout} %) are held out and never contacted, so about{" "}
                {((audienceCount ?? 0) - held).toLocaleString()} get messages.
              </p>
            ) : null}
            {draft.entryMode === "continuous" ? (
              <p className="muted">Plus anyone who joins the audience later.</p>
            ) : null}
          </>
        )}
        <p className="muted small">
          Contacts without consent, with a suppressed address or without an address for a step’s channel are
          skipped at that step; the report says how many and why. Consent is checked again at send time.
        </p>
      </section>
      <dl className="details columns">
        <div>
          <dt>Audience</dt>
          <dd>{audience?.name ?? "—"}</dd>
        </div>
        <div>
          <dt>Workflow</dt>
          <dd>
            {workflowName}, version {draft.workflowVersion}
          </dd>
        </div>
        <div>
          <dt>Starts</dt>
          <dd>{start}</dd>
        </div>
        <div>
          <dt>Who enters</dt>
          <dd>
            {draft.entryMode === "once"
              ? "Members at launch"
              : draft.entryMode === "continuous"
                ? "Members at launch and later joiners"
                : `On the event ${draft.eventType}`}
          </dd>
        </div>
        <div>
          <dt>Ends</dt>
          <dd>
            {draft.end === "at"
              ? (() => {
                  const end = zonedToInstant(draft.endAt, draft.endZone);
                  return end ? inZone(end, draft.endZone) : "—";
                })()
              : "When everyone has finished"}
          </dd>
        </div>
        {draft.entryMode === "event" && draft.eventFilters.length > 0 ? (
          <div>
            <dt>Event conditions</dt>
            <dd>{draft.eventFilters.map(describeFilter).join("; ")}</dd>
          </div>
        ) : null}
        <div>
          <dt>Quiet hours</dt>
          <dd>
            {draft.quiet === "custom"
              ? `Sends ${draft.quietFrom}–${draft.quietTo} local time`
              : "The workspace’s"}
          </dd>
        </div>
        <div>
          <dt>Frequency cap</dt>
          <dd>{draft.frequencyCap === "apply" ? "Respected" : "Exempt (transactional)"}</dd>
        </div>
        <div>
          <dt>Send limits</dt>
          <dd>
            {draft.throttle
              ? `${THROTTLED_CHANNELS.filter((c) => draft.limits[c].trim() !== "")
                  .map((c) => `${Number(draft.limits[c]).toLocaleString()} ${THROTTLE_UNITS[c]}`)
                  .join(", ")} per hour at most`
              : "None"}
          </dd>
        </div>
        <div>
          <dt>Holdout</dt>
          <dd>{holdout} %</dd>
        </div>
        <div>
          <dt>Conversion</dt>
          <dd>{draft.goal ? `${draft.goalEvent} within ${draft.goalDays} days` : "Not counted"}</dd>
        </div>
      </dl>
      <Field
        label="Campaign name"
        {...bind("name")}
        error={errors.name}
        autoComplete="off"
        hint="Something your team will recognise, e.g. “Spring sale 2026”."
      />
    </>
  );
}

const REACH_WORDS: Record<"email" | "sms" | "mail", string> = {
  email: "can get email",
  sms: "can get SMS",
  mail: "can get letters",
};

/** "2 can get email, 1 can get SMS", for the channels the workflow sends on. */
function ReachByChannel({
  reach,
  error,
  channels,
  count,
}: {
  reach: AudienceReach["reach"];
  error: unknown;
  channels: ThrottledChannel[] | undefined;
  count: number | undefined;
}) {
  const shown = (channels ?? []).filter((c): c is "email" | "sms" | "mail" => c in REACH_WORDS);
  if (shown.length === 0) return null;
  if (error) return <p className="muted">The reach by channel could not be counted: {messageOf(error)}</p>;
  if (!reach || count === undefined) return <p className="muted">Counting who each channel can reach…</p>;
  return (
    <p className="reach-channels" data-testid="reach-by-channel">
      {shown.map((c) => `${reach[c].toLocaleString()} ${REACH_WORDS[c]}`).join(", ")}
      {shown.some((c) => reach[c] < count) ? (
        <span className="muted">
          {" "}
          (the others lack an address for it, have not agreed to it, or are on the suppression list)
        </span>
      ) : null}
    </p>
  );
}
