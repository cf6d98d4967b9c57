/**
 * Abuse limits on bodies and the session cookie's flags, end to end on an https installation: every
 * route has a body limit that fits what it takes, and a body over it is a 413 before any work is done.
 */
import { unsubscribeToken } from "@omneural/core/tracking/tokens";
import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";
import { EMAIL_FEEDBACK_BODY_LIMIT } from "./hooks/email-hooks.ts";
import { TWILIO_BODY_LIMIT } from "./hooks/twilio-hooks.ts";

const IMPORT_MAX_BYTES = 4096;
const t = useTestApp({ PUBLIC_URL: "https://omneural.test", IMPORT_MAX_BYTES: String(IMPORT_MAX_BYTES) });
const MIB = 1024 * 1024;

function expectTooLarge(response: LightMyRequestResponse) {
  expect(response.statusCode).toBe(413);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
}

const json = (bytes: number) => JSON.stringify({ email: "a@example.com", padding: "x".repeat(bytes) });

describe("body limits", () => {
  it("takes JSON up to 1 MiB on the API and the sign-in endpoints, and answers 413 above", async () => {
    expectTooLarge(
      await t.asA({
        method: "POST",
        url: "/api/v1/contacts",
        headers: { "content-type": "application/json" },
        payload: json(MIB),
      }),
    );
    for (const url of ["/api/session", "/api/setup", "/api/invitations/abc/accept"]) {
      expectTooLarge(
        await t.anonymous({
          method: "POST",
          url,
          headers: { "content-type": "application/json" },
          payload: json(MIB),
        }),
      );
    }
    // Just under the limit the body is read (and judged on its content).
    const fits = await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      headers: { "content-type": "application/json" },
      payload: json(MIB - 1024),
    });
    expect(fits.statusCode).toBe(400);
  });

  it("keeps the provider webhooks' bodies small", async () => {
    expectTooLarge(
      await t.anonymous({
        method: "POST",
        url: "/hooks/twilio/inbound",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: `Body=${"x".repeat(TWILIO_BODY_LIMIT)}`,
      }),
    );
    expectTooLarge(
      await t.anonymous({
        method: "POST",
        url: "/hooks/twilio/status",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: `MessageStatus=${"x".repeat(TWILIO_BODY_LIMIT)}`,
      }),
    );
    expectTooLarge(
      await t.anonymous({
        method: "POST",
        url: "/hooks/email/any-token",
        headers: { "content-type": "application/json" },
        payload: json(EMAIL_FEEDBACK_BODY_LIMIT),
      }),
    );
  });

  it("limits imports to IMPORT_MAX_BYTES, raw or multipart", async () => {
    const csv = `email\n${"someone@example.com\n".repeat(IMPORT_MAX_BYTES / 10)}`;
    expectTooLarge(
      await t.asA({
        method: "POST",
        url: "/api/v1/contacts/imports",
        headers: { "content-type": "text/csv" },
        payload: csv,
      }),
    );
    const boundary = "----omneural-limit";
    const multipart = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="big.csv"',
      "Content-Type: text/csv",
      "",
      csv,
      `--${boundary}--`,
      "",
    ].join("\r\n");
    expectTooLarge(
      await t.asA({
        method: "POST",
        url: "/api/v1/contacts/imports",
        headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
        payload: multipart,
      }),
    );
  });

  it("answers an oversize unsubscribe post with the 413 page, not a problem (it is a browser's)", async () => {
    const token = unsubscribeToken(t.app.deps.keys.links, {
      workspaceId: t.a.id,
      contactId: "0193b0c4-7d6e-7000-8000-000000000001",
      messageId: null,
      channel: "email",
      issuedAt: new Date(),
    });
    const response = await t.anonymous({
      method: "POST",
      url: `/u/${token}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `confirm=unsubscribe&x=${"x".repeat(32 * 1024)}`,
    });
    expect(response.statusCode).toBe(413);
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
    expect(t.responses.recorded).toHaveLength(0);
  });
});

describe("the session cookie on an https installation", () => {
  const cookieOf = (response: LightMyRequestResponse) => {
    const header = response.headers["set-cookie"];
    return String(Array.isArray(header) ? header.find((c) => c.startsWith("omneural_session=")) : header);
  };

  it("is HttpOnly, SameSite=Lax, Secure and site-wide when set, and cleared with the same flags", async () => {
    const member = await t.member(t.a, "admin");
    const signIn = await t.anonymous({
      method: "POST",
      url: "/api/session",
      payload: { email: member.email, password: member.password },
    });
    expect(signIn.statusCode).toBe(200);
    const set = cookieOf(signIn);
    expect(set).toMatch(/^omneural_session=[A-Za-z0-9_-]{20,};/);
    for (const flag of [/; HttpOnly/, /; SameSite=Lax/, /; Secure/, /; Path=\/(;|$)/, /; Expires=/]) {
      expect(set).toMatch(flag);
    }
    expect(set).not.toMatch(/Domain=/i);
    const token = /^omneural_session=([^;]+)/.exec(set)![1]!;
    const { csrfToken } = signIn.json();

    const signOut = await t.app.inject({
      method: "DELETE",
      url: "/api/session",
      cookies: { omneural_session: token },
      headers: { "x-csrf-token": csrfToken },
    });
    expect(signOut.statusCode).toBe(204);
    const cleared = cookieOf(signOut);
    expect(cleared).toMatch(/^omneural_session=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
    for (const flag of [/; HttpOnly/, /; SameSite=Lax/, /; Secure/, /; Path=\/(;|$)/]) {
      expect(cleared).toMatch(flag);
    }
  });
});
