/** Templates: the workspace's message templates by channel, and making a new one. */
import type { Template } from "@omneural/contracts/templates";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import { request } from "../api.ts";
import { SelectField } from "../components/Field.tsx";
import { EmptyState, Loading, PageError } from "../components/feedback.tsx";
import { NewNamedItemForm } from "../components/NewNamedItemForm.tsx";
import { Pager, useCursorPages } from "../components/Pager.tsx";
import { can, useSession } from "../session.ts";

export type Channel = Template["channel"];
export const CHANNEL_LABELS: Record<Channel, string> = {
  email: "Email",
  sms: "SMS",
  mail: "Direct mail",
  ads: "Ad audience",
};

export const templatesApi = {
  list: (channel: Channel | "", cursor: string | undefined) => {
    const query = new URLSearchParams({ limit: "25" });
    if (channel) query.set("channel", channel);
    if (cursor) query.set("cursor", cursor);
    return request<{ data: Template[]; nextCursor: string | null }>("GET", `/api/v1/templates?${query}`);
  },
  get: (id: string) => request<Template>("GET", `/api/v1/templates/${encodeURIComponent(id)}`),
  create: (name: string, channel: Channel) =>
    request<Template>("POST", "/api/v1/templates", { name, channel }),
};

export default function Templates() {
  const session = useSession();
  const [channel, setChannel] = useState<Channel | "">("");
  const pages = useCursorPages();
  const { cursor } = pages;
  const templates = useQuery({
    queryKey: ["templates", channel, cursor],
    queryFn: () => templatesApi.list(channel, cursor),
  });
  const empty = templates.data && templates.data.data.length === 0 && pages.page === 1;
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Templates</h1>
          <p className="muted">
            What each message says, per channel, with Liquid tags such as <code>{"{{ firstName }}"}</code>{" "}
            filled in for each member. Every saved change is a new version; campaigns keep the version they
            were launched with.
          </p>
        </div>
      </header>
      {can(session.role, "write") ? <NewTemplateForm /> : null}
      <div className="filters">
        <SelectField
          label="Channel"
          value={channel}
          onChange={(value) => {
            setChannel(value as Channel | "");
            pages.reset();
          }}
          options={[
            { value: "", label: "All channels" },
            ...Object.entries(CHANNEL_LABELS).map(([value, label]) => ({ value, label })),
          ]}
        />
      </div>
      {templates.isPending ? <Loading label="Loading templates" /> : null}
      {templates.error ? <PageError error={templates.error} /> : null}
      {empty && !channel ? (
        <EmptyState title="No templates yet">
          <p>Make the first one above: an email, a text, a letter or postcard, or an ad audience.</p>
        </EmptyState>
      ) : null}
      {empty && channel ? (
        <p className="muted">No {CHANNEL_LABELS[channel].toLowerCase()} template yet.</p>
      ) : null}
      {templates.data && templates.data.data.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Templates</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Channel</th>
                  <th scope="col">Ready to send</th>
                  <th scope="col">Version</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {templates.data.data.map((template) => (
                  <tr key={template.id}>
                    <th scope="row">
                      <Link href={`/templates/${template.id}`}>{template.name}</Link>
                    </th>
                    <td>{CHANNEL_LABELS[template.channel]}</td>
                    <td>{template.missing.length ? `Needs ${template.missing.join(", ")}` : "Yes"}</td>
                    <td>{template.version}</td>
                    <td>{new Date(template.updatedAt).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} nextCursor={templates.data.nextCursor} label="Pages of templates" />
        </>
      ) : null}
    </div>
  );
}

function NewTemplateForm() {
  const [channel, setChannel] = useState<Channel>("email");
  return (
    <NewNamedItemForm
      title="New template"
      submitLabel="Make and edit"
      extraFields={["channel"]}
      create={(name) => templatesApi.create(name, channel)}
      hrefOf={(id) => `/templates/${id}`}
    >
      {(errors) => (
        <SelectField
          label="Channel"
          value={channel}
          onChange={(value) => setChannel(value as Channel)}
          error={errors.channel}
          options={Object.entries(CHANNEL_LABELS).map(([value, label]) => ({ value, label }))}
        />
      )}
    </NewNamedItemForm>
  );
}
