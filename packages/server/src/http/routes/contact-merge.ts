/**
 * /api/v1/contacts/duplicates and /api/v1/contacts/merge: likely duplicate contacts, merging contacts into
 * one, and the policy that merges every likely group. See docs/data-lifecycle.md, "Duplicates and merge".
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  ContactMergeRequest,
  ContactMergeResult,
  DuplicateGroupList,
  DuplicateGroupsQuery,
  DuplicatesMergeRequest,
  DuplicatesMergeResult,
} from "@omneural/contracts/merge";
import {
  listDuplicateGroups,
  mergeContacts,
  mergeLikelyDuplicates,
} from "@omneural/core/contacts/merge.service";
import { validationFailed } from "@omneural/core/shared/errors";
import type { FastifyInstance } from "fastify";
import { problemResponses } from "../problems.ts";

export async function contactMergeRoutes(base: FastifyInstance) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.deps.database;
  const tags = ["contacts"];

  app.get(
    "/contacts/duplicates",
    {
      schema: {
        tags,
        summary: "List groups of likely duplicate contacts",
        description:
          "Groups of contacts that look like one person: the same email once normalised (case, spaces; dots and +tags at gmail.com and googlemail.com), the same phone digits, or the same first and last name (case and accents aside) at the same address line 1 and postal code. Email groups first, then phone, then name and address; a contact can be in a group of each reason. Each group lists its contacts oldest first (at most 51 of them); the first is the one the merge policy would keep.",
        querystring: DuplicateGroupsQuery,
        response: { 200: DuplicateGroupList, ...problemResponses(400, 401) },
      },
    },
    async (request) => listDuplicateGroups(db, request.workspace, request.query),
  );

  app.post(
    "/contacts/merge",
    {
      schema: {
        tags,
        summary: "Merge contacts into one",
        description:
          "In one transaction: the survivor keeps its identifiers, fields and attribute values and takes those it lacks from the duplicates (the first listed wins; the postal address only as a whole); per channel the most restrictive consent wins (complained > bounced > unsubscribed > subscribed > never asked), recorded in the consent ledger with source `merge`; events, consent history, list, segment, topic (an opt-out wins) and ad-audience memberships, journeys, send-ledger rows and the rest move to the survivor. In a campaign both are in, the survivor's journey continues and the duplicate's is dropped (it ends as cancelled in the report, and its queued sends are cancelled). Then the duplicates are deleted and the merge is logged. At most 50 duplicates; every contact must be the workspace's (404).",
        body: ContactMergeRequest,
        response: { 200: ContactMergeResult, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => mergeContacts(db, request.workspace, request.body, request.apiKeyId),
  );

  app.post(
    "/contacts/duplicates/merge",
    {
      schema: {
        tags,
        summary: "Merge every group of likely duplicates (policy)",
        description:
          "Merges each group into its oldest contact, as POST /contacts/merge does, reason by reason (email, phone, name and address), each group in its own transaction. Groups of more than 51 contacts and groups whose contacts carry different external ids are left alone. A dry run (the default: set `confirm: true` to merge) does the same inside a transaction it rolls back, so its counts are those the real run would give; it answers the counts and the first 20 merges.",
        body: DuplicatesMergeRequest,
        response: { 200: DuplicatesMergeResult, ...problemResponses(400, 401) },
      },
      // No body at all is a dry run with the defaults.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const { reasons, dryRun, confirm, maxGroups } = request.body;
      if (dryRun === false && confirm !== true) {
        throw validationFailed([{ field: "confirm", message: "must be true to merge (dryRun false)" }]);
      }
      return mergeLikelyDuplicates(db, request.workspace, {
        ...(reasons ? { reasons } : {}),
        dryRun: dryRun === true || confirm !== true,
        ...(maxGroups ? { maxGroups } : {}),
        actor: request.apiKeyId,
      });
    },
  );
}
