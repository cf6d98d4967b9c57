/**
 * Outbox: the dev inbox. What the built-in development provider delivered instead of sending: emails
 * rendered as their recipients would see them, texts, letters as PDFs, ad-audience batches, webhooks.
 */

import type { OutboxEntry, OutboxList } from "@omneural/contracts/outbox";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { Static } from "typebox";
import { request } from "../api.ts";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";

type Entry = Static<typeof OutboxEntry>;
type Channel = Entry["channel"];

const CHANNELS: { value: Channel | ""; label: string }[] = [
  { value: "", label: "All channels" },
  { value: "email", label: "Email" },
  { value: "sms", label: "SMS" },
  { value: "mail", label: "Direct mail" },
  { value: "ads", label: "Ad audiences" },
  { value: "webhook", label: "Webhooks" },
];
const CHANNEL_LABELS = Object.fromEntries(CHANNELS.map((c) => [c.value, c.label])) as Record<Channel, string>;

function outboxPage(channel: Channel | "", recipient: string, cursor: string | undefined) {
  const query = new URLSearchParams({ limit: "25" });
  if (channel) query.set("channel", channel);
  if (recipient) query.set("recipient", recipient);
  if (cursor) query.set("cursor", cursor);
  return request<Static<typeof OutboxList>>("GET", `/api/v1/outbox?${query}`);
}

/** One line saying what an entry is: an email's subject, the start of a text, a letter's layout … */
function summaryOf(entry: Entry): string {
  if (entry.subject) return entry.subject;
  const content = entry.content as Record<string, unknown>;
  for (const key of ["body", "text", "layout", "audience"]) {
    const value = content[key];
    if (typeof value === "string") return value.length > 90 ? `${value.slice(0, 90)}…` : value;
  }
  return "";
}

export default function Outbox() {
  const [channel, setChannel] = useState<Channel | "">("");
  const [recipient, setRecipient] = useState("");
  const [applied, setApplied] = useState({ channel: "" as Channel | "", recipient: "" });
  const pages = useCursorPages();
  const [openId, setOpenId] = useState<string>();
  const { cursor } = pages;
  const entries = useQuery({
    queryKey: ["outbox", applied, cursor],
    queryFn: () => outboxPage(applied.channel, applied.recipient, cursor),
  });
  const open = entries.data?.data.find((e) => e.id === openId);

  function submit(event: FormEvent) {
    event.preventDefault();
    setApplied({ channel, recipient: recipient.trim() });
    pages.reset();
    setOpenId(undefined);
  }

  const filtered = Boolean(applied.channel || applied.recipient);
  const empty = entries.data && entries.data.data.length === 0 && pages.page === 1;
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Outbox</h1>
          <p className="muted">
            What the built-in development provider delivered instead of sending: nothing here left the
            machine. Set up real providers under Settings to send for real.
          </p>
        </div>
      </header>
      <search className="search">
        <form onSubmit={submit} noValidate className="filters">
          <div className="field">
            <label htmlFor="outbox-channel">Channel</label>
            <select
              id="outbox-channel"
              value={channel}
              onChange={(event) => setChannel(event.target.value as Channel | "")}
            >
              {CHANNELS.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="outbox-recipient">Recipient</label>
            <input
              id="outbox-recipient"
              value={recipient}
              placeholder="Email address or phone number"
              onChange={(event) => setRecipient(event.target.value)}
            />
          </div>
          <button type="submit" className="button secondary">
            Show
          </button>
        </form>
      </search>
      {entries.isPending ? <Loading label="Loading the outbox" /> : null}
      {entries.error ? <PageError error={entries.error} /> : null}
      {empty && !filtered ? (
        <EmptyState title="Nothing delivered yet">
          <p>
            When a campaign or a test send goes out without a real provider, each message lands here, shown as
            its recipient would see it.
          </p>
        </EmptyState>
      ) : null}
      {empty && filtered ? <p className="muted">Nothing delivered matches these filters.</p> : null}
      {entries.data && entries.data.data.length > 0 ? (
        <div className="outbox">
          <div>
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Delivered messages, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Delivered</th>
                    <th scope="col">Channel</th>
                    <th scope="col">Recipient</th>
                    <th scope="col">Subject or content</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.data.data.map((entry) => (
                    <tr key={entry.id} aria-selected={entry.id === openId}>
                      <td>{new Date(entry.createdAt).toLocaleString()}</td>
                      <td>{CHANNEL_LABELS[entry.channel]}</td>
                      <th scope="row">
                        <button
                          type="button"
                          className="link-button"
                          aria-expanded={entry.id === openId}
                          onClick={() => setOpenId(entry.id === openId ? undefined : entry.id)}
                        >
                          {entry.recipient}
                        </button>
                      </th>
                      <td>{summaryOf(entry)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager
              pages={pages}
              nextCursor={entries.data.nextCursor}
              label="Pages of the outbox"
              labels={["Newer", "Older"]}
            />
          </div>
          {open ? (
            <Delivered entry={open} />
          ) : (
            <p className="muted">Choose a message to see it as it was delivered.</p>
          )}
        </div>
      ) : null}
    </div>
  );
}

function Delivered({ entry }: { entry: Entry }) {
  const [showText, setShowText] = useState(false);
  const content = entry.content as Record<string, unknown>;
  return (
    <section className="card delivered" aria-labelledby="delivered-heading">
      <h2 id="delivered-heading">
        {CHANNEL_LABELS[entry.channel]} to {entry.recipient}
      </h2>
      {entry.subject ? (
        <p>
          <strong>Subject:</strong> {entry.subject}
        </p>
      ) : null}
      {entry.channel === "email" ? (
        <>
          <div className="toggle-row">
            <button type="button" className="button secondary small" onClick={() => setShowText(!showText)}>
              {showText ? "Show the HTML version" : "Show the plain-text version"}
            </button>
          </div>
          {showText ? (
            <pre className="plain-text">{String(content.text ?? "")}</pre>
          ) : (
            <iframe
              className="email-preview"
              title={`The email to ${entry.recipient}, as delivered`}
              src={`/api/v1/outbox/${encodeURIComponent(entry.id)}/html`}
              sandbox=""
            />
          )}
        </>
      ) : entry.channel === "mail" ? (
        <p>
          <a href={`/api/v1/outbox/${encodeURIComponent(entry.id)}/pdf`} target="_blank" rel="noreferrer">
            Open the printed piece (PDF)
          </a>
        </p>
      ) : entry.channel === "sms" ? (
        <pre className="plain-text">{String(content.body ?? "")}</pre>
      ) : (
        <pre className="plain-text">{JSON.stringify(content, null, 2)}</pre>
      )}
      <details>
        <summary>Headers</summary>
        <dl className="headers">
          {Object.entries(entry.headers).map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      </details>
    </section>
  );
}
