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

test("a condition built with the rule builder sends a contact down the right branch", async ({ page }) => {
  await signInOwner(page.request);
  const stamp = Date.now();
  const email = `homer.${stamp}@acme.example`;
  await callApiOk(page.request, "POST", "/api/v1/contacts", {
    email,
    firstName: "Homer",
    lastName: "Simpson",
    attributes: { city: "Springfield" },
  });
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `By city ${stamp}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "done" } },
        { id: "done", type: "exit", label: "Elsewhere", outlets: {} },
      ],
    },
  });
  await page.goto(`/workflows/${workflow.id}`);
  await expect(node(page, "done")).toBeVisible();

  // A condition after the start: city is "Springfield", built with the rule builder.
  await page.getByRole("button", { name: "Check a condition" }).click();
  await expect(node(page, "condition_1")).toBeVisible();
  await page.getByLabel("Name on the canvas", { exact: true }).fill("Lives in Springfield?");
  await page.getByLabel("Condition type", { exact: true }).selectOption("field");
  await page.getByLabel("Detail", { exact: true }).selectOption({ label: "Custom attribute…" });
  await page.getByLabel("Attribute name", { exact: true }).fill("city");
  await page.getByLabel("Operator", { exact: true }).selectOption("eq");
  await page.getByLabel("Text", { exact: true }).fill("Springfield");

  // "yes" → a new exit; "no" → the existing one.
  await page.getByRole("button", { name: "Exit", exact: true }).click();
  await expect(node(page, "exit_1")).toBeVisible();
  await page.getByLabel("Name on the canvas", { exact: true }).fill("In Springfield");
  await page.getByLabel("Selected step", { exact: true }).selectOption("condition_1");
  await expect(page.getByLabel("When “yes”, go to", { exact: true })).toHaveValue("exit_1");
  await page.getByLabel("When “no”, go to", { exact: true }).selectOption("done");
  await page.getByLabel("Selected step", { exact: true }).selectOption("entry");
  await page.getByLabel("Then go to", { exact: true }).selectOption("condition_1");
  await expect(page.locator(".react-flow__edge")).toHaveCount(3);

  await page.getByRole("button", { name: "Tidy up the layout" }).click();
  await page.getByRole("button", { name: "Check for problems" }).click();
  await expect(page.getByText("No problems found: the workflow is ready to publish.")).toBeVisible();
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Published as version 1.")).toBeVisible();
  await page.getByRole("tab", { name: "Step" }).click();
  await page.getByLabel("Selected step", { exact: true }).selectOption("condition_1");
  await expect(page.getByLabel("Text", { exact: true })).toHaveValue("Springfield");
  await expectAccessible(page, "A condition step");
  await photograph(page, "workflow-condition");

  await page.getByRole("tab", { name: "Simulate" }).click();
  await page.getByLabel("Find a contact", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("button", { name: `Homer Simpson (${email})` }).click();
  await page.getByRole("button", { name: "Run the simulation" }).click();
  await expect(page.getByText(/The member completes the workflow at In Springfield/)).toBeVisible({
    timeout: 20_000,
  });
  await expect(node(page, "exit_1").locator(".wf-node")).toHaveClass(/is-highlighted/);
  await expect(node(page, "done").locator(".wf-node")).not.toHaveClass(/is-highlighted/);
  await expect(page.locator('.react-flow__edge[data-id="condition_1:yes"]')).toHaveClass(/is-highlighted/);
});

test("a webhook's and an update's settings are kept after a reload", async ({ page }) => {
  await signInOwner(page.request);
  const stamp = Date.now();
  const list = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/audiences", {
    name: `VIP ${stamp}`,
    kind: "list",
  });
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Tell the CRM ${stamp}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "hook" } },
        { id: "hook", type: "webhook", url: "https://example.com/old", outlets: { next: "upd" } },
        { id: "upd", type: "update", set: { plan: "basic" }, outlets: { next: "done" } },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await page.goto(`/workflows/${workflow.id}`);
  await expect(node(page, "hook")).toBeVisible();

  // The webhook: its address, two extra fields (text and number), and its own retry settings.
  await page.getByLabel("Selected step", { exact: true }).selectOption("hook");
  await page.getByLabel("URL", { exact: true }).fill("https://crm.example.com/hooks/omneural");
  await page.getByRole("button", { name: "Add a field" }).click();
  await page.getByLabel("Field 1 name", { exact: true }).fill("source");
  await page.getByLabel("Field 1 value", { exact: true }).fill("spring_campaign");
  await page.getByRole("button", { name: "Add a field" }).click();
  await page.getByLabel("Field 2 name", { exact: true }).fill("event");
  await expect(page.getByText("“event” is filled in by Omneural: choose another name.")).toBeVisible();
  await page.getByLabel("Field 2 name", { exact: true }).fill("priority");
  await page.getByLabel("Field 2 kind", { exact: true }).selectOption("number");
  await page.getByLabel("Field 2 value", { exact: true }).fill("3");
  await page.getByText("What the request contains").click();
  await expect(page.getByText(/always “workflow.webhook”/)).toBeVisible();
  await page.getByLabel(/how often to try again/).check();
  await page.getByLabel("Attempts at most", { exact: true }).fill("3");
  await page.getByLabel("First wait before trying again", { exact: true }).fill("5");
  await expect(page.getByLabel("Wait unit", { exact: true })).toHaveValue("60");
  await page.getByLabel("Field 1 name", { exact: true }).scrollIntoViewIfNeeded();
  await photograph(page, "workflow-webhook");

  // The update: two attributes (text and yes/no), one to clear, a list to join, a consent change.
  await page.getByLabel("Selected step", { exact: true }).selectOption("upd");
  await page.getByLabel("Attribute 1 value", { exact: true }).fill("gold");
  await page.getByRole("button", { name: "Add an attribute", exact: true }).click();
  await page.getByLabel("Attribute 2 name", { exact: true }).fill("vip");
  await page.getByLabel("Attribute 2 kind", { exact: true }).selectOption("boolean");
  await page.getByLabel("Attribute 2 value", { exact: true }).selectOption("true");
  await page.getByRole("button", { name: "Add an attribute to clear" }).click();
  await page.getByLabel("Attribute to clear 1", { exact: true }).fill("trial_ends");
  await page.getByRole("button", { name: "Add a list to join" }).click();
  await page.getByLabel("List to join 1", { exact: true }).selectOption({ label: `VIP ${stamp}` });
  await page.getByRole("button", { name: "Add a consent change" }).click();
  await page.getByLabel("Consent 1 channel", { exact: true }).selectOption("sms");
  await page.getByLabel("Consent 1 becomes", { exact: true }).selectOption("subscribed");
  await photograph(page, "workflow-update");

  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.getByText("Draft saved.")).toBeVisible();
  await page.getByRole("button", { name: "Check for problems" }).click();
  await expect(page.getByText("No problems found: the workflow is ready to publish.")).toBeVisible();

  const saved = await callApiOk<{ graph: { nodes: Record<string, unknown>[] } }>(
    page.request,
    "GET",
    `/api/v1/workflows/${workflow.id}`,
  );
  const byId = Object.fromEntries(saved.graph.nodes.map((n) => [n.id, n]));
  expect(byId.hook).toMatchObject({
    url: "https://crm.example.com/hooks/omneural",
    body: { source: "spring_campaign", priority: 3 },
    retry: { maxAttempts: 3, backoffSeconds: 300 },
  });
  expect(byId.upd).toMatchObject({
    set: { plan: "gold", vip: true },
    unset: ["trial_ends"],
    addToLists: [list.id],
    consent: [{ channel: "sms", status: "subscribed" }],
  });

  await page.reload();
  await expect(node(page, "hook")).toBeVisible();
  await page.getByLabel("Selected step", { exact: true }).selectOption("hook");
  await expect(page.getByLabel("URL", { exact: true })).toHaveValue("https://crm.example.com/hooks/omneural");
  // The database keeps a record's keys in its own order: find each row by its name.
  const row = async (noun: string, name: string) => {
    const first = await page.getByLabel(`${noun} 1 name`, { exact: true }).inputValue();
    return `${noun} ${first === name ? 1 : 2}`;
  };
  const source = await row("Field", "source");
  const priority = await row("Field", "priority");
  await expect(page.getByLabel(`${source} value`, { exact: true })).toHaveValue("spring_campaign");
  await expect(page.getByLabel(`${priority} kind`, { exact: true })).toHaveValue("number");
  await expect(page.getByLabel(`${priority} value`, { exact: true })).toHaveValue("3");
  await expect(page.getByLabel("Attempts at most", { exact: true })).toHaveValue("3");
  await expect(page.getByLabel("First wait before trying again", { exact: true })).toHaveValue("5");
  await expectAccessible(page, "A webhook step");
  await page.getByLabel("Selected step", { exact: true }).selectOption("upd");
  await expect(page.getByLabel(`${await row("Attribute", "plan")} value`, { exact: true })).toHaveValue(
    "gold",
  );
  await expect(page.getByLabel(`${await row("Attribute", "vip")} value`, { exact: true })).toHaveValue(
    "true",
  );
  await expect(page.getByLabel("Attribute to clear 1", { exact: true })).toHaveValue("trial_ends");
  await expect(page.getByLabel("List to join 1", { exact: true })).toHaveValue(list.id);
  await expect(page.getByLabel("Consent 1 channel", { exact: true })).toHaveValue("sms");
  await expect(page.getByLabel("Consent 1 becomes", { exact: true })).toHaveValue("subscribed");
  await expectAccessible(page, "An update step");
});

test("split shares must add up to 100, conditions take named branches, waits filter on event details", async ({
  page,
}) => {
  await signInOwner(page.request);
  const stamp = Date.now();
  const workflow = await callApiOk<{ id: string }>(page.request, "POST", "/api/v1/workflows", {
    name: `Branches ${stamp}`,
    graph: {
      nodes: [
        { id: "entry", type: "entry", outlets: { next: "sp" } },
        {
          id: "sp",
          type: "split",
          branches: [
            { key: "a", weight: 50 },
            { key: "b", weight: 50 },
          ],
          outlets: { a: "cond", b: "wf" },
        },
        {
          id: "cond",
          type: "condition",
          rule: { kind: "reachable", channel: "email" },
          outlets: { yes: "done", no: "done" },
        },
        {
          id: "wf",
          type: "wait_for",
          for: { kind: "response", response: "clicked" },
          timeout: { days: 3 },
          outlets: { matched: "done", timed_out: "done" },
        },
        { id: "done", type: "exit", outlets: {} },
      ],
    },
  });
  await page.goto(`/workflows/${workflow.id}`);
  await expect(node(page, "sp")).toBeVisible();

  // The split: a third variant; shares that do not add up to 100 stop publishing until shared evenly.
  await page.getByLabel("Selected step", { exact: true }).selectOption("sp");
  await page.getByRole("button", { name: "Add a variant" }).click();
  await page.getByLabel("Variant 3 share", { exact: true }).fill("20");
  await expect(page.getByText("The shares add up to 120%: make them add up to 100%.")).toBeVisible();
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText(/Not published: 1 problem/)).toBeVisible();
  await expect(node(page, "sp")).toContainText("add up to 120%");
  await page.getByRole("tab", { name: "Step" }).click();
  await page.getByRole("button", { name: "Share evenly" }).click();
  await expect(page.getByText("The shares add up to 100%.")).toBeVisible();
  await expect(page.getByLabel("Variant 1 share", { exact: true })).toHaveValue("34");
  await page.getByLabel("Variant 1 name", { exact: true }).fill("short");
  await expect(page.getByLabel("When “short”, go to", { exact: true })).toHaveValue("cond");
  await page.getByLabel("When “c”, go to", { exact: true }).selectOption("done");
  await page.getByLabel(/Run it as an A\/B test/).check();
  await page.getByLabel("How sure before choosing a winner", { exact: true }).selectOption("90");
  await page.getByLabel("When no variant is clearly better", { exact: true }).selectOption("short");

  // The condition: from yes/no to branches; the first renamed, a second added; "no" becomes "otherwise".
  await page.getByLabel("Selected step", { exact: true }).selectOption("cond");
  await page.getByLabel("Ways out", { exact: true }).selectOption("branches");
  await page.getByLabel("Branch 1 name", { exact: true }).fill("vip customers");
  await expect(page.getByLabel("Branch 1 name", { exact: true })).toHaveValue("vip_customers");
  await expect(page.getByLabel("When “vip_customers”, go to", { exact: true })).toHaveValue("done");
  await expect(page.getByLabel("When “otherwise”, go to", { exact: true })).toHaveValue("done");
  await page.getByRole("button", { name: "Add a branch" }).click();
  await page.getByLabel("When “branch_2”, go to", { exact: true }).selectOption("done");
  await expect(node(page, "cond")).toContainText("vip_customers");
  await expect(node(page, "cond")).toContainText("otherwise");

  // The wait: for an event whose "coupon" detail is SPRING.
  await page.getByLabel("Selected step", { exact: true }).selectOption("wf");
  await page.getByLabel("Wait for", { exact: true }).selectOption("event");
  await page.getByLabel("Event name", { exact: true }).fill("order_placed");
  await page.getByRole("button", { name: "Add a detail filter" }).click();
  await page.getByLabel("Detail 1 name", { exact: true }).fill("coupon");
  await page.getByLabel("Text", { exact: true }).fill("SPRING");
  await expectAccessible(page, "A wait for an event with a filter");

  await page.getByRole("button", { name: "Check for problems" }).click();
  await expect(page.getByText("No problems found: the workflow is ready to publish.")).toBeVisible();
  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.getByText("Draft saved.")).toBeVisible();

  const saved = await callApiOk<{ graph: { nodes: Record<string, unknown>[] } }>(
    page.request,
    "GET",
    `/api/v1/workflows/${workflow.id}`,
  );
  const byId = Object.fromEntries(saved.graph.nodes.map((n) => [n.id, n]));
  expect(byId.sp).toMatchObject({
    branches: [
      { key: "short", weight: 34 },
      { key: "b", weight: 33 },
      { key: "c", weight: 33 },
    ],
    experiment: { confidence: 0.9, fallback: "short" },
    outlets: { short: "cond", b: "wf", c: "done" },
  });
  expect(byId.cond).toMatchObject({
    branches: [{ key: "vip_customers" }, { key: "branch_2" }],
    outlets: { vip_customers: "done", branch_2: "done", default: "done" },
  });
  expect(byId.wf).toMatchObject({
    for: {
      kind: "event",
      eventType: "order_placed",
      where: [{ property: "coupon", type: "string", condition: { op: "eq", value: "SPRING" } }],
    },
  });

  await page.reload();
  await page.getByLabel("Selected step", { exact: true }).selectOption("cond");
  await expect(page.getByLabel("Branch 2 name", { exact: true })).toHaveValue("branch_2");
  await page.getByRole("button", { name: "Remove branch branch_2" }).click();
  await expect(page.getByLabel("Branch 2 name", { exact: true })).toHaveCount(0);
  await page.getByLabel("Selected step", { exact: true }).selectOption("sp");
  await expect(page.getByLabel("Variant 1 name", { exact: true })).toHaveValue("short");
  await expectAccessible(page, "A split step");
  await photograph(page, "workflow-split");
});
