/**
 * Topics in the preference centre and on the unsubscribe page: the topics are listed and saved with
 * the channels; a link from a campaign with a topic offers leaving just that topic, which leaves the
 * channel consent alone; one-click still leaves the channel; a GET changes nothing.
 */
import { TEST_KEYS } from "@omneural/core/security/keys";
import { uuidv7 } from "@omneural/core/shared/ids";
import { unsubscribeToken } from "@omneural/core/tracking/tokens";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
let newsletter: string;
let offers: string;
let campaignId: string;

async function created(url: string, payload: object) {
  const res = await t.asA({ method: "POST", url, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

beforeAll(async () => {
  newsletter = await created("/api/v1/topics", { name: "Newsletter", description: "Once a month" });
  offers = await created("/api/v1/topics", { name: "Offers <& deals>" });
  const listId = await created("/api/v1/audiences", { name: "topic list", kind: "list" });
  const workflowId = await created("/api/v1/workflows", {
    name: "topic flow",
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await t.asA({ method: "POST", url: `/api/v1/workflows/${workflowId}/publish` });
  campaignId = await created("/api/v1/campaigns", {
    name: "Monthly news",
    audienceId: listId,
    workflowId,
    topicId: newsletter,
  });
});

async function newContact() {
  const id = uuidv7();
  await sql`
    insert into contacts (workspace_id, id, email, email_consent)
    values (${t.a.id}, ${id}, ${`${id}@example.com`}, 'subscribed')`.execute(t.database.handle.db);
  return id;
}

/** An unsubscribe link as a message of the topic's campaign carries it. */
async function linkFromCampaign(contactId: string) {
  const messageId = uuidv7();
  await sql`
    insert into messages (workspace_id, id, idempotency_key, campaign_id, contact_id, node_id, channel, details, status)
    values (${t.a.id}, ${messageId}, ${messageId}, ${campaignId}, ${contactId}, 'send', 'email', '{}', 'sent')`.execute(
    t.database.handle.db,
  );
  return unsubscribeToken(TEST_KEYS.links, {
    workspaceId: t.a.id,
    contactId,
    messageId,
    channel: "email",
    issuedAt: new Date(),
  });
}

async function stateOf(contactId: string) {
  const db = t.database.handle.db;
  const { rows } = await sql<{ email_consent: string }>`
    select email_consent from contacts where workspace_id = ${t.a.id} and id = ${contactId}`.execute(db);
  const topics = await sql<{ topic_id: string; subscribed: boolean }>`
    select topic_id, subscribed from contact_topics where workspace_id = ${t.a.id} and contact_id = ${contactId}`.execute(
    db,
  );
  return {
    email: rows[0]!.email_consent,
    topics: Object.fromEntries(topics.rows.map((r) => [r.topic_id, r.subscribed])),
  };
}

describe("the preference centre's topics", () => {
  it("lists the topics under the channels, ticked unless opted out, and a GET changes nothing", async () => {
    const contactId = await newContact();
    await t.asA({
      method: "PUT",
      url: `/api/v1/contacts/${contactId}/topics/${offers}`,
      payload: { subscribed: false },
    });
    const token = await linkFromCampaign(contactId);
    const res = await t.anonymous({ method: "GET", url: `/u/${token}/preferences` });
    expect(res.statusCode).toBe(200);
    expect(res.body.indexOf('name="email"')).toBeLessThan(res.body.indexOf("Topics"));
    expect(res.body).toContain(`name="topic:${newsletter}" value="on" checked> Newsletter`);
    expect(res.body).toContain("Once a month");
    expect(res.body).toContain(`name="topic:${offers}" value="on"> Offers &lt;&amp; deals&gt;`);
    expect(await stateOf(contactId)).toEqual({ email: "subscribed", topics: { [offers]: false } });
  });

  it("saves the topic choices together with the channels", async () => {
    const contactId = await newContact();
    const token = await linkFromCampaign(contactId);
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${token}/preferences`,
      headers: FORM,
      payload: new URLSearchParams({
        save: "preferences",
        email: "on",
        topics: `${newsletter},${offers}`,
        [`topic:${offers}`]: "on",
      }).toString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("Your preferences are saved.");
    expect(res.body).toContain(`name="topic:${newsletter}" value="on">`);
    expect(await stateOf(contactId)).toEqual({ email: "subscribed", topics: { [newsletter]: false } });
  });

  it("leaves alone a topic the page did not show", async () => {
    const contactId = await newContact();
    const token = await linkFromCampaign(contactId);
    await t.anonymous({
      method: "POST",
      url: `/u/${token}/preferences`,
      headers: FORM,
      payload: new URLSearchParams({ save: "preferences", email: "on", topics: newsletter }).toString(),
    });
    expect(await stateOf(contactId)).toEqual({ email: "subscribed", topics: { [newsletter]: false } });
  });
});

describe("unsubscribing from a campaign's topic only", () => {
  it("offers it on the page of a link from a campaign with a topic, without changing anything", async () => {
    const contactId = await newContact();
    const res = await t.anonymous({ method: "GET", url: `/u/${await linkFromCampaign(contactId)}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<input type="hidden" name="scope" value="topic">');
    expect(res.body).toContain("Unsubscribe from Newsletter only");
    expect(res.body).toContain("Unsubscribe from all emails");
    expect(await stateOf(contactId)).toEqual({ email: "subscribed", topics: {} });
  });

  it("leaves the topic and keeps the channel consent", async () => {
    const contactId = await newContact();
    const mark = t.responses.recorded.length;
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${await linkFromCampaign(contactId)}`,
      headers: FORM,
      payload: "confirm=unsubscribe&scope=topic",
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("You are unsubscribed from Newsletter");
    await t.responses.flush();
    expect(t.responses.recorded.slice(mark)).toEqual([]);
    expect(await stateOf(contactId)).toEqual({ email: "subscribed", topics: { [newsletter]: false } });
  });

  it("one-click still leaves the channel, not just the topic", async () => {
    const contactId = await newContact();
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${await linkFromCampaign(contactId)}`,
      headers: FORM,
      payload: "List-Unsubscribe=One-Click&scope=topic",
    });
    expect(res.statusCode).toBe(200);
    await t.responses.flush();
    expect(await stateOf(contactId)).toEqual({ email: "unsubscribed", topics: {} });
  });

  it("offers no topic for a link without a campaign", async () => {
    const contactId = await newContact();
    const token = unsubscribeToken(TEST_KEYS.links, {
      workspaceId: t.a.id,
      contactId,
      messageId: null,
      channel: "email",
      issuedAt: new Date(),
    });
    const page = await t.anonymous({ method: "GET", url: `/u/${token}` });
    expect(page.body).not.toContain('name="scope"');
    const res = await t.anonymous({
      method: "POST",
      url: `/u/${token}`,
      headers: FORM,
      payload: "confirm=unsubscribe&scope=topic",
    });
    expect(res.statusCode).toBe(404);
    expect(await stateOf(contactId)).toEqual({ email: "subscribed", topics: {} });
  });
});
