/**
 * "Why did or didn't this person get it?": finds a contact by email (or phone or name) and opens their
 * trace through the campaign.
 */
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { Link, useLocation } from "wouter";
import { Alert, messageOf } from "../feedback.tsx";
import { campaignApi } from "./campaignApi.ts";

export function MemberSearch({ campaignId }: { campaignId: string }) {
  const id = useId();
  const [, navigate] = useLocation();
  const [search, setSearch] = useState("");
  const [error, setError] = useState<string>();
  const find = useMutation({
    mutationFn: (term: string) => campaignApi.searchContacts(term),
    onSuccess: (page, term) => {
      const exact = page.data.filter((c) => c.email?.toLowerCase() === term.toLowerCase());
      if (exact.length === 1 && exact[0]) navigate(`/reports/${campaignId}/members/${exact[0].id}`);
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const term = search.trim();
    if (!term) {
      setError("Type an email address, a phone number or a name.");
      return;
    }
    setError(undefined);
    find.mutate(term);
  }
  const results = find.data?.data;
  return (
    <search className="member-search">
      <form onSubmit={submit} noValidate className="filters">
        <div className={`field${error ? " field-invalid" : ""}`}>
          <label htmlFor={`${id}-q`}>Find a member</label>
          <input
            id={`${id}-q`}
            type="search"
            value={search}
            placeholder="name@example.com"
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
            onChange={(event) => setSearch(event.target.value)}
          />
          <p id={`${id}-hint`} className="field-hint">
            See what this campaign did for one person, step by step, and why.
          </p>
          {error ? (
            <p id={`${id}-error`} className="field-error">
              {error}
            </p>
          ) : null}
        </div>
        <button type="submit" className="button secondary" disabled={find.isPending}>
          {find.isPending ? "Searching…" : "Find"}
        </button>
      </form>
      {find.error ? <Alert>{messageOf(find.error)}</Alert> : null}
      {results && results.length === 0 ? (
        <p className="muted">No contact matches “{find.variables}”.</p>
      ) : null}
      {results && results.length > 0 ? (
        <ul className="member-results" aria-label="Matching contacts">
          {results.map((contact) => (
            <li key={contact.id}>
              <Link href={`/reports/${campaignId}/members/${contact.id}`}>
                {[contact.firstName, contact.lastName].filter(Boolean).join(" ") ||
                  contact.email ||
                  contact.phone ||
                  contact.id}
              </Link>
              {contact.email ? <span className="muted small"> {contact.email}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </search>
  );
}
