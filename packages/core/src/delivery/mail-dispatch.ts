/** Direct mail in the dispatcher: decides and renders one mail piece. */
import type { Db } from "../db/database.ts";
import type { MailChannel, SendResult } from "./channel.ts";
import type { ClaimedMessage, Outcome } from "./dispatch.repository.ts";
import type { SendFacts } from "./dispatcher.ts";

export async function prepareMail(
  _db: Db,
  _message: ClaimedMessage,
  _facts: SendFacts,
  _channel: MailChannel,
): Promise<Outcome | { send: () => Promise<SendResult>; provider: string }> {
  return { status: "failed", reason: "direct mail is not wired yet" };
}
