/**
 * An audience's page. A segment: its rules in the visual builder, with a live count and a sample of
 * the contacts they match as they are edited (the server checks each draft and says which condition is
 * wrong). A static list: its members, finding contacts to add, and removing them. Both: rename, delete
 * (after a confirmation); a segment can also be frozen into a list of its current members.
 */
import type { Audience } from "@omneural/contracts/audiences";
import type { Contact } from "@omneural/contracts/contacts";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation } from "wouter";
import { ApiError, api } from "../api.ts";
import { errorsFrom, Field, type FieldErrors } from "../components/Field.tsx";
import { Alert, EmptyState, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import { checkRule } from "../components/rules/checkRule.ts";
import { CheckboxField } from "../components/rules/controls.tsx";
import { RuleBuilder } from "../components/rules/RuleBuilder.tsx";
import { RuleBuilderContext, type RuleBuilderSettings } from "../components/rules/ruleContext.ts";
import { countLeaves, type Rule } from "../components/rules/ruleModel.ts";
import { can, useSession } from "../session.ts";
import { audiencesApi, KIND_LABELS, MemberCount, STARTING_RULE } from "./Audiences.tsx";
import "../styles/audiences.css";

export default function AudienceEditor({ params }: { params: { id: string } }) {
  const audience = useQuery({
    queryKey: ["audience", params.id],
    queryFn: () => audiencesApi.get(params.id),
  });
  if (audience.isPending) return <Loading label="Loading the audience" />;
  if (audience.error) return <PageError error={audience.error} />;
  return <AudiencePage key={audience.data.id} audience={audience.data} />;
}

function AudiencePage({ audience }: { audience: Audience }) {
  const session = useSession();
  const writable = can(session.role, "write");
  return (
    <div className="page audiences">
      <header className="page-header">
        <div>
          <p className="eyebrow">
            <Link href="/audiences">Audiences</Link> · {KIND_LABELS[audience.kind]}
          </p>
          <h1>{audience.name}</h1>
          <p className="muted">
            Changed {new Date(audience.updatedAt).toLocaleString()} · <MemberCount id={audience.id} /> members
            {audience.kind === "segment" ? " with the saved rules" : ""}
          </p>
        </div>
      </header>
      {writable ? null : (
        <Alert tone="info">You are a viewer: you can look at this audience but not change it.</Alert>
      )}
      {audience.kind === "segment" ? (
        <SegmentEditor audience={audience} writable={writable} />
      ) : (
        <ListEditor audience={audience} writable={writable} />
      )}
      {writable ? <DangerZone audience={audience} /> : null}
    </div>
  );
}

/** A value that follows `value` once it has stopped changing for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

const SAVE_FIELDS = ["name", "listened"] as const;

function SegmentEditor({ audience, writable }: { audience: Audience; writable: boolean }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(audience.name);
  const [listened, setListened] = useState(audience.listened);
  const [rule, setRule] = useState<Rule>(() => (audience.definition as Rule | null) ?? STARTING_RULE);
  const [saveErrors, setSaveErrors] = useState<FieldErrors<(typeof SAVE_FIELDS)[number]>>({});
  const [serverRuleErrors, setServerRuleErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  const local = useMemo(() => checkRule(rule), [rule]);
  const localOk = Object.keys(local).length === 0;
  const draft = useDebounced(rule, 400);
  const settled = draft === rule;
  const preview = useQuery({
    queryKey: ["audiences", "preview", JSON.stringify(draft)],
    queryFn: ({ signal }) => audiencesApi.preview(draft, signal),
    enabled: localOk && settled,
    retry: false,
    placeholderData: keepPreviousData,
  });
  const previewErrors =
    settled && preview.error instanceof ApiError ? definitionErrors(preview.error.fields) : {};
  const ruleErrors = { ...previewErrors, ...serverRuleErrors, ...local };
  const problemCount = Object.keys(ruleErrors).length;

  const save = useMutation({
    mutationFn: () => audiencesApi.patch(audience.id, { name: name.trim(), definition: rule, listened }),
    onSuccess: (updated) => {
      setSaved(true);
      setSaveErrors({});
      setServerRuleErrors({});
      queryClient.setQueryData(["audience", audience.id], updated);
      queryClient.invalidateQueries({ queryKey: ["audiences"] });
      queryClient.invalidateQueries({ queryKey: ["audience", audience.id, "count"] });
    },
    onError: (error) => {
      setSaved(false);
      setSaveErrors(errorsFrom(error, SAVE_FIELDS));
      if (error instanceof ApiError) setServerRuleErrors(definitionErrors(error.fields));
    },
  });

  function changeRule(next: Rule) {
    setRule(next);
    setSaved(false);
    setServerRuleErrors({});
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setSaveErrors({ name: "Give it a name." });
      return;
    }
    if (!localOk) {
      setSaveErrors({ form: "Some conditions are not finished: see the messages next to them." });
      return;
    }
    setSaveErrors({});
    save.mutate();
  }

  const dirty =
    name.trim() !== audience.name ||
    listened !== audience.listened ||
    canonical(rule) !== canonical(audience.definition);
  const settings: RuleBuilderSettings = {
    errors: ruleErrors,
    root: "definition",
    allowEntryEvent: false,
    currentAudienceId: audience.id,
  };
  const saveFormError = Object.keys(serverRuleErrors).length === 0 ? saveErrors.form : undefined;

  return (
    <div className="audience-editor">
      <form onSubmit={submit} noValidate className="card audience-rules" aria-label="Segment rules">
        <Field
          label="Name"
          value={name}
          onChange={(value) => {
            setName(value);
            setSaved(false);
          }}
          error={saveErrors.name}
          disabled={!writable}
          autoComplete="off"
        />
        <h2>Who is in it</h2>
        <RuleBuilderContext.Provider value={settings}>
          <RuleBuilder value={rule} onChange={changeRule} disabled={!writable} label="Segment rules" />
        </RuleBuilderContext.Provider>
        <CheckboxField
          label="Keep membership up to date as contacts change and events arrive (for journeys that start when someone enters)"
          checked={listened}
          onChange={(checked) => {
            setListened(checked);
            setSaved(false);
          }}
          disabled={!writable}
        />
        {saveErrors.listened ? <p className="field-error">{saveErrors.listened}</p> : null}
        {problemCount > 0 ? (
          <Alert>
            {problemCount === 1
              ? "One thing needs fixing before these rules can be used: see the message next to the condition."
              : `${problemCount} things need fixing before these rules can be used: see the messages next to the conditions.`}
          </Alert>
        ) : null}
        {saveFormError ? <Alert>{saveFormError}</Alert> : null}
        {writable ? (
          <div className="form-actions">
            <button type="submit" className="button primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save"}
            </button>
            <span role="status" className="muted">
              {saved ? "Saved." : dirty ? "Unsaved changes" : ""}
            </span>
          </div>
        ) : null}
      </form>
      <LivePreview
        count={preview.data?.count}
        sample={preview.data?.sample}
        busy={(localOk && !settled) || preview.isFetching}
        blocked={!localOk || Object.keys(previewErrors).length > 0}
        otherError={
          settled && preview.error && Object.keys(previewErrors).length === 0
            ? messageOf(preview.error)
            : undefined
        }
        conditions={countLeaves(rule)}
      />
      {writable ? <FreezePanel audience={audience} /> : null}
    </div>
  );
}

/** JSON with sorted keys, to compare trees whatever order the database gave their keys. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The errors about the definition, by path. */
function definitionErrors(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([field]) => field.startsWith("definition")));
}

function LivePreview({
  count,
  sample,
  busy,
  blocked,
  otherError,
  conditions,
}: {
  count: number | undefined;
  sample: Contact[] | undefined;
  busy: boolean;
  blocked: boolean;
  otherError: string | undefined;
  conditions: number;
}) {
  return (
    <section className="card audience-preview" aria-labelledby="preview-heading">
      <h2 id="preview-heading">Who matches now</h2>
      <div className="live-count" role="status" aria-live="polite" aria-busy={busy}>
        {busy ? (
          <span className="counting">
            <span className="spinner" aria-hidden="true" /> Counting…
          </span>
        ) : blocked ? (
          <span className="muted">Fix the highlighted conditions to see who matches.</span>
        ) : count !== undefined ? (
          <span>
            <strong className="live-count-number" data-testid="live-count">
              {count.toLocaleString()}
            </strong>{" "}
            {count === 1 ? "contact matches" : "contacts match"}
            <span className="muted small">
              {" "}
              ({conditions} {conditions === 1 ? "condition" : "conditions"})
            </span>
          </span>
        ) : null}
      </div>
      {otherError ? <Alert>{otherError}</Alert> : null}
      {sample && !blocked ? (
        sample.length ? (
          <>
            <h3 className="small">
              {sample.length < (count ?? 0) ? `A sample of ${sample.length}` : "All of them"}
            </h3>
            <ul className="sample-list" aria-label="Sample of matching contacts">
              {sample.map((contact) => (
                <li key={contact.id}>
                  <Link href={`/contacts/${contact.id}`}>{contactName(contact)}</Link>
                  {contact.email && contactName(contact) !== contact.email ? (
                    <span className="muted small"> {contact.email}</span>
                  ) : null}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p className="muted">
            Nobody matches yet. Loosen a condition, or use “any of these” so that one condition is enough.
          </p>
        )
      ) : null}
    </section>
  );
}

export function contactName(contact: Contact): string {
  const full = [contact.firstName, contact.lastName].filter(Boolean).join(" ");
  return full || contact.email || contact.phone || contact.externalId || "A contact without a name";
}

function FreezePanel({ audience }: { audience: Audience }) {
  const [, navigate] = useLocation();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(`${audience.name} (frozen ${new Date().toLocaleDateString()})`);
  const [errors, setErrors] = useState<FieldErrors<"name">>({});
  const freeze = useMutation({
    mutationFn: () => audiencesApi.freeze(audience.id, name.trim()),
    onSuccess: (list) => navigate(`/audiences/${list.id}`),
    onError: (error) => setErrors(errorsFrom(error, ["name"] as const)),
  });
  return (
    <section className="card" aria-labelledby="freeze-heading">
      <h2 id="freeze-heading">Freeze into a static list</h2>
      <p className="muted">
        Copies the segment’s saved members as they are right now into a new static list, which will not change
        when contacts do. Useful to send exactly the same people a follow-up.
      </p>
      {open ? (
        <form
          noValidate
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (!name.trim()) setErrors({ name: "Give the list a name." });
            else freeze.mutate();
          }}
        >
          <Field label="Name of the new list" value={name} onChange={setName} error={errors.name} />
          <button type="submit" className="button primary" disabled={freeze.isPending}>
            {freeze.isPending ? "Freezing…" : "Freeze"}
          </button>
          <button type="button" className="button secondary" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" className="button secondary" onClick={() => setOpen(true)}>
          Freeze into a list…
        </button>
      )}
      {errors.form ? <Alert>{errors.form}</Alert> : null}
    </section>
  );
}

function DangerZone({ audience }: { audience: Audience }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);
  const remove = useMutation({
    mutationFn: () => audiencesApi.remove(audience.id),
    onSuccess: () => {
      queryClient.invalidateQueries({ queryKey: ["audiences"] });
      navigate("/audiences");
    },
  });
  return (
    <section className="card danger-zone" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete this audience</h2>
      {confirming ? (
        <div className="audience-confirm" role="alertdialog" aria-labelledby="delete-question">
          <p id="delete-question">
            Delete “{audience.name}” for good? Campaigns that already used it keep their members, but it can
            no longer be chosen.
          </p>
          <div className="button-row">
            <button
              ref={confirmButton}
              type="button"
              className="button danger"
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              {remove.isPending ? "Deleting…" : "Yes, delete it"}
            </button>
            <button type="button" className="button secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      ) : (
        <button type="button" className="button secondary" onClick={() => setConfirming(true)}>
          Delete…
        </button>
      )}
      {remove.error ? <Alert>{messageOf(remove.error)}</Alert> : null}
    </section>
  );
}

function ListEditor({ audience, writable }: { audience: Audience; writable: boolean }) {
  const queryClient = useQueryClient();
  const pages = useCursorPages();
  const { cursor } = pages;
  const members = useQuery({
    queryKey: ["audience", audience.id, "members", cursor],
    queryFn: () => audiencesApi.members(audience.id, cursor),
  });
  const [notice, setNotice] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: (input: { contact: Contact; change: "add" | "remove" }) =>
      audiencesApi.changeMembers(audience.id, [input.contact.id], input.change),
    onSuccess: (result, input) => {
      const who = contactName(input.contact);
      setNotice(
        input.change === "add"
          ? result.changed
            ? `${who} was added to the list.`
            : `${who} was already on the list.`
          : `${who} was removed from the list.`,
      );
      queryClient.invalidateQueries({ queryKey: ["audience", audience.id] });
    },
  });
  const busyId = change.isPending ? change.variables?.contact.id : undefined;
  return (
    <div className="audience-editor">
      {writable ? <RenameForm audience={audience} /> : null}
      <section className="card audience-members" aria-labelledby="members-heading">
        <h2 id="members-heading">Members</h2>
        {notice ? <Alert tone="success">{notice}</Alert> : null}
        {change.error ? <Alert>{messageOf(change.error)}</Alert> : null}
        {members.isPending ? <Loading label="Loading the members" /> : null}
        {members.error ? <PageError error={members.error} /> : null}
        {members.data && members.data.data.length === 0 && pages.page === 1 ? (
          <EmptyState title="Nobody on this list yet">
            <p>
              {writable
                ? "Find contacts by email or name below and add them one by one."
                : "A marketer or an admin can add contacts to it."}
            </p>
          </EmptyState>
        ) : null}
        {members.data && members.data.data.length > 0 ? (
          <>
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Members of {audience.name}</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    {writable ? (
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {members.data.data.map((contact) => (
                    <tr key={contact.id}>
                      <th scope="row">
                        <Link href={`/contacts/${contact.id}`}>{contactName(contact)}</Link>
                      </th>
                      <td>{contact.email ?? "—"}</td>
                      {writable ? (
                        <td>
                          <button
                            type="button"
                            className="button secondary small"
                            disabled={busyId === contact.id}
                            onClick={() => change.mutate({ contact, change: "remove" })}
                            aria-label={`Remove ${contactName(contact)} from the list`}
                          >
                            {busyId === contact.id ? "Removing…" : "Remove"}
                          </button>
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager pages={pages} nextCursor={members.data.nextCursor} label="Pages of members" />
          </>
        ) : null}
      </section>
      {writable ? (
        <AddMembers onAdd={(contact) => change.mutate({ contact, change: "add" })} busyId={busyId} />
      ) : null}
    </div>
  );
}

function AddMembers({ onAdd, busyId }: { onAdd: (contact: Contact) => void; busyId: string | undefined }) {
  const [search, setSearch] = useState("");
  const term = useDebounced(search.trim(), 300);
  const results = useQuery({
    queryKey: ["contacts", "search", term],
    queryFn: () => api.contacts({ search: term, limit: 10 }),
    enabled: term.length > 0,
  });
  return (
    <section className="card" aria-labelledby="add-heading">
      <h2 id="add-heading">Add contacts</h2>
      <Field
        label="Find contacts by email or name"
        type="search"
        value={search}
        onChange={setSearch}
        autoComplete="off"
        hint="Type a few letters; the first 10 matches are shown."
      />
      {term && results.isFetching ? <Loading label="Searching" /> : null}
      {results.error ? <Alert>{messageOf(results.error)}</Alert> : null}
      {term && results.data ? (
        results.data.data.length ? (
          <ul className="search-results" aria-label="Contacts found">
            {results.data.data.map((contact) => (
              <li key={contact.id}>
                <span>
                  {contactName(contact)}
                  {contact.email && contact.email !== contactName(contact) ? (
                    <span className="muted small"> {contact.email}</span>
                  ) : null}
                </span>
                <button
                  type="button"
                  className="button secondary small"
                  disabled={busyId === contact.id}
                  onClick={() => onAdd(contact)}
                  aria-label={`Add ${contactName(contact)} to the list`}
                >
                  {busyId === contact.id ? "Adding…" : "Add"}
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">
            No contact matches “{term}”. Check the spelling, or import them on the Contacts page.
          </p>
        )
      ) : null}
    </section>
  );
}

function RenameForm({ audience }: { audience: Audience }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(audience.name);
  const [errors, setErrors] = useState<FieldErrors<"name">>({});
  const rename = useMutation({
    mutationFn: () => audiencesApi.patch(audience.id, { name: name.trim() }),
    onSuccess: (updated) => {
      setErrors({});
      queryClient.setQueryData(["audience", audience.id], updated);
      queryClient.invalidateQueries({ queryKey: ["audiences"] });
    },
    onError: (error) => setErrors(errorsFrom(error, ["name"] as const)),
  });
  return (
    <form
      noValidate
      className="card inline-form"
      aria-label="Rename the list"
      onSubmit={(event) => {
        event.preventDefault();
        if (!name.trim()) setErrors({ name: "Give it a name." });
        else rename.mutate();
      }}
    >
      <Field label="Name" value={name} onChange={setName} error={errors.name} autoComplete="off" />
      <button
        type="submit"
        className="button secondary"
        disabled={rename.isPending || name.trim() === audience.name}
      >
        {rename.isPending ? "Renaming…" : "Rename"}
      </button>
      {rename.isSuccess && name.trim() === audience.name ? (
        <span role="status" className="muted">
          Renamed.
        </span>
      ) : null}
      {errors.form ? <Alert>{errors.form}</Alert> : null}
    </form>
  );
}
