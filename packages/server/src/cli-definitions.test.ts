/**
 * `omneural apply`, `export` and `schema` as a user runs them: the real binary on a real embedded
 * PostgreSQL in a temporary data directory (each command starts it and stops it again).
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const execFileAsync = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = path.join(root, "packages/server/bin/omneural.js");
const fixture = "test/fixtures/definitions.yaml";

let dataDir: string;
let env: NodeJS.ProcessEnv;

function cli(args: string[]) {
  return execFileAsync(process.execPath, [bin, ...args], { env, cwd: root, timeout: 90_000 });
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "omneural-definitions-"));
  fs.chmodSync(dataDir, 0o755);
  env = { ...process.env, OMNEURAL_DATA_DIR: dataDir, LOG_FORMAT: "json" };
  delete env.DATABASE_URL;
});

afterAll(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("omneural apply / export", () => {
  it("prints the JSON Schema of the format", async () => {
    const schema = JSON.parse((await cli(["schema"])).stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["templates", "audiences", "workflows", "campaigns"]),
    );
  });

  it("plans with --dry-run and changes nothing, refuses a bad file at its line, then applies", async () => {
    const { workspaceId } = JSON.parse((await cli(["workspace", "create", "Acme", "--json"])).stdout) as {
      workspaceId: string;
    };
    const dry = await cli(["apply", "-f", fixture, "--workspace", workspaceId, "--dry-run"]);
    expect(dry.stdout).toContain('+ template "Welcome"');
    expect(dry.stdout).toContain('+ workflow "Onboarding" (published v1)');
    expect(dry.stdout).toContain("Dry run: 6 change(s) planned, nothing applied.");
    const empty = await cli(["export", "--workspace", workspaceId, "--format", "json"]);
    expect(JSON.parse(empty.stdout)).toEqual({ templates: [], audiences: [], workflows: [], campaigns: [] });

    const bad = path.join(dataDir, "bad.yaml");
    fs.writeFileSync(
      bad,
      fs.readFileSync(path.join(root, fixture), "utf8").replace("template: Nudge", "template: Nudg"),
    );
    const refused = await cli(["apply", "-f", bad, "--workspace", workspaceId]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused).toMatchObject({ code: 65 });
    expect((refused as { stderr: string }).stderr).toMatch(
      /bad\.yaml:\d+:11: workflows\[0\]\.graph\.nodes\[4\]\.template: no template named "Nudg" \(did you mean "Nudge"\?\)/,
    );

    const applied = await cli(["apply", "-f", fixture, "--workspace", workspaceId]);
    expect(applied.stdout).toContain("Applied: 6 change(s).");
    const exported = await cli(["export", "--workspace", workspaceId]);
    expect(exported.stdout).toContain("template: Welcome");
  }, 240_000);
});
