/** /api/v1/contacts */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  Contact,
  ContactCreate,
  ContactErased,
  ContactIdParams,
  ContactList,
  ContactListQuery,
  ContactPatch,
} from "@omneural/contracts/contacts";
import { ContactTrace, ContactTraceQuery } from "@omneural/contracts/workflows";
import { traceContact } from "@omneural/core/campaigns/trace.service";
import {
  eraseContact,
  getContact,
  patchContact,
  searchContacts,
  upsertContact,
} from "@omneural/core/contacts/contact.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function contactRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
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
      const { contact, created } = await upsertContact(db, request.workspace, request.body, {
        source: "api",
        id: request.apiKeyId,
      });
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
          "Newest first, with cursor pagination. `search` matches an email prefix, a phone number, or part of a name.",
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
        description: "Permanently deletes the contact's personal data, events and consent history.",
        params: ContactIdParams,
        response: { 200: ContactErased, ...problemResponses(401, 404) },
      },
    },
    async (request) => eraseContact(db, request.workspace, request.params.id),
  );
}
