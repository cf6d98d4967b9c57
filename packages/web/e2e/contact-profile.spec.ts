/**
 * The contact profile: a contact with a custom event, a list membership and attributes shows its
 * audience and the event in its timeline; the owner edits an attribute, changes consent (which appears in
 * the timeline and the consent history) and downloads the personal data; a viewer sees the same profile
 * without a control that changes anything. Checked with axe-core at desktop and tablet width, and
 * photographed.
 */
import { expect, test } from "@playwright/test";
import { callApiOk, expectAccessible, inviteAndJoin, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

const stamp = Date.now();

test("the owner reads and changes a contact's profile; a viewer only reads it", async ({ page, browser }) => {
  await signInOwner(page.request);
  const contact = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/contacts", {
    email: `katherine.${stamp}@acme.example`,
    firstName: "Katherine",
    lastName: `Johnson ${stamp}`,
    attributes: { plan: "basic", visits: 3 },
  });
  const list = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `Launch crew ${stamp}`,
    kind: "list",
  });
  await callApiOk(page.request, "POST", `/api/v1/audiences/${list.id}/members`, { contactIds: [contact.id] });
  await callApiOk(page.request, "POST", "/api/v1/events", {
    events: [{ contactId: contact.id, type: "trajectory_computed", properties: { mission: "Friendship 7" } }],
  });

  await page.goto(`/contacts/${contact.id}`);
  await expect(page.getByRole("heading", { name: `Katherine Johnson ${stamp}`, level: 1 })).toBeVisible();
  const audiences = page.getByRole("region", { name: "Audiences" });
  await expect(audiences.getByRole("link", { name: `Launch crew ${stamp}` })).toHaveAttribute(
    "href",
    `/audiences/${list.id}`,
  );
  const timeline = page.getByRole("region", { name: "Timeline" });
  await expect(timeline.getByText("trajectory_computed")).toBeVisible();
  await expect(timeline.getByText("mission: Friendship 7")).toBeVisible();
  await expectAccessible(page, "The contact profile");

  // Attributes: a bad name is refused next to its field before anything is sent; a good edit is saved.
  const attributes = page.getByRole("region", { name: "Attributes" });
  await attributes.getByRole("button", { name: "Edit attributes" }).click();
  await attributes.getByRole("button", { name: "Add an attribute" }).click();
  await attributes.getByLabel("Name").last().fill("favourite colour");
  await attributes.getByRole("button", { name: "Save attributes" }).click();
  await expect(attributes.getByLabel("Name").last()).toHaveAttribute("aria-invalid", "true");
  await attributes.getByLabel("Name").last().fill("favourite_colour");
  await attributes.getByLabel("Value of favourite_colour").fill("teal");
  await attributes.getByLabel("Value of plan").fill("pro");
  await expectAccessible(page, "Editing attributes");
  await attributes.getByRole("button", { name: "Save attributes" }).click();
  await expect(attributes.getByText("teal")).toBeVisible();
  await expect(attributes.getByText("pro", { exact: true })).toBeVisible();
  const saved = await callApiOk<{ attributes: Record<string, unknown> }>(
    page.request,
    "GET",
    `/api/v1/contacts/${contact.id}`,
  );
  expect(saved.attributes).toEqual({ plan: "pro", visits: 3, favourite_colour: "teal" });

  // Consent: changed per channel, then seen in the timeline and the history.
  const consent = page.getByRole("region", { name: "Consent" });
  await consent.getByRole("button", { name: "Change consent" }).click();
  await consent.getByLabel("SMS").selectOption("subscribed");
  await consent.getByRole("button", { name: "Save consent" }).click();
  await expect(consent.getByRole("button", { name: "Change consent" })).toBeVisible();
  await expect(timeline.getByText("SMS: Never asked → Subscribed")).toBeVisible();
  await consent.getByRole("button", { name: "Show the history of consent" }).click();
  await expect(consent.getByRole("table").getByText(/Never asked → Subscribed/)).toBeVisible();

  // The personal data downloads as JSON.
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download personal data" }).click();
  expect((await download).suggestedFilename()).toBe(`contact-${contact.id}.json`);

  await photograph(page, "contact-profile");
  await page.setViewportSize({ width: 768, height: 1024 });
  await expect(page.getByRole("heading", { name: `Katherine Johnson ${stamp}`, level: 1 })).toBeVisible();
  await expectAccessible(page, "The contact profile at tablet width");
  await page.setViewportSize({ width: 1280, height: 800 });

  // Viewer: the same profile, no control that changes it.
  const context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  const viewer = await context.newPage();
  await inviteAndJoin(page.request, viewer.request, {
    name: "Vera Viewer",
    email: `vera.${stamp}@acme.example`,
    password: "only looking 12345",
    role: "viewer",
  });
  await viewer.goto(`/contacts/${contact.id}`);
  await expect(viewer.getByRole("heading", { name: `Katherine Johnson ${stamp}`, level: 1 })).toBeVisible();
  await expect(viewer.getByText("teal")).toBeVisible();
  await expect(
    viewer.getByRole("region", { name: "Timeline" }).getByText("trajectory_computed"),
  ).toBeVisible();
  await expect(viewer.getByRole("link", { name: `Launch crew ${stamp}` })).toBeVisible();
  await expect(
    viewer.getByRole("button", { name: /Edit attributes|Change consent|Erase|Restore/ }),
  ).toHaveCount(0);
  await expect(viewer.getByRole("link", { name: "Download personal data" })).toHaveCount(0);
  await expectAccessible(viewer, "The contact profile as a viewer");
  await context.close();
});

test("the timeline pages with Load more, and an erasure is confirmed first", async ({ page }) => {
  await signInOwner(page.request);
  const contact = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/contacts", {
    email: `dorothy.${stamp}@acme.example`,
    firstName: "Dorothy",
    lastName: `Vaughan ${stamp}`,
  });
  const start = Date.now() - 60 * 60_000;
  await callApiOk(page.request, "POST", "/api/v1/events", {
    events: Array.from({ length: 30 }, (_, i) => ({
      contactId: contact.id,
      type: `step_${String(i).padStart(2, "0")}`,
      occurredAt: new Date(start + i * 1000).toISOString(),
    })),
  });
  await page.goto(`/contacts/${contact.id}`);
  const timeline = page.getByRole("region", { name: "Timeline" });
  await expect(timeline.getByText("step_29")).toBeVisible();
  await expect(timeline.getByRole("listitem")).toHaveCount(25);
  await timeline.getByRole("button", { name: "Load more" }).click();
  await expect(timeline.getByText("step_00")).toBeVisible();
  await expect(timeline.getByRole("listitem")).toHaveCount(30);
  await expect(timeline.getByRole("button", { name: "Load more" })).toHaveCount(0);

  const erase = page.getByRole("region", { name: "Erase this contact" });
  await erase.getByRole("button", { name: "Erase this contact…" }).click();
  await erase.getByRole("button", { name: "Erase for good" }).click();
  await expect(erase.getByLabel("Type ERASE to confirm")).toHaveAttribute("aria-invalid", "true");
  await erase.getByLabel("Type ERASE to confirm").fill("ERASE");
  await erase.getByRole("button", { name: "Erase for good" }).click();
  await expect(page).toHaveURL(/\/contacts$/);
  const gone = await page.request.get(`/api/v1/contacts/${contact.id}`);
  expect(gone.status()).toBe(404);
});
