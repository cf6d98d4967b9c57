/**
 * The OpenID Connect relying party, with openid-client: discovery, the authorization request (code flow
 * with PKCE S256, state and nonce), and the callback (code exchange; id_token signature, issuer,
 * audience, expiry and nonce checked by openid-client; userinfo when the id_token carries no email).
 * Every failure is turned into an `OidcFailure` that says in words what is wrong, for the admin's test
 * button and for the sign-in error page.
 */
import type { SsoTestResult } from "@omneural/contracts/sso";
import type { SsoClientSettings, SsoIdentity } from "@omneural/core/sso/sso";
import { emailIsVerified } from "@omneural/core/sso/sso";
import * as client from "openid-client";

type DiscoveryProblem = NonNullable<SsoTestResult["problem"]>;

/** A failure talking to the identity provider, with what to tell the person. */
export class OidcFailure extends Error {
  constructor(
    readonly kind: DiscoveryProblem | "client_rejected" | "provider_refused" | "response_invalid",
    message: string,
  ) {
    super(message);
    this.name = "OidcFailure";
  }
}

/** How long a discovered configuration (endpoints, keys) is reused before it is read again. */
const DISCOVERY_TTL_MS = 10 * 60_000;
const DISCOVERY_TIMEOUT_SECONDS = 10;

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
};

/** What a discovery error means, in words. */
export function discoveryFailure(issuer: string, error: unknown): OidcFailure {
  if (error instanceof OidcFailure) return error;
  const code = codeOf(error);
  const cause = (error as { cause?: unknown }).cause;
  if (
    error instanceof TypeError ||
    (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
  ) {
    const why = codeOf(cause) ?? (cause instanceof Error ? cause.message : error.message);
    return new OidcFailure("issuer_unreachable", `The issuer ${issuer} cannot be reached (${why}).`);
  }
  switch (code) {
    case "OAUTH_RESPONSE_IS_NOT_CONFORM": {
      const status = cause instanceof Response ? ` ${cause.status}` : "";
      return new OidcFailure(
        "discovery_failed",
        `${issuer}/.well-known/openid-configuration answered HTTP${status}: is the issuer URL right?`,
      );
    }
    case "OAUTH_RESPONSE_IS_NOT_JSON":
    case "OAUTH_PARSE_ERROR":
    case "OAUTH_INVALID_RESPONSE":
    case "OAUTH_MISSING_SERVER_METADATA":
    case "OAUTH_INVALID_SERVER_METADATA":
      return new OidcFailure(
        "discovery_invalid",
        `${issuer}/.well-known/openid-configuration is not a valid OpenID Connect discovery document (${(error as Error).message}).`,
      );
    case "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED":
      return new OidcFailure(
        "issuer_mismatch",
        `The discovery document of ${issuer} names another issuer: use exactly the issuer it names.`,
      );
    case "OAUTH_HTTP_REQUEST_FORBIDDEN":
    case "OAUTH_REQUEST_PROTOCOL_FORBIDDEN":
      return new OidcFailure("insecure_issuer", `The issuer ${issuer} must be reached over https.`);
  }
  if (error instanceof Error && /issuer does not match/.test(error.message)) {
    return new OidcFailure(
      "issuer_mismatch",
      `The discovery document of ${issuer} names another issuer: use exactly the issuer it names.`,
    );
  }
  return new OidcFailure(
    "discovery_failed",
    `Discovery at ${issuer} failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}

/** What a failed code exchange or id_token check means, in words. */
export function callbackFailure(error: unknown): OidcFailure {
  if (error instanceof OidcFailure) return error;
  if (error instanceof client.AuthorizationResponseError) {
    const description = error.error_description ? `: ${error.error_description}` : "";
    return new OidcFailure(
      "provider_refused",
      `The identity provider did not sign you in (${error.error}${description}).`,
    );
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with a challenge: the token endpoint did not take the client's credentials.
    const code = error.cause.map((challenge) => challenge.parameters.error).find(Boolean) ?? "invalid_client";
    if (error.status === 401 || code === "invalid_client") {
      return new OidcFailure(
        "client_rejected",
        `The identity provider refused Omneural's client id or client secret (${code}): an owner or admin should check them in Settings → Single sign-on.`,
      );
    }
  }
  if (error instanceof client.ResponseBodyError) {
    if (error.error === "invalid_client" || error.error === "unauthorized_client") {
      return new OidcFailure(
        "client_rejected",
        `The identity provider refused Omneural's client id or client secret (${error.error}): an owner or admin should check them in Settings → Single sign-on.`,
      );
    }
    if (error.error === "invalid_grant") {
      return new OidcFailure(
        "provider_refused",
        "The sign-in code is not valid any more (it was used, or it expired): start again.",
      );
    }
    return new OidcFailure(
      "provider_refused",
      `The identity provider refused to finish the sign-in (${error.error}${error.error_description ? `: ${error.error_description}` : ""}).`,
    );
  }
  if (error instanceof TypeError) {
    return new OidcFailure(
      "issuer_unreachable",
      `The identity provider cannot be reached (${error.message}).`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new OidcFailure(
    "response_invalid",
    `The identity provider's answer did not pass Omneural's checks (${message}): start again, and if it happens again, tell your administrator.`,
  );
}

/** What one sign-in carries from the start to the callback (in a sealed cookie). */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export class OidcClients {
  private readonly cache = new Map<
    string,
    { fingerprint: string; expires: number; configuration: Promise<client.Configuration> }
  >();

  /** The provider's discovered configuration, reused for 10 minutes while the settings stay the same. */
  configurationFor(settings: SsoClientSettings, now = Date.now()): Promise<client.Configuration> {
    const fingerprint = [
      settings.issuer,
      settings.clientId,
      settings.clientSecret,
      settings.updatedAt.getTime(),
    ].join("\n");
    const cached = this.cache.get(settings.workspaceId);
    if (cached && cached.fingerprint === fingerprint && cached.expires > now) return cached.configuration;
    const configuration = discover(settings);
    this.cache.set(settings.workspaceId, { fingerprint, expires: now + DISCOVERY_TTL_MS, configuration });
    // A failure is not remembered: the next attempt discovers again.
    configuration.catch(() => {
      if (this.cache.get(settings.workspaceId)?.configuration === configuration) {
        this.cache.delete(settings.workspaceId);
      }
    });
    return configuration;
  }

  /** Checks that discovery works, for the settings page's test button. */
  async test(settings: SsoClientSettings): Promise<SsoTestResult> {
    try {
      const configuration = await discover(settings);
      const metadata = configuration.serverMetadata();
      return {
        ok: true,
        message: `Found ${metadata.issuer}: its discovery document and endpoints look right. Finish the check by signing in with single sign-on.`,
        issuer: metadata.issuer,
        authorizationEndpoint: metadata.authorization_endpoint!,
        tokenEndpoint: metadata.token_endpoint!,
      };
    } catch (error) {
      const failure = discoveryFailure(settings.issuer, error);
      return { ok: false, problem: failure.kind as DiscoveryProblem, message: failure.message };
    }
  }

  /** The URL to send the browser to, and what the callback must check. */
  async startSignIn(settings: SsoClientSettings, callbackUrl: string): Promise<{ url: URL; flow: OidcFlow }> {
    let configuration: client.Configuration;
    try {
      configuration = await this.configurationFor(settings);
    } catch (error) {
      throw discoveryFailure(settings.issuer, error);
    }
    const flow: OidcFlow = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: callbackUrl,
      scope: "openid email profile",
      response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: "S256",
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url, flow };
  }

  /** Exchanges the code, validates the id_token, and says who signed in. */
  async finishSignIn(settings: SsoClientSettings, currentUrl: URL, flow: OidcFlow): Promise<SsoIdentity> {
    let configuration: client.Configuration;
    try {
      configuration = await this.configurationFor(settings);
    } catch (error) {
      throw discoveryFailure(settings.issuer, error);
    }
    try {
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new OidcFailure("response_invalid", "The identity provider sent no id_token.");
      let facts: Record<string, unknown> = { ...claims };
      // Many providers put the email in the id_token only when asked; userinfo always has it.
      if (typeof claims.email !== "string" && configuration.serverMetadata().userinfo_endpoint) {
        const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
        facts = { ...userinfo, ...claims };
        if (typeof claims.email !== "string") {
          facts.email = userinfo.email;
          facts.email_verified = userinfo.email_verified;
        }
      }
      return {
        subject: claims.sub,
        email: typeof facts.email === "string" ? facts.email : undefined,
        emailVerified: emailIsVerified(facts),
        name: typeof facts.name === "string" ? facts.name : undefined,
      };
    } catch (error) {
      throw callbackFailure(error);
    }
  }
}

function discover(settings: SsoClientSettings): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer);
  return client
    .discovery(issuer, settings.clientId, undefined, client.ClientSecretBasic(settings.clientSecret), {
      // Plain http only reaches the machine itself (core/sso/sso.ts refuses it anywhere else).
      execute: issuer.protocol === "http:" ? [client.allowInsecureRequests] : [],
      timeout: DISCOVERY_TIMEOUT_SECONDS,
    })
    .then((configuration) => {
      const metadata = configuration.serverMetadata();
      const missing = (["authorization_endpoint", "token_endpoint", "jwks_uri"] as const).filter(
        (name) => !metadata[name],
      );
      if (missing.length) {
        throw new OidcFailure(
          "discovery_invalid",
          `The discovery document of ${settings.issuer} lacks ${missing.join(", ")}.`,
        );
      }
      return configuration;
    });
}
