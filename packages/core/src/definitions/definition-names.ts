/**
 * Names ⇄ ids in workflow graphs and audience rules. In a definitions file a send node names its
 * template (`template: "Welcome"`) and its ad destination, a rule names audiences and lists
 * (`{kind: "audience", audience: "VIPs"}`), an update node names lists; the API and the database use ids.
 * Pure: the callers give the lookups.
 */
import type { DefinitionProblem, Path } from "./definition-file.ts";

export type RefKind = "template" | "audience" | "list" | "ad destination";

/** Finds the id of a name (case-insensitively); `undefined` when there is none. */
export type ResolveName = (kind: RefKind, name: string) => string | undefined;
/** Finds the name of an id; `undefined` when it is not of the workspace (then the id is kept). */
export type NameOf = (kind: RefKind, id: string) => string | undefined;

/** File keys whose values are names, and the API keys that hold the ids. */
const RULE_KEYS: Record<string, { key: string; kind: RefKind }> = {
  audience: { key: "audienceId", kind: "audience" },
  list: { key: "listId", kind: "list" },
};

/** How a field of a service problem (`nodes[2].templateId`) is spelt in the file (`…template`). */
export function fileFieldOf(path: Path): Path {
  return path.map((part) =>
    part === "templateId"
      ? "template"
      : part === "audienceId"
        ? "audience"
        : part === "listId"
          ? "list"
          : part,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Replaces `entries`' keys and values in place of the original order, so that output stays readable. */
function mapEntries(
  object: Record<string, unknown>,
  each: (key: string, value: unknown) => [string, unknown] | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    const mapped = each(key, value);
    if (mapped) out[mapped[0]] = mapped[1];
  }
  return out;
}

interface Resolution {
  resolve: ResolveName;
  candidates: (kind: RefKind) => string[];
  problems: DefinitionProblem[];
}

function resolveOne(r: Resolution, kind: RefKind, name: unknown, path: Path): unknown {
  if (typeof name !== "string") {
    r.problems.push({ path, message: `must be the name of a${kind === "audience" ? "n" : ""} ${kind}` });
    return name;
  }
  const id = r.resolve(kind, name);
  if (id !== undefined) return id;
  const suggestion = closest(name, r.candidates(kind));
  r.problems.push({
    path,
    message: `no ${kind} named "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
  });
  return name;
}

/** A rule tree with names → with ids. Unknown shapes pass through for the rule validator to judge. */
function ruleToIds(rule: unknown, r: Resolution, path: Path): unknown {
  if (Array.isArray(rule)) return rule.map((item, i) => ruleToIds(item, r, [...path, i]));
  if (!isObject(rule)) return rule;
  const named = typeof rule.kind === "string" ? RULE_KEYS[rule.kind] : undefined;
  return mapEntries(rule, (key, value) => {
    if (named && key === rule.kind) return [named.key, resolveOne(r, named.kind, value, [...path, key])];
    if (key === "rules" || key === "rule") return [key, ruleToIds(value, r, [...path, key])];
    return [key, value];
  });
}

/** A rule tree with ids → with names (ids not of the workspace stay ids). */
export function ruleToNames(rule: unknown, nameOf: NameOf): unknown {
  if (Array.isArray(rule)) return rule.map((item) => ruleToNames(item, nameOf));
  if (!isObject(rule)) return rule;
  const named = typeof rule.kind === "string" ? RULE_KEYS[rule.kind] : undefined;
  return mapEntries(rule, (key, value) => {
    if (named && key === named.key && typeof value === "string") {
      const name = nameOf(named.kind, value);
      return name === undefined ? [key, value] : [rule.kind as string, name];
    }
    if (key === "rules" || key === "rule") return [key, ruleToNames(value, nameOf)];
    return [key, value];
  });
}

const LIST_KEYS = ["addToLists", "removeFromLists"];

/** A workflow graph with names → with ids, and a problem for each name that is not found. */
export function graphToIds(
  graph: { nodes: unknown[] },
  resolve: ResolveName,
  candidates: (kind: RefKind) => string[],
  path: Path,
): { graph: { nodes: unknown[] }; problems: DefinitionProblem[] } {
  const r: Resolution = { resolve, candidates, problems: [] };
  const nodes = graph.nodes.map((node, index) => {
    if (!isObject(node)) return node;
    const at: Path = [...path, "nodes", index];
    return mapEntries(node, (key, value) => {
      if (node.type === "send" && key === "template")
        return ["templateId", resolveOne(r, "template", value, [...at, key])];
      if (node.type === "send" && key === "destination")
        return [key, resolveOne(r, "ad destination", value, [...at, key])];
      if (node.type === "condition" && key === "rule") return [key, ruleToIds(value, r, [...at, key])];
      if (node.type === "condition" && key === "branches" && Array.isArray(value)) {
        return [
          key,
          value.map((branch, i) =>
            isObject(branch)
              ? { ...branch, rule: ruleToIds(branch.rule, r, [...at, key, i, "rule"]) }
              : branch,
          ),
        ];
      }
      if (node.type === "update" && LIST_KEYS.includes(key) && Array.isArray(value)) {
        return [key, value.map((name, i) => resolveOne(r, "list", name, [...at, key, i]))];
      }
      return [key, value];
    });
  });
  return { graph: { ...graph, nodes }, problems: r.problems };
}

/** A stored workflow graph → with names, as a definitions file writes it. */
export function graphToNames(graph: unknown, nameOf: NameOf): unknown {
  if (!isObject(graph) || !Array.isArray(graph.nodes)) return graph;
  const nodes = graph.nodes.map((node) => {
    if (!isObject(node)) return node;
    return mapEntries(node, (key, value) => {
      if (node.type === "send" && key === "templateId" && typeof value === "string") {
        const name = nameOf("template", value);
        return name === undefined ? [key, value] : ["template", name];
      }
      if (node.type === "send" && key === "destination" && typeof value === "string")
        return [key, nameOf("ad destination", value) ?? value];
      if (node.type === "condition" && key === "rule") return [key, ruleToNames(value, nameOf)];
      if (node.type === "condition" && key === "branches" && Array.isArray(value)) {
        return [
          key,
          value.map((branch) =>
            isObject(branch) ? { ...branch, rule: ruleToNames(branch.rule, nameOf) } : branch,
          ),
        ];
      }
      if (node.type === "update" && LIST_KEYS.includes(key) && Array.isArray(value)) {
        return [key, value.map((id) => (typeof id === "string" ? (nameOf("list", id) ?? id) : id))];
      }
      return [key, value];
    });
  });
  return { ...graph, nodes };
}

/** The names of audiences and lists a rule tree with names refers to (for ordering audiences). */
export function namesInRule(rule: unknown, out: string[] = []): string[] {
  if (Array.isArray(rule)) for (const item of rule) namesInRule(item, out);
  else if (isObject(rule)) {
    if ((rule.kind === "audience" || rule.kind === "list") && typeof rule[rule.kind] === "string")
      out.push(rule[rule.kind] as string);
    namesInRule(rule.rules, out);
    namesInRule(rule.rule, out);
  }
  return out;
}

/** The candidate nearest to `name` by edit distance, if it is near enough to be a likely typo. */
export function closest(name: string, candidates: string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(wanted.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** An audience definition with names → with ids, and a problem for each name that is not found. */
export function definitionToIds(
  definition: unknown,
  resolve: ResolveName,
  candidates: (kind: RefKind) => string[],
  path: Path,
): { definition: unknown; problems: DefinitionProblem[] } {
  const r: Resolution = { resolve, candidates, problems: [] };
  return { definition: ruleToIds(definition, r, path), problems: r.problems };
}
