/**
 * Templates: the owner makes an email template, sees a Liquid error next to its field, saves, previews it
 * for a contact, and sends a test that lands in the Outbox; a text template counts its segments as it is
 * typed. Checked with axe-core and photographed.
 */
import { expect, test } from "@playwright/test";
import { callApiOk, expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

test("the owner writes, previews and test-sends an email template", async ({ page }) => {
  await signInOwner(page.request);
  await callApiOk(page.request, "PUT", "/api/v1/workspace/sender", {
    fromName: "Acme News",
    fromAddress: "news@acme.example",
    postalAddress: "1 High St, Springfield",
    smsFrom: "+12025550100",
  });
  await callApiOk(page.request, "POST", "/api/v1/contacts", {
    email: "hedy.lamarr@acme.example",
    firstName: "Hedy",
    lastName: "Lamarr",
  });

  await page.goto("/");
  await nav(page, "Templates").click();
  await expect(page.getByRole("heading", { name: "Templates", level: 1 })).toBeVisible();
  await expectAccessible(page, "Templates");

  const name = `Spring welcome ${Date.now()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Make and edit" }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();

  await page.getByLabel("Subject").fill("Welcome, {{ firstName");
  await page
    .getByLabel("HTML")
    .fill("<h1>Hello {{ firstName | default: 'there' }}</h1><p>Spring is here.</p>");
  await page.getByRole("button", { name: "Save as a new version" }).click();
  await expect(page.getByLabel("Subject")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Subject").fill("Welcome, {{ firstName }}");
  await page.getByRole("button", { name: "Save as a new version" }).click();
  await expect(page.getByText(/Version 2/)).toBeVisible();

  await page.getByLabel("For the contact").selectOption({ label: "Hedy Lamarr" });
  const preview = page.frameLocator('iframe[title="The saved email, as its recipient would see it"]');
  await expect(preview.getByRole("heading", { name: "Hello Hedy" })).toBeVisible({ timeout: 15_000 });
  await photograph(page, "template-editor");

  await page.getByLabel("Email address").fill("qa@acme.example");
  await page.getByRole("button", { name: "Send the saved version" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Sent to qa@acme.example" })).toBeVisible();
  await nav(page, "Outbox").click();
  await expect(page.getByRole("button", { name: "qa@acme.example" }).first()).toBeVisible();
});

test("a text template counts its characters and segments as it is typed", async ({ page }) => {
  await signInOwner(page.request);
  const text = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Nudge ${Date.now()}`,
    channel: "sms",
  });
  await page.goto(`/templates/${text.id}`);
  await page.getByLabel("Text").fill("Hi {{ firstName }}, your trial ends soon");
  await expect(page.getByText(/characters, 1 segment \(GSM-7\)/)).toBeVisible();
  await page.getByLabel("Text").fill(`Hi {{ firstName }} ${"é€".repeat(50)} 🎉`);
  await expect(page.getByText(/characters, 2 segments \(UCS-2/)).toBeVisible();
  await expectAccessible(page, "A text template");
});

test("a direct-mail template shows the printed piece as a PDF for the chosen contact", async ({ page }) => {
  await signInOwner(page.request);
  const stamp = Date.now();
  await callApiOk(page.request, "POST", "/api/v1/contacts", {
    email: `mary.jackson.${stamp}@acme.example`,
    firstName: "Mary",
    lastName: `Jackson ${stamp}`,
    address: { line1: "1 Langley Blvd", city: "Hampton", region: "VA", postalCode: "23681", country: "US" },
  });
  const letter = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Spring letter ${stamp}`,
    channel: "mail",
    content: { layout: "letter", body: "Dear {{ firstName | default: 'friend' }},\nspring is here." },
  });
  await page.goto(`/templates/${letter.id}`);
  await expect(page.getByRole("heading", { name: `Spring letter ${stamp}`, level: 1 })).toBeVisible();
  await page.getByLabel("For the contact").selectOption({ label: `Mary Jackson ${stamp}` });
  await expect(page.getByText("Dear Mary,")).toBeVisible();

  const frame = page.locator('iframe[title="The saved letter or postcard as a printed PDF"]');
  await expect(frame).toBeVisible();
  const src = await frame.getAttribute("src");
  expect(src).toContain(`/api/v1/templates/${letter.id}/preview.pdf`);
  expect(src).toContain("contactId=");
  const pdf = await page.request.get(src!);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()["content-type"]).toBe("application/pdf");
  expect((await pdf.body()).subarray(0, 5).toString("latin1")).toBe("%PDF-");
  await expect(page.getByRole("link", { name: "Open the PDF in a new tab" })).toHaveAttribute("href", src!);
  await expectAccessible(page, "A direct-mail template with its PDF");
  await photograph(page, "template-mail-pdf");
});
