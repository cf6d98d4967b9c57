/**
 * A template's editor: its content per channel, checked as it is typed (a text's length and segments),
 * saved as a new version with the server's errors next to their fields, previewed for a chosen contact
 * (an email as its recipient's mail program shows it, a letter or postcard as the PDF the print shop
 * gets), and sent as a test.
 */
import type { Contact } from "@omneural/contracts/contacts";
import type { Template, TemplatePreview } from "@omneural/contracts/templates";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { Link } from "wouter";
import { request } from "../api.ts";
import { errorsFrom, Field, type FieldErrors, SelectField, TextAreaField } from "../components/Field.tsx";
import { Alert, Loading, messageOf, PageError } from "../components/feedback.tsx";
import { can, useSession } from "../session.ts";
import { CHANNEL_LABELS, templatesApi } from "./Templates.tsx";
import "../styles/contact-profile.css";

type Content = Record<string, string>;
const CONTENT_FIELDS = [
  "name",
  "content.subject",
  "content.preheader",
  "content.html",
  "content.mjml",
  "content.text",
  "content.body",
  "content.layout",
] as const;
type ContentErrors = FieldErrors<(typeof CONTENT_FIELDS)[number]>;

const editorApi = {
  save: (id: string, name: string, content: Content) =>
    request<Template>("PATCH", `/api/v1/templates/${encodeURIComponent(id)}`, { name, content }),
  draftPreview: (channel: string, content: Content, contactId: string) =>
    request<TemplatePreview>("POST", "/api/v1/templates/preview", {
      channel,
      content,
      ...(contactId ? { contactId } : {}),
    }),
  testSend: (id: string, to: string, contactId: string) =>
    request<{ to: string; subject?: string | null }>(
      "POST",
      `/api/v1/templates/${encodeURIComponent(id)}/test-send`,
      {
        to,
        ...(contactId ? { contactId } : {}),
      },
    ),
  contacts: () => request<{ data: Contact[] }>("GET", "/api/v1/contacts?limit=50"),
  savedPreview: (id: string, contactId: string) =>
    request<TemplatePreview>("POST", `/api/v1/templates/${encodeURIComponent(id)}/preview`, {
      ...(contactId ? { contactId } : {}),
    }),
};

/** The saved version of a mail template printed for the contact, as the print shop would get it. */
function mailPdfUrl(template: Template, contactId: string): string {
  const query = new URLSearchParams({ v: String(template.version) });
  if (contactId) query.set("contactId", contactId);
  return `/api/v1/templates/${encodeURIComponent(template.id)}/preview.pdf?${query}`;
}

/** The content fields a channel has, for the form (strings only: defaults are edited through the API). */
function editableContent(template: Template): Content {
  const content = template.content as Record<string, unknown>;
  const fields: Record<string, string[]> = {
    email: ["subject", "preheader", content.mjml ? "mjml" : "html", "text"],
    sms: ["body"],
    mail: ["layout", "body"],
    ads: [],
  };
  return Object.fromEntries(
    (fields[template.channel] ?? []).map((key) => [
      key,
      typeof content[key] === "string" ? (content[key] as string) : "",
    ]),
  );
}

/** Only the fields with a value, so that clearing the optional ones removes them. */
function contentToSave(template: Template, content: Content): Record<string, unknown> {
  const kept = Object.fromEntries(Object.entries(content).filter(([, value]) => value !== ""));
  const defaults = (template.content as Record<string, unknown>).defaults;
  return defaults ? { ...kept, defaults } : kept;
}

export default function TemplateEditor({ params }: { params: { id: string } }) {
  const template = useQuery({
    queryKey: ["template", params.id],
    queryFn: () => templatesApi.get(params.id),
  });
  // The preview's contact outlives a save (which remounts the editor with the new version).
  const [contactId, setContactId] = useState("");
  if (template.isPending) return <Loading label="Loading the template" />;
  if (template.error) return <PageError error={template.error} />;
  return (
    <Editor
      key={`${template.data.id}:${template.data.version}`}
      template={template.data}
      contactId={contactId}
      setContactId={setContactId}
    />
  );
}

function Editor({
  template,
  contactId,
  setContactId,
}: {
  template: Template;
  contactId: string;
  setContactId: (id: string) => void;
}) {
  const session = useSession();
  const writable = can(session.role, "write");
  const queryClient = useQueryClient();
  const [name, setName] = useState(template.name);
  const [content, setContent] = useState<Content>(() => editableContent(template));
  const [errors, setErrors] = useState<ContentErrors>({});
  const [saved, setSaved] = useState(false);
  const contacts = useQuery({ queryKey: ["contacts", "picker"], queryFn: editorApi.contacts });
  const save = useMutation({
    mutationFn: () => editorApi.save(template.id, name.trim(), contentToSave(template, content) as Content),
    onSuccess: (updated) => {
      setErrors({});
      setSaved(true);
      queryClient.setQueryData(["template", template.id], updated);
      queryClient.invalidateQueries({ queryKey: ["templates"] });
    },
    onError: (error) => {
      setSaved(false);
      setErrors(errorsFrom(error, CONTENT_FIELDS));
    },
  });
  const set = (key: string) => (value: string) => {
    setSaved(false);
    setContent((current) => ({ ...current, [key]: value }));
  };

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setErrors({ name: "Give it a name." });
      return;
    }
    save.mutate();
  }

  const channel = template.channel;
  const bodyKey = content.mjml !== undefined ? "mjml" : "html";
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <p className="eyebrow">
            <Link href="/templates">Templates</Link> · {CHANNEL_LABELS[channel]}
          </p>
          <h1>{template.name}</h1>
          <p className="muted">
            Version {template.version}
            {template.missing.length
              ? ` · still needs ${template.missing.join(", ")} before it can be sent`
              : " · ready to send"}
          </p>
        </div>
      </header>
      <div className="editor">
        <form onSubmit={submit} noValidate className="card" aria-label="Template content">
          <Field label="Name" value={name} onChange={setName} error={errors.name} disabled={!writable} />
          {channel === "email" ? (
            <>
              <Field
                label="Subject"
                value={content.subject ?? ""}
                onChange={set("subject")}
                error={errors["content.subject"]}
                disabled={!writable}
              />
              <Field
                label="Preheader"
                value={content.preheader ?? ""}
                onChange={set("preheader")}
                error={errors["content.preheader"]}
                hint="The preview line most mail programs show after the subject."
                disabled={!writable}
              />
              <TextAreaField
                label={bodyKey === "mjml" ? "MJML" : "HTML"}
                value={content[bodyKey] ?? ""}
                onChange={set(bodyKey)}
                error={errors[`content.${bodyKey}` as "content.html"]}
                rows={14}
                className="code"
                hint="Liquid tags fill in each member: {{ firstName | default: 'there' }}, {{ attributes.plan }}. The unsubscribe link and postal address are added for you."
                disabled={!writable}
              />
              <TextAreaField
                label="Plain-text version"
                value={content.text ?? ""}
                onChange={set("text")}
                error={errors["content.text"]}
                rows={5}
                hint="Made from the HTML when left empty."
                disabled={!writable}
              />
            </>
          ) : null}
          {channel === "mail" ? (
            <SelectField
              label="Format"
              value={content.layout || "letter"}
              onChange={set("layout")}
              error={errors["content.layout"]}
              options={[
                { value: "letter", label: "Letter" },
                { value: "postcard", label: "Postcard" },
              ]}
              disabled={!writable}
            />
          ) : null}
          {channel === "sms" || channel === "mail" ? (
            <TextAreaField
              label={channel === "sms" ? "Text" : "Body"}
              value={content.body ?? ""}
              onChange={set("body")}
              error={errors["content.body"]}
              rows={channel === "sms" ? 5 : 12}
              hint={
                channel === "sms" ? (
                  <SmsCounter content={content} contactId={contactId} />
                ) : (
                  "Plain text; line breaks are kept."
                )
              }
              disabled={!writable}
            />
          ) : null}
          {channel === "ads" ? (
            <p className="muted">
              An ad audience has no content: its members are matched by their email and phone.
            </p>
          ) : null}
          {errors.form ? <Alert>{errors.form}</Alert> : null}
          {writable ? (
            <div className="form-actions">
              <button type="submit" className="button primary" disabled={save.isPending}>
                {save.isPending ? "Saving…" : "Save as a new version"}
              </button>
              {saved ? (
                <span role="status" className="muted">
                  Saved.
                </span>
              ) : null}
            </div>
          ) : (
            <p className="muted">A viewer can look but not change templates.</p>
          )}
        </form>
        <section className="card" aria-labelledby="preview-heading">
          <h2 id="preview-heading">Preview</h2>
          <SelectField
            label="For the contact"
            value={contactId}
            onChange={setContactId}
            options={[
              { value: "", label: "A sample contact" },
              ...(contacts.data?.data ?? []).map((c) => ({
                value: c.id,
                label: [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email || c.phone || c.id,
              })),
            ]}
          />
          {channel === "email" ? (
            <iframe
              // A new frame for each contact: re-pointing a sandboxed frame's src does not always reload it.
              key={`${template.version}:${contactId}`}
              className="email-preview"
              title="The saved email, as its recipient would see it"
              sandbox=""
              src={`/api/v1/templates/${encodeURIComponent(template.id)}/preview.html?v=${template.version}${
                contactId ? `&contactId=${encodeURIComponent(contactId)}` : ""
              }`}
            />
          ) : channel === "mail" || channel === "sms" ? (
            <DraftPreview channel={channel} content={content} contactId={contactId} />
          ) : null}
          {channel === "mail" ? <MailPdfPreview template={template} contactId={contactId} /> : null}
          {channel === "email" ? (
            <p className="muted small">Shows the saved version: save to see your changes.</p>
          ) : null}
          {writable && channel !== "ads" ? <TestSend template={template} contactId={contactId} /> : null}
        </section>
      </div>
    </div>
  );
}

/** Renders unsaved content a moment after the typing stops. */
function useDraftPreview(channel: string, content: Content, contactId: string) {
  const [debounced, setDebounced] = useState({ content, contactId });
  useEffect(() => {
    const timer = setTimeout(() => setDebounced({ content, contactId }), 300);
    return () => clearTimeout(timer);
  }, [content, contactId]);
  return useQuery({
    queryKey: ["template-draft-preview", channel, debounced],
    queryFn: () => editorApi.draftPreview(channel, debounced.content, debounced.contactId),
    enabled: Boolean(debounced.content.body),
    retry: false,
  });
}

function SmsCounter({ content, contactId }: { content: Content; contactId: string }) {
  const preview = useDraftPreview("sms", content, contactId);
  const sms = preview.data?.sms;
  if (!content.body) return <>Liquid tags fill in each member: {"{{ firstName }}"}.</>;
  if (!sms) return <>Counting…</>;
  return (
    <span aria-live="polite">
      {sms.characters} characters, {sms.segments} {sms.segments === 1 ? "segment" : "segments"} (
      {sms.encoding}
      {sms.encoding === "UCS-2" ? ": a character outside GSM-7 makes every segment shorter" : ""}) for this
      contact.
    </span>
  );
}

function DraftPreview({
  channel,
  content,
  contactId,
}: {
  channel: "sms" | "mail";
  content: Content;
  contactId: string;
}) {
  const preview = useDraftPreview(channel, content, contactId);
  if (!content.body)
    return <p className="muted">Write the {channel === "sms" ? "text" : "body"} to see it here.</p>;
  if (preview.error) return <Alert>{messageOf(preview.error)}</Alert>;
  if (!preview.data) return <Loading label="Rendering" />;
  const rendered = preview.data.sms?.body ?? preview.data.mail?.body ?? "";
  return (
    <>
      {preview.data.ok ? null : <Alert>{preview.data.errors.map((e) => e.message).join(" ")}</Alert>}
      <figure className="rendered">
        <figcaption className="muted small">Rendered for this contact</figcaption>
        <pre className={channel === "sms" ? "plain-text sms-bubble" : "plain-text"}>{rendered}</pre>
      </figure>
    </>
  );
}

/**
 * The saved version as the printed PDF: checked first (a body that does not render for this contact
 * says why instead of showing a broken frame), then shown in a frame with a link to open it.
 */
function MailPdfPreview({ template, contactId }: { template: Template; contactId: string }) {
  const check = useQuery({
    queryKey: ["template-saved-preview", template.id, template.version, contactId],
    queryFn: () => editorApi.savedPreview(template.id, contactId),
    retry: false,
  });
  const url = mailPdfUrl(template, contactId);
  return (
    <section className="mail-pdf" aria-labelledby="mail-pdf-heading">
      <h3 id="mail-pdf-heading">Printed piece (PDF)</h3>
      <p className="muted small">
        The saved version as the print shop gets it: your return address, the contact's address in the
        envelope window, the text and a QR code (a placeholder here: each member gets their own). Save to see
        your changes.
      </p>
      {check.isPending ? <Loading label="Preparing the PDF" /> : null}
      {check.error ? <Alert>{messageOf(check.error)}</Alert> : null}
      {check.data && !check.data.ok ? (
        <Alert>
          This letter cannot be printed for this contact: {check.data.errors.map((e) => e.message).join(" ")}
        </Alert>
      ) : null}
      {check.data?.ok ? (
        <>
          <iframe
            key={url}
            className="mail-pdf-frame"
            title="The saved letter or postcard as a printed PDF"
            src={url}
          />
          <p className="mail-pdf-actions">
            <a href={url} target="_blank" rel="noreferrer" className="button secondary small">
              Open the PDF in a new tab
            </a>
          </p>
        </>
      ) : null}
    </section>
  );
}

function TestSend({ template, contactId }: { template: Template; contactId: string }) {
  const [to, setTo] = useState("");
  const [error, setError] = useState<string>();
  const send = useMutation({
    mutationFn: () => editorApi.testSend(template.id, to.trim(), contactId),
    onError: (failure) => setError(messageOf(failure)),
    onSuccess: () => setError(undefined),
  });
  const address =
    template.channel === "sms"
      ? "Phone number"
      : template.channel === "mail"
        ? "Email for the PDF"
        : "Email address";
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!to.trim()) {
      setError(`Give the ${address.toLowerCase()} to send the test to.`);
      return;
    }
    send.mutate();
  }
  return (
    <form onSubmit={submit} noValidate className="test-send" aria-label="Test send">
      <h3>Send a test</h3>
      <Field label={address} value={to} onChange={setTo} error={error} autoComplete="off" />
      <button type="submit" className="button secondary" disabled={send.isPending}>
        {send.isPending ? "Sending…" : "Send the saved version"}
      </button>
      {send.isSuccess ? (
        <p role="status" className="muted">
          Sent to {send.data.to}. Without a real provider it is in the <Link href="/outbox">Outbox</Link>.
        </p>
      ) : null}
    </form>
  );
}
