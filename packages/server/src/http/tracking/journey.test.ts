/**
 * End to end: a campaign sends an email, then waits a day for a click. The member who clicks the link
 * in the email they received (the dev inbox keeps it) moves on through `matched` once the response
 * writer has flushed and the stepper runs; the member who does not, through `timed_out` after the day.
 * A link scanner's click moves no one, and a click proves the email was opened to a wait for an open.
 */
import type { WorkflowGraph, WorkflowNode } from "@omneural/contracts/workflows";
import { getEnrollment } from "@omneural/core/campaigns/campaign.service";
import { createDevInboxEmailChannel } from "@omneural/core/delivery/dev-inbox";
import { dispatchBatch } from "@omneural/core/delivery/dispatcher";
import { createTemplate } from "@omneural/core/templates/template.service";
import { drain, launchGraph, seedContactsInList, TEST_LINKS } from "@omneural/core/testing/campaigns";
import { mailWorkspace } from "@omneural/core/testing/mail";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();
const MINUTE = 60_000;
const DAY = 86_400_000;
const BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36";
const SCANNER = "Mozilla/5.0 (compatible; Mimecast URL Protect)";

/**
 * A campaign entry → email "hello" → `wait` (1 day, outlets to exits `yes` and `no`) over `members` new
 * contacts, launched two hours ago (so clicks on the real clock come after the send), and sent. Returns
 * the campaign, its contacts and a function that follows a contact's link with a user agent.
 */
async function sentCampaign(members: number, wait: WorkflowNode) {
  const db = t.database.handle.db;
  const ws = await mailWorkspace(db);
  const template = await createTemplate(db, ws, {
    name: "spring",
    channel: "email",
    content: {
      subject: "Spring sale",
      html: '<p>Hi</p><p><a href="https://shop.example/spring">Shop</a></p>',
    },
  });
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "hello" } },
      { id: "hello", type: "send", channel: "email", templateId: template.id, outlets: { next: wait.id } },
      wait,
      { id: "yes", type: "exit", outlets: {} },
      { id: "no", type: "exit", outlets: {} },
    ],
  };
  const t0 = new Date(Math.floor((Date.now() - 2 * 60 * MINUTE) / 1000) * 1000);
  const { listId, contactIds } = await seedContactsInList(db, ws.id, members);
  const campaign = await launchGraph(db, ws, listId, graph, t0);
  await drain(db, ws.id, campaign.id, { now: t0 });
  const sent = await dispatchBatch(db, "email", {
    links: TEST_LINKS,
    channels: { email: createDevInboxEmailChannel(db) },
    now: new Date(t0.getTime() + MINUTE),
  });
  expect(sent).toMatchObject({ sent: members });
  /** Follows the link in the email as it was delivered to the contact. */
  const click = async (contactId: string, userAgent: string) => {
    const { rows } = await sql<{ html: string }>`
      select o.content->>'html' as html from outbox o
      join messages m on m.workspace_id = o.workspace_id and m.id = o.message_id
      where m.campaign_id = ${campaign.id} and m.contact_id = ${contactId}`.execute(db);
    const link = /href="(http:\/\/omneural\.test\/t\/c\/[A-Za-z0-9_-]+)"/.exec(rows[0]!.html)![1]!;
    const res = await t.anonymous({
      method: "GET",
      url: link.slice("http://omneural.test".length),
      headers: { "user-agent": userAgent },
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("https://shop.example/spring");
  };
  return { db, ws, t0, campaign, contactIds, click };
}

describe("send email → wait_for clicked (1 day) → matched / timed_out", () => {
  it("moves the member who clicks to matched, and the one who does not to timed_out after the day", async () => {
    const { db, ws, t0, campaign, contactIds, click } = await sentCampaign(2, {
      id: "click",
      type: "wait_for",
      for: { kind: "response", response: "clicked", sendNodeId: "hello" },
      timeout: { days: 1 },
      outlets: { matched: "yes", timed_out: "no" },
    });
    const [clicker, idle] = contactIds as [string, string];
    await click(clicker, BROWSER);

    await t.responses.flush();
    const { rows: events } = await sql<{ type: string; contact_id: string }>`
      select type, contact_id from events where workspace_id = ${ws.id} and type like 'message.%'`.execute(
      db,
    );
    expect(events).toEqual([{ type: "message.clicked", contact_id: clicker }]);

    await drain(db, ws.id, campaign.id, { now: new Date() });
    const matched = await getEnrollment(db, ws, campaign.id, clicker);
    expect(matched.nodeId).toBe("yes");
    expect(matched.state).toBe("completed");
    expect((await getEnrollment(db, ws, campaign.id, idle)).nodeId).toBe("click");

    // A day after the wait began, the other member gives up waiting.
    await drain(db, ws.id, campaign.id, { now: new Date(t0.getTime() + DAY + MINUTE) });
    const timedOut = await getEnrollment(db, ws, campaign.id, idle);
    expect(timedOut.nodeId).toBe("no");
    expect(timedOut.state).toBe("completed");
  });
});

describe("link scanners and implied opens", () => {
  it("a scanner's click moves no one; a click moves a member waiting for an open", async () => {
    const scanned = await sentCampaign(1, {
      id: "click",
      type: "wait_for",
      for: { kind: "response", response: "clicked", sendNodeId: "hello" },
      timeout: { days: 1 },
      outlets: { matched: "yes", timed_out: "no" },
    });
    const [member] = scanned.contactIds as [string];
    await scanned.click(member, SCANNER);

    const opened = await sentCampaign(1, {
      id: "open",
      type: "wait_for",
      for: { kind: "response", response: "opened", sendNodeId: "hello" },
      timeout: { days: 1 },
      outlets: { matched: "yes", timed_out: "no" },
    });
    const [reader] = opened.contactIds as [string];
    // Images blocked: no pixel, only the click.
    await opened.click(reader, BROWSER);
    await t.responses.flush();

    const { db } = scanned;
    const { rows } = await sql<{ machine: string | null }>`
      select properties ->> 'machineReason' as machine from events
      where workspace_id = ${scanned.ws.id} and type = 'message.clicked'`.execute(db);
    expect(rows).toEqual([{ machine: "scanner_user_agent" }]);
    await drain(db, scanned.ws.id, scanned.campaign.id, { now: new Date() });
    expect((await getEnrollment(db, scanned.ws, scanned.campaign.id, member)).nodeId).toBe("click");

    await drain(db, opened.ws.id, opened.campaign.id, { now: new Date() });
    const moved = await getEnrollment(db, opened.ws, opened.campaign.id, reader);
    expect(moved.nodeId).toBe("yes");
    expect(moved.state).toBe("completed");
  });
});
