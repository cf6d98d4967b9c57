/** Audiences: the workspace's segments (rule-based) and static lists, and making a new one. */
import type { Audience } from "@omneural/contracts/audiences";
import type { Contact } from "@omneural/contracts/contacts";
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Link } from "wouter";
import { request } from "../api.ts";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { NewNamedItemForm } from "../components/NewNamedItemForm.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import type { Rule } from "../components/rules/ruleModel.ts";
import { can, useSession } from "../session.ts";
import "../styles/audiences.css";

export type AudienceKind = Audience["kind"];
export const KIND_LABELS: Record<AudienceKind, string> = {
  segment: "Segment (rules)",
  list: "Static list",
};

/** What a new segment starts with: everyone who can be emailed, a rule most segments keep. */
export const STARTING_RULE: Rule = { kind: "all", rules: [{ kind: "reachable", channel: "email" }] };

const encode = encodeURIComponent;
type Page<T> = { data: T[]; nextCursor: string | null };

export const audiencesApi = {
  list: (cursor: string | undefined) =>
    request<Page<Audience>>("GET", `/api/v1/audiences?limit=25${cursor ? `&cursor=${encode(cursor)}` : ""}`),
  get: (id: string) => request<Audience>("GET", `/api/v1/audiences/${encode(id)}`),
  create: (name: string, kind: AudienceKind) =>
    request<Audience>(
      "POST",
      "/api/v1/audiences",
      kind === "list" ? { name, kind } : { name, kind, definition: STARTING_RULE },
    ),
  patch: (id: string, patch: { name?: string; definition?: Rule; listened?: boolean }) =>
    request<Audience>("PATCH", `/api/v1/audiences/${encode(id)}`, patch),
  remove: (id: string) => request<{ id: string; deleted: true }>("DELETE", `/api/v1/audiences/${encode(id)}`),
  count: (id: string) =>
    request<{ count: number; computedAt: string; ageSeconds: number; cached: boolean }>(
      "GET",
      `/api/v1/audiences/${encode(id)}/count`,
    ),
  preview: (definition: Rule, signal?: AbortSignal) =>
    request<{ count: number; sample: Contact[]; tookMs: number }>(
      "POST",
      "/api/v1/audiences/preview",
      { definition },
      signal ? { signal } : {},
    ),
  members: (id: string, cursor: string | undefined) =>
    request<Page<Contact>>(
      "GET",
      `/api/v1/audiences/${encode(id)}/members?limit=25${cursor ? `&cursor=${encode(cursor)}` : ""}`,
    ),
  changeMembers: (id: string, contactIds: string[], change: "add" | "remove") =>
    request<{ changed: number; unchanged: number; notFound: string[] }>(
      "POST",
      `/api/v1/audiences/${encode(id)}/members${change === "remove" ? "/remove" : ""}`,
      { contactIds },
    ),
  freeze: (id: string, name: string) =>
    request<Audience>("POST", `/api/v1/audiences/${encode(id)}/freeze`, { name }),
};

export default function Audiences() {
  const session = useSession();
  const pages = useCursorPages();
  const { cursor } = pages;
  const audiences = useQuery({
    queryKey: ["audiences", "page", cursor],
    queryFn: () => audiencesApi.list(cursor),
  });
  const empty = audiences.data && audiences.data.data.length === 0 && pages.page === 1;
  return (
    <div className="page audiences">
      <header className="page-header">
        <div>
          <h1>Audiences</h1>
          <p className="muted">
            Who a campaign or journey reaches. A <strong>segment</strong> is described by rules (for example
            “lives in Springfield and opened an email in the last 30 days”) and its members change as your
            contacts do. A <strong>static list</strong> holds exactly the contacts you add to it.
          </p>
        </div>
      </header>
      {can(session.role, "write") ? <NewAudienceForm /> : null}
      {audiences.isPending ? <Loading label="Loading audiences" /> : null}
      {audiences.error ? <PageError error={audiences.error} /> : null}
      {empty ? (
        <EmptyState title="No audiences yet">
          <p>
            {can(session.role, "write")
              ? "Make the first one above: a segment to describe who you want to reach with rules, or a static list to pick contacts by hand."
              : "Nobody has made an audience yet. A marketer or an admin can make one."}
          </p>
        </EmptyState>
      ) : null}
      {audiences.data && audiences.data.data.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Audiences</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Members</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {audiences.data.data.map((audience) => (
                  <tr key={audience.id}>
                    <th scope="row">
                      <Link href={`/audiences/${audience.id}`}>{audience.name}</Link>
                    </th>
                    <td>
                      {KIND_LABELS[audience.kind]}
                      {audience.listened ? (
                        <span className="badge audience-badge">kept up to date</span>
                      ) : null}
                    </td>
                    <td>
                      <MemberCount id={audience.id} />
                    </td>
                    <td>{new Date(audience.updatedAt).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} nextCursor={audiences.data.nextCursor} label="Pages of audiences" />
        </>
      ) : null}
    </div>
  );
}

/** The member count of one audience (the server caches it for a minute). */
export function MemberCount({ id }: { id: string }) {
  const count = useQuery({ queryKey: ["audience", id, "count"], queryFn: () => audiencesApi.count(id) });
  if (count.isPending)
    return (
      <span className="muted" role="status">
        <span className="spinner small-spinner" aria-hidden="true" /> counting…
      </span>
    );
  if (count.error) return <span className="muted">unknown</span>;
  return <>{count.data.count.toLocaleString()}</>;
}

function NewAudienceForm() {
  const [kind, setKind] = useState<AudienceKind>("segment");
  const kindName = useId();
  return (
    <NewNamedItemForm
      title="New audience"
      namePlaceholder="e.g. Springfield regulars"
      submitLabel="Make and edit"
      extraFields={["kind"]}
      create={(name) => audiencesApi.create(name, kind)}
      hrefOf={(id) => `/audiences/${id}`}
      formClassName="new-audience-form"
    >
      {(errors) => (
        <fieldset className="audience-kind-choice">
          <legend>Kind</legend>
          {(["segment", "list"] as const).map((value) => (
            <label key={value} className="choice-option">
              <input
                type="radio"
                name={kindName}
                value={value}
                checked={kind === value}
                onChange={() => setKind(value)}
              />
              <span>
                <strong>{value === "segment" ? "Rule-based segment" : "Static list"}</strong>
                <span className="muted small">
                  {value === "segment"
                    ? " Members are whoever matches your rules, now and later."
                    : " Exactly the contacts you add."}
                </span>
              </span>
            </label>
          ))}
          {errors.kind ? <p className="field-error">{errors.kind}</p> : null}
        </fieldset>
      )}
    </NewNamedItemForm>
  );
}
