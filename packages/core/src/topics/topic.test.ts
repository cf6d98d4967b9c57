/**
 * Subscription topics: names unique in a workspace whatever the case, a topic in use by a running
 * campaign cannot be deleted, campaigns name only their workspace's topics, and the dispatcher skips a
 * topic's messages to contacts who opted out of it (and only those), on every channel to people.
 */
import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { cancelCampaign, createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { createDevInboxEmailChannel, createDevInboxSmsChannel } from "../delivery/dev-inbox.ts";
import { dispatchBatch } from "../delivery/dispatcher.ts";
import { setSender } from "../delivery/sender.service.ts";
import { AppError } from "../shared/errors.ts";
import { createTemplate } from "../templates/template.service.ts";
import { drain, newWorkspaceContext, publishGraph, TEST_LINKS } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createTopic, patchTopic, removeTopic, setContactTopic } from "./topic.service.ts";

const database = useTestDatabase();
const T0 = new Date("2026-03-02T10:00:00Z");
let ws: WorkspaceContext;
let other: WorkspaceContext;

beforeAll(async () => {
  ws = await newWorkspaceContext(database.handle.db);
  other = await newWorkspaceContext(database.handle.db);
  await setSender(database.handle.db, ws, {
    fromName: "Acme",
    fromAddress: "news@acme.example",
    postalAddress: "1 High Street\nSpringfield",
    smsFrom: "+14155550100",
  });
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

let phones = 1000;

async function contactsInList(count: number) {
  const db = database.handle.db;
  const listId = crypto.randomUUID();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${listId}, 'list')`.execute(
    db,
  );
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = crypto.randomUUID();
    await sql`
      insert into contacts (workspace_id, id, email, phone, email_consent, sms_consent)
      values (${ws.id}, ${id}, ${`${id}@example.com`}, ${`+1415555${phones++}`},
              'subscribed', 'subscribed')`.execute(db);
    await sql`insert into list_members (workspace_id, list_id, contact_id) values (${ws.id}, ${listId}, ${id})`.execute(
      db,
    );
    ids.push(id);
  }
  return { listId, ids };
}

async function launchTo(listId: string, channel: "email" | "sms", topicId: string | null) {
  const db = database.handle.db;
  const template = await createTemplate(db, ws, {
    name: `t ${crypto.randomUUID()}`,
    channel,
    content: channel === "email" ? { subject: "News", html: "<p>Hello</p>" } : { body: "News" },
  });
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "send" } },
      { id: "send", type: "send", channel, templateId: template.id, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  const { workflowId } = await publishGraph(db, ws, graph);
  const campaign = await createCampaign(db, ws, {
    name: `c ${crypto.randomUUID()}`,
    audienceId: listId,
    workflowId,
    topicId,
  });
  expect(campaign.topicId).toBe(topicId);
  await launchCampaign(db, ws, campaign.id, T0);
  await drain(db, ws.id, campaign.id, { now: T0 });
  return campaign.id;
}

async function outcomes(campaignId: string) {
  const { rows } = await sql<{ contact_id: string; status: string; reason: string | null }>`
    select contact_id, status, reason from messages where campaign_id = ${campaignId}`.execute(
    database.handle.db,
  );
  return new Map(rows.map((r) => [r.contact_id, { status: r.status, reason: r.reason }]));
}

describe("topics", () => {
  it("keeps names unique in a workspace whatever the case, and free in another", async () => {
    const db = database.handle.db;
    const topic = await createTopic(db, ws, { name: " Weekly Digest ", description: "Every Monday" });
    expect(topic).toMatchObject({ name: "Weekly Digest", description: "Every Monday" });
    const taken = await rejection(createTopic(db, ws, { name: "weekly digest" }));
    expect(taken.code).toBe("CONFLICT");
    expect(taken.extra.errors).toEqual([{ field: "name", message: "is already used by another topic" }]);
    await expect(createTopic(db, other, { name: "Weekly Digest" })).resolves.toMatchObject({
      name: "Weekly Digest",
    });
    const second = await createTopic(db, ws, { name: "Offers" });
    expect((await rejection(patchTopic(db, ws, second.id, { name: "WEEKLY DIGEST" }))).code).toBe("CONFLICT");
    expect(await patchTopic(db, ws, second.id, { description: "" })).toMatchObject({ description: null });
  });

  it("refuses a campaign naming a topic that is not the workspace's, on the field", async () => {
    const db = database.handle.db;
    const foreign = await createTopic(db, other, { name: `Foreign ${crypto.randomUUID()}` });
    const { listId } = await contactsInList(0);
    const { workflowId } = await publishGraph(db, ws, {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    });
    const error = await rejection(
      createCampaign(db, ws, { name: "Foreign topic", audienceId: listId, workflowId, topicId: foreign.id }),
    );
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.extra.errors).toEqual([{ field: "topicId", message: `topic ${foreign.id} does not exist` }]);
  });

  it("refuses to delete a topic while a running campaign belongs to it, and allows it once cancelled", async () => {
    const db = database.handle.db;
    const topic = await createTopic(db, ws, { name: `In use ${crypto.randomUUID()}` });
    const { listId } = await contactsInList(1);
    const campaignId = await launchTo(listId, "email", topic.id);
    const refused = await rejection(removeTopic(db, ws, topic.id));
    expect(refused.code).toBe("CONFLICT");
    expect(refused.message).toContain("running campaign");
    await cancelCampaign(db, ws, campaignId);
    await removeTopic(db, ws, topic.id);
    const { rows } = await sql<{ topic_id: string | null }>`
      select topic_id from campaigns where workspace_id = ${ws.id} and id = ${campaignId}`.execute(db);
    expect(rows[0]!.topic_id).toBeNull();
  });
});

describe("dispatching a campaign with a topic", () => {
  for (const channel of ["email", "sms"] as const) {
    it(`skips ${channel} to a contact who opted out of the topic, with the reason, and sends to the others`, async () => {
      const db = database.handle.db;
      const topic = await createTopic(db, ws, { name: `Promotions ${channel}` });
      const { listId, ids } = await contactsInList(3);
      const [optedOut, optedBackIn, neverAsked] = ids as [string, string, string];
      await setContactTopic(db, ws, optedOut, topic.id, false);
      await setContactTopic(db, ws, optedBackIn, topic.id, false);
      await setContactTopic(db, ws, optedBackIn, topic.id, true);
      const withTopic = await launchTo(listId, channel, topic.id);
      const withoutTopic = await launchTo(listId, channel, null);
      const channels =
        channel === "email"
          ? { email: createDevInboxEmailChannel(db) }
          : { email: createDevInboxEmailChannel(db), sms: createDevInboxSmsChannel(db) };
      const r = await dispatchBatch(db, channel, {
        links: TEST_LINKS,
        channels,
        now: new Date(T0.getTime() + 60_000),
      });
      expect(r).toMatchObject({ claimed: 6, sent: 5, skipped: 1 });

      const topical = await outcomes(withTopic);
      expect(topical.get(optedOut)).toEqual({
        status: "skipped",
        reason: `opted out of topic "Promotions ${channel}"`,
      });
      expect(topical.get(optedBackIn)?.status).toBe("sent");
      expect(topical.get(neverAsked)?.status).toBe("sent");
      // The topic opt-out is no channel opt-out: the campaign without a topic reaches everyone.
      expect([...(await outcomes(withoutTopic)).values()].map((o) => o.status)).toEqual([
        "sent",
        "sent",
        "sent",
      ]);
    });
  }

  it("still applies the channel consent to a contact who receives the topic", async () => {
    const db = database.handle.db;
    const topic = await createTopic(db, ws, { name: "Product updates" });
    const { listId, ids } = await contactsInList(1);
    await sql`update contacts set email_consent = 'unsubscribed' where workspace_id = ${ws.id} and id = ${ids[0]!}`.execute(
      db,
    );
    const campaignId = await launchTo(listId, "email", topic.id);
    await dispatchBatch(db, "email", {
      links: TEST_LINKS,
      channels: { email: createDevInboxEmailChannel(db) },
      now: new Date(T0.getTime() + 60_000),
    });
    expect((await outcomes(campaignId)).get(ids[0]!)).toEqual({
      status: "skipped",
      reason: "email consent is unsubscribed",
    });
  });
});
