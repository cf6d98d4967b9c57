/**
 * The parts every campaign needs, set up through the API with names unique to the run: the workspace
 * sender, a list audience of new contacts, an email template and a published workflow that sends it
 * (entry → send → [wait a day →] exit). Shared by the campaign and report specs.
 */
import type { APIRequestContext } from "@playwright/test";
import { callApiOk } from "./helpers.ts";

export interface CampaignPartsOptions {
  /** Makes every name unique to this run (e.g. Date.now()). */
  tag: string;
  /** How many contacts the list audience holds. */
  people: number;
  /** Contacts are `<prefix><i>-<tag>@acme.example`, first name the prefix capitalised plus `<i>`. */
  contactPrefix: string;
  lastName?: string;
  audienceName: string;
  templateName: string;
  subject: string;
  workflowName: string;
  /** The send step's label. */
  sendLabel: string;
  /** Wait a day between the send and the exit. */
  waitADay?: boolean;
}

export async function setUpCampaignParts(request: APIRequestContext, options: CampaignPartsOptions) {
  const { tag, people, contactPrefix } = options;
  await callApiOk(request, "PUT", "/api/v1/workspace/sender", {
    fromName: "Acme News",
    fromAddress: "news@acme.example",
    postalAddress: "1 High St, Springfield",
  });
  const firstName = contactPrefix.charAt(0).toUpperCase() + contactPrefix.slice(1);
  const emails: string[] = [];
  const contactIds: string[] = [];
  for (let i = 0; i < people; i++) {
    const email = `${contactPrefix}${i}-${tag}@acme.example`;
    const contact = await callApiOk<{ id: string }>(request, "POST", "/api/v1/contacts", {
      email,
      firstName: `${firstName}${i}`,
      ...(options.lastName ? { lastName: options.lastName } : {}),
    });
    emails.push(email);
    contactIds.push(contact.id);
  }
  const audience = await callApiOk<{ id: string; name: string }>(request, "POST", "/api/v1/audiences", {
    name: options.audienceName,
    kind: "list",
  });
  await callApiOk(request, "POST", `/api/v1/audiences/${audience.id}/members`, { contactIds });
  const template = await callApiOk<{ id: string }>(request, "POST", "/api/v1/templates", {
    name: options.templateName,
    channel: "email",
    content: { subject: options.subject, html: "<p>Hello {{ firstName | default: 'there' }}</p>" },
  });
  const afterSend = options.waitADay ? "wait" : "done";
  const workflow = await callApiOk<{ id: string; name: string }>(request, "POST", "/api/v1/workflows", {
    name: options.workflowName,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "send" } },
        {
          id: "send",
          type: "send",
          label: options.sendLabel,
          channel: "email",
          templateId: template.id,
          outlets: { next: afterSend },
        },
        ...(options.waitADay
          ? [{ id: "wait", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "done" } }]
          : []),
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await callApiOk(request, "POST", `/api/v1/workflows/${workflow.id}/publish`, {});
  return { audience, workflow, emails };
}
