/**
 * Outbox: a test send of an email and of a text lands in the dev inbox; the owner filters by channel,
 * opens the text and the email (its HTML in a sandboxed frame, then its plain text). Checked with
 * axe-core (with the text open: axe cannot enter the sandboxed frame) and photographed.
 */
import { expect, test } from "@playwright/test";
import { callApiOk, expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

test("the owner reads what the dev inbox delivered", async ({ page }) => {
  await signInOwner(page.request);
  await callApiOk(page.request, "PUT", "/api/v1/workspace/sender", {
    fromName: "Acme News",
    fromAddress: "news@acme.example",
    postalAddress: "1 High St, Springfield",
    smsFrom: "+12025550100",
  });
  const email = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Outbox welcome ${Date.now()}`,
    channel: "email",
    content: { subject: "Welcome to Acme", html: "<h1>Hello from the outbox</h1><p>Glad you are here.</p>" },
  });
  const text = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Outbox nudge ${Date.now()}`,
    channel: "sms",
    content: { body: "Your trial ends soon" },
  });
  await callApiOk(page.request, "POST", `/api/v1/templates/${email.id}/test-send`, {
    to: "outbox.reader@acme.example",
  });
  await callApiOk(page.request, "POST", `/api/v1/templates/${text.id}/test-send`, { to: "+12025550123" });

  await page.goto("/");
  await nav(page, "Outbox").click();
  await expect(page.getByRole("heading", { name: "Outbox", level: 1 })).toBeVisible();
  const table = page.getByRole("table", { name: "Delivered messages, newest first" });
  await expect(table.getByRole("button", { name: "outbox.reader@acme.example" })).toBeVisible();

  // Only texts.
  await page.getByLabel("Channel").selectOption("sms");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(table.getByRole("button", { name: "outbox.reader@acme.example" })).toHaveCount(0);
  await table.getByRole("button", { name: "+12025550123" }).first().click();
  await expect(page.getByRole("region", { name: /SMS to \+12025550123/ })).toContainText(
    "Your trial ends soon",
  );
  // Checked before an email is open: axe-core cannot enter the email's sandboxed frame, and stalls on it.
  await expectAccessible(page, "the outbox with a text open");

  // The email, as delivered.
  await page.getByLabel("Channel").selectOption("email");
  await page.getByLabel("Recipient").fill("outbox.reader@acme.example");
  await page.getByRole("button", { name: "Show" }).click();
  await table.getByRole("button", { name: "outbox.reader@acme.example" }).click();
  const frame = page.frameLocator('iframe[title="The email to outbox.reader@acme.example, as delivered"]');
  await expect(frame.getByRole("heading", { name: "Hello from the outbox" })).toBeVisible();
  await photograph(page, "outbox");
  await page.getByRole("button", { name: "Show the plain-text version" }).click();
  await expect(page.locator("pre.plain-text")).toContainText("Glad you are here.");
});
