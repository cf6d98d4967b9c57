/**
 * An SMTP server on loopback that keeps the log a provider keeps: one record per message it accepted
 * (Message-ID, recipient, subject, when), in the JSON Lines form `omneural ledger reconcile
 * --provider-log` reads. Lighter than testing/smtp-server.ts: it reads only the header block, so it
 * keeps up with a campaign of thousands.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type { ProviderAcceptance } from "../delivery/reconcile.ts";
import { keepConnectionErrors } from "./smtp-senders.ts";

export interface AcceptedMessage extends ProviderAcceptance {
  recipient: string;
  subject: string;
}

export interface ProviderLogServer {
  port: number;
  /** Every message accepted, in order. */
  accepted: AcceptedMessage[];
  /** The log as a provider would export it (JSON Lines). */
  exportJsonl(): string;
  close(): Promise<void>;
}

function header(head: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, "im").exec(head);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, " ").trim() : "";
}

export async function startProviderLogServer(): Promise<ProviderLogServer> {
  const accepted: AcceptedMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const end = raw.search(/\r?\n\r?\n/);
        const head = end === -1 ? raw : raw.slice(0, end);
        const recipient = session.envelope.rcptTo[0]?.address ?? header(head, "To");
        accepted.push({
          messageId: header(head, "Message-ID"),
          recipient,
          subject: header(head, "Subject"),
          acceptedAt: new Date(),
        });
        callback();
      });
    },
  });
  keepConnectionErrors(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    accepted,
    exportJsonl: () =>
      accepted
        .map((a) =>
          JSON.stringify({
            messageId: a.messageId,
            acceptedAt: a.acceptedAt.toISOString(),
            recipient: a.recipient,
          }),
        )
        .join("\n"),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
