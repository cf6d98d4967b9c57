/**
 * /api/v1/topics: subscription topics (newsletter, promotions…) that campaigns belong to and contacts
 * opt out of, and /api/v1/contacts/{id}/topics/{topicId}: a contact's choice of one.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Uuid } from "@omneural/contracts/common";
import {
  ContactTopic,
  ContactTopicChoice,
  ContactTopicParams,
  ContactTopicsList,
  Topic,
  TopicCreate,
  TopicIdParams,
  TopicList,
  TopicListQuery,
  TopicPatch,
} from "@omneural/contracts/topics";
import {
  createTopic,
  getContactTopics,
  getTopic,
  listTopicsPage,
  patchTopic,
  removeTopic,
  setContactTopic,
} from "@omneural/core/topics/topic.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { problemResponses } from "../problems.ts";

export async function topicRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["topics"];

  app.post(
    "/topics",
    {
      schema: {
        tags,
        summary: "Create a topic",
        description:
          "A subscription topic (newsletter, promotions, product updates) that campaigns can belong to. Recipients see every topic in the preference centre. See docs/delivery.md, Topics.",
        body: TopicCreate,
        response: { 201: Topic, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createTopic(db, request.workspace, request.body)),
  );

  app.get(
    "/topics",
    {
      schema: {
        tags,
        summary: "List topics",
        querystring: TopicListQuery,
        response: { 200: TopicList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listTopicsPage(db, request.workspace, request.query),
  );

  app.get(
    "/topics/:id",
    {
      schema: {
        tags,
        summary: "Get a topic",
        params: TopicIdParams,
        response: { 200: Topic, ...problemResponses(401, 404) },
      },
    },
    async (request) => getTopic(db, request.workspace, request.params.id),
  );

  app.patch(
    "/topics/:id",
    {
      schema: {
        tags,
        summary: "Rename a topic or change its description",
        params: TopicIdParams,
        body: TopicPatch,
        response: { 200: Topic, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => patchTopic(db, request.workspace, request.params.id, request.body),
  );

  app.delete(
    "/topics/:id",
    {
      schema: {
        tags,
        summary: "Delete a topic",
        description:
          "Deletes it and every contact's choice of it; draft and finished campaigns of the topic keep no topic. Refused (409) while a running or paused campaign belongs to it.",
        params: TopicIdParams,
        response: {
          200: Type.Object({ id: Uuid, deleted: Type.Literal(true) }),
          ...problemResponses(401, 404, 409),
        },
      },
    },
    async (request) => {
      await removeTopic(db, request.workspace, request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.get(
    "/contacts/:id/topics",
    {
      schema: {
        tags,
        summary: "A contact's choice for every topic",
        params: TopicIdParams,
        response: { 200: ContactTopicsList, ...problemResponses(401, 404) },
      },
    },
    async (request) => getContactTopics(db, request.workspace, request.params.id),
  );

  app.put(
    "/contacts/:id/topics/:topicId",
    {
      schema: {
        tags,
        summary: "Set whether a contact receives a topic",
        description:
          "subscribed false: the topic's campaigns skip the contact (with the reason in the send ledger); true: they receive them again. Contacts never asked receive every topic. Channel consent applies on top.",
        params: ContactTopicParams,
        body: ContactTopicChoice,
        response: { 200: ContactTopic, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      setContactTopic(
        db,
        request.workspace,
        request.params.id,
        request.params.topicId,
        request.body.subscribed,
      ),
  );
}
