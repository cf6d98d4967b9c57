/**
 * Secrets never reach the logs: the server logs at trace level, through the production logger's own
 * configuration (redaction paths, request serializer), while a member signs in (and fails to), API keys
 * and session cookies are used, provider and single sign-on credentials are set, provider webhooks are
 * called with and without valid signatures, and links with tokens are followed. Then the captured output
 * is searched for every secret involved.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { createWebhookChannel } from "@omneural/core/delivery/webhook-channel";
import { emailHookToken } from "@omneural/core/responses/email-feedback";
import { twilioSignature } from "@omneural/core/responses/inbound-sms";
import { createLogger } from "@omneural/core/shared/logger";
import { unsubscribeToken } from "@omneural/core/tracking/tokens";
import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";
import { buildApp } from "./app.ts";

const SECRET = {
  secretKey: "installation-secret-key-0001-AAAAAAAAAAAAAAAAAAAA",
  twilioToken: "installation-twilio-token-0002",
  smtpPassword: "installation-smtp-password-0003",
  webhookSecret: "installation-webhook-secret-0004",
  providerPassword: "workspace-smtp-password-0005",
  providerToken: "workspace-twilio-token-0006",
  ssoSecret: "workspace-sso-client-secret-0007",
  wrongPassword: "a-wrong-password-0008",
  hookPassword: "receiver-basic-auth-0009",
};
const PUBLIC_URL = "http://omneural.test";
const ACCOUNT_SID = "AC00000000000000000000000000000001";

const t = useTestApp({
  PUBLIC_URL,
  SECRET_KEY: SECRET.secretKey,
  TWILIO_URL: `https://${ACCOUNT_SID}:${SECRET.twilioToken}@api.twilio.test`,
  SMTP_URL: `smtp://mailer:${SECRET.smtpPassword}@127.0.0.1:1`,
  WEBHOOK_SECRET: SECRET.webhookSecret,
});

let logs = "";
let app: FastifyInstance;
let receiver: Server;
beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs += String(chunk);
      done();
    },
  });
  app = await buildApp({
    deps: t.app.deps,
    logger: createLogger({ level: "trace", format: "json", name: "redaction-test", stream }),
  });
  // A webhook receiver that fails every call, so that the outcome carries a reason.
  receiver = createServer((_request, response) => response.writeHead(500).end("nope"));
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const call = (options: InjectOptions) => app.inject(options);

describe("the logs", () => {
  it("hold none of the secrets a busy server handles", async () => {
    const { a } = t;
    const member = await t.member(a, "owner");
    const secrets: Record<string, string> = {
      ...SECRET,
      memberPassword: member.password,
      apiKey: a.apiKey,
      apiKeySecretPart: a.apiKey.slice(12),
    };

    // Sign-in, a failed one, the session used and ended.
    const signIn = await call({
      method: "POST",
      url: "/api/session",
      payload: { email: member.email, password: member.password },
    });
    expect(signIn.statusCode).toBe(200);
    const sessionToken = signIn.cookies.find((c) => c.name === "omneural_session")!.value;
    const { csrfToken } = signIn.json();
    secrets.sessionToken = sessionToken;
    secrets.csrfToken = csrfToken;
    expect(
      (
        await call({
          method: "POST",
          url: "/api/session",
          payload: { email: member.email, password: SECRET.wrongPassword },
        })
      ).statusCode,
    ).toBe(401);
    const session = { cookies: { omneural_session: sessionToken }, headers: { "x-csrf-token": csrfToken } };
    expect((await call({ method: "GET", url: "/api/v1/workspace", ...session })).statusCode).toBe(200);

    // API keys: a good one, a revoked-looking one, a malformed header.
    const bearer = { authorization: `Bearer ${a.apiKey}` };
    expect((await call({ method: "GET", url: "/api/v1/contacts", headers: bearer })).statusCode).toBe(200);
    const forged = `omn_${"x".repeat(40)}`;
    secrets.forgedKey = forged;
    expect(
      (await call({ method: "GET", url: "/api/v1/contacts", headers: { authorization: `Bearer ${forged}` } }))
        .statusCode,
    ).toBe(401);

    // Provider credentials, accepted and refused.
    const smtp = await call({
      method: "PUT",
      url: "/api/v1/workspace/providers/email",
      headers: bearer,
      payload: {
        provider: "smtp",
        settings: { host: "127.0.0.1", port: 1, user: "mailer" },
        secrets: { password: SECRET.providerPassword },
      },
    });
    expect(smtp.statusCode, smtp.body).toBe(200);
    expect(smtp.body).not.toContain(SECRET.providerPassword);
    const twilio = await call({
      method: "PUT",
      url: "/api/v1/workspace/providers/sms",
      headers: bearer,
      payload: {
        provider: "twilio",
        settings: { accountSid: ACCOUNT_SID, baseUrl: "http://127.0.0.1:1" },
        secrets: { authToken: SECRET.providerToken },
      },
    });
    expect(twilio.statusCode, twilio.body).toBeLessThan(500);
    await call({
      method: "PUT",
      url: "/api/v1/workspace/providers/email",
      headers: bearer,
      payload: {
        provider: "smtp",
        settings: { host: "not a host!" },
        secrets: { password: SECRET.providerPassword },
      },
    });

    // Single sign-on: a client secret for an issuer that cannot be reached.
    await call({
      method: "PUT",
      url: "/api/v1/sso",
      headers: bearer,
      payload: {
        slug: "acme",
        issuer: "http://127.0.0.1:1",
        clientId: "omneural",
        clientSecret: SECRET.ssoSecret,
      },
    });

    // Provider webhooks: Twilio signed with the installation's token, and forged; email feedback by token.
    const form = new URLSearchParams({ From: "+14155552671", To: "+14155550100", Body: "STOP" }).toString();
    const signature = twilioSignature(SECRET.twilioToken, `${PUBLIC_URL}/hooks/twilio/inbound`, [
      ...new URLSearchParams(form),
    ]);
    secrets.twilioSignature = signature;
    for (const header of [signature, "Zm9yZ2VkIHNpZ25hdHVyZQ=="]) {
      await call({
        method: "POST",
        url: "/hooks/twilio/inbound",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": header },
        payload: form,
      });
    }
    const hookToken = emailHookToken(t.app.deps.keys.links, a.id);
    secrets.emailHookToken = hookToken;
    await call({ method: "POST", url: `/hooks/email/${hookToken}`, payload: { events: [] } });
    await call({ method: "POST", url: `/hooks/email/${hookToken}x`, payload: { events: [] } });

    // Links with tokens: unsubscribe, an invitation.
    const unsubscribe = unsubscribeToken(t.app.deps.keys.links, {
      workspaceId: a.id,
      contactId: "0193b0c4-7d6e-7000-8000-000000000001",
      messageId: null,
      channel: "email",
      issuedAt: new Date(),
    });
    secrets.unsubscribeToken = unsubscribe;
    await call({ method: "GET", url: `/u/${unsubscribe}` });
    const invited = await call({
      method: "POST",
      url: "/api/v1/team/invitations",
      headers: bearer,
      payload: { email: "newcomer@team.example", role: "viewer" },
    });
    const invitationToken = new URL(invited.json().link).pathname.split("/").pop()!;
    secrets.invitationToken = invitationToken;
    await call({ method: "GET", url: `/api/invitations/${invitationToken}` });

    expect((await call({ method: "DELETE", url: "/api/session", ...session })).statusCode).toBe(204);

    // A careless log line with credentials in it is redacted by path.
    app.log.warn(
      {
        clientSecret: SECRET.ssoSecret,
        provider: { settings: { host: "smtp.example" }, secrets: { password: SECRET.providerPassword } },
        secrets: { authToken: SECRET.providerToken },
      },
      "a careless log line",
    );

    // The logs were captured, at trace level, with the requests' lines.
    expect(logs).toContain('"msg":"incoming request"');
    expect(logs).toContain("/u/[token]");
    expect(logs).toContain("sign-in refused");
    expect(logs).toContain("a careless log line");
    for (const [name, secret] of Object.entries(secrets)) {
      expect(logs.includes(secret), `${name} is in the logs`).toBe(false);
    }
  });

  it("and a webhook call's outcome, which is logged and stored, holds neither its URL's password nor the signing secret", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const channel = createWebhookChannel({
      secret: SECRET.webhookSecret,
      allowHosts: ["127.0.0.1"],
      timeoutMs: 2_000,
    });
    const result = await channel.send({
      workspaceId: t.a.id,
      messageId: "0193b0c4-7d6e-7000-8000-000000000002",
      idempotencyKey: "k",
      url: `http://hook:${SECRET.hookPassword}@127.0.0.1:${port}/receive`,
      body: { event: "test" },
    });
    expect(result.kind).toBe("retryable");
    const text = JSON.stringify(result);
    expect(text).not.toContain(SECRET.hookPassword);
    expect(text).not.toContain(SECRET.webhookSecret);
  });
});
