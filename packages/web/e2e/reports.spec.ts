/**
 * Reports: a campaign launched through the API shows in the reports list, its report shows the funnel
 * with the sent count, the CSV export downloads, and the member trace found by email shows the send
 * step. Checked with axe-core and photographed.
 */
import { readFileSync } from "node:fs";
import { type APIRequestContext, expect, test } from "@playwright/test";
import { setUpCampaignParts } from "./campaign-setup.ts";
import { callApiOk, expectAccessible, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

/** A launched one-email campaign to `people` new contacts, with names unique to this run. */
async function launchedCampaign(request: APIRequestContext, tag: string, people: number) {
  const { audience, workflow, emails } = await setUpCampaignParts(request, {
    tag,
    people,
    contactPrefix: "reader",
    audienceName: `Readers ${tag}`,
    templateName: `Digest ${tag}`,
    subject: `Your digest ${tag}`,
    workflowName: `Digest journey ${tag}`,
    sendLabel: "Digest email",
  });
  const name = `Digest ${tag}`;
  const campaign = await callApiOk<{ id: string }>(request, "POST", "/api/v1/campaigns", {
    name,
    audienceId: audience.id,
    workflowId: workflow.id,
  });
  await callApiOk(request, "POST", `/api/v1/campaigns/${campaign.id}/launch`);
  return { id: campaign.id, name, emails };
}

test("a launched campaign's report, its CSV export and a member's trace", async ({ page }) => {
  test.setTimeout(120_000);
  await signInOwner(page.request);
  const tag = String(Date.now());
  const campaign = await launchedCampaign(page.request, tag, 2);

  await page.goto("/");
  await nav(page, "Reports").click();
  await expect(page.getByRole("heading", { name: "Reports", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: campaign.name }).click();
  await expect(page.getByRole("heading", { name: campaign.name, level: 1 })).toBeVisible();

  // The funnel's table says how many were sent, once the worker has sent them.
  const funnel = page.getByRole("table", { name: "What came of the messages sent" });
  const sentRow = funnel.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "Sent" }) });
  await expect(async () => {
    await page.reload();
    await expect(sentRow.getByRole("cell").first()).toHaveText("2", { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  // Every stage counts messages; the dev inbox sends no delivery receipts, so there is no Delivered
  // stage to read 0 above the opens, and the report says why. Rates say what they are of.
  await expect(funnel.getByRole("rowheader")).toHaveText(["Sent", "Opened", "Clicked", "Converted"]);
  const openedRow = funnel.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "Opened" }) });
  await expect(openedRow.getByRole("cell").nth(1)).toHaveText("0.0% of emails sent");
  await expect(page.getByText("Delivered appears once a provider reports deliveries")).toBeVisible();
  await expect(page.getByRole("figure").first()).toBeVisible();
  await expectAccessible(page, "a campaign report");
  await photograph(page, "report");

  // CSV export.
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Export as CSV" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/-report\.csv$/);
  const csv = readFileSync(await file.path(), "utf8");
  expect(csv.split("\n")[0]).toContain("sent");

  // The member trace, found by email.
  await page.getByLabel("Find a member").fill(campaign.emails[0] as string);
  await page.getByRole("button", { name: "Find" }).click();
  await expect(page.getByRole("heading", { name: /Reader0 in/, level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Their path, step by step" })).toBeVisible();
  await expect(page.locator(".trace-step").filter({ hasText: "Digest email" }).first()).toBeVisible();
  const messages = page.getByRole("table", { name: /messages and what became of them/ });
  await expect(messages.getByRole("rowheader", { name: "Digest email" })).toBeVisible();
  await expect(messages.getByRole("cell", { name: "Sent", exact: true })).toBeVisible();
  await expectAccessible(page, "a member trace");
  await photograph(page, "member-trace");
});

test("an A/B test still running and a holdout read plainly", async ({ page }) => {
  test.setTimeout(90_000);
  await signInOwner(page.request);
  const tag = `ab${Date.now()}`;
  await callApiOk(page.request, "PUT", "/api/v1/workspace/sender", {
    fromName: "Acme News",
    fromAddress: "news@acme.example",
    postalAddress: "1 High St, Springfield",
  });
  const contactIds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const contact = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/contacts", {
      email: `split${i}-${tag}@acme.example`,
    });
    contactIds.push(contact.id);
  }
  const audience = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `Split list ${tag}`,
    kind: "list",
  });
  await callApiOk(page.request, "POST", `/api/v1/audiences/${audience.id}/members`, { contactIds });
  const template = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name: `Split email ${tag}`,
    channel: "email",
    content: { subject: "Which subject wins?", html: "<p>Hello</p>" },
  });
  const send = (id: string) => ({
    id,
    type: "send",
    channel: "email",
    templateId: template.id,
    outlets: { next: "done" },
  });
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Split journey ${tag}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "test" } },
        {
          id: "test",
          type: "split",
          branches: [
            { key: "a", weight: 50 },
            { key: "b", weight: 50 },
          ],
          experiment: { testPercent: 100, window: { days: 1 }, metric: "open", fallback: "best" },
          outlets: { a: "sendA", b: "sendB" },
        },
        send("sendA"),
        send("sendB"),
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await callApiOk(page.request, "POST", `/api/v1/workflows/${workflow.id}/publish`, {});
  const campaign = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/campaigns", {
    name: `Split ${tag}`,
    audienceId: audience.id,
    workflowId: workflow.id,
    holdoutPercent: 25,
    goal: { eventType: "purchase", windowDays: 7 },
  });
  await callApiOk(page.request, "POST", `/api/v1/campaigns/${campaign.id}/launch`);

  await page.goto(`/reports/${campaign.id}`);
  await expect(page.getByRole("heading", { name: "Lift against the holdout" })).toBeVisible();
  await expect(page.getByText(/Not significant yet/)).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole("heading", { name: "A/B tests and splits" })).toBeVisible({ timeout: 2_000 });
    await expect(page.getByText(/Still testing until/)).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 45_000 });
  await expectAccessible(page, "a report with an experiment and a holdout");
});
