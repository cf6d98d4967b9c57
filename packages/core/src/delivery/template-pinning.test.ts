import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { createTemplate, patchTemplate, restoreTemplateVersion } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, seedContactsInList, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createWorkflow, patchWorkflow, publishWorkflow } from "../workflows/workflow.service.ts";
import type { EmailChannel, OutgoingEmail } from "./channel.ts";
import { dispatchEmailBatch } from "./dispatcher.ts";
import { setSender } from "./sender.service.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

/** A fake provider that keeps what it is given. */
const sent: OutgoingEmail[] = [];
const email: EmailChannel = {
  provider: "capture",
  acceptsIdempotencyKey: true,
  async send(message) {
    sent.push(message);
    return { kind: "sent", providerMessageId: `capture-${sent.length}` };
  },
  async close() {},
};

let ws: WorkspaceContext;
let listId: string;
let clock = 0;

beforeAll(async () => {
  const db = database.handle.db;
  ws = await newWorkspaceContext(db);
  await setSender(db, ws, { fromAddress: "news@acme.example", postalAddress: "1 High Street, Springfield" });
  ({ listId } = await seedContactsInList(db, ws.id, 2));
});

async function newTemplate(subject: string) {
  return createTemplate(database.handle.db, ws, {
    name: `t ${crypto.randomUUID()}`,
    channel: "email",
    content: { subject, html: `<p>${subject}</p>` },
  });
}

function edit(templateId: string, subject: string) {
  return patchTemplate(database.handle.db, ws, templateId, {
    content: { subject, html: `<p>${subject}</p>` },
  });
}

const oneSend = (templateId: string): WorkflowGraph => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "hello" } },
    { id: "hello", type: "send", channel: "email", templateId, outlets: { next: "done" } },
    { id: "done", type: "exit", outlets: {} },
  ],
});

async function launchOn(workflowId: string, version?: number) {
  const db = database.handle.db;
  const campaign = await createCampaign(db, ws, {
    name: `c ${crypto.randomUUID()}`,
    audienceId: listId,
    workflowId,
    ...(version !== undefined ? { workflowVersion: version } : {}),
  });
  return (await launchCampaign(db, ws, campaign.id, at(clock))).campaign.id;
}

/** Steps the campaign and sends what it queued: the subjects that went out. */
async function stepAndSend(campaignId: string) {
  const db = database.handle.db;
  clock += 1;
  await drain(db, ws.id, campaignId, { now: at(clock) });
  return send();
}

async function send() {
  sent.length = 0;
  clock += 1;
  await dispatchEmailBatch(database.handle.db, { links: TEST_LINKS, email, now: at(clock) });
  return sent.map((m) => m.subject);
}

async function ledgerVersions(campaignId: string) {
  const { rows } = await sql<{ template_version: number | null }>`
    select template_version from messages where workspace_id = ${ws.id} and campaign_id = ${campaignId}`.execute(
    database.handle.db,
  );
  return rows.map((r) => r.template_version);
}

describe("template versions pinned at publish", () => {
  it("renders queued messages with the pinned version after the template is edited", async () => {
    const template = await newTemplate("Spring sale");
    const workflow = await createWorkflow(database.handle.db, ws, {
      name: "pin queued",
      graph: oneSend(template.id),
    });
    await publishWorkflow(database.handle.db, ws, workflow.id);
    const campaignId = await launchOn(workflow.id);
    clock += 1;
    await drain(database.handle.db, ws.id, campaignId, { now: at(clock) });
    expect(await ledgerVersions(campaignId)).toEqual([1, 1]);

    await edit(template.id, "Summer sale");
    expect(await send()).toEqual(["Spring sale", "Spring sale"]);
  });

  it("pins sends the campaign queues after the edit too", async () => {
    const template = await newTemplate("Hello v1");
    const workflow = await createWorkflow(database.handle.db, ws, {
      name: "pin later",
      graph: oneSend(template.id),
    });
    await publishWorkflow(database.handle.db, ws, workflow.id);
    const campaignId = await launchOn(workflow.id);

    await edit(template.id, "Hello v2");
    expect(await stepAndSend(campaignId)).toEqual(["Hello v1", "Hello v1"]);
  });

  it("makes a new workflow version on re-publish after an edit, and a campaign on it sends the new content", async () => {
    const db = database.handle.db;
    const template = await newTemplate("Offer A");
    const workflow = await createWorkflow(db, ws, { name: "republish", graph: oneSend(template.id) });
    const first = await publishWorkflow(db, ws, workflow.id);
    expect(first).toMatchObject({ created: true, version: { version: 1 } });
    // Nothing changed: the same version.
    expect(await publishWorkflow(db, ws, workflow.id)).toMatchObject({
      created: false,
      version: { version: 1 },
    });
    const oldCampaign = await launchOn(workflow.id);

    await edit(template.id, "Offer B");
    const second = await publishWorkflow(db, ws, workflow.id);
    expect(second).toMatchObject({ created: true, version: { version: 2 } });
    const pins = await sql<{ version: number; template_versions: Record<string, number> }>`
      select version, template_versions from workflow_versions
      where workspace_id = ${ws.id} and workflow_id = ${workflow.id} order by version`.execute(db);
    expect(pins.rows).toEqual([
      { version: 1, template_versions: { [template.id]: 1 } },
      { version: 2, template_versions: { [template.id]: 2 } },
    ]);
    expect(await publishWorkflow(db, ws, workflow.id)).toMatchObject({
      created: false,
      version: { version: 2 },
    });

    const newCampaign = await launchOn(workflow.id, 2);
    expect(await stepAndSend(newCampaign)).toEqual(["Offer B", "Offer B"]);
    expect(await ledgerVersions(newCampaign)).toEqual([2, 2]);
    // The campaign launched on version 1 still sends what version 1 was published with.
    expect(await stepAndSend(oldCampaign)).toEqual(["Offer A", "Offer A"]);
  });

  it("makes a new version when a restore brings back old content, since the version number moves on", async () => {
    const db = database.handle.db;
    const template = await newTemplate("Restore v1");
    const workflow = await createWorkflow(db, ws, { name: "restore", graph: oneSend(template.id) });
    await publishWorkflow(db, ws, workflow.id);
    await edit(template.id, "Restore v2");
    await restoreTemplateVersion(db, ws, template.id, 1);
    const again = await publishWorkflow(db, ws, workflow.id);
    expect(again).toMatchObject({ created: true, version: { version: 2 } });
  });

  it("makes a new version when the draft changes, pinning every template it uses", async () => {
    const db = database.handle.db;
    const a = await newTemplate("Two sends A");
    const b = await newTemplate("Two sends B");
    const workflow = await createWorkflow(db, ws, { name: "two sends", graph: oneSend(a.id) });
    await publishWorkflow(db, ws, workflow.id);
    await edit(b.id, "Two sends B2");
    await patchWorkflow(db, ws, workflow.id, {
      graph: {
        nodes: [
          { id: "entry", type: "entry", outlets: { next: "one" } },
          {
            id: "one",
            type: "send",
            channel: "email",
            templateId: a.id.toUpperCase(),
            outlets: { next: "two" },
          },
          { id: "two", type: "send", channel: "email", templateId: b.id, outlets: { next: "done" } },
          { id: "done", type: "exit", outlets: {} },
        ],
      },
    });
    const { version } = await publishWorkflow(db, ws, workflow.id);
    const { rows } = await sql<{ template_versions: Record<string, number> }>`
      select template_versions from workflow_versions
      where workspace_id = ${ws.id} and workflow_id = ${workflow.id} and version = ${version.version}`.execute(
      db,
    );
    expect(rows[0]!.template_versions).toEqual({ [a.id]: 1, [b.id]: 2 });

    const campaignId = await launchOn(workflow.id);
    await edit(a.id, "Two sends A2");
    clock += 1;
    await drain(db, ws.id, campaignId, { now: at(clock) });
    const ledger = await sql<{ template_id: string; template_version: number }>`
      select template_id, template_version from messages
      where workspace_id = ${ws.id} and campaign_id = ${campaignId} order by node_id`.execute(db);
    expect(ledger.rows.map((r) => [r.template_id, r.template_version])).toEqual([
      [a.id, 1],
      [a.id, 1],
      [b.id, 2],
      [b.id, 2],
    ]);
    expect((await send()).sort()).toEqual(["Two sends A", "Two sends A", "Two sends B2", "Two sends B2"]);
  });

  it("renders rows queued before pinning (no version) with the template's current content", async () => {
    const db = database.handle.db;
    const template = await newTemplate("Legacy v1");
    const workflow = await createWorkflow(db, ws, { name: "legacy", graph: oneSend(template.id) });
    await publishWorkflow(db, ws, workflow.id);
    const campaignId = await launchOn(workflow.id);
    clock += 1;
    await drain(db, ws.id, campaignId, { now: at(clock) });
    await sql`update messages set template_version = null where workspace_id = ${ws.id} and campaign_id = ${campaignId}`.execute(
      db,
    );
    await edit(template.id, "Legacy v2");
    expect(await send()).toEqual(["Legacy v2", "Legacy v2"]);
  });
});
