/**
 * Settings → Sender: the owner fixes the form's own error and the server's (next to their fields), saves,
 * and the API has it. Checked with axe-core and photographed.
 */
import { expect, test } from "@playwright/test";
import { callApiOk, expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

test("the owner sets who messages come from", async ({ page }) => {
  await signInOwner(page.request);
  await page.goto("/");
  await nav(page, "Sender").click();
  await expect(page.getByRole("heading", { name: "Sender", level: 1 })).toBeVisible();
  await expectAccessible(page, "Settings → Sender");

  await page.getByLabel("From name").fill("Acme Analytics");
  await page.getByLabel("From address").fill("not an address");
  await page.getByLabel("Postal address").fill("12 Babbage Row, London EC1A 1AA");
  await page.getByLabel("Send texts from").fill("+1 (202) 555-0100 ext. 7");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByLabel("From address")).toHaveAttribute("aria-invalid", "true");

  // The form lets the number through; the server refuses it, next to its field.
  await page.getByLabel("From address").fill("hello@acme.example");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByLabel("Send texts from")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Send texts from").fill("+12025550100");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await photograph(page, "settings-sender");
  const saved = await callApiOk<{ fromAddress: string; smsFrom: string }>(
    page.request,
    "GET",
    "/api/v1/workspace/sender",
  );
  expect(saved).toMatchObject({ fromAddress: "hello@acme.example", smsFrom: "+12025550100" });
});
