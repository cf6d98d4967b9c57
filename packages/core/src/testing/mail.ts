/** Test helpers for direct mail: a workspace with a return address, and campaigns with a mail send. */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { setSender } from "../delivery/sender.service.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext } from "./campaigns.ts";

export const RETURN_ADDRESS = "1 Market St\nSan Francisco, CA 94105";

/** A workspace (US) with a sender identity whose postal address is the return address. */
export async function mailWorkspace(db: Db, withSender = true): Promise<WorkspaceContext> {
  const ws = await newWorkspaceContext(db);
  if (withSender) {
    await setSender(db, ws, {
      fromName: "Acme Books",
      fromAddress: "news@acme.example",
      postalAddress: RETURN_ADDRESS,
    });
  }
  return ws;
}

export async function mailTemplate(
  db: Db,
  ws: WorkspaceContext,
  layout: "letter" | "postcard",
  body = "Dear {{ firstName }},\n\nYour 20% discount awaits at {{ purl }}",
) {
  const template = await createTemplate(db, ws, {
    name: `${layout} ${uuidv7()}`,
    channel: "mail",
    content: { layout, body },
  });
  return template.id;
}

export interface MailPerson {
  firstName: string;
  lastName?: string;
  line1?: string | null;
  city?: string | null;
  region?: string | null;
  postalCode?: string | null;
  country?: string | null;
  consent?: string;
}

/** A complete US address, with the person's own name. */
export const ADDRESS = {
  line1: "12 Analytical Way",
  city: "Springfield",
  region: "IL",
  postalCode: "62701",
  country: "US",
} as const;

/**
 * A list of these people, a campaign of one mail send of `templateId` over it, launched and stepped at
 * `now`: one queued mail row each. Returns the campaign and the contacts by first name.
 */
export async function queueMail(
  db: Db,
  ws: WorkspaceContext,
  templateId: string,
  people: MailPerson[],
  now: Date,
): Promise<{ campaignId: string; contacts: Map<string, string> }> {
  const listId = uuidv7();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${`list ${listId}`}, 'list')`.execute(
    db,
  );
  const contacts = new Map<string, string>();
  for (const p of people) {
    const id = uuidv7();
    contacts.set(p.firstName, id);
    await sql`
      insert into contacts (workspace_id, id, first_name, last_name, address_line1, city, region, postal_code,
                            country, mail_consent)
      values (${ws.id}, ${id}, ${p.firstName}, ${p.lastName ?? null}, ${p.line1 ?? null}, ${p.city ?? null},
              ${p.region ?? null}, ${p.postalCode ?? null}, ${p.country ?? null}, ${p.consent ?? "never_asked"})`.execute(
      db,
    );
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
      db,
    );
  }
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "letter" } },
      { id: "letter", type: "send", channel: "mail", templateId, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  const campaign = await launchGraph(db, ws, listId, graph, now);
  await drain(db, ws.id, campaign.id, { now });
  return { campaignId: campaign.id, contacts };
}

export interface LedgerRow {
  id: string;
  first_name: string;
  status: string;
  reason: string | null;
  attempts: number;
  provider: string | null;
  provider_message_id: string | null;
  idempotency_key: string;
}

/** The campaign's ledger rows with their contact's first name, by first name. */
export async function mailLedger(db: Db, campaignId: string): Promise<Map<string, LedgerRow>> {
  const { rows } = await sql<LedgerRow>`
    select m.id, c.first_name, m.status, m.reason, m.attempts, m.provider, m.provider_message_id,
           m.idempotency_key
    from messages m join contacts c on c.workspace_id = m.workspace_id and c.id = m.contact_id
    where m.campaign_id = ${campaignId}`.execute(db);
  return new Map(rows.map((r) => [r.first_name, r]));
}
