/**
 * Small helpers shared by the end-to-end specs: the axe check, screenshots, API calls made as the web
 * app makes them, and signing in the workspace owner whether or not an earlier spec set it up.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, expect, type Page } from "@playwright/test";

export const SCREENSHOTS = fileURLToPath(new URL("../test-results/screenshots/", import.meta.url));
mkdirSync(SCREENSHOTS, { recursive: true });

/** The owner app.spec.ts sets up first (the same account, so the specs can run alone or together). */
export const OWNER = {
  name: "Ada Lovelace",
  email: "ada@acme.example",
  password: "analytical engine 1843",
  workspaceName: "Acme Analytics",
};

export function nav(target: Page, name: string) {
  return target.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
}

/** No serious or critical axe-core violation on the page as it is. */
export async function expectAccessible(target: Page, what: string) {
  const results = await new AxeBuilder({ page: target }).analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, `accessibility of ${what}`).toEqual([]);
}

export async function photograph(target: Page, name: string) {
  await target.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/** An API call from the signed-in browser, as the web app makes it (cookie + CSRF token). */
export async function callApi(request: APIRequestContext, method: string, url: string, data?: unknown) {
  const session = await (await request.get("/api/session")).json();
  return request.fetch(url, {
    method,
    headers: { "x-csrf-token": session.csrfToken },
    ...(data === undefined ? {} : { data }),
  });
}

/** Like callApi, failing the test unless the answer is a success; returns the parsed body. */
export async function callApiOk<T = Record<string, unknown>>(
  request: APIRequestContext,
  method: string,
  url: string,
  data?: unknown,
): Promise<T> {
  const response = await callApi(request, method, url, data);
  expect(response.status(), `${method} ${url}: ${await response.text()}`).toBeLessThan(300);
  return (response.status() === 204 ? undefined : await response.json()) as T;
}

/** Signs the owner in through the API (setting the installation up first when nothing is). */
export async function signInOwner(request: APIRequestContext) {
  const setup = await (await request.get("/api/setup")).json();
  const response = setup.needsSetup
    ? await request.post("/api/setup", { data: OWNER })
    : await request.post("/api/session", { data: { email: OWNER.email, password: OWNER.password } });
  expect(response.status(), await response.text()).toBeLessThan(300);
}

/** Invites `email` with `role` as the signed-in admin, and accepts in `invitee` (another context's request). */
export async function inviteAndJoin(
  admin: APIRequestContext,
  invitee: APIRequestContext,
  person: { name: string; email: string; password: string; role: string },
) {
  const invitation = await callApiOk<{ link: string }>(admin, "POST", "/api/v1/team/invitations", {
    email: person.email,
    role: person.role,
  });
  const token = new URL(invitation.link).pathname.split("/").pop();
  const accepted = await invitee.post(`/api/invitations/${token}/accept`, {
    data: { name: person.name, password: person.password },
  });
  expect(accepted.status(), await accepted.text()).toBeLessThan(300);
}
