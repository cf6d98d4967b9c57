/**
 * Audiences: the owner builds a segment with a nested group in the visual rule builder, watches the live
 * count and sample name the right contacts, saves and finds the rules again after a reload; unfinished
 * or invalid conditions show their error next to them; a static list gets a member added and removed.
 * Checked with axe-core and photographed.
 */
import { expect, type Page, test } from "@playwright/test";
import { callApiOk, expectAccessible, inviteAndJoin, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

const stamp = Date.now();
const domain = `d${stamp}.example`;
const other = `o${stamp}.example`;
const attribute = `score_${stamp}`;

const condition = (page: Page, number: string) =>
  page.getByRole("group", { name: `Condition ${number}`, exact: true });

test.beforeEach(async ({ page }) => {
  await signInOwner(page.request);
});

test("the owner builds a segment with a nested group and sees who matches", async ({ page }) => {
  const people = [
    { firstName: "Homer", lastName: "Simpson", email: `homer@${domain}`, city: "Springfield", score: 10 },
    { firstName: "Marge", lastName: "Simpson", email: `marge@${other}`, city: "Springfield", score: 80 },
    { firstName: "Bart", lastName: "Simpson", email: `bart@${other}`, city: "Springfield", score: 20 },
    { firstName: "Lisa", lastName: "Simpson", email: `lisa@${domain}`, city: "Shelbyville", score: 99 },
  ];
  for (const person of people) {
    await callApiOk(page.request, "POST", "/api/v1/contacts", {
      firstName: person.firstName,
      lastName: person.lastName,
      email: person.email,
      address: { city: person.city },
      attributes: { [attribute]: person.score },
    });
  }

  await page.goto("/");
  await nav(page, "Audiences").click();
  await expect(page.getByRole("heading", { name: "Audiences", level: 1 })).toBeVisible();

  const name = `Springfield regulars ${stamp}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Rule-based segment").check();
  await page.getByRole("button", { name: "Make and edit" }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();

  // Condition 1: the city is Springfield.
  const first = condition(page, "1");
  await first.getByLabel("Condition type").selectOption({ label: "Contact detail" });
  await first.getByLabel("Detail").selectOption({ label: "City" });
  await first.getByLabel("Operator").selectOption({ label: "is" });
  await first.getByLabel("Text", { exact: true }).fill("Springfield");

  // Group 2: any of (email contains @domain, the attribute is more than 50).
  await page.getByRole("button", { name: "Add a group to Segment rules" }).click();
  const group = page.getByRole("group", { name: "Group 2", exact: true });
  await expect(group.getByLabel("Group 2 matches")).toHaveValue("any");
  const byEmail = condition(page, "2.1");
  await byEmail.getByLabel("Detail").selectOption({ label: "Email" });
  await byEmail.getByLabel("Operator").selectOption({ label: "contains" });
  await byEmail.getByLabel("Text", { exact: true }).fill(`@${domain}`);
  await page.getByRole("button", { name: "Add a condition to Group 2" }).click();
  const byScore = condition(page, "2.2");
  await byScore.getByLabel("Detail").selectOption({ label: "Custom attribute…" });
  await byScore.getByLabel("Attribute name").fill(attribute);
  await byScore.getByLabel("Kind of value").selectOption({ label: "Number" });
  await byScore.getByLabel("Operator").selectOption({ label: "is more than" });
  await byScore.getByLabel("Number").fill("50");

  const count = page.getByTestId("live-count");
  await expect(count).toHaveText("2", { timeout: 15_000 });
  const sample = page.getByRole("list", { name: "Sample of matching contacts" });
  await expect(sample.getByRole("link", { name: "Homer Simpson" })).toBeVisible();
  await expect(sample.getByRole("link", { name: "Marge Simpson" })).toBeVisible();
  await expect(sample.getByText("Bart Simpson")).toHaveCount(0);
  await expect(sample.getByText("Lisa Simpson")).toHaveCount(0);
  await expectAccessible(page, "the segment editor");
  await page.evaluate(() => window.scrollTo(0, 0));
  await photograph(page, "audience-editor");

  // An invalid number is caught before anything is counted or saved.
  await byScore.getByLabel("Number").fill("fifty");
  await expect(byScore.getByText("Type a number.")).toBeVisible();
  await expect(page.getByText("Fix the highlighted conditions to see who matches.")).toBeVisible();
  await byScore.getByLabel("Number").fill("50");
  await expect(count).toHaveText("2");
  await expect(page.getByText("Unsaved changes")).toBeVisible();

  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(page.getByText("Unsaved changes")).toHaveCount(0);

  await page.reload();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(page.getByText("Unsaved changes")).toHaveCount(0);
  await expect(condition(page, "1").getByLabel("Detail")).toHaveValue("address.city");
  await expect(condition(page, "1").getByLabel("Text", { exact: true })).toHaveValue("Springfield");
  await expect(
    page.getByRole("group", { name: "Group 2", exact: true }).getByLabel("Group 2 matches"),
  ).toHaveValue("any");
  await expect(condition(page, "2.1").getByLabel("Operator")).toHaveValue("contains");
  await expect(condition(page, "2.1").getByLabel("Text", { exact: true })).toHaveValue(`@${domain}`);
  await expect(condition(page, "2.2").getByLabel("Attribute name")).toHaveValue(attribute);
  await expect(condition(page, "2.2").getByLabel("Operator")).toHaveValue("gt");
  await expect(condition(page, "2.2").getByLabel("Number")).toHaveValue("50");
  await expect(count).toHaveText("2", { timeout: 15_000 });

  // The server's verdict on an invalid event name lands next to that condition.
  await page.getByRole("button", { name: "Add a condition to Segment rules" }).click();
  const third = condition(page, "3");
  await third.getByLabel("Condition type").selectOption({ label: "Did something (event)" });
  await third.getByLabel("Event name").fill("placed an order!");
  await expect(third.getByLabel("Event name")).toHaveAttribute("aria-invalid", "true", { timeout: 15_000 });
  await expect(third.getByText(/is not an event type/)).toBeVisible();
  await third.getByRole("button", { name: "Remove Condition 3" }).click();
  await expect(count).toHaveText("2", { timeout: 15_000 });

  // Excluding condition 1: outside Springfield, and (at the domain or scoring over 50): only Lisa.
  await page.getByRole("button", { name: /^Exclude Condition 1:/ }).click();
  await expect(page.getByRole("region", { name: "Exclusion 1" })).toBeVisible();
  await expect(count).toHaveText("1", { timeout: 15_000 });
  await expect(sample.getByRole("link", { name: "Lisa Simpson" })).toBeVisible();
  await page.getByRole("button", { name: "Stop excluding condition 1" }).click();
  await expect(count).toHaveText("2", { timeout: 15_000 });

  await page.setViewportSize({ width: 768, height: 1024 });
  await expect(count).toBeVisible();
  await photograph(page, "audience-editor-tablet");
  await page.setViewportSize({ width: 1280, height: 800 });

  await nav(page, "Audiences").click();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row.getByRole("cell").nth(1)).toHaveText("2");
});

test("a static list gets a member added and removed", async ({ page }) => {
  const email = `patty@${domain}`;
  await callApiOk(page.request, "POST", "/api/v1/contacts", {
    firstName: "Patty",
    lastName: "Bouvier",
    email,
  });

  await page.goto("/audiences");
  const name = `Hand-picked ${stamp}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Static list").check();
  await expectAccessible(page, "Audiences");
  await photograph(page, "audiences");
  await page.getByRole("button", { name: "Make and edit" }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Nobody on this list yet" })).toBeVisible();

  await page.getByLabel("Find contacts by email or name").fill(email);
  await page.getByRole("button", { name: "Add Patty Bouvier to the list" }).click();
  await expect(page.getByText("Patty Bouvier was added to the list.")).toBeVisible();
  const members = page.getByRole("table", { name: `Members of ${name}` });
  await expect(members.getByRole("link", { name: "Patty Bouvier" })).toBeVisible();
  await expectAccessible(page, "a static list");

  await members.getByRole("button", { name: "Remove Patty Bouvier from the list" }).click();
  await expect(page.getByText("Patty Bouvier was removed from the list.")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Nobody on this list yet" })).toBeVisible();

  const renamed = `${name} (renamed)`;
  await page.getByLabel("Name", { exact: true }).fill(renamed);
  await page.getByRole("button", { name: "Rename" }).click();
  await expect(page.getByRole("heading", { name: renamed, level: 1 })).toBeVisible();

  await page.getByRole("button", { name: "Delete…" }).click();
  await expect(page.getByRole("button", { name: "Yes, delete it" })).toBeFocused();
  await page.getByRole("button", { name: "Yes, delete it" }).click();
  await expect(page.getByRole("heading", { name: "Audiences", level: 1 })).toBeVisible();
  await expect(page.getByRole("link", { name: renamed })).toHaveCount(0);
});

test("a viewer sees a segment's rules and who matches, but no control that changes them", async ({
  page,
  browser,
}) => {
  const segment = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `Looked at ${stamp}`,
    definition: {
      kind: "all",
      rules: [
        { kind: "field", field: "email", type: "string", condition: { op: "contains", value: `@${domain}` } },
      ],
    },
  });
  const context = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  const viewer = await context.newPage();
  await inviteAndJoin(page.request, viewer.request, {
    name: "Vic Viewer",
    email: `vic.${stamp}@acme.example`,
    password: "only looking 12345",
    role: "viewer",
  });
  await viewer.goto(`/audiences/${segment.id}`);
  await expect(viewer.getByRole("heading", { name: `Looked at ${stamp}`, level: 1 })).toBeVisible();
  await expect(condition(viewer, "1").getByLabel("Operator")).toBeDisabled();
  await expect(condition(viewer, "1").getByLabel("Text", { exact: true })).toHaveValue(`@${domain}`);
  await expect(viewer.getByTestId("live-count")).toBeVisible({ timeout: 15_000 });
  await expect(viewer.getByRole("button", { name: "Save", exact: true })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: /Remove|Add a|Delete|Freeze/ })).toHaveCount(0);
  await viewer.goto("/audiences");
  await expect(viewer.getByRole("heading", { name: "New audience" })).toHaveCount(0);
  await context.close();
});

test("every kind of condition shows in the builder, valid and accessible", async ({ page }) => {
  const list = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `VIPs ${stamp}`,
    kind: "list",
  });
  const now = Date.now();
  const segment = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `Everything ${stamp}`,
    definition: {
      kind: "all",
      rules: [
        {
          kind: "field",
          field: "firstName",
          type: "string",
          condition: { op: "starts_with", value: "Ho", caseInsensitive: true },
        },
        {
          kind: "field",
          field: "email",
          type: "string",
          condition: { op: "in", values: ["a@x.example", "b@x.example"] },
        },
        {
          kind: "field",
          field: `attributes.${attribute}`,
          type: "number",
          condition: { op: "between", from: 1, to: 100 },
        },
        { kind: "field", field: "attributes.vip", type: "boolean", condition: { op: "eq", value: true } },
        { kind: "field", field: "createdAt", type: "date", condition: { op: "within_last_days", days: 30 } },
        {
          kind: "field",
          field: "updatedAt",
          type: "date",
          condition: {
            op: "between",
            from: new Date(now - 86_400_000).toISOString(),
            to: new Date(now + 86_400_000).toISOString(),
          },
        },
        {
          kind: "not",
          rule: {
            kind: "event",
            type: "order.placed",
            count: { op: "at_least", value: 2 },
            within: { days: 90 },
            where: [{ property: "total", type: "number", condition: { op: "gte", value: 10 } }],
          },
        },
        {
          kind: "any",
          rules: [
            { kind: "response", response: "clicked", channel: "email", within: { days: 30 } },
            { kind: "consent", channel: "sms", status: "subscribed" },
            { kind: "reachable", channel: "mail" },
            { kind: "list", listId: list.id },
            { kind: "audience", audienceId: list.id },
          ],
        },
        { kind: "bucket", salt: "spring", percent: 50 },
      ],
    },
  });
  await page.goto(`/audiences/${segment.id}`);
  await expect(page.getByRole("heading", { name: `Everything ${stamp}`, level: 1 })).toBeVisible();
  await expect(page.getByText(/contacts? match/)).toBeVisible({ timeout: 15_000 });
  await expect(condition(page, "1").getByLabel("Ignore upper and lower case")).toBeChecked();
  await expect(condition(page, "2").getByLabel("Texts")).toHaveValue("a@x.example\nb@x.example");
  await expect(condition(page, "3").getByLabel("From")).toHaveValue("1");
  await expect(condition(page, "4").getByLabel("Operator")).toHaveValue("true");
  await expect(condition(page, "5").getByLabel("Days")).toHaveValue("30");
  await expect(page.getByRole("region", { name: "Exclusion 7" })).toBeVisible();
  await expect(condition(page, "7").getByLabel("Event name")).toHaveValue("order.placed");
  await expect(condition(page, "7").getByLabel("Detail name")).toHaveValue("total");
  await expect(condition(page, "8.1").getByLabel("Response")).toHaveValue("clicked");
  await expect(condition(page, "8.4").getByLabel("List")).toHaveValue(list.id);
  await expect(condition(page, "8.5").getByLabel("Audience")).toHaveValue(list.id);
  await expect(condition(page, "9").getByLabel("Percent of contacts")).toHaveValue("50");
  await expect(page.getByText("Fix the highlighted conditions to see who matches.")).toHaveCount(0);
  await expectAccessible(page, "a segment using every kind of condition");
  await photograph(page, "audience-editor-every-condition");
});
