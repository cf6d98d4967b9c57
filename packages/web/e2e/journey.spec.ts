/**
 * The newcomer's whole journey on a fresh installation of their own (not the shared one the other specs
 * use), through the web app alone: set up the first user and workspace → set the sender → import a CSV
 * → build an audience → write two emails → build a workflow with a wait for a click and its two branches
 * on the canvas → create and launch a campaign in the wizard → see the email in the Outbox → open its
 * tracked link in the browser → see the report, the member trace and Home update. Checked with
 * axe-core at each page and photographed.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, type Page, test } from "@playwright/test";
import { type E2eServer, startServer } from "./global-setup.ts";
import { expectAccessible, nav, photograph, SCREENSHOTS } from "./helpers.ts";

/** The README shows the workflow canvas and the report as this journey leaves them. */
const DOCS_SCREENSHOTS = fileURLToPath(new URL("../../../docs/screenshots/", import.meta.url));
function publishToDocs(name: string) {
  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  copyFileSync(`${SCREENSHOTS}${name}.png`, `${DOCS_SCREENSHOTS}${name.replace(/^journey-/, "")}.png`);
}

test.describe.configure({ mode: "serial" });

/** A person's browser: link scanners and headless browsers are flagged as machines and not counted. */
const PERSON_USER_AGENT =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/** A click this soon after sending is taken for a scanner's (core responses/machine-activity.ts). */
const SCANNER_WINDOW_MS = 10_000;

const NEWCOMER = {
  name: "Grace Hopper",
  email: "grace@harbour.example",
  password: "compilers all the way down",
  workspace: "Harbour Books",
};

let server: E2eServer;
let page: Page;
const clickAnswers: { status: number; location: string }[] = [];

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  const webDist = process.env.E2E_WEB_DIST;
  if (!webDist) throw new Error("journey.spec.ts needs E2E_WEB_DIST, set by global-setup.ts");
  server = await startServer(webDist);
  const context = await browser.newContext({ baseURL: server.base, userAgent: PERSON_USER_AGENT });
  page = await context.newPage();
  // The shop the email links to is not on this machine, and a route sees only the first request of a
  // redirect: a click goes to the tracking server with the browser's own headers, its answer is kept,
  // and the browser is shown the shop's page in place of following the redirect.
  await context.route(`${server.base}/t/c/**`, async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    clickAnswers.push({ status: response.status(), location: response.headers().location ?? "" });
    await route.fulfill({
      contentType: "text/html",
      body: "<!doctype html><title>Spring sale</title><h1>Spring sale</h1>",
    });
  });
});

test.afterAll(async () => {
  await page?.context().close();
  await server?.stop();
});

test("a newcomer goes from a fresh install to a campaign's report and member trace", async () => {
  test.setTimeout(300_000);

  // 1. First visit: the setup of the first user and workspace.
  await page.goto("/");
  await expect(page.getByRole("heading", { name: /Welcome to Omneural/ })).toBeVisible();
  await page.getByLabel("Your name").fill(NEWCOMER.name);
  await page.getByLabel("Email").fill(NEWCOMER.email);
  await page.getByLabel("Password").fill(NEWCOMER.password);
  await page.getByLabel("Workspace name").fill(NEWCOMER.workspace);
  await page.getByRole("button", { name: "Create my workspace" }).click();
  await expect(page.getByRole("heading", { name: "Home", level: 1 })).toBeVisible();
  await expect(page.getByRole("region", { name: "No campaigns yet" })).toBeVisible();

  // 2. Who the email comes from (marketing email must carry it).
  await nav(page, "Sender").click();
  await expect(page.getByRole("heading", { name: "Sender", level: 1 })).toBeVisible();
  await page.getByLabel("From name").fill("Harbour Books");
  await page.getByLabel("From address").fill("news@harbour.example");
  await page.getByLabel("Postal address").fill("7 Quay Street, Portsmouth PO1 2AB");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();

  // 3. Contacts from a CSV export: columns recognised, one malformed row reported by its line.
  await nav(page, "Contacts").click();
  await expect(page.getByRole("heading", { name: "Contacts", level: 1 })).toBeVisible();
  await page.getByLabel("CSV file", { exact: true }).setInputFiles({
    name: "customers.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(
      [
        "Email Address,First Name,Last Name,City",
        "ada@readers.example,Ada,Byron,Springfield",
        "alan@readers.example,Alan,Turing,Springfield",
        "not an email,Nobody,Here,Springfield",
        "mary@readers.example,Mary,Somerville,Shelbyville",
      ].join("\n"),
    ),
  });
  await expect(page.getByLabel("Column “Email Address” goes to")).toHaveValue("email");
  await expect(page.getByLabel("Column “City” goes to")).toHaveValue("address.city");
  await page.getByRole("button", { name: "Import contacts" }).click();
  await expect(page.getByText("Done: 3 added, 0 updated, 1 rejected.")).toBeVisible({ timeout: 60_000 });
  await expect(
    page.getByRole("region", { name: "1 rejected row" }).getByRole("rowheader", { name: "Line 4" }),
  ).toBeVisible();

  // 4. An audience: everyone in Springfield, counted live.
  await nav(page, "Audiences").click();
  await expect(page.getByRole("heading", { name: "Audiences", level: 1 })).toBeVisible();
  await page.getByLabel("Name").fill("Springfield readers");
  await page.getByLabel("Rule-based segment").check();
  await page.getByRole("button", { name: "Make and edit" }).click();
  await expect(page.getByRole("heading", { name: "Springfield readers", level: 1 })).toBeVisible();
  const rule = page.getByRole("group", { name: "Condition 1", exact: true });
  await rule.getByLabel("Condition type").selectOption({ label: "Contact detail" });
  await rule.getByLabel("Detail").selectOption({ label: "City" });
  await rule.getByLabel("Operator").selectOption({ label: "is" });
  await rule.getByLabel("Text", { exact: true }).fill("Springfield");
  await expect(page.getByTestId("live-count")).toHaveText("2", { timeout: 20_000 });
  const sample = page.getByRole("list", { name: "Sample of matching contacts" });
  await expect(sample.getByRole("link", { name: "Ada Byron" })).toBeVisible();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();

  // 5. Two emails: the offer with a link to the shop, and a thank-you for those who click.
  const writeEmail = async (name: string, subject: string, html: string) => {
    await nav(page, "Templates").click();
    await expect(page.getByRole("heading", { name: "Templates", level: 1 })).toBeVisible();
    await page.getByLabel("Name").fill(name);
    await page.getByRole("button", { name: "Make and edit" }).click();
    await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
    await page.getByLabel("Subject").fill(subject);
    await page.getByLabel("HTML").fill(html);
    await page.getByRole("button", { name: "Save as a new version" }).click();
    await expect(page.getByText(/Version 2/)).toBeVisible();
  };
  await writeEmail(
    "Spring sale",
    "Spring sale, {{ firstName }}",
    '<h1>Hello {{ firstName }}</h1><p><a href="https://shop.harbour.example/spring">Shop the spring sale</a></p>',
  );
  await writeEmail("Thanks for looking", "Thanks, {{ firstName }}", "<p>Glad you had a look.</p>");

  // 6. A workflow on the canvas: send → wait up to 3 days for a click → clicked: thank them; else: done.
  await nav(page, "Workflows").click();
  await expect(page.getByRole("heading", { name: "Workflows", level: 1 })).toBeVisible();
  await page.getByLabel("Workflow name", { exact: true }).fill("Spring sale journey");
  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page.getByRole("heading", { name: "Spring sale journey", level: 1 })).toBeVisible();
  const node = (id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
  const selected = page.getByLabel("Selected step", { exact: true });
  await page.getByRole("button", { name: "Send a message" }).click();
  await expect(node("send_1")).toBeVisible();
  await page.getByLabel("Template", { exact: true }).selectOption({ label: "Spring sale" });
  await selected.selectOption("entry");
  await page.getByLabel("Then go to", { exact: true }).selectOption("send_1");
  await selected.selectOption("send_1");
  await page.getByRole("button", { name: "Wait for a response" }).click();
  await expect(node("wait_for_1")).toBeVisible();
  await expect(page.getByLabel("The member", { exact: true })).toHaveValue("clicked");
  await page.getByLabel("Amount", { exact: true }).fill("3");
  await page.getByRole("button", { name: "Send a message" }).click();
  await expect(node("send_2")).toBeVisible();
  await page.getByLabel("Template", { exact: true }).selectOption({ label: "Thanks for looking" });
  await page.getByLabel("Then go to", { exact: true }).selectOption("done");
  await selected.selectOption("wait_for_1");
  await expect(page.getByLabel("When “responded”, go to", { exact: true })).toHaveValue("send_2");
  await page.getByLabel("When “no response”, go to", { exact: true }).selectOption("done");
  await page.getByRole("button", { name: "Tidy up the layout" }).click();
  await page.getByRole("button", { name: "Check for problems" }).click();
  await expect(page.getByText("No problems found: the workflow is ready to publish.")).toBeVisible();
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Published as version 1.")).toBeVisible();
  await expectAccessible(page, "the published workflow");
  await page.evaluate(() => window.scrollTo(0, 0));
  await photograph(page, "journey-workflow");
  publishToDocs("journey-workflow");

  // 7. The campaign: the wizard, the estimated reach, create and launch.
  await nav(page, "Campaigns").click();
  await expect(page.getByRole("heading", { name: "Campaigns", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: "New campaign" }).first().click();
  await page.getByRole("radio", { name: /Springfield readers/ }).check();
  await page.getByRole("button", { name: "Next: Workflow" }).click();
  await page.getByRole("radio", { name: /Spring sale journey/ }).check();
  await expect(page.getByLabel("Published version", { exact: true })).toHaveValue("1");
  await page.getByRole("button", { name: "Next: Schedule" }).click();
  await page.getByRole("button", { name: "Next: Policies" }).click();
  await page.getByRole("button", { name: "Next: Review" }).click();
  await expect(page.getByTestId("estimated-reach")).toContainText("2");
  await page.getByLabel("Campaign name").fill("Spring sale 2026");
  await page.getByRole("button", { name: "Create and launch" }).click();
  await expect(page.getByRole("heading", { name: "Spring sale 2026", level: 1 })).toBeVisible();
  const figure = (label: string) =>
    page
      .locator(".figure")
      .filter({ has: page.getByText(label, { exact: true }) })
      .locator("dd");
  await expect(figure("Messages sent")).toHaveText("2", { timeout: 60_000 });
  const sentAt = Date.now();
  await expectAccessible(page, "the running campaign");

  // 8. The Outbox has the email as Ada sees it, with a tracked link in place of the shop's.
  await nav(page, "Outbox").click();
  await expect(page.getByRole("heading", { name: "Outbox", level: 1 })).toBeVisible();
  const outbox = page.getByRole("table", { name: "Delivered messages, newest first" });
  await outbox.getByRole("button", { name: "ada@readers.example" }).first().click();
  const email = page.frameLocator('iframe[title="The email to ada@readers.example, as delivered"]');
  await expect(email.getByRole("heading", { name: "Hello Ada" })).toBeVisible();
  const link = email.getByRole("link", { name: "Shop the spring sale" });
  const tracked = await link.getAttribute("href");
  expect(tracked).toMatch(new RegExp(`^${server.base}/t/c/`));
  await photograph(page, "journey-outbox");

  // 9. Ada opens the link (as a person would, not within a scanner's first seconds): the shop's page.
  await page.waitForTimeout(Math.max(0, sentAt + SCANNER_WINDOW_MS + 1000 - Date.now()));
  await page.goto(tracked as string);
  await expect(page.getByRole("heading", { name: "Spring sale" })).toBeVisible();
  expect(clickAnswers).toEqual([{ status: 302, location: "https://shop.harbour.example/spring" }]);

  // 10. The report counts the click; the member trace shows why Ada got the thank-you.
  await page.goto(server.base);
  await nav(page, "Reports").click();
  await expect(page.getByRole("heading", { name: "Reports", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: "Spring sale 2026" }).click();
  const funnel = page.getByRole("table", { name: "What came of the messages sent" });
  const row = (stage: string) =>
    funnel.getByRole("row").filter({ has: page.getByRole("rowheader", { name: stage }) });
  await expect(async () => {
    await page.reload();
    await expect(row("Clicked").getByRole("cell").first()).toHaveText("1", { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await expectAccessible(page, "the campaign's report");
  await photograph(page, "journey-report");
  publishToDocs("journey-report");

  await page.getByLabel("Find a member").fill("ada@readers.example");
  await page.getByRole("button", { name: "Find" }).click();
  await expect(page.getByRole("heading", { name: /Ada Byron in/, level: 1 })).toBeVisible();
  const messages = page.getByRole("table", { name: /messages and what became of them/ });
  // She clicked, so the wait ended with "responded" and the thank-you (send_2) went out.
  await expect(async () => {
    await page.reload();
    await expect(messages.getByRole("row").filter({ hasText: "send_2" })).toContainText("Sent", {
      timeout: 2_000,
    });
  }).toPass({ timeout: 60_000 });
  await expect(
    page
      .locator(".trace-step")
      .filter({ hasText: "wait_for_1" })
      .filter({ hasText: /matched|responded/i }),
  ).not.toHaveCount(0);
  await expectAccessible(page, "Ada's trace");
  await photograph(page, "journey-member-trace");

  // 11. Home shows the campaign and Ada's click among the latest responses.
  await nav(page, "Home").click();
  await expect(page.getByRole("link", { name: "Spring sale 2026" }).first()).toBeVisible();
  const responses = page.getByRole("region", { name: "Latest responses" });
  await expect(responses.getByText(/Ada Byron clicked/)).toBeVisible({ timeout: 15_000 });
  // Reading her email in the Outbox was not Ada opening it.
  await expect(responses.getByText(/Ada Byron opened/)).toHaveCount(0);
  await expectAccessible(page, "Home with a campaign");
  await photograph(page, "journey-home");
});
