/**
 * A newcomer's first hour in the web app, in one story: setup, sign out and in, contacts, inviting a
 * viewer who joins in a second browser. Every page is checked with axe-core (no serious or critical
 * violation) and photographed into test-results/screenshots.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, type BrowserContext, expect, type Page, test } from "@playwright/test";

test.use({ baseURL: process.env.E2E_BASE_URL });
test.describe.configure({ mode: "serial" });

const SCREENSHOTS = fileURLToPath(new URL("../test-results/screenshots/", import.meta.url));
const DOCS_SCREENSHOTS = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));
mkdirSync(SCREENSHOTS, { recursive: true });

const OWNER = { name: "Ada Lovelace", email: "ada@acme.example", password: "analytical engine 1843" };
const VIEWER = { name: "Victor Viewer", email: "victor@acme.example", password: "just looking, thanks" };

let context: BrowserContext;
let page: Page;
let invitationLink = "";

function nav(target: Page, name: string) {
  return target.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
}

async function expectAccessible(target: Page, what: string) {
  const results = await new AxeBuilder({ page: target }).analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, `accessibility of ${what}`).toEqual([]);
}

async function photograph(target: Page, name: string) {
  await target.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/** An API call from the signed-in browser, as the web app makes it (cookie + CSRF token). */
async function callApi(request: APIRequestContext, method: string, url: string, data?: unknown) {
  const session = await (await request.get("/api/session")).json();
  return request.fetch(url, {
    method,
    headers: { "x-csrf-token": session.csrfToken },
    ...(data === undefined ? {} : { data }),
  });
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
});

test("a newcomer is offered the first-run setup and lands on Home", async () => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Welcome to Omneural" })).toBeVisible();
  await expectAccessible(page, "the setup page");
  await photograph(page, "setup");

  // The form checks itself before it is sent.
  await page.getByRole("button", { name: "Create my workspace" }).click();
  await expect(page.getByText("Enter your name")).toBeVisible();
  await expect(page.getByLabel("Your name")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Your name").fill(OWNER.name);
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill("short");
  await page.getByLabel("Workspace name").fill("Acme Analytics");
  await page.getByRole("button", { name: "Create my workspace" }).click();
  await expect(page.getByText("Use at least 10 characters")).toBeVisible();
  await page.getByLabel("Password").fill(OWNER.password);
  // The server's field errors (problem+json) land next to their field.
  await page.getByLabel("Default timezone").fill("Mars/Olympus_Mons");
  await page.getByRole("button", { name: "Create my workspace" }).click();
  await expect(page.getByLabel("Default timezone")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator(".field-invalid")).toContainText("Default timezone");
  await page.getByLabel("Default timezone").fill("Europe/London");
  await page.getByRole("button", { name: "Create my workspace" }).click();

  await expect(page.getByRole("heading", { name: "Home", level: 1 })).toBeVisible();
  await expect(page.getByRole("region", { name: "No campaigns yet" })).toBeVisible();
  await expect(page.getByText("Import your contacts")).toBeVisible();
  await expect(page.getByRole("banner")).toContainText("Acme Analytics");
  await expectAccessible(page, "Home (empty)");
  await photograph(page, "home-empty");
});

test("signs out, fails with a wrong password, and signs in again", async () => {
  await page.getByRole("button", { name: OWNER.name }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expectAccessible(page, "the sign-in page");
  await photograph(page, "sign-in");

  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("The email or password is not right");

  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Home", level: 1 })).toBeVisible();
});

test("lists, searches and opens contacts", async () => {
  await nav(page, "Contacts").click();
  await expect(page.getByRole("heading", { name: "Contacts", level: 1 })).toBeVisible();
  await expect(page.getByRole("region", { name: "No contacts yet" })).toBeVisible();
  await expectAccessible(page, "Contacts (empty)");

  // A CSV import, followed to the end: one good row, one rejected.
  await page.getByRole("button", { name: "Import contacts" }).click();
  await expect(page.getByText("Choose a CSV file first")).toBeVisible();
  await page.getByLabel("CSV file", { exact: true }).setInputFiles({
    name: "customers.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(
      "Email,First Name,Last Name\nada.byron@acme.example,Ada,Byron\nnot-an-email,Nobody,Here\n",
    ),
  });
  await page.getByRole("button", { name: "Import contacts" }).click();
  await expect(page.getByText("Done: 1 added, 0 updated, 1 rejected.")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("link", { name: "Ada Byron" })).toBeVisible();

  for (const [firstName, lastName, email] of [
    ["Grace", "Hopper", "grace@navy.example"],
    ["Alan", "Turing", "alan@bletchley.example"],
    ["Katherine", "Johnson", "katherine@nasa.example"],
  ]) {
    const created = await callApi(page.request, "POST", "/api/v1/contacts", {
      firstName,
      lastName,
      email,
      attributes: { plan: "pro", lifetimeValue: 420 },
      consent: { email: "subscribed" },
    });
    expect(created.status(), await created.text()).toBe(201);
  }
  await page.reload();
  await expect(page.getByRole("link", { name: "Grace Hopper" })).toBeVisible();
  await expectAccessible(page, "Contacts");
  await photograph(page, "contacts");

  await page.getByLabel("Search contacts").fill("alan@");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByRole("link", { name: "Alan Turing" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Grace Hopper" })).toHaveCount(0);

  await page.getByRole("link", { name: "Alan Turing" }).click();
  await expect(page.getByRole("heading", { name: "Alan Turing", level: 1 })).toBeVisible();
  await expect(page.getByText("lifetimeValue")).toBeVisible();
  await expect(page.getByRole("region", { name: "Consent" })).toContainText(/subscribed/i);
  await expectAccessible(page, "a contact's profile");
  await photograph(page, "contact");
});

test("shows a campaign's status on Home, at 1280 and at 820 pixels wide", async () => {
  const post = async (url: string, data: unknown) => {
    const response = await callApi(page.request, "POST", url, data);
    expect(response.status(), `${url}: ${await response.text()}`).toBeLessThan(300);
    return (await response.json()).id as string;
  };
  const list = await post("/api/v1/audiences", { name: "Newsletter", kind: "list" });
  const template = await post("/api/v1/templates", {
    name: "Welcome",
    channel: "email",
    content: { subject: "Welcome", html: "<p>Hello {{ firstName }}</p>" },
  });
  const workflow = await post("/api/v1/workflows", {
    name: "Welcome series",
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "hello" } },
        { id: "hello", type: "send", channel: "email", templateId: template, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await post(`/api/v1/workflows/${workflow}/publish`, {});
  await post("/api/v1/campaigns", { name: "Spring welcome", audienceId: list, workflowId: workflow });

  await nav(page, "Home").click();
  await expect(page.getByRole("row", { name: /Spring welcome/ })).toContainText("draft");
  await expect(page.getByRole("button", { name: "Launch Spring welcome" })).toBeEnabled();
  await expectAccessible(page, "Home");
  await photograph(page, "home");
  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  copyFileSync(`${SCREENSHOTS}home.png`, `${DOCS_SCREENSHOTS}home.png`);

  await page.setViewportSize({ width: 820, height: 1000 });
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Launch Spring welcome" })).toBeVisible();
  await photograph(page, "home-820");
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("invites a viewer and hands over the link", async () => {
  await nav(page, "Team").click();
  await expect(page.getByRole("heading", { name: "Team", level: 1 })).toBeVisible();
  await page.getByRole("button", { name: "Create invitation link" }).click();
  await expect(page.getByText("Enter an email address")).toBeVisible();
  await page.getByLabel("Email address").fill(VIEWER.email);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = page.getByLabel("Invitation link");
  await expect(link).toHaveValue(/\/invite\/[A-Za-z0-9_-]{43}$/);
  invitationLink = await link.inputValue();
  await expect(page.getByRole("region", { name: "Pending invitations" })).toContainText(VIEWER.email);
  await expectAccessible(page, "Settings → Team");
  await photograph(page, "team");
});

test("the viewer accepts in another browser, can look but not change", async ({ browser }) => {
  const viewerContext = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  const viewer = await viewerContext.newPage();
  try {
    await viewer.goto(invitationLink);
    await expect(viewer.getByRole("heading", { name: "Join Acme Analytics" })).toBeVisible();
    await expect(viewer.getByText(VIEWER.email)).toBeVisible();
    await expectAccessible(viewer, "the invitation page");
    await photograph(viewer, "invitation");
    await viewer.getByLabel("Your name").fill(VIEWER.name);
    await viewer.getByLabel("Choose a password").fill(VIEWER.password);
    await viewer.getByRole("button", { name: "Join Acme Analytics" }).click();

    await expect(viewer.getByRole("heading", { name: "Home", level: 1 })).toBeVisible();
    await expect(viewer.getByText("Signed in as Viewer")).toBeVisible();
    await expect(viewer.getByRole("button", { name: "Launch Spring welcome" })).toBeDisabled();

    await nav(viewer, "Contacts").click();
    await expect(viewer.getByRole("link", { name: "Grace Hopper" })).toBeVisible();
    await expect(viewer.getByRole("button", { name: "Import contacts" })).toBeDisabled();
    await expect(viewer.getByLabel("CSV file", { exact: true })).toBeDisabled();
    await expectAccessible(viewer, "Contacts as a viewer");

    await nav(viewer, "Team").click();
    await expect(viewer.getByText("Only owners and admins can invite people")).toBeVisible();
    await expect(viewer.getByRole("button", { name: "Create invitation link" })).toHaveCount(0);
    await expect(viewer.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
    await expectAccessible(viewer, "Settings → Team as a viewer");
    await photograph(viewer, "team-viewer");

    const create = await callApi(viewer.request, "POST", "/api/v1/contacts", {
      email: "sneaky@acme.example",
    });
    expect(create.status()).toBe(403);
    expect((await create.json()).code).toBe("FORBIDDEN");
    const campaigns = await (await viewer.request.get("/api/v1/campaigns")).json();
    const launch = await callApi(viewer.request, "POST", `/api/v1/campaigns/${campaigns.data[0].id}/launch`);
    expect(launch.status()).toBe(403);
    const preview = await callApi(viewer.request, "POST", "/api/v1/audiences/preview", {
      definition: { kind: "field", field: "email", type: "string", condition: { op: "exists" } },
    });
    expect(preview.status()).toBe(200);
  } finally {
    await viewerContext.close();
  }
});

test("an unknown page inside the app says so", async () => {
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expectAccessible(page, "the not-found page");
});
