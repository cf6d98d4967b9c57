/**
 * Settings → Audit log: the owner finds who made and revoked an API key, filters by action (with a field
 * error for a malformed one), and pages; checked with axe-core and photographed.
 */
import { expect, test } from "@playwright/test";
import { callApiOk, expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

test("the owner reads and filters the audit log", async ({ page }) => {
  await signInOwner(page.request);
  const key = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/api-keys", {
    name: "audited key",
  });
  await callApiOk(page.request, "DELETE", `/api/v1/api-keys/${key.id}`);

  await page.goto("/");
  await nav(page, "Audit log").click();
  await expect(page.getByRole("heading", { name: "Audit log", level: 1 })).toBeVisible();
  const table = page.getByRole("table", { name: "Audit log entries, newest first" });
  const revoked = table.getByRole("row").filter({ hasText: key.id }).filter({ hasText: "api_key.revoke" });
  await expect(revoked).toHaveCount(1);
  await expect(revoked).toContainText("ada@acme.example");
  await expectAccessible(page, "Settings → Audit log");
  await photograph(page, "settings-audit-log");

  // A malformed action is caught before asking.
  await page.getByLabel("Action or object type").fill("Campaign Launch!");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByLabel("Action or object type")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Action or object type").fill("api_key");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(table.getByRole("row").filter({ hasText: "api_key.create" }).first()).toBeVisible();
  for (const action of await table.locator("tbody code:first-child").allTextContents()) {
    expect(action.startsWith("api_key.")).toBe(true);
  }

  await page.getByLabel("Action or object type").fill("");
  await page.getByLabel("Object id").fill("00000000-0000-4000-8000-000000000000");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No entry matches these filters.")).toBeVisible();
});
