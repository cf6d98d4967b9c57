/**
 * Campaigns as code: apply a definitions file to a workspace (idempotent by name: create what is
 * missing, update what changed, leave the rest) and export a workspace in the same format.
 *
 * An apply checks the whole file first (its shape, names, references), then makes every change through
 * the services inside ONE transaction (see nested-transaction.ts); any problem a service finds rolls the
 * whole apply back, so a file with an error changes nothing. A dry run makes the same changes and rolls
 * them back (campaigns are not launched), so it finds the same problems.
 */
import { isDeepStrictEqual } from "node:util";
import type { Rule } from "@omneural/contracts/audiences";
import type {
  AudienceDefinition,
  CampaignDefinition,
  DefinitionsFile,
  TemplateDefinition,
  WorkflowDefinition,
} from "@omneural/contracts/definitions";
import type {
  Campaign,
  CampaignEntry,
  CampaignGoal,
  CampaignPolicies,
  CampaignReentry,
  CampaignUpdate,
  LocalStart,
} from "@omneural/contracts/workflows";
import { createAudience, patchAudience } from "../audiences/audience.service.ts";
import { createCampaign, launchCampaign, toCampaign } from "../campaigns/campaign.service.ts";
import { updateCampaign } from "../campaigns/campaign-edit.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import type { AudienceRow, CampaignRow, TemplateRow, TopicRow, WorkflowRow } from "../db/schema.ts";
import { AppError } from "../shared/errors.ts";
import { createTemplate, patchTemplate } from "../templates/template.service.ts";
import { listAllTopics } from "../topics/topic.repository.ts";
import { findWorkflow } from "../workflows/workflow.repository.ts";
import {
  checkGraph,
  createWorkflow,
  getWorkflow,
  patchWorkflow,
  publishWorkflow,
} from "../workflows/workflow.service.ts";
import {
  listAllAdDestinations,
  listAllAudiences,
  listAllCampaigns,
  listAllTemplates,
  listAllWorkflows,
} from "./definition.repository.ts";
import {
  type DefinitionProblem,
  type DefinitionSource,
  type LocatedProblem,
  locateProblems,
  type Path,
  parseField,
} from "./definition-file.ts";
import {
  closest,
  definitionToIds,
  fileFieldOf,
  graphToIds,
  graphToNames,
  namesInRule,
  type RefKind,
  ruleToNames,
} from "./definition-names.ts";
import { joinTransaction } from "./nested-transaction.ts";

export type DefinitionKind = "template" | "audience" | "workflow" | "campaign";

/** One line of the plan: `+` create, `~` change, `=` leave as it is. */
export interface PlanEntry {
  op: "+" | "~" | "=";
  kind: DefinitionKind;
  name: string;
  /** What changes, or why nothing does. */
  note?: string;
}

export type ApplyResult =
  | { ok: true; plan: PlanEntry[]; dryRun: boolean }
  | { ok: false; problems: LocatedProblem[] };

/** `+ template "Welcome"`, `~ workflow "Onboarding" (graph changed)`, `= audience "VIPs" (unchanged)`. */
export function formatPlanEntry(entry: PlanEntry): string {
  const note = entry.note ?? (entry.op === "=" ? "unchanged" : undefined);
  return `${entry.op} ${entry.kind} "${entry.name}"${note ? ` (${note})` : ""}`;
}

const key = (name: string) => name.trim().toLowerCase();

/** Stands for an id that the apply will create; only the first pass (checking names) sees it. */
const PENDING_ID = "00000000-0000-7000-8000-000000000000";

/** Thrown inside the apply's transaction to roll it back. */
class RollBack extends Error {
  constructor(readonly problems: DefinitionProblem[]) {
    super("rolled back");
  }
}

interface Existing {
  templates: TemplateRow[];
  audiences: AudienceRow[];
  workflows: WorkflowRow[];
  campaigns: CampaignRow[];
  adDestinations: { id: string; name: string }[];
  /** Named by campaigns; made in the API or the app, not in the file (like ad destinations). */
  topics: TopicRow[];
}

async function loadExisting(db: Db, workspaceId: string): Promise<Existing> {
  return {
    templates: await listAllTemplates(db, workspaceId),
    audiences: await listAllAudiences(db, workspaceId),
    workflows: await listAllWorkflows(db, workspaceId),
    campaigns: await listAllCampaigns(db, workspaceId),
    adDestinations: await listAllAdDestinations(db, workspaceId),
    topics: await listAllTopics(db, workspaceId),
  };
}

type IndexKind = RefKind | "workflow" | "topic";

/** Names → ids of one workspace, filled as the apply creates things. */
class NameIndex {
  private readonly ids = new Map<IndexKind, Map<string, { id: string; name: string }>>();

  set(kind: IndexKind, name: string, id: string) {
    let byName = this.ids.get(kind);
    if (!byName) this.ids.set(kind, (byName = new Map()));
    byName.set(key(name), { id, name });
  }

  get(kind: IndexKind, name: string): string | undefined {
    return this.ids.get(kind)?.get(key(name))?.id;
  }

  names(kind: IndexKind): string[] {
    return [...(this.ids.get(kind)?.values() ?? [])].map((entry) => entry.name);
  }

  addAudience(row: { id: string; name: string; kind: string }) {
    this.set("audience", row.name, row.id);
    if (row.kind === "list") this.set("list", row.name, row.id);
  }

  static of(existing: Existing): NameIndex {
    const index = new NameIndex();
    for (const t of existing.templates) index.set("template", t.name, t.id);
    for (const a of existing.audiences) index.addAudience(a);
    for (const d of existing.adDestinations) index.set("ad destination", d.name, d.id);
    for (const w of existing.workflows) index.set("workflow", w.name, w.id);
    for (const t of existing.topics) index.set("topic", t.name, t.id);
    return index;
  }
}

function noSuch(kind: string, name: string, candidates: string[]) {
  const suggestion = closest(name, candidates);
  return `no ${kind} named "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
}

/**
 * A service's refusal, as problems of the file: each `field` of its errors under `at`. Anything that is
 * not a refusal (a fault) is thrown on.
 */
function problemsOf(error: unknown, at: Path, inFile = fileFieldOf): DefinitionProblem[] {
  if (!(error instanceof AppError) || error.status >= 500) throw error;
  const fields = error.extra.errors ?? [];
  if (fields.length === 0) return [{ path: at, message: error.message }];
  return fields.map((f) => ({ path: [...at, ...inFile(parseField(f.field))], message: f.message }));
}

/** Checks names: unique per kind in the file, and every reference resolvable (to the file or the workspace). */
function checkNames(
  file: Required<Omit<DefinitionsFile, "$schema">>,
  existing: Existing,
): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const sections = [
    ["templates", file.templates],
    ["audiences", file.audiences],
    ["workflows", file.workflows],
    ["campaigns", file.campaigns],
  ] as const;
  for (const [section, items] of sections) {
    const seen = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      const first = seen.get(key(item.name));
      if (first !== undefined) {
        problems.push({
          path: [section, i, "name"],
          message: `"${item.name}" is already defined at ${section}[${first}]`,
        });
      } else seen.set(key(item.name), i);
    }
  }
  // What will exist once the file is applied: the workspace's, plus the file's.
  const index = NameIndex.of(existing);
  for (const t of file.templates)
    if (!index.get("template", t.name)) index.set("template", t.name, PENDING_ID);
  for (const a of file.audiences) {
    if (!index.get("audience", a.name))
      index.addAudience({ id: PENDING_ID, name: a.name, kind: a.kind ?? "segment" });
  }
  for (const w of file.workflows)
    if (!index.get("workflow", w.name)) index.set("workflow", w.name, PENDING_ID);
  const resolve = (kind: RefKind, name: string) => index.get(kind, name);
  const candidates = (kind: RefKind) => index.names(kind);

  for (const [i, a] of file.audiences.entries()) {
    if (a.definition !== undefined)
      problems.push(
        ...definitionToIds(a.definition, resolve, candidates, ["audiences", i, "definition"]).problems,
      );
  }
  for (const [i, w] of file.workflows.entries()) {
    problems.push(...graphToIds(w.graph, resolve, candidates, ["workflows", i, "graph"]).problems);
  }
  for (const [i, c] of file.campaigns.entries()) {
    if (!index.get("audience", c.audience)) {
      problems.push({
        path: ["campaigns", i, "audience"],
        message: noSuch("audience", c.audience, index.names("audience")),
      });
    }
    if (!index.get("workflow", c.workflow)) {
      problems.push({
        path: ["campaigns", i, "workflow"],
        message: noSuch("workflow", c.workflow, index.names("workflow")),
      });
    }
    if (typeof c.topic === "string" && !index.get("topic", c.topic)) {
      problems.push({
        path: ["campaigns", i, "topic"],
        message: `${noSuch("topic", c.topic, index.names("topic"))}: topics are made in the API or the app`,
      });
    }
  }
  return problems;
}

/**
 * The file's audiences in an order where each comes after the audiences of the file it names; a cycle
 * is a problem (the audience validator would refuse it too, but only once the first one exists).
 */
function audienceOrder(audiences: AudienceDefinition[]): { order: number[]; problems: DefinitionProblem[] } {
  const indexOf = new Map(audiences.map((a, i) => [key(a.name), i]));
  const order: number[] = [];
  const state = new Map<number, "visiting" | "done">();
  const problems: DefinitionProblem[] = [];
  const visit = (i: number, chain: string[]) => {
    if (state.get(i) === "done") return;
    if (state.get(i) === "visiting") {
      problems.push({
        path: ["audiences", i, "definition"],
        message: `audiences include each other in a cycle: ${[...chain, audiences[i]!.name].join(" → ")}`,
      });
      return;
    }
    state.set(i, "visiting");
    for (const name of namesInRule(audiences[i]!.definition)) {
      const j = indexOf.get(key(name));
      if (j !== undefined) visit(j, [...chain, audiences[i]!.name]);
    }
    state.set(i, "done");
    order.push(i);
  };
  for (const i of audiences.keys()) visit(i, []);
  return { order, problems: problems.slice(0, 1) };
}

/**
 * Applies a definitions file to a workspace. Returns the plan (what was, or with `dryRun` would be,
 * created, changed and left), or every problem found, each located in the file; then nothing changed.
 */
export async function applyDefinitions(
  db: Db,
  ws: WorkspaceContext,
  source: DefinitionSource,
  options: { dryRun?: boolean; now?: Date } = {},
): Promise<ApplyResult> {
  const dryRun = options.dryRun ?? false;
  const file = {
    templates: source.value.templates ?? [],
    audiences: source.value.audiences ?? [],
    workflows: source.value.workflows ?? [],
    campaigns: source.value.campaigns ?? [],
  };
  const located = (problems: DefinitionProblem[]): ApplyResult => ({
    ok: false,
    problems: locateProblems(source, problems),
  });

  const before = await loadExisting(db, ws.id);
  const nameProblems = checkNames(file, before);
  const { order, problems: cycle } = audienceOrder(file.audiences);
  if (nameProblems.length || cycle.length) return located([...nameProblems, ...cycle]);

  let plan: PlanEntry[] = [];
  try {
    await db.transaction().execute(async (trx) => {
      const tdb = joinTransaction(trx);
      // Read again inside the transaction: the plan compares against what it changes.
      const apply = new Apply(tdb, ws, await loadExisting(tdb, ws.id), dryRun, options.now);
      plan = apply.plan;
      await apply.templates(file.templates);
      await apply.audiences(file.audiences, order);
      await apply.workflows(file.workflows);
      await apply.campaigns(file.campaigns);
      if (dryRun) throw new RollBack([]);
    });
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
    if (error.problems.length) return located(error.problems);
  }
  return { ok: true, plan, dryRun };
}

class Apply {
  readonly plan: PlanEntry[] = [];
  private readonly index: NameIndex;

  constructor(
    private readonly db: Db,
    private readonly ws: WorkspaceContext,
    private readonly existing: Existing,
    private readonly dryRun: boolean,
    private readonly now = new Date(),
  ) {
    this.index = NameIndex.of(existing);
  }

  /** Stops the apply, rolling everything back, when a section found problems. */
  private stopIf(problems: DefinitionProblem[]) {
    if (problems.length) throw new RollBack(problems);
  }

  private resolve = (kind: RefKind, name: string) => this.index.get(kind, name);
  private candidates = (kind: RefKind) => this.index.names(kind);

  async templates(templates: TemplateDefinition[]) {
    const problems: DefinitionProblem[] = [];
    const byName = new Map(this.existing.templates.map((t) => [key(t.name), t]));
    for (const [i, t] of templates.entries()) {
      const at: Path = ["templates", i];
      const content = (t.content ?? {}) as Record<string, unknown>;
      const current = byName.get(key(t.name));
      try {
        if (!current) {
          const created = await createTemplate(this.db, this.ws, {
            name: t.name,
            channel: t.channel,
            content,
          });
          this.index.set("template", created.name, created.id);
          this.plan.push({ op: "+", kind: "template", name: created.name });
        } else if (current.channel !== t.channel) {
          problems.push({
            path: [...at, "channel"],
            message: `template "${current.name}" is for ${current.channel}; a template's channel cannot change: give the ${t.channel} template another name`,
          });
        } else {
          const edited = !isDeepStrictEqual(content, current.content);
          const renamed = t.name.trim() !== current.name;
          if (!edited && !renamed) {
            this.plan.push({ op: "=", kind: "template", name: current.name });
            continue;
          }
          const updated = await patchTemplate(this.db, this.ws, current.id, {
            ...(renamed ? { name: t.name } : {}),
            ...(edited ? { content } : {}),
          });
          const notes = [
            ...(edited ? [`content changed: version ${updated.version}`] : []),
            ...(renamed ? [`renamed from "${current.name}"`] : []),
          ];
          this.plan.push({ op: "~", kind: "template", name: updated.name, note: notes.join("; ") });
        }
      } catch (error) {
        problems.push(...problemsOf(error, at));
      }
    }
    this.stopIf(problems);
  }

  async audiences(audiences: AudienceDefinition[], order: number[]) {
    const problems: DefinitionProblem[] = [];
    const byName = new Map(this.existing.audiences.map((a) => [key(a.name), a]));
    for (const i of order) {
      const a = audiences[i]!;
      const at: Path = ["audiences", i];
      const kind = a.kind ?? "segment";
      const resolved =
        a.definition === undefined
          ? { definition: undefined, problems: [] }
          : definitionToIds(a.definition, this.resolve, this.candidates, [...at, "definition"]);
      if (resolved.problems.length) {
        problems.push(...resolved.problems);
        continue;
      }
      const definition = resolved.definition as Rule | undefined;
      const current = byName.get(key(a.name));
      try {
        if (!current) {
          const created = await createAudience(
            this.db,
            this.ws,
            {
              name: a.name,
              kind,
              ...(a.description !== undefined ? { description: a.description } : {}),
              ...(definition !== undefined ? { definition } : {}),
              ...(a.listened !== undefined ? { listened: a.listened } : {}),
            },
            this.now,
          );
          this.index.addAudience(created);
          this.plan.push({
            op: "+",
            kind: "audience",
            name: created.name,
            ...(kind === "list" ? { note: "list" } : {}),
          });
          continue;
        }
        if (current.kind !== kind) {
          problems.push({
            path: [...at, "kind"],
            message: `audience "${current.name}" is a ${current.kind}; it cannot become a ${kind}: give the ${kind} another name`,
          });
          continue;
        }
        const changes: string[] = [];
        const patch: { name?: string; description?: string; definition?: unknown; listened?: boolean } = {};
        if (a.name.trim() !== current.name) {
          patch.name = a.name;
          changes.push(`renamed from "${current.name}"`);
        }
        if (
          kind === "segment" &&
          definition !== undefined &&
          !isDeepStrictEqual(definition, current.definition)
        ) {
          patch.definition = definition;
          changes.push("definition changed");
        }
        if (a.description !== undefined && a.description !== current.description) {
          patch.description = a.description;
          changes.push("description changed");
        }
        if (a.listened !== undefined && a.listened !== current.listened) {
          patch.listened = a.listened;
          changes.push(a.listened ? "listened" : "no longer listened");
        }
        if (changes.length === 0) {
          this.plan.push({ op: "=", kind: "audience", name: current.name });
          continue;
        }
        const updated = await patchAudience(this.db, this.ws, current.id, patch, this.now);
        this.index.addAudience(updated);
        this.plan.push({ op: "~", kind: "audience", name: updated.name, note: changes.join("; ") });
      } catch (error) {
        problems.push(...problemsOf(error, at));
      }
    }
    this.stopIf(problems);
  }

  async workflows(workflows: WorkflowDefinition[]) {
    const problems: DefinitionProblem[] = [];
    const byName = new Map(this.existing.workflows.map((w) => [key(w.name), w]));
    for (const [i, w] of workflows.entries()) {
      const at: Path = ["workflows", i];
      const resolved = graphToIds(w.graph, this.resolve, this.candidates, [...at, "graph"]);
      if (resolved.problems.length) {
        problems.push(...resolved.problems);
        continue;
      }
      // The workflow validator, with the templates and audiences of this apply in place.
      const checked = await checkGraph(this.db, this.ws, resolved.graph, this.now);
      if (!checked.ok) {
        for (const p of checked.errors) {
          problems.push({ path: [...at, "graph", ...fileFieldOf(parseField(p.field))], message: p.message });
        }
        continue;
      }
      const graph = resolved.graph;
      const current = byName.get(key(w.name));
      try {
        if (!current) {
          const created = await createWorkflow(this.db, this.ws, {
            name: w.name,
            graph,
            ...(w.description !== undefined ? { description: w.description } : {}),
          });
          const { version } = await publishWorkflow(this.db, this.ws, created.id);
          this.index.set("workflow", created.name, created.id);
          this.plan.push({
            op: "+",
            kind: "workflow",
            name: created.name,
            note: `published v${version.version}`,
          });
          continue;
        }
        const changes: string[] = [];
        const graphChanged = !isDeepStrictEqual(graph, current.graph);
        const renamed = w.name.trim() !== current.name;
        const described = w.description !== undefined && w.description !== current.description;
        if (graphChanged || renamed || described) {
          await patchWorkflow(this.db, this.ws, current.id, {
            ...(renamed ? { name: w.name } : {}),
            ...(described ? { description: w.description } : {}),
            ...(graphChanged ? { graph } : {}),
          });
        }
        if (graphChanged) changes.push("graph changed");
        if (renamed) changes.push(`renamed from "${current.name}"`);
        if (described) changes.push("description changed");
        // Publish only when the graph is not already the latest published version (a draft edited
        // elsewhere counts), never merely because a template changed: that is a publish of its own.
        const workflow = await getWorkflow(this.db, this.ws, current.id);
        if (workflow.latestVersion === null || workflow.draftChanged) {
          const { version } = await publishWorkflow(this.db, this.ws, current.id);
          changes.push(`published v${version.version}`);
        }
        this.plan.push(
          changes.length
            ? { op: "~", kind: "workflow", name: workflow.name, note: changes.join("; ") }
            : { op: "=", kind: "workflow", name: workflow.name },
        );
      } catch (error) {
        problems.push(...problemsOf(error, [...at, "graph"]));
      }
    }
    this.stopIf(problems);
  }

  async campaigns(campaigns: CampaignDefinition[]) {
    const problems: DefinitionProblem[] = [];
    const byName = new Map(this.existing.campaigns.map((c) => [key(c.name), c]));
    const nameOfAudience = new Map(this.existing.audiences.map((a) => [a.id, a.name]));
    const nameOfWorkflow = new Map(this.existing.workflows.map((w) => [w.id, w.name]));
    const nameOfTopic = new Map(this.existing.topics.map((t) => [t.id, t.name]));
    for (const [i, c] of campaigns.entries()) {
      const at: Path = ["campaigns", i];
      const audienceId = this.index.get("audience", c.audience)!;
      const workflowId = this.index.get("workflow", c.workflow)!;
      const workflow = (await findWorkflow(this.db, this.ws.id, workflowId))!;
      const settings = campaignSettingsOf(c, (name) => this.index.get("topic", name)!);
      const current = byName.get(key(c.name));
      try {
        if (!current) {
          const created = await createCampaign(
            this.db,
            this.ws,
            { name: c.name, audienceId, workflowId, ...settings },
            this.now,
          );
          if (c.launch && !this.dryRun) await launchCampaign(this.db, this.ws, created.id, this.now);
          this.plan.push({
            op: "+",
            kind: "campaign",
            name: created.name,
            note: `workflow v${created.workflowVersion}${c.launch ? ", launched" : ""}`,
          });
          continue;
        }
        if (c.launch === true && current.status === "cancelled") {
          problems.push({
            path: [...at, "launch"],
            message: `campaign "${current.name}" was cancelled and cannot be launched again: create a new campaign with another name`,
          });
          continue;
        }
        // The change, field by field; updateCampaign decides what may change in the campaign's status.
        const campaign = toCampaign(current);
        const patch: CampaignUpdate = {};
        const changes: string[] = [];
        if (c.name.trim() !== current.name) {
          patch.name = c.name;
          changes.push(`renamed from "${current.name}"`);
        }
        if (current.audience_id !== audienceId) {
          patch.audienceId = audienceId;
          changes.push(
            `audience "${nameOfAudience.get(current.audience_id) ?? current.audience_id}" → "${c.audience}"`,
          );
        }
        if (current.workflow_id !== workflowId) {
          patch.workflowId = workflowId;
          changes.push(
            `workflow "${nameOfWorkflow.get(current.workflow_id) ?? current.workflow_id}" → "${c.workflow}"`,
          );
        }
        // A draft follows its workflow's latest version; a launched campaign stays on the one it has.
        const newerVersion =
          workflow.latest_version !== null && current.workflow_version !== workflow.latest_version;
        if (current.status === "draft" && newerVersion) {
          patch.workflowVersion = workflow.latest_version!;
          if (!patch.workflowId)
            changes.push(`workflow v${current.workflow_version} → v${workflow.latest_version}`);
        }
        for (const field of CAMPAIGN_SETTINGS) {
          if (!(field in settings)) continue; // left out of the file: left as it is
          const was = canonicalSetting(field, campaign[field]);
          const wanted = settings[field];
          if (isDeepStrictEqual(was, wanted)) continue;
          (patch as Record<string, unknown>)[field] = wanted;
          changes.push(
            ...(field === "topicId"
              ? [`topic ${quotedName(nameOfTopic, was)} → ${quotedName(nameOfTopic, wanted, c.topic)}`]
              : describeChange(field, was, wanted)),
          );
        }
        if (Object.keys(patch).length > 0) {
          await updateCampaign(this.db, this.ws, current.id, patch, this.now);
        }
        if (c.launch && current.status === "draft") {
          if (!this.dryRun) await launchCampaign(this.db, this.ws, current.id, this.now);
          changes.push("launched");
        }
        const pinned =
          current.status !== "draft" && newerVersion && !patch.workflowId
            ? `${current.status} on workflow v${current.workflow_version}; v${workflow.latest_version} is for new campaigns`
            : undefined;
        const note = current.status === "draft" ? "draft" : pinned;
        this.plan.push(
          changes.length
            ? {
                op: "~",
                kind: "campaign",
                name: patch.name?.trim() ?? current.name,
                note: [...changes, ...(pinned ? [pinned] : [])].join("; "),
              }
            : { op: "=", kind: "campaign", name: current.name, ...(note ? { note } : {}) },
        );
      } catch (error) {
        problems.push(...problemsOf(error, at, campaignFileField));
      }
    }
    this.stopIf(problems);
  }
}

// Campaign settings ----------------------------------------------------------------------------------

/** The settings a file may give a campaign, in the API's terms (its topic as an id). */
const CAMPAIGN_SETTINGS = [
  "topicId",
  "startAt",
  "startLocal",
  "endAt",
  "entry",
  "reentry",
  "policies",
  "holdoutPercent",
  "goal",
] as const;
type CampaignSettings = Partial<Pick<Campaign, (typeof CAMPAIGN_SETTINGS)[number]>>;

/** The campaign API's fields (`topicId`, `workflowVersion`) as the file spells them. */
function campaignFileField(path: Path): Path {
  const [first, ...rest] = fileFieldOf(path);
  const renamed =
    first === "topicId"
      ? "topic"
      : first === "workflowId" || first === "workflowVersion"
        ? "workflow"
        : first;
  return renamed === undefined ? [] : [renamed, ...rest];
}

/**
 * One spelling per meaning, so that equal settings compare equal: instants as ISO strings in UTC (a
 * file's `2031-03-01T10:00:00+01:00` is the stored `2031-03-01T09:00:00.000Z`), no empty `where`, no
 * null quiet hours (the workspace's, as when left out), no empty throughput; keys in the contract's
 * order (jsonb keeps its own), for plans and exports that read naturally.
 */
function canonicalSetting<F extends keyof CampaignSettings>(field: F, value: Campaign[F]): Campaign[F] {
  const canonical = (): unknown => {
    switch (field) {
      case "startAt":
      case "endAt":
        return value ? new Date(value as string).toISOString() : null;
      case "entry": {
        const entry = value as CampaignEntry;
        return {
          mode: entry.mode,
          ...(entry.eventType !== undefined ? { eventType: entry.eventType } : {}),
          ...(entry.where?.length ? { where: entry.where } : {}),
        };
      }
      case "policies": {
        const policies = value as CampaignPolicies;
        return {
          ...(policies.quietHours
            ? { quietHours: { from: policies.quietHours.from, to: policies.quietHours.to } }
            : {}),
          ...(policies.frequencyCap ? { frequencyCap: policies.frequencyCap } : {}),
          ...(policies.throughputPerHour && Object.keys(policies.throughputPerHour).length
            ? { throughputPerHour: policies.throughputPerHour }
            : {}),
        };
      }
      case "reentry": {
        const reentry = value as CampaignReentry;
        return {
          mode: reentry.mode,
          ...(reentry.afterDays !== undefined ? { afterDays: reentry.afterDays } : {}),
        };
      }
      case "startLocal": {
        const local = value as LocalStart | null;
        return local ? { date: local.date, time: local.time } : null;
      }
      case "goal": {
        const goal = value as CampaignGoal | null;
        return goal ? { eventType: goal.eventType, windowDays: goal.windowDays } : null;
      }
      case "holdoutPercent":
        return Number(value);
      default:
        return value ?? null;
    }
  };
  return canonical() as Campaign[F];
}

/** The settings the file gives a campaign (and only those), canonical, its topic name resolved. */
function campaignSettingsOf(c: CampaignDefinition, topicId: (name: string) => string): CampaignSettings {
  const given: CampaignSettings = {
    ...(c.topic !== undefined ? { topicId: c.topic === null ? null : topicId(c.topic) } : {}),
    ...(c.startAt !== undefined ? { startAt: c.startAt } : {}),
    ...(c.startLocal !== undefined ? { startLocal: c.startLocal } : {}),
    ...(c.endAt !== undefined ? { endAt: c.endAt } : {}),
    ...(c.entry !== undefined ? { entry: c.entry } : {}),
    ...(c.reentry !== undefined ? { reentry: c.reentry } : {}),
    ...(c.policies !== undefined ? { policies: c.policies } : {}),
    ...(c.holdoutPercent !== undefined ? { holdoutPercent: c.holdoutPercent } : {}),
    ...(c.goal !== undefined ? { goal: c.goal } : {}),
  };
  const out: Record<string, unknown> = {};
  for (const field of CAMPAIGN_SETTINGS) {
    if (field in given) out[field] = canonicalSetting(field, given[field] as never);
  }
  return out as CampaignSettings;
}

/** The settings that differ from the defaults, in the file's terms: what export writes. */
function nonDefaultSettings(c: Campaign, topicName: (id: string) => string) {
  const s = Object.fromEntries(
    CAMPAIGN_SETTINGS.map((field) => [field, canonicalSetting(field, c[field])]),
  ) as Required<CampaignSettings>;
  return {
    ...(s.topicId !== null ? { topic: topicName(s.topicId) } : {}),
    ...(s.startAt !== null ? { startAt: s.startAt } : {}),
    ...(s.startLocal !== null ? { startLocal: s.startLocal } : {}),
    ...(s.endAt !== null ? { endAt: s.endAt } : {}),
    ...(s.entry.mode !== "once" ? { entry: s.entry } : {}),
    ...(s.reentry.mode !== "never" ? { reentry: s.reentry } : {}),
    ...(Object.keys(s.policies).length > 0 ? { policies: s.policies } : {}),
    ...(s.holdoutPercent !== 0 ? { holdoutPercent: s.holdoutPercent } : {}),
    ...(s.goal !== null ? { goal: s.goal } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value in a plan line: `none`, `10`, `{from: 21:00, to: 08:00}`. */
function showValue(value: unknown): string {
  if (value === undefined || value === null) return "none";
  if (Array.isArray(value)) return `[${value.map(showValue).join(", ")}]`;
  if (isRecord(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${showValue(v)}`)
      .join(", ")}}`;
  }
  return String(value);
}

/** `holdoutPercent 0 → 10`; an object setting by its parts: `policies.quietHours none → {…}`. */
function describeChange(field: string, was: unknown, wanted: unknown): string[] {
  if (!isRecord(was) || !isRecord(wanted)) return [`${field} ${showValue(was)} → ${showValue(wanted)}`];
  const parts = [...new Set([...Object.keys(was), ...Object.keys(wanted)])];
  return parts
    .filter((part) => !isDeepStrictEqual(was[part], wanted[part]))
    .map((part) => `${field}.${part} ${showValue(was[part])} → ${showValue(wanted[part])}`);
}

function quotedName(names: Map<string, string>, id: unknown, asWritten?: string | null): string {
  if (typeof id !== "string") return "none";
  return `"${asWritten ?? names.get(id) ?? id}"`;
}

// Export ---------------------------------------------------------------------------------------------

/**
 * The workspace's definitions in the file format: templates, audiences, workflows (their draft, which
 * apply publishes) and campaigns (not cancelled ones, with every setting that is not the default), with
 * ids replaced by names. Applying the export to
 * the same workspace changes nothing; applying it to an empty one recreates equivalent definitions.
 */
export async function exportDefinitions(db: Db, ws: WorkspaceContext): Promise<DefinitionsFile> {
  const existing = await loadExisting(db, ws.id);
  const names = {
    template: new Map(existing.templates.map((t) => [t.id, t.name])),
    audience: new Map(existing.audiences.map((a) => [a.id, a.name])),
    list: new Map(existing.audiences.filter((a) => a.kind === "list").map((a) => [a.id, a.name])),
    "ad destination": new Map(existing.adDestinations.map((d) => [d.id, d.name])),
  } satisfies Record<RefKind, Map<string, string>>;
  const nameOf = (kind: RefKind, id: string) => names[kind].get(id.toLowerCase());
  const workflowName = new Map(existing.workflows.map((w) => [w.id, w.name]));
  const topicName = new Map(existing.topics.map((t) => [t.id, t.name]));
  return {
    templates: existing.templates.map((t) => ({
      name: t.name,
      channel: t.channel as TemplateDefinition["channel"],
      content: t.content as Record<string, unknown>,
    })),
    audiences: existing.audiences.map((a) => ({
      name: a.name,
      ...(a.description !== null ? { description: a.description } : {}),
      ...(a.kind === "list" ? { kind: "list" as const } : { definition: ruleToNames(a.definition, nameOf) }),
      ...(a.listened ? { listened: true } : {}),
    })),
    workflows: existing.workflows.map((w) => ({
      name: w.name,
      ...(w.description !== null ? { description: w.description } : {}),
      graph: graphToNames(w.graph, nameOf) as WorkflowDefinition["graph"],
    })),
    campaigns: existing.campaigns
      .filter((c) => c.status !== "cancelled")
      .map((row) => {
        const c = toCampaign(row);
        return {
          name: c.name,
          audience: names.audience.get(c.audienceId) ?? c.audienceId,
          workflow: workflowName.get(c.workflowId) ?? c.workflowId,
          ...nonDefaultSettings(c, (id) => topicName.get(id) ?? id),
          ...(c.status !== "draft" ? { launch: true } : {}),
        };
      }),
  };
}
