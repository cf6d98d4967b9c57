/**
 * One contact's profile: details, consent per channel (changed by writers, with its history), attributes
 * (edited by writers), the audiences it is in, and a timeline of its events, messages, responses and
 * consent changes, newest first with "Load more". Writers may also download everything held about the
 * contact, restore an archived one, and erase it for good.
 */
import type {
  ContactActivityItem,
  ContactActivityPage,
  ContactAudienceList,
} from "@omneural/contracts/contact-activity";
import type { ContactErased, ContactExport, ContactPatch } from "@omneural/contracts/contacts";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useLocation } from "wouter";
import { ApiError, type Contact, request } from "../api.ts";
import { Field, SelectField } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import { contactName } from "./Contacts.tsx";
import "../styles/contact-profile.css";

const encode = encodeURIComponent;

const profileApi = {
  contact: (id: string) => request<Contact>("GET", `/api/v1/contacts/${encode(id)}`),
  patch: (id: string, body: ContactPatch) =>
    request<Contact>("PATCH", `/api/v1/contacts/${encode(id)}`, body),
  restore: (id: string) => request<Contact>("POST", `/api/v1/contacts/${encode(id)}/restore`),
  erase: (id: string) => request<ContactErased>("DELETE", `/api/v1/contacts/${encode(id)}`),
  audiences: (id: string) => request<ContactAudienceList>("GET", `/api/v1/contacts/${encode(id)}/audiences`),
  activity: (id: string, cursor: string | undefined) =>
    request<ContactActivityPage>(
      "GET",
      `/api/v1/contacts/${encode(id)}/activity?limit=25${cursor ? `&cursor=${encode(cursor)}` : ""}`,
    ),
  export: (id: string) => request<ContactExport>("GET", `/api/v1/contacts/${encode(id)}/export`),
};

const CHANNELS = ["email", "sms", "mail", "ads"] as const;
type Channel = (typeof CHANNELS)[number];
const CHANNEL_NAMES: Record<string, string> = {
  email: "Email",
  sms: "SMS",
  mail: "Direct mail",
  ads: "Ads",
  webhook: "Webhook",
};
const CONSENT_NAMES: Record<string, string> = {
  subscribed: "Subscribed",
  unsubscribed: "Unsubscribed",
  never_asked: "Never asked",
  bounced: "Bounced",
  complained: "Complained",
};

const when = (at: string) => new Date(at).toLocaleString();

export default function ContactProfile({ id }: { id: string }) {
  const session = useSession();
  const writable = can(session.role, "write");
  const contact = useQuery({ queryKey: ["contact", id], queryFn: () => profileApi.contact(id) });

  if (contact.isPending) return <Loading label="Loading the contact" />;
  if (contact.error) return <PageError error={contact.error} />;
  const c = contact.data;
  return (
    <div className="page contact-profile">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href="/contacts">Contacts</Link> <span aria-hidden="true">›</span> <span>{contactName(c)}</span>
      </nav>
      <header className="page-header">
        <div>
          <h1>
            {contactName(c)}
            {c.archivedAt ? <span className="badge caution">Archived</span> : null}
            {c.anonymisedAt ? <span className="badge neutral">Anonymised</span> : null}
          </h1>
          <p className="muted">
            Added {when(c.createdAt)} · updated {when(c.updatedAt)}
          </p>
        </div>
        {writable ? (
          <div className="profile-actions">
            <a
              className="button secondary small"
              href={`/api/v1/contacts/${encode(c.id)}/export`}
              download={`contact-${c.id}.json`}
            >
              Download personal data
            </a>
          </div>
        ) : null}
      </header>
      {c.archivedAt ? <ArchivedNotice contact={c} writable={writable} /> : null}
      <div className="grid-2">
        <section className="card" aria-labelledby="identity-heading">
          <h2 id="identity-heading">Details</h2>
          <dl className="details">
            <Detail label="Email" value={c.email} />
            <Detail label="Phone" value={c.phone} />
            <Detail label="External id" value={c.externalId} />
            <Detail label="Timezone" value={c.timezone} />
            <Detail label="Address" value={address(c)} />
          </dl>
        </section>
        <ConsentSection contact={c} writable={writable} />
      </div>
      <AttributesSection contact={c} writable={writable} />
      <AudiencesSection id={c.id} />
      <TimelineSection id={c.id} />
      {writable ? <EraseSection contact={c} /> : null}
    </div>
  );
}

function Detail({ label, value }: { label: string; value: string | null }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value || <span className="muted">—</span>}</dd>
    </div>
  );
}

function address(c: Contact): string | null {
  const a = c.address;
  const parts = [a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(" "), a.region, a.country];
  const text = parts.filter(Boolean).join(", ");
  return text || null;
}

/** After a change: the contact, its timeline (consent changes show there) and the contact lists. */
function useRefreshContact(id: string) {
  const queryClient = useQueryClient();
  return (updated: Contact) => {
    queryClient.setQueryData(["contact", id], updated);
    queryClient.invalidateQueries({ queryKey: ["contact-activity", id] });
    queryClient.invalidateQueries({ queryKey: ["contact-consent-history", id] });
    queryClient.invalidateQueries({ queryKey: ["contacts"] });
  };
}

function ArchivedNotice({ contact, writable }: { contact: Contact; writable: boolean }) {
  const refresh = useRefreshContact(contact.id);
  const restore = useMutation({ mutationFn: () => profileApi.restore(contact.id), onSuccess: refresh });
  return (
    <div className="alert alert-info archived-notice" role="status">
      <p>
        Archived since {when(contact.archivedAt!)} by a retention policy: the contact keeps all its data, but
        no audience, campaign or send selects it.
        {writable ? " Restore it to make it reachable again; journeys it was in stay ended." : null}
      </p>
      {writable ? (
        <button
          type="button"
          className="button secondary small"
          disabled={restore.isPending}
          onClick={() => restore.mutate()}
        >
          {restore.isPending ? "Restoring…" : "Restore the contact"}
        </button>
      ) : null}
      {restore.error ? <Alert>{messageOf(restore.error)}</Alert> : null}
    </div>
  );
}

// Consent ----------------------------------------------------------------------------------------------

const SETTABLE = ["subscribed", "unsubscribed", "never_asked"];

function ConsentSection({ contact, writable }: { contact: Contact; writable: boolean }) {
  const [editing, setEditing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  return (
    <section className="card" aria-labelledby="consent-heading">
      <div className="section-header">
        <h2 id="consent-heading">Consent</h2>
        {writable && !editing ? (
          <button type="button" className="button secondary small" onClick={() => setEditing(true)}>
            Change consent
          </button>
        ) : null}
      </div>
      {editing ? (
        <ConsentForm contact={contact} onDone={() => setEditing(false)} />
      ) : (
        <dl className="details">
          {CHANNELS.map((channel) => (
            <div key={channel}>
              <dt>{CHANNEL_NAMES[channel]}</dt>
              <dd>
                <ConsentStatusBadge status={contact.consent[channel]} />
              </dd>
            </div>
          ))}
        </dl>
      )}
      <button
        type="button"
        className="link-button"
        aria-expanded={showHistory}
        onClick={() => setShowHistory(!showHistory)}
      >
        {showHistory ? "Hide the history of consent" : "Show the history of consent"}
      </button>
      {showHistory ? <ConsentHistory id={contact.id} /> : null}
    </section>
  );
}

function ConsentStatusBadge({ status }: { status: string }) {
  const tone = status === "subscribed" ? "success" : status === "never_asked" ? "neutral" : "caution";
  return <span className={`badge ${tone}`}>{CONSENT_NAMES[status] ?? status}</span>;
}

function ConsentForm({ contact, onDone }: { contact: Contact; onDone: () => void }) {
  const refresh = useRefreshContact(contact.id);
  const [choices, setChoices] = useState<Record<Channel, string>>({ ...contact.consent });
  const save = useMutation({
    mutationFn: (changes: Partial<Record<Channel, string>>) =>
      profileApi.patch(contact.id, { consent: changes as ContactPatch["consent"] }),
    onSuccess: (updated) => {
      refresh(updated);
      onDone();
    },
  });
  const changes = Object.fromEntries(
    CHANNELS.filter((channel) => choices[channel] !== contact.consent[channel]).map((channel) => [
      channel,
      choices[channel],
    ]),
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    if (Object.keys(changes).length === 0) {
      onDone();
      return;
    }
    save.mutate(changes);
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Change consent" className="consent-form">
      {CHANNELS.map((channel) => {
        const current = contact.consent[channel];
        const systemSet = !SETTABLE.includes(current);
        return (
          <SelectField
            key={channel}
            label={CHANNEL_NAMES[channel]!}
            value={choices[channel]}
            onChange={(value) => setChoices({ ...choices, [channel]: value })}
            hint={
              systemSet
                ? `${CONSENT_NAMES[current]}: set from delivery feedback. Choose "Subscribed" only with the person's say-so.`
                : undefined
            }
            options={[
              ...(systemSet ? [{ value: current, label: `${CONSENT_NAMES[current]} (from delivery)` }] : []),
              ...SETTABLE.map((status) => ({ value: status, label: CONSENT_NAMES[status]! })),
            ]}
          />
        );
      })}
      <p className="muted small">Every change is kept in the consent history with who made it.</p>
      {save.error ? <Alert>{messageOf(save.error)}</Alert> : null}
      <SubmitOrCancel label="Save consent" busyLabel="Saving…" busy={save.isPending} onCancel={onDone} />
    </form>
  );
}

/** The consent ledger, read from the personal-data export (the only place the API keeps it whole). */
function ConsentHistory({ id }: { id: string }) {
  const history = useQuery({
    queryKey: ["contact-consent-history", id],
    queryFn: async () => (await profileApi.export(id)).consentLedger,
  });
  if (history.isPending) return <Loading label="Loading the consent history" />;
  if (history.error) return <Alert>{messageOf(history.error)}</Alert>;
  if (history.data.length === 0) {
    return <p className="muted">No change yet: the consent is as the contact was first recorded.</p>;
  }
  return (
    <div className="consent-history-wrap">
      <table className="consent-history">
        <caption className="visually-hidden">Consent changes, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Channel</th>
            <th scope="col">Change</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          {[...history.data].reverse().map((change) => (
            <tr key={`${change.changedAt}-${change.channel}-${change.status}`}>
              <td>{when(change.changedAt)}</td>
              <td>{CHANNEL_NAMES[change.channel] ?? change.channel}</td>
              <td>
                {change.previousStatus
                  ? `${CONSENT_NAMES[change.previousStatus] ?? change.previousStatus} → `
                  : ""}
                {CONSENT_NAMES[change.status] ?? change.status}
                {change.reason ? <span className="muted"> ({change.reason})</span> : null}
              </td>
              <td>{sourceName(change.source)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function sourceName(source: string): string {
  const names: Record<string, string> = {
    api: "API or team member",
    ui: "Team member",
    import: "Import",
    system: "Omneural",
    provider: "Delivery feedback",
    unsubscribe: "Unsubscribe link",
    sms: "Text reply",
  };
  return names[source] ?? source;
}

// Attributes -------------------------------------------------------------------------------------------

const ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

interface AttributeRow {
  /** The key as stored (empty for a new row). */
  original: string;
  key: string;
  value: string;
}

function attributeText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The value to save: the stored type is kept when the text still reads as one (a number stays a number). */
function attributeValue(text: string, before: unknown): unknown {
  if (typeof before === "number" && text.trim() !== "" && Number.isFinite(Number(text))) return Number(text);
  if (typeof before === "boolean" && (text === "true" || text === "false")) return text === "true";
  if (before !== null && typeof before === "object") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function AttributesSection({ contact, writable }: { contact: Contact; writable: boolean }) {
  const [editing, setEditing] = useState(false);
  const entries = Object.entries(contact.attributes);
  return (
    <section className="card" aria-labelledby="attributes-heading">
      <div className="section-header">
        <h2 id="attributes-heading">Attributes</h2>
        {writable && !editing ? (
          <button type="button" className="button secondary small" onClick={() => setEditing(true)}>
            Edit attributes
          </button>
        ) : null}
      </div>
      {editing ? (
        <AttributesForm contact={contact} onDone={() => setEditing(false)} />
      ) : entries.length === 0 ? (
        <p className="muted">
          No attributes yet. Attributes (a plan, a city, a birthday …) come from imports and the API
          {writable ? ", or add them here with Edit attributes" : ""}; segments and templates can use them.
        </p>
      ) : (
        <dl className="details columns">
          {entries.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>{attributeText(value)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

function AttributesForm({ contact, onDone }: { contact: Contact; onDone: () => void }) {
  const refresh = useRefreshContact(contact.id);
  const [rows, setRows] = useState<AttributeRow[]>(() =>
    Object.entries(contact.attributes).map(([key, value]) => ({
      original: key,
      key,
      value: attributeText(value),
    })),
  );
  const [errors, setErrors] = useState<Record<number, string>>({});
  const save = useMutation({
    mutationFn: (attributes: Record<string, unknown>) => profileApi.patch(contact.id, { attributes }),
    onSuccess: (updated) => {
      refresh(updated);
      onDone();
    },
  });
  const update = (index: number, change: Partial<AttributeRow>) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));

  function submit(event: FormEvent) {
    event.preventDefault();
    const problems: Record<number, string> = {};
    const seen = new Set<string>();
    rows.forEach((row, index) => {
      const key = row.key.trim();
      if (!key) problems[index] = "Give the attribute a name.";
      else if (!ATTRIBUTE_KEY.test(key)) {
        problems[index] =
          "Use letters, digits and _ only, starting with a letter or _ (at most 64), e.g. favourite_colour.";
      } else if (seen.has(key)) problems[index] = `There is already an attribute called ${key}.`;
      seen.add(key);
    });
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    const attributes: Record<string, unknown> = {};
    const kept = new Set(rows.map((row) => row.key.trim()));
    // Removed or renamed keys are set to null, which removes them.
    for (const key of Object.keys(contact.attributes)) if (!kept.has(key)) attributes[key] = null;
    for (const row of rows) {
      const key = row.key.trim();
      const before = row.original ? contact.attributes[row.original] : undefined;
      const value = attributeValue(row.value, before);
      if (row.original !== key || attributeText(before) !== attributeText(value)) attributes[key] = value;
    }
    if (Object.keys(attributes).length === 0) {
      onDone();
      return;
    }
    save.mutate(attributes);
  }

  const serverErrors = save.error instanceof ApiError ? save.error.fields : {};
  return (
    <form onSubmit={submit} noValidate aria-label="Edit attributes" className="attributes-form">
      {rows.length === 0 ? <p className="muted">No attributes: add one below.</p> : null}
      {rows.map((row, index) => (
        <fieldset
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id until saved; their order is stable.
          key={index}
          className="attribute-row"
        >
          <legend className="visually-hidden">Attribute {index + 1}</legend>
          <Field
            label="Name"
            value={row.key}
            onChange={(key) => update(index, { key })}
            error={errors[index] ?? serverErrors[`attributes.${row.key.trim()}`]}
            autoComplete="off"
          />
          <Field
            label={`Value of ${row.key.trim() || "the new attribute"}`}
            value={row.value}
            onChange={(value) => update(index, { value })}
            autoComplete="off"
          />
          <button
            type="button"
            className="button secondary small"
            onClick={() => {
              setRows(rows.filter((_, i) => i !== index));
              setErrors({});
            }}
          >
            Remove<span className="visually-hidden"> {row.key.trim() || "this attribute"}</span>
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        className="button secondary small"
        onClick={() => setRows([...rows, { original: "", key: "", value: "" }])}
      >
        Add an attribute
      </button>
      {save.error && Object.keys(serverErrors).length === 0 ? <Alert>{messageOf(save.error)}</Alert> : null}
      <SubmitOrCancel label="Save attributes" busyLabel="Saving…" busy={save.isPending} onCancel={onDone} />
    </form>
  );
}

/** The buttons closing the profile's small forms. */
function SubmitOrCancel({
  label,
  busyLabel,
  busy,
  onCancel,
  danger,
}: {
  label: string;
  busyLabel: string;
  busy: boolean;
  onCancel: () => void;
  danger?: boolean;
}) {
  return (
    <div className="form-actions">
      <button type="submit" className={`button ${danger ? "danger" : "primary"} small`} disabled={busy}>
        {busy ? busyLabel : label}
      </button>
      <button type="button" className="button secondary small" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

// Audiences --------------------------------------------------------------------------------------------

function AudiencesSection({ id }: { id: string }) {
  const audiences = useQuery({
    queryKey: ["contact-audiences", id],
    queryFn: () => profileApi.audiences(id),
  });
  return (
    <section className="card" aria-labelledby="audiences-heading">
      <h2 id="audiences-heading">Audiences</h2>
      {audiences.isPending ? <Loading label="Loading the audiences" /> : null}
      {audiences.error ? <Alert>{messageOf(audiences.error)}</Alert> : null}
      {audiences.data?.data.length === 0 ? (
        <p className="muted">
          Not on any list, nor in a segment kept up to date. Add the contact to a list, or make a segment that
          matches it, on the <Link href="/audiences">Audiences</Link> page.
        </p>
      ) : null}
      {audiences.data?.data.length ? (
        <ul className="audience-chips">
          {audiences.data.data.map((audience) => (
            <li key={audience.id}>
              <Link href={`/audiences/${audience.id}`}>{audience.name}</Link>
              <span className={`badge ${audience.kind === "list" ? "info" : "neutral"}`}>
                {audience.kind === "list" ? "List" : "Segment"}
              </span>
              <span className="muted small">since {new Date(audience.since).toLocaleDateString()}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {audiences.data ? (
        <p className="muted small">
          Segments that are not kept up to date are worked out when a campaign starts, so they are not listed
          here.
        </p>
      ) : null}
    </section>
  );
}

// Timeline ---------------------------------------------------------------------------------------------

function TimelineSection({ id }: { id: string }) {
  const activity = useInfiniteQuery({
    queryKey: ["contact-activity", id],
    queryFn: ({ pageParam }) => profileApi.activity(id, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = activity.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <section className="card" aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      <p className="muted small">Events, messages, responses and consent changes, newest first.</p>
      {activity.isPending ? <Loading label="Loading the timeline" /> : null}
      {activity.error ? <Alert>{messageOf(activity.error)}</Alert> : null}
      {activity.isSuccess && items.length === 0 ? (
        <p className="muted">
          Nothing has happened yet. Events sent to the API (a purchase, a sign-up …) and the messages of
          campaigns that include this contact will appear here.
        </p>
      ) : null}
      {items.length ? (
        <ol className="activity">
          {items.map((item) => (
            <ActivityEntry key={`${item.kind}:${item.id}`} item={item} />
          ))}
        </ol>
      ) : null}
      {activity.hasNextPage ? (
        <button
          type="button"
          className="button secondary small"
          disabled={activity.isFetchingNextPage}
          onClick={() => activity.fetchNextPage()}
        >
          {activity.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      ) : null}
      {activity.isFetchNextPageError ? <Alert>{messageOf(activity.error)}</Alert> : null}
    </section>
  );
}

const KIND_LOOK: Record<ContactActivityItem["kind"], { icon: string; label: string; tone: string }> = {
  event: { icon: "★", label: "Event", tone: "info" },
  response: { icon: "↩", label: "Response", tone: "success" },
  message: { icon: "✉", label: "Message", tone: "neutral" },
  consent: { icon: "✓", label: "Consent", tone: "caution" },
};

const STATUS_TONE: Record<string, string> = {
  sent: "success",
  queued: "neutral",
  sending: "neutral",
  skipped: "caution",
  failed: "danger",
  cancelled: "neutral",
};

function CampaignLink({ campaign }: { campaign: { id: string; name: string | null } | null }) {
  if (!campaign) return null;
  return (
    <span className="activity-campaign">
      {" · "}
      {campaign.name ? (
        <Link href={`/campaigns/${campaign.id}`}>{campaign.name}</Link>
      ) : (
        <span className="muted">a deleted campaign</span>
      )}
    </span>
  );
}

/** A few of an event's properties, as "key: value". */
function propertiesSummary(properties: unknown): string {
  if (!properties || typeof properties !== "object") return "";
  return Object.entries(properties as Record<string, unknown>)
    .filter(([key]) => key !== "campaignId" && key !== "messageId" && key !== "channel")
    .slice(0, 4)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ");
}

function ActivityEntry({ item }: { item: ContactActivityItem }) {
  const look = KIND_LOOK[item.kind];
  return (
    <li className={`activity-item ${item.kind}`}>
      <span className="activity-icon" aria-hidden="true">
        {look.icon}
      </span>
      <div className="activity-body">
        <p className="activity-title">
          <span className={`badge ${look.tone}`}>{look.label}</span> <ActivityTitle item={item} />
        </p>
        <ActivityDetail item={item} />
      </div>
      <time dateTime={item.at}>{when(item.at)}</time>
    </li>
  );
}

function ActivityTitle({ item }: { item: ContactActivityItem }) {
  switch (item.kind) {
    case "message":
      return (
        <>
          <strong>{CHANNEL_NAMES[item.channel] ?? item.channel}</strong>{" "}
          <span className={`badge ${STATUS_TONE[item.status] ?? "neutral"}`}>{item.status}</span>
          {item.deliveryStatus ? <span className="badge neutral">{item.deliveryStatus}</span> : null}
          <CampaignLink campaign={item.campaign} />
        </>
      );
    case "consent":
      return (
        <strong>
          {CHANNEL_NAMES[item.channel] ?? item.channel}:{" "}
          {item.previousStatus ? `${CONSENT_NAMES[item.previousStatus] ?? item.previousStatus} → ` : ""}
          {CONSENT_NAMES[item.status] ?? item.status}
        </strong>
      );
    case "response":
      return (
        <>
          <strong>{item.type.replace(/^message\./, "").replace(/_/g, " ")}</strong>
          {item.channel ? (
            <span className="muted"> ({CHANNEL_NAMES[item.channel] ?? item.channel})</span>
          ) : null}
          <CampaignLink campaign={item.campaign} />
        </>
      );
    default:
      return (
        <>
          <strong>{item.type}</strong>
          <CampaignLink campaign={item.campaign} />
        </>
      );
  }
}

function ActivityDetail({ item }: { item: ContactActivityItem }) {
  if (item.kind === "message") {
    const parts = [
      item.template ? `Template: ${item.template.name ?? "deleted"}` : null,
      item.sentAt ? `sent ${when(item.sentAt)}` : `queued ${when(item.queuedAt)}`,
    ].filter(Boolean);
    return (
      <p className="activity-detail muted small">
        {parts.join(" · ")}
        {item.reason ? <span className="activity-reason"> · Why: {item.reason}</span> : null}
      </p>
    );
  }
  if (item.kind === "consent") {
    return (
      <p className="activity-detail muted small">
        By {sourceName(item.source)}
        {item.reason ? ` · ${item.reason}` : ""}
      </p>
    );
  }
  const summary = propertiesSummary(item.properties);
  return summary ? <p className="activity-detail muted small">{summary}</p> : null;
}

// Erase ------------------------------------------------------------------------------------------------

function EraseSection({ contact }: { contact: Contact }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<string>();
  const word = "ERASE";
  const erase = useMutation({
    mutationFn: () => profileApi.erase(contact.id),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: ["contact", contact.id] });
      queryClient.invalidateQueries({ queryKey: ["contacts"] });
      navigate("/contacts");
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (typed.trim().toUpperCase() !== word) {
      setError(`Type ${word} to confirm.`);
      return;
    }
    setError(undefined);
    erase.mutate();
  }
  return (
    <section className="card danger-zone" aria-labelledby="erase-heading">
      <h2 id="erase-heading">Erase this contact</h2>
      <p>
        For a request to be forgotten (GDPR). Everything about {contactName(contact)} is deleted for good: the
        profile, events, consent history, list memberships, journeys and messages. Campaign reports keep their
        counts, and their opted-out addresses stay blocked (as a one-way code) so a later import cannot
        contact them again. This cannot be undone: download their personal data first if they asked for it.
      </p>
      {confirming ? (
        <form onSubmit={submit} noValidate aria-label="Confirm erasure" className="erase-form">
          <Field
            label={`Type ${word} to confirm`}
            value={typed}
            onChange={setTyped}
            error={error}
            autoComplete="off"
          />
          {erase.error ? <Alert>{messageOf(erase.error)}</Alert> : null}
          <SubmitOrCancel
            label="Erase for good"
            busyLabel="Erasing…"
            busy={erase.isPending}
            onCancel={() => setConfirming(false)}
            danger
          />
        </form>
      ) : (
        <button type="button" className="button secondary small" onClick={() => setConfirming(true)}>
          Erase this contact…
        </button>
      )}
    </section>
  );
}
