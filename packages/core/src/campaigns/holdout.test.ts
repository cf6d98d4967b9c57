import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { dispatchEmailBatch } from "../delivery/dispatcher.ts";
import { setSender } from "../delivery/sender.service.ts";
import { createSmtpChannel } from "../delivery/smtp-channel.ts";
import { createTemplate } from "../templates/template.service.ts";
import {
  drain,
  newWorkspaceContext,
  publishGraph,
  seedContactsInList,
  TEST_LINKS,
} from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { useTestSmtpServer } from "../testing/smtp-server.ts";
import { createCampaign, launchCampaign } from "./campaign.service.ts";
import { traceContact } from "./trace.service.ts";

const database = useTestDatabase();
const mailbox = useTestSmtpServer();

const T0 = new Date("2026-04-06T10:00:00Z");
const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0.getTime() + ms);

let ws: WorkspaceContext;

beforeAll(async () => {
  ws = await newWorkspaceContext(database.handle.db);
  await setSender(database.handle.db, ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    postalAddress: "1 High Street, Springfield",
  });
});

describe("holdout", () => {
  it("never sends to the holdout, who walk the workflow like everyone else and whose trace says why", async () => {
    const db = database.handle.db;
    const template = async (name: string) =>
      (
        await createTemplate(db, ws, {
          name,
          channel: "email",
          content: { subject: name, html: `<p>${name}</p>` },
        })
      ).id;
    const graph: WorkflowGraph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "welcome" } },
        {
          id: "welcome",
          type: "send",
          channel: "email",
          templateId: await template("welcome"),
          outlets: { next: "wait" },
        },
        { id: "wait", type: "wait", mode: "duration", duration: { days: 1 }, outlets: { next: "nudge" } },
        {
          id: "nudge",
          type: "send",
          channel: "email",
          templateId: await template("nudge"),
          outlets: { next: "done" },
        },
        { id: "done", type: "exit", outlets: {} },
      ],
    };
    const { listId, contactIds } = await seedContactsInList(db, ws.id, 500);
    const { workflowId } = await publishGraph(db, ws, graph);
    const campaign = await createCampaign(db, ws, {
      name: "Spring sale",
      audienceId: listId,
      workflowId,
      holdoutPercent: 20,
    });
    await launchCampaign(db, ws, campaign.id, T0);

    const { rows: members } = await sql<{ contact_id: string; email: string; holdout: boolean }>`
      select e.contact_id, c.email, e.holdout from enrollments e
      join contacts c on c.workspace_id = e.workspace_id and c.id = e.contact_id
      where e.workspace_id = ${ws.id} and e.campaign_id = ${campaign.id}`.execute(db);
    expect(members).toHaveLength(contactIds.length);
    const holdout = members.filter((m) => m.holdout);
    const treatment = members.filter((m) => !m.holdout);
    // A hash of campaign and contact: about a fifth (500 × 20 % = 100 ± 3 standard deviations).
    expect(holdout.length).toBeGreaterThan(100 - 27);
    expect(holdout.length).toBeLessThan(100 + 27);

    const smtp = createSmtpChannel({ host: "127.0.0.1", port: mailbox.server.port });
    const dispatchAll = async (now: Date) => {
      for (;;) {
        const r = await dispatchEmailBatch(db, { links: TEST_LINKS, email: smtp, now, batchSize: 250 });
        if (r.claimed === 0) return;
      }
    };
    try {
      await drain(db, ws.id, campaign.id, { now: T0 });
      await dispatchAll(at(HOUR));
      await drain(db, ws.id, campaign.id, { now: at(DAY + HOUR) });
      await dispatchAll(at(DAY + 2 * HOUR));
    } finally {
      await smtp.close();
    }

    const received = mailbox.server.received.map((m) => ({
      to: (m.to as { value: { address: string }[] }).value[0]!.address,
      subject: m.subject,
    }));
    const holdoutEmails = new Set(holdout.map((m) => m.email));
    expect(received.filter((r) => holdoutEmails.has(r.to))).toEqual([]);
    expect(received).toHaveLength(2 * treatment.length);
    expect(new Set(received.filter((r) => r.subject === "nudge").map((r) => r.to))).toEqual(
      new Set(treatment.map((m) => m.email)),
    );

    const { rows: ledger } = await sql<{
      holdout: boolean;
      status: string;
      reason: string | null;
      n: number;
    }>`
      select e.holdout, m.status, m.reason, count(*)::int as n from messages m
      join enrollments e on e.workspace_id = m.workspace_id and e.campaign_id = m.campaign_id and e.contact_id = m.contact_id
      where m.workspace_id = ${ws.id} and m.campaign_id = ${campaign.id}
      group by 1, 2, 3 order by 1`.execute(db);
    expect(ledger).toEqual([
      { holdout: false, status: "sent", reason: null, n: 2 * treatment.length },
      { holdout: true, status: "skipped", reason: "holdout", n: 2 * holdout.length },
    ]);
    // Everyone walked to the end: the holdout waited and reached the second send like the others.
    const { rows: states } = await sql<{ state: string; node_id: string; n: number }>`
      select state, node_id, count(*)::int as n from enrollments
      where workspace_id = ${ws.id} and campaign_id = ${campaign.id} group by 1, 2`.execute(db);
    expect(states).toEqual([{ state: "completed", node_id: "done", n: 500 }]);

    const trace = await traceContact(db, ws, holdout[0]!.contact_id, { campaignId: campaign.id });
    const enrollment = trace.campaigns[0]!.enrollment!;
    expect(enrollment.messages.map((m) => [m.nodeId, m.status, m.reason])).toEqual([
      ["welcome", "skipped", "holdout"],
      ["nudge", "skipped", "holdout"],
    ]);
    expect(enrollment.messages.every((m) => m.attempts === 0 && m.provider === null)).toBe(true);
    const entries = enrollment.steps.flatMap((s) => s.entries);
    expect(entries.find((e) => e.action === "holdout")?.reason).toContain("holdout (20% of members)");
    const other = await traceContact(db, ws, treatment[0]!.contact_id, { campaignId: campaign.id });
    expect(
      other.campaigns[0]!.enrollment!.steps.flatMap((s) => s.entries).map((e) => e.action),
    ).not.toContain("holdout");
  });
});
