import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

type As = typeof t.asA;
const call = async (as: As, method: "GET" | "POST" | "PATCH" | "PUT", url: string, payload?: unknown) => {
  const r = await as({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.json() };
};
const A = {
  get: (url: string) => call(t.asA, "GET", url),
  post: (url: string, body: unknown) => call(t.asA, "POST", url, body),
  put: (url: string, body: unknown) => call(t.asA, "PUT", url, body),
  patch: (url: string, body: unknown) => call(t.asA, "PATCH", url, body),
};

/** A list, a published one-send workflow (two versions) and a draft campaign over them. */
async function draft(name: string) {
  const list = await A.post("/api/v1/audiences", { name: `${name} list`, kind: "list" });
  const other = await A.post("/api/v1/audiences", { name: `${name} other list`, kind: "list" });
  const template = await A.post("/api/v1/templates", {
    name: `${name} template`,
    channel: "email",
    content: { subject: "Hi", html: "<p>Hi</p>" },
  });
  const graph: { nodes: Record<string, unknown>[] } = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "send" } },
      { id: "send", type: "send", channel: "email", templateId: template.body.id, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  const workflow = await A.post("/api/v1/workflows", { name: `${name} workflow`, graph });
  await A.post(`/api/v1/workflows/${workflow.body.id}/publish`, {});
  graph.nodes[1]!.label = "the second version";
  await A.patch(`/api/v1/workflows/${workflow.body.id}`, { graph });
  expect((await A.post(`/api/v1/workflows/${workflow.body.id}/publish`, {})).body.version).toBe(2);
  const campaign = await A.post("/api/v1/campaigns", {
    name,
    audienceId: list.body.id,
    workflowId: workflow.body.id,
    workflowVersion: 1,
  });
  expect(campaign.status).toBe(201);
  return { id: campaign.body.id as string, otherListId: other.body.id as string };
}

describe("PATCH /api/v1/campaigns/{id}", () => {
  it("changes anything of a draft, checking each setting", async () => {
    const { id, otherListId } = await draft("Edit draft");
    const changed = await A.patch(`/api/v1/campaigns/${id}`, {
      name: "Edited draft",
      audienceId: otherListId,
      workflowVersion: 2,
      holdoutPercent: 10,
      goal: { eventType: "purchase", windowDays: 14 },
      policies: { quietHours: { from: "09:00", to: "20:00" }, frequencyCap: "exempt" },
      entry: { mode: "continuous" },
      reentry: { mode: "after", afterDays: 30 },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      name: "Edited draft",
      audienceId: otherListId,
      workflowVersion: 2,
      holdoutPercent: 10,
      goal: { eventType: "purchase", windowDays: 14 },
      policies: { quietHours: { from: "09:00", to: "20:00" }, frequencyCap: "exempt" },
      entry: { mode: "continuous" },
      reentry: { mode: "after", afterDays: 30 },
    });
    expect((await A.get(`/api/v1/campaigns/${id}`)).body.name).toBe("Edited draft");

    const bad = await A.patch(`/api/v1/campaigns/${id}`, { reentry: { mode: "after" }, workflowVersion: 9 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { field: "reentry.afterDays", message: 're-entry "after" needs afterDays' },
    ]);
    const noVersion = await A.patch(`/api/v1/campaigns/${id}`, { workflowVersion: 9 });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.errors[0].field).toBe("workflowVersion");
    expect((await A.patch(`/api/v1/campaigns/${id}`, {})).status).toBe(400);
  });

  it("refuses to change what a running campaign's members are on, naming each field and what to do", async () => {
    const { id, otherListId } = await draft("Edit running");
    expect((await A.post(`/api/v1/campaigns/${id}/launch`, {})).status).toBe(200);
    const refused = await A.patch(`/api/v1/campaigns/${id}`, {
      audienceId: otherListId,
      workflowVersion: 2,
      holdoutPercent: 5,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual([
      "audienceId",
      "workflowVersion",
      "holdoutPercent",
    ]);
    expect(refused.body.errors[0].message).toContain("members in flight stay on what they entered with");
    const campaign = (await A.get(`/api/v1/campaigns/${id}`)).body;
    expect(campaign.workflowVersion).toBe(1);

    // What applies to what comes next may change.
    const endAt = new Date(Date.now() + 86_400_000).toISOString();
    const ok = await A.patch(`/api/v1/campaigns/${id}`, {
      name: "Still running",
      endAt,
      policies: { throughputPerHour: { email: 500 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      name: "Still running",
      endAt,
      policies: { throughputPerHour: { email: 500 } },
    });
    // Sending the same values again is no change at all.
    expect((await A.patch(`/api/v1/campaigns/${id}`, { audienceId: campaign.audienceId })).status).toBe(200);

    await A.post(`/api/v1/campaigns/${id}/cancel`, {});
    const finished = await A.patch(`/api/v1/campaigns/${id}`, { endAt: null });
    expect(finished.status).toBe(409);
    expect(finished.body.errors[0].message).toContain("only its name can change");
    expect((await A.patch(`/api/v1/campaigns/${id}`, { name: "Cancelled one" })).status).toBe(200);
  });

  it("is not visible to another workspace", async () => {
    const { id } = await draft("Edit isolation");
    const r = await call(t.asB, "PATCH", `/api/v1/campaigns/${id}`, { name: "mine now" });
    expect(r.status).toBe(404);
    expect((await A.get(`/api/v1/campaigns/${id}`)).body.name).toBe("Edit isolation");
  });
});
