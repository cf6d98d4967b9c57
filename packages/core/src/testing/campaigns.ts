/** Test and bench helpers for the journey engine: seed contacts, publish a graph, launch, drain. */

import type { WorkflowGraph } from "@omneural/contracts/workflows";
import { type RawBuilder, sql } from "kysely";
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import { type StepOptions, stepCampaignBatch } from "../engine/stepper.ts";
import { TEST_KEYS } from "../security/keys.ts";
import { uuidv7 } from "../shared/ids.ts";
import { createTemplate } from "../templates/template.service.ts";
import { createWorkflow, publishWorkflow } from "../workflows/workflow.service.ts";
import { createWorkspace } from "../workspaces/workspace.service.ts";

export async function newWorkspaceContext(db: Db, name = `ws ${uuidv7()}`, defaultTimezone = "UTC") {
  const { workspace } = await createWorkspace(db, { name, defaultTimezone });
  return { id: workspace.id, defaultCountry: "US", defaultTimezone } satisfies WorkspaceContext;
}

/**
 * Inserts `count` contacts in one statement and a static list holding them all. `attributes` is a SQL
 * expression over `i` (1..count), e.g. sql`jsonb_build_object('vip', i % 2 = 0)`.
 */
export async function seedContactsInList(
  db: Db,
  workspaceId: string,
  count: number,
  attributes: RawBuilder<unknown> = sql`'{}'::jsonb`,
): Promise<{ listId: string; contactIds: string[] }> {
  const listId = uuidv7();
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into audiences (workspace_id, id, name, kind) values (${workspaceId}, ${listId}, ${`list ${listId}`}, 'list')`.execute(
      trx,
    );
    await sql`
      with made as (
        insert into contacts (workspace_id, id, email, attributes)
        select ${workspaceId}, gen_random_uuid(), 'member' || i || '-' || ${listId} || '@example.com', ${attributes}
        from generate_series(1, ${count}) as i
        returning id
      )
      insert into list_members (workspace_id, list_id, contact_id)
      select ${workspaceId}, ${listId}, id from made`.execute(trx);
  });
  const { rows } = await sql<{ contact_id: string }>`
    select contact_id from list_members where workspace_id = ${workspaceId} and list_id = ${listId}`.execute(
    db,
  );
  return { listId, contactIds: rows.map((r) => r.contact_id) };
}

export async function publishGraph(db: Db, ws: WorkspaceContext, graph: WorkflowGraph) {
  const workflow = await createWorkflow(db, ws, { name: `wf ${uuidv7()}`, graph });
  const { version } = await publishWorkflow(db, ws, workflow.id);
  return { workflowId: workflow.id, version: version.version };
}

/** Creates and launches a campaign of `graph` over `audienceId`. */
export async function launchGraph(
  db: Db,
  ws: WorkspaceContext,
  audienceId: string,
  graph: WorkflowGraph,
  now = new Date(),
) {
  const { workflowId } = await publishGraph(db, ws, graph);
  const campaign = await createCampaign(db, ws, { name: `campaign ${uuidv7()}`, audienceId, workflowId });
  const launched = await launchCampaign(db, ws, campaign.id, now);
  return launched.campaign;
}

/** Steps a campaign until no member is due at `options.now`. Returns the totals. */
export async function drain(db: Db, workspaceId: string, campaignId: string, options: StepOptions = {}) {
  const totals = { batches: 0, claimed: 0, moved: 0, failed: 0, sends: 0 };
  for (;;) {
    const r = await stepCampaignBatch(db, workspaceId, campaignId, options);
    if (r.claimed === 0) return totals;
    totals.batches++;
    totals.claimed += r.claimed;
    totals.moved += r.moved;
    totals.failed += r.failed;
    totals.sends += r.sends;
  }
}

/**
 * The failure tests' campaign: send email → wait `waitSeconds` → send SMS → exit, over `members` new
 * contacts, launched on the real clock.
 */
export async function launchSendWaitSend(db: Db, ws: WorkspaceContext, members: number, waitSeconds = 2) {
  const email = await createTemplate(db, ws, {
    name: "hello",
    channel: "email",
    content: { subject: "Hi", html: "<p>Hello</p>" },
  });
  const sms = await createTemplate(db, ws, { name: "nudge", channel: "sms", content: { body: "Hey" } });
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "s1" } },
      { id: "s1", type: "send", channel: "email", templateId: email.id, outlets: { next: "w" } },
      {
        id: "w",
        type: "wait",
        mode: "duration",
        duration: { seconds: waitSeconds },
        outlets: { next: "s2" },
      },
      { id: "s2", type: "send", channel: "sms", templateId: sms.id, outlets: { next: "exit" } },
      { id: "exit", type: "exit", outlets: {} },
    ],
  };
  const { listId } = await seedContactsInList(db, ws.id, members);
  return launchGraph(db, ws, listId, graph);
}

/** Link settings for dispatcher tests: links point at omneural.test and are signed with the test key. */
export const TEST_LINKS = { publicUrl: "http://omneural.test", key: TEST_KEYS.links } as const;

/**
 * A static list of these contacts and a campaign entry → send(`channel`, `templateId`) → exit over it,
 * launched and stepped at `at`: one queued ledger row each.
 */
export async function queueOneSend(
  db: Db,
  ws: WorkspaceContext,
  contactIds: string[],
  send: { channel: "email" | "sms" | "mail"; templateId: string },
  at: Date,
) {
  const listId = uuidv7();
  await sql`insert into audiences (workspace_id, id, name, kind) values (${ws.id}, ${listId}, ${listId}, 'list')`.execute(
    db,
  );
  await sql`
    insert into list_members (workspace_id, list_id, contact_id)
    select ${ws.id}, ${listId}, id from unnest(${contactIds}::uuid[]) as c(id)`.execute(db);
  const graph: WorkflowGraph = {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "send" } },
      {
        id: "send",
        type: "send",
        channel: send.channel,
        templateId: send.templateId,
        outlets: { next: "done" },
      },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
  const campaign = await launchGraph(db, ws, listId, graph, at);
  await drain(db, ws.id, campaign.id, { now: at });
  return campaign;
}
