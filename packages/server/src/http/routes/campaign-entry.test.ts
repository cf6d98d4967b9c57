import { runQueuedJobs } from "@omneural/core/testing/jobs";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { type TestWorkspace, useTestApp } from "../../testing/app.ts";

const t = useTestApp();

const asWorkspace = (who: TestWorkspace) => (who === t.a ? t.asA : t.asB);

/** An audience matching every contact and a published entry → exit workflow, in one workspace. */
async function setUp(who: TestWorkspace) {
  const as = asWorkspace(who);
  const suffix = crypto.randomUUID().slice(0, 8);
  const audience = await as({
    method: "POST",
    url: "/api/v1/audiences",
    payload: {
      name: `Everyone ${suffix}`,
      definition: { kind: "field", field: "createdAt", type: "date", condition: { op: "exists" } },
    },
  });
  expect(audience.statusCode).toBe(201);
  const workflow = await as({
    method: "POST",
    url: "/api/v1/workflows",
    payload: {
      name: `Straight through ${suffix}`,
      graph: {
        nodes: [
          { id: "entry", type: "entry", outlets: { next: "done" } },
          { id: "done", type: "exit", outlets: {} },
        ],
      },
    },
  });
  expect(workflow.statusCode).toBe(201);
  await as({ method: "POST", url: `/api/v1/workflows/${workflow.json().id}/publish` });
  return { audienceId: audience.json().id as string, workflowId: workflow.json().id as string };
}

async function enrolledIn(campaignId: string) {
  const { rows } = await sql<{ contact_id: string; trigger_event: { id: string } | null }>`
    select contact_id, trigger_event from enrollments where campaign_id = ${campaignId}`.execute(
    t.database.handle.db,
  );
  return rows;
}

describe("event-entry campaigns over the API", () => {
  it("enrolls the contact of a posted event, and never one of another workspace", async () => {
    const a = await setUp(t.a);
    const b = await setUp(t.b);
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: {
        name: "Welcome on signup",
        ...a,
        entry: {
          mode: "event",
          eventType: "signup",
          where: [{ property: "plan", type: "string", condition: { op: "eq", value: "pro" } }],
        },
        reentry: { mode: "after", afterDays: 30 },
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      entry: { mode: "event", eventType: "signup" },
      reentry: { mode: "after", afterDays: 30 },
    });
    const id = created.json().id;
    const launched = await t.asA({ method: "POST", url: `/api/v1/campaigns/${id}/launch` });
    expect(launched.json()).toMatchObject({ changed: 0, campaign: { status: "running", enrolled: 0 } });

    // Workspace B: the same event type, the same event id and email, and its own event campaign.
    const other = await t.asB({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: { name: "B signup", ...b, entry: { mode: "event", eventType: "signup" } },
    });
    await t.asB({ method: "POST", url: `/api/v1/campaigns/${other.json().id}/launch` });
    const posted = await t.asB({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [{ id: "signup-1", email: "ada@example.com", type: "signup", properties: { plan: "pro" } }],
      },
    });
    expect(posted.json()).toMatchObject({ accepted: 1 });
    await runQueuedJobs(t.database.handle);
    expect(await enrolledIn(id)).toEqual([]);
    expect(await enrolledIn(other.json().id)).toHaveLength(1);

    const event = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [{ id: "signup-1", email: "ada@example.com", type: "signup", properties: { plan: "pro" } }],
      },
    });
    expect(event.json()).toMatchObject({ accepted: 1 });
    const contactId = event.json().results[0].contactId;
    await runQueuedJobs(t.database.handle);
    const members = await enrolledIn(id);
    expect(members).toEqual([
      { contact_id: contactId, trigger_event: expect.objectContaining({ id: "signup-1" }) },
    ]);
    const history = await t.asA({ method: "GET", url: `/api/v1/campaigns/${id}/enrollments/${contactId}` });
    expect(history.statusCode).toBe(200);
    expect(history.json()).toMatchObject({ contactId, state: "active", nodeId: "entry" });
    expect((await t.asA({ method: "GET", url: `/api/v1/campaigns/${id}` })).json()).toMatchObject({
      status: "running",
      enrolled: 1,
    });
    // B cannot see A's member.
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/campaigns/${id}/enrollments/${contactId}` })).statusCode,
    ).toBe(404);
  });

  it("refuses to launch entry settings it cannot run, naming the field", async () => {
    const a = await setUp(t.a);
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: {
        name: "Signups at nine",
        ...a,
        entry: { mode: "event", eventType: "signup" },
        startLocal: { date: "2099-06-02", time: "09:00" },
      },
    });
    expect(created.statusCode).toBe(201);
    const launched = await t.asA({ method: "POST", url: `/api/v1/campaigns/${created.json().id}/launch` });
    expect(launched.statusCode).toBe(400);
    expect(launched.json().errors).toEqual([{ field: "startLocal", message: expect.any(String) }]);
  });
});
