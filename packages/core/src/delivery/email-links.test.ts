/**
 * What a marketing email carries when it leaves: RFC 8058 unsubscribe headers, a Message-ID derived from
 * the ledger row, tracked links and an open pixel, the footer; and what a permanent refusal of an
 * address does to later sends (suppression). Email goes to a real SMTP server and is parsed back.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, launchGraph, newWorkspaceContext, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import { type ClickToken, verifyToken } from "../tracking/tokens.ts";
import { messageIdFor } from "./channel.ts";
import { createDevInboxSmsChannel } from "./dev-inbox.ts";
import { dispatchBatch } from "./dispatcher.ts";
import { setSender } from "./sender.service.ts";
import { createSmtpChannel } from "./smtp-channel.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");

const mailbox = useTestSmtpServer();
let ws: WorkspaceContext;

beforeAll(async () => {
  ws = await newWorkspaceContext(database.handle.db);
  await setSender(database.handle.db, ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    replyTo: "hello@acme.example",
    postalAddress: "1 High Street\nSpringfield",
    smsFrom: "+14155550100",
  });
});

async function campaignTo(
  people: { email?: string; phone?: string }[],
  template: { channel: "email" | "sms"; content: Record<string, unknown> },
) {
  const db = database.handle.db;
  const templateId = (await createTemplate(db, ws, { name: `t ${crypto.randomUUID()}`, ...template })).id;
  const listId = crypto.randomUUID();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${listId}, 'list')`.execute(
    db,
  );
  for (const p of people) {
    const id = crypto.randomUUID();
    await sql`
      insert into contacts (workspace_id, id, email, phone, first_name, email_consent, sms_consent)
      values (${ws.id}, ${id}, ${p.email ?? null}, ${p.phone ?? null}, 'Ada', 'subscribed', 'subscribed')`.execute(
      db,
    );
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
      db,
    );
  }
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "send" } },
      { id: "send", type: "send", channel: template.channel, templateId, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  const campaign = await launchGraph(db, ws, listId, graph, T0);
  await drain(db, ws.id, campaign.id, { now: T0 });
  return campaign.id;
}

const rowsOf = async (campaignId: string) =>
  (
    await sql<{ id: string; idempotency_key: string; status: string; reason: string | null }>`
      select id, idempotency_key, status, reason from messages where campaign_id = ${campaignId} order by id`.execute(
      database.handle.db,
    )
  ).rows;

describe("a marketing email as received", () => {
  it("carries RFC 8058 headers, a Message-ID from its ledger row, tracked links, a pixel and the footer", async () => {
    const campaignId = await campaignTo([{ email: "ada@example.com" }], {
      channel: "email",
      content: {
        subject: "Spring sale",
        mjml: `<mjml><mj-body><mj-section><mj-column>
          <mj-text>Hello {{ firstName }}</mj-text>
          <mj-button href="https://shop.example/sale?utm_source=omneural">Shop now</mj-button>
        </mj-column></mj-section></mj-body></mjml>`,
      },
    });
    const smtp = createSmtpChannel({
      host: "127.0.0.1",
      port: mailbox.server.port,
      messageIdDomain: "acme.example",
    });
    try {
      const r = await dispatchBatch(database.handle.db, "email", {
        links: TEST_LINKS,
        channels: { email: smtp },
        now: new Date(T0.getTime() + 60_000),
      });
      expect(r).toMatchObject({ sent: 1 });
    } finally {
      await smtp.close();
    }
    const [row] = await rowsOf(campaignId);
    const mail = mailbox.server.received.find((m) => m.subject === "Spring sale")!;
    expect(mail.messageId).toBe(messageIdFor(row!.idempotency_key, "acme.example"));

    // RFC 8058: an HTTPS (here: PUBLIC_URL) one-click target and a mailto, and the Post header.
    expect(mail.headerLines.find((h) => h.key === "list-unsubscribe-post")?.line).toBe(
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    );
    const raw = mail.headerLines.find((h) => h.key === "list-unsubscribe")!.line;
    const httpTarget = /<(http:\/\/omneural\.test\/u\/[A-Za-z0-9_-]+)>/.exec(raw)![1]!;
    expect(raw).toContain("<mailto:hello@acme.example?subject=unsubscribe%20");
    const unsubscribe = verifyToken(TEST_LINKS.key, httpTarget.slice(httpTarget.lastIndexOf("/") + 1));
    expect(unsubscribe).toMatchObject({
      kind: "unsubscribe",
      workspaceId: ws.id,
      messageId: row!.id,
      channel: "email",
    });

    const html = String(mail.html);
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"));
    const clicks = hrefs
      .filter((h) => h.startsWith("http://omneural.test/t/c/"))
      .map((h) => verifyToken(TEST_LINKS.key, h.slice("http://omneural.test/t/c/".length)) as ClickToken);
    expect(clicks).toEqual([
      {
        kind: "click",
        workspaceId: ws.id,
        messageId: row!.id,
        index: 0,
        url: "https://shop.example/sale?utm_source=omneural",
      },
    ]);
    expect(hrefs).toContain(httpTarget);
    expect(html).toMatch(/<img src="http:\/\/omneural\.test\/t\/o\/[A-Za-z0-9_-]+"/);
    expect(html).toContain("1 High Street<br>Springfield");
    expect(mail.text).toContain("Hello Ada");
    expect(mail.text).toContain("1 High Street\nSpringfield");
    expect(mail.text).toContain(`Unsubscribe: ${httpTarget}`);
    expect(mail.text).not.toContain("https://shop.example/sale");
  });

  it("places the unsubscribe link where the template asks for it, and only there", async () => {
    await campaignTo([{ email: "placed@example.com" }], {
      channel: "email",
      content: {
        subject: "Placed",
        html: '<p>Hi</p><p><a href="{{ unsubscribe_url }}">Stop these emails</a></p>',
      },
    });
    const smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
    try {
      await dispatchBatch(database.handle.db, "email", {
        links: TEST_LINKS,
        channels: { email: smtp },
        now: new Date(T0.getTime() + 60_000),
      });
    } finally {
      await smtp.close();
    }
    const html = String(mailbox.server.received.find((m) => m.subject === "Placed")!.html);
    expect(html.match(/\/u\//g)).toHaveLength(1);
    expect(html).toContain("Stop these emails");
  });
});

describe("suppression after a permanent refusal", () => {
  it("fails an unknown mailbox, suppresses it, and skips it afterwards; a policy refusal suppresses nothing", async () => {
    const content = { subject: "Once", html: "<p>Hi</p>" };
    const first = await campaignTo([{ email: "gone@example.com" }, { email: "policy@example.com" }], {
      channel: "email",
      content,
    });
    const smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
    const dispatch = (minutes: number) =>
      dispatchBatch(database.handle.db, "email", {
        links: TEST_LINKS,
        channels: { email: smtp },
        now: new Date(T0.getTime() + minutes * 60_000),
      });
    try {
      expect(await dispatch(1)).toMatchObject({ failed: 2 });
      const reasons = (await rowsOf(first)).map((r) => r.reason).sort();
      expect(reasons[0]).toContain("user unknown");
      expect(reasons[1]).toContain("refused by policy");
      const suppressed = await sql<{ address: string; source: string }>`
        select address, source from suppressions where workspace_id = ${ws.id}`.execute(database.handle.db);
      expect(suppressed.rows).toEqual([{ address: "gone@example.com", source: "provider" }]);

      const second = await campaignTo([{ email: "Gone@Example.com" }], { channel: "email", content });
      expect(await dispatch(2)).toMatchObject({ skipped: 1 });
      expect((await rowsOf(second))[0]!.reason).toContain("gone@example.com is suppressed: smtp:");
    } finally {
      await smtp.close();
    }
  });
});

describe("SMS links", () => {
  it("are shortened to codes that the short_links table resolves", async () => {
    const campaignId = await campaignTo([{ phone: "+14155550199" }], {
      channel: "sms",
      content: { body: "Sale today: https://shop.example/sms-sale" },
    });
    const db = database.handle.db;
    const r = await dispatchBatch(db, "sms", {
      links: TEST_LINKS,
      channels: { email: {} as never, sms: createDevInboxSmsChannel(db) },
      now: new Date(T0.getTime() + 60_000),
    });
    expect(r).toMatchObject({ sent: 1 });
    const [row] = await rowsOf(campaignId);
    const links = await sql<{ code: string; url: string }>`
      select code, url from short_links where message_id = ${row!.id}`.execute(db);
    expect(links.rows).toEqual([
      { code: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), url: "https://shop.example/sms-sale" },
    ]);
    const body = await sql<{ body: string }>`
      select content ->> 'body' as body from outbox where message_id = ${row!.id}`.execute(db);
    expect(body.rows[0]!.body).toContain(`Sale today: http://omneural.test/s/${links.rows[0]!.code}`);
    expect(body.rows[0]!.body).toContain("Reply STOP to opt out");
  });
});
