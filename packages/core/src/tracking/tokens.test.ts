import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveKeys, TEST_KEYS } from "../security/keys.ts";
import { clickToken, openToken, shortLinkCode, unsubscribeToken, verifyToken } from "./tokens.ts";

const key = TEST_KEYS.links;
const W = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const M = "0190a1b2-c3d4-7e5f-8a9b-ffffffffffff";
const C = "0190a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b";

describe("link tokens", () => {
  it("round-trip open, click and unsubscribe tokens", () => {
    expect(verifyToken(key, openToken(key, { workspaceId: W, messageId: M }))).toEqual({
      kind: "open",
      workspaceId: W,
      messageId: M,
    });
    const url = "https://shop.example/sale?utm_source=omneural&q=ü";
    expect(verifyToken(key, clickToken(key, { workspaceId: W, messageId: M, index: 3, url }))).toEqual({
      kind: "click",
      workspaceId: W,
      messageId: M,
      index: 3,
      url,
    });
    const issuedAt = new Date("2026-11-28T10:00:00Z");
    expect(
      verifyToken(
        key,
        unsubscribeToken(key, { workspaceId: W, contactId: C, messageId: null, channel: "sms", issuedAt }),
      ),
    ).toEqual({
      kind: "unsubscribe",
      workspaceId: W,
      contactId: C,
      messageId: null,
      channel: "sms",
      issuedAt,
    });
  });

  it("refuse a token signed with another key, altered, truncated or padded", () => {
    const token = clickToken(key, { workspaceId: W, messageId: M, index: 0, url: "https://a.example/" });
    expect(verifyToken(deriveKeys("another installation's secret key, 32+ chars").links, token)).toBeNull();
    expect(verifyToken(key, token.slice(0, -1))).toBeNull();
    expect(verifyToken(key, `${token}A`)).toBeNull();
    expect(verifyToken(key, "")).toBeNull();
    expect(verifyToken(key, "not a token!")).toBeNull();
    expect(verifyToken(key, "x".repeat(5000))).toBeNull();
  });

  it("detect any single changed character (property)", () => {
    const token = clickToken(key, {
      workspaceId: W,
      messageId: M,
      index: 1,
      url: "https://evil.example.com/x",
    });
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.nat(63), (position, replacement) => {
        const c = alphabet[replacement]!;
        fc.pre(c !== token[position]);
        const forged = token.slice(0, position) + c + token.slice(position + 1);
        // The last character may carry unused bits: a change there can decode to the same bytes.
        const same = Buffer.from(forged, "base64url").equals(Buffer.from(token, "base64url"));
        expect(verifyToken(key, forged) === null).toBe(!same);
      }),
    );
  });

  it("give SMS short links a stable 22-character code per message and URL", () => {
    const a = shortLinkCode(key, M, "https://a.example/");
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(shortLinkCode(key, M, "https://a.example/")).toBe(a);
    expect(shortLinkCode(key, M, "https://b.example/")).not.toBe(a);
    expect(shortLinkCode(key, W, "https://a.example/")).not.toBe(a);
  });
});
