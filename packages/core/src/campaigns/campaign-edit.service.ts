/**
 * Changing a campaign. A draft (or a scheduled campaign that has not started) takes any change. Once it
 * has started, who it is for and what it runs stay fixed — audience, workflow version, entry, holdout,
 * goal, start — because members are in flight on them: changing them would mix two campaigns in one
 * report. Its name, end, re-entry, topic and send policies may change and apply to what happens next
 * (sends not yet dispatched, entries still to come). A finished campaign only takes a new name.
 */
import type { Campaign, CampaignUpdate } from "@omneural/contracts/workflows";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { AppError, type FieldProblem, notFound, validationFailed } from "../shared/errors.ts";
import { cleanName } from "../shared/pagination.ts";
import { findCampaign, findCampaignByName } from "./campaign.repository.ts";
import { toCampaign } from "./campaign.service.ts";
import { updateCampaignRow } from "./campaign-edit.repository.ts";
import { resolveCampaignReferences } from "./campaign-references.ts";
import { checkSchedule } from "./schedule.ts";
import { checkSettings, settingsColumns } from "./settings.ts";

type Field = keyof CampaignUpdate;

/** What may change in each status; anything else is refused with the reason. */
const CHANGEABLE_ONCE_STARTED: readonly Field[] = ["name", "endAt", "reentry", "topicId", "policies"];
const CHANGEABLE_WHEN_FINISHED: readonly Field[] = ["name"];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function refusal(campaign: Campaign, field: Field): FieldProblem {
  const finished = campaign.status === "completed" || campaign.status === "cancelled";
  if (finished) return { field, message: `the campaign is ${campaign.status}: only its name can change` };
  const how =
    field === "audienceId" || field === "workflowId" || field === "workflowVersion"
      ? "members in flight stay on what they entered with; to run another audience or version, pause or cancel this campaign and create a new one"
      : "it was fixed when the campaign started; create a new campaign to change it";
  return { field, message: `cannot change while the campaign is ${campaign.status}: ${how}` };
}

export async function updateCampaign(
  db: Db,
  ws: WorkspaceContext,
  id: string,
  patch: CampaignUpdate,
  now = new Date(),
): Promise<Campaign> {
  return db.transaction().execute(async (trx) => {
    const row = await findCampaign(trx, ws.id, id, true);
    if (!row) throw notFound("campaign", id);
    const current = toCampaign(row);
    const changed = (Object.keys(patch) as Field[]).filter(
      (field) => !same(patch[field], current[field as keyof Campaign]),
    );
    if (changed.length === 0) return current;

    const started = current.status !== "draft" && current.status !== "scheduled";
    const finished = current.status === "completed" || current.status === "cancelled";
    const allowed = finished ? CHANGEABLE_WHEN_FINISHED : started ? CHANGEABLE_ONCE_STARTED : undefined;
    const refused = allowed ? changed.filter((f) => !allowed.includes(f)) : [];
    if (refused.length > 0) {
      throw new AppError(
        "CONFLICT",
        `campaign "${current.name}" is ${current.status}: ${refused.join(", ")} cannot change`,
        { errors: refused.map((f) => refusal(current, f)) },
      );
    }

    const next = { ...current, ...patch };
    const problems: FieldProblem[] = [];
    // The schedule is checked against now only where it changes: a running campaign's past start is fine.
    const schedule = checkSchedule(
      {
        startAt: changed.includes("startAt") ? next.startAt : null,
        startLocal: changed.includes("startLocal") ? next.startLocal : null,
        endAt: changed.includes("endAt") ? next.endAt : null,
      },
      now,
    );
    problems.push(...schedule.problems);
    if (next.startAt && next.startLocal) {
      problems.push({ field: "startLocal", message: "give either startAt or startLocal, not both" });
    }
    const { settings, problems: settingProblems } = checkSettings(next);
    problems.push(...settingProblems);
    if (problems.length > 0) throw validationFailed(problems);

    const name = cleanName(next.name);
    if (changed.includes("name")) {
      const other = await findCampaignByName(trx, ws.id, name);
      if (other && other.id !== id) {
        throw new AppError("CONFLICT", `a campaign named "${name}" already exists`, {
          errors: [{ field: "name", message: "is already used by another campaign" }],
        });
      }
    }
    const refs = await resolveCampaignReferences(trx, ws.id, {
      audienceId: next.audienceId,
      workflowId: next.workflowId,
      // A new workflow without a version runs its latest.
      workflowVersion:
        changed.includes("workflowId") && !changed.includes("workflowVersion")
          ? undefined
          : next.workflowVersion,
      topicId: next.topicId,
    });
    const updated = await updateCampaignRow(trx, ws.id, id, {
      name,
      audience_id: next.audienceId,
      workflow_id: refs.workflowId,
      workflow_version: refs.version,
      wake_event_types: refs.wakeEventTypes,
      topic_id: refs.topicId,
      start_at: next.startAt ? new Date(next.startAt) : null,
      start_local_date: next.startLocal?.date ?? null,
      start_local_time: next.startLocal?.time ?? null,
      end_at: next.endAt ? new Date(next.endAt) : null,
      ...settingsColumns(settings),
      updated_at: now,
    });
    return toCampaign(updated);
  });
}
