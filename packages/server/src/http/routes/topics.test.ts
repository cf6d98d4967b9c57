/** /api/v1/topics and a contact's topic choice through the API. */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

async function newTopic(name: string, as = t.asA) {
  const res = await as({ method: "POST", url: "/api/v1/topics", payload: { name, description: "Monthly" } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string; description: string | null; createdAt: string };
}

async function newCampaign(name: string, topicId?: string) {
  const list = await t.asA({ method: "POST", url: "/api/v1/audiences", payload: { name, kind: "list" } });
  const workflow = await t.asA({
    method: "POST",
    url: "/api/v1/workflows",
    payload: {
      name,
      graph: {
        nodes: [
          { id: "entry", type: "entry", outlets: { next: "done" } },
          { id: "done", type: "exit", outlets: {} },
        ],
      },
    },
  });
  await t.asA({ method: "POST", url: `/api/v1/workflows/${workflow.json().id}/publish` });
  return t.asA({
    method: "POST",
    url: "/api/v1/campaigns",
    payload: {
      name,
      audienceId: list.json().id,
      workflowId: workflow.json().id,
      ...(topicId ? { topicId } : {}),
    },
  });
}

describe("/api/v1/topics", () => {
  it("creates, lists, reads, renames and deletes a topic", async () => {
    const topic = await newTopic("Newsletter");
    expect(topic).toMatchObject({ name: "Newsletter", description: "Monthly" });
    const list = await t.asA({ method: "GET", url: "/api/v1/topics" });
    expect(list.json().data.map((x: { id: string }) => x.id)).toContain(topic.id);
    expect((await t.asA({ method: "GET", url: `/api/v1/topics/${topic.id}` })).json()).toEqual(topic);
    const renamed = await t.asA({
      method: "PATCH",
      url: `/api/v1/topics/${topic.id}`,
      payload: { name: "The Newsletter", description: null },
    });
    expect(renamed.json()).toMatchObject({ name: "The Newsletter", description: null });
    const deleted = await t.asA({ method: "DELETE", url: `/api/v1/topics/${topic.id}` });
    expect(deleted.json()).toEqual({ id: topic.id, deleted: true });
    expect((await t.asA({ method: "GET", url: `/api/v1/topics/${topic.id}` })).statusCode).toBe(404);
  });

  it("answers 409 on a name taken in another case, and 400 on a blank one", async () => {
    await newTopic("Promotions");
    const taken = await t.asA({ method: "POST", url: "/api/v1/topics", payload: { name: "PROMOTIONS" } });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().errors).toEqual([{ field: "name", message: "is already used by another topic" }]);
    const blank = await t.asA({ method: "POST", url: "/api/v1/topics", payload: { name: "  " } });
    expect(blank.statusCode).toBe(400);
  });

  it("refuses to delete a topic a running campaign belongs to", async () => {
    const topic = await newTopic("Product updates");
    const campaign = await newCampaign("Launch news", topic.id);
    expect(campaign.statusCode, campaign.body).toBe(201);
    expect(campaign.json().topicId).toBe(topic.id);
    await t.asA({ method: "POST", url: `/api/v1/campaigns/${campaign.json().id}/launch` });
    const refused = await t.asA({ method: "DELETE", url: `/api/v1/topics/${topic.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: "CONFLICT", campaignId: campaign.json().id });
  });

  it("refuses a campaign with a topic that does not exist, naming the field", async () => {
    const res = await newCampaign("No such topic", crypto.randomUUID());
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe("topicId");
  });
});

describe("PUT /api/v1/contacts/{id}/topics/{topicId}", () => {
  it("sets and changes a contact's choice", async () => {
    const topic = await newTopic("Events");
    const contact = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: "eve@example.com" },
    });
    const url = `/api/v1/contacts/${contact.json().id}/topics/${topic.id}`;
    const out = await t.asA({ method: "PUT", url, payload: { subscribed: false } });
    expect(out.statusCode, out.body).toBe(200);
    expect(out.json()).toMatchObject({ contactId: contact.json().id, topicId: topic.id, subscribed: false });
    const other = await newTopic("Webinars");
    const choices = await t.asA({ method: "GET", url: `/api/v1/contacts/${contact.json().id}/topics` });
    expect(choices.statusCode, choices.body).toBe(200);
    const byName = Object.fromEntries(
      (choices.json().data as { name: string; subscribed: boolean; topicId: string }[]).map((c) => [
        c.name,
        c,
      ]),
    );
    expect(byName.Events).toMatchObject({ topicId: topic.id, subscribed: false });
    expect(byName.Webinars).toMatchObject({ topicId: other.id, subscribed: true, changedAt: null });
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/contacts/${contact.json().id}/topics` })).statusCode,
    ).toBe(404);
    const back = await t.asA({ method: "PUT", url, payload: { subscribed: true } });
    expect(back.json().subscribed).toBe(true);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from contact_topics where topic_id = ${topic.id}`.execute(
      t.database.handle.db,
    );
    expect(rows[0]!.n).toBe(1);
    const missing = await t.asA({
      method: "PUT",
      url: `/api/v1/contacts/${contact.json().id}/topics/${crypto.randomUUID()}`,
      payload: { subscribed: false },
    });
    expect(missing.statusCode).toBe(404);
  });
});
