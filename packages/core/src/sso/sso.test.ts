import { describe, expect, it } from "vitest";
import {
  emailDomainAllowed,
  emailIsVerified,
  issuerProblems,
  passwordSignInAllowed,
  ssoConfigProblems,
} from "./sso.ts";

describe("issuerProblems", () => {
  it.each([
    ["https://login.microsoftonline.com/abc/v2.0", []],
    ["https://accounts.google.com", []],
    ["http://127.0.0.1:4000", []],
    ["http://localhost:8080/realms/test", []],
    ["http://login.example.com", ["must be an https URL"]],
    ["ftp://login.example.com", ["must be an https URL"]],
    ["login.example.com", ["must be a URL such as https://login.example.com"]],
    ["https://login.example.com/?tenant=1", ["must not have a query or a fragment"]],
    ["https://user:pw@login.example.com", ["must not carry credentials"]],
  ])("%s", (issuer, messages) => {
    expect(issuerProblems(issuer).map((p) => p.message)).toEqual(messages);
  });
});

describe("ssoConfigProblems", () => {
  const valid = { slug: "acme", issuer: "https://idp.example", clientId: "id", clientSecret: "secret" };

  it("needs the secret only while none is stored", () => {
    expect(ssoConfigProblems({ ...valid, clientSecret: undefined }, false)).toEqual([
      { field: "clientSecret", message: "is required" },
    ]);
    expect(ssoConfigProblems({ ...valid, clientSecret: undefined }, true)).toEqual([]);
  });

  it("never lets owner be the default role", () => {
    const input = { ...valid, defaultRole: "owner" as unknown as "admin" };
    expect(ssoConfigProblems(input, false).map((p) => p.field)).toEqual(["defaultRole"]);
  });

  it("checks the slug and each allowed domain", () => {
    const problems = ssoConfigProblems(
      { ...valid, slug: "Acme Inc", allowedDomains: ["acme.com", "@Acme.co.uk", "not a domain"] },
      false,
    );
    expect(problems.map((p) => p.field)).toEqual(["slug", "allowedDomains.2"]);
  });
});

describe("passwordSignInAllowed", () => {
  it("refuses everyone but owners when SSO is required", () => {
    expect(passwordSignInAllowed("owner", true)).toBe(true);
    expect(passwordSignInAllowed("admin", true)).toBe(false);
    expect(passwordSignInAllowed("viewer", true)).toBe(false);
    expect(passwordSignInAllowed("viewer", false)).toBe(true);
  });
});

describe("emailIsVerified", () => {
  it.each([
    [{ email_verified: true }, true],
    [{ email_verified: "true" }, true],
    [{ xms_edov: true }, true],
    [{ email_verified: false }, false],
    [{}, false],
    [{ xms_edov: "1" }, false],
  ])("%j → %s", (claims, verified) => {
    expect(emailIsVerified(claims)).toBe(verified);
  });
});

describe("emailDomainAllowed", () => {
  it("allows any domain when none is listed, else only the listed ones, exactly", () => {
    expect(emailDomainAllowed("a@b.example", [])).toBe(true);
    expect(emailDomainAllowed("a@Acme.com", ["acme.com"])).toBe(true);
    expect(emailDomainAllowed("a@eu.acme.com", ["acme.com"])).toBe(false);
    expect(emailDomainAllowed("a@acme.com.evil.example", ["acme.com"])).toBe(false);
  });
});
