import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { REDACT_PATHS, redactLinkTokens } from "./logger.ts";

describe("logs", () => {
  it("replace the tokens of tracking and hook paths", () => {
    expect(redactLinkTokens("/t/c/AoN1DFAsnUFNgGeYob?x=1")).toBe("/t/c/[token]?x=1");
    expect(redactLinkTokens("/t/o/abc")).toBe("/t/o/[token]");
    expect(redactLinkTokens("/u/abc/preferences")).toBe("/u/[token]/preferences");
    expect(redactLinkTokens("/s/abcdefghijklmnopqrstuv")).toBe("/s/[token]");
    expect(redactLinkTokens("/r/SVVBMM3KJQ")).toBe("/r/[token]");
    expect(redactLinkTokens("/hooks/email/tok")).toBe("/hooks/email/[token]");
    expect(redactLinkTokens("/api/v1/contacts/123")).toBe("/api/v1/contacts/123");
    expect(redactLinkTokens("/api/session/sso/callback?code=abc&state=def")).toBe(
      "/api/session/sso/callback?[redacted]",
    );
  });

  it("never show provider secrets", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, sink);
    log.info(
      { secrets: { authToken: "tok-123456", dkimPrivateKey: "-----BEGIN" }, secretKey: "k".repeat(40) },
      "x",
    );
    expect(lines.join("")).not.toMatch(/tok-123456|BEGIN|kkkk/);
  });
});
