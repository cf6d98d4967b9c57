import { writeResponses } from "@omneural/core/responses/response.service";
import { seedSentEmails } from "@omneural/core/testing/responses";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

describe("GET /api/v1/overview", () => {
  it("is empty for a new workspace", async () => {
    const res = await t.asB({ method: "GET", url: "/api/v1/overview" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ campaigns: [], recentResponses: [], attention: [] });
  });

  it("shows campaigns in flight, the latest responses and what needs attention, to its workspace only", async () => {
    const db = t.database.handle.db;
    const ws = { id: t.a.id, defaultCountry: "US", defaultTimezone: "UTC" };
    const hourAgo = new Date(Date.now() - 3600_000);
    const sent = await seedSentEmails(db, ws, 3, hourAgo);
    const [first, second, third] = sent.messages;

    // A click on the first member's email.
    await writeResponses(db, [
      {
        id: "overview-click-1",
        workspaceId: t.a.id,
        messageId: first!.id,
        kind: "clicked",
        properties: {},
        at: new Date(),
      },
    ]);
    // The second member failed; the third's message waits for a provider that keeps failing.
    await sql`update enrollments set state = 'failed' where workspace_id = ${t.a.id} and contact_id = ${second!.contactId}`.execute(
      db,
    );
    await sql`
      update messages set status = 'queued', next_attempt_at = now() + interval '5 minutes',
        reason = 'the email provider keeps failing: paused until later (circuit breaker)'
      where workspace_id = ${t.a.id} and id = ${third!.id}`.execute(db);
    await sql`insert into imports (workspace_id, status, filename, error) values (${t.a.id}, 'failed', 'crm.csv', 'the file is not UTF-8')`.execute(
      db,
    );

    const res = await t.asA({ method: "GET", url: "/api/v1/overview" });
    expect(res.statusCode).toBe(200);
    const overview = res.json();
    const campaign = overview.campaigns.find((c: { id: string }) => c.id === sent.campaignId);
    expect(campaign).toMatchObject({ status: "running", enrolled: 3, failed: 1, messagesSent: 3 });

    expect(overview.recentResponses[0]).toMatchObject({
      id: "overview-click-1",
      kind: "clicked",
      contactId: first!.contactId,
      campaignId: sent.campaignId,
      channel: "email",
      machine: false,
    });
    expect(overview.recentResponses[0].contactLabel).toMatch(/@example\.com$/);

    const kinds = overview.attention.map((a: { kind: string }) => a.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(["failed_members", "provider_paused", "missing_sender", "import_failed"]),
    );
    const failed = overview.attention.find((a: { kind: string }) => a.kind === "failed_members");
    expect(failed).toMatchObject({ count: 1, href: `/campaigns/${sent.campaignId}`, severity: "error" });
    const paused = overview.attention.find((a: { kind: string }) => a.kind === "provider_paused");
    expect(paused).toMatchObject({ count: 1, href: "/settings/providers" });
    expect(paused.title).toContain("email");
    const sender = overview.attention.find((a: { kind: string }) => a.kind === "missing_sender");
    expect(sender).toMatchObject({ href: "/settings/sender", campaignId: sent.campaignId });

    // Setting the sender identity clears that item.
    const put = await t.asA({
      method: "PUT",
      url: "/api/v1/workspace/sender",
      payload: {
        fromName: "Acme",
        fromAddress: "news@acme.example",
        postalAddress: "1 High St, Springfield",
      },
    });
    expect(put.statusCode).toBe(200);
    const after = (await t.asA({ method: "GET", url: "/api/v1/overview" })).json();
    expect(after.attention.map((a: { kind: string }) => a.kind)).not.toContain("missing_sender");

    // Another workspace sees none of it; a viewer of this one sees it all.
    expect((await t.asB({ method: "GET", url: "/api/v1/overview" })).json()).toEqual({
      campaigns: [],
      recentResponses: [],
      attention: [],
    });
    const viewer = await t.member(t.a, "viewer");
    const asViewer = await t.asSession(viewer, { method: "GET", url: "/api/v1/overview" });
    expect(asViewer.statusCode).toBe(200);
    expect(asViewer.json().recentResponses[0].id).toBe("overview-click-1");
  });

  it("needs a key or a session", async () => {
    expect((await t.anonymous({ method: "GET", url: "/api/v1/overview" })).statusCode).toBe(401);
  });
});
