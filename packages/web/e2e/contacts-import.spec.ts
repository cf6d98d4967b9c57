/**
 * Contacts import with its column mapping: a file whose headers need remapping is previewed with the
 * detected mapping, one column is changed, the import runs to the end, the malformed row is reported with
 * its line number and downloaded, the contact has the mapped fields, and the CSV export contains it.
 * Refusals first: a file that is not CSV, and a file with no identifier column.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

test("a marketer imports a CSV with remapped columns and exports it again", async ({ page }) => {
  const run = Date.now();
  const email = `ana.${run}@import.example`;
  await signInOwner(page.request);
  await page.goto("/");
  await nav(page, "Contacts").click();
  await expect(page.getByRole("heading", { name: "Contacts", level: 1 })).toBeVisible();
  const file = page.getByLabel("CSV file", { exact: true });

  // Not a CSV file.
  await file.setInputFiles({ name: "photo.png", mimeType: "image/png", buffer: Buffer.from("\x89PNG") });
  await expect(page.getByText("Choose a .csv file")).toBeVisible();
  await expect(file).toHaveAttribute("aria-invalid", "true");

  // No column to match contacts on.
  await file.setInputFiles({
    name: `names-${run}.csv`,
    mimeType: "text/csv",
    buffer: Buffer.from("Nickname,Town\nAna,Lisbon\n"),
  });
  await page.getByRole("button", { name: "Import contacts" }).click();
  await expect(page.getByText("Choose a column for Email, Phone or Customer id")).toBeVisible();

  // Columns named the way another tool names them; line 3 is malformed.
  await file.setInputFiles({
    name: `customers-${run}.csv`,
    mimeType: "text/csv",
    buffer: Buffer.from(
      `E-mail;Given name;Family;Town;Shoe size\n${email};Ana;Lima;Lisbon;38\nnot-an-email-${run};Bad;Row;Nowhere;40\n`,
    ),
  });
  const preview = page.getByRole("table", { name: /Preview: the first 2 rows/ });
  await expect(preview).toBeVisible();
  await expect(page.getByText("5 columns separated by semicolons")).toBeVisible();
  await expect(preview.getByRole("cell", { name: email })).toBeVisible();
  const column = (header: string) => page.getByLabel(`Column “${header}” goes to`);
  await expect(column("E-mail")).toHaveValue("email");
  await expect(column("Given name")).toHaveValue("firstName");
  await expect(column("Town")).toHaveValue("address.city");
  await expect(column("Shoe size")).toHaveValue("attribute");
  await expect(page.getByLabel("Attribute name for “Shoe size”")).toHaveValue("shoe_size");
  await expect(column("Family")).toHaveValue("attribute");

  // "Family" is the last name: the user says so.
  await column("Family").selectOption("lastName");
  await expect(page.getByText("Changed by you")).toBeVisible();
  await expectAccessible(page, "the import preview");

  await page.getByRole("button", { name: "Import contacts" }).click();
  await expect(page.getByRole("progressbar", { name: "Import progress" })).toBeVisible();
  await expect(page.getByText("Done: 1 added, 0 updated, 1 rejected.")).toBeVisible({ timeout: 30_000 });
  const rejected = page.getByRole("region", { name: "1 rejected row" });
  await expect(rejected.getByRole("rowheader", { name: "Line 3" })).toBeVisible();
  await expect(rejected.getByRole("row", { name: /Line 3/ })).toContainText(/email/i);
  await expectAccessible(page, "a finished import");
  await page.getByText("Done: 1 added").scrollIntoViewIfNeeded();
  await photograph(page, "contacts-import");

  const [rejections] = await Promise.all([
    page.waitForEvent("download"),
    rejected.getByRole("link", { name: "Download rejected rows" }).click(),
  ]);
  const rejectedCsv = readFileSync((await rejections.path())!, "utf8");
  expect(rejectedCsv).toContain(`not-an-email-${run}`);
  expect(rejectedCsv.split(/\r?\n/)[0]).toContain("line");

  // The recent imports list has it.
  await page.locator("summary", { hasText: "Recent imports" }).click();
  await expect(page.getByRole("table", { name: "Recent imports" })).toContainText(`customers-${run}.csv`);

  // The contact, with the mapped fields.
  await page.getByLabel("Search contacts").fill(email);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByRole("link", { name: "Ana Lima" })).toBeVisible();

  // The export of what the search matches.
  const [exported] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: /^Export CSV/ }).click(),
  ]);
  expect(exported.suggestedFilename()).toMatch(/^contacts-.*\.csv$/);
  const csv = readFileSync((await exported.path())!, "utf8");
  const lines = csv.trim().split(/\r\n/);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toContain("email");
  expect(lines[1]).toContain(email);
  expect(lines[1]).toContain("Lisbon");
  expect(lines[1]).toContain("Lima");

  await page.getByRole("link", { name: "Ana Lima" }).click();
  await expect(page.getByRole("heading", { name: "Ana Lima", level: 1 })).toBeVisible();
  await expect(page.getByRole("region", { name: "Details" })).toContainText("Lisbon");
  await expect(page.getByRole("region", { name: "Attributes" })).toContainText("shoe_size");
  await expect(page.getByRole("region", { name: "Attributes" })).not.toContainText("family");
});

test("the import works at tablet width", async ({ page }) => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await signInOwner(page.request);
  await page.goto("/contacts");
  await page.getByLabel("CSV file", { exact: true }).setInputFiles({
    name: "tablet.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("Email,First Name,Last Name,Plan\nt@tablet.example,Tab,Let,pro\n"),
  });
  await expect(page.getByRole("table", { name: /Preview/ })).toBeVisible();
  await expect(page.getByRole("button", { name: "Import contacts" })).toBeVisible();
  await expectAccessible(page, "the import preview at tablet width");
});
