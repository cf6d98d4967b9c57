import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

async function setUp() {
  const contact = await t.asA({
    method: "POST",
    url: "/api/v1/contacts",
    payload: { email: "tz@example.com" },
  });
  const list = await t.asA({
    method: "POST",
    url: "/api/v1/audiences",
    payload: { name: "Tz list", kind: "list" },
  });
  await t.asA({
    method: "POST",
    url: `/api/v1/audiences/${list.json().id}/members`,
    payload: { contactIds: [contact.json().id] },
  });
  const workflow = await t.asA({ method: "POST", url: "/api/v1/workflows", payload: { name: "Tz flow" } });
  await t.asA({ method: "POST", url: `/api/v1/workflows/${workflow.json().id}/publish` });
  return { audienceId: list.json().id as string, workflowId: workflow.json().id as string };
}

describe("campaign schedule fields", () => {
  it("takes startAt, startLocal and endAt, refuses bad ones naming the field, and launches to scheduled", async () => {
    const { audienceId, workflowId } = await setUp();
    const startAt = new Date(Date.now() + 3_600_000).toISOString();
    const endAt = new Date(Date.now() + 7_200_000).toISOString();
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: { name: "Later", audienceId, workflowId, startAt, endAt },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: "draft", startAt, endAt, startLocal: null });
    const id = created.json().id;
    expect((await t.asB({ method: "POST", url: `/api/v1/campaigns/${id}/launch` })).statusCode).toBe(404);
    const launched = await t.asA({ method: "POST", url: `/api/v1/campaigns/${id}/launch` });
    expect(launched.json()).toMatchObject({ changed: 0, campaign: { status: "scheduled", enrolled: 0 } });
    expect((await t.asA({ method: "POST", url: `/api/v1/campaigns/${id}/pause` })).statusCode).toBe(409);
    const cancelled = await t.asA({ method: "POST", url: `/api/v1/campaigns/${id}/cancel` });
    expect(cancelled.json().campaign.status).toBe("cancelled");

    const local = await t.asA({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: {
        name: "Tuesday 9am",
        audienceId,
        workflowId,
        startLocal: { date: "2099-06-02", time: "09:00" },
      },
    });
    expect(local.json()).toMatchObject({ startLocal: { date: "2099-06-02", time: "09:00" }, startAt: null });
    const running = await t.asA({ method: "POST", url: `/api/v1/campaigns/${local.json().id}/launch` });
    expect(running.json()).toMatchObject({ changed: 1, campaign: { status: "running" } });

    const refused = async (payload: object) => {
      const r = await t.asA({
        method: "POST",
        url: "/api/v1/campaigns",
        payload: { name: `bad ${Math.random()}`, audienceId, workflowId, ...payload },
      });
      expect(r.statusCode).toBe(400);
      return r.json().errors.map((e: { field: string }) => e.field);
    };
    expect(await refused({ startAt: "2001-01-01T00:00:00Z" })).toEqual(["startAt"]);
    expect(await refused({ startAt, endAt: startAt })).toEqual(["endAt"]);
    expect(await refused({ startAt, startLocal: { date: "2099-06-02", time: "09:00" } })).toEqual([
      "startLocal",
    ]);
    expect((await refused({ startLocal: { date: "2099-06-02", time: "25:00" } })).join()).toContain(
      "startLocal",
    );
  });
});
