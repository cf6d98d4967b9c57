/**
 * End to end: a campaign sends an email, then waits a day for a click. The member who clicks the link
 * in the email they received (the dev inbox keeps it) moves on through `matched` once the response
 * writer has flushed and the stepper runs; the member who does not, through `timed_out` after the day.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
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

describe("send email → wait_for clicked (1 day) → matched / timed_out", () => {
  it("moves the member who clicks to matched, and the one who does not to timed_out after the day", async () => {
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
        { id: "hello", type: "send", channel: "email", templateId: template.id, outlets: { next: "click" } },
        {
          id: "click",
          type: "wait_for",
          for: { kind: "response", response: "clicked", sendNodeId: "hello" },
          timeout: { days: 1 },
          outlets: { matched: "clicked", timed_out: "ignored" },
        },
        { id: "clicked", type: "exit", outlets: {} },
        { id: "ignored", type: "exit", outlets: {} },
      ],
    };
    // The campaign started two hours ago, so the click (on the real clock) comes after the send.
    const t0 = new Date(Math.floor((Date.now() - 2 * 60 * MINUTE) / 1000) * 1000);
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 2);
    const [clicker, idle] = contactIds as [string, string];
    const campaign = await launchGraph(db, ws, listId, graph, t0);
    await drain(db, ws.id, campaign.id, { now: t0 });
    const sent = await dispatchBatch(db, "email", {
      links: TEST_LINKS,
      channels: { email: createDevInboxEmailChannel(db) },
      now: new Date(t0.getTime() + MINUTE),
    });
    expect(sent).toMatchObject({ sent: 2 });

    // The clicker follows the link in the email as it was delivered.
    const { rows } = await sql<{ html: string }>`
      select o.content->>'html' as html from outbox o
      join messages m on m.workspace_id = o.workspace_id and m.id = o.message_id
      where m.campaign_id = ${campaign.id} and m.contact_id = ${clicker}`.execute(db);
    const link = /href="(http:\/\/omneural\.test\/t\/c\/[A-Za-z0-9_-]+)"/.exec(rows[0]!.html)![1]!;
    const res = await t.anonymous({
      method: "GET",
      url: link.slice("http://omneural.test".length),
      headers: { "user-agent": BROWSER },
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("https://shop.example/spring");

    await t.responses.flush();
    const { rows: events } = await sql<{ type: string; contact_id: string }>`
      select type, contact_id from events where workspace_id = ${ws.id} and type like 'message.%'`.execute(
      db,
    );
    expect(events).toEqual([{ type: "message.clicked", contact_id: clicker }]);

    await drain(db, ws.id, campaign.id, { now: new Date() });
    const matched = await getEnrollment(db, ws, campaign.id, clicker);
    expect(matched.nodeId).toBe("clicked");
    expect(matched.state).toBe("completed");
    expect((await getEnrollment(db, ws, campaign.id, idle)).nodeId).toBe("click");

    // A day after the wait began, the other member gives up waiting.
    await drain(db, ws.id, campaign.id, { now: new Date(t0.getTime() + DAY + MINUTE) });
    const timedOut = await getEnrollment(db, ws, campaign.id, idle);
    expect(timedOut.nodeId).toBe("ignored");
    expect(timedOut.state).toBe("completed");
  });
});
