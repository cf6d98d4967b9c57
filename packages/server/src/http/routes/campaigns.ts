/** /api/v1/campaigns: the campaign core (create, launch, pause, resume, cancel, retry) and member history. */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Uuid } from "@omneural/contracts/common";
import {
  Campaign,
  CampaignActionResult,
  CampaignCreate,
  CampaignDetail,
  CampaignIdParams,
  CampaignList,
  CampaignListQuery,
  CampaignMessageList,
  CampaignMessagesQuery,
  CampaignUpdate,
  Enrollment,
  EnrollmentParams,
  RetryRequest,
} from "@omneural/contracts/workflows";
import {
  cancelCampaign,
  createCampaign,
  enrollOne,
  getCampaign,
  getEnrollment,
  launchCampaign,
  listCampaignMessagesPage,
  listCampaignsPage,
  pauseCampaign,
  resumeCampaign,
  retryCampaign,
} from "@omneural/core/campaigns/campaign.service";
import { updateCampaign } from "@omneural/core/campaigns/campaign-edit.service";
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { emptyBodyAsObject, problemResponses } from "../problems.ts";

export async function campaignRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["campaigns"];

  app.post(
    "/campaigns",
    {
      schema: {
        tags,
        summary: "Create a campaign (draft)",
        description: "Joins an audience and a published workflow version (default: the latest).",
        body: CampaignCreate,
        response: { 201: Campaign, ...problemResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createCampaign(db, request.workspace, request.body)),
  );

  app.get(
    "/campaigns",
    {
      schema: {
        tags,
        summary: "List campaigns",
        description: "Newest first. Filter by `status`, repeated for several.",
        querystring: CampaignListQuery,
        response: { 200: CampaignList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listCampaignsPage(db, request.workspace, request.query),
  );

  app.get(
    "/campaigns/:id",
    {
      schema: {
        tags,
        summary: "Get a campaign with its members counted per node and state",
        params: CampaignIdParams,
        response: { 200: CampaignDetail, ...problemResponses(401, 404) },
      },
    },
    async (request) => getCampaign(db, request.workspace, request.params.id),
  );

  const action = (name: string, summary: string, description: string, run: typeof pauseCampaign) =>
    app.post(
      `/campaigns/:id/${name}`,
      {
        schema: {
          tags,
          summary,
          description,
          params: CampaignIdParams,
          response: { 200: CampaignActionResult, ...problemResponses(401, 404, 409) },
        },
      },
      async (request) => run(db, request.workspace, request.params.id),
    );
  action(
    "launch",
    "Launch: enroll the audience and start",
    "Enrolls every current member of the audience at the entry node in one statement and starts stepping. Idempotent: launching again changes nothing.",
    launchCampaign,
  );
  action(
    "pause",
    "Pause stepping",
    "Returns once no batch of this campaign is in flight; no member moves until resume. Idempotent.",
    pauseCampaign,
  );
  action(
    "resume",
    "Resume a paused campaign",
    "Members continue where they were. Idempotent.",
    resumeCampaign,
  );
  action(
    "cancel",
    "Cancel: every member leaves",
    "Active and failed members leave with state cancelled; sends not yet dispatched are dropped. Idempotent; final.",
    cancelCampaign,
  );

  app.post(
    "/campaigns/:id/retry",
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags,
        summary: "Retry failed members at the node where they failed",
        description:
          "All failed members, or one with contactId. Idempotent: members not failed are left alone.",
        params: CampaignIdParams,
        body: RetryRequest,
        response: { 200: CampaignActionResult, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => retryCampaign(db, request.workspace, request.params.id, request.body?.contactId),
  );

  app.post(
    "/campaigns/:id/enrollments",
    {
      schema: {
        tags,
        summary: "Enroll one contact into a running or paused campaign",
        description: "Idempotent: a contact already enrolled is left as they are (changed: 0).",
        params: CampaignIdParams,
        body: Type.Object({ contactId: Uuid }, { additionalProperties: false }),
        response: { 200: CampaignActionResult, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => enrollOne(db, request.workspace, request.params.id, request.body.contactId),
  );

  app.patch(
    "/campaigns/:id",
    {
      schema: {
        tags,
        summary: "Change a campaign",
        description:
          "A draft (or a scheduled campaign not yet started) takes any change. Once started, its audience, workflow version, entry, holdout, goal and start are fixed (409 names each): members in flight stay on what they entered with. Pause or cancel it and create a new campaign to run another audience or version. Its name, end, re-entry, topic and send policies may still change, and apply to sends and entries still to come. A finished campaign only takes a new name.",
        params: CampaignIdParams,
        body: CampaignUpdate,
        response: { 200: Campaign, ...problemResponses(400, 401, 404, 409) },
      },
    },
    async (request) => updateCampaign(db, request.workspace, request.params.id, request.body),
  );

  app.get(
    "/campaigns/:id/messages",
    {
      schema: {
        tags,
        summary: "The campaign's send-ledger rows, with what became of each and why",
        description:
          "Newest first, each with its contact's email, phone and name. Filter by status (e.g. `unknown`: a process stopped mid-send and the provider cannot say whether it took the message; `failed`, `skipped` with their reasons), channel or node.",
        params: CampaignIdParams,
        querystring: CampaignMessagesQuery,
        response: { 200: CampaignMessageList, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => listCampaignMessagesPage(db, request.workspace, request.params.id, request.query),
  );

  app.get(
    "/campaigns/:id/enrollments/:contactId",
    {
      schema: {
        tags,
        summary: "One member's journey: each step with its time and reason, and their sends",
        params: EnrollmentParams,
        response: { 200: Enrollment, ...problemResponses(401, 404) },
      },
    },
    async (request) => getEnrollment(db, request.workspace, request.params.id, request.params.contactId),
  );
}
