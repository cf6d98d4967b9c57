/** /api/v1/contacts */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  Contact,
  ContactCreate,
  ContactErased,
  ContactExport,
  ContactIdParams,
  ContactList,
  ContactListQuery,
  ContactPatch,
} from "@omneural/contracts/contacts";
import { ContactTrace, ContactTraceQuery } from "@omneural/contracts/workflows";
import { traceContact } from "@omneural/core/campaigns/trace.service";
import {
  getContact,
  patchContact,
  restoreContact,
  searchContacts,
  upsertContact,
} from "@omneural/core/contacts/contact.service";
import { eraseContact } from "@omneural/core/contacts/erasure.service";
import { exportContact } from "@omneural/core/contacts/export.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function contactRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const { tombstones: tombstoneKey } = app.deps.keys;
  const tags = ["contacts"];

  app.post(
    "/contacts",
    {
      schema: {
        tags,
        summary: "Create or update a contact",
        description:
          "Matches an existing contact by externalId, else email, else phone, and updates it (200); otherwise creates one (201). Emails are lower-cased, phones stored in E.164 using the workspace's default country, and the timezone defaults from the address or phone country.",
        body: ContactCreate,
        response: { 200: Contact, 201: Contact, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const { contact, created } = await upsertContact(
        db,
        request.workspace,
        request.body,
        { source: "api", id: request.apiKeyId },
        { tombstoneKey },
      );
      return reply.code(created ? 201 : 200).send(contact);
    },
  );

  app.get(
    "/contacts",
    {
      schema: {
        tags,
        summary: "List and search contacts",
        description:
          "Newest first, with cursor pagination. `search` matches an email prefix, a phone number, or part of a name. Archived contacts are left out unless `archived` is `include` (with the others) or `only` (just them).",
        querystring: ContactListQuery,
        response: { 200: ContactList, ...problemResponses(400, 401) },
      },
    },
    async (request) => searchContacts(db, request.workspace, request.query),
  );

  app.get(
    "/contacts/:id",
    {
      schema: {
        tags,
        summary: "Get a contact",
        params: ContactIdParams,
        response: { 200: Contact, ...problemResponses(401, 404) },
      },
    },
    async (request) => getContact(db, request.workspace, request.params.id),
  );

  app.post(
    "/contacts/:id/restore",
    {
      schema: {
        tags,
        summary: "Restore an archived contact",
        description:
          "Clears archivedAt: audiences (segments, lists, campaign launches and entries) select the contact again and it can be sent to. Listened segments re-check it, so a running continuous campaign over one of them may enroll it. Journeys it was in when it was archived stay ended. A contact that is not archived is returned unchanged. Archiving keeps every row, so nothing needs to be brought back but the flag (see docs/data-lifecycle.md).",
        params: ContactIdParams,
        response: { 200: Contact, ...problemResponses(401, 404) },
      },
    },
    async (request) => restoreContact(db, request.workspace, request.params.id),
  );

  app.get(
    "/contacts/:id/trace",
    {
      schema: {
        tags,
        summary: "Why this contact did or did not get a campaign's messages",
        description:
          "Per campaign: the member's journey (each step with its reason), each send-ledger row with its decision and reason (consent, suppression, quiet hours, frequency cap, provider answer) and each response; beside them the contact's consent now and the suppressions of its addresses. Without campaignId, the 20 campaigns that most recently queued a message to the contact.",
        params: ContactIdParams,
        querystring: ContactTraceQuery,
        response: { 200: ContactTrace, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => traceContact(db, request.workspace, request.params.id, request.query),
  );

  app.patch(
    "/contacts/:id",
    {
      schema: {
        tags,
        summary: "Update a contact",
        description:
          "Changes only the fields given. `attributes` are merged; an attribute set to null is removed. Consent changes are recorded in the consent ledger.",
        params: ContactIdParams,
        body: ContactPatch,
        response: { 200: Contact, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) =>
      patchContact(db, request.workspace, request.params.id, request.body, {
        source: "api",
        id: request.apiKeyId,
      }),
  );

  app.delete(
    "/contacts/:id",
    {
      schema: {
        tags,
        summary: "Erase a contact (GDPR)",
        description:
          "Complete, permanent erasure in one transaction. Journeys in progress are exited first (cancelled) and queued sends cancelled; then the profile, events and responses, consent ledger, list and segment memberships, topic choices, journeys with their history, send-ledger rows, rendered messages (dev-inbox copies and print pieces), PURLs, short links and ad-audience memberships are deleted, test sends to the contact's address lose their recipient, and rejected import lines carrying the email or phone are deleted. What stays: campaign report counts (anonymised aggregates), a tombstone on the suppression list for each opted-out or suppressed email and phone (a keyed hash, not the address, so a re-import can never contact the person again), and an erasure-log entry with the counts and a random id, never who was erased. Print batches already written to disk (merged PDFs handed to the print shop) and copies held by providers are outside Omneural's reach (see docs/data-lifecycle.md). The answer says what was removed.",
        params: ContactIdParams,
        response: { 200: ContactErased, ...problemResponses(401, 404) },
      },
    },
    async (request) =>
      eraseContact(db, request.workspace, request.params.id, {
        tombstoneKey,
        requestedBy: { source: "api", actor: request.apiKeyId },
      }),
  );

  app.get(
    "/contacts/:id/export",
    {
      schema: {
        tags,
        summary: "Export everything held about a contact (GDPR)",
        description:
          "One JSON document, read in one snapshot: the profile, consent ledger, lists, segments and their entries and exits, topic choices, events, responses, journeys with every step, campaign entries, goal conversions, A/B assignments, send-ledger rows with what was rendered for them (the dev inbox's copy, the print piece, the PURL, SMS short links), test sends and other dev-inbox entries to the contact's addresses, ad-audience memberships, and the suppression entries of their addresses (erasure tombstones included).",
        params: ContactIdParams,
        response: { 200: ContactExport, ...problemResponses(401, 404) },
      },
    },
    async (request) => exportContact(db, request.workspace, request.params.id, { tombstoneKey }),
  );
}
