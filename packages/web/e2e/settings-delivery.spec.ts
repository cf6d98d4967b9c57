/**
 * Settings → Quiet hours and caps, and Settings → Providers: the owner sets email sending hours and a
 * frequency cap (checked before submit, kept after a reload), connects a Twilio account whose auth token
 * is never shown back, and removes it again; a viewer sees both pages read-only. Whatever the spec
 * changes is put back, so later specs send as before.
 */
import { expect, type Page, test } from "@playwright/test";
import { callApiOk, expectAccessible, inviteAndJoin, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

const EMAIL_DEFAULT = { allowedHours: null, frequencyCap: null };

test.afterAll(async ({ browser }) => {
  const context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  const page = await context.newPage();
  await signInOwner(page.request);
  await callApiOk(page.request, "PUT", "/api/v1/workspace/delivery-policies/email", EMAIL_DEFAULT);
  const providers = await callApiOk<{ data: { channel: string }[] }>(
    page.request,
    "GET",
    "/api/v1/workspace/providers",
  );
  if (providers.data.some((p) => p.channel === "sms")) {
    await callApiOk(page.request, "DELETE", "/api/v1/workspace/providers/sms");
  }
  await context.close();
});

const card = (page: Page, name: string) => page.getByRole("region", { name, exact: true });

test("the owner sets quiet hours and a frequency cap, and they are kept", async ({ page }) => {
  await signInOwner(page.request);
  await page.goto("/");
  await nav(page, "Quiet hours and caps").click();
  await expect(page.getByRole("heading", { name: "Quiet hours and frequency caps", level: 1 })).toBeVisible();
  const sms = card(page, "SMS");
  await expect(sms).toContainText("Sent between 08:00 and 21:00");

  const email = card(page, "Email");
  await email.getByLabel("Only send emails between certain hours").check();
  await email.getByLabel("Send from").fill("09:00");
  await email.getByLabel("Send until").fill("09:00");
  await email.getByLabel("Limit how many emails one contact gets").check();
  await email.getByLabel("At most").fill("0");
  await email.getByRole("button", { name: "Save email settings" }).click();
  // Checked before anything is sent.
  await expect(email.getByLabel("Send until")).toHaveAttribute("aria-invalid", "true");
  await expect(email.getByLabel("At most")).toHaveAttribute("aria-invalid", "true");

  await email.getByLabel("Send until").fill("18:30");
  await email.getByLabel("At most").fill("2");
  await email.getByLabel("Every (days)").fill("7");
  await email.getByLabel("When over the cap").selectOption("skip");
  await email.getByRole("button", { name: "Save email settings" }).click();
  await expect(email.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(email).toContainText("Customised");
  await expectAccessible(page, "Settings → Quiet hours and caps");
  await page.evaluate(() => window.scrollTo(0, 0));
  await photograph(page, "settings-delivery");

  await page.reload();
  const again = card(page, "Email");
  await expect(again.getByLabel("Send from")).toHaveValue("09:00");
  await expect(again.getByLabel("Send until")).toHaveValue("18:30");
  await expect(again.getByLabel("At most")).toHaveValue("2");
  await expect(again.getByLabel("Every (days)")).toHaveValue("7");
  await expect(again.getByLabel("When over the cap")).toHaveValue("skip");
  const saved = await callApiOk<Record<string, unknown>>(
    page.request,
    "GET",
    "/api/v1/workspace/delivery-policies",
  );
  expect(saved.email).toEqual({
    allowedHours: { from: "09:00", to: "18:30" },
    frequencyCap: { count: 2, days: 7, action: "skip" },
  });

  await page.setViewportSize({ width: 768, height: 1024 });
  await expectAccessible(page, "Settings → Quiet hours and caps at tablet width");
});

test("an SMS provider's auth token is stored but never shown back", async ({ page }) => {
  const token = `tok-${Date.now()}-secret`;
  const sid = `AC${"0123456789abcdef".repeat(2)}`;
  await signInOwner(page.request);
  await page.goto("/");
  await nav(page, "Providers").click();
  await expect(page.getByRole("heading", { name: "Providers", level: 1 })).toBeVisible();
  const sms = card(page, "SMS");
  await expect(sms).toContainText("In use:");
  await expectAccessible(page, "Settings → Providers");

  await sms.getByRole("button", { name: "Connect your own Twilio account" }).click();
  await sms.getByLabel("Account SID").fill("AC123");
  await sms.getByRole("button", { name: "Save provider" }).click();
  await expect(sms.getByLabel("Account SID")).toHaveAttribute("aria-invalid", "true");
  await expect(sms.getByLabel("Auth token")).toHaveAttribute("aria-invalid", "true");
  await expect(sms.getByLabel("Auth token")).toHaveAttribute("type", "password");

  await sms.getByLabel("Account SID").fill(sid);
  await sms.getByLabel("Auth token").fill(token);
  await sms.getByRole("button", { name: "Save provider" }).click();
  await expect(sms.getByRole("status")).toContainText("Auth token: set");
  await expect(sms).toContainText("Own account");
  await expect(sms).toContainText(sid);
  await photograph(page, "settings-providers");

  await page.reload();
  await expect(card(page, "SMS")).toContainText("Set");
  expect(await page.content()).not.toContain(token);
  await card(page, "SMS").getByRole("button", { name: "Change the SMS provider" }).click();
  await expect(card(page, "SMS").getByLabel("Auth token")).toHaveValue("");
  await expect(card(page, "SMS").getByText("Set. Leave empty to keep the stored one.")).toBeVisible();
  const listed = await page.request.get("/api/v1/workspace/providers");
  expect(await listed.text()).not.toContain(token);
  await card(page, "SMS").getByRole("button", { name: "Cancel" }).click();

  // Back to the default, after a confirmation.
  await card(page, "SMS").getByRole("button", { name: "Go back to the default" }).click();
  await card(page, "SMS").getByRole("button", { name: "Remove and use the default" }).click();
  await expect(card(page, "SMS")).toContainText("back on the installation's provider");
  await expect(card(page, "SMS")).toContainText("Default");
});

test("a viewer sees both pages read-only", async ({ page, browser }) => {
  await signInOwner(page.request);
  const viewerContext = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  try {
    const viewer = await viewerContext.newPage();
    const run = Date.now();
    await inviteAndJoin(page.request, viewer.request, {
      name: "Vera Viewer",
      email: `vera.${run}@acme.example`,
      password: "looking but not touching",
      role: "viewer",
    });
    await viewer.goto("/settings/delivery");
    await expect(
      viewer.getByRole("heading", { name: "Quiet hours and frequency caps", level: 1 }),
    ).toBeVisible();
    await expect(viewer.getByText("only owners, admins and marketers can change them")).toBeVisible();
    await expect(viewer.getByRole("button", { name: /^Save/ })).toHaveCount(0);
    await expect(card(viewer, "SMS").getByLabel("Send from")).toBeDisabled();
    await expectAccessible(viewer, "Settings → Quiet hours and caps as a viewer");

    await viewer.goto("/settings/providers");
    await expect(viewer.getByRole("heading", { name: "Providers", level: 1 })).toBeVisible();
    await expect(viewer.getByText("Only owners and admins can change providers")).toBeVisible();
    await expect(viewer.getByRole("button", { name: /^Connect|^Change|Go back/ })).toHaveCount(0);
    await expectAccessible(viewer, "Settings → Providers as a viewer");
  } finally {
    await viewerContext.close();
  }
});
