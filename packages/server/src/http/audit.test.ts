import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { type TestSession, useTestApp } from "../testing/app.ts";
import { openApiOperations } from "../testing/openapi.ts";
import { ROUTE_ACCESS } from "./access.ts";
import { AUDIT_ACTIONS } from "./audit.ts";

const docs = readFileSync(new URL("../../../../docs/audit-log.md", import.meta.url), "utf8");

let operations: Promise<string[]> | undefined;
/** Every /api/v1 operation of the OpenAPI document, as "METHOD /api/v1/route/:pattern". */
function apiOperations(): Promise<string[]> {
  operations ??= readOperations();
  return operations;
}

async function readOperations(): Promise<string[]> {
  return (await openApiOperations())
    .filter((operation) => operation.split(" ")[1]!.startsWith("/api/v1/"))
    .map((operation) => operation.replace(/\{(\w+)\}/g, ":$1"));
}

describe("AUDIT_ACTIONS", () => {
  it("names an action for every unsafe /api/v1 route, or null only for those access.ts calls read-only", async () => {
    const operations = await apiOperations();
    const unsafe = operations.filter((operation) => !operation.startsWith("GET "));
    expect(unsafe.length).toBeGreaterThan(50);
    for (const operation of unsafe) {
      expect(
        AUDIT_ACTIONS,
        `${operation} has no audit action: add it to AUDIT_ACTIONS (http/audit.ts)`,
      ).toHaveProperty([operation]);
      if (AUDIT_ACTIONS[operation] === null) {
        expect(
          ROUTE_ACCESS[operation],
          `${operation} is not audited but access.ts says it changes things`,
        ).toBe("read");
      }
    }
    // A route that is a dry run or not by its body is recorded when it is not one.
    for (const [operation, rule] of Object.entries(ROUTE_ACCESS)) {
      if (typeof rule === "function") expect(AUDIT_ACTIONS[operation], operation).toBeTruthy();
    }
  });

  it("records every read that exports data", async () => {
    const exports = (await apiOperations()).filter((operation) => /^GET .*(\/export|\.csv)$/.test(operation));
    expect(exports.length).toBeGreaterThanOrEqual(4);
    for (const operation of exports) expect(AUDIT_ACTIONS[operation], operation).toBeTruthy();
  });

  it("names only operations that exist, with actions of the form type.verb listed in docs/audit-log.md", async () => {
    const operations = new Set(await apiOperations());
    for (const [operation, rule] of Object.entries(AUDIT_ACTIONS)) {
      expect(operations, `${operation} is not an operation of the API`).toContain(operation);
      if (!rule) continue;
      expect(rule.action).toMatch(/^[a-z_]+\.[a-z_]+$/);
      expect(docs, `${rule.action} is not in docs/audit-log.md`).toContain(`\`${rule.action}\``);
    }
  });
});

const t = useTestApp();

interface Entry {
  id: string;
  at: string;
  actor: { kind: string; id: string; label: string };
  action: string;
  objectType: string;
  objectId: string | null;
  requestId: string | null;
  status: number | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/** A's entries about an object, oldest first. */
async function entriesOf(objectId: string): Promise<Entry[]> {
  const response = await t.asA({ method: "GET", url: `/api/v1/audit?objectId=${objectId}&limit=200` });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json().data as Entry[]).reverse();
}

async function auditRows(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from audit_log`.execute(
    t.database.handle.db,
  );
  return rows[0]!.n;
}

const API_KEY_LABEL = /^default \(omn_[A-Za-z0-9_-]{6}…\)$/;

/** Personal data sent in request bodies below: none of it may reach the audit log. */
const PERSONAL = {
  email: "audit.person@acme.example",
  firstName: "Philippa",
  newFirstName: "Pippilotta",
  invited: "audit.invitee@acme.example",
  subject: "Hello Philippa, a private subject",
  testRecipient: "audit.test.recipient@acme.example",
};

let marketer: TestSession;
let owner: TestSession;
let contactId: string;

function sendsTemplate(templateId: string) {
  return {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "hello" } },
      { id: "hello", type: "send", channel: "email", templateId, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
}

async function created(response: Awaited<ReturnType<typeof t.asA>>): Promise<string> {
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

beforeAll(async () => {
  marketer = await t.member(t.a, "marketer", "marketer.audit@team.example");
  owner = await t.member(t.a, "owner", "owner.audit@team.example");
  contactId = await created(
    await t.asA({
      method: "POST",
      url: "/api/v1/contacts",
      payload: { email: PERSONAL.email, firstName: PERSONAL.firstName },
    }),
  );
});

describe("the audit log of /api/v1", () => {
  it("records a template's create, update and delete with the API key that made them", async () => {
    const id = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/templates",
        payload: {
          name: "Audit welcome",
          channel: "email",
          content: { subject: PERSONAL.subject, html: "<p>Hi</p>" },
        },
      }),
    );
    const patched = await t.asA({
      method: "PATCH",
      url: `/api/v1/templates/${id}`,
      payload: { name: "Audit hello" },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const deleted = await t.asA({ method: "DELETE", url: `/api/v1/templates/${id}` });
    expect(deleted.statusCode, deleted.body).toBe(200);

    const entries = await entriesOf(id);
    expect(entries.map((e) => [e.action, e.objectType, e.objectId, e.status])).toEqual([
      ["template.create", "template", id, 201],
      ["template.update", "template", id, 200],
      ["template.delete", "template", id, 200],
    ]);
    for (const entry of entries) {
      expect(entry.actor.kind).toBe("api_key");
      expect(entry.actor.label).toMatch(API_KEY_LABEL);
      expect(entry.requestId).toBeTruthy();
    }
    expect(new Set(entries.map((e) => e.actor.id)).size).toBe(1);
  });

  it("records an audience's create, update and delete with the signed-in member who made them", async () => {
    const id = await created(
      await t.asSession(marketer, {
        method: "POST",
        url: "/api/v1/audiences",
        payload: { name: "Audit list", kind: "list" },
      }),
    );
    const patched = await t.asSession(marketer, {
      method: "PATCH",
      url: `/api/v1/audiences/${id}`,
      payload: { name: "Audit list renamed" },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const deleted = await t.asSession(marketer, { method: "DELETE", url: `/api/v1/audiences/${id}` });
    expect(deleted.statusCode, deleted.body).toBe(200);

    const entries = await entriesOf(id);
    expect(entries.map((e) => e.action)).toEqual(["audience.create", "audience.update", "audience.delete"]);
    for (const entry of entries) {
      expect(entry.actor).toEqual({
        kind: "user",
        id: marketer.userId,
        label: "marketer.audit@team.example",
      });
    }
  });

  it("records a workflow's publication and a campaign's launch, pause, resume and cancel", async () => {
    const templateId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/templates",
        payload: {
          name: "Audit flow template",
          channel: "email",
          content: { subject: "Hi", html: "<p>Hi</p>" },
        },
      }),
    );
    const workflowId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/workflows",
        payload: { name: "Audit flow", graph: sendsTemplate(templateId) },
      }),
    );
    const published = await t.asSession(marketer, {
      method: "POST",
      url: `/api/v1/workflows/${workflowId}/publish`,
    });
    expect(published.statusCode, published.body).toBe(201);
    expect((await entriesOf(workflowId)).map((e) => [e.action, e.details])).toEqual([
      ["workflow.create", {}],
      ["workflow.publish", { version: 1 }],
    ]);

    const listId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/audiences",
        payload: { name: "Audit campaign list", kind: "list" },
      }),
    );
    const added = await t.asA({
      method: "POST",
      url: `/api/v1/audiences/${listId}/members`,
      payload: { contactIds: [contactId] },
    });
    expect(added.json().changed).toBe(1);
    const campaignId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/campaigns",
        payload: { name: "Audit campaign", audienceId: listId, workflowId },
      }),
    );
    for (const action of ["launch", "pause", "resume", "cancel"]) {
      const response = await t.asSession(owner, {
        method: "POST",
        url: `/api/v1/campaigns/${campaignId}/${action}`,
      });
      expect(response.statusCode, response.body).toBe(200);
    }
    const entries = await entriesOf(campaignId);
    expect(entries.map((e) => [e.action, e.actor.kind, e.details.changed])).toEqual([
      ["campaign.create", "api_key", undefined],
      ["campaign.launch", "user", 1],
      ["campaign.pause", "user", 1],
      ["campaign.resume", "user", 1],
      ["campaign.cancel", "user", 1],
    ]);
    expect(entries.slice(1).every((e) => e.actor.id === owner.userId)).toBe(true);

    const csv = await t.asA({ method: "GET", url: `/api/v1/campaigns/${campaignId}/report.csv` });
    expect(csv.statusCode).toBe(200);
    expect((await entriesOf(campaignId)).at(-1)!.action).toBe("campaign.report_export");
  });

  it("records a contact's export and erasure by the contact's id only", async () => {
    const id = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/contacts",
        payload: { email: "audit.erased@acme.example" },
      }),
    );
    expect((await t.asA({ method: "GET", url: `/api/v1/contacts/${id}/export` })).statusCode).toBe(200);
    const erased = await t.asSession(marketer, { method: "DELETE", url: `/api/v1/contacts/${id}` });
    expect(erased.statusCode, erased.body).toBe(200);

    const entries = await entriesOf(id);
    expect(entries.map((e) => [e.action, e.objectType, e.status, e.actor.kind])).toEqual([
      ["contact.upsert", "contact", 201, "api_key"],
      ["contact.export", "contact", 200, "api_key"],
      ["contact.erase", "contact", 200, "user"],
    ]);
    expect(entries[2]!.details).toEqual({});
  });

  it("records an export of the contact list, by the workspace's id", async () => {
    const csv = await t.asSession(marketer, { method: "GET", url: "/api/v1/contacts/export.csv" });
    expect(csv.statusCode, csv.body).toBe(200);
    const entries = await entriesOf(t.a.id);
    expect(entries.at(-1)).toMatchObject({
      action: "contact.list_export",
      objectType: "contact",
      objectId: t.a.id,
      status: 200,
      actor: { kind: "user", id: marketer.userId },
    });
  });

  it("records a real retention run, not its dry run", async () => {
    const put = await t.asA({
      method: "PUT",
      url: "/api/v1/retention/policies/undeliverable",
      payload: { enabled: false, settings: { action: "delete" } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const before = await auditRows();
    const dry = await t.asSession(owner, {
      method: "POST",
      url: "/api/v1/retention/policies/undeliverable/run",
      payload: {},
    });
    expect(dry.json().dryRun).toBe(true);
    expect(await auditRows()).toBe(before);

    const real = await t.asSession(owner, {
      method: "POST",
      url: "/api/v1/retention/policies/undeliverable/run",
      payload: { dryRun: false, confirm: true },
    });
    expect(real.statusCode, real.body).toBe(200);
    const entries = await entriesOf("undeliverable");
    expect(entries.map((e) => [e.action, e.objectType, e.actor.id, e.details])).toEqual([
      ["retention_policy.update", "retention_policy", expect.any(String), { enabled: false }],
      [
        "retention_policy.run",
        "retention_policy",
        owner.userId,
        { confirm: true, runId: real.json().id, status: "completed" },
      ],
    ]);
  });

  it("records a team invitation with its role, not the invitee's email", async () => {
    const invited = await t.asSession(owner, {
      method: "POST",
      url: "/api/v1/team/invitations",
      payload: { email: PERSONAL.invited, role: "viewer" },
    });
    const id = await created(invited);
    expect(await entriesOf(id)).toEqual([
      expect.objectContaining({
        action: "invitation.create",
        objectType: "invitation",
        objectId: id,
        actor: { kind: "user", id: owner.userId, label: "owner.audit@team.example" },
        details: { role: "viewer" },
        status: 201,
      }),
    ]);
  });

  it("records nothing for reads, previews, validation, simulation, dry runs and refused requests", async () => {
    const templateId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/templates",
        payload: { name: "Audit quiet", channel: "email", content: { subject: "Hi", html: "<p>Hi</p>" } },
      }),
    );
    const workflowId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/workflows",
        payload: { name: "Audit quiet flow", graph: sendsTemplate(templateId) },
      }),
    );
    expect((await t.asA({ method: "POST", url: `/api/v1/workflows/${workflowId}/publish` })).statusCode).toBe(
      201,
    );
    const before = await auditRows();
    const calls: Array<{
      method: "GET" | "POST" | "PATCH";
      url: string;
      payload?: object;
      viewer?: boolean;
      status: number;
    }> = [
      { method: "GET", url: "/api/v1/contacts", status: 200 },
      { method: "GET", url: `/api/v1/contacts/${contactId}`, status: 200 },
      { method: "GET", url: "/api/v1/templates", status: 200 },
      { method: "GET", url: "/api/v1/audit", status: 200 },
      {
        method: "POST",
        url: "/api/v1/templates/preview",
        payload: { channel: "sms", content: { body: "Hi {{ firstName }}" } },
        status: 200,
      },
      { method: "POST", url: `/api/v1/templates/${templateId}/preview`, payload: { contactId }, status: 200 },
      {
        method: "POST",
        url: "/api/v1/audiences/preview",
        payload: {
          definition: { kind: "field", field: "email", type: "string", condition: { op: "exists" } },
        },
        status: 200,
      },
      { method: "POST", url: `/api/v1/workflows/${workflowId}/validate`, payload: {}, status: 200 },
      {
        method: "POST",
        url: `/api/v1/workflows/${workflowId}/versions/1/simulate`,
        payload: { contactId },
        status: 200,
      },
      { method: "POST", url: "/api/v1/contacts/duplicates/merge", payload: {}, status: 200 },
      {
        method: "POST",
        url: "/api/v1/retention/policies/undeliverable/run",
        payload: { dryRun: true },
        status: 200,
      },
      // Refused or failed: nothing changed.
      {
        method: "PATCH",
        url: `/api/v1/templates/${templateId}`,
        payload: { name: "Viewer's" },
        viewer: true,
        status: 403,
      },
      {
        method: "PATCH",
        url: "/api/v1/templates/0190d2c3-0000-7000-8000-000000000001",
        payload: { name: "x" },
        status: 404,
      },
      { method: "POST", url: "/api/v1/contacts", payload: { email: "not an email" }, status: 400 },
    ];
    const viewer = await t.member(t.a, "viewer");
    for (const { viewer: asViewer, status, ...call } of calls) {
      const response = asViewer ? await t.asSession(viewer, call) : await t.asA(call);
      expect(response.statusCode, `${call.method} ${call.url}: ${response.body}`).toBe(status);
      expect(await auditRows(), `${call.method} ${call.url} was recorded`).toBe(before);
    }
  });

  it("keeps no request body text: no email, name, subject or recipient appears in any audit row", async () => {
    const updated = await t.asSession(marketer, {
      method: "PATCH",
      url: `/api/v1/contacts/${contactId}`,
      payload: { firstName: PERSONAL.newFirstName },
    });
    expect(updated.statusCode, updated.body).toBe(200);
    const templateId = await created(
      await t.asA({
        method: "POST",
        url: "/api/v1/templates",
        payload: {
          name: "Audit test send",
          channel: "email",
          content: { subject: PERSONAL.subject, html: "<p>x</p>" },
        },
      }),
    );
    const sender = await t.asA({
      method: "PUT",
      url: "/api/v1/workspace/sender",
      payload: { fromAddress: "news@acme.example", postalAddress: "1 Market St, San Francisco" },
    });
    expect(sender.statusCode, sender.body).toBe(200);
    const sent = await t.asA({
      method: "POST",
      url: `/api/v1/templates/${templateId}/test-send`,
      payload: { to: PERSONAL.testRecipient, contactId },
    });
    expect(sent.statusCode, sent.body).toBeLessThan(300);
    const events = await t.asA({
      method: "POST",
      url: "/api/v1/events",
      payload: {
        events: [{ email: PERSONAL.email, type: "audit_probe", properties: { note: PERSONAL.firstName } }],
      },
    });
    expect(events.json().accepted).toBe(1);
    expect((await entriesOf(contactId)).map((e) => e.action)).toEqual(["contact.upsert", "contact.update"]);

    const { rows } = await sql<{ row: string }>`select row_to_json(a)::text as row from audit_log a`.execute(
      t.database.handle.db,
    );
    expect(rows.length).toBeGreaterThan(20);
    const text = rows.map((r) => r.row.toLowerCase()).join("\n");
    for (const [name, value] of Object.entries(PERSONAL)) {
      expect(text.includes(value.toLowerCase()), `${name} (${value}) is in the audit log`).toBe(false);
    }
    expect(text).not.toContain(t.a.apiKey.toLowerCase());
    expect(text).not.toContain(marketer.token.toLowerCase());
  });
});
