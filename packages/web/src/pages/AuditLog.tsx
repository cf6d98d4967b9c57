/** Settings → Audit log: who changed or exported what, and when (owners and admins; docs/audit-log.md). */
import type { AuditEntry, AuditList } from "@omneural/contracts/audit";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { request } from "../api.ts";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import { can, useSession } from "../session.ts";

interface Filters {
  action?: string;
  objectId?: string;
}

function auditPage(filters: Filters, cursor: string | undefined) {
  const query = new URLSearchParams({ limit: "50" });
  if (filters.action) query.set("action", filters.action);
  if (filters.objectId) query.set("objectId", filters.objectId);
  if (cursor) query.set("cursor", cursor);
  return request<AuditList>("GET", `/api/v1/audit?${query}`);
}

const ACTOR_KINDS: Record<AuditEntry["actor"]["kind"], string> = {
  user: "Member",
  api_key: "API key",
  system: "Omneural",
  cli: "Command line",
  anonymous: "Not signed in",
};

export default function AuditLog() {
  const session = useSession();
  const admin = can(session.role, "admin");
  const [action, setAction] = useState("");
  const [objectId, setObjectId] = useState("");
  const [applied, setApplied] = useState<Filters>({});
  const [actionError, setActionError] = useState<string>();
  const pages = useCursorPages();
  const { cursor } = pages;
  const entries = useQuery({
    queryKey: ["audit", applied, cursor],
    queryFn: () => auditPage(applied, cursor),
    enabled: admin,
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const wanted = action.trim().toLowerCase();
    if (wanted && !/^[a-z_]+(\.[a-z_]+)?\.?$/.test(wanted)) {
      setActionError("An action such as campaign.launch, or an object type such as campaign.");
      return;
    }
    setActionError(undefined);
    setApplied({ action: wanted || undefined, objectId: objectId.trim() || undefined });
    pages.reset();
  }

  const filtered = Boolean(applied.action || applied.objectId);
  const empty = entries.data && entries.data.data.length === 0 && pages.page === 1;
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">Settings</p>
          <h1>Audit log</h1>
          <p className="muted">
            Who changed, launched, exported or erased what in {session.workspace.name}, and when: members, API
            keys, command-line administrators and Omneural's own scheduled jobs. It never holds a request's
            content, only ids and a few facts.
          </p>
        </div>
      </header>
      {!admin ? (
        <p className="muted">Only owners and admins can read the audit log.</p>
      ) : (
        <>
          <search className="search">
            <form onSubmit={submit} noValidate className="filters">
              <div className="field">
                <label htmlFor="audit-action">Action or object type</label>
                <input
                  id="audit-action"
                  value={action}
                  placeholder="campaign.launch or campaign"
                  aria-invalid={actionError ? true : undefined}
                  aria-describedby={actionError ? "audit-action-error" : undefined}
                  onChange={(event) => setAction(event.target.value)}
                />
                {actionError ? (
                  <p id="audit-action-error" className="field-error">
                    {actionError}
                  </p>
                ) : null}
              </div>
              <div className="field">
                <label htmlFor="audit-object">Object id</label>
                <input
                  id="audit-object"
                  value={objectId}
                  onChange={(event) => setObjectId(event.target.value)}
                />
              </div>
              <button type="submit" className="button secondary">
                Filter
              </button>
            </form>
          </search>
          {entries.isPending ? <Loading label="Loading the audit log" /> : null}
          {entries.error ? <PageError error={entries.error} /> : null}
          {empty && !filtered ? (
            <EmptyState title="Nothing recorded yet">
              <p>Every change made through the web app, the API or the command line will be listed here.</p>
            </EmptyState>
          ) : null}
          {empty && filtered ? <p className="muted">No entry matches these filters.</p> : null}
          {entries.data && entries.data.data.length > 0 ? (
            <>
              <div className="table-wrap">
                <table className="table">
                  <caption className="visually-hidden">Audit log entries, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Who</th>
                      <th scope="col">Action</th>
                      <th scope="col">Object</th>
                      <th scope="col">Details</th>
                    </tr>
                  </thead>
                  <tbody>
                    {entries.data.data.map((entry) => (
                      <tr key={entry.id}>
                        <td>{new Date(entry.at).toLocaleString()}</td>
                        <th scope="row">
                          {entry.actor.label}
                          <br />
                          <span className="muted small">{ACTOR_KINDS[entry.actor.kind]}</span>
                        </th>
                        <td>
                          <code>{entry.action}</code>
                          {entry.status && entry.status >= 400 ? (
                            <span className="muted small"> (refused, {entry.status})</span>
                          ) : null}
                        </td>
                        <td>
                          {entry.objectType}
                          {entry.objectId ? (
                            <>
                              <br />
                              <code className="small">{entry.objectId}</code>
                            </>
                          ) : null}
                        </td>
                        <td className="small">
                          {Object.entries(entry.details)
                            .map(
                              ([key, value]) =>
                                `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`,
                            )
                            .join(", ") || "—"}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager
                pages={pages}
                nextCursor={entries.data.nextCursor}
                label="Pages of the audit log"
                labels={["Newer", "Older"]}
              />
            </>
          ) : null}
        </>
      )}
    </div>
  );
}
