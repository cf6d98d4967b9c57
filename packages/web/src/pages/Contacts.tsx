/**
 * Contacts: the import wizard, search and filters (attributes, archived), pages of 25, and an export of
 * everything the current search and filters match as CSV.
 */
import type { ContactList } from "@omneural/contracts/contacts";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { Static } from "typebox";
import { Link } from "wouter";
import { type Contact, request } from "../api.ts";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { ImportWizard } from "../components/import/ImportWizard.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import "../styles/contacts.css";

export function contactName(contact: Contact): string {
  const name = [contact.firstName, contact.lastName].filter(Boolean).join(" ");
  return name || contact.email || contact.phone || contact.externalId || "(no name)";
}

type Archived = "exclude" | "include" | "only";

interface Filters {
  search: string;
  /** key:value pairs, all of which must match. */
  attributes: { key: string; value: string }[];
  archived: Archived;
}

const NO_FILTERS: Filters = { search: "", attributes: [], archived: "exclude" };
const ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The query string GET /contacts and GET /contacts/export.csv share. */
function filterParams(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.search) params.set("search", filters.search);
  for (const { key, value } of filters.attributes) params.append("attribute", `${key}:${value}`);
  if (filters.archived !== "exclude") params.set("archived", filters.archived);
  return params;
}

function listContacts(filters: Filters, cursor: string | undefined) {
  const params = filterParams(filters);
  params.set("limit", "25");
  if (cursor) params.set("cursor", cursor);
  return request<Static<typeof ContactList>>("GET", `/api/v1/contacts?${params}`);
}

export default function Contacts() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [filterError, setFilterError] = useState<string>();
  // Cursors of the pages seen so far: the last one is the current page's.
  const pages = useCursorPages();
  const { cursor } = pages;
  const contacts = useQuery({
    queryKey: ["contacts", filterParams(applied).toString(), cursor],
    queryFn: () => listContacts(applied, cursor),
    placeholderData: keepPreviousData,
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const attributes = draft.attributes
      .map((a) => ({ key: a.key.trim(), value: a.value.trim() }))
      .filter((a) => a.key || a.value);
    const bad = attributes.find((a) => !ATTRIBUTE_KEY.test(a.key));
    if (bad) {
      setFilterError(
        bad.key
          ? `“${bad.key}” is not an attribute name: names use letters, digits and _.`
          : "Give the attribute's name.",
      );
      return;
    }
    setFilterError(undefined);
    setApplied({ ...draft, search: draft.search.trim(), attributes });
    pages.reset();
  }

  function clear() {
    setDraft(NO_FILTERS);
    setApplied(NO_FILTERS);
    setFilterError(undefined);
    pages.reset();
  }

  const filtered = Boolean(applied.search || applied.attributes.length || applied.archived !== "exclude");
  const empty = contacts.data && contacts.data.data.length === 0 && pages.page === 1;
  const exportQuery = filterParams(applied).toString();
  const exportHref = `/api/v1/contacts/export.csv${exportQuery ? `?${exportQuery}` : ""}`;
  const setAttribute = (index: number, change: Partial<{ key: string; value: string }>) =>
    setDraft((d) => ({
      ...d,
      attributes: d.attributes.map((a, i) => (i === index ? { ...a, ...change } : a)),
    }));

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Contacts</h1>
          <p className="muted">The people this workspace may contact.</p>
        </div>
      </header>

      <ImportWizard />

      <search className="search contact-filters">
        <form onSubmit={submit} noValidate aria-label="Search and filter contacts">
          <label htmlFor="contact-search">Search contacts</label>
          <div className="search-row">
            <input
              id="contact-search"
              type="search"
              value={draft.search}
              placeholder="Email, phone or name"
              onChange={(event) => setDraft({ ...draft, search: event.target.value })}
            />
            <button type="submit" className="button secondary">
              Search
            </button>
          </div>
          <div className="filter-row">
            <div className="field">
              <label htmlFor="contact-archived">Archived contacts</label>
              <select
                id="contact-archived"
                value={draft.archived}
                onChange={(event) => setDraft({ ...draft, archived: event.target.value as Archived })}
              >
                <option value="exclude">Hide archived</option>
                <option value="include">Show archived too</option>
                <option value="only">Only archived</option>
              </select>
            </div>
            {draft.attributes.map((attribute, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: filters are edited in place
              <fieldset key={index} className="attribute-filter">
                <legend>Attribute filter {index + 1}</legend>
                <label htmlFor={`attr-key-${index}`}>Attribute</label>
                <input
                  id={`attr-key-${index}`}
                  value={attribute.key}
                  placeholder="plan"
                  onChange={(event) => setAttribute(index, { key: event.target.value })}
                />
                <label htmlFor={`attr-value-${index}`}>equals</label>
                <input
                  id={`attr-value-${index}`}
                  value={attribute.value}
                  placeholder="pro"
                  onChange={(event) => setAttribute(index, { value: event.target.value })}
                />
                <button
                  type="button"
                  className="link-button"
                  onClick={() =>
                    setDraft((d) => ({ ...d, attributes: d.attributes.filter((_, i) => i !== index) }))
                  }
                >
                  Remove<span className="visually-hidden"> attribute filter {index + 1}</span>
                </button>
              </fieldset>
            ))}
            {draft.attributes.length < 10 ? (
              <button
                type="button"
                className="button secondary small"
                onClick={() =>
                  setDraft((d) => ({ ...d, attributes: [...d.attributes, { key: "", value: "" }] }))
                }
              >
                Add attribute filter
              </button>
            ) : null}
            {filtered ? (
              <button type="button" className="button secondary small" onClick={clear}>
                Clear filters
              </button>
            ) : null}
          </div>
          {filterError ? (
            <p className="field-error" role="alert">
              {filterError}
            </p>
          ) : null}
        </form>
      </search>

      <div className="contacts-toolbar">
        <p className="muted small" aria-live="polite">
          {filtered ? "Showing the contacts that match your search and filters." : "Showing all contacts."}
        </p>
        <a className="button secondary small" href={exportHref} download>
          Export CSV
          <span className="visually-hidden">
            {filtered ? " of the contacts matching the filters" : " of all contacts"}
          </span>
        </a>
      </div>

      {contacts.isPending ? <Loading label="Loading contacts" /> : null}
      {contacts.error ? <PageError error={contacts.error} /> : null}
      {empty && !filtered ? (
        <EmptyState title="No contacts yet">
          <p>
            Import a CSV file above to bring in your customers and prospects: it is the first step to a
            campaign.
          </p>
        </EmptyState>
      ) : null}
      {empty && filtered ? (
        <p className="muted">
          No contact matches{applied.search ? ` “${applied.search}”` : " these filters"}. Try fewer filters,
          or clear them.
        </p>
      ) : null}
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
                      {contact.archivedAt ? <span className="badge neutral">archived</span> : null}
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
