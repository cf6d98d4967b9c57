/**
 * Workflows: the owner builds a workflow on the canvas (a send, a wait for a click with a timeout, a
 * branch per outcome), connects the steps, saves and publishes version 1; an invalid draft shows its
 * problem on the step concerned; the simulator follows a contact who clicks down the "responded" branch;
 * a viewer sees the canvas without controls. Checked with axe-core and photographed.
 */
import { expect, type Page, test } from "@playwright/test";
import { callApiOk, expectAccessible, inviteAndJoin, nav, photograph, signInOwner } from "./helpers.ts";

test.use({ baseURL: process.env.E2E_BASE_URL });

async function emailTemplate(page: Page, name: string) {
  return callApiOk<{ id: string }>(page.request, "POST", "/api/v1/templates", {
    name,
    channel: "email",
    content: { subject: `${name}, {{ firstName | default: 'friend' }}`, html: `<p>${name}</p>` },
  });
}

const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);

test("the owner builds a workflow on the canvas, saves and publishes it", async ({ page }) => {
  await signInOwner(page.request);
  const stamp = Date.now();
  await emailTemplate(page, `Welcome ${stamp}`);
  await emailTemplate(page, `Thanks for clicking ${stamp}`);

  await page.goto("/");
  await nav(page, "Workflows").click();
  await expect(page.getByRole("heading", { name: "Workflows", level: 1 })).toBeVisible();
  await expectAccessible(page, "Workflows");

  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page.getByLabel("Workflow name", { exact: true })).toHaveAttribute("aria-invalid", "true");
  const name = `Welcome series ${stamp}`;
  await page.getByLabel("Workflow name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "New workflow" }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(node(page, "entry")).toBeVisible();
  await expect(node(page, "done")).toBeVisible();

  // A send after the start: added from the palette, then the start's outlet moved to it.
  await page.getByRole("button", { name: "Send a message" }).click();
  await expect(node(page, "send_1")).toBeVisible();
  await page.getByLabel("Template", { exact: true }).selectOption({ label: `Welcome ${stamp}` });
  await node(page, "entry").click();
  await expect(page.getByLabel("Selected step", { exact: true })).toHaveValue("entry");
  await page.getByLabel("Then go to", { exact: true }).selectOption("send_1");
  await expect(page.locator('.react-flow__edge[data-id="entry:next"]')).toHaveCount(1);

  // Wait for a click after the send, for at most 2 days: added after the selected send.
  await page.getByLabel("Selected step", { exact: true }).selectOption("send_1");
  await page.getByRole("button", { name: "Wait for a response" }).click();
  await expect(node(page, "wait_for_1")).toBeVisible();
  await expect(node(page, "wait_for_1")).toContainText("responded");
  await expect(node(page, "wait_for_1")).toContainText("no response");
  await expect(page.getByLabel("The member", { exact: true })).toHaveValue("clicked");
  await page.getByLabel("Amount", { exact: true }).fill("2");
  await expect(node(page, "wait_for_1")).toContainText("at most 2 days");

  // "responded" → another send → exit; "no response" → exit.
  await page.getByRole("button", { name: "Send a message" }).click();
  await expect(node(page, "send_2")).toBeVisible();
  await page.getByLabel("Template", { exact: true }).selectOption({ label: `Thanks for clicking ${stamp}` });
  await page.getByLabel("Then go to", { exact: true }).selectOption("done");
  await page.getByLabel("Selected step", { exact: true }).selectOption("wait_for_1");
  await expect(page.getByLabel("When “responded”, go to", { exact: true })).toHaveValue("send_2");
  await page.getByLabel("When “no response”, go to", { exact: true }).selectOption("done");
  await expect(page.locator(".react-flow__edge")).toHaveCount(5);

  await page.getByRole("button", { name: "Tidy up the layout" }).click();
  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.getByText("Draft saved.")).toBeVisible();
  await page.getByRole("button", { name: "Check for problems" }).click();
  await expect(page.getByText("No problems found: the workflow is ready to publish.")).toBeVisible();
  await expectAccessible(page, "The workflow editor");
  await photograph(page, "workflow-editor");

  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Published as version 1.")).toBeVisible();
  await page.getByRole("tab", { name: "Versions" }).click();
  await page.getByRole("button", { name: "View version 1" }).click();
  await expect(page.getByText("Viewing version 1 (read-only).")).toBeVisible();
  await node(page, "wait_for_1").click();
  await expect(page.getByLabel("The member", { exact: true })).toBeDisabled();
  await expect(page.getByLabel("Amount", { exact: true })).toHaveValue("2");
  await expect(page.getByRole("button", { name: "Send a message" })).toHaveCount(0);

  await nav(page, "Workflows").click();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Published");
  await expect(row).toContainText("1");
  await photograph(page, "workflows");
});

test("an invalid draft shows its problem on the step concerned", async ({ page }) => {
  await signInOwner(page.request);
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Unfinished ${Date.now()}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "mail" } },
        { id: "mail", type: "send", channel: "email", label: "First email", outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await page.goto(`/workflows/${workflow.id}`);
  await expect(node(page, "mail")).toBeVisible();

  await page.getByRole("button", { name: "Check for problems" }).click();
  await expect(node(page, "mail")).toContainText(/template is required/i);
  await expect(node(page, "mail").locator(".wf-node")).toHaveClass(/has-problems/);
  await expect(node(page, "done").locator(".wf-node")).not.toHaveClass(/has-problems/);

  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText(/Not published: 1 problem/)).toBeVisible();
  await page.getByRole("button", { name: /First email \(mail\)/ }).click();
  await expect(node(page, "mail")).toBeFocused();
  await expect(page.getByLabel("Template", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "A workflow with a problem");
});

test("steps connect by dragging from an outlet and go with the Delete key", async ({ page }) => {
  await signInOwner(page.request);
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Drag and drop ${Date.now()}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: {} },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await page.goto(`/workflows/${workflow.id}`);
  await expect(node(page, "done")).toBeVisible();
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);

  const from = await node(page, "entry").locator('.react-flow__handle[data-handleid="next"]').boundingBox();
  const to = await node(page, "done").boundingBox();
  if (!from || !to) throw new Error("the steps are not on screen");
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x + to.width / 2, to.y + 10, { steps: 10 });
  await page.mouse.move(to.x + to.width / 2, to.y + 4, { steps: 2 });
  await page.mouse.up();
  await expect(page.locator('.react-flow__edge[data-id="entry:next"]')).toHaveCount(1);
  await expect(page.getByText("Unsaved changes", { exact: true })).toBeVisible();

  await page.getByRole("button", { name: "Wait", exact: true }).click();
  await expect(node(page, "wait_1")).toBeVisible();
  await node(page, "wait_1").focus();
  await page.keyboard.press("Delete");
  await expect(node(page, "wait_1")).toHaveCount(0);
  await expect(node(page, "entry")).toHaveCount(1);
});

test("the simulator follows a contact who clicks down the responded branch", async ({ page }) => {
  await signInOwner(page.request);
  const stamp = Date.now();
  const welcome = await emailTemplate(page, `Hello ${stamp}`);
  const thanks = await emailTemplate(page, `Thanks ${stamp}`);
  const email = `grace.${stamp}@acme.example`;
  await callApiOk(page.request, "POST", "/api/v1/contacts", {
    email,
    firstName: "Grace",
    lastName: "Hopper",
  });
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Click follow-up ${stamp}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "hello" } },
        { id: "hello", type: "send", channel: "email", templateId: welcome.id, outlets: { next: "click" } },
        {
          id: "click",
          type: "wait_for",
          for: { kind: "response", response: "clicked" },
          timeout: { days: 3 },
          outlets: { matched: "thanks", timed_out: "no_click" },
        },
        { id: "thanks", type: "send", channel: "email", templateId: thanks.id, outlets: { next: "happy" } },
        { id: "happy", type: "exit", label: "Clicked", outlets: {} },
        { id: "no_click", type: "exit", label: "Did not click", outlets: {} },
      ],
    },
  });
  await callApiOk(page.request, "POST", `/api/v1/workflows/${workflow.id}/publish`);

  await page.goto(`/workflows/${workflow.id}`);
  await page.getByRole("tab", { name: "Simulate" }).click();
  await expect(page.getByLabel("Version", { exact: true })).toHaveValue("1");
  await page.getByLabel("Find a contact", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("button", { name: `Grace Hopper (${email})` }).click();
  await expect(page.getByText("Simulating")).toContainText("Grace Hopper");
  await expect(page.getByLabel("Event 1", { exact: true })).toHaveValue("clicked");
  await page.getByLabel("Event 1 after", { exact: true }).fill("2");

  await page.getByRole("button", { name: "Run the simulation" }).click();
  await expect(page.getByText(/The member completes the workflow at Clicked/)).toBeVisible({
    timeout: 20_000,
  });
  const steps = page.getByRole("list", { name: "Simulated steps" });
  await expect(steps).toContainText("Responded");
  await expect(steps).toContainText("After 2 days");
  await expect(node(page, "thanks").locator(".wf-node")).toHaveClass(/is-highlighted/);
  await expect(node(page, "happy").locator(".wf-node")).toHaveClass(/is-highlighted/);
  await expect(node(page, "no_click").locator(".wf-node")).not.toHaveClass(/is-highlighted/);
  await expect(page.locator('.react-flow__edge[data-id="click:matched"]')).toHaveClass(/is-highlighted/);
  await expect(page.getByRole("heading", { name: "What would happen" })).toBeFocused();
  await expectAccessible(page, "The workflow simulator");
  await photograph(page, "workflow-simulator");
});

test("a viewer sees workflows without controls that change them", async ({ page, browser }) => {
  await signInOwner(page.request);
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Read only ${Date.now()}`,
  });
  const viewer = await browser.newContext({ baseURL: process.env.E2E_BASE_URL });
  const stamp = Date.now();
  const person = {
    name: "Vera Viewer",
    email: `vera.${stamp}@acme.example`,
    password: "look but do not touch",
    role: "viewer",
  };
  await inviteAndJoin(page.request, viewer.request, person);
  const viewerPage = await viewer.newPage();
  await viewerPage.goto("/workflows");
  await expect(viewerPage.getByRole("heading", { name: "Workflows", level: 1 })).toBeVisible();
  await expect(viewerPage.getByRole("button", { name: "New workflow" })).toHaveCount(0);
  await viewerPage.goto(`/workflows/${workflow.id}`);
  await expect(node(viewerPage, "entry")).toBeVisible();
  await expect(viewerPage.getByRole("button", { name: "Publish" })).toHaveCount(0);
  await expect(viewerPage.getByRole("button", { name: "Send a message" })).toHaveCount(0);
  await viewerPage.getByLabel("Selected step", { exact: true }).selectOption("entry");
  await expect(viewerPage.getByLabel("Then go to", { exact: true })).toBeDisabled();
  // At tablet width the panel goes below the canvas and nothing overflows sideways.
  await viewerPage.setViewportSize({ width: 768, height: 1024 });
  await expect(node(viewerPage, "entry")).toBeVisible();
  const overflow = await viewerPage.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  await viewer.close();
});
