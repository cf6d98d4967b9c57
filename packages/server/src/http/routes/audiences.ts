/** /api/v1/audiences: segments and lists. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  Audience,
  AudienceCount,
  AudienceCountQuery,
  AudienceCreate,
  AudienceIdParams,
  AudienceList,
  AudienceListQuery,
  AudiencePatch,
  AudiencePreview,
  AudiencePreviewRequest,
  FreezeRequest,
  ListMembersChange,
  ListMembersResult,
  MembershipTransitions,
} from "@omneural/contracts/audiences";
import { Uuid } from "@omneural/contracts/common";
import { ContactList } from "@omneural/contracts/contacts";
import {
  audienceMembers,
  audienceTransitions,
  changeListMembers,
  countAudience,
  countAudienceReach,
  createAudience,
  freezeAudience,
  getAudience,
  listAudiencesPage,
  patchAudience,
  previewAudience,
  removeAudience,
} from "@omneural/core/audiences/audience.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

export async function audienceRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["audiences"];

  app.post(
    "/audiences",
    {
      schema: {
        tags,
        summary: "Create a segment or a list",
        description:
          "A segment has a `definition` (a rule tree, see docs/audiences.md); a list (`kind: list`) has members added explicitly.",
        body: AudienceCreate,
        response: { 201: Audience, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createAudience(db, request.workspace, request.body)),
  );

  app.get(
    "/audiences",
    {
      schema: {
        tags,
        summary: "List audiences",
        querystring: AudienceListQuery,
        response: { 200: AudienceList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listAudiencesPage(db, request.workspace, request.query),
  );

  app.post(
    "/audiences/preview",
    {
      schema: {
        tags,
        summary: "Count and sample a draft definition",
        description:
          "Validates the definition (errors point at the offending node) and returns its count now and up to 20 members.",
        body: AudiencePreviewRequest,
        response: { 200: AudiencePreview, ...problemResponses(400, 401) },
      },
    },
    async (request) => previewAudience(db, request.workspace, request.body.definition),
  );

  app.get(
    "/audiences/:id",
    {
      schema: {
        tags,
        summary: "Get an audience",
        params: AudienceIdParams,
        response: { 200: Audience, ...problemResponses(401, 404) },
      },
    },
    async (request) => getAudience(db, request.workspace, request.params.id),
  );

  app.patch(
    "/audiences/:id",
    {
      schema: {
        tags,
        summary: "Change an audience",
        params: AudienceIdParams,
        body: AudiencePatch,
        response: { 200: Audience, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => patchAudience(db, request.workspace, request.params.id, request.body),
  );

  app.delete(
    "/audiences/:id",
    {
      schema: {
        tags,
        summary: "Delete an audience",
        description: "Refused while another audience's definition uses it.",
        params: AudienceIdParams,
        response: {
          200: Type.Object({ id: Uuid, deleted: Type.Literal(true) }),
          ...problemResponses(401, 404, 409),
        },
      },
    },
    async (request) => removeAudience(db, request.workspace, request.params.id),
  );

  app.get(
    "/audiences/:id/count",
    {
      schema: {
        tags,
        summary: "How many members",
        description:
          "Served from a cache when it is at most `maxAgeSeconds` old (default 60); the response says how old. With `reach=true`, also how many members each channel can reach now (address, consent, suppressions), counted afresh in the same statement.",
        params: AudienceIdParams,
        querystring: AudienceCountQuery,
        response: { 200: AudienceCount, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      request.query.reach
        ? countAudienceReach(db, request.workspace, request.params.id)
        : countAudience(db, request.workspace, request.params.id, request.query.maxAgeSeconds ?? 60),
  );

  app.get(
    "/audiences/:id/members",
    {
      schema: {
        tags,
        summary: "The members, newest contact first",
        params: AudienceIdParams,
        querystring: AudienceListQuery,
        response: { 200: ContactList, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => audienceMembers(db, request.workspace, request.params.id, request.query),
  );

  app.post(
    "/audiences/:id/members",
    {
      schema: {
        tags,
        summary: "Add contacts to a list",
        params: AudienceIdParams,
        body: ListMembersChange,
        response: { 200: ListMembersResult, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      changeListMembers(db, request.workspace, request.params.id, request.body.contactIds, "add"),
  );

  app.post(
    "/audiences/:id/members/remove",
    {
      schema: {
        tags,
        summary: "Remove contacts from a list",
        params: AudienceIdParams,
        body: ListMembersChange,
        response: { 200: ListMembersResult, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      changeListMembers(db, request.workspace, request.params.id, request.body.contactIds, "remove"),
  );

  app.post(
    "/audiences/:id/freeze",
    {
      schema: {
        tags,
        summary: "Freeze the current members into a new list",
        params: AudienceIdParams,
        body: FreezeRequest,
        response: { 201: Audience, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await freezeAudience(db, request.workspace, request.params.id, request.body)),
  );

  app.get(
    "/audiences/:id/transitions",
    {
      schema: {
        tags,
        summary: "Who entered and left a listened segment, newest first",
        params: AudienceIdParams,
        response: { 200: MembershipTransitions, ...problemResponses(401, 404) },
      },
    },
    async (request) => audienceTransitions(db, request.workspace, request.params.id),
  );
}
