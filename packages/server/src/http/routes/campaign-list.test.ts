import { drain } from "@omneural/core/testing/campaigns";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

type As = typeof t.asA;
const call = async (as: As, method: "GET" | "POST", url: string, payload?: unknown) => {
  const r = await as({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.json() };
};
const A = {
  get: (url: string) => call(t.asA, "GET", url),
  post: (url: string, body?: unknown) => call(t.asA, "POST", url, body),
};

/** A list of the given contacts and a published one-email workflow. */
async function setUp(name: string, contacts: Record<string, unknown>[] = []) {
  const ids: string[] = [];
  for (const contact of contacts) ids.push((await A.post("/api/v1/contacts", contact)).body.id);
  const list = await A.post("/api/v1/audiences", { name: `${name} list`, kind: "list" });
  if (ids.length > 0) await A.post(`/api/v1/audiences/${list.body.id}/members`, { contactIds: ids });
  const template = await A.post("/api/v1/templates", {
    name: `${name} template`,
    channel: "email",
    content: { subject: "Hi", html: "<p>Hi</p>" },
  });
  const workflow = await A.post("/api/v1/workflows", {
    name: `${name} workflow`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "send" } },
        {
          id: "send",
          type: "send",
          channel: "email",
          templateId: template.body.id,
          outlets: { next: "done" },
        },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await A.post(`/api/v1/workflows/${workflow.body.id}/publish`, {});
  return { audienceId: list.body.id as string, workflowId: workflow.body.id as string, contactIds: ids };
}

const idsOf = (body: { data: { id: string }[] }) => body.data.map((c) => c.id);

describe("GET /api/v1/campaigns?status=", () => {
  it("lists only the campaigns in the statuses asked for, one or several, paging through them", async () => {
    const { audienceId, workflowId } = await setUp("Status filter");
    const create = async (name: string) =>
      (await A.post("/api/v1/campaigns", { name, audienceId, workflowId })).body.id as string;
    const drafts = [await create("Draft one"), await create("Draft two"), await create("Draft three")];
    const running = await create("Running");
    expect((await A.post(`/api/v1/campaigns/${running}/launch`)).body.campaign.status).toBe("running");
    const cancelled = await create("Cancelled");
    await A.post(`/api/v1/campaigns/${cancelled}/cancel`);

    const onlyRunning = await A.get("/api/v1/campaigns?status=running");
    expect(onlyRunning.status).toBe(200);
    expect(idsOf(onlyRunning.body)).toEqual([running]);

    const several = await A.get("/api/v1/campaigns?status=running&status=cancelled");
    expect(idsOf(several.body)).toEqual([cancelled, running]);

    // Pages hold only matching campaigns: the cursor carries on within the filter.
    const first = await A.get("/api/v1/campaigns?status=draft&limit=2");
    expect(idsOf(first.body)).toEqual([drafts[2], drafts[1]]);
    const second = await A.get(`/api/v1/campaigns?status=draft&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ nextCursor: null });
    expect(idsOf(second.body)).toEqual([drafts[0]]);

    expect(idsOf((await A.get("/api/v1/campaigns?limit=500")).body)).toEqual(
      expect.arrayContaining([...drafts, running, cancelled]),
    );
    expect((await A.get("/api/v1/campaigns?status=paused")).body).toEqual({ data: [], nextCursor: null });
    // Another workspace's campaigns never show, whatever the filter.
    expect(idsOf((await call(t.asB, "GET", "/api/v1/campaigns?status=running")).body)).toEqual([]);
  });

  it("refuses a status that is not one, naming the field", async () => {
    const bad = await A.get("/api/v1/campaigns?status=finished");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("status");
  });
});

describe("GET /api/v1/campaigns/{id}/messages", () => {
  it("gives each row its contact's email, phone and name", async () => {
    const { audienceId, workflowId, contactIds } = await setUp("Message contacts", [
      { email: "grace@example.com", phone: "+14155550101", firstName: "Grace", lastName: "Hopper" },
      { email: "nameless@example.com" },
    ]);
    const campaign = await A.post("/api/v1/campaigns", { name: "Message contacts", audienceId, workflowId });
    const id = campaign.body.id as string;
    await A.post(`/api/v1/campaigns/${id}/launch`);
    await drain(t.database.handle.db, t.a.id, id);

    const messages = await A.get(`/api/v1/campaigns/${id}/messages`);
    expect(messages.status).toBe(200);
    const byContact = new Map(
      (messages.body.data as { contactId: string; contact: unknown }[]).map((m) => [m.contactId, m.contact]),
    );
    expect(byContact.size).toBe(2);
    expect(byContact.get(contactIds[0]!)).toEqual({
      email: "grace@example.com",
      phone: "+14155550101",
      name: "Grace Hopper",
    });
    expect(byContact.get(contactIds[1]!)).toEqual({ email: "nameless@example.com", phone: null, name: null });
    // Filters still apply to the joined rows.
    const queued = await A.get(`/api/v1/campaigns/${id}/messages?status=queued&channel=email&limit=1`);
    expect(queued.body.data).toHaveLength(1);
    expect(queued.body.data[0].contact).not.toBeNull();
  });
});
