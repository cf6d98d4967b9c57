/**
 * Reading a definitions file (YAML or JSON; JSON is read as YAML, which it is) into a plain value that
 * remembers where each part came from, so that every problem can point at its line and column.
 */
import { DefinitionsFile } from "@omneural/contracts/definitions";
import { Value } from "typebox/value";
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, stringify } from "yaml";

/** A path into the file's value: `["workflows", 0, "graph", "nodes", 2, "template"]`. */
export type Path = (string | number)[];

/** A problem of the file, at a path of its value. */
export interface DefinitionProblem {
  path: Path;
  message: string;
}

/** A problem with where it is: `file.yaml:12:5: workflows[0].graph.nodes[2].template: no template …`. */
export interface LocatedProblem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export interface DefinitionSource {
  /** As the user named it, for messages. */
  fileName: string;
  value: DefinitionsFile;
  locate(path: Path): { line: number; column: number };
}

export function pathToString(path: Path): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  return out;
}

/** `nodes[3].outlets.next` → `["nodes", 3, "outlets", "next"]` (the `field` of service problems). */
export function parseField(field: string): Path {
  const path: Path = [];
  for (const match of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    path.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return path;
}

export function formatProblem(problem: LocatedProblem): string {
  const at = problem.path ? `${problem.path}: ` : "";
  return `${problem.file}:${problem.line}:${problem.column}: ${at}${problem.message}`;
}

export function locateProblems(source: DefinitionSource, problems: DefinitionProblem[]): LocatedProblem[] {
  return problems.map((p) => ({
    file: source.fileName,
    ...source.locate(p.path),
    path: pathToString(p.path),
    message: p.message,
  }));
}

/**
 * Parses the text and checks it against the format's schema. Problems come back located; a file that
 * does not parse has the parser's own position.
 */
export function readDefinitionFile(
  text: string,
  fileName: string,
): { ok: true; source: DefinitionSource } | { ok: false; problems: LocatedProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return {
          file: fileName,
          line: pos.line,
          column: pos.col,
          path: "",
          message: firstLine(error.message),
        };
      }),
    };
  }
  const value = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as unknown;

  const locate = (path: Path) => {
    let node: unknown = doc.contents;
    let offset = doc.contents?.range?.[0] ?? 0;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(part));
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof part === "number") {
        const item = node.items[part];
        if (!item) break;
        node = isPair(item) ? item.value : item;
        offset = (node as Node | null)?.range?.[0] ?? offset;
      } else break;
    }
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const source: DefinitionSource = { fileName, value: value as DefinitionsFile, locate };
  const problems = schemaProblems(value);
  if (problems.length) return { ok: false, problems: locateProblems(source, problems) };
  return { ok: true, source };
}

function firstLine(message: string) {
  return message.split("\n")[0]!;
}

function schemaProblems(value: unknown): DefinitionProblem[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [
      {
        path: [],
        message: "a definitions file is a mapping with templates, audiences, workflows, campaigns",
      },
    ];
  }
  const problems: DefinitionProblem[] = [];
  for (const error of Value.Errors(DefinitionsFile, value)) {
    const path: Path = error.instancePath
      .split("/")
      .slice(1)
      .map((part) => (/^\d+$/.test(part) ? Number(part) : part.replaceAll("~1", "/").replaceAll("~0", "~")));
    const params = error.params as { additionalProperties?: string[]; requiredProperties?: string[] };
    if (error.keyword === "additionalProperties") {
      for (const extra of params.additionalProperties ?? []) {
        problems.push({ path: [...path, extra], message: `${extra} is not a field here` });
      }
    } else if (error.keyword === "required") {
      const missing = params.requiredProperties ?? [];
      problems.push({ path, message: `${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} required` });
    } else if (error.keyword === "anyOf") {
      problems.push({ path, message: "is not one of the allowed values" });
    } else if (error.keyword !== "boolean" && error.keyword !== "const") {
      problems.push({ path, message: error.message });
    }
  }
  // One problem per place: a union reports each of its branches.
  return problems.filter(
    (p, i) => problems.findIndex((q) => pathToString(q.path) === pathToString(p.path)) === i,
  );
}

/** The text of a definitions file: YAML (long strings as block scalars) or JSON. */
export function writeDefinitionFile(value: DefinitionsFile, format: "yaml" | "json"): string {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
