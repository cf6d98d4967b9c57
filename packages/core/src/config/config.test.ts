import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, OPTIONS } from "./config.ts";

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      host: "127.0.0.1",
      port: 3000,
      publicUrl: "http://localhost:3000",
      logLevel: "info",
    });
    expect(config.dataDir).toBe(path.resolve(".omneural"));
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ["PORT", "eighty", /PORT: expected a whole number/],
    ["PORT", "70000", /PORT: must be between/],
    ["DATABASE_URL", "mysql://x", /DATABASE_URL: must start with postgres/],
    ["DATABASE_URL", "not a url", /DATABASE_URL: is not a valid URL/],
    ["LOG_LEVEL", "loud", /LOG_LEVEL: must be one of/],
    ["PUBLIC_URL", "ftp://x", /PUBLIC_URL: must be an http/],
    ["WORKER_CONCURRENCY", "0", /WORKER_CONCURRENCY/],
    ["CORS_ORIGINS", "*", /CORS_ORIGINS: lists origins one by one/],
    ["CORS_ORIGINS", "app.example.com", /CORS_ORIGINS: "app.example.com" is not an origin/],
    ["CORS_ORIGINS", "https://app.example.com/path", /CORS_ORIGINS: .* without a path/],
    ["CORS_ORIGINS", "ftp://app.example.com", /CORS_ORIGINS: .* must start with http/],
  ])("fails fast naming %s when it is %s", (variable, value, message) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });

  it("reads CORS_ORIGINS as origins, none by default", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(
      loadConfig({
        CORS_ORIGINS: " https://app.example.com/ , http://localhost:5173,HTTPS://Shop.Example:8443",
      }).corsOrigins,
    ).toEqual(["https://app.example.com", "http://localhost:5173", "https://shop.example:8443"]);
  });

  it("derives PUBLIC_URL from PORT", () => {
    expect(loadConfig({ PORT: "8080" }).publicUrl).toBe("http://localhost:8080");
  });

  it("documents every option in docs/configuration.md", () => {
    const doc = fs.readFileSync(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../docs/configuration.md"),
      "utf8",
    );
    for (const option of Object.values(OPTIONS)) expect(doc).toContain(`\`${option.variable}\``);
  });
});
