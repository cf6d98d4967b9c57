/** Test and bench helpers for responses: a campaign whose email went out, and its ledger rows. */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, seedContactsInList } from "./campaigns.ts";

export interface SentMessages {
  campaignId: string;
  /** One per member, in no particular order. */
  messages: { id: string; contactId: string }[];
}

/**
 * A campaign entry → send(email) → exit over `members` new contacts, stepped and its ledger rows marked
 * sent at `sentAt` (as the dispatcher would), without sending anything.
 */
export async function seedSentEmails(
  db: Db,
  ws: WorkspaceContext,
  members: number,
  sentAt: Date,
): Promise<SentMessages> {
  const template = await createTemplate(db, ws, {
    name: `email ${sentAt.getTime()}-${Math.random()}`,
    channel: "email",
    content: { subject: "Hello", html: "<p>Hello</p>" },
  });
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "s1" } },
      { id: "s1", type: "send", channel: "email", templateId: template.id, outlets: { next: "exit" } },
      { id: "exit", type: "exit", outlets: {} },
    ],
  };
  const { listId } = await seedContactsInList(db, ws.id, members);
  const campaign = await launchGraph(db, ws, listId, graph, sentAt);
  await drain(db, ws.id, campaign.id, { now: sentAt, batchSize: 1000 });
  const { rows } = await sql<{ id: string; contact_id: string }>`
    update messages set status = 'sent', sent_at = ${sentAt}
    where workspace_id = ${ws.id} and campaign_id = ${campaign.id}
    returning id, contact_id`.execute(db);
  return { campaignId: campaign.id, messages: rows.map((r) => ({ id: r.id, contactId: r.contact_id })) };
}
