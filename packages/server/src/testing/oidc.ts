/**
 * A real OpenID Connect provider (oidc-provider) on loopback, for single sign-on tests, and a browser
 * that walks its pages: real HTTP with a cookie jar, redirects followed by hand. The provider's login
 * page signs in whichever account the test named with `signInAs`; its consent page grants what was
 * asked. Its id_tokens carry only `sub` (oidc-provider's default), so the relying party must read the
 * email from userinfo, as with several real providers.
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

export interface TestAccount {
  email: string;
  emailVerified?: boolean;
  name?: string;
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface TestIdentityProvider {
  issuer: string;
  /** The account the next login page signs in. */
  signInAs(accountId: string, account: TestAccount): void;
  close(): Promise<void>;
}

export async function startTestIdentityProvider(clients: TestClient[]): Promise<TestIdentityProvider> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, TestAccount>();
  let nextAccount: string | undefined;

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [c.redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    })),
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["omneural test identity provider"] },
    // Its own signing key and lifetimes, so that oidc-provider does not warn about its defaults.
    jwks: {
      keys: [
        {
          ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }),
          kid: "test",
          use: "sig",
          alg: "RS256",
        },
      ],
    },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: account.email,
          email_verified: account.emailVerified ?? true,
          name: account.name,
        }),
      };
    },
  });
  // oidc-provider reports errors it answers itself (bad requests from the tests) on the provider.
  provider.on("server_error", () => undefined);
  const handle = provider.callback();

  server.on("request", async (request, response) => {
    if (!request.url?.startsWith("/interaction/")) return handle(request, response);
    try {
      const details = await provider.interactionDetails(request, response);
      if (details.prompt.name === "login") {
        if (!nextAccount) throw new Error("the test named no account: call signInAs first");
        await provider.interactionFinished(
          request,
          response,
          { login: { accountId: nextAccount } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
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
    } catch (error) {
      response.statusCode = 500;
      response.end(String(error));
    }
  });

  return {
    issuer,
    signInAs(accountId, account) {
      accounts.set(accountId, account);
      nextAccount = accountId;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Follows redirects from `url` with a fresh cookie jar, through the provider's pages, until one points
 * at `stopAt` (the relying party's callback, which the test then calls itself); answers that URL.
 */
export async function followUntil(url: string, stopAt: string): Promise<URL> {
  const jar = new Map<string, string>();
  let next = new URL(url);
  for (let hop = 0; hop < 20; hop++) {
    if (next.href.startsWith(stopAt)) return next;
    const response = await fetch(next, {
      redirect: "manual",
      headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; ") },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const at = pair!.indexOf("=");
      jar.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
    const location = response.headers.get("location");
    if (!location) {
      throw new Error(
        `${next.href} answered ${response.status} without a redirect: ${await response.text()}`,
      );
    }
    next = new URL(location, next);
  }
  throw new Error(`too many redirects from ${url}`);
}
