import fastifyCookie from "@fastify/cookie";
import { loadConfig } from "@omneural/core/config/config";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { setSessionCookie } from "./auth.ts";

async function cookieFor(publicUrl: string): Promise<string> {
  const app = Fastify();
  await app.register(fastifyCookie);
  const config = loadConfig({ PUBLIC_URL: publicUrl });
  app.get("/", async (_request, reply) => {
    setSessionCookie(reply, config, {
      token: "t".repeat(43),
      csrfToken: "c",
      expiresAt: new Date(Date.now() + 60_000),
    });
    return "ok";
  });
  const response = await app.inject({ method: "GET", url: "/" });
  await app.close();
  return String(response.headers["set-cookie"]);
}

describe("the session cookie", () => {
  it("is HttpOnly, SameSite=Lax, for the whole site, and Secure when the public URL is https", async () => {
    const plain = await cookieFor("http://localhost:3000");
    expect(plain).toMatch(/^omneural_session=t{43};/);
    expect(plain).toMatch(/HttpOnly/);
    expect(plain).toMatch(/SameSite=Lax/);
    expect(plain).toMatch(/Path=\//);
    expect(plain).not.toMatch(/Secure/);
    expect(await cookieFor("https://omneural.acme.example")).toMatch(/Secure/);
  });
});
