/**
 * Delivery benchmark. In the same run, against the same local SMTP server (`smtp-server` on loopback,
 * which only drains and counts each message, so that it is not the bottleneck):
 *   (a) baseline: raw pooled nodemailer (the pool settings of createSmtpChannel: 5 connections, 100
 *       messages each) sending N copies of one fixed message, keeping one message in flight per
 *       connection. The message is the bench's MJML template rendered once, with the postal footer, so
 *       it has the size of what the product sends;
 *   (b) product: `dispatchBatch` over the email channel (`createSmtpChannel`, same server) in batches
 *       until no row is claimed, for N queued ledger rows of a campaign entry → send(email) → exit:
 *       claim, policies, Liquid render of the MJML template per recipient, send, record.
 * (a) and (b) alternate for `--runs` rounds (a new campaign per round, so (b) has fresh queued rows);
 * medians are reported. Goal: (b) ≥ 60% of (a).
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { type Db, openDatabase } from "@omneural/core/db/database";
import { hashMemberForAds } from "@omneural/core/delivery/ad-audiences";
import type { OutgoingMailPiece } from "@omneural/core/delivery/channel";
import { dispatchBatch } from "@omneural/core/delivery/dispatcher";
import { writePrintBatch } from "@omneural/core/delivery/print-batch";
import { setSender } from "@omneural/core/delivery/sender.service";
import { createSmtpChannel } from "@omneural/core/delivery/smtp-channel";
import { createTemplate, templateRenderer } from "@omneural/core/templates/template.service";
import { drain, launchGraph, newWorkspaceContext, TEST_LINKS } from "@omneural/core/testing/campaigns";
import { sql } from "kysely";
import nodemailer from "nodemailer";
import PDFDocument from "pdfkit";
import { SMTPServer } from "smtp-server";
import { argValue, benchDatabase, printReport, round } from "./lib.ts";

const POOL = { maxConnections: 5, maxMessages: 100 };
const POSTAL_ADDRESS = "Acme Ltd, 1 High Street, Springfield, SP1 2AB";

/** A newsletter-sized MJML email: a hero, three articles, a call to action, a footer. */
function newsletterMjml(): string {
  const paragraph =
    'Our spring collection is here, {{ firstName | default: "there" }}: lighter fabrics, brighter colours and the fit you asked for. ' +
    "Members get early access this week, free delivery on every order and returns within sixty days, no questions asked.";
  const article = (n: number) => `
    <mj-section background-color="#ffffff" padding="16px 0">
      <mj-column width="40%">
        <mj-image src="https://cdn.acme.example/news/article-${n}.jpg" alt="Article ${n}" width="220px" href="https://acme.example/news/${n}?utm_source=email" />
      </mj-column>
      <mj-column width="60%">
        <mj-text font-size="18px" font-weight="bold" color="#222222">Story ${n}: what is new this season</mj-text>
        <mj-text font-size="14px" line-height="22px" color="#444444">${paragraph}</mj-text>
        <mj-text font-size="14px" line-height="22px" color="#444444">${paragraph}</mj-text>
        <mj-button background-color="#0b5fff" color="#ffffff" href="https://acme.example/news/${n}?utm_source=email">Read more</mj-button>
      </mj-column>
    </mj-section>`;
  return `<mjml>
  <mj-head>
    <mj-attributes><mj-all font-family="Helvetica, Arial, sans-serif" /></mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f4f4">
    <mj-section background-color="#0b5fff" padding="24px 0">
      <mj-column>
        <mj-text align="center" color="#ffffff" font-size="26px" font-weight="bold">Hello {{ firstName | default: "there" }}!</mj-text>
        <mj-text align="center" color="#dde6ff" font-size="15px">The Acme spring letter</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-image src="https://cdn.acme.example/news/hero.jpg" alt="Spring" width="600px" href="https://acme.example/spring?utm_source=email" />
        <mj-text font-size="15px" line-height="24px" color="#333333">${paragraph} ${paragraph}</mj-text>
      </mj-column>
    </mj-section>
    ${[1, 2, 3, 4].map(article).join("\n")}
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-button background-color="#ff5a1f" color="#ffffff" font-size="18px" href="https://acme.example/shop?utm_source=email">Shop the collection</mj-button>
        <mj-divider border-color="#eeeeee" />
        <mj-text font-size="12px" color="#888888">You receive this because you subscribed at acme.example. Not for you any more? Tell us and we will stop.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
}

const graphFor = (templateId: string): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "send" } },
    { id: "send", type: "send", channel: "email", templateId, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function main(args: string[]) {
  const messages = argValue(args, "--messages", 5000);
  const batchSize = argValue(args, "--batch-size", 100);
  const runs = argValue(args, "--runs", 3);

  // The SMTP server: drain each message and count it; no parsing.
  let received = 0;
  let receivedBytes = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      stream.on("data", (chunk: Buffer) => {
        receivedBytes += chunk.length;
      });
      stream.on("end", () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;

  const bench = await benchDatabase("delivery");
  const handle = openDatabase(bench.url, { poolSize: 12 });
  const { db } = handle;
  try {
    const ws = await newWorkspaceContext(db, "Delivery bench");
    await setSender(db, ws, {
      fromName: "Acme",
      fromAddress: "news@acme.example",
      postalAddress: POSTAL_ADDRESS,
    });
    const content = {
      subject: 'Hi {{ firstName | default: "there" }}, the spring letter is here',
      preheader: "Early access for members this week",
      mjml: newsletterMjml(),
    };
    const template = await createTemplate(db, ws, { name: "Spring letter", channel: "email", content });
    const listId = await seedSubscribers(db, ws.id, messages);

    // The fixed message of the baseline: the template rendered once, with the footer the dispatcher adds.
    const rendered = await templateRenderer.renderEmail(content, {
      id: crypto.randomUUID(),
      externalId: null,
      email: "ada@example.com",
      phone: null,
      firstName: "Ada",
      lastName: "Lovelace",
      timezone: null,
      address: { line1: null, line2: null, city: null, region: null, postalCode: null, country: null },
      attributes: {},
    });
    const fixed = {
      from: '"Acme" <news@acme.example>',
      to: '"Ada Lovelace" <ada@example.com>',
      subject: rendered.subject,
      html: rendered.html.replace(
        "</body>",
        `<div style="font-size:12px;color:#666;margin-top:24px">${POSTAL_ADDRESS}</div></body>`,
      ),
      text: `${rendered.text.trimEnd()}\n\n--\n${POSTAL_ADDRESS}\n`,
    };
    console.error(
      `message: html ${Math.round(fixed.html.length / 1024)} KB, text ${Math.round(fixed.text.length / 1024)} KB; ${messages.toLocaleString()} messages per run, batches of ${batchSize}, ${runs} runs`,
    );

    const rawRates: number[] = [];
    const dispatchRates: number[] = [];
    const sizes: number[] = [];
    for (let run = 1; run <= runs; run++) {
      // (a) raw pooled nodemailer, one message in flight per connection.
      const transport = nodemailer.createTransport({
        pool: true,
        host: "127.0.0.1",
        port,
        secure: false,
        ignoreTLS: true,
        ...POOL,
      });
      const rawBefore = received;
      let next = 0;
      const rawStarted = performance.now();
      await Promise.all(
        Array.from({ length: POOL.maxConnections }, async () => {
          while (next < messages) {
            next++;
            await transport.sendMail(fixed);
          }
        }),
      );
      const rawMs = performance.now() - rawStarted;
      transport.close();
      if (received - rawBefore !== messages) {
        throw new Error(`raw run ${run}: the server counted ${received - rawBefore}, not ${messages}`);
      }
      const rawRate = messages / (rawMs / 1000);
      rawRates.push(rawRate);

      // (b) the dispatcher over fresh queued ledger rows.
      const campaign = await launchGraph(db, ws, listId, graphFor(template.id));
      await drain(db, ws.id, campaign.id);
      const queued = await countStatus(db, campaign.id, "queued");
      if (queued !== messages) throw new Error(`run ${run}: ${queued} rows queued, not ${messages}`);
      const channel = createSmtpChannel({ host: "127.0.0.1", port, ...POOL });
      const bytesBefore = receivedBytes;
      const before = received;
      let batches = 0;
      const started = performance.now();
      try {
        for (;;) {
          const r = await dispatchBatch(db, "email", {
            links: TEST_LINKS,
            channels: { email: channel },
            batchSize,
          });
          if (r.claimed === 0) break;
          batches++;
        }
      } finally {
        await channel.close();
      }
      const ms = performance.now() - started;
      const sent = await countStatus(db, campaign.id, "sent");
      if (sent !== messages || received - before !== messages) {
        throw new Error(
          `dispatcher run ${run}: ${sent} rows sent and ${received - before} messages received, not ${messages}`,
        );
      }
      const rate = messages / (ms / 1000);
      dispatchRates.push(rate);
      sizes.push((receivedBytes - bytesBefore) / messages / 1024);
      console.error(
        `run ${run}: raw nodemailer ${Math.round(rawRate)} msg/s (${round(rawMs / 1000, 1)} s) · dispatcher ${Math.round(rate)} msg/s (${round(ms / 1000, 1)} s, ${batches} batches) · ${round(rate / rawRate, 2)}×`,
      );
    }

    const raw = median(rawRates);
    const dispatched = median(dispatchRates);
    const ratio = dispatched / raw;
    const mail = await benchMailPieces(argValue(args, "--mail-pieces", 2000));
    const ads = benchAdHashing(argValue(args, "--ad-members", 200_000));
    console.error(
      `dispatcher ${Math.round(dispatched)} messages/s (median of ${runs}) beside raw pooled nodemailer ${Math.round(raw)} messages/s: ${round(ratio, 2)}× (goal ≥ 0.6); messages of ${round(median(sizes), 1)} KB on the wire`,
    );
    printReport({
      bench: "delivery",
      figures: {
        dispatcherMessagesPerSecond: Math.round(dispatched),
        messages,
        batchSize,
        runs,
        messageKb: round(median(sizes), 1),
        mailPiecesPerSecond: Math.round(mail.piecesPerSecond),
        adMembersHashedPerSecond: Math.round(ads.membersPerSecond),
      },
      baselines: {
        rawNodemailerMessagesPerSecond: Math.round(raw),
        rawPdfkitPagesPerSecond: Math.round(mail.rawPagesPerSecond),
        rawSha256PairsPerSecond: Math.round(ads.rawPairsPerSecond),
      },
      ratios: {
        dispatcherVsRaw: round(ratio, 2),
        mailPiecesVsRawPages: round(mail.piecesPerSecond / mail.rawPagesPerSecond, 2),
        adHashingVsRawSha256: round(ads.membersPerSecond / ads.rawPairsPerSecond, 2),
      },
      goals: { dispatcherVsRaw: ">= 0.6" },
      met: ratio >= 0.6,
    });
  } finally {
    await handle.close();
    await bench.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** N contacts with an email, a first name and email consent `subscribed`, in a static list. */
async function seedSubscribers(db: Db, workspaceId: string, count: number): Promise<string> {
  const listId = crypto.randomUUID();
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into audiences (workspace_id, id, name, kind) values (${workspaceId}, ${listId}, 'Subscribers', 'list')`.execute(
      trx,
    );
    await sql`
      with made as (
        insert into contacts (workspace_id, id, email, first_name, email_consent)
        select ${workspaceId}, gen_random_uuid(), 'subscriber' || i || '@example.com',
               (array['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald'])[1 + i % 6], 'subscribed'
        from generate_series(1, ${count}) as i
        returning id
      )
      insert into list_members (workspace_id, list_id, contact_id)
      select ${workspaceId}, ${listId}, id from made`.execute(trx);
  });
  await sql`analyze contacts`.execute(db);
  return listId;
}

async function countStatus(db: Db, campaignId: string, status: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from messages where campaign_id = ${campaignId} and status = ${status}`.execute(
    db,
  );
  return rows[0]!.n;
}

/**
 * Direct mail: N letters (address block, merged body, return address, QR code of the PURL) written as
 * one print batch — the print-batch cut-off's work — beside raw pdfkit writing N pages of one line.
 */
async function benchMailPieces(count: number) {
  const directory = await mkdtemp(join(tmpdir(), "omneural-bench-mail-"));
  try {
    const pieces: OutgoingMailPiece[] = Array.from({ length: count }, (_, i) => ({
      workspaceId: "00000000-0000-0000-0000-000000000001",
      messageId: null,
      idempotencyKey: `bench:${i}`,
      layout: "letter",
      to: {
        name: `Ada Lovelace ${i}`,
        line1: `${i} Market Street`,
        city: "San Francisco",
        region: "CA",
        postalCode: "94105",
        country: "US",
      },
      returnAddress: POSTAL_ADDRESS,
      body: `Dear Ada,\n\nOur spring collection is here. Bring this letter to any store for 20% off, or visit your page below.\n\nThe Acme team`,
      purl: `https://go.acme.example/r/${(1_000_000_000 + i).toString(32).toUpperCase()}`,
    }));
    const started = performance.now();
    const batch = await writePrintBatch(pieces, { directory, batchId: "bench" });
    const seconds = (performance.now() - started) / 1000;
    if (batch.pieces !== count) throw new Error(`print batch produced ${batch.pieces} pieces, not ${count}`);

    const rawStarted = performance.now();
    const doc = new PDFDocument({ autoFirstPage: false });
    const out = createWriteStream(join(directory, "raw.pdf"));
    doc.pipe(out);
    for (let i = 0; i < count; i++)
      doc.addPage({ size: "LETTER" }).text(`Dear Ada ${i}, our spring collection is here.`, 72, 72);
    doc.end();
    await finished(out);
    const rawSeconds = (performance.now() - rawStarted) / 1000;
    const piecesPerSecond = count / seconds;
    const rawPagesPerSecond = count / rawSeconds;
    console.error(
      `direct mail: ${Math.round(piecesPerSecond)} letters/s into one print batch (${batch.pages} pages, ${round(seconds, 1)} s) beside raw pdfkit ${Math.round(rawPagesPerSecond)} one-line pages/s`,
    );
    return { piecesPerSecond, rawPagesPerSecond };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Ad audiences: N members normalised and SHA-256 hashed (email and phone, Meta's rules) beside raw hashing of two fixed strings. */
function benchAdHashing(count: number) {
  const members = Array.from({ length: count }, (_, i) => ({
    email: ` Member.${i}@Example.com `,
    phone: `+1415555${String(i % 10_000).padStart(4, "0")}`,
  }));
  const started = performance.now();
  let hashed = 0;
  for (const m of members) if (hashMemberForAds(m, "meta").email) hashed++;
  const seconds = (performance.now() - started) / 1000;
  if (hashed !== count) throw new Error(`hashed ${hashed} members, not ${count}`);
  const rawStarted = performance.now();
  for (let i = 0; i < count; i++) {
    createHash("sha256").update("member@example.com").digest("hex");
    createHash("sha256").update("14155550101").digest("hex");
  }
  const rawSeconds = (performance.now() - rawStarted) / 1000;
  const membersPerSecond = count / seconds;
  const rawPairsPerSecond = count / rawSeconds;
  console.error(
    `ad audiences: ${Math.round(membersPerSecond)} members normalised and hashed/s beside raw SHA-256 of two strings ${Math.round(rawPairsPerSecond)}/s`,
  );
  return { membersPerSecond, rawPairsPerSecond };
}
