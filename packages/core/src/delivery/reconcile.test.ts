import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { createTemplate } from "../templates/template.service.ts";
import { newWorkspaceContext, queueOneSend, seedContactsInList } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { messageIdFor } from "./channel.ts";
import { reconcileLedger } from "./reconcile.service.ts";
import {
  messageKey,
  type ProviderAcceptance,
  ProviderLogError,
  parseProviderLog,
  type ReconciledLedgerRow,
  reconcileRows,
} from "./reconcile.ts";

const T0 = new Date("2026-11-28T12:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const window = { since: T0, until: at(3600), provider: "smtp" };

function row(key: string, status: string, queuedAt: Date, sentAt: Date | null = null): ReconciledLedgerRow {
  return {
    id: `id-${key}`,
    campaignId: "c",
    contactId: `contact-${key}`,
    nodeId: "send",
    channel: "email",
    idempotencyKey: key,
    status,
    provider: status === "sent" ? "smtp" : null,
    providerMessageId: status === "sent" ? messageIdFor(key, "acme.example") : null,
    queuedAt,
    sentAt,
  };
}
const accepted = (key: string, seconds: number, domain = "acme.example"): ProviderAcceptance => ({
  messageId: messageIdFor(key, domain),
  acceptedAt: at(seconds),
});

describe("reconcileRows", () => {
  it("finds nothing when the ledger and the provider agree", () => {
    const report = reconcileRows([row("a", "sent", at(1), at(2))], [accepted("a", 2)], window);
    expect(report).toMatchObject({
      duplicated: [],
      unrecorded: [],
      outcomeLost: [],
      recreated: [],
      sentNotAccepted: [],
      unconfirmed: [],
      membersAffected: [],
    });
  });

  it("reports a message the provider accepted twice as duplicated, with its row", () => {
    const report = reconcileRows(
      [row("a", "sent", at(1), at(9))],
      [accepted("a", 2), accepted("a", 9)],
      window,
    );
    expect(report.duplicated).toHaveLength(1);
    expect(report.duplicated[0]).toMatchObject({ times: 2, row: { idempotencyKey: "a" } });
    expect(report.membersAffected).toEqual(["contact-a"]);
  });

  it("reports a row queued after the provider had its message as re-created (a re-done step)", () => {
    const report = reconcileRows(
      [row("a", "sent", at(5), at(6))],
      [accepted("a", 2), accepted("a", 6)],
      window,
    );
    expect(report.recreated.map((r) => r.row.idempotencyKey)).toEqual(["a"]);
    expect(report.duplicated).toHaveLength(1);
  });

  it("reports an accepted message with no ledger row as unrecorded", () => {
    const report = reconcileRows([], [{ ...accepted("gone", 2), recipient: "x@example.com" }], window);
    expect(report.unrecorded).toEqual([
      { messageId: messageIdFor("gone", "acme.example"), acceptedAt: at(2), recipient: "x@example.com" },
    ]);
  });

  it("reports an accepted message whose row is queued, sending or unknown as an outcome lost", () => {
    const rows = ["queued", "sending", "unknown"].map((status) => row(status, status, at(1)));
    const report = reconcileRows(
      rows,
      rows.map((r) => accepted(r.idempotencyKey, 2)),
      window,
    );
    expect(report.outcomeLost.map((o) => o.row.status)).toEqual(["queued", "sending", "unknown"]);
    expect(report.unconfirmed).toEqual([]);
  });

  it("reports a sent row the provider has no record of, within the log's window and for its provider only", () => {
    const rows = [
      row("missing", "sent", at(1), at(2)),
      row("before", "sent", new Date(T0.getTime() - 9000), new Date(T0.getTime() - 5000)),
      { ...row("other", "sent", at(1), at(2)), provider: "ses" },
    ];
    const report = reconcileRows(rows, [], window);
    expect(report.sentNotAccepted.map((r) => r.idempotencyKey)).toEqual(["missing"]);
  });

  it("reports sending and unknown rows the provider does not have as unconfirmed", () => {
    const report = reconcileRows([row("s", "sending", at(1)), row("u", "unknown", at(1))], [], window);
    expect(report.unconfirmed.map((r) => r.idempotencyKey)).toEqual(["s", "u"]);
  });

  it("matches a Message-ID whatever its domain, and ignores acceptances outside the window", () => {
    const report = reconcileRows(
      [row("a", "sent", at(1), at(2))],
      [accepted("a", 2, "other.example"), accepted("a", 7200)],
      window,
    );
    expect(report.acceptances).toBe(1);
    expect(report.duplicated).toEqual([]);
    expect(report.sentNotAccepted).toEqual([]);
  });

  it("without a provider log reports only what the ledger itself does not know", () => {
    const report = reconcileRows([row("a", "sent", at(1), at(2)), row("s", "sending", at(1))], [], {
      ...window,
      evidence: false,
    });
    expect(report.sentNotAccepted).toEqual([]);
    expect(report.unconfirmed.map((r) => r.idempotencyKey)).toEqual(["s"]);
    expect(report.evidence).toBe(false);
  });
});

describe("messageKey", () => {
  it.each([
    ["<abc@acme.example>", "abc"],
    ["abc@acme.example", "abc"],
    ["SM0123456789", "SM0123456789"],
  ])("%s → %s", (id, key) => expect(messageKey(id)).toBe(key));
});

describe("parseProviderLog", () => {
  it("reads JSON Lines and skips blank lines", () => {
    const log = `{"messageId":"<a@b>","acceptedAt":"2026-11-28T12:00:00Z","recipient":"x@example.com"}\n\n{"messageId":"<c@d>","acceptedAt":"2026-11-28T12:00:01Z"}\n`;
    expect(parseProviderLog(log)).toEqual([
      { messageId: "<a@b>", acceptedAt: T0, recipient: "x@example.com" },
      { messageId: "<c@d>", acceptedAt: at(1) },
    ]);
  });

  it.each([
    ["not json", "line 1: not JSON"],
    [`{"acceptedAt":"2026-11-28T12:00:00Z"}`, `line 1: "messageId" must be a non-empty string`],
    [`{"messageId":"<a@b>","acceptedAt":"yesterday"}`, `line 1: "acceptedAt" must be an ISO 8601 time`],
  ])("rejects %s naming the line", (text, message) => {
    expect(() => parseProviderLog(text)).toThrow(new ProviderLogError(message));
  });
});

describe("reconcileLedger", () => {
  const database = useTestDatabase();

  it("reports against the workspace's ledger; applied, records lost outcomes as sent and requeues the rest", async () => {
    const db = database.handle.db;
    const ws = await newWorkspaceContext(db);
    const template = await createTemplate(db, ws, {
      name: "hello",
      channel: "email",
      content: { subject: "Hi", html: "<p>Hi</p>" },
    });
    const { contactIds } = await seedContactsInList(db, ws.id, 4);
    const campaign = await queueOneSend(
      db,
      ws,
      contactIds,
      { channel: "email", templateId: template.id },
      T0,
    );
    const { rows } = await sql<{ id: string; idempotency_key: string }>`
      select id, idempotency_key from messages where campaign_id = ${campaign.id} order by id`.execute(db);
    const [queued, sending, sent, unknown] = rows;
    await sql`update messages set status = 'unknown' where id = ${unknown!.id}`.execute(db);
    await sql`update messages set status = 'sending', lease_until = ${at(120)} where id = ${sending!.id}`.execute(
      db,
    );
    await sql`
      update messages set status = 'sent', provider = 'smtp', sent_at = ${at(1)},
        provider_message_id = ${messageIdFor(sent!.idempotency_key, "acme.example")}
      where id = ${sent!.id}`.execute(db);
    // The provider has the queued and the sending row's messages (their outcomes were lost), and the
    // sent one twice.
    const acceptances = [
      accepted(queued!.idempotency_key, 1),
      accepted(sending!.idempotency_key, 1),
      accepted(sent!.idempotency_key, 1),
      accepted(sent!.idempotency_key, 30),
    ];
    const options = { workspaceId: ws.id, since: T0, until: at(3600), acceptances };
    const report = await reconcileLedger(db, options);
    expect(report.ledgerRows).toBe(4);
    expect(report.unconfirmed.map((r) => r.id)).toEqual([unknown!.id]);
    expect(report.outcomeLost.map((o) => o.row.id).sort()).toEqual([queued!.id, sending!.id].sort());
    expect(report.duplicated.map((d) => d.row?.id)).toEqual([sent!.id]);
    expect(report.applied).toBe(0);

    // Another workspace's reconciliation sees none of these rows.
    const other = await newWorkspaceContext(db);
    expect((await reconcileLedger(db, { ...options, workspaceId: other.id })).ledgerRows).toBe(0);

    const applied = await reconcileLedger(db, { ...options, apply: true, requeueUnconfirmed: true });
    expect(applied.applied).toBe(2);
    expect(applied.requeued).toBe(1);
    const after = await sql<{ status: string; sent_at: Date; provider_message_id: string }>`
      select status, sent_at, provider_message_id from messages where campaign_id = ${campaign.id}
      order by id`.execute(db);
    expect(after.rows.map((r) => r.status)).toEqual(["sent", "sent", "sent", "queued"]);
    expect(after.rows[0]!.provider_message_id).toBe(messageIdFor(queued!.idempotency_key, "acme.example"));
    expect(after.rows[0]!.sent_at).toEqual(at(1));
    const again = await reconcileLedger(db, options);
    expect(again.outcomeLost).toEqual([]);
  });
});
