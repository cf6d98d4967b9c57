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
import { createAudience, patchAudience } from "../audiences/audience.service.ts";
import { createCampaign, launchCampaign } from "../campaigns/campaign.service.ts";
import type { WorkspaceContext } from "../contacts/contact.service.ts";
import type { Db } from "../db/database.ts";
import type { AudienceRow, CampaignRow, TemplateRow, WorkflowRow } from "../db/schema.ts";
import { loadWorkflowVersion } from "../engine/stepper.ts";
import { AppError } from "../shared/errors.ts";
import { createTemplate, patchTemplate } from "../templates/template.service.ts";
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
  repointDraftCampaign,
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
}

async function loadExisting(db: Db, workspaceId: string): Promise<Existing> {
  return {
    templates: await listAllTemplates(db, workspaceId),
    audiences: await listAllAudiences(db, workspaceId),
    workflows: await listAllWorkflows(db, workspaceId),
    campaigns: await listAllCampaigns(db, workspaceId),
    adDestinations: await listAllAdDestinations(db, workspaceId),
  };
}

/** Names → ids of one workspace, filled as the apply creates things. */
class NameIndex {
  private readonly ids = new Map<RefKind | "workflow", Map<string, { id: string; name: string }>>();

  set(kind: RefKind | "workflow", name: string, id: string) {
    let byName = this.ids.get(kind);
    if (!byName) this.ids.set(kind, (byName = new Map()));
    byName.set(key(name), { id, name });
  }

  get(kind: RefKind | "workflow", name: string): string | undefined {
    return this.ids.get(kind)?.get(key(name))?.id;
  }

  names(kind: RefKind | "workflow"): string[] {
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
function problemsOf(error: unknown, at: Path): DefinitionProblem[] {
  if (!(error instanceof AppError) || error.status >= 500) throw error;
  const fields = error.extra.errors ?? [];
  if (fields.length === 0) return [{ path: at, message: error.message }];
  return fields.map((f) => ({ path: [...at, ...fileFieldOf(parseField(f.field))], message: f.message }));
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
    for (const [i, c] of campaigns.entries()) {
      const at: Path = ["campaigns", i];
      const audienceId = this.index.get("audience", c.audience)!;
      const workflowId = this.index.get("workflow", c.workflow)!;
      const workflow = (await findWorkflow(this.db, this.ws.id, workflowId))!;
      const current = byName.get(key(c.name));
      try {
        if (!current) {
          const created = await createCampaign(this.db, this.ws, { name: c.name, audienceId, workflowId });
          if (c.launch && !this.dryRun) await launchCampaign(this.db, this.ws, created.id, this.now);
          this.plan.push({
            op: "+",
            kind: "campaign",
            name: created.name,
            note: `workflow v${created.workflowVersion}${c.launch ? ", launched" : ""}`,
          });
          continue;
        }
        const changes: string[] = [];
        if (current.audience_id !== audienceId)
          changes.push(
            `audience "${nameOfAudience.get(current.audience_id) ?? current.audience_id}" → "${c.audience}"`,
          );
        if (current.workflow_id !== workflowId)
          changes.push(
            `workflow "${nameOfWorkflow.get(current.workflow_id) ?? current.workflow_id}" → "${c.workflow}"`,
          );
        else if (current.workflow_version !== workflow.latest_version)
          changes.push(`workflow v${current.workflow_version} → v${workflow.latest_version}`);

        if (current.status !== "draft") {
          const moved = current.audience_id !== audienceId || current.workflow_id !== workflowId;
          if (moved) {
            const field = current.audience_id !== audienceId ? "audience" : "workflow";
            problems.push({
              path: [...at, field],
              message: `campaign "${current.name}" is ${current.status}: its ${field} cannot change. To reach ${field === "audience" ? `"${c.audience}"` : `workflow "${c.workflow}"`}, create a new campaign (with another name) and pause or cancel this one`,
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
          // A launched campaign stays on the version it was launched with.
          const note =
            current.workflow_version !== workflow.latest_version
              ? `${current.status} on workflow v${current.workflow_version}; v${workflow.latest_version} is for new campaigns`
              : undefined;
          this.plan.push({ op: "=", kind: "campaign", name: current.name, ...(note ? { note } : {}) });
          continue;
        }
        if (changes.length) {
          const version = workflow.latest_version!;
          const wf = await loadWorkflowVersion(this.db, this.ws.id, workflowId, version);
          await repointDraftCampaign(this.db, this.ws.id, current.id, {
            audienceId,
            workflowId,
            workflowVersion: version,
            wakeEventTypes: wf.wakeEventTypes,
          });
        }
        if (c.launch) {
          if (!this.dryRun) await launchCampaign(this.db, this.ws, current.id, this.now);
          changes.push("launched");
        }
        this.plan.push(
          changes.length
            ? { op: "~", kind: "campaign", name: current.name, note: changes.join("; ") }
            : { op: "=", kind: "campaign", name: current.name, note: "draft" },
        );
      } catch (error) {
        problems.push(...problemsOf(error, at));
      }
    }
    this.stopIf(problems);
  }
}

// Export ---------------------------------------------------------------------------------------------

/**
 * The workspace's definitions in the file format: templates, audiences, workflows (their draft, which
 * apply publishes) and campaigns (not cancelled ones), with ids replaced by names. Applying the export to
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
      .map((c) => ({
        name: c.name,
        audience: names.audience.get(c.audience_id) ?? c.audience_id,
        workflow: workflowName.get(c.workflow_id) ?? c.workflow_id,
        ...(c.status !== "draft" ? { launch: true } : {}),
      })),
  };
}
