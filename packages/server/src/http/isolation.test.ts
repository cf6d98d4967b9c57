/**
 * The tenant isolation matrix: workspace B, holding workspace A's ids, calls every operation of the
 * OpenAPI document and must neither see nor change anything of A's.
 *
 * The operations come from the document itself, so a new endpoint appears here the day it is added and
 * fails until OPERATIONS says how to probe it.
 */

import { randomUUID } from "node:crypto";
import { loadConfig } from "@omneural/core/config/config";
import type { DatabaseHandle } from "@omneural/core/db/database";
import { createDevInboxEmailChannel, createDevInboxMailChannel } from "@omneural/core/delivery/dev-inbox";
import { readEmailHookToken } from "@omneural/core/responses/email-feedback";
import { TEST_KEYS } from "@omneural/core/security/keys";
import { runQueuedJobs } from "@omneural/core/testing/jobs";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApp } from "../testing/app.ts";
import { buildApp } from "./app.ts";

const API_PREFIX = "/api/v1/";
const METHODS = ["get", "post", "put", "patch", "delete"] as const;
type Method = Uppercase<(typeof METHODS)[number]>;

interface OpenApiDocument {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], unknown>>>;
}

/** "METHOD /path/{param}" for every operation under /api/v1 (health and the docs are out of scope). */
function operationsOf(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith(API_PREFIX))
    .flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

// it.each needs the operations while the file is collected, before any database exists. Building the
// routes only reads the database handle when a request runs, so a document-only app can serve them.
const discovered = await (async () => {
  const documentApp = await buildApp({
    deps: {
      config: loadConfig({ PUBLIC_URL: "http://omneural.test" }),
      database: {} as DatabaseHandle,
      jobsEnabled: false,
      keys: TEST_KEYS,
      responses: { record() {} },
    },
    logger: false,
  });
  try {
    const response = await documentApp.inject({ method: "GET", url: "/api/openapi.json" });
    return operationsOf(response.json() as OpenApiDocument);
  } finally {
    await documentApp.close();
  }
})();

const t = useTestApp();
type Response = Awaited<ReturnType<typeof t.asB>>;

/** One workspace's objects, one of every kind. */
interface World {
  contactId: string;
  segmentId: string;
  listId: string;
  importId?: string;
  templateId: string;
  workflowId: string;
  campaignId: string;
  /** The campaign's subscription topic. */
  topicId: string;
  /** An ad destination with a stored access token (A's only). */
  adDestinationId?: string;
  /** A direct-mail piece in the dev inbox (A's only). */
  outboxMailId?: string;
  /** A member of A's team and a pending invitation (A's only). */
  memberUserId?: string;
  invitationId?: string;
  /** The workspace's first API key (A's only). */
  apiKeyId?: string;
  /** An archived contact (A's only): B must not restore it. */
  archivedContactId?: string;
}
let a: World;
let b: World;

/** A's data, which no response to B may contain unless B itself sent it. */
const A_DATA = {
  workspaceName: "Acme",
  email: "ada.secret@acme.example",
  externalId: "acme-cust-0001",
  firstName: "Adalind",
  importedEmail: "imported.secret@acme.example",
  rejectedRow: "Rejectedsecret",
  importFilename: "acme-secret.csv",
  segmentName: "Acme secret segment",
  listName: "Acme secret list",
  templateName: "Acme secret template",
  subject: "Acme secret subject",
  workflowName: "Acme secret flow",
  campaignName: "Acme secret campaign",
  topicName: "Acme secret topic",
  eventProperty: "acme-secret-sku",
  /** One Gmail mailbox spelled twice: a pair of likely duplicates. */
  duplicateEmail: "adalind.secret@gmail.com",
  duplicateEmailAgain: "adalindsecret+twin@gmail.com",
  memberEmail: "member.secret@acme.example",
  invitedEmail: "invited.secret@acme.example",
  archivedEmail: "archived.secret@acme.example",
};

let secrets: Record<string, string>;

const NOT_FOUND = [403, 404] as const;

/** One request of B's against an operation. */
interface Probe {
  /** What the probe is about, for failure messages. */
  about?: string;
  /**
   * Path parameters. Without them, each parameter takes every A object its path segment names (see
   * objectsFor), and the probe runs once per combination.
   */
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** A raw text/csv body instead of JSON. */
  csv?: string;
  /** The statuses that pass. */
  expect: readonly number[];
  /** More checks of the response; may call the API. */
  check?: (response: Response) => void | Promise<void>;
}

/**
 * Every operation of the API and how B probes it. A refusal (any probe whose expected statuses are
 * all 4xx) is repeated with random ids in place of A's and must answer the same status and code: B must
 * not learn that A's objects exist.
 */
const OPERATIONS: Record<string, () => Probe[]> = {
  "GET /api/v1/workspace": () => [{ expect: [200] }],

  "GET /api/v1/audit": (): Probe[] => [
    {
      about: "B's audit log holds B's own entries, none of A's",
      query: { limit: "200" },
      expect: [200],
      check: async (res) => {
        const entries = res.json().data as { objectId: string | null; actor: { id: string } }[];
        expect(entries.length).toBeGreaterThan(0);
        const aKeys = await apiKeyIdsOf(t.a.id);
        const aObjects = new Set(Object.values(a));
        for (const entry of entries) {
          expect(aObjects.has(entry.objectId ?? ""), `A's object ${entry.objectId}`).toBe(false);
          expect(aKeys, "A's API key").not.toContain(entry.actor.id);
        }
      },
    },
    {
      about: "filtered by A's contact",
      query: { objectId: a.contactId },
      expect: [200],
      check: (res) => expect(res.json().data).toEqual([]),
    },
    {
      about: "filtered by A's campaign",
      query: { objectType: "campaign", objectId: a.campaignId },
      expect: [200],
      check: (res) => expect(res.json().data).toEqual([]),
    },
    {
      about: "filtered by A's API key",
      expect: [200],
      check: async () => {
        for (const key of await apiKeyIdsOf(t.a.id)) {
          const res = await t.asB({ method: "GET", url: `/api/v1/audit?actor=${key}` });
          expect(res.json().data).toEqual([]);
        }
      },
    },
  ],

  "GET /api/v1/api-keys": () => [
    {
      about: "B's keys only",
      expect: [200],
      check: async (res) => {
        const ids = (res.json().data as { id: string }[]).map((k) => k.id);
        for (const id of await apiKeyIdsOf(t.a.id)) expect(ids).not.toContain(id);
      },
    },
  ],
  "POST /api/v1/api-keys": () => [
    {
      about: "B's own new key, which reaches B's workspace only",
      body: { name: "isolation probe" },
      expect: [201],
      check: async (res) => {
        const own = await t.app.inject({
          method: "GET",
          url: `/api/v1/contacts/${a.contactId}`,
          headers: { authorization: `Bearer ${res.json().key}` },
        });
        expect(own.statusCode).toBe(404);
        await t.asB({ method: "DELETE", url: `/api/v1/api-keys/${res.json().id}` });
      },
    },
  ],
  "DELETE /api/v1/api-keys/{id}": () => [
    {
      expect: NOT_FOUND,
      check: async () => {
        const stillWorks = await t.asA({ method: "GET", url: "/api/v1/workspace" });
        expect(stillWorks.statusCode).toBe(200);
      },
    },
  ],

  "GET /api/v1/team": () => [{ about: "B's team holds none of A's members or invitations", expect: [200] }],
  "POST /api/v1/team/invitations": () => [
    {
      about: "B invites A's member's email: B's own invitation",
      body: { email: A_DATA.memberEmail, role: "viewer" },
      expect: [201],
      check: async (res) => {
        const revoked = await t.asB({ method: "DELETE", url: `/api/v1/team/invitations/${res.json().id}` });
        expect(revoked.statusCode).toBe(200);
      },
    },
  ],
  "DELETE /api/v1/team/invitations/{id}": () => [{ expect: NOT_FOUND }],
  "PATCH /api/v1/team/members/{userId}": () => [{ body: { role: "viewer" }, expect: NOT_FOUND }],
  "DELETE /api/v1/team/members/{userId}": () => [{ expect: NOT_FOUND }],

  "POST /api/v1/contacts": () => [
    {
      about: "A's externalId creates B's own contact",
      body: { externalId: A_DATA.externalId, email: "bea.clone@globex.example" },
      expect: [201],
      check: async (res) => {
        expect(res.json().id).not.toBe(a.contactId);
        await eraseAsB(`/api/v1/contacts/${res.json().id}`);
      },
    },
  ],
  "GET /api/v1/contacts": (): Probe[] => [
    { expect: [200] },
    { about: "search by A's email", query: { search: A_DATA.email }, expect: [200] },
    {
      about: "B has no archived contact; A's are not listed",
      query: { archived: "only" },
      expect: [200],
      check: (res) => expect(res.json().data).toEqual([]),
    },
    {
      about: "archived included",
      query: { archived: "include", search: A_DATA.archivedEmail },
      expect: [200],
    },
  ],
  "GET /api/v1/contacts/export.csv": (): Probe[] => [
    {
      about: "B's export holds B's contacts only",
      query: { archived: "include" },
      expect: [200],
      check: (res) => expect(res.body).not.toContain(A_DATA.email),
    },
    { about: "search by A's email", query: { search: A_DATA.email }, expect: [200] },
    {
      about: "filter by A's attribute",
      query: { attribute: `firstName:${A_DATA.firstName}` },
      expect: [200],
    },
  ],
  "GET /api/v1/contacts/{id}": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/contacts/{id}/restore": () => [
    { expect: NOT_FOUND },
    {
      about: "A's archived contact stays archived",
      params: { id: a.archivedContactId! },
      expect: NOT_FOUND,
      check: async () => {
        const own = await t.asA({ method: "GET", url: `/api/v1/contacts/${a.archivedContactId}` });
        expect(own.json().archivedAt).not.toBeNull();
      },
    },
  ],
  "PATCH /api/v1/contacts/{id}": () => [{ body: { firstName: "Stolen" }, expect: NOT_FOUND }],
  "DELETE /api/v1/contacts/{id}": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/contacts/{id}/export": () => [
    { expect: NOT_FOUND },
    {
      about: "B's own contact's export holds nothing of A's",
      params: { id: b.contactId },
      expect: [200],
      check: (res) => expect(res.body).not.toContain(A_DATA.email),
    },
  ],
  "GET /api/v1/contacts/duplicates": () => [
    { about: "B's groups only, not A's duplicate pair", expect: [200] },
  ],
  "POST /api/v1/contacts/merge": () => [
    {
      about: "A's contact into B's",
      body: { survivorId: b.contactId, duplicateIds: [a.contactId] },
      expect: NOT_FOUND,
    },
    {
      about: "B's contact into A's",
      body: { survivorId: a.contactId, duplicateIds: [b.contactId] },
      expect: NOT_FOUND,
    },
  ],
  "POST /api/v1/contacts/duplicates/merge": () => [
    { about: "B's dry run", body: {}, expect: [200] },
    {
      about: "B's policy, confirmed, leaves A's duplicate pair alone",
      body: { confirm: true },
      expect: [200],
    },
  ],

  "POST /api/v1/events": () => [
    {
      about: "an event for A's contact id",
      body: { events: [{ contactId: a.contactId, type: "isolation_probe" }] },
      expect: [200, 400, 404],
      check: (res) => {
        if (res.statusCode === 200) expect(res.json()).toMatchObject({ accepted: 0, rejected: 1 });
      },
    },
    {
      about: "an event by A's contact's email lands on B's own contact",
      body: { events: [{ email: A_DATA.email, type: "isolation_probe" }] },
      expect: [200],
      check: async (res) => {
        const contactId = res.json().results[0].contactId;
        expect(contactId).not.toBe(a.contactId);
        await eraseAsB(`/api/v1/contacts/${contactId}`);
      },
    },
  ],

  "POST /api/v1/contacts/imports": () => [
    {
      about: "an import into A's list",
      query: { listId: a.listId },
      csv: "email\nintruder@globex.example\n",
      expect: [400, 404],
    },
  ],
  "GET /api/v1/contacts/imports": () => [{ expect: [200] }],
  "GET /api/v1/contacts/imports/{id}": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/contacts/imports/{id}/rejections.csv": () => [{ expect: NOT_FOUND }],

  "POST /api/v1/audiences": () => [
    {
      about: "a segment nested on A's segment",
      body: { name: "Nested on theirs", definition: { kind: "audience", audienceId: a.segmentId } },
      expect: [400, 404],
    },
    {
      about: "a segment on A's list",
      body: { name: "On their list", definition: { kind: "list", listId: a.listId } },
      expect: [400, 404],
    },
    {
      about: "A's list name is free in B",
      body: { name: A_DATA.listName, kind: "list" },
      expect: [201],
      check: (res) => eraseAsB(`/api/v1/audiences/${res.json().id}`),
    },
  ],
  "GET /api/v1/audiences": () => [{ expect: [200] }],
  "POST /api/v1/audiences/preview": () => [
    { about: "everyone B has", body: { definition: contactsWithEmail }, expect: [200] },
    {
      about: "members of A's list",
      body: { definition: { kind: "list", listId: a.listId } },
      expect: [400, 404],
    },
    {
      about: "members of A's segment",
      body: { definition: { kind: "audience", audienceId: a.segmentId } },
      expect: [400, 404],
    },
    {
      about: "responses to A's campaign",
      body: { definition: { kind: "response", response: "opened", campaignId: a.campaignId } },
      expect: [200, 400, 404],
      check: (res) => {
        if (res.statusCode === 200) expect(res.json().count).toBe(0);
      },
    },
  ],
  "GET /api/v1/audiences/{id}": () => [{ expect: NOT_FOUND }],
  "PATCH /api/v1/audiences/{id}": () => [
    { body: { name: "Stolen" }, expect: NOT_FOUND },
    {
      about: "B's segment redefined on A's list",
      params: { id: b.segmentId },
      body: { definition: { kind: "list", listId: a.listId } },
      expect: [400, 404],
    },
  ],
  "DELETE /api/v1/audiences/{id}": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/audiences/{id}/count": (): Probe[] => [
    { query: { maxAgeSeconds: "0" }, expect: NOT_FOUND },
    { about: "A's audience's reach", query: { reach: "true" }, expect: NOT_FOUND },
  ],
  "GET /api/v1/audiences/{id}/members": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/audiences/{id}/members": () => [
    { body: { contactIds: [a.contactId] }, expect: NOT_FOUND },
    {
      about: "A's contact into B's list",
      params: { id: b.listId },
      body: { contactIds: [a.contactId] },
      expect: [200, 400, 404],
      check: (res) => {
        if (res.statusCode === 200) expect(res.json()).toMatchObject({ changed: 0, notFound: [a.contactId] });
      },
    },
  ],
  "POST /api/v1/audiences/{id}/members/remove": () => [
    { body: { contactIds: [a.contactId] }, expect: NOT_FOUND },
    {
      about: "A's contact out of B's list",
      params: { id: b.listId },
      body: { contactIds: [a.contactId] },
      expect: [200, 400, 404],
      check: (res) => {
        if (res.statusCode === 200) expect(res.json().changed).toBe(0);
      },
    },
  ],
  "POST /api/v1/audiences/{id}/freeze": () => [{ body: { name: "Stolen copy" }, expect: NOT_FOUND }],
  "GET /api/v1/audiences/{id}/transitions": () => [{ expect: NOT_FOUND }],

  "POST /api/v1/templates": () => [
    {
      about: "A's template name is free in B",
      body: { name: A_DATA.templateName, channel: "email" },
      expect: [201],
      check: (res) => eraseAsB(`/api/v1/templates/${res.json().id}`),
    },
  ],
  "GET /api/v1/templates": () => [{ expect: [200] }],
  "GET /api/v1/templates/{id}": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/templates/{id}/preview.html": () => [
    { expect: NOT_FOUND },
    {
      about: "B's template for A's contact",
      params: { id: b.templateId },
      query: { contactId: a.contactId },
      expect: [200, 404],
      check: (res) => expect(res.body).not.toContain(A_DATA.firstName),
    },
  ],
  "GET /api/v1/templates/{id}/preview.pdf": () => [
    { expect: NOT_FOUND },
    {
      about: "B's template printed for A's contact",
      params: { id: b.templateId },
      query: { contactId: a.contactId },
      expect: [400, 404],
    },
  ],
  "PATCH /api/v1/templates/{id}": () => [{ body: { name: "Stolen" }, expect: NOT_FOUND }],
  "DELETE /api/v1/templates/{id}": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/templates/{id}/preview": () => [
    { body: {}, expect: NOT_FOUND },
    { about: "A's template for A's contact", body: { contactId: a.contactId }, expect: NOT_FOUND },
    {
      about: "B's template for A's contact",
      params: { id: b.templateId },
      body: { contactId: a.contactId },
      expect: NOT_FOUND,
    },
  ],
  "GET /api/v1/templates/{id}/versions": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/templates/{id}/versions/{version}": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/templates/{id}/versions/{version}/restore": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/templates/{id}/test-send": () => [
    { body: { to: "bea@globex.example" }, expect: NOT_FOUND },
    {
      about: "B's template for A's contact",
      params: { id: b.templateId },
      body: { to: "bea@globex.example", contactId: a.contactId },
      expect: NOT_FOUND,
    },
  ],
  "POST /api/v1/templates/preview": () => [
    {
      about: "a draft for A's contact",
      body: {
        channel: "sms",
        content: { body: "Hi {{ firstName | default: 'x' }}" },
        contactId: a.contactId,
      },
      expect: NOT_FOUND,
    },
  ],

  "POST /api/v1/workflows": () => [
    {
      // Drafts are stored even when invalid, by design; the foreign template fails validation.
      about: "a draft sending A's template",
      body: { name: A_DATA.workflowName, graph: sendsTemplate(a.templateId) },
      expect: [201],
      check: async (res) => {
        const id = res.json().id;
        const validation = await t.asB({
          method: "POST",
          url: `/api/v1/workflows/${id}/validate`,
          payload: {},
        });
        expect(validation.json().valid).toBe(false);
        const published = await t.asB({ method: "POST", url: `/api/v1/workflows/${id}/publish` });
        expect(published.statusCode).toBe(422);
        expect(published.body).not.toContain(A_DATA.templateName);
        await eraseAsB(`/api/v1/workflows/${id}`);
      },
    },
  ],
  "GET /api/v1/workflows": () => [{ expect: [200] }],
  "GET /api/v1/workflows/{id}": () => [{ expect: NOT_FOUND }],
  "PATCH /api/v1/workflows/{id}": () => [{ body: { name: "Stolen" }, expect: NOT_FOUND }],
  "DELETE /api/v1/workflows/{id}": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/workflows/{id}/validate": () => [
    { body: {}, expect: NOT_FOUND },
    {
      about: "B's workflow checked with a graph sending A's template",
      params: { id: b.workflowId },
      body: { graph: sendsTemplate(a.templateId) },
      expect: [200],
      check: (res) => expect(res.json().valid).toBe(false),
    },
  ],
  "POST /api/v1/workflows/{id}/publish": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/workflows/{id}/versions": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/workflows/{id}/versions/{version}": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/workflows/{id}/versions/{version}/simulate": () => [
    { body: { contactId: a.contactId }, expect: NOT_FOUND },
    {
      about: "B's workflow simulated for A's contact",
      params: { id: b.workflowId, version: "1" },
      body: { contactId: a.contactId },
      expect: [400, 404],
    },
  ],

  "POST /api/v1/campaigns": () => [
    {
      about: "A's list and A's workflow",
      body: { name: "Hijack", audienceId: a.listId, workflowId: a.workflowId },
      expect: [400, 404],
    },
    {
      about: "A's list with B's workflow",
      body: { name: "Hijack", audienceId: a.listId, workflowId: b.workflowId },
      expect: [400, 404],
    },
    {
      about: "B's list with A's workflow",
      body: { name: "Hijack", audienceId: b.listId, workflowId: a.workflowId },
      expect: [400, 404],
    },
    {
      about: "B's list and workflow with A's topic",
      body: { name: "Hijack", audienceId: b.listId, workflowId: b.workflowId, topicId: a.topicId },
      expect: [400, 404],
    },
  ],
  "GET /api/v1/campaigns": () => [
    {
      about: "filtered by status, B's own campaigns only",
      query: { status: "draft" },
      expect: [200],
      check: (res) => expect(res.json().data.map((c: { id: string }) => c.id)).not.toContain(a.campaignId),
    },
    { expect: [200] },
  ],
  "GET /api/v1/workspace/sender": () => [{ about: "B sees only its own, if any", expect: [200, 404] }],
  "PUT /api/v1/workspace/sender": () => [
    {
      about: "B sets its own",
      body: { fromAddress: "hello@b.example", postalAddress: "2 Other Road, Elsewhere" },
      expect: [200],
    },
  ],
  "GET /api/v1/workspace/hooks": () => [
    {
      about: "B gets its own hook URLs, whose token names B only",
      expect: [200],
      check: (response) => {
        const { emailFeedback } = response.json() as { emailFeedback: string };
        expect(emailFeedback).not.toContain(t.a.id);
        expect(readEmailHookToken(TEST_KEYS.links, emailFeedback.split("/").pop()!)).toBe(t.b.id);
      },
    },
  ],
  "GET /api/v1/sso": () => [{ about: "B sees only its own single sign-on, if any", expect: [200, 404] }],
  "PUT /api/v1/sso": () => [
    {
      about: "B sets its own",
      body: {
        slug: "globex-isolation",
        issuer: "https://login.globex.example",
        clientId: "globex-client",
        clientSecret: "globex-client-secret",
      },
      expect: [200],
    },
  ],
  "DELETE /api/v1/sso": () => [{ about: "B removes its own, if any", expect: [200, 404] }],
  "POST /api/v1/sso/test": () => [
    {
      about: "B tests its own (none yet: DELETE ran before); A's issuer is never fetched",
      expect: [200, 404],
    },
  ],
  "GET /api/v1/workspace/providers": () => [{ about: "B sees only its own", expect: [200] }],
  "PUT /api/v1/workspace/providers/{channel}": () => [
    {
      about: "B sets its own",
      params: { channel: "email" },
      body: { provider: "smtp", settings: { host: "smtp.globex.example", port: 587 } },
      expect: [200],
    },
  ],
  "DELETE /api/v1/workspace/providers/{channel}": () => [
    { about: "B removes its own, if any", params: { channel: "sms" }, expect: [200, 404] },
  ],
  "GET /api/v1/workspace/delivery-policies": () => [{ expect: [200] }],
  "PUT /api/v1/workspace/delivery-policies/{channel}": () => [
    {
      about: "B sets its own",
      params: { channel: "sms" },
      body: { allowedHours: { from: "10:00", to: "18:00" }, frequencyCap: null },
      expect: [200],
    },
  ],
  "GET /api/v1/outbox": () => [
    { expect: [200] },
    { about: "filtered by A's recipient", query: { recipient: A_DATA.email }, expect: [200] },
  ],
  "GET /api/v1/outbox/{id}/pdf": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/outbox/{id}/html": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/overview": () => [{ about: "B's own campaigns, responses and attention only", expect: [200] }],
  "POST /api/v1/ad-destinations": () => [
    {
      about: "A's destination name is free in B",
      body: { name: A_AD_NAME, platform: "csv" },
      expect: [201],
      check: (res) => eraseAsB(`/api/v1/ad-destinations/${res.json().id}`),
    },
  ],
  "GET /api/v1/ad-destinations": () => [{ expect: [200] }],
  "GET /api/v1/ad-destinations/{id}": () => [{ expect: NOT_FOUND }],
  "PATCH /api/v1/ad-destinations/{id}": () => [
    { body: { name: "Stolen" }, expect: NOT_FOUND },
    {
      about: "B's token on A's destination",
      body: { credentials: { accessToken: "EAAB-b" } },
      expect: NOT_FOUND,
    },
  ],
  "DELETE /api/v1/ad-destinations/{id}": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/ad-destinations/{id}/members.csv": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/topics": () => [
    {
      about: "A's topic name is free in B",
      body: { name: A_DATA.topicName },
      expect: [201],
      check: (res) => eraseAsB(`/api/v1/topics/${res.json().id}`),
    },
  ],
  "GET /api/v1/topics": () => [{ expect: [200] }],
  "GET /api/v1/retention/policies": () => [
    {
      about: "A's policy is not listed; B then sets its own for the run probes (GET sorts before POST)",
      expect: [200],
      check: async (res) => {
        expect(res.json().data.map((p: { kind: string }) => p.kind)).not.toContain("finished_journeys");
        const set = await t.asB({
          method: "PUT",
          url: "/api/v1/retention/policies/undeliverable",
          payload: { enabled: false, settings: { action: "delete" } },
        });
        expect(set.statusCode).toBe(200);
      },
    },
    {
      about: "B sets its own duplicates policy for the run probes (A has a pair of likely duplicates)",
      expect: [200],
      check: async () => {
        const set = await t.asB({
          method: "PUT",
          url: "/api/v1/retention/policies/duplicates",
          payload: { enabled: false, settings: {} },
        });
        expect(set.statusCode).toBe(200);
      },
    },
  ],
  "PUT /api/v1/retention/policies/{kind}": () => [
    {
      about: "B sets its own policy; A's stays unset",
      params: { kind: "print_files" },
      body: { enabled: false, settings: { olderThanDays: 365 } },
      expect: [200],
    },
  ],
  "POST /api/v1/retention/policies/{kind}/run": () => [
    {
      about: "B has set no policy of this kind (A has)",
      params: { kind: "finished_journeys" },
      body: {},
      expect: NOT_FOUND,
    },
    {
      about: "B's dry run counts B's contacts only",
      params: { kind: "undeliverable" },
      body: {},
      expect: [200],
      check: (res) => expect(res.json().counts).toEqual({ deleted: 0 }),
    },
    {
      about: "B's duplicates dry run finds none of A's duplicates",
      params: { kind: "duplicates" },
      body: {},
      expect: [200],
      check: (res) => expect(res.json().counts).toEqual({ groups: 0, merged: 0 }),
    },
  ],
  "GET /api/v1/retention/runs": () => [
    {
      expect: [200],
      check: (res) => {
        for (const run of res.json().data) expect(run.kind).toBe("print_files");
      },
    },
  ],
  "GET /api/v1/topics/{id}": () => [{ expect: NOT_FOUND }],
  "PATCH /api/v1/topics/{id}": () => [{ body: { name: "Stolen" }, expect: NOT_FOUND }],
  "DELETE /api/v1/topics/{id}": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/contacts/{id}/topics": () => [{ expect: NOT_FOUND }],
  "PUT /api/v1/contacts/{id}/topics/{topicId}": () => [
    { body: { subscribed: false }, expect: NOT_FOUND },
    {
      about: "B's contact opted out of A's topic",
      params: { id: b.contactId, topicId: a.topicId },
      body: { subscribed: false },
      expect: NOT_FOUND,
    },
    {
      about: "A's contact opted out of B's topic",
      params: { id: a.contactId, topicId: b.topicId },
      body: { subscribed: false },
      expect: NOT_FOUND,
    },
  ],
  "GET /api/v1/campaigns/{id}": () => [{ expect: NOT_FOUND }],
  "PATCH /api/v1/campaigns/{id}": () => [
    { body: { name: "taken over" }, expect: NOT_FOUND },
    {
      about: "B's campaign pointed at A's audience",
      params: { id: b.campaignId },
      body: { audienceId: a.listId },
      expect: [400, 409],
    },
  ],
  "GET /api/v1/contacts/{id}/audiences": () => [
    { expect: NOT_FOUND },
    {
      about: "B's own contact's audiences hold none of A's",
      params: { id: b.contactId },
      expect: [200],
      check: (res) => {
        const ids = (res.json().data as { id: string }[]).map((audience) => audience.id);
        expect(ids).not.toContain(a.listId);
        expect(ids).not.toContain(a.segmentId);
      },
    },
  ],
  "GET /api/v1/contacts/{id}/activity": () => [
    { expect: NOT_FOUND },
    {
      about: "B's own contact's timeline holds nothing of A's",
      params: { id: b.contactId },
      query: { limit: "200" },
      expect: [200],
      check: (res) => expect(res.body).not.toContain(a.campaignId),
    },
  ],
  "GET /api/v1/contacts/{id}/trace": () => [
    { expect: NOT_FOUND },
    {
      about: "B's contact traced in A's campaign",
      params: { id: b.contactId },
      query: { campaignId: a.campaignId },
      expect: NOT_FOUND,
    },
  ],
  "GET /api/v1/campaigns/{id}/messages": () => [
    { expect: NOT_FOUND },
    { about: "A's failed rows", query: { status: "failed" }, expect: NOT_FOUND },
  ],
  "GET /api/v1/campaigns/{id}/report": () => [{ expect: NOT_FOUND }],
  "GET /api/v1/campaigns/{id}/report.csv": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/campaigns/{id}/launch": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/campaigns/{id}/pause": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/campaigns/{id}/resume": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/campaigns/{id}/cancel": () => [{ expect: NOT_FOUND }],
  "POST /api/v1/campaigns/{id}/retry": () => [
    { body: { contactId: a.contactId }, expect: NOT_FOUND },
    {
      about: "B's campaign retried for A's contact",
      params: { id: b.campaignId },
      body: { contactId: a.contactId },
      expect: [400, 404],
    },
  ],
  "POST /api/v1/campaigns/{id}/enrollments": () => [
    { body: { contactId: a.contactId }, expect: NOT_FOUND },
    {
      about: "A's contact enrolled into B's campaign",
      params: { id: b.campaignId },
      body: { contactId: a.contactId },
      expect: [400, 404],
    },
  ],
  "GET /api/v1/campaigns/{id}/enrollments/{contactId}": () => [
    { expect: NOT_FOUND },
    {
      about: "A's contact in B's campaign",
      params: { id: b.campaignId, contactId: a.contactId },
      expect: NOT_FOUND,
    },
  ],
};

async function apiKeyIdsOf(workspaceId: string): Promise<string[]> {
  const { rows } = await t.database.handle.pool.query<{ id: string }>(
    "select id from api_keys where workspace_id = $1",
    [workspaceId],
  );
  return rows.map((row) => row.id);
}

/**
 * Removes what a probe made in B with A's names or addresses, so that later listings by B do not show
 * B's own copy of them as if it were A's.
 */
async function eraseAsB(url: string) {
  const response = await t.asB({ method: "DELETE", url });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
}

/** Which of A's objects a path parameter names, by the path segment before it. */
function objectsFor(path: string, parameter: string): string[] {
  const segments = path.split("/");
  const at = segments.indexOf(`{${parameter}}`);
  const key = `${segments[at - 1]}/{${parameter}}`;
  const byKey: Record<string, string[]> = {
    "contacts/{id}": [a.contactId],
    "imports/{id}": [a.importId!],
    "audiences/{id}": [a.segmentId, a.listId],
    "templates/{id}": [a.templateId],
    "workflows/{id}": [a.workflowId],
    "versions/{version}": ["1"],
    "campaigns/{id}": [a.campaignId],
    "ad-destinations/{id}": [a.adDestinationId!],
    "topics/{id}": [a.topicId],
    "topics/{topicId}": [a.topicId],
    "enrollments/{contactId}": [a.contactId],
    "outbox/{id}": [a.outboxMailId!],
    "members/{userId}": [a.memberUserId!],
    "invitations/{id}": [a.invitationId!],
    "api-keys/{id}": [a.apiKeyId!],
  };
  const objects = byKey[key];
  if (!objects) throw new Error(`no object of A's for ${key} in ${path}: add one to objectsFor`);
  return objects;
}

function parametersOf(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
}

/** Every combination of A's objects for the path's parameters. */
function combinations(path: string): Record<string, string>[] {
  return parametersOf(path).reduce<Record<string, string>[]>(
    (partial, parameter) =>
      partial.flatMap((values) => objectsFor(path, parameter).map((id) => ({ ...values, [parameter]: id }))),
    [{}],
  );
}

const contactsWithEmail = { kind: "field", field: "email", type: "string", condition: { op: "exists" } };

function sendsTemplate(templateId: string) {
  return {
    nodes: [
      { id: "entry", type: "entry", outlets: { next: "hello" } },
      { id: "hello", type: "send", channel: "email", templateId, outlets: { next: "done" } },
      { id: "done", type: "exit", outlets: {} },
    ],
  };
}

interface Request {
  method: Method;
  url: string;
  body?: unknown;
  csv?: string;
}

function requestFor(operation: string, probe: Probe, params: Record<string, string>): Request {
  const [method, path] = operation.split(" ") as [Method, string];
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!);
  const query = probe.query ? `?${new URLSearchParams(probe.query)}` : "";
  return { method, url: `${filled}${query}`, body: probe.body, csv: probe.csv };
}

function sendAsB(request: Request): Promise<Response> {
  if (request.csv !== undefined) {
    return t.asB({
      method: request.method,
      url: request.url,
      headers: { "content-type": "text/csv" },
      payload: request.csv,
    });
  }
  return t.asB({
    method: request.method,
    url: request.url,
    ...(request.body === undefined ? {} : { payload: request.body as object }),
  });
}

/** The same request with each of A's ids replaced by an id that exists nowhere. */
function withRandomIds(request: Request): Request {
  const text = JSON.stringify(request);
  let replaced = text;
  for (const id of Object.values(a)) replaced = replaced.replaceAll(id, randomUUID());
  return JSON.parse(replaced) as Request;
}

/** The names of A's secrets in the response that B did not send itself. */
function leaksIn(response: Response, request: Request): string[] {
  const sent = JSON.stringify(request);
  const received = `${JSON.stringify(response.headers)}\n${response.body}`;
  return Object.entries(secrets)
    .filter(([, value]) => !sent.includes(value) && received.includes(value))
    .map(([name]) => name);
}

function problemCode(response: Response): unknown {
  try {
    return response.json().code;
  } catch {
    return undefined;
  }
}

async function runJobs() {
  await runQueuedJobs(t.database.handle);
}

async function created(who: "a" | "b", url: string, payload: object): Promise<string> {
  const response = await (who === "a" ? t.asA : t.asB)({ method: "POST", url, payload });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(201);
  return response.json().id;
}

/** A world of one of every kind of object, made through the API. */
async function buildWorld(who: "a" | "b", names: { email: string; prefix: string }): Promise<World> {
  const call = who === "a" ? t.asA : t.asB;
  const contactId = await created(who, "/api/v1/contacts", {
    email: names.email,
    ...(who === "a" ? { externalId: A_DATA.externalId, firstName: A_DATA.firstName } : {}),
    attributes: { ltv: 420 },
  });
  const segmentId = await created(who, "/api/v1/audiences", {
    name: `${names.prefix} segment`,
    definition: {
      kind: "field",
      field: "attributes.ltv",
      type: "number",
      condition: { op: "gt", value: 100 },
    },
  });
  const listId = await created(who, "/api/v1/audiences", { name: `${names.prefix} list`, kind: "list" });
  const added = await call({
    method: "POST",
    url: `/api/v1/audiences/${listId}/members`,
    payload: { contactIds: [contactId] },
  });
  expect(added.json().changed).toBe(1);
  const templateId = await created(who, "/api/v1/templates", {
    name: `${names.prefix} template`,
    channel: "email",
    content: { subject: `${names.prefix} subject`, html: "<p>Hello</p>" },
  });
  const workflowId = await created(who, "/api/v1/workflows", {
    name: `${names.prefix} flow`,
    graph: sendsTemplate(templateId),
  });
  const published = await call({ method: "POST", url: `/api/v1/workflows/${workflowId}/publish` });
  expect(published.statusCode, published.body).toBe(201);
  const topicId = await created(who, "/api/v1/topics", { name: `${names.prefix} topic` });
  const campaignId = await created(who, "/api/v1/campaigns", {
    name: `${names.prefix} campaign`,
    audienceId: listId,
    workflowId,
    topicId,
  });
  return { contactId, segmentId, listId, templateId, workflowId, campaignId, topicId };
}

async function launch(who: "a" | "b", campaignId: string) {
  const response = await (who === "a" ? t.asA : t.asB)({
    method: "POST",
    url: `/api/v1/campaigns/${campaignId}/launch`,
  });
  expect(response.json()).toMatchObject({ changed: 1, campaign: { status: "running" } });
}

/** Everything of A's that B could read or change, read back as A. */
async function snapshotOfA() {
  const read = async (url: string) => {
    const response = await t.asA({ method: "GET", url });
    const json = response.headers["content-type"]?.toString().includes("json");
    return { status: response.statusCode, body: json ? response.json() : response.body };
  };
  const ids = (page: { body: { data?: { id: string }[] } }) => page.body.data?.map((row) => row.id).sort();
  const { rows } = await t.database.handle.pool.query(
    `select
       (select count(*)::int from events where workspace_id = $1) as events,
       (select count(*)::int from contacts where workspace_id = $1) as contacts,
       (select count(*)::int from audiences where workspace_id = $1) as audiences,
       (select count(*)::int from templates where workspace_id = $1) as templates,
       (select count(*)::int from workflows where workspace_id = $1) as workflows,
       (select count(*)::int from campaigns where workspace_id = $1) as campaigns,
       (select count(*)::int from topics where workspace_id = $1) as topics,
       (select count(*)::int from contact_topics where workspace_id = $1) as contact_topics`,
    [t.a.id],
  );
  return {
    counts: rows[0],
    contact: await read(`/api/v1/contacts/${a.contactId}`),
    archivedContact: await read(`/api/v1/contacts/${a.archivedContactId}`),
    contacts: ids(await read("/api/v1/contacts?limit=100")),
    segment: await read(`/api/v1/audiences/${a.segmentId}`),
    list: await read(`/api/v1/audiences/${a.listId}`),
    listMembers: ids(await read(`/api/v1/audiences/${a.listId}/members`)),
    listCount: (await read(`/api/v1/audiences/${a.listId}/count?maxAgeSeconds=0`)).body.count,
    import: await read(`/api/v1/contacts/imports/${a.importId}`),
    rejections: await read(`/api/v1/contacts/imports/${a.importId}/rejections.csv`),
    template: await read(`/api/v1/templates/${a.templateId}`),
    workflow: await read(`/api/v1/workflows/${a.workflowId}`),
    versions: await read(`/api/v1/workflows/${a.workflowId}/versions`),
    version: await read(`/api/v1/workflows/${a.workflowId}/versions/1`),
    campaign: await read(`/api/v1/campaigns/${a.campaignId}`),
    topic: await read(`/api/v1/topics/${a.topicId}`),
    enrollment: await read(`/api/v1/campaigns/${a.campaignId}/enrollments/${a.contactId}`),
    adDestination: await read(`/api/v1/ad-destinations/${a.adDestinationId}`),
    adMembers: await read(`/api/v1/ad-destinations/${a.adDestinationId}/members.csv`),
    team: await read("/api/v1/team"),
    sso: await read("/api/v1/sso"),
  };
}

const A_SMTP_PASSWORD = "acme-smtp-password-never-shown";
const A_AD_NAME = "Acme secret audience";
const A_AD_TOKEN = "EAAB-acme-secret-ads-token-0123456789";
const A_SSO_SECRET = "acme-secret-oidc-client-secret";
const A_SSO_CLIENT_ID = "acme-secret-oidc-client-id";
const A_SSO_ISSUER = "https://login.acme-secret.example";
let before: Awaited<ReturnType<typeof snapshotOfA>>;
let served: string[];

beforeAll(async () => {
  a = await buildWorld("a", { email: A_DATA.email, prefix: "Acme secret" });
  await created("a", "/api/v1/contacts", { email: A_DATA.duplicateEmail });
  await created("a", "/api/v1/contacts", { email: A_DATA.duplicateEmailAgain });
  expect((await t.asA({ method: "GET", url: "/api/v1/contacts/duplicates" })).json().data).toHaveLength(1);
  a.archivedContactId = await created("a", "/api/v1/contacts", { email: A_DATA.archivedEmail });
  await t.database.handle.pool.query(
    "update contacts set archived_at = now() where workspace_id = $1 and id = $2",
    [t.a.id, a.archivedContactId],
  );
  const retention = await t.asA({
    method: "PUT",
    url: "/api/v1/retention/policies/finished_journeys",
    payload: { enabled: true, settings: { olderThanDays: 90 } },
  });
  expect(retention.statusCode, retention.body).toBe(200);
  const importResponse = await t.asA({
    method: "POST",
    url: `/api/v1/contacts/imports?filename=${A_DATA.importFilename}`,
    headers: { "content-type": "text/csv" },
    payload: `email,first name\n${A_DATA.importedEmail},Imogen\nnot-an-email,${A_DATA.rejectedRow}\n`,
  });
  expect(importResponse.statusCode, importResponse.body).toBe(202);
  a.importId = importResponse.json().id;
  await runJobs();
  const sender = await t.asA({
    method: "PUT",
    url: "/api/v1/workspace/sender",
    payload: {
      fromName: A_DATA.workspaceName,
      fromAddress: "news@acme.example",
      postalAddress: `${A_DATA.firstName} House, 1 High St`,
    },
  });
  expect(sender.statusCode, sender.body).toBe(200);
  const adDestination = await t.asA({
    method: "POST",
    url: "/api/v1/ad-destinations",
    payload: {
      name: A_AD_NAME,
      platform: "meta",
      audienceId: "6001",
      credentials: { accessToken: A_AD_TOKEN },
    },
  });
  expect(adDestination.statusCode, adDestination.body).toBe(201);
  a.adDestinationId = adDestination.json().id;
  await t.database.handle.pool.query(
    `insert into ad_audience_members (workspace_id, destination_id, contact_id, added_at) values ($1, $2, $3, now())`,
    [t.a.id, a.adDestinationId, a.contactId],
  );
  const provider = await t.asA({
    method: "PUT",
    url: "/api/v1/workspace/providers/email",
    payload: {
      provider: "smtp",
      settings: { host: "smtp.acme-secret.example", port: 587, user: A_DATA.email },
      secrets: { password: A_SMTP_PASSWORD },
    },
  });
  expect(provider.statusCode, provider.body).toBe(200);
  expect(provider.body).not.toContain(A_SMTP_PASSWORD);
  const sso = await t.asA({
    method: "PUT",
    url: "/api/v1/sso",
    payload: {
      slug: "acme-isolation",
      issuer: A_SSO_ISSUER,
      clientId: A_SSO_CLIENT_ID,
      clientSecret: A_SSO_SECRET,
    },
  });
  expect(sso.statusCode, sso.body).toBe(200);
  expect(sso.body).not.toContain(A_SSO_SECRET);
  // Something in A's dev inbox, so that B's reads of the outbox have something to leak.
  const delivered = await createDevInboxEmailChannel(t.database.handle.db).send({
    workspaceId: t.a.id,
    messageId: null,
    idempotencyKey: `isolation:${A_DATA.email}`,
    from: { address: "news@acme.example" },
    to: { address: A_DATA.email },
    subject: A_DATA.subject,
    html: `<p>${A_DATA.firstName}</p>`,
    text: A_DATA.firstName,
  });
  expect(delivered.kind).toBe("sent");
  const mailed = await createDevInboxMailChannel(t.database.handle.db).send({
    workspaceId: t.a.id,
    messageId: null,
    idempotencyKey: `isolation:mail:${A_DATA.email}`,
    layout: "letter",
    to: {
      name: A_DATA.firstName,
      line1: "1 High St",
      city: "Springfield",
      region: "IL",
      postalCode: "62701",
      country: "US",
    },
    returnAddress: `${A_DATA.workspaceName}\n1 Market St\nSan Francisco, CA 94105`,
    body: A_DATA.firstName,
    purl: "http://omneural.test/r/7K3M9Q2XD4",
  });
  if (mailed.kind !== "sent") throw new Error(JSON.stringify(mailed));
  a.outboxMailId = mailed.providerMessageId;
  const events = await t.asA({
    method: "POST",
    url: "/api/v1/events",
    payload: {
      events: [
        { contactId: a.contactId, type: "purchase", properties: { sku: A_DATA.eventProperty } },
        { contactId: a.contactId, type: "message.opened", properties: { campaignId: a.campaignId } },
      ],
    },
  });
  expect(events.json().accepted).toBe(2);
  await launch("a", a.campaignId);
  a.memberUserId = (await t.member(t.a, "owner", A_DATA.memberEmail)).userId;
  const invitation = await t.asA({
    method: "POST",
    url: "/api/v1/team/invitations",
    payload: { email: A_DATA.invitedEmail, role: "marketer" },
  });
  expect(invitation.statusCode, invitation.body).toBe(201);
  a.invitationId = invitation.json().id;
  a.apiKeyId = (await apiKeyIdsOf(t.a.id))[0];

  b = await buildWorld("b", { email: "bea@globex.example", prefix: "Globex" });
  await launch("b", b.campaignId);

  secrets = {
    ...A_DATA,
    smtpPassword: A_SMTP_PASSWORD,
    smtpHost: "smtp.acme-secret.example",
    adDestinationName: A_AD_NAME,
    adToken: A_AD_TOKEN,
    ssoSecret: A_SSO_SECRET,
    ssoClientId: A_SSO_CLIENT_ID,
    ssoIssuer: A_SSO_ISSUER,
    workspaceId: t.a.id,
    ...Object.fromEntries(Object.entries(a).map(([name, id]) => [name, id as string])),
  };
  before = await snapshotOfA();
  expect(before.import.body.status).toBe("completed");
  expect(before.rejections.body).toContain(A_DATA.rejectedRow);

  const document = await t.asB({ method: "GET", url: "/api/openapi.json" });
  served = operationsOf(document.json() as OpenApiDocument);
});

describe("tenant isolation", () => {
  it("has a probe for exactly the operations of the OpenAPI document", () => {
    expect(served).toEqual(discovered);
    expect(Object.keys(OPERATIONS).sort()).toEqual(discovered);
  });

  const operations = [...new Set([...discovered, ...Object.keys(OPERATIONS)])].sort();
  it.each(operations)("%s shows and changes nothing of another workspace", async (operation) => {
    const probes = OPERATIONS[operation];
    expect(probes, `${operation} has no probe: add one to OPERATIONS`).toBeDefined();
    expect(discovered, `${operation} is not in the OpenAPI document: remove it from OPERATIONS`).toContain(
      operation,
    );
    const path = operation.split(" ")[1]!;
    for (const probe of probes!()) {
      for (const params of probe.params ? [probe.params] : combinations(path)) {
        const request = requestFor(operation, probe, params);
        const label = `${request.method} ${request.url}${probe.about ? ` (${probe.about})` : ""}`;
        const response = await sendAsB(request);
        expect(probe.expect, `${label} answered ${response.statusCode}: ${response.body}`).toContain(
          response.statusCode,
        );
        expect(leaksIn(response, request), `${label} leaks A's data: ${response.body}`).toEqual([]);
        await probe.check?.(response);
        if (probe.expect.every((status) => status >= 400)) {
          const control = await sendAsB(withRandomIds(request));
          expect(
            [control.statusCode, problemCode(control)],
            `${label} tells A's objects from ids that exist nowhere`,
          ).toEqual([response.statusCode, problemCode(response)]);
        }
        expect(await snapshotOfA(), `${label} changed A's objects`).toEqual(before);
      }
    }
  });

  it("leaves every object of A's as it was", async () => {
    const after = await snapshotOfA();
    expect(after).toEqual(before);
    expect(after.contact.body.email).toBe(A_DATA.email);
    expect(after.campaign.body).toMatchObject({ name: A_DATA.campaignName, status: "running", enrolled: 1 });
    expect(after.workflow.body).toMatchObject({ name: A_DATA.workflowName, latestVersion: 1 });
    expect(after.list.body.name).toBe(A_DATA.listName);
    expect(after.listMembers).toEqual([a.contactId]);
    expect(after.template.body.content).toEqual({ subject: A_DATA.subject, html: "<p>Hello</p>" });
  });
});
