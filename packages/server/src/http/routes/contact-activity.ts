/** /api/v1/contacts/{id}/audiences and /activity: what the contact profile shows beside the record. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  ContactActivityPage,
  ContactActivityQuery,
  ContactAudienceList,
} from "@omneural/contracts/contact-activity";
import { ContactIdParams } from "@omneural/contracts/contacts";
import { contactActivity, contactAudiences } from "@omneural/core/contacts/activity.service";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function contactActivityRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["contacts"];

  app.get(
    "/contacts/:id/audiences",
    {
      schema: {
        tags,
        summary: "The audiences a contact is in now",
        description:
          "The static lists the contact is on, and the segments kept up to date (listened) that it is in now, with when it joined. Segments that are not kept up to date store no membership (they are evaluated when a campaign launches) and are not listed.",
        params: ContactIdParams,
        response: { 200: ContactAudienceList, ...problemResponses(401, 404) },
      },
    },
    async (request) => ({ data: await contactAudiences(db, request.workspace, request.params.id) }),
  );

  app.get(
    "/contacts/:id/activity",
    {
      schema: {
        tags,
        summary: "A contact's timeline",
        description:
          "Newest first, with cursor pagination: the contact's events (custom events, and responses: message.opened, message.clicked …), its send-ledger rows (channel, campaign, template, status and reason, at the time sent or else queued) and its consent changes, merged by time.",
        params: ContactIdParams,
        querystring: ContactActivityQuery,
        response: { 200: ContactActivityPage, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => contactActivity(db, request.workspace, request.params.id, request.query),
  );
}
