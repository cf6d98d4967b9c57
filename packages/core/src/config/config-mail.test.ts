import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig: direct mail", () => {
  it("sends mail to the dev inbox by default, with a 17:00 UTC cut-off and the default prices", () => {
    expect(loadConfig({})).toMatchObject({
      lobUrl: undefined,
      printBatchDir: undefined,
      printBatchCutoff: "17:00",
      printBatchCostPerLetter: 0.85,
      printBatchCostPerPostcard: 0.55,
      printBatchCurrency: "USD",
    });
  });

  it("reads the print batch's settings", () => {
    expect(
      loadConfig({
        PRINT_BATCH_DIR: "mail-out",
        PRINT_BATCH_CUTOFF: "06:30",
        PRINT_BATCH_COST_PER_LETTER: "1.2",
        PRINT_BATCH_COST_PER_POSTCARD: "0.40",
        PRINT_BATCH_CURRENCY: "eur",
      }),
    ).toMatchObject({
      printBatchDir: path.resolve("mail-out"),
      printBatchCutoff: "06:30",
      printBatchCostPerLetter: 1.2,
      printBatchCostPerPostcard: 0.4,
      printBatchCurrency: "EUR",
    });
  });

  it.each([
    [{ LOB_URL: "https://api.lob.com" }, /LOB_URL: needs the API key as user/],
    [{ LOB_URL: "ftp://key@api.lob.com" }, /LOB_URL: must start with/],
    [{ LOB_URL: "https://key@api.lob.com", PRINT_BATCH_DIR: "/tmp/x" }, /PRINT_BATCH_DIR: set LOB_URL or/],
    [{ PRINT_BATCH_CUTOFF: "5pm" }, /PRINT_BATCH_CUTOFF: expected HH:MM/],
    [{ PRINT_BATCH_CUTOFF: "24:00" }, /PRINT_BATCH_CUTOFF/],
    [{ PRINT_BATCH_COST_PER_LETTER: "-1" }, /PRINT_BATCH_COST_PER_LETTER: expected an amount/],
    [{ PRINT_BATCH_CURRENCY: "dollars" }, /PRINT_BATCH_CURRENCY/],
  ])("fails fast on %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("accepts a Lob URL with the key as user", () => {
    expect(loadConfig({ LOB_URL: "https://test_abc@api.lob.com" }).lobUrl).toBe(
      "https://test_abc@api.lob.com",
    );
  });
});
