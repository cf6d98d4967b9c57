/**
 * Campaigns: with a sender, contacts, a list audience, an email template and a published workflow (entry →
 * send → wait a day → exit) set up through the API, the owner runs the wizard, sees the estimated reach,
 * creates and launches, watches the counts move, pauses and resumes, and finds the emails in the Outbox.
 * A viewer sees a draft campaign but no Launch button, and the API refuses them. Checked with axe-core and
 * photographed.
 */
import { type APIRequestContext, expect, test } from "@playwright/test";
import { setUpCampaignParts } from "./campaign-setup.ts";
import {
  callApi,
  callApiOk,
  expectAccessible,
  inviteAndJoin,
  nav,
  photograph,
  signInOwner,
} from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

/** Everything a campaign needs, with names unique to this run. */
function setUpSpringParts(request: APIRequestContext, tag: string, people: number) {
  return setUpCampaignParts(request, {
    tag,
    people,
    contactPrefix: "member",
    lastName: "Tester",
    audienceName: `Spring list ${tag}`,
    templateName: `Spring email ${tag}`,
    subject: `Spring news ${tag}`,
    workflowName: `Spring journey ${tag}`,
    sendLabel: "Spring email",
    waitADay: true,
  });
}

test("the owner creates a campaign in the wizard, launches, pauses and resumes it", async ({ page }) => {
  test.setTimeout(120_000);
  await signInOwner(page.request);
  const tag = String(Date.now());
  const { audience, workflow, emails } = await setUpSpringParts(page.request, tag, 3);

  await page.goto("/");
  await nav(page, "Campaigns").click();
  await expect(page.getByRole("heading", { name: "Campaigns", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: "New campaign" }).first().click();
  await expect(page.getByRole("heading", { name: "New campaign", level: 1 })).toBeVisible();

  // Step 1: Next without a choice is refused, next to the field.
  await page.getByRole("button", { name: "Next: Workflow" }).click();
  await expect(page.getByText("Choose who the campaign is for.")).toBeVisible();
  const audienceChoice = page.getByRole("radio", { name: new RegExp(audience.name) });
  await expect(page.getByText(/^3 contacts$/).first()).toBeVisible();
  await audienceChoice.check();
  await expectAccessible(page, "the wizard's audience step");
  await page.getByRole("button", { name: "Next: Workflow" }).click();

  // Step 2: the workflow, its latest published version chosen for us.
  await expect(page.getByText(/Only published versions can run/)).toBeVisible();
  await page.getByRole("radio", { name: new RegExp(workflow.name) }).check();
  await expect(page.getByLabel("Published version", { exact: true })).toHaveValue("1");
  await page.getByRole("button", { name: "Next: Schedule" }).click();

  // Step 3: a date in the past is refused; then back to "as soon as I launch it".
  await page.getByRole("radio", { name: /At a date and time/ }).check();
  await page.getByLabel("Date and time", { exact: true }).fill("2020-01-01T09:00");
  await page.getByRole("button", { name: "Next: Policies" }).click();
  await expect(page.getByText("Choose a moment in the future.")).toBeVisible();
  await page.getByRole("radio", { name: /As soon as I launch it/ }).check();
  await page.getByRole("button", { name: "Next: Policies" }).click();

  // Step 4: a bad holdout is refused; back and forth keeps what was typed.
  await page.getByLabel(/Holdout/).fill("80");
  await page.getByRole("button", { name: "Next: Review" }).click();
  await expect(page.getByText("A share from 0 to 50 %.")).toBeVisible();
  await page.getByLabel(/Holdout/).fill("0");
  await page.getByRole("button", { name: "Back" }).click();
  await page.getByRole("button", { name: "Back" }).click();
  await expect(page.getByRole("radio", { name: new RegExp(workflow.name) })).toBeChecked();
  await page.getByRole("button", { name: "Next: Schedule" }).click();
  await page.getByRole("button", { name: "Next: Policies" }).click();
  await expect(page.getByLabel(/Holdout/)).toHaveValue("0");
  await page.getByRole("button", { name: "Next: Review" }).click();

  // Step 5: the estimated reach, a name, create and launch.
  await expect(page.getByTestId("estimated-reach")).toContainText("3");
  const name = `Spring campaign ${tag}`;
  await page.getByLabel("Campaign name").fill(name);
  await expectAccessible(page, "the wizard's review step");
  await photograph(page, "campaign-wizard");
  await page.getByRole("button", { name: "Create and launch" }).click();

  // The campaign's page: live counts as the sends go out.
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  const figure = (label: string) =>
    page
      .locator(".figure")
      .filter({ has: page.getByText(label, { exact: true }) })
      .locator("dd");
  await expect(figure("Enrolled")).toHaveText("3", { timeout: 20_000 });
  await expect(figure("Messages sent")).toHaveText("3", { timeout: 45_000 });
  await expect(page.getByRole("cell", { name: "Spring email" }).first()).toBeVisible();
  await expect(page.getByRole("link", { name: emails[0] })).toBeVisible();
  await expectAccessible(page, "a running campaign");
  await photograph(page, "campaign-detail");

  await page.getByRole("button", { name: "Pause", exact: true }).click();
  await expect(page.getByText("Paused: no member moves until you resume.")).toBeVisible();
  await expect(page.getByRole("heading", { name, level: 1 }).getByText("Paused")).toBeVisible();
  await page.getByRole("button", { name: "Resume", exact: true }).click();
  await expect(page.getByRole("heading", { name, level: 1 }).getByText("Running")).toBeVisible();

  // The list shows it with its progress.
  await nav(page, "Campaigns").click();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name }) });
  await expect(row.getByText("Running")).toBeVisible();
  await expect(row.getByText(/3 enrolled/)).toBeVisible();
  await page.getByLabel("Status").selectOption("running");
  await expect(row).toBeVisible();
  await expectAccessible(page, "the campaigns list");
  await photograph(page, "campaigns");

  // The dev provider delivered the emails to the Outbox.
  await nav(page, "Outbox").click();
  await expect(page.getByRole("button", { name: emails[0] }).first()).toBeVisible();
});

test("a viewer sees a campaign but cannot launch it", async ({ page, browser }) => {
  await signInOwner(page.request);
  const tag = `v${Date.now()}`;
  const { audience, workflow } = await setUpSpringParts(page.request, tag, 1);
  const name = `Viewer check ${tag}`;
  const campaign = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/campaigns", {
    name,
    audienceId: audience.id,
    workflowId: workflow.id,
  });

  // The owner would see Launch on the draft.
  await page.goto(`/campaigns/${campaign.id}`);
  await expect(page.getByRole("button", { name: "Launch", exact: true })).toBeVisible();

  const viewerContext = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  const viewer = await viewerContext.newPage();
  const person = {
    name: "Val Viewer",
    email: `val-${tag}@acme.example`,
    password: "a long viewer password",
    role: "viewer",
  };
  await inviteAndJoin(page.request, viewer.request, person);

  await viewer.goto(`/campaigns/${campaign.id}`);
  await expect(viewer.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(viewer.getByText(/your role is Viewer/)).toBeVisible();
  await expect(viewer.getByRole("button", { name: "Launch", exact: true })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Cancel campaign" })).toHaveCount(0);
  await expectAccessible(viewer, "a campaign as a viewer");

  await viewer.goto("/campaigns");
  await expect(viewer.getByRole("link", { name })).toBeVisible();
  await expect(viewer.getByRole("link", { name: "New campaign" })).toHaveCount(0);

  const refused = await callApi(viewer.request, "POST", `/api/v1/campaigns/${campaign.id}/launch`);
  expect(refused.status()).toBe(403);
  await viewerContext.close();
});

test("the wizard shows who each channel can reach, takes an end date and send limits, and the list filters by status", async ({
  page,
}) => {
  test.setTimeout(120_000);
  await signInOwner(page.request);
  const tag = `r${Date.now()}`;
  // Three members: one can get email and SMS, one only email, one neither (email unsubscribed, no phone).
  const people = [
    { email: `both-${tag}@acme.example`, phone: `+14152${tag.slice(-6)}`, consent: { sms: "subscribed" } },
    { email: `email-${tag}@acme.example` },
    { email: `none-${tag}@acme.example`, consent: { email: "unsubscribed" } },
  ];
  const contactIds: string[] = [];
  for (const person of people) {
    contactIds.push((await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/contacts", person)).id);
  }
  const audience = await callApiOk<{ id: string; name: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `Reach list ${tag}`,
    kind: "list",
  });
  await callApiOk(page.request, "POST", `/api/v1/audiences/${audience.id}/members`, { contactIds });
  const email = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Reach email ${tag}`,
    channel: "email",
    content: { subject: "Hello", html: "<p>Hello</p>" },
  });
  const sms = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Reach SMS ${tag}`,
    channel: "sms",
    content: { body: "Hello" },
  });
  const workflow = await callApiOk<{ id: string; name: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Reach journey ${tag}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "email" } },
        { id: "email", type: "send", channel: "email", templateId: email.id, outlets: { next: "sms" } },
        { id: "sms", type: "send", channel: "sms", templateId: sms.id, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await callApiOk(page.request, "POST", `/api/v1/workflows/${workflow.id}/publish`, {});

  await page.goto("/campaigns/new");
  await page.getByRole("radio", { name: new RegExp(audience.name) }).check();
  await page.getByRole("button", { name: "Next: Workflow" }).click();
  await page.getByRole("radio", { name: new RegExp(workflow.name) }).check();
  await expect(page.getByLabel("Published version", { exact: true })).toHaveValue("1");
  await page.getByRole("button", { name: "Next: Schedule" }).click();

  // An event condition without a property is refused; then back to a one-off send.
  await page.getByRole("radio", { name: /Whoever does something/ }).check();
  await page.getByLabel("Event that enrolls").fill("cart_abandoned");
  await page.getByRole("button", { name: "Add a condition" }).click();
  await page.getByRole("button", { name: "Next: Policies" }).click();
  await expect(page.getByText(/Condition 1: Name the property/)).toBeVisible();
  await page.getByLabel("Condition 1: property").fill("cart_value");
  await page.getByLabel("Kind of value").selectOption("number");
  await page.getByLabel("Test", { exact: true }).selectOption("gt");
  await page.getByLabel("Value", { exact: true }).fill("50");
  await expectAccessible(page, "the wizard's event conditions");
  await photograph(page, "campaign-wizard-conditions");
  await page.setViewportSize({ width: 768, height: 1024 });
  await photograph(page, "campaign-wizard-conditions-tablet");
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole("radio", { name: /The audience’s members at launch/ }).check();

  // An end date: one in the past is refused, one next year taken.
  await page.getByRole("radio", { name: /It stops at a date and time/ }).check();
  await page.getByLabel("End time zone").fill("Europe/Paris");
  await page.getByLabel("End date and time").fill("2020-06-30T18:00");
  await page.getByRole("button", { name: "Next: Policies" }).click();
  await expect(page.getByText("Choose a moment in the future.")).toBeVisible();
  const nextYear = new Date().getFullYear() + 1;
  await page.getByLabel("End date and time").fill(`${nextYear}-06-30T18:00`);
  await page.getByRole("button", { name: "Next: Policies" }).click();

  // Send limits for the workflow's two channels: a bad one is refused next to its field.
  await page.getByLabel("Limit how fast it sends").check();
  await expect(page.getByLabel("Letters per hour")).toHaveCount(0);
  await page.getByLabel("Emails per hour").fill("0");
  await page.getByRole("button", { name: "Next: Review" }).click();
  await expect(page.getByText(/A whole number from 1 to 10,000,000/)).toBeVisible();
  await page.getByLabel("Emails per hour").fill("500");
  await page.getByLabel("Text messages (SMS) per hour").fill("100");
  await page.getByRole("button", { name: "Next: Review" }).click();

  // The review: 3 members; 2 can get email, 1 can get SMS.
  await expect(page.getByTestId("estimated-reach")).toContainText("3");
  await expect(page.getByTestId("reach-by-channel")).toContainText("2 can get email, 1 can get SMS");
  await expect(page.getByText("500 emails, 100 text messages per hour at most")).toBeVisible();
  const name = `Reach campaign ${tag}`;
  await page.getByLabel("Campaign name").fill(name);
  await expectAccessible(page, "the wizard's review with reach by channel");
  await photograph(page, "campaign-wizard-reach");
  await page.getByRole("button", { name: "Create as draft" }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  const id = page.url().split("/").pop() as string;
  const saved = await callApiOk<{ endAt: string; policies: { throughputPerHour?: unknown } }>(
    page.request,
    "GET",
    `/api/v1/campaigns/${id}`,
  );
  expect(saved.endAt).toBe(`${nextYear}-06-30T16:00:00.000Z`);
  expect(saved.policies.throughputPerHour).toEqual({ email: 500, sms: 100 });

  // The list asks the server for one status, or several at once.
  await nav(page, "Campaigns").click();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name }) });
  await page.getByLabel("Status").selectOption("draft");
  await expect(row).toBeVisible();
  await page.getByLabel("Status").selectOption("running");
  await expect(row).toHaveCount(0);
  await expect(page.getByRole("table").getByText("Draft", { exact: true })).toHaveCount(0);
  await page.getByLabel("Status").selectOption("live");
  await expect(row).toHaveCount(0);
  await page.getByLabel("Status").selectOption("");
  await expect(row).toBeVisible();
});
