import { createDevInboxEmailChannel } from "@omneural/core/delivery/dev-inbox";
import { dispatchBatch } from "@omneural/core/delivery/dispatcher";
import { drain, TEST_LINKS } from "@omneural/core/testing/campaigns";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();
let emailTemplate: string;
let smsTemplate: string;
let bTemplate: string;

const welcome = (templateId: string) => ({
  nodes: [
    { id: "entry", type: "entry", outlets: { next: "hello" } },
    { id: "hello", type: "send", channel: "email", templateId, outlets: { next: "open" } },
    {
      id: "open",
      type: "wait_for",
      for: { kind: "response", response: "opened", sendNodeId: "hello" },
      timeout: { days: 3 },
      outlets: { matched: "vip", timed_out: "nudge" },
    },
    {
      id: "vip",
      type: "condition",
      rule: { kind: "field", field: "attributes.ltv", type: "number", condition: { op: "gt", value: 100 } },
      outlets: { yes: "thanks", no: "done" },
    },
    { id: "thanks", type: "update", set: { welcomed: true }, outlets: { next: "done" } },
    {
      id: "nudge",
      type: "wait",
      mode: "window",
      window: { days: ["tue", "wed", "thu"], from: "09:00", to: "11:00" },
      outlets: { next: "done" },
    },
    { id: "done", type: "exit", outlets: {} },
    { id: "bought", type: "goal", eventType: "purchase", outlets: {} },
  ],
});

beforeAll(async () => {
  emailTemplate = (
    await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Welcome", channel: "email", content: { subject: "Hi", html: "<p>Hello</p>" } },
    })
  ).json().id;
  smsTemplate = (
    await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Nudge", channel: "sms", content: { body: "Hey" } },
    })
  ).json().id;
  bTemplate = (
    await t.asB({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Theirs", channel: "email", content: { subject: "Hi", html: "<p>Hi</p>" } },
    })
  ).json().id;
});

describe("workflows API", () => {
  it("starts a workflow as entry → exit, which publishes as version 1", async () => {
    const created = await t.asA({ method: "POST", url: "/api/v1/workflows", payload: { name: "Starter" } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ latestVersion: null, draftChanged: true });
    const published = await t.asA({ method: "POST", url: `/api/v1/workflows/${created.json().id}/publish` });
    expect(published.statusCode).toBe(201);
    expect(published.json()).toMatchObject({ version: 1 });
    // Publishing an unchanged draft returns the same version; an empty body sent as JSON (curl -H
    // 'content-type: application/json' -X POST) is no body.
    const again = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${created.json().id}/publish`,
      headers: { "content-type": "application/json" },
      payload: "",
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().version).toBe(1);
    // A body that is there must still be JSON.
    const broken = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${created.json().id}/publish`,
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().code).toBe("INVALID_JSON");
  });

  it("refuses to publish an invalid draft, naming each node at fault", async () => {
    const graph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s" } },
        { id: "s", type: "send", channel: "email", templateId: smsTemplate, outlets: { next: "ghost" } },
        { id: "theirs", type: "send", channel: "email", templateId: bTemplate, outlets: { next: "x" } },
        { id: "x", type: "exit", outlets: {} },
      ],
    };
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/workflows",
      payload: { name: "Broken", graph },
    });
    expect(created.statusCode).toBe(201);
    const validation = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${created.json().id}/validate`,
    });
    expect(validation.json().valid).toBe(false);
    const published = await t.asA({ method: "POST", url: `/api/v1/workflows/${created.json().id}/publish` });
    expect(published.statusCode).toBe(422);
    const problem = published.json();
    expect(problem.code).toBe("WORKFLOW_INVALID");
    const byNode = problem.errors.map(
      (e: { nodeId: string; message: string }) => `${e.nodeId}: ${e.message}`,
    );
    expect(byNode.some((m: string) => m.startsWith("s:") && m.includes("ghost"))).toBe(true);
    expect(byNode.some((m: string) => m.startsWith("s:") && m.includes("sms"))).toBe(true);
    expect(
      byNode.some((m: string) => m.startsWith("theirs:") && m.includes("does not exist in this workspace")),
    ).toBe(true);
    // The draft can be checked with another graph without saving it: here, an unreachable node.
    const unreachable = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${created.json().id}/validate`,
      payload: {
        graph: {
          nodes: [
            { id: "entry", type: "entry", outlets: { next: "x" } },
            { id: "x", type: "exit", outlets: {} },
            { id: "orphan", type: "exit", outlets: {} },
          ],
        },
      },
    });
    expect(unreachable.json()).toMatchObject({ valid: false, errors: [{ nodeId: "orphan" }] });
  });

  it("refuses to publish a send of a template that is not ready to send", async () => {
    const draft = await t.asA({
      method: "POST",
      url: "/api/v1/templates",
      payload: { name: "Half written", channel: "email", content: { subject: "Soon" } },
    });
    const graph = {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "s" } },
        { id: "s", type: "send", channel: "email", templateId: draft.json().id, outlets: { next: "x" } },
        { id: "x", type: "exit", outlets: {} },
      ],
    };
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/workflows",
      payload: { name: "Too early", graph },
    });
    const published = await t.asA({ method: "POST", url: `/api/v1/workflows/${created.json().id}/publish` });
    expect(published.statusCode).toBe(422);
    expect(published.json().errors[0]).toMatchObject({ nodeId: "s" });
    expect(published.json().errors[0].message).toContain(
      "not ready to send: it has no content.mjml or content.html",
    );
  });

  it("simulates a member's path with time travel and explains each branch", async () => {
    const created = await t.asA({
      method: "POST",
      url: "/api/v1/workflows",
      payload: { name: "Welcome series", graph: welcome(emailTemplate) },
    });
    const id = created.json().id;
    expect((await t.asA({ method: "POST", url: `/api/v1/workflows/${id}/publish` })).statusCode).toBe(201);

    // Opens two hours after the send and is a big spender: matched → vip yes → update → exit.
    const opened = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${id}/versions/1/simulate`,
      payload: {
        contact: { email: "sim@example.com", timezone: "America/New_York", attributes: { ltv: 500 } },
        start: "2026-03-06T15:00:00Z",
        events: [{ type: "message.opened", after: { hours: 2 } }],
      },
    });
    expect(opened.statusCode).toBe(200);
    const sim = opened.json();
    expect(sim.state).toBe("completed");
    expect(sim.timeline.map((e: { nodeId: string; action: string }) => `${e.nodeId}:${e.action}`)).toEqual([
      "entry:entered",
      "hello:send",
      "open:waiting",
      "open:matched",
      "vip:branched",
      "thanks:updated",
      "done:arrived",
      "done:exited",
    ]);
    expect(sim.timeline[1].send).toMatchObject({ channel: "email", templateId: emailTemplate });
    expect(sim.timeline[3].at).toBe("2026-03-06T17:00:00.000Z");
    expect(sim.timeline[4]).toMatchObject({ outlet: "yes", reason: "the rule matched" });

    // Never opens: times out on Monday 9 March 15:00 UTC, then waits for Tuesday 09:00 New York time.
    const silent = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${id}/versions/1/simulate`,
      payload: { contact: { timezone: "America/New_York" }, start: "2026-03-06T15:00:00Z" },
    });
    const timeline = silent.json().timeline as {
      nodeId: string;
      action: string;
      at: string;
      reason: string;
    }[];
    expect(timeline.find((e) => e.action === "timed_out")?.at).toBe("2026-03-09T15:00:00.000Z");
    const waited = timeline.find((e) => e.nodeId === "nudge" && e.action === "waited");
    expect(waited?.at).toBe("2026-03-10T13:00:00.000Z");

    // A purchase converts the member wherever they are.
    const buyer = await t.asA({
      method: "POST",
      url: `/api/v1/workflows/${id}/versions/1/simulate`,
      payload: { start: "2026-03-06T15:00:00Z", events: [{ type: "purchase", after: { days: 1 } }] },
    });
    expect(buyer.json()).toMatchObject({
      state: "converted",
      outcome: "converted",
      finishedAt: "2026-03-07T15:00:00.000Z",
    });
  });

  it("keeps workflows, templates and campaigns to their workspace", async () => {
    const created = await t.asA({ method: "POST", url: "/api/v1/workflows", payload: { name: "Private" } });
    const id = created.json().id;
    for (const request of [
      { method: "GET" as const, url: `/api/v1/workflows/${id}` },
      { method: "PATCH" as const, url: `/api/v1/workflows/${id}`, payload: { name: "Stolen" } },
      { method: "POST" as const, url: `/api/v1/workflows/${id}/publish` },
      { method: "POST" as const, url: `/api/v1/workflows/${id}/validate` },
      { method: "GET" as const, url: `/api/v1/workflows/${id}/versions` },
      { method: "DELETE" as const, url: `/api/v1/workflows/${id}` },
      { method: "GET" as const, url: `/api/v1/templates/${emailTemplate}` },
      { method: "DELETE" as const, url: `/api/v1/templates/${emailTemplate}` },
    ]) {
      const response = await t.asB(request);
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(404);
    }
    const list = await t.asB({ method: "GET", url: "/api/v1/workflows" });
    expect(list.json().data.map((w: { id: string }) => w.id)).not.toContain(id);
    expect((await t.asA({ method: "GET", url: `/api/v1/workflows/${id}` })).json().name).toBe("Private");
  });
});

describe("campaigns API", () => {
  it("runs a campaign end to end and shows counts and one member's history", async () => {
    const contacts: string[] = [];
    for (const n of [1, 2, 3]) {
      const r = await t.asA({
        method: "POST",
        url: "/api/v1/contacts",
        payload: { email: `member${n}@example.com`, attributes: { ltv: n * 100 } },
      });
      contacts.push(r.json().id);
    }
    const list = await t.asA({
      method: "POST",
      url: "/api/v1/audiences",
      payload: { name: "Launch list", kind: "list" },
    });
    await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${list.json().id}/members`,
      payload: { contactIds: contacts },
    });
    const workflow = await t.asA({
      method: "POST",
      url: "/api/v1/workflows",
      payload: { name: "Campaign flow", graph: welcome(emailTemplate) },
    });
    await t.asA({ method: "POST", url: `/api/v1/workflows/${workflow.json().id}/publish` });
    const campaign = await t.asA({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: { name: "Spring welcome", audienceId: list.json().id, workflowId: workflow.json().id },
    });
    expect(campaign.statusCode).toBe(201);
    expect(campaign.json()).toMatchObject({ status: "draft", workflowVersion: 1 });
    const id = campaign.json().id;

    // Another workspace can neither see nor drive it.
    for (const action of ["launch", "pause", "resume", "cancel", "retry"]) {
      expect((await t.asB({ method: "POST", url: `/api/v1/campaigns/${id}/${action}` })).statusCode).toBe(
        404,
      );
    }
    expect((await t.asB({ method: "GET", url: `/api/v1/campaigns/${id}` })).statusCode).toBe(404);
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/campaigns/${id}/enrollments/${contacts[0]}` })).statusCode,
    ).toBe(404);

    const launched = await t.asA({ method: "POST", url: `/api/v1/campaigns/${id}/launch` });
    expect(launched.json()).toMatchObject({ changed: 3, campaign: { status: "running", enrolled: 3 } });
    expect((await t.asA({ method: "POST", url: `/api/v1/campaigns/${id}/launch` })).json().changed).toBe(0);

    await drain(t.database.handle.db, t.a.id, id);
    // The workspace has no sender identity yet: every email fails, each with the reason.
    const db = t.database.handle.db;
    await dispatchBatch(db, "email", {
      links: TEST_LINKS,
      channels: { email: createDevInboxEmailChannel(db) },
    });
    const detail = await t.asA({ method: "GET", url: `/api/v1/campaigns/${id}` });
    expect(detail.json().counts).toEqual({
      byState: { active: 3 },
      byNode: [{ nodeId: "open", state: "active", count: 3 }],
      messages: { email: { failed: 3 } },
    });
    const failed = await t.asA({
      method: "GET",
      url: `/api/v1/campaigns/${id}/messages?status=failed&limit=2`,
    });
    expect(failed.statusCode).toBe(200);
    expect(failed.json().data).toHaveLength(2);
    expect(failed.json().data[0]).toMatchObject({
      channel: "email",
      status: "failed",
      attempts: 1,
      sentAt: null,
    });
    expect(failed.json().data[0].reason).toContain("PUT /api/v1/workspace/sender");
    const rest = await t.asA({
      method: "GET",
      url: `/api/v1/campaigns/${id}/messages?status=failed&cursor=${failed.json().nextCursor}`,
    });
    expect(rest.json()).toMatchObject({ nextCursor: null });
    expect(rest.json().data).toHaveLength(1);
    const unknown = await t.asA({ method: "GET", url: `/api/v1/campaigns/${id}/messages?status=unknown` });
    expect(unknown.json()).toEqual({ data: [], nextCursor: null });
    expect((await t.asB({ method: "GET", url: `/api/v1/campaigns/${id}/messages` })).statusCode).toBe(404);
    const history = await t.asA({ method: "GET", url: `/api/v1/campaigns/${id}/enrollments/${contacts[0]}` });
    expect(history.statusCode).toBe(200);
    expect(history.json()).toMatchObject({ nodeId: "open", state: "active" });
    expect(history.json().messages).toHaveLength(1);
    expect(history.json().steps[1].entries.map((e: { action: string }) => e.action)).toEqual([
      "entered",
      "send",
      "waiting",
    ]);
    // The send's reason names the template as a person knows it, not by its id.
    expect(history.json().steps[1].entries[1].reason).toBe("queued email with template “Welcome”");
  });

  it("refuses a campaign on a workflow that was never published", async () => {
    const workflow = await t.asA({
      method: "POST",
      url: "/api/v1/workflows",
      payload: { name: "Unpublished" },
    });
    const list = await t.asA({
      method: "POST",
      url: "/api/v1/audiences",
      payload: { name: "Empty list", kind: "list" },
    });
    const response = await t.asA({
      method: "POST",
      url: "/api/v1/campaigns",
      payload: { name: "Too soon", audienceId: list.json().id, workflowId: workflow.json().id },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0].message).toContain("publish it first");
  });
});
