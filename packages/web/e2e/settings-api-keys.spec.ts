/**
 * Settings → API keys: the owner makes a key (shown once, with a field error first), the key works
 * against the API, the owner revokes it and it stops working at once. Checked with axe-core and
 * photographed.
 */
import { expect, test } from "@playwright/test";
import { expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

test("the owner makes a key, uses it, and revokes it", async ({ page, playwright }) => {
  await signInOwner(page.request);
  await page.goto("/");
  await nav(page, "API keys").click();
  await expect(page.getByRole("heading", { name: "API keys", level: 1 })).toBeVisible();
  await expectAccessible(page, "Settings → API keys");

  // Checked before sending.
  await page.getByRole("button", { name: "Make a key" }).click();
  await expect(page.getByLabel("What it is for")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("What it is for").fill("e2e warehouse sync");
  await page.getByRole("button", { name: "Make a key" }).click();
  const shown = page.getByLabel("The new API key");
  await expect(shown).toHaveValue(/^omn_/);
  const key = await shown.inputValue();
  const row = page.getByRole("row", { name: /e2e warehouse sync/ });
  await expect(row).toContainText(key.slice(0, 10));
  await photograph(page, "settings-api-keys");

  // The key works from outside the browser …
  const outside = await playwright.request.newContext({ baseURL: process.env.E2E_BASE_URL });
  const use = () => outside.get("/api/v1/workspace", { headers: { authorization: `Bearer ${key}` } });
  expect((await use()).status()).toBe(200);

  // … until it is revoked, which asks first.
  await row.getByRole("button", { name: "Revoke the key e2e warehouse sync" }).click();
  await row.getByRole("button", { name: "Revoke e2e warehouse sync now" }).click();
  await expect(page.getByRole("row", { name: /e2e warehouse sync/ })).toHaveCount(0);
  expect((await use()).status()).toBe(401);
  await page.getByText(/Revoked keys/).click();
  await expect(page.getByRole("row", { name: /e2e warehouse sync/ })).toContainText("revoked");
  await outside.dispose();
});
