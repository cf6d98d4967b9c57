/** /api/v1/ad-destinations: where journeys' ads sends put members, and the download of who is in each. */
import { Readable } from "node:stream";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  AdDestination,
  AdDestinationCreate,
  AdDestinationIdParams,
  AdDestinationList,
  AdDestinationListQuery,
  AdDestinationPatch,
  AdMembersCsvQuery,
} from "@omneural/contracts/ad-destinations";
import { Uuid } from "@omneural/contracts/common";
import {
  createAdDestination,
  getAdDestination,
  listAdDestinationsPage,
  membersCsv,
  patchAdDestination,
  removeAdDestination,
} from "@omneural/core/ads/ad-destination.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

export async function adDestinationRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const options = {
    credentialsKey: app.deps.keys.credentials,
    allowHosts: app.deps.config.adsAllowHosts,
  };
  const tags = ["ad-destinations"];

  app.post(
    "/ad-destinations",
    {
      schema: {
        tags,
        summary: "Create an ad destination",
        description:
          "A Meta custom audience, a Google Customer Match user list, or a csv audience to download. Credentials are stored encrypted and never returned. See docs/delivery.md, Ad audiences.",
        body: AdDestinationCreate,
        response: { 201: AdDestination, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createAdDestination(db, request.workspace, request.body, options)),
  );

  app.get(
    "/ad-destinations",
    {
      schema: {
        tags,
        summary: "List ad destinations",
        querystring: AdDestinationListQuery,
        response: { 200: AdDestinationList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listAdDestinationsPage(db, request.workspace, request.query, options),
  );

  app.get(
    "/ad-destinations/:id",
    {
      schema: {
        tags,
        summary: "Get an ad destination",
        params: AdDestinationIdParams,
        response: { 200: AdDestination, ...problemResponses(401, 404) },
      },
    },
    async (request) => getAdDestination(db, request.workspace, request.params.id, options),
  );

  app.patch(
    "/ad-destinations/:id",
    {
      schema: {
        tags,
        summary: "Change an ad destination",
        description:
          "Rename it, point it at another audience or endpoint, or replace credentials (the fields given replace the stored ones). The platform cannot change.",
        params: AdDestinationIdParams,
        body: AdDestinationPatch,
        response: { 200: AdDestination, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => patchAdDestination(db, request.workspace, request.params.id, request.body, options),
  );

  app.delete(
    "/ad-destinations/:id",
    {
      schema: {
        tags,
        summary: "Delete an ad destination",
        description:
          "Deletes it and its member list; nothing is removed from the platform's audience. Ads sends that still name it fail with the reason.",
        params: AdDestinationIdParams,
        response: {
          200: Type.Object({ id: Uuid, deleted: Type.Literal(true) }),
          ...problemResponses(401, 404),
        },
      },
    },
    async (request) => {
      await removeAdDestination(db, request.workspace, request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.get(
    "/ad-destinations/:id/members.csv",
    {
      schema: {
        tags,
        summary: "Download the current members as a hashed CSV",
        description:
          "Columns email_sha256 and phone_sha256: each member's email and phone normalised by the platform's rules (rules=meta or google; default the destination's platform, meta for csv) and SHA-256 hashed. Members with neither are left out.",
        params: AdDestinationIdParams,
        querystring: AdMembersCsvQuery,
        produces: ["text/csv"],
        response: { 200: Type.String({ description: "CSV" }), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await getAdDestination(db, request.workspace, request.params.id, options); // 404 before streaming
      const stream = Readable.from(membersCsv(db, request.workspace, request.params.id, request.query.rules));
      return reply
        .type("text/csv; charset=utf-8")
        .header(
          "content-disposition",
          `attachment; filename="ad-destination-${request.params.id}-members.csv"`,
        )
        .send(stream as unknown as string);
    },
  );
}
