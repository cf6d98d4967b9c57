/**
 * The container files (Dockerfile, compose.yaml) against the code: no Docker engine runs in CI, so what
 * can be checked without one is checked here. Every service runs a command the CLI has, every
 * environment variable is one Omneural reads, the image's entry point and health endpoint exist, the
 * roles that serve HTTP have the health check and the one that does not has it disabled.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { OPTIONS } from "@omneural/core/config/config";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { disable?: boolean; test?: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
}

const compose = parse(read("compose.yaml"), { merge: true }) as { services: Record<string, Service> };
const variables = new Set<string>(Object.values(OPTIONS).map((o) => o.variable));
const omneural = Object.entries(compose.services).filter(([, s]) => s.image === "omneural:latest");

describe("compose.yaml", () => {
  it("runs every role of the one image, migrations first", () => {
    expect(Object.fromEntries(omneural.map(([name, s]) => [name, s.command]))).toEqual({
      migrate: ["migrate"],
      api: ["api"],
      worker: ["worker"],
      tracking: ["tracking"],
    });
    for (const [name, s] of omneural) {
      expect(s.build, name).toBe(".");
      if (name !== "migrate")
        expect(s.depends_on?.migrate?.condition, name).toBe("service_completed_successfully");
    }
    expect(compose.services.api!.deploy?.replicas).toBe(2);
    expect(compose.services.worker!.deploy?.replicas).toBe(2);
  });

  it("sets only variables Omneural reads, pointing at its own PostgreSQL and Redis", () => {
    for (const [name, s] of omneural) {
      for (const key of Object.keys(s.environment ?? {})) expect(variables, `${name}: ${key}`).toContain(key);
      expect(s.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(s.environment?.REDIS_URL).toBe("redis://redis:6379");
      expect(s.environment?.HOST).toBe("0.0.0.0");
    }
    expect(compose.services.postgres!.image).toMatch(/^postgres:1[5-9]$/);
  });

  it("leaves the image's HTTP health check to the roles that serve HTTP", () => {
    expect(compose.services.worker!.healthcheck?.disable).toBe(true);
    expect(compose.services.api!.healthcheck).toBeUndefined();
    expect(compose.services.tracking!.healthcheck).toBeUndefined();
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");

  it("runs the CLI as an unprivileged user, on the Node version package.json declares", () => {
    const entry = /ENTRYPOINT \["node", "([^"]+)"\]/.exec(dockerfile)?.[1];
    expect(entry && fs.existsSync(path.join(root, entry))).toBe(true);
    expect(dockerfile).toMatch(/^USER node$/m);
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    const major = Number(/>=(\d+)/.exec(engines)?.[1]);
    for (const from of dockerfile.matchAll(/^FROM node:(\d+)/gm)) expect(Number(from[1])).toBe(major);
    expect(dockerfile).toContain("/healthz");
  });

  it("uses only variables Omneural reads", () => {
    const env = dockerfile.slice(
      dockerfile.lastIndexOf("ENV "),
      dockerfile.indexOf("WORKDIR", dockerfile.lastIndexOf("ENV ")),
    );
    const keys = [...env.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!).filter((k) => k !== "NODE_ENV");
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) expect(variables, key).toContain(key);
  });

  it("and the commands it and compose.yaml name are commands of the CLI", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(root, "packages/server/bin/omneural.js"), "--help"],
      {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: "silent" },
      },
    );
    const commands = new Set([...stdout.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]!));
    const cmd = /^CMD \["(\w+)"\]/m.exec(dockerfile)?.[1];
    for (const command of [cmd!, ...omneural.map(([, s]) => s.command![0]!)])
      expect(commands, command).toContain(command);
  }, 30_000);
});
