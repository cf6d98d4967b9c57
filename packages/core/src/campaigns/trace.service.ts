/**
 * The member trace: "why did (or didn't) this person get this message". For each campaign, the
 * member's journey (every step with its reason), every send-ledger row with its decision and reason
 * (consent, suppression, quiet hours, caps, provider answers), and every response; beside them the
 * contact's consent now and the suppressions of its addresses.
 */
import type { ContactTrace, Enrollment } from "@omneural/contracts/workflows";
import { sql } from "kysely";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { notFound } from "../shared/errors.ts";
import { findCampaign } from "./campaign.repository.ts";
import { getEnrollment } from "./campaign.service.ts";

const CAMPAIGNS_WITHOUT_FILTER = 20;

export async function traceContact(
  db: Db,
  ws: WorkspaceContext,
  contactId: string,
  query: { campaignId?: string },
): Promise<ContactTrace> {
  const contact = await db
    .selectFrom("contacts")
    .select(["id", "email", "phone", "email_consent", "sms_consent", "mail_consent", "ads_consent"])
    .where("workspace_id", "=", ws.id)
    .where("id", "=", contactId)
    .executeTakeFirst();
  if (!contact) throw notFound("contact", contactId);

  const addresses = [contact.email?.toLowerCase(), contact.phone].filter((a): a is string => Boolean(a));
  const suppressions = addresses.length
    ? await db
        .selectFrom("suppressions")
        .select(["channel", "address", "reason", "source", "created_at"])
        .where("workspace_id", "=", ws.id)
        .where("address", "in", addresses)
        .orderBy("created_at")
        .execute()
    : [];

  let campaignIds: string[];
  if (query.campaignId) {
    if (!(await findCampaign(db, ws.id, query.campaignId))) throw notFound("campaign", query.campaignId);
    campaignIds = [query.campaignId];
  } else {
    // Enrollments are not indexed by contact (launches insert millions at once); the ledger is.
    const { rows } = await sql<{ campaign_id: string }>`
      select campaign_id from messages
      where workspace_id = ${ws.id} and contact_id = ${contactId}
      group by campaign_id order by max(queued_at) desc limit ${CAMPAIGNS_WITHOUT_FILTER}`.execute(db);
    campaignIds = rows.map((r) => r.campaign_id);
  }

  const campaigns: ContactTrace["campaigns"] = [];
  for (const campaignId of campaignIds) {
    const campaign = (await findCampaign(db, ws.id, campaignId))!;
    const enrollment = await getEnrollment(db, ws, campaignId, contactId).catch((error: unknown) => {
      if ((error as { code?: string }).code === "NOT_FOUND") return null;
      throw error;
    });
    if (enrollment) await noteHoldout(db, ws.id, campaign.holdout_percent, enrollment);
    const responses = await db
      .selectFrom("events")
      .select(["id", "type", "occurred_at", "properties"])
      .where("workspace_id", "=", ws.id)
      .where("contact_id", "=", contactId)
      .where("campaign_id", "=", campaignId)
      .where("type", "like", "message.%")
      .orderBy("occurred_at")
      .limit(500)
      .execute();
    campaigns.push({
      campaignId,
      name: campaign.name,
      status: campaign.status,
      enrollment,
      responses: responses.map((r) => ({
        id: r.id,
        type: r.type,
        occurredAt: r.occurred_at.toISOString(),
        properties: r.properties as Record<string, unknown>,
      })),
    });
  }
  return {
    contactId,
    consent: {
      email: contact.email_consent,
      sms: contact.sms_consent,
      mail: contact.mail_consent,
      ads: contact.ads_consent,
    },
    suppressions: suppressions.map((s) => ({
      channel: s.channel,
      address: s.address,
      reason: s.reason,
      source: s.source,
      createdAt: s.created_at.toISOString(),
    })),
    campaigns,
  };
}

/**
 * A holdout member's entry says so: the reason every one of their sends is skipped ("holdout") and
 * why they still walk the workflow.
 */
async function noteHoldout(db: Db, workspaceId: string, percent: string, enrollment: Enrollment) {
  const row = await db
    .selectFrom("enrollments")
    .select("holdout")
    .where("workspace_id", "=", workspaceId)
    .where("campaign_id", "=", enrollment.campaignId)
    .where("contact_id", "=", enrollment.contactId)
    .executeTakeFirst();
  const entry = enrollment.steps[0]?.entries[0];
  if (!row?.holdout || !entry) return;
  enrollment.steps[0]!.entries.push({
    at: entry.at,
    nodeId: entry.nodeId,
    nodeType: entry.nodeType,
    action: "holdout",
    reason: `in the campaign's holdout (${Number(percent)}% of members): walks the workflow, but every send is skipped so that the others' lift can be measured`,
  });
}
