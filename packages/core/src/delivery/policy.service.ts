/** Reading and setting a workspace's send-time policies (defaults apply where nothing is set). */
import type { DeliveryPolicy } from "@omneural/contracts/workspaces";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { validationFailed } from "../shared/errors.ts";
import { selectAllPolicies, upsertPolicy } from "./dispatch.repository.ts";
import { DEFAULT_POLICIES, type PolicyChannel } from "./policies.ts";

export async function getDeliveryPolicies(
  db: Db,
  ws: WorkspaceContext,
): Promise<Record<PolicyChannel, DeliveryPolicy>> {
  const result = { ...DEFAULT_POLICIES } as Record<PolicyChannel, DeliveryPolicy>;
  for (const row of await selectAllPolicies(db, ws.id)) {
    result[row.channel as PolicyChannel] = {
      allowedHours:
        row.allowed_from && row.allowed_to ? { from: row.allowed_from, to: row.allowed_to } : null,
      frequencyCap:
        row.cap_count && row.cap_days
          ? { count: row.cap_count, days: row.cap_days, action: row.cap_action === "skip" ? "skip" : "defer" }
          : null,
    };
  }
  return result;
}

export async function setDeliveryPolicy(
  db: Db,
  ws: WorkspaceContext,
  channel: PolicyChannel,
  policy: DeliveryPolicy,
): Promise<Record<PolicyChannel, DeliveryPolicy>> {
  if (policy.allowedHours && policy.allowedHours.from === policy.allowedHours.to) {
    throw validationFailed([{ field: "allowedHours", message: "from and to must differ" }]);
  }
  await upsertPolicy(db, {
    workspaceId: ws.id,
    channel,
    allowedFrom: policy.allowedHours?.from ?? null,
    allowedTo: policy.allowedHours?.to ?? null,
    capCount: policy.frequencyCap?.count ?? null,
    capDays: policy.frequencyCap?.days ?? null,
    capAction: policy.frequencyCap?.action ?? "defer",
  });
  return getDeliveryPolicies(db, ws);
}
