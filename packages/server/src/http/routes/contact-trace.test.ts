import { insertSuppression } from "@omneural/core/delivery/dispatch.repository";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { seedSentEmails } from "@omneural/core/testing/responses";
import { clickToken } from "@omneural/core/tracking/tokens";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../../testing/app.ts";

const t = useTestApp();

describe("GET /api/v1/contacts/{id}/trace", () => {
  it("shows a member's journey, each ledger decision with its reason, responses, consent and suppressions", async () => {
    const db = t.database.handle.db;
    const ws = { id: t.a.id, defaultCountry: "US", defaultTimezone: "America/New_York" };
    const sent = await seedSentEmails(db, ws, 2, new Date(Date.now() - 60 * 60_000));
    const [clicker, other] = sent.messages;
    // One member clicked the email, through the real redirect.
    const token = clickToken(TEST_KEYS.links, {
      workspaceId: t.a.id,
      messageId: clicker!.id,
      index: 0,
      url: "https://shop.example/sale",
    });
    const click = await t.anonymous({ method: "GET", url: `/t/c/${token}` });
    expect(click.statusCode).toBe(302);
    await t.responses.flush();
    // The other was skipped at send time: say so on the row, as the dispatcher does.
    await sql`update messages set status = 'skipped', reason = 'email consent is unsubscribed'
              where id = ${other!.id}`.execute(db);
    const email = (
      await sql<{ email: string }>`select email from contacts where id = ${other!.contactId}`.execute(db)
    ).rows[0]!.email;
    await insertSuppression(db, {
      workspaceId: t.a.id,
      channel: "email",
      address: email,
      reason: "smtp: 550 5.1.1 no such user",
      source: "provider",
      messageId: other!.id,
    });

    const traced = await t.asA({ method: "GET", url: `/api/v1/contacts/${clicker!.contactId}/trace` });
    expect(traced.statusCode, traced.body).toBe(200);
    const trace = traced.json();
    expect(trace.consent).toEqual({
      email: "never_asked",
      sms: "never_asked",
      mail: "never_asked",
      ads: "never_asked",
    });
    expect(trace.campaigns).toHaveLength(1);
    expect(trace.campaigns[0].campaignId).toBe(sent.campaignId);
    expect(trace.campaigns[0].enrollment.messages).toEqual([
      expect.objectContaining({ id: clicker!.id, status: "sent", channel: "email" }),
    ]);
    expect(trace.campaigns[0].enrollment.steps.length).toBeGreaterThan(0);
    expect(trace.campaigns[0].responses).toEqual([
      expect.objectContaining({
        type: "message.clicked",
        properties: expect.objectContaining({ url: "https://shop.example/sale", messageId: clicker!.id }),
      }),
    ]);

    const skipped = await t.asA({
      method: "GET",
      url: `/api/v1/contacts/${other!.contactId}/trace?campaignId=${sent.campaignId}`,
    });
    expect(skipped.json().campaigns[0].enrollment.messages[0]).toMatchObject({
      status: "skipped",
      reason: "email consent is unsubscribed",
    });
    expect(skipped.json().campaigns[0].responses).toEqual([]);
    expect(skipped.json().suppressions).toEqual([
      expect.objectContaining({
        channel: "email",
        address: email,
        source: "provider",
        reason: "smtp: 550 5.1.1 no such user",
      }),
    ]);

    // Another workspace sees nothing of it.
    expect(
      (await t.asB({ method: "GET", url: `/api/v1/contacts/${clicker!.contactId}/trace` })).statusCode,
    ).toBe(404);
    expect(
      (
        await t.asA({
          method: "GET",
          url: `/api/v1/contacts/${clicker!.contactId}/trace?campaignId=${crypto.randomUUID()}`,
        })
      ).statusCode,
    ).toBe(404);
  });
});
