/** One contact: identifiers, address, consent, attributes, and a timeline of their journeys. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { api, type Contact, type ContactTrace } from "../api.ts";
import { Loading, PageError } from "../components/feedback.tsx";
import { ConsentBadge, contactName } from "./Contacts.tsx";

export default function ContactProfile({ id }: { id: string }) {
  const contact = useQuery({ queryKey: ["contact", id], queryFn: () => api.contact(id) });
  const trace = useQuery({ queryKey: ["contact-trace", id], queryFn: () => api.contactTrace(id) });

  if (contact.isPending) return <Loading label="Loading the contact" />;
  if (contact.error) return <PageError error={contact.error} />;
  const c = contact.data;
  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href="/contacts">Contacts</Link> <span aria-hidden="true">›</span> <span>{contactName(c)}</span>
      </nav>
      <header className="page-header">
        <div>
          <h1>{contactName(c)}</h1>
          <p className="muted">
            Added {new Date(c.createdAt).toLocaleString()} · updated {new Date(c.updatedAt).toLocaleString()}
          </p>
        </div>
      </header>
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
        <section className="card" aria-labelledby="consent-heading">
          <h2 id="consent-heading">Consent</h2>
          <dl className="details">
            {(["email", "sms", "mail", "ads"] as const).map((channel) => (
              <div key={channel}>
                <dt>
                  {channel === "sms"
                    ? "SMS"
                    : channel === "ads"
                      ? "Ads"
                      : channel[0]!.toUpperCase() + channel.slice(1)}
                </dt>
                <dd>
                  <ConsentBadge status={c.consent[channel]} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      </div>
      <section className="card" aria-labelledby="attributes-heading">
        <h2 id="attributes-heading">Attributes</h2>
        {Object.keys(c.attributes).length === 0 ? (
          <p className="muted">No attributes.</p>
        ) : (
          <dl className="details columns">
            {Object.entries(c.attributes).map(([key, value]) => (
              <div key={key}>
                <dt>{key}</dt>
                <dd>{typeof value === "string" ? value : JSON.stringify(value)}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
      <section className="card" aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        {trace.isPending ? <Loading label="Loading the timeline" /> : null}
        {trace.error ? <PageError error={trace.error} /> : null}
        {trace.data ? <Timeline trace={trace.data} /> : null}
      </section>
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

interface TimelineItem {
  at: string;
  campaign: string;
  text: string;
  kind: "step" | "response";
}

function Timeline({ trace }: { trace: ContactTrace }) {
  const items: TimelineItem[] = trace.campaigns.flatMap((campaign) => [
    ...(campaign.enrollment?.steps ?? []).flatMap((step) =>
      step.entries.map((entry) => ({
        at: entry.at,
        campaign: campaign.name,
        text: `${entry.nodeId}: ${entry.action}${entry.reason ? ` (${entry.reason})` : ""}`,
        kind: "step" as const,
      })),
    ),
    ...campaign.responses.map((response) => ({
      at: response.occurredAt,
      campaign: campaign.name,
      text: response.type.replace(/^message\./, ""),
      kind: "response" as const,
    })),
  ]);
  items.sort((x, y) => y.at.localeCompare(x.at));
  if (items.length === 0) return <p className="muted">This contact has not been in a campaign yet.</p>;
  return (
    <ol className="timeline">
      {items.slice(0, 100).map((item) => (
        <li
          key={`${item.kind}-${item.at}-${item.campaign}-${item.text}`}
          className={`timeline-item ${item.kind}`}
        >
          <time dateTime={item.at}>{new Date(item.at).toLocaleString()}</time>
          <span className="timeline-campaign">{item.campaign}</span>
          <span>{item.text}</span>
        </li>
      ))}
    </ol>
  );
}
