/**
 * Settings → Retention: the owner sets the outdated-prospects policy (errors shown next to their
 * fields, the form's own checks and the server's), previews it, runs it for real and finds the run
 * in the list; a duplicates run past its maxShare asks for confirmation; a viewer sees everything
 * read-only but may still preview. Checked with axe-core and photographed, at 1280 and 820 pixels.
 */
import { type BrowserContext, expect, type Page, test } from "@playwright/test";
import {
  callApiOk,
  expectAccessible,
  inviteAndJoin,
  nav,
  photograph,
  SCREENSHOTS,
  signInOwner,
} from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });
test.describe.configure({ mode: "serial" });

const READER = {
  name: "Rita Reader",
  email: "rita.reader@acme.example",
  password: "reading is not writing",
  role: "viewer",
};

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  page = await context.newPage();
  await signInOwner(page.request);
  // Data through the API, as the other specs seed it: two likely duplicates (same name and address),
  // a third contact, and an enabled old-events policy keeping 90 days of events.
  for (const email of ["mary.shelley@acme.example", "m.shelley@home.example"]) {
    await callApiOk(page.request, "POST", "/api/v1/contacts", {
      email,
      firstName: "Mary",
      lastName: "Shelley",
      address: { line1: "24 Chester Square", city: "London", postalCode: "SW1W 9HS", country: "GB" },
    });
  }
  await callApiOk(page.request, "POST", "/api/v1/contacts", {
    email: "percy@acme.example",
    firstName: "Percy",
    lastName: "Shelley",
  });
  await callApiOk(page.request, "PUT", "/api/v1/retention/policies/old_events", {
    enabled: true,
    settings: { olderThanDays: 90 },
  });
});

test.afterAll(async () => {
  await context?.close();
});

function policy(target: Page, title: string) {
  return target.getByRole("article", { name: title });
}

test("the owner sets the outdated-prospects policy, with errors next to the fields", async () => {
  await page.goto("/");
  await nav(page, "Retention").click();
  await expect(page.getByRole("heading", { name: "Retention", level: 1 })).toBeVisible();
  const outdated = policy(page, "Outdated prospects");
  await expect(outdated).toContainText("Not set up — nothing is removed.");
  await expect(outdated.getByRole("button", { name: /^Preview \(dry run\)/ })).toBeDisabled();
  await expect(policy(page, "Old events")).toContainText("Runs daily");
  await expectAccessible(page, "Settings → Retention (nothing set up)");

  await outdated.getByRole("button", { name: "Set up Outdated prospects" }).click();
  const inactive = outdated.getByLabel("Inactive for (days)");
  // Checked before sending.
  await inactive.fill("0");
  await outdated.getByLabel("Run daily").check();
  await outdated.getByRole("button", { name: "Save" }).click();
  await expect(inactive).toHaveAttribute("aria-invalid", "true");
  await expect(outdated.locator(".field-invalid")).toContainText(
    "Enter a whole number from 1 to 36,500 days",
  );

  // Erasing warns; archiving is the choice here.
  await outdated.getByLabel("Erase", { exact: true }).check();
  await expect(outdated.getByText("Erasing cannot be undone.")).toBeVisible();
  await outdated.getByLabel("Archive", { exact: true }).check();
  await expect(outdated.getByText("Erasing cannot be undone.")).toHaveCount(0);

  // The server's rule (events kept 90 days, so at most 90 days of inactivity) lands next to the field.
  await inactive.fill("365");
  await outdated.getByRole("button", { name: "Save" }).click();
  await expect(inactive).toHaveAttribute("aria-invalid", "true");
  await expect(outdated.locator(".field-invalid")).toContainText("Must be at most 90");
  await expectAccessible(page, "the retention form with errors");
  await outdated.scrollIntoViewIfNeeded();
  await photograph(page, "retention-form");

  await inactive.fill("60");
  await outdated.getByRole("button", { name: "Save" }).click();
  await expect(outdated.getByText("Saved.")).toBeVisible();
  await expect(outdated).toContainText("60 days");
  await expect(outdated).toContainText("Archive");
  await expect(outdated).toContainText("Daily at 03:17 UTC");
  await expect(outdated.getByText("Runs daily")).toBeVisible();
});

test("the owner previews the policy, runs it for real and finds the run in the list", async () => {
  const outdated = policy(page, "Outdated prospects");
  await outdated.getByRole("button", { name: "Preview (dry run) of Outdated prospects" }).click();
  const preview = outdated.getByRole("region", { name: "Preview: nothing was changed" });
  await expect(preview).toBeVisible();
  await expect(preview).toContainText("Contacts archived");
  await expect(preview.locator(".count")).toHaveText(["0"]);
  await expect(preview).toContainText("No rows qualify now.");
  await preview.getByRole("button", { name: "Close" }).click();

  await outdated.getByRole("button", { name: "Run now Outdated prospects" }).click();
  const confirm = outdated.getByRole("region", { name: "Run Outdated prospects now?" });
  await expect(confirm).toContainText("archived contacts can be restored");
  await expect(confirm).toContainText("Contacts archived");
  await confirm.getByRole("button", { name: "Run for real" }).click();
  await expect(outdated.getByRole("region", { name: "Run finished" })).toBeVisible();

  const runs = page.getByRole("region", { name: "Recent runs" });
  const realRun = runs
    .getByRole("row")
    .filter({ hasText: "Real run" })
    .filter({ hasText: "Outdated prospects" });
  await expect(realRun).toHaveCount(1);
  await expect(realRun).toContainText("Completed");
  await expect(realRun).toContainText("Started by hand");
  await expect(runs.getByRole("row").filter({ hasText: "Dry run" })).toHaveCount(2);
  await expectAccessible(page, "Settings → Retention after a run");
  await page.screenshot({ path: `${SCREENSHOTS}retention.png`, fullPage: true });
});

test("a duplicates run past its limit asks before merging", async () => {
  const duplicates = policy(page, "Likely duplicates");
  await duplicates.getByRole("button", { name: "Set up Likely duplicates" }).click();
  await duplicates.getByLabel("The same email address").uncheck();
  await duplicates.getByLabel("The same phone number").uncheck();
  await duplicates.getByLabel("The same name and postal address").uncheck();
  await duplicates.getByRole("button", { name: "Save" }).click();
  await expect(duplicates.locator(".field-invalid")).toContainText("Choose at least one kind of duplicate");
  await duplicates.getByLabel("The same name and postal address").check();
  await duplicates.getByLabel("Ask before removing more than (% of contacts)").fill("1");
  await duplicates.getByRole("button", { name: "Save" }).click();
  await expect(duplicates.getByText("Saved.")).toBeVisible();

  await duplicates.getByRole("button", { name: "Run now Likely duplicates" }).click();
  const confirm = duplicates.getByRole("region", { name: "Run Likely duplicates now?" });
  await expect(confirm).toContainText("Contacts merged away");
  await confirm.getByRole("button", { name: "Run for real" }).click();
  const held = duplicates.getByRole("region", { name: "This run needs your confirmation" });
  await expect(held).toContainText("Nothing was changed");
  await expect(held).toContainText("more than the policy's limit of 1%");
  await expectAccessible(page, "a retention run held for confirmation");
  await photograph(page, "retention-confirm");
  await held.getByRole("button", { name: "Run anyway" }).click();
  const done = duplicates.getByRole("region", { name: "Run finished" });
  await expect(done).toContainText("Contacts merged away");
  await expect(done.locator(".count").first()).toHaveText("1");

  const runs = page.getByRole("region", { name: "Recent runs" });
  await runs.getByLabel("Policy").selectOption("duplicates");
  await expect(runs.getByRole("row").filter({ hasText: "Needs confirmation" })).toHaveCount(1);
  await expect(
    runs.getByRole("row").filter({ hasText: "Completed" }).filter({ hasText: "Real run" }),
  ).toHaveCount(1);
});

test("the page works at 820 pixels wide and from the keyboard", async () => {
  await page.setViewportSize({ width: 820, height: 1000 });
  await page.reload();
  await expect(page.getByRole("heading", { name: "Retention", level: 1 })).toBeVisible();
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow, "no horizontal scrolling at 820 pixels").toBeLessThanOrEqual(0);
  await photograph(page, "retention-820");
  await page.setViewportSize({ width: 1280, height: 800 });

  const edit = page.getByRole("button", { name: "Edit Outdated prospects" });
  await edit.focus();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Preview (dry run) of Outdated prospects" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Preview: nothing was changed" })).toBeFocused();
});

test("a viewer sees the policies read-only and may still preview", async ({ browser }) => {
  const readerContext = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  try {
    const reader = await readerContext.newPage();
    await inviteAndJoin(page.request, reader.request, READER);
    await reader.goto("/settings/retention");
    await expect(reader.getByRole("heading", { name: "Retention", level: 1 })).toBeVisible();
    await expect(reader.getByText("Only owners and admins can change retention policies")).toBeVisible();
    const outdated = policy(reader, "Outdated prospects");
    await expect(outdated).toContainText("60 days");
    await expect(outdated.getByRole("button", { name: "Edit Outdated prospects" })).toBeDisabled();
    await expect(outdated.getByRole("button", { name: "Run now Outdated prospects" })).toBeDisabled();
    await expect(
      policy(reader, "Undeliverable contacts").getByRole("button", { name: /^Set up/ }),
    ).toBeDisabled();
    await expect(policy(reader, "Undeliverable contacts")).toContainText("Not set up — nothing is removed.");

    await outdated.getByRole("button", { name: "Preview (dry run) of Outdated prospects" }).click();
    await expect(outdated.getByRole("region", { name: "Preview: nothing was changed" })).toBeVisible();
    await expect(reader.getByRole("region", { name: "Recent runs" })).toContainText("Real run");
    await expectAccessible(reader, "Settings → Retention as a viewer");
    await photograph(reader, "retention-viewer");
  } finally {
    await readerContext.close();
  }
});
