/** Contacts: search, pages of 25, and a CSV import with its progress. */

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useRef, useState } from "react";
import { Link } from "wouter";
import { api, type Contact } from "../api.ts";
import { Alert, EmptyState, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import { can, useSession } from "../session.ts";

export function contactName(contact: Contact): string {
  const name = [contact.firstName, contact.lastName].filter(Boolean).join(" ");
  return name || contact.email || contact.phone || contact.externalId || "(no name)";
}

export default function Contacts() {
  const [search, setSearch] = useState("");
  const [applied, setApplied] = useState("");
  // Cursors of the pages seen so far: the last one is the current page's.
  const pages = useCursorPages();
  const { cursor } = pages;
  const contacts = useQuery({
    queryKey: ["contacts", applied, cursor],
    queryFn: () => api.contacts({ search: applied || undefined, cursor }),
    placeholderData: keepPreviousData,
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setApplied(search.trim());
    pages.reset();
  }

  const empty = contacts.data && contacts.data.data.length === 0 && pages.page === 1;

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Contacts</h1>
          <p className="muted">The people this workspace may contact.</p>
        </div>
      </header>

      <ImportPanel />

      <search className="search">
        <form onSubmit={submit}>
          <label htmlFor="contact-search">Search contacts</label>
          <div className="search-row">
            <input
              id="contact-search"
              type="search"
              value={search}
              placeholder="Email, phone or name"
              onChange={(event) => setSearch(event.target.value)}
            />
            <button type="submit" className="button secondary">
              Search
            </button>
          </div>
        </form>
      </search>

      {contacts.isPending ? <Loading label="Loading contacts" /> : null}
      {contacts.error ? <PageError error={contacts.error} /> : null}
      {empty && !applied ? (
        <EmptyState title="No contacts yet">
          <p>
            Import a CSV file above to bring in your customers and prospects: it is the first step to a
            campaign.
          </p>
        </EmptyState>
      ) : null}
      {empty && applied ? <p className="muted">No contact matches “{applied}”.</p> : null}
      {contacts.data && contacts.data.data.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Contacts</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Phone</th>
                  <th scope="col">Email consent</th>
                  <th scope="col">Added</th>
                </tr>
              </thead>
              <tbody>
                {contacts.data.data.map((contact) => (
                  <tr key={contact.id}>
                    <th scope="row">
                      <Link href={`/contacts/${contact.id}`}>{contactName(contact)}</Link>
                    </th>
                    <td>{contact.email ?? "—"}</td>
                    <td>{contact.phone ?? "—"}</td>
                    <td>
                      <ConsentBadge status={contact.consent.email} />
                    </td>
                    <td>{new Date(contact.createdAt).toLocaleDateString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} nextCursor={contacts.data.nextCursor} label="Pages of contacts" />
        </>
      ) : null}
    </div>
  );
}

export function ConsentBadge({ status }: { status: string }) {
  const tone = status === "subscribed" ? "success" : status === "never_asked" ? "neutral" : "warning";
  return <span className={`badge ${tone}`}>{status.replace("_", " ")}</span>;
}

/** Upload a CSV and follow the import to the end. */
function ImportPanel() {
  const session = useSession();
  const writer = can(session.role, "write");
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string>();
  const [importId, setImportId] = useState<string>();
  const upload = useMutation({
    mutationFn: (chosen: File) => api.importContacts(chosen),
    onSuccess: (accepted) => setImportId(accepted.id),
  });
  const status = useQuery({
    queryKey: ["import", importId],
    queryFn: () => api.importStatus(importId!),
    enabled: Boolean(importId),
    refetchInterval: (query) => {
      const state = query.state.data?.status;
      if (state === "completed" || state === "failed") {
        queryClient.invalidateQueries({ queryKey: ["contacts"] });
        return false;
      }
      return 1000;
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!file) return setFileError("Choose a CSV file first");
    if (!/\.(csv|txt|tsv)$/i.test(file.name)) return setFileError("Choose a .csv file");
    setFileError(undefined);
    setImportId(undefined);
    upload.mutate(file);
  }

  const current = status.data;
  return (
    <section className="card import-panel" aria-labelledby="import-heading">
      <h2 id="import-heading">Import contacts from a CSV file</h2>
      {writer ? null : <p className="muted small">Viewers cannot import contacts.</p>}
      <form onSubmit={submit} className="import-form" noValidate>
        <div className={`field${fileError ? " field-invalid" : ""}`}>
          <label htmlFor={inputId}>CSV file</label>
          <input
            ref={input}
            id={inputId}
            type="file"
            accept=".csv,text/csv"
            disabled={!writer}
            aria-invalid={fileError ? true : undefined}
            aria-describedby={fileError ? `${inputId}-error` : `${inputId}-hint`}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
          <p id={`${inputId}-hint`} className="field-hint">
            Exports from HubSpot, Shopify, Mailchimp and spreadsheets work as they are; needs an email, phone
            or id column.
          </p>
          {fileError ? (
            <p id={`${inputId}-error`} className="field-error">
              {fileError}
            </p>
          ) : null}
        </div>
        <button type="submit" className="button primary" disabled={!writer || upload.isPending}>
          {upload.isPending ? "Uploading…" : "Import contacts"}
        </button>
      </form>
      {upload.error ? <Alert>{messageOf(upload.error)}</Alert> : null}
      {current ? (
        <div className="import-status" aria-live="polite">
          <progress max={1} value={current.progress} aria-label="Import progress" />
          <p>
            {current.status === "completed"
              ? `Done: ${current.counts.inserted} added, ${current.counts.updated} updated, ${current.counts.rejected} rejected.`
              : current.status === "failed"
                ? `The import failed: ${current.error ?? "unknown error"}`
                : `Importing… ${current.counts.rows.toLocaleString()} rows read.`}
          </p>
          {current.rejections.length > 0 ? (
            <details>
              <summary>{current.counts.rejected} rejected rows</summary>
              <ul>
                {current.rejections.slice(0, 10).map((r) => (
                  <li key={r.line}>
                    Line {r.line}: {r.reason}
                  </li>
                ))}
              </ul>
            </details>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
