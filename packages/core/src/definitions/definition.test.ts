import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { pauseCampaign } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import { newWorkspaceContext } from "../testing/campaigns.ts";
import { useTestDatabase } from "../testing/database.ts";
import { createTopic } from "../topics/topic.service.ts";
import { applyDefinitions, exportDefinitions, formatPlanEntry } from "./definition.service.ts";
import { formatProblem, readDefinitionFile, writeDefinitionFile } from "./definition-file.ts";

const database = useTestDatabase();
const db = () => database.handle.db;
const fixturePath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../../test/fixtures/definitions.yaml",
);
const fixture = fs.readFileSync(fixturePath, "utf8");

function read(text: string, name = "definitions.yaml") {
  const result = readDefinitionFile(text, name);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
  return result.source;
}

async function apply(ws: WorkspaceContext, text: string, options: { dryRun?: boolean; now?: Date } = {}) {
  const result = await applyDefinitions(db(), ws, read(text), options);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
  return result.plan.map(formatPlanEntry);
}

/** Everything an apply may write, per workspace: if this is equal, nothing changed. */
async function snapshot(ws: WorkspaceContext) {
  const { rows } = await sql<{ snapshot: unknown }>`
    select jsonb_build_object(
      'templates', (select jsonb_agg(t order by t.id) from templates t where workspace_id = ${ws.id}),
      'versions', (select count(*) from template_versions where workspace_id = ${ws.id}),
      'audiences', (select jsonb_agg(a order by a.id) from audiences a where workspace_id = ${ws.id}),
      'workflows', (select jsonb_agg(w order by w.id) from workflows w where workspace_id = ${ws.id}),
      'workflowVersions', (select count(*) from workflow_versions where workspace_id = ${ws.id}),
      'campaigns', (select jsonb_agg(c order by c.id) from campaigns c where workspace_id = ${ws.id})
    ) as snapshot`.execute(db());
  return rows[0]!.snapshot;
}

describe("applyDefinitions", () => {
  it("creates everything from a file, and a second apply leaves everything unchanged", async () => {
    const ws = await newWorkspaceContext(db());
    expect(await apply(ws, fixture)).toEqual([
      '+ template "Welcome"',
      '+ template "Nudge"',
      '+ audience "Newsletter" (list)',
      '+ audience "VIPs"',
      '+ workflow "Onboarding" (published v1)',
      '+ campaign "Spring onboarding" (workflow v1)',
    ]);
    const before = await snapshot(ws);
    expect(await apply(ws, fixture)).toEqual([
      '= template "Welcome" (unchanged)',
      '= template "Nudge" (unchanged)',
      '= audience "Newsletter" (unchanged)',
      '= audience "VIPs" (unchanged)',
      '= workflow "Onboarding" (unchanged)',
      '= campaign "Spring onboarding" (draft)',
    ]);
    expect(await snapshot(ws)).toEqual(before);
    // Names became ids.
    const workflow = await db()
      .selectFrom("workflows")
      .selectAll()
      .where("workspace_id", "=", ws.id)
      .executeTakeFirstOrThrow();
    const welcome = await db()
      .selectFrom("templates")
      .select("id")
      .where("workspace_id", "=", ws.id)
      .where("name", "=", "Welcome")
      .executeTakeFirstOrThrow();
    expect((workflow.graph as { nodes: { id: string; templateId?: string }[] }).nodes[1]).toMatchObject({
      id: "hello",
      templateId: welcome.id,
    });
  });

  it("makes a new template version only for the template whose content changed", async () => {
    const ws = await newWorkspaceContext(db());
    await apply(ws, fixture);
    const changed = fixture.replace("your account is ready.", "your account is ready!");
    expect(await apply(ws, changed)).toEqual([
      '= template "Welcome" (unchanged)',
      '~ template "Nudge" (content changed: version 2)',
      '= audience "Newsletter" (unchanged)',
      '= audience "VIPs" (unchanged)',
      '= workflow "Onboarding" (unchanged)',
      '= campaign "Spring onboarding" (draft)',
    ]);
    const versions = await db()
      .selectFrom("templates")
      .select(["name", "version"])
      .where("workspace_id", "=", ws.id)
      .orderBy("name")
      .execute();
    expect(versions).toEqual([
      { name: "Nudge", version: 2 },
      { name: "Welcome", version: 1 },
    ]);
  });

  it("updates the draft and publishes a new version when the graph changed, and moves a draft campaign to it", async () => {
    const ws = await newWorkspaceContext(db());
    await apply(ws, fixture);
    const changed = fixture.replace("duration: { days: 2 }", "duration: { days: 3 }");
    expect(await apply(ws, changed)).toContain('~ workflow "Onboarding" (graph changed; published v2)');
    const plan = await apply(ws, changed);
    expect(plan).toContain('= workflow "Onboarding" (unchanged)');
    const campaign = await db()
      .selectFrom("campaigns")
      .select("workflow_version")
      .where("workspace_id", "=", ws.id)
      .executeTakeFirstOrThrow();
    expect(campaign.workflow_version).toBe(2);
  });

  it("changes nothing in a dry run, and prints the same plan", async () => {
    const ws = await newWorkspaceContext(db());
    const empty = await snapshot(ws);
    const plan = await apply(
      ws,
      fixture.replace("workflow: Onboarding", "workflow: Onboarding\n    launch: true"),
      {
        dryRun: true,
      },
    );
    expect(plan[0]).toBe('+ template "Welcome"');
    expect(plan.at(-1)).toBe('+ campaign "Spring onboarding" (workflow v1, launched)');
    expect(await snapshot(ws)).toEqual(empty);

    await apply(ws, fixture);
    const applied = await snapshot(ws);
    const changed = fixture.replace("your account is ready.", "see you soon.");
    expect(await apply(ws, changed, { dryRun: true })).toContain(
      '~ template "Nudge" (content changed: version 2)',
    );
    expect(await snapshot(ws)).toEqual(applied);
  });

  it("refuses a reference to a name that does not exist, pointing at its line and column, and changes nothing", async () => {
    const ws = await newWorkspaceContext(db());
    const empty = await snapshot(ws);
    const text = fixture.replace("template: Welcome", "template: Welcom");
    const result = await applyDefinitions(db(), ws, read(text, "defs.yaml"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = text.split("\n").findIndex((l) => l.includes("template: Welcom")) + 1;
    expect(result.problems.map(formatProblem)).toEqual([
      `defs.yaml:${line}:11: workflows[0].graph.nodes[1].template: no template named "Welcom" (did you mean "Welcome"?)`,
    ]);
    expect(await snapshot(ws)).toEqual(empty);
  });

  it("refuses an invalid workflow with the validator's problems located in the file, and changes nothing", async () => {
    const ws = await newWorkspaceContext(db());
    await apply(ws, fixture);
    const applied = await snapshot(ws);
    // A new template (which the apply creates first) and a workflow whose outlet leads nowhere.
    const text = fixture
      .replace(
        "templates:\n",
        "templates:\n  - name: Extra\n    channel: sms\n    content: { body: Hello }\n",
      )
      .replace("outlets: { next: later }", "outlets: { next: nowhere }");
    const result = await applyDefinitions(db(), ws, read(text, "defs.yaml"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = text.split("\n").findIndex((l) => l.includes("next: nowhere")) + 1;
    const located = result.problems.map(formatProblem);
    expect(located.some((p) => p.startsWith(`defs.yaml:${line}:`) && p.includes("nowhere"))).toBe(true);
    expect(await snapshot(ws)).toEqual(applied);
  });

  it("refuses template content that its channel refuses, at the field", async () => {
    const ws = await newWorkspaceContext(db());
    const empty = await snapshot(ws);
    const text = fixture.replace("body: \"Hi {{ firstName | default: 'there' }}", 'body: "Hi {{ coupon }}');
    const result = await applyDefinitions(db(), ws, read(text, "defs.yaml"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = text.split("\n").findIndex((l) => l.includes("{{ coupon }}")) + 1;
    expect(formatProblem(result.problems[0]!)).toMatch(
      new RegExp(`^defs\\.yaml:${line}:7: templates\\[1\\]\\.content\\.body: .*coupon`),
    );
    expect(await snapshot(ws)).toEqual(empty);
  });

  it("does not change a running campaign's audience, and says what to do instead", async () => {
    const ws = await newWorkspaceContext(db());
    await apply(ws, fixture.replace("workflow: Onboarding", "workflow: Onboarding\n    launch: true"));
    const running = await snapshot(ws);
    const text = fixture.replace("audience: Newsletter", "audience: VIPs");
    const result = await applyDefinitions(db(), ws, read(text, "defs.yaml"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = text.split("\n").indexOf("    audience: VIPs") + 1;
    expect(formatProblem(result.problems[0]!)).toBe(
      `defs.yaml:${line}:5: campaigns[0].audience: cannot change while the campaign is running: members in flight stay on what they entered with; to run another audience or version, pause or cancel this campaign and create a new one`,
    );
    expect(await snapshot(ws)).toEqual(running);

    // A new workflow version is published, but the running campaign stays on the one it runs.
    const newer = fixture.replace("duration: { days: 2 }", "duration: { days: 5 }");
    expect(await apply(ws, newer)).toEqual(
      expect.arrayContaining([
        '~ workflow "Onboarding" (graph changed; published v2)',
        '= campaign "Spring onboarding" (running on workflow v1; v2 is for new campaigns)',
      ]),
    );
    const campaign = await db()
      .selectFrom("campaigns")
      .select(["status", "workflow_version"])
      .where("workspace_id", "=", ws.id)
      .executeTakeFirstOrThrow();
    expect(campaign).toEqual({ status: "running", workflow_version: 1 });
  });
});

describe("exportDefinitions", () => {
  it("round-trips: applying an export changes nothing, and recreates the same definitions elsewhere", async () => {
    const source = await newWorkspaceContext(db());
    await apply(source, fixture.replace("workflow: Onboarding", "workflow: Onboarding\n    launch: true"));
    const exported = await exportDefinitions(db(), source);
    expect(exported.workflows![0]!.graph.nodes[1]).toMatchObject({ template: "Welcome" });
    expect(exported.campaigns).toEqual([
      { name: "Spring onboarding", audience: "Newsletter", workflow: "Onboarding", launch: true },
    ]);

    for (const format of ["yaml", "json"] as const) {
      const text = writeDefinitionFile(exported, format);
      expect((await apply(source, text)).every((line) => line.startsWith("="))).toBe(true);

      const target = await newWorkspaceContext(db());
      const plan = await apply(target, text);
      expect(plan.every((line) => line.startsWith("+"))).toBe(true);
      expect(await exportDefinitions(db(), target)).toEqual(exported);
    }
  });

  it("exports a paused campaign as launched, and applying it leaves it paused", async () => {
    const ws = await newWorkspaceContext(db());
    await apply(ws, fixture.replace("workflow: Onboarding", "workflow: Onboarding\n    launch: true"));
    const campaign = await db()
      .selectFrom("campaigns")
      .select("id")
      .where("workspace_id", "=", ws.id)
      .executeTakeFirstOrThrow();
    await pauseCampaign(db(), ws, campaign.id);
    const text = writeDefinitionFile(await exportDefinitions(db(), ws), "yaml");
    expect(await apply(ws, text)).toContain('= campaign "Spring onboarding" (unchanged)');
    const after = await db()
      .selectFrom("campaigns")
      .select("status")
      .where("id", "=", campaign.id)
      .executeTakeFirstOrThrow();
    expect(after.status).toBe("paused");
  });
});

describe("campaign settings as code", () => {
  const now = new Date("2031-01-01T00:00:00.000Z");
  const base = fixture.slice(0, fixture.indexOf("campaigns:"));
  const campaigns = `campaigns:
  - name: Spring onboarding
    audience: Newsletter
    workflow: Onboarding
    topic: Product news
    startAt: "2031-03-01T09:00:00.000Z"
    endAt: "2031-06-01T00:00:00.000Z"
    entry: { mode: continuous }
    reentry: { mode: after, afterDays: 30 }
    policies:
      quietHours: { from: "21:00", to: "08:00" }
      frequencyCap: exempt
      throughputPerHour: { email: 5000 }
    holdoutPercent: 10
    goal: { eventType: purchase, windowDays: 14 }
    launch: true
  - name: Signup follow-up
    audience: VIPs
    workflow: Onboarding
    entry:
      mode: event
      eventType: signed_up
      where: [{ property: plan, type: string, condition: { op: eq, value: pro } }]
    reentry: { mode: always }
  - name: Summer sale
    audience: Newsletter
    workflow: Onboarding
    startLocal: { date: "2031-07-01", time: "10:00" }
    launch: true
`;
  const text = base + campaigns;

  async function withTopic() {
    const ws = await newWorkspaceContext(db());
    await createTopic(db(), ws, { name: "Product news" });
    return ws;
  }

  function lineOf(text: string, needle: string) {
    return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
  }

  it("applies every setting, exports it back equal, and re-applies with an empty plan", async () => {
    const ws = await withTopic();
    await apply(ws, text, { now });
    const row = await db()
      .selectFrom("campaigns")
      .innerJoin("topics", "topics.id", "campaigns.topic_id")
      .select(["campaigns.status", "campaigns.holdout_percent", "topics.name as topic"])
      .where("campaigns.workspace_id", "=", ws.id)
      .where("campaigns.name", "=", "Spring onboarding")
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: "scheduled", holdout_percent: "10.00", topic: "Product news" });

    const exported = await exportDefinitions(db(), ws);
    expect(exported.campaigns).toEqual(read(text).value.campaigns);

    const applied = await snapshot(ws);
    // The same instant written in another offset is no change.
    const shifted = text.replace("2031-03-01T09:00:00.000Z", "2031-03-01T10:00:00+01:00");
    expect(await apply(ws, shifted, { now })).toEqual(
      expect.arrayContaining([
        '= campaign "Spring onboarding" (unchanged)',
        '= campaign "Signup follow-up" (draft)',
        '= campaign "Summer sale" (unchanged)',
      ]),
    );
    // Later, when the start has passed: the export still applies without a change.
    const later = new Date("2031-08-01T00:00:00.000Z");
    const exportedText = writeDefinitionFile(exported, "yaml");
    expect((await apply(ws, exportedText, { now: later })).every((l) => l.startsWith("="))).toBe(true);
    expect(await snapshot(ws)).toEqual(applied);

    const target = await withTopic();
    expect((await apply(target, exportedText, { now })).filter((l) => l.includes("campaign"))).toEqual([
      '+ campaign "Spring onboarding" (workflow v1, launched)',
      '+ campaign "Signup follow-up" (workflow v1)',
      '+ campaign "Summer sale" (workflow v1, launched)',
    ]);
    expect(await exportDefinitions(db(), target)).toEqual(exported);
  });

  it("shows each changed field in a dry run, and changes nothing", async () => {
    const ws = await withTopic();
    const draft = text.replace("    launch: true\n  - name: Signup", "  - name: Signup");
    await apply(ws, draft, { now });
    const applied = await snapshot(ws);
    const changed = draft
      .replace("holdoutPercent: 10", "holdoutPercent: 20")
      .replace('quietHours: { from: "21:00", to: "08:00" }', 'quietHours: { from: "22:00", to: "08:00" }')
      .replace("    topic: Product news\n", "    topic: null\n")
      .replace("goal: { eventType: purchase, windowDays: 14 }", "goal: null")
      .replace("reentry: { mode: always }", "reentry: { mode: after, afterDays: 7 }");
    const plan = await apply(ws, changed, { now, dryRun: true });
    expect(plan).toContain(
      '~ campaign "Spring onboarding" (topic "Product news" → none; policies.quietHours {from: 21:00, to: 08:00} → {from: 22:00, to: 08:00}; holdoutPercent 10 → 20; goal {eventType: purchase, windowDays: 14} → none)',
    );
    expect(plan).toContain(
      '~ campaign "Signup follow-up" (reentry.mode always → after; reentry.afterDays none → 7)',
    );
    expect(await snapshot(ws)).toEqual(applied);
  });

  it("refuses to change the holdout of a launched campaign at its line, and applies nothing of the file", async () => {
    const ws = await withTopic();
    const running = text.replace('    startAt: "2031-03-01T09:00:00.000Z"\n', "");
    await apply(ws, running, { now });
    const before = await snapshot(ws);
    const changed = running
      .replace("your account is ready.", "see you soon.")
      .replace("frequencyCap: exempt", "frequencyCap: apply")
      .replace("holdoutPercent: 10", "holdoutPercent: 15");
    const result = await applyDefinitions(db(), ws, read(changed, "defs.yaml"), { now });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      `defs.yaml:${lineOf(changed, "holdoutPercent: 15")}:5: campaigns[0].holdoutPercent: cannot change while the campaign is running: it was fixed when the campaign started; create a new campaign to change it`,
    ]);
    expect(await snapshot(ws)).toEqual(before);

    // What may change once started does, through the same apply.
    const allowed = running.replace("frequencyCap: exempt", "frequencyCap: apply");
    expect(await apply(ws, allowed, { now })).toContain(
      '~ campaign "Spring onboarding" (policies.frequencyCap exempt → apply)',
    );
  });

  it("refuses a topic that the workspace does not have, at its line", async () => {
    const ws = await withTopic();
    const empty = await snapshot(ws);
    const typo = text.replace("topic: Product news", "topic: Product new");
    const result = await applyDefinitions(db(), ws, read(typo, "defs.yaml"), { now });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      `defs.yaml:${lineOf(typo, "topic: Product new")}:5: campaigns[0].topic: no topic named "Product new" (did you mean "Product news"?): topics are made in the API or the app`,
    ]);
    expect(await snapshot(ws)).toEqual(empty);
  });
});
