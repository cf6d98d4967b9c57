/**
 * Single sign-on, end to end: the owner sets up the workspace's identity provider in Settings → Single
 * sign-on (a real oidc-provider on loopback, with a little login page of its own), tests it, and a
 * newcomer signs in through it in another browser and lands in the workspace as a marketer. docs/sso.md.
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type BrowserContext, expect, type Page, test } from "@playwright/test";
import Provider from "oidc-provider";
import { expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });
test.describe.configure({ mode: "serial" });

const CLIENT = { id: "omneural-e2e", secret: "e2e client secret 4b8f" };
const SLUG = "acme-e2e";
const NEWCOMER = "grace.hopper@acme.example";

let idp: Server;
let issuer = "";
let context: BrowserContext;
let page: Page;

/** The identity provider: oidc-provider, whose login page asks only for an email. */
async function startIdentityProvider(redirectUri: string) {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(url, {
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["omneural e2e identity provider"] },
    jwks: {
      keys: [
        {
          ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }),
          kid: "e2e",
          use: "sig",
          alg: "RS256",
        },
      ],
    },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    async findAccount(_ctx: unknown, id: string) {
      return {
        accountId: id,
        claims: async () => ({ sub: id, email: id, email_verified: true, name: "Grace Hopper" }),
      };
    },
  });
  const handle = provider.callback();
  server.on("request", async (request, response) => {
    const match = /^\/interaction\/([^/?]+)(\/login)?/.exec(request.url ?? "");
    if (!match) return handle(request, response);
    try {
      const details = await provider.interactionDetails(request, response);
      if (details.prompt.name === "login" && match[2] && request.method === "POST") {
        let body = "";
        for await (const chunk of request) body += chunk;
        const email = new URLSearchParams(body).get("email") ?? "";
        await provider.interactionFinished(request, response, { login: { accountId: email } });
      } else if (details.prompt.name === "login") {
        response.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html>
<html lang="en"><head><title>Test identity provider</title></head><body><main>
<h1>Test identity provider</h1>
<form method="post" action="/interaction/${details.uid}/login">
<label for="email">Work email</label> <input id="email" name="email" type="email">
<button type="submit">Continue</button>
</form></main></body></html>`);
      } else {
        const grant = new provider.Grant({
          accountId: details.session!.accountId!,
          clientId: String(details.params.client_id),
        });
        grant.addOIDCScope(String(details.params.scope));
        await provider.interactionFinished(
          request,
          response,
          { consent: { grantId: await grant.save() } },
          { mergeWithLastSubmission: true },
        );
      }
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  return { server, url };
}

test.beforeAll(async ({ browser }) => {
  const started = await startIdentityProvider(`${process.env.E2E_BASE_URL}/api/session/sso/callback`);
  idp = started.server;
  issuer = started.url;
  context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  page = await context.newPage();
  await signInOwner(page.request);
});

test.afterAll(async () => {
  await context?.close();
  idp?.closeAllConnections();
  await new Promise((resolve) => idp?.close(resolve));
});

test("an owner sets up single sign-on and tests the issuer", async () => {
  await page.goto("/");
  await nav(page, "Single sign-on").click();
  await expect(page.getByRole("heading", { name: "Single sign-on", level: 1 })).toBeVisible();
  await expect(page.getByLabel("Redirect URI (callback URL)", { exact: true })).toHaveValue(
    `${process.env.E2E_BASE_URL}/api/session/sso/callback`,
  );

  // The form checks itself first, then the server's field errors land next to their fields.
  await page.getByRole("button", { name: "Turn on single sign-on" }).click();
  await expect(page.getByText("Enter the client secret")).toBeVisible();
  await page.getByLabel("Issuer URL").fill("http://login.example.com");
  await page.getByLabel("Client ID").fill(CLIENT.id);
  await page.getByLabel("Client secret").fill(CLIENT.secret);
  await page.getByLabel("Single sign-on name").fill(SLUG);
  await page.getByRole("button", { name: "Turn on single sign-on" }).click();
  await expect(page.getByText("Must be an https URL")).toBeVisible();
  await expect(page.getByLabel("Issuer URL")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Issuer URL").fill(issuer);
  await page.getByRole("button", { name: "Turn on single sign-on" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  // The secret is write-only: the field is empty again, and says one is stored.
  await expect(page.getByLabel("Client secret")).toHaveValue("");
  await expect(page.getByLabel("Client secret")).toHaveAttribute("placeholder", /Stored/);
  await page.getByRole("button", { name: "Test the issuer" }).click();
  await expect(page.getByText(`Found ${issuer}`)).toBeVisible();
  await expect(page.getByLabel("Single sign-on link", { exact: true })).toHaveValue(
    `${process.env.E2E_BASE_URL}/api/session/sso/start?workspace=${SLUG}`,
  );
  await expectAccessible(page, "Settings → Single sign-on");
  await photograph(page, "sso-settings");
});

test("a newcomer signs in with single sign-on and lands in the workspace", async ({ browser }) => {
  const newcomer = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  try {
    const tab = await newcomer.newPage();
    await tab.goto("/");
    await tab.getByRole("link", { name: "Sign in with single sign-on" }).click();
    await tab.getByLabel("Workspace's single sign-on name").fill(SLUG);
    await expectAccessible(tab, "the sign-in page with single sign-on");
    await tab.getByRole("button", { name: "Continue with single sign-on" }).click();

    await expect(tab.getByRole("heading", { name: "Test identity provider" })).toBeVisible();
    await tab.getByLabel("Work email").fill(NEWCOMER);
    await tab.getByRole("button", { name: "Continue" }).click();

    await expect(tab.getByRole("heading", { name: "Home", level: 1 })).toBeVisible();
    const session = await (await tab.request.get("/api/session")).json();
    expect(session).toMatchObject({ user: { email: NEWCOMER, name: "Grace Hopper" }, role: "marketer" });
  } finally {
    await newcomer.close();
  }
});

test("an unknown single sign-on name gets a readable page", async ({ browser }) => {
  const stranger = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  try {
    const tab = await stranger.newPage();
    await tab.goto("/?sso=no-such-workspace");
    await tab.getByRole("button", { name: "Continue with single sign-on" }).click();
    await expect(tab.getByRole("heading", { name: "Single sign-on is not available" })).toBeVisible();
    await tab.getByRole("link", { name: "Back to sign-in" }).click();
    await expect(tab.getByRole("heading", { name: "Sign in", exact: true })).toBeVisible();
  } finally {
    await stranger.close();
  }
});
