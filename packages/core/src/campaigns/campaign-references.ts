/** What a campaign points at — its audience, workflow version and topic — checked to exist. */
import { findAudience } from "../audiences/audience.repository.ts";
import type { Executor } from "../db/database.ts";
import { loadWorkflowVersion } from "../engine/stepper.ts";
import { validationFailed } from "../shared/errors.ts";
import { findTopic } from "../topics/topic.repository.ts";
import { findWorkflow } from "../workflows/workflow.repository.ts";

export interface CampaignReferences {
  audienceId: string;
  workflowId: string;
  /** Default: the workflow's latest published version. */
  workflowVersion?: number | undefined;
  topicId?: string | null | undefined;
}

/**
 * Checks that the audience, the workflow version and the topic exist in the workspace; returns the
 * version (the latest when none is named) and the event types that wake its members. Each problem
 * names its field.
 */
export async function resolveCampaignReferences(db: Executor, workspaceId: string, refs: CampaignReferences) {
  if (!(await findAudience(db, workspaceId, refs.audienceId))) {
    throw validationFailed([{ field: "audienceId", message: `audience ${refs.audienceId} does not exist` }]);
  }
  const workflow = await findWorkflow(db, workspaceId, refs.workflowId);
  if (!workflow) {
    throw validationFailed([{ field: "workflowId", message: `workflow ${refs.workflowId} does not exist` }]);
  }
  const version = refs.workflowVersion ?? workflow.latest_version;
  if (version === null) {
    throw validationFailed([
      { field: "workflowId", message: "the workflow has no published version yet: publish it first" },
    ]);
  }
  if (version > (workflow.latest_version ?? 0)) {
    throw validationFailed([
      {
        field: "workflowVersion",
        message: `the workflow has no version ${version} (latest: ${workflow.latest_version})`,
      },
    ]);
  }
  const topicId = refs.topicId ?? null;
  if (topicId !== null && !(await findTopic(db, workspaceId, topicId))) {
    throw validationFailed([{ field: "topicId", message: `topic ${topicId} does not exist` }]);
  }
  const wf = await loadWorkflowVersion(db, workspaceId, workflow.id, version);
  return { workflowId: workflow.id, version, topicId, wakeEventTypes: wf.wakeEventTypes };
}
