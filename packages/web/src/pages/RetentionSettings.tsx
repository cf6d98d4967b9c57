/**
 * Settings → Retention: each retention policy with what it does, its settings (admins change them),
 * a dry-run preview for every member, a real run for admins (with the confirmation the server asks
 * for past the policy's maxShare), and the recent runs. See docs/data-lifecycle.md.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { api, type RetentionKind, type RetentionPolicy, type RetentionRun } from "../api.ts";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import { RetentionPolicyForm } from "./RetentionPolicyForm.tsx";
import {
  ACTION_LABEL,
  ACTIONS,
  CONTACT_KINDS,
  countLabel,
  formatDays,
  formatTime,
  KIND_ORDER,
  KINDS,
  REASONS,
  removedBy,
} from "./retentionKinds.ts";

const ROLE_NOTE_ID = "retention-role-note";

export default function RetentionSettings() {
  const session = useSession();
  const admin = can(session.role, "admin");
  const policies = useQuery({ queryKey: ["retention", "policies"], queryFn: api.retentionPolicies });
  const byKind = new Map(policies.data?.data.map((p) => [p.kind, p]));

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Retention</h1>
          <p className="muted">
            What old or useless data {session.workspace.name} removes, and when. Enabled policies run every
            day at 03:17 UTC; preview any of them with a dry run, which changes nothing.
          </p>
        </div>
      </header>
      {admin ? null : (
        <p className="notice" id={ROLE_NOTE_ID}>
          Only owners and admins can change retention policies or run them for real. You can read them,
          preview what they would do (a dry run changes nothing) and see past runs.
        </p>
      )}
      {policies.isPending ? <Loading label="Loading the retention policies" /> : null}
      {policies.error ? <PageError error={policies.error} /> : null}
      {policies.data ? (
        <section aria-labelledby="policies-heading">
          <h2 id="policies-heading" className="visually-hidden">
            Policies
          </h2>
          <div className="policy-list">
            {KIND_ORDER.map((kind) => (
              <PolicyCard key={kind} kind={kind} policy={byKind.get(kind)} admin={admin} />
            ))}
          </div>
        </section>
      ) : null}
      <RecentRuns />
    </div>
  );
}

type Stage =
  | { step: "idle" }
  | { step: "preview"; run: RetentionRun }
  | { step: "confirm"; dry: RetentionRun }
  | { step: "held"; run: RetentionRun }
  | { step: "done"; run: RetentionRun };

function PolicyCard({
  kind,
  policy,
  admin,
}: {
  kind: RetentionKind;
  policy: RetentionPolicy | undefined;
  admin: boolean;
}) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const [stage, setStage] = useState<Stage>({ step: "idle" });
  const editButton = useRef<HTMLButtonElement>(null);
  const info = KINDS[kind];
  const headingId = `policy-${kind}`;
  const refreshRuns = () => queryClient.invalidateQueries({ queryKey: ["retention", "runs"] });
  const refreshAfterRealRun = () => {
    refreshRuns();
    // Contacts may have been archived, anonymised, erased or merged.
    queryClient.invalidateQueries({ queryKey: ["contacts"] });
    queryClient.invalidateQueries({ queryKey: ["contact"] });
  };

  const dryRun = useMutation({
    // The purpose only tells which button waits for it.
    mutationFn: (_purpose: "preview" | "run") => api.runRetentionPolicy(kind, { dryRun: true }),
    onSettled: refreshRuns,
  });
  const realRun = useMutation({
    mutationFn: (confirm: boolean) => api.runRetentionPolicy(kind, { dryRun: false, confirm }),
    onSuccess: (run) =>
      setStage(run.status === "needs_confirmation" ? { step: "held", run } : { step: "done", run }),
    onSettled: refreshAfterRealRun,
  });
  const busy = dryRun.isPending || realRun.isPending;
  const error = dryRun.error ?? realRun.error;

  function preview() {
    setSaved(false);
    realRun.reset();
    dryRun.mutate("preview", { onSuccess: (run) => setStage({ step: "preview", run }) });
  }
  function askToRun() {
    setSaved(false);
    realRun.reset();
    dryRun.mutate("run", { onSuccess: (dry) => setStage({ step: "confirm", dry }) });
  }
  function cancel() {
    setStage({ step: "idle" });
  }

  const notSetNote = `${kind}-not-set`;
  const whyDisabled = (needsAdmin: boolean) =>
    [needsAdmin && !admin ? ROLE_NOTE_ID : null, policy ? null : notSetNote].filter(Boolean).join(" ") ||
    undefined;

  return (
    <article className="card policy" aria-labelledby={headingId}>
      <header className="policy-header">
        <h2 id={headingId}>{info.title}</h2>
        {policy ? (
          policy.enabled ? (
            <span className="badge success">Runs daily</span>
          ) : (
            <span className="badge neutral">Off</span>
          )
        ) : (
          <span className="badge neutral">Not set up</span>
        )}
      </header>
      <p className="muted">{info.explanation}</p>

      {editing ? (
        <RetentionPolicyForm
          kind={kind}
          policy={policy}
          onDone={(didSave) => {
            setEditing(false);
            setSaved(didSave);
            requestAnimationFrame(() => editButton.current?.focus());
          }}
        />
      ) : policy ? (
        <PolicySummary policy={policy} />
      ) : (
        <p className="policy-empty" id={notSetNote}>
          <strong>Not set up — nothing is removed.</strong>
          {admin ? " Set it up to preview what it would do." : null}
        </p>
      )}
      {saved && !editing ? <Alert tone="success">Saved.</Alert> : null}

      {editing ? null : (
        <div className="button-row">
          <button
            ref={editButton}
            type="button"
            className="button secondary"
            disabled={!admin}
            aria-describedby={admin ? undefined : ROLE_NOTE_ID}
            onClick={() => {
              setSaved(false);
              setEditing(true);
            }}
          >
            {policy ? "Edit" : "Set up"}
            <span className="visually-hidden"> {info.title}</span>
          </button>
          <button
            type="button"
            className="button secondary"
            disabled={!policy || busy}
            aria-describedby={whyDisabled(false)}
            onClick={preview}
          >
            {dryRun.isPending && dryRun.variables === "preview" ? "Previewing…" : "Preview (dry run)"}
            <span className="visually-hidden"> of {info.title}</span>
          </button>
          <button
            type="button"
            className="button primary"
            disabled={!admin || !policy || busy}
            aria-describedby={whyDisabled(true)}
            onClick={askToRun}
          >
            {dryRun.isPending && dryRun.variables === "run" ? "Counting…" : "Run now"}
            <span className="visually-hidden"> {info.title}</span>
          </button>
        </div>
      )}

      {error ? <Alert>{messageOf(error)}</Alert> : null}
      {stage.step === "preview" ? (
        <RunOutcome
          run={stage.run}
          title="Preview: nothing was changed"
          intro="A real run now would do this:"
          onClose={cancel}
        />
      ) : null}
      {stage.step === "confirm" ? (
        <ConfirmPanel title={`Run ${info.title} now?`}>
          <p>
            This acts for real, now. A dry run just counted what it would do:{" "}
            {policy?.settings.action === "archive"
              ? "archived contacts can be restored."
              : "this cannot be undone."}
          </p>
          <Counts run={stage.dry} />
          <div className="button-row">
            <button
              type="button"
              className="button danger"
              disabled={busy}
              onClick={() => realRun.mutate(false)}
            >
              {realRun.isPending ? "Running…" : "Run for real"}
            </button>
            <button type="button" className="button secondary" onClick={cancel} disabled={busy}>
              Cancel
            </button>
          </div>
        </ConfirmPanel>
      ) : null}
      {stage.step === "held" ? (
        <ConfirmPanel title="This run needs your confirmation">
          <HeldExplanation run={stage.run} policy={policy} />
          <Counts run={stage.run} />
          <div className="button-row">
            <button
              type="button"
              className="button danger"
              disabled={busy}
              onClick={() => realRun.mutate(true)}
            >
              {realRun.isPending ? "Running…" : "Run anyway"}
            </button>
            <button type="button" className="button secondary" onClick={cancel} disabled={busy}>
              Cancel
            </button>
          </div>
        </ConfirmPanel>
      ) : null}
      {stage.step === "done" ? (
        <RunOutcome
          run={stage.run}
          title={stage.run.status === "completed" ? "Run finished" : `Run ${stage.run.status}`}
          intro={stage.run.status === "completed" ? "What it did:" : "What it did before it stopped:"}
          onClose={cancel}
        />
      ) : null}
    </article>
  );
}

function PolicySummary({ policy }: { policy: RetentionPolicy }) {
  const s = policy.settings as Record<string, unknown>;
  const campaignId = typeof s.repermissionCampaignId === "string" ? s.repermissionCampaignId : undefined;
  const campaign = useQuery({
    queryKey: ["campaign", campaignId],
    queryFn: () => api.campaign(campaignId!),
    enabled: Boolean(campaignId),
  });
  const items: [string, string][] = [];
  if (policy.kind === "outdated_prospects") {
    items.push(["Inactive for", formatDays(s.inactiveDays)]);
    items.push(["Then", ACTIONS.find((a) => a.value === s.action)?.label ?? String(s.action)]);
    items.push([
      "Re-permission campaign",
      campaignId
        ? campaign.data
          ? `${campaign.data.name} (${campaign.data.status})`
          : "A campaign"
        : "None",
    ]);
    if (campaignId) items.push(["Grace period", formatDays(s.graceDays ?? 30)]);
  } else if (policy.kind === "undeliverable") {
    items.push(["Then", ACTIONS.find((a) => a.value === s.action)?.label ?? String(s.action)]);
  } else if (policy.kind === "duplicates") {
    const match = Array.isArray(s.match) ? (s.match as string[]) : REASONS.map((r) => r.value);
    items.push([
      "Merge contacts with",
      REASONS.filter((r) => match.includes(r.value))
        .map((r) => r.label.replace(/^The same /, ""))
        .join(", "),
    ]);
    items.push(["Groups per run, at most", Number(s.maxGroups ?? 1000).toLocaleString("en")]);
  } else {
    items.push(["Older than", formatDays(s.olderThanDays)]);
  }
  if (CONTACT_KINDS.has(policy.kind)) {
    items.push(["Ask before removing more than", `${Math.round(policy.maxShare * 1000) / 10}% of contacts`]);
  }
  items.push(["Schedule", policy.enabled ? "Daily at 03:17 UTC" : "Only when run here"]);
  items.push(["Last changed", formatTime(policy.updatedAt)]);
  return (
    <dl className="details columns policy-settings">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function ConfirmPanel({ title, children }: { title: string; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="run-panel confirm-panel" aria-label={title}>
      <h3 ref={heading} tabIndex={-1}>
        {title}
      </h3>
      {children}
    </section>
  );
}

function HeldExplanation({ run, policy }: { run: RetentionRun; policy: RetentionPolicy | undefined }) {
  const removed = removedBy(run);
  const total = run.counts.workspaceContacts ?? 0;
  const share = total ? removed / total : 1;
  const limit = policy?.maxShare ?? 0.2;
  const percent = (n: number) => `${Math.round(n * 1000) / 10}%`;
  return (
    <p>
      Nothing was changed. This run would remove {removed.toLocaleString("en")} of the workspace's{" "}
      {total.toLocaleString("en")} contacts (<strong>{percent(share)}</strong>), more than the policy's limit
      of {percent(limit)}. Check the counts, then run it anyway, or cancel and change the settings.
    </p>
  );
}

function RunOutcome({
  run,
  title,
  intro,
  onClose,
}: {
  run: RetentionRun;
  title: string;
  intro: string;
  onClose: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="run-panel" aria-label={title}>
      <h3 ref={heading} tabIndex={-1}>
        {title}
      </h3>
      {run.error ? <Alert>{run.error}</Alert> : null}
      {Object.keys(run.counts).length === 0 && run.sample.length === 0 ? (
        <p>
          {run.dryRun
            ? "Nothing qualifies now: a real run would change nothing."
            : "Nothing qualified: nothing was changed."}
        </p>
      ) : (
        <>
          <p>{intro}</p>
          <Counts run={run} />
          <Sample run={run} />
        </>
      )}
      <button type="button" className="button secondary small" onClick={onClose}>
        Close
      </button>
    </section>
  );
}

function Counts({ run }: { run: RetentionRun }) {
  const entries = Object.entries(run.counts);
  if (entries.length === 0) return <p className="muted">Nothing to do.</p>;
  return (
    <dl className="details columns counts">
      {entries.map(([key, n]) => (
        <div key={key}>
          <dt>{countLabel(key)}</dt>
          <dd className="count">{key === "more" ? (n ? "Yes" : "No") : n.toLocaleString("en")}</dd>
        </div>
      ))}
    </dl>
  );
}

function Sample({ run }: { run: RetentionRun }) {
  if (run.sample.length === 0) {
    return <p className="muted">No rows qualify now.</p>;
  }
  const hasInto = run.sample.some((row) => row.into);
  return (
    <div className="table-wrap">
      <table className="table compact">
        <caption className="table-caption">
          {run.dryRun ? "Sample of what it would touch" : "Sample of what it touched"} (up to 20 rows)
        </caption>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Email</th>
            <th scope="col">Action</th>
            {hasInto ? <th scope="col">Into</th> : null}
          </tr>
        </thead>
        <tbody>
          {run.sample.map((row) => (
            <tr key={`${row.id}-${row.action}`}>
              <td>
                <code>{row.id}</code>
              </td>
              <td>{row.email ?? <span className="muted">—</span>}</td>
              <td>{ACTION_LABEL[row.action] ?? row.action}</td>
              {hasInto ? <td>{row.into ? <code>{row.into}</code> : "—"}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const RUN_STATUS_TONE: Record<RetentionRun["status"], string> = {
  running: "info",
  completed: "success",
  failed: "danger",
  needs_confirmation: "warning",
};
const RUN_STATUS_LABEL: Record<RetentionRun["status"], string> = {
  running: "Running",
  completed: "Completed",
  failed: "Failed",
  needs_confirmation: "Needs confirmation",
};

const PAGE = 10;

function RecentRuns() {
  const [kind, setKind] = useState<RetentionKind | "">("");
  const [limit, setLimit] = useState(PAGE);
  const runs = useQuery({
    queryKey: ["retention", "runs", kind, limit],
    queryFn: () => api.retentionRuns({ kind: kind || undefined, limit }),
    placeholderData: keepPreviousData,
    refetchInterval: (query) =>
      query.state.data?.data.some((run) => run.status === "running") ? 3000 : false,
  });
  const list = runs.data?.data ?? [];
  const more = list.length >= limit && limit < 200;

  return (
    <section aria-labelledby="runs-heading" className="runs">
      <div className="section-header">
        <h2 id="runs-heading">Recent runs</h2>
        <label className="inline-field">
          <span>Policy</span>
          <select
            value={kind}
            onChange={(event) => {
              setKind(event.target.value as RetentionKind | "");
              setLimit(PAGE);
            }}
          >
            <option value="">All policies</option>
            {KIND_ORDER.map((k) => (
              <option key={k} value={k}>
                {KINDS[k].title}
              </option>
            ))}
          </select>
        </label>
      </div>
      {runs.isPending ? <Loading label="Loading the runs" /> : null}
      {runs.error ? <PageError error={runs.error} /> : null}
      {runs.data && list.length === 0 ? (
        <p className="muted">No runs yet. Dry runs, runs started here and daily runs all show up here.</p>
      ) : null}
      {list.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="table runs-table">
              <caption className="visually-hidden">Recent retention runs, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Result</th>
                </tr>
              </thead>
              <tbody>
                {list.map((run) => (
                  <tr key={run.id}>
                    <td>
                      <time dateTime={run.startedAt}>{formatTime(run.startedAt)}</time>
                    </td>
                    <th scope="row">{KINDS[run.kind].title}</th>
                    <td>
                      {run.dryRun ? "Dry run" : "Real run"}
                      <br />
                      <span className="muted small">
                        {run.trigger === "schedule" ? "Daily schedule" : "Started by hand"}
                      </span>
                    </td>
                    <td>
                      <span className={`badge ${RUN_STATUS_TONE[run.status]}`}>
                        {RUN_STATUS_LABEL[run.status]}
                      </span>
                    </td>
                    <td>
                      <CountsInline run={run} />
                      {run.error ? <p className="field-error">{run.error}</p> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {more ? (
            <div className="pager">
              <button
                type="button"
                className="button secondary small"
                disabled={runs.isFetching}
                onClick={() => setLimit(Math.min(limit + 20, 200))}
              >
                {runs.isFetching ? "Loading…" : "Show more runs"}
              </button>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function CountsInline({ run }: { run: RetentionRun }) {
  const entries = Object.entries(run.counts);
  if (entries.length === 0) return <span className="muted">Nothing</span>;
  return (
    <span className="small">
      {entries
        .map(
          ([key, n]) => `${countLabel(key)}: ${key === "more" ? (n ? "yes" : "no") : n.toLocaleString("en")}`,
        )
        .join(" · ")}
    </span>
  );
}
