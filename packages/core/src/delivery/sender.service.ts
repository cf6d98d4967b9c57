/**
 * A workspace's sender identity: email From and Reply-To, the postal address marketing email must carry,
 * and the number SMS is sent from.
 */
import type { Sender } from "@omneural/contracts/workspaces";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { notFound } from "../shared/errors.ts";
import { selectSenders, upsertSender } from "./dispatch.repository.ts";

function toSender(row: {
  from_name: string | null;
  from_address: string;
  reply_to: string | null;
  postal_address: string;
  sms_from: string | null;
  sms_help_text: string | null;
}): Sender {
  return {
    fromName: row.from_name,
    fromAddress: row.from_address,
    replyTo: row.reply_to,
    postalAddress: row.postal_address,
    smsFrom: row.sms_from,
    smsHelpText: row.sms_help_text,
  };
}

export async function getSender(db: Db, ws: WorkspaceContext): Promise<Sender> {
  const [row] = await selectSenders(db, [ws.id]);
  if (!row) throw notFound("sender identity of workspace", ws.id);
  return toSender(row);
}

export async function setSender(db: Db, ws: WorkspaceContext, input: Sender): Promise<Sender> {
  const row = await upsertSender(db, ws.id, {
    fromName: input.fromName?.trim() || null,
    fromAddress: input.fromAddress.trim().toLowerCase(),
    replyTo: input.replyTo?.trim().toLowerCase() || null,
    postalAddress: input.postalAddress.trim(),
    smsFrom: input.smsFrom?.trim() || null,
    smsHelpText: input.smsHelpText?.trim() || null,
  });
  return toSender(row);
}
